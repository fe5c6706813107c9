// Soak: every kind of sandbox a user runs — plain, overlays, --bind-data, a seccomp
// profile, the networking helpers (pasta, slirp4netns, veth) and cgroup limits — launched
// one after another and eight at a time, then the host is checked for anything they left
// behind: descriptors in the caller, mounts, cgroup leaves, nftables tables, network
// interfaces, sandbox and helper processes, zombies, files in /tmp and /run/sandbox. A
// leak of one object per launch that no single integration test notices shows up here as
// hundreds. Each launch also checks that it got what it asked for (the overlay's layer,
// the data, the filter, an interface, the limit), so a kind that silently degrades fails.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace it {
namespace {

constexpr int kPlainSequential = 1000;  // the cheapest kind, for volume
constexpr int kMixRounds = 25;          // every kind, one after another
constexpr int kParallelWays = 8;
constexpr int kParallelEach = 20;       // each way cycles through the kinds

const std::string kNft = "/usr/sbin/nft";

size_t count_fds() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) (void)e, ++n;
  return n;
}

// Children of this process that are zombies (exited, never reaped).
std::vector<pid_t> zombie_children() {
  std::vector<pid_t> out;
  std::string self = std::to_string(::getpid());
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat;
    try {
      stat = read_file("/proc/" + name + "/stat");
    } catch (...) {
      continue;
    }
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    auto f = words(stat.substr(close + 2));  // state ppid ...
    if (f.size() > 1 && f[0] == "Z" && f[1] == self) out.push_back(std::stoi(name));
  }
  return out;
}

// Processes whose command name (/proc/PID/comm) is one of the networking helpers.
std::set<pid_t> helper_processes() {
  std::set<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string comm;
    try {
      comm = trim(read_file("/proc/" + name + "/comm"));
    } catch (...) {
      continue;
    }
    if (comm.rfind("pasta", 0) == 0 || comm == "passt" || comm == "slirp4netns")
      out.insert(std::stoi(name));
  }
  return out;
}

// Directories named sandbox-* anywhere in the mounted cgroup hierarchies (a few levels).
std::vector<std::string> sandbox_cgroups() {
  std::vector<std::string> out;
  for (const auto& m : parse_mountinfo(read_file("/proc/self/mountinfo"))) {
    if (m.fstype != "cgroup" && m.fstype != "cgroup2") continue;
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(
        m.mountpoint, std::filesystem::directory_options::skip_permission_denied, ec);
    for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it.depth() > 4) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_directory(ec) && it->path().filename().string().rfind("sandbox-", 0) == 0)
        out.push_back(it->path());
    }
  }
  return out;
}

std::set<std::string> dir_entries(const std::string& dir, const std::function<bool(const std::string&, const struct stat&)>& keep) {
  std::set<std::string> s;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) == 0 && keep(e.path().filename(), st))
      s.insert(e.path().filename());
  }
  return s;
}

// Everything on the host a launch could leave behind (the mount table is compared by
// SandboxTest::TearDown).
struct HostState {
  size_t fds = 0;
  std::vector<std::string> cgroups;
  std::string nft_tables;
  std::set<std::string> interfaces;
  std::set<pid_t> helpers;
  std::set<std::string> tmp;      // the unprivileged uid's entries, and root's sandbox-net-*
  std::set<std::string> run_dir;  // /run/sandbox/veth: address locks

  static HostState take() {
    HostState h;
    h.fds = count_fds();
    h.cgroups = sandbox_cgroups();
    if (is_root() && exists(kNft)) h.nft_tables = run({"list", "tables"}, {.exe = kNft}).out;
    h.interfaces = net_interfaces(read_file("/proc/net/dev"));
    h.helpers = helper_processes();
    h.tmp = dir_entries("/tmp", [](const std::string& name, const struct stat& st) {
      return st.st_uid == unpriv_uid() || (st.st_uid == 0 && name.rfind("sandbox-net-", 0) == 0);
    });
    h.run_dir = dir_entries("/run/sandbox/veth", [](const std::string&, const struct stat&) { return true; });
    return h;
  }
};

// One kind of sandbox: its options, a command that prints what proves it got them, and the
// check of that output. Root kinds run as root (--net veth and cgroup limits need it here).
struct Kind {
  std::string name;
  bool root = false;
  std::function<Args()> args;
  std::function<bool(const RunResult&)> ok;
  std::function<bool()> in_child;  // descriptors the options name
};

