// Soak: thousands of sandboxes one after another and eight at a time, then the host is
// checked for anything they left behind: descriptors in the caller, mounts, processes,
// zombies, cgroup leaves, files in /tmp. A leak of one object per launch that no single
// integration test notices shows up here as thousands.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace it {
namespace {

constexpr int kSequential = 2000;
constexpr int kParallelWays = 8;
constexpr int kParallelEach = 50;

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

// Entries of the host's /tmp owned by the uid the sandboxes run as (the launches are the
// only ones making files as that uid while this test runs alone).
std::set<std::string> tmp_entries() {
  std::set<std::string> s;
  for (const auto& e : std::filesystem::directory_iterator("/tmp")) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) == 0 && st.st_uid == unpriv_uid())
      s.insert(e.path().filename());
  }
  return s;
}

Args soak_args(const std::string& command) {
  return cat({base_root(),
              {"--unshare-all", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
               "--die-with-parent", "--new-session"},
              sh(command)});
}

class SoakTest : public SandboxTest {};

// A leaked descriptor in the sandbox would show as more than 0, 1, 2 and the one ls opens.
constexpr const char* kCheckFds = "set -- /proc/self/fd/*; echo fds=$#";

TEST_F(SoakTest, SequentialAndParallelLaunchesLeaveNothingBehind) {
  (void)sandbox_path();  // the copy exists before the baseline is taken
  (void)tmp_entries();
  const size_t fds_before = count_fds();
  const auto tmp_before = tmp_entries();
  const auto cgroups_before = sandbox_cgroups();

  for (int i = 0; i < kSequential; ++i) {
    bool probe = i % 200 == 0;
    auto r = run(soak_args(probe ? kCheckFds : "exit 7"), unpriv());
    ASSERT_EQ(r.exit_code, probe ? 0 : 7) << "launch " << i << "\n" << r;
    if (probe) {
      EXPECT_EQ(trim(r.out), "fds=4") << "launch " << i << "\n" << r;
    }
  }

  std::atomic<int> failures{0};
  std::vector<std::string> first_failure(kParallelWays);
  std::vector<std::thread> threads;
  for (int w = 0; w < kParallelWays; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < kParallelEach; ++i) {
        auto r = run(soak_args("exit " + std::to_string(w + 1)), unpriv());
        if (r.exit_code != w + 1 && failures++ >= 0 && first_failure[w].empty()) {
          std::ostringstream s;
          s << "way " << w << " launch " << i << "\n" << r;
          first_failure[w] = s.str();
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& f : first_failure)
    if (!f.empty()) ADD_FAILURE() << f;

  EXPECT_EQ(count_fds(), fds_before) << "descriptors leaked into the caller";
  EXPECT_TRUE(zombie_children().empty()) << "unreaped children of the caller";
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD) << "a child of the caller is still running";
  EXPECT_TRUE(pids_with_token(sandbox_path()).empty()) << "sandbox processes still running";
  EXPECT_EQ(sandbox_cgroups(), cgroups_before) << "cgroup leaves left behind";
  EXPECT_EQ(tmp_entries(), tmp_before) << "files left in the host's /tmp";
  // SandboxTest::TearDown compares the host's mount table with the one before the test.
}

}  // namespace
}  // namespace it