Args common(const Args& extra, const std::string& command) {
  return cat({base_root(),
              {"--unshare-all", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
               "--die-with-parent", "--new-session"},
              extra, sh(command)});
}

// fd 5 holds `data` (a memfd without O_CLOEXEC), as a caller of --bind-data passes it.
std::function<bool()> data_on_fd5(const std::string& data) {
  return [data] {
    int m = ::memfd_create("soak-data", 0);
    return m >= 0 && ::write(m, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
           ::lseek(m, 0, SEEK_SET) == 0 && (m == 5 || (::dup2(m, 5) == 5 && ::close(m) == 0));
  };
}

// "ifs=N": the interfaces the sandbox's network namespace has (lo, plus the helper's).
const std::string kCountIfs = "echo ifs=$(grep -c : /proc/net/dev)";
bool has_uplink(const RunResult& r) {
  return r.exit_code == 0 && key_values(r.out)["ifs"] == "2";
}

std::vector<Kind> all_kinds(const std::string& layer) {
  std::vector<Kind> k;
  k.push_back({"plain", false, [] { return common({}, "exit 7"); },
               [](const RunResult& r) { return r.exit_code == 7; }, {}});
  k.push_back({"overlay", false,
               [layer] {
                 return common({"--overlay-src", layer, "--tmp-overlay", "/o"},
                               "echo new > /o/new && cat /o/a /o/new");
               },
               [](const RunResult& r) { return r.exit_code == 0 && r.out == "layer\nnew\n"; }, {}});
  k.push_back({"bind-data", false, [] { return common({"--bind-data", "5", "/etc/bd"}, "cat /etc/bd"); },
               [](const RunResult& r) { return r.exit_code == 0 && r.out == "soak data\n"; },
               data_on_fd5("soak data\n")});
  k.push_back({"seccomp", false,
               [] { return common({"--seccomp-profile", "default"}, "grep ^Seccomp: /proc/self/status"); },
               [](const RunResult& r) { return r.exit_code == 0 && words(r.out) == Args{"Seccomp:", "2"}; },
               {}});
  if (is_root()) {
    for (const char* helper : {"pasta", "slirp4netns", "veth"})
      k.push_back({std::string("net-") + helper, true,
                   [helper] { return common({"--net", helper}, kCountIfs); }, has_uplink, {}});
    // Root with limits drops its capabilities (sandbox refuses limits to a root command
    // that keeps them). The caller's memory cgroup is bound at /cg: the command finds the
    // sandbox's cgroup (its cgroup namespace hides it) and prints the limit it holds.
    if (auto mem = caller_cgroup_dir("memory"))
      k.push_back({"limits", true,
                   [dir = *mem] {
                     return cat({base_root(),
                                 {"--unshare-all", "--proc", "/proc", "--dev", "/dev",
                                  "--die-with-parent", "--cap-drop", "ALL", "--ro-bind", dir, "/cg",
                                  "--memory", "64M", "--pids", "50"},
                                 sh("for f in /cg/sandbox-*/command/cgroup.procs; do "
                                    "grep -qx $$ $f && d=${f%/command/cgroup.procs} && "
                                    "{ cat $d/memory.limit_in_bytes 2>/dev/null || cat $d/memory.max; }; "
                                    "done; true")});
                   },
                   [](const RunResult& r) { return r.exit_code == 0 && trim(r.out) == "67108864"; },
                   {}});
    else
      std::cout << "[   NOTE   ] no cgroup hierarchy has the memory controller: limits not soaked"
                << std::endl;
  }
  return k;
}

RunResult launch(const Kind& k) {
  RunOpts o;
  o.unprivileged = !k.root;
  o.in_child = k.in_child;
  o.timeout = 60s;
  return run(k.args(), o);
}

class SoakTest : public SandboxTest {};

// A leaked descriptor in the sandbox would show as more than 0, 1, 2 and the one ls opens.
constexpr const char* kCheckFds = "set -- /proc/self/fd/*; echo fds=$#";

TEST_F(SoakTest, EveryKindOfSandboxLeavesNothingBehind) {
  if (is_root()) {
    IT_REQUIRE_FILE("/usr/bin/pasta");
    IT_REQUIRE_FILE("/usr/bin/slirp4netns");
    IT_REQUIRE_FILE(kNft);
  } else {
    std::cout << "[   NOTE   ] not root: the networking and limits kinds are not soaked" << std::endl;
  }
  TempDir layer(0755);
  write_file(layer / "a", "layer\n");
  std::vector<Kind> kinds = all_kinds(layer.path());

  // Warm-up: one launch of each kind, which must work, before the baseline is taken (the
  // copy of the binary, the veth state directory, cgroup parents made once). A kind the
  // host cannot give (no delegated cgroup controller for limits) is reported and dropped.
  (void)sandbox_path();
  for (auto it = kinds.begin(); it != kinds.end();) {
    auto r = launch(*it);
    if (it->name == "limits" && r.exit_code == 1 && contains(r.err, "can't be enforced")) {
      std::cout << "[   NOTE   ] limits not soaked: " << first_line(r.err) << std::endl;
      it = kinds.erase(it);
      continue;
    }
    ASSERT_TRUE(it->ok(r)) << it->name << " does not work here\n" << r;
    ++it;
  }
  const HostState before = HostState::take();

  for (int i = 0; i < kPlainSequential; ++i) {
    bool probe = i % 200 == 0;
    auto r = run(common({}, probe ? kCheckFds : "exit 7"), {.unprivileged = true});
    ASSERT_EQ(r.exit_code, probe ? 0 : 7) << "launch " << i << "\n" << r;
    if (probe) {
      EXPECT_EQ(trim(r.out), "fds=4") << "launch " << i << "\n" << r;
    }
  }
  for (int round = 0; round < kMixRounds; ++round)
    for (const auto& k : kinds) {
      auto r = launch(k);
      ASSERT_TRUE(k.ok(r)) << k.name << ", round " << round << "\n" << r;
    }

  std::atomic<int> failures{0};
  std::vector<std::string> first_failure(kParallelWays);
  std::vector<std::thread> threads;
  for (int w = 0; w < kParallelWays; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < kParallelEach; ++i) {
        const Kind& k = kinds[(static_cast<size_t>(w) + static_cast<size_t>(i)) % kinds.size()];
        auto r = launch(k);
        if (!k.ok(r) && failures++ >= 0 && first_failure[w].empty()) {
          std::ostringstream s;
          s << "way " << w << " launch " << i << " (" << k.name << ")\n" << r;
          first_failure[w] = s.str();
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& f : first_failure)
    if (!f.empty()) ADD_FAILURE() << f;

  // Helpers and keepers end after the supervisor has returned: give them a moment.
  const HostState* after = nullptr;
  HostState now;
  eventually([&] {
    now = HostState::take();
    return now.helpers == before.helpers && now.interfaces == before.interfaces &&
           now.nft_tables == before.nft_tables && now.cgroups == before.cgroups &&
           pids_with_token(sandbox_path()).empty();
  });
  after = &now;
  EXPECT_EQ(after->fds, before.fds) << "descriptors leaked into the caller";
  EXPECT_TRUE(zombie_children().empty()) << "unreaped children of the caller";
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD) << "a child of the caller is still running";
  EXPECT_TRUE(pids_with_token(sandbox_path()).empty()) << "sandbox processes (supervisors, keepers) still running";
  EXPECT_EQ(after->helpers, before.helpers) << "pasta/slirp4netns processes still running";
  EXPECT_EQ(after->cgroups, before.cgroups) << "cgroup leaves left behind";
  EXPECT_EQ(after->nft_tables, before.nft_tables) << "nftables tables left behind";
  EXPECT_EQ(after->interfaces, before.interfaces) << "host network interfaces left behind";
  // New entries only: one that went away meanwhile is no leak (the --net runs sweep stale
  // sandbox-net-* directories that SIGKILLed runs left, and concurrent runs end).
  std::set<std::string> left;
  std::set_difference(after->tmp.begin(), after->tmp.end(), before.tmp.begin(), before.tmp.end(),
                      std::inserter(left, left.end()));
  EXPECT_EQ(left, std::set<std::string>{}) << "files left in the host's /tmp";
  EXPECT_EQ(after->run_dir, before.run_dir) << "address locks left in /run/sandbox/veth";
  // SandboxTest::TearDown compares the host's mount table with the one before the test.
}

}  // namespace
}  // namespace it
