// Resource limits as a user sees them: a memory hog killed and reported, a fork bomb held
// by --pids, --cpus throttling, cgroups removed afterwards (also after the sandbox was
// SIGKILLed), rlimits, --timeout, and --limits required vs best-effort where this host
// cannot enforce a cgroup limit.
//
// The cgroup scenarios run as root on the hierarchies this host has (cgroup v1 here; the
// delegated cgroup v2 path is covered by the unit tests on a fake tree and, on a real kernel,
// by the VM test in tests/vm); they skip when no hierarchy has the controller.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "harness.hpp"

namespace it {
namespace {

struct TokenGuard {
  std::string token;
  ~TokenGuard() { kill_with_token(token); }
};

// The hierarchy that has `controller`, and where this test process sits in it: the
// directory a root sandbox makes its leaf in. From /proc/self/mountinfo and
// /proc/self/cgroup, as sandbox finds it; nullopt when no hierarchy has it.
struct CgroupPlace {
  std::string mountpoint;
  std::string dir;
};
std::optional<CgroupPlace> caller_cgroup(const std::string& controller) {
  std::string mountpoint, root;
  bool v2 = false;
  for (const auto& l : lines(read_file("/proc/self/mountinfo"))) {
    auto w = words(l);
    auto sep = std::find(w.begin(), w.end(), "-");
    if (sep == w.end() || w.end() - sep < 4) continue;
    std::string fstype = *(sep + 1), super = "," + *(sep + 3) + ",";
    if (fstype == "cgroup" && contains(super, "," + controller + ",")) {
      mountpoint = w[4], root = w[3];
      break;
    }
    if (fstype == "cgroup2" && mountpoint.empty()) {
      std::string ctrls = read_file(w[4] + "/cgroup.controllers");
      if (line_set(ctrls).empty() ? false : contains(" " + trim(ctrls) + " ", " " + controller + " ")) {
        mountpoint = w[4], root = w[3];
        v2 = true;
      }
    }
  }
  if (mountpoint.empty()) return std::nullopt;
  for (const auto& l : lines(read_file("/proc/self/cgroup"))) {
    auto a = l.find(':'), b = l.find(':', a + 1);
    std::string ctrls = "," + l.substr(a + 1, b - a - 1) + ",";
    bool match = v2 ? l.substr(0, b + 1) == "0::" : contains(ctrls, "," + controller + ",");
    if (!match) continue;
    std::string path = l.substr(b + 1);
    if (root != "/" && path.rfind(root, 0) == 0) path = path.substr(root.size());
    return CgroupPlace{mountpoint, path == "/" ? mountpoint : mountpoint + path};
  }
  return std::nullopt;
}

std::optional<std::string> caller_cgroup_dir(const std::string& controller) {
  auto p = caller_cgroup(controller);
  return p ? std::optional(p->dir) : std::nullopt;
}

#define REQUIRE_CONTROLLER(c)                                                           \
  do {                                                                                  \
    IT_REQUIRE_ROOT();                                                                  \
    if (!caller_cgroup_dir(c)) GTEST_SKIP() << "no cgroup hierarchy has the " c " controller"; \
  } while (0)

// The leaf a sandbox supervisor with this pid makes for `controller`.
std::string leaf_of(const std::string& controller, pid_t supervisor) {
  return *caller_cgroup_dir(controller) + "/sandbox-" + std::to_string(supervisor);
}

// Runs with --json-status-fd 5 going to a file; returns the result and the status lines.
struct StatusRun {
  RunResult r;
  std::vector<std::string> status;
};
StatusRun run_with_status(const Args& args, RunOpts o) {
  TempDir d;
  std::string path = d / "status";
  o.in_child = [path] {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);  // no O_CLOEXEC
    return fd >= 0 && (fd == 5 || (::dup2(fd, 5) == 5 && ::close(fd) == 0));
  };
  StatusRun s;
  s.r = run(with_root(cat({{"--json-status-fd", "5"}, args})), o);
  s.status = lines(read_file(path));
  return s;
}

bool has_cap_sys_resource() {
  auto eff = status_caps(read_file("/proc/self/status"), "CapEff");
  return eff && (*eff & (1ULL << 24));  // CAP_SYS_RESOURCE
}

std::string limits_line(const std::string& proc_limits, const std::string& name) {
  for (const auto& l : lines(proc_limits))
    if (l.rfind(name, 0) == 0) return l;
  return "";
}

// python3 allocates and touches 256 MiB.
const Args kHog = {"--", "python3", "-c", "x = b'x' * (256 << 20)\nprint('survived')"};

class LimitsTest : public SandboxTest {};
class LimitsModeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, LimitsModeTest, ::testing::Bool(), mode_name);

// ---- cgroup limits as root -------------------------------------------------------------------

TEST_F(LimitsTest, MemoryHogIsKilledAndReported) {
  REQUIRE_CONTROLLER("memory");
  IT_REQUIRE_FILE("/usr/bin/python3");
  auto s = run_with_status(cat({{"--memory", "32M"}, kHog}), {});
  EXPECT_EQ(s.r.exit_code, 128 + SIGKILL) << s.r;
  EXPECT_FALSE(contains(s.r.out, "survived")) << s.r;
  EXPECT_TRUE(contains(s.r.err, invoked_name() + ": killed: memory limit 32M reached")) << s.r;
  ASSERT_FALSE(s.status.empty());
  EXPECT_EQ(s.status.back(), "{\"exit-code\": 137, \"limit\": \"memory\", \"limit-value\": \"32M\"}");
  // The same allocation fits under a larger limit.
  auto ok = run(with_root(cat({{"--memory", "512M"}, kHog})));
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_TRUE(contains(ok.out, "survived")) << ok;
  EXPECT_FALSE(contains(ok.err, "limit")) << ok;
}

TEST_F(LimitsTest, ForkBombIsContainedByPids) {
  REQUIRE_CONTROLLER("pids");
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  // Each round starts more sleepers until fork fails; then the shell gives up.
  auto start = std::chrono::steady_clock::now();
  auto r = run(with_root(cat({{"--dev", "/dev", "--pids", "16"},
                              sh("n=0; while [ $n -lt 200 ]; do sleep " + tok +
                                 " & n=$((n+1)); done; echo started=$n")})),
               {.timeout = 20s});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.timed_out) << r;
  EXPECT_FALSE(contains(r.out, "started=200")) << "200 processes started under --pids 16" << r;
  EXPECT_TRUE(contains(r.err, "pids limit 16 reached")) << r;
  EXPECT_LT(took, 10s);
  // Whatever the command left in its cgroup is gone with it.
  EXPECT_TRUE(eventually([&] { return pids_with_token(tok).empty(); }, 3s))
      << pids_with_token(tok).size() << " sleepers survived the sandbox";
}

TEST_F(LimitsTest, RealForkBombEnds) {
  REQUIRE_CONTROLLER("pids");
  auto r = run(with_root(cat({{"--dev", "/dev", "--pids", "32", "--timeout", "3s"},
                              sh("b() { b | b & }; b; sleep 1; echo done")})),
               {.timeout = 20s});
  EXPECT_FALSE(r.timed_out) << r;
  EXPECT_TRUE(contains(r.err, "pids limit 32 reached")) << r;
}

TEST_F(LimitsTest, CpuQuotaThrottles) {
  REQUIRE_CONTROLLER("cpu");
  IT_REQUIRE_FILE("/usr/bin/python3");
  // Busy for 1 s of wall time; the CPU time the process got is what the quota allows, and
  // the leaf's cpu.stat (the caller's cpu cgroup is bound at /cg) counts the throttling.
  const std::string busy =
      "import os, time\n"
      "t = time.monotonic()\n"
      "while time.monotonic() - t < 1: pass\n"
      "u = os.times(); print('cpu=%.3f' % (u.user + u.system))\n"
      "for l in open('/proc/self/cgroup'):\n"
      "    f = l.strip().split(':')\n"
      "    if 'cpu' in f[1].split(',') or f[0] == '0':\n"
      "        leaf = f[2].rsplit('/', 1)[-1]\n"
      "        p = '/cg/' + leaf + '/cpu.stat'\n"
      "        if leaf.startswith('sandbox-') and os.path.exists(p):\n"
      "            for s in open(p): print(s.replace(' ', '=').strip())\n";
  Args common = {"--proc", "/proc", "--ro-bind", *caller_cgroup_dir("cpu"), "/cg"};
  auto limited = run(with_root(cat({common, {"--cpus", "0.2", "--", "python3", "-c", busy}})));
  ASSERT_EQ(limited.exit_code, 0) << limited;
  auto kv = key_values(limited.out);
  double cpu = std::stod(kv["cpu"]);
  EXPECT_LT(cpu, 0.45) << "--cpus 0.2 gave " << cpu << " s of CPU in 1 s" << limited;
  EXPECT_GT(cpu, 0.05) << limited;
  ASSERT_TRUE(kv.count("nr_throttled")) << "no cpu.stat in the leaf" << limited;
  EXPECT_GE(std::stoul(kv["nr_throttled"]), 5u) << limited;
  auto free_run = run(with_root(cat({common, {"--", "python3", "-c", busy}})));
  ASSERT_EQ(free_run.exit_code, 0) << free_run;
  double cpu_free = std::stod(key_values(free_run.out)["cpu"]);
  EXPECT_GT(cpu_free, cpu * 1.5) << "without --cpus: " << cpu_free << " s, with: " << cpu;
  std::cerr << "[ measured ] --cpus 0.2: " << cpu << " s CPU per 1 s wall, " << kv["nr_throttled"]
            << " throttled periods; unlimited: " << cpu_free << " s\n";
}

TEST_F(LimitsTest, CgroupsAreRemovedAfterwards) {
  REQUIRE_CONTROLLER("memory");
  REQUIRE_CONTROLLER("pids");
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  auto p = spawn(with_root({"--proc", "/proc", "--memory", "64M", "--pids", "20", "--", "sh", "-c",
                            "cat /proc/self/cgroup; echo ready; sleep " + tok + "; exit 0"}));
  ASSERT_TRUE(p->wait_for_stdout("ready")) << p->wait(1s);
  std::string mem = leaf_of("memory", p->pid()), pids = leaf_of("pids", p->pid());
  EXPECT_TRUE(exists(mem)) << mem;
  EXPECT_TRUE(exists(pids)) << pids;
  EXPECT_TRUE(contains(p->out_so_far(), "/sandbox-" + std::to_string(p->pid()))) << p->out_so_far();
  EXPECT_EQ(trim(read_file(mem + "/memory.limit_in_bytes")), std::to_string(64 << 20));
  EXPECT_EQ(trim(read_file(pids + "/pids.max")), "20");
  ASSERT_TRUE(eventually([&] { return !pids_running("sleep", tok).empty(); }));
  for (pid_t s : pids_running("sleep", tok)) ::kill(s, SIGKILL);  // the command ends
  auto r = p->wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(exists(mem)) << mem << " is left behind";
  EXPECT_FALSE(exists(pids)) << pids << " is left behind";
}

// A cgroup of this test's own at the root of the hierarchies with `controllers`, for
// --cgroup-parent; removed at the end.
class PrivateParent {
 public:
  explicit PrivateParent(std::initializer_list<const char*> controllers)
      : path_("/sandbox-it-" + unique_suffix()) {
    for (const char* c : controllers) {
      std::string d = caller_cgroup(c)->mountpoint + path_;
      if (::mkdir(d.c_str(), 0755) == 0) dirs_.push_back(d);
    }
  }
  ~PrivateParent() {
    for (const auto& d : dirs_) ::rmdir(d.c_str());
  }
  const std::string& path() const { return path_; }
  std::string leaf(const char* controller, pid_t supervisor) const {
    return caller_cgroup(controller)->mountpoint + path_ + "/sandbox-" + std::to_string(supervisor);
  }

 private:
  std::string path_;
  std::vector<std::string> dirs_;
};

TEST_F(LimitsTest, StaleLeavesOfAKilledSandboxAreRemovedByTheNextOne) {
  REQUIRE_CONTROLLER("memory");
  REQUIRE_CONTROLLER("pids");
  // Stale leaves are looked for in the base cgroup a sandbox uses: a private one, so that
  // no sandbox of another test running at the same time cleans them up first.
  PrivateParent parent{"memory", "pids"};
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  auto p = spawn(with_root({"--cgroup-parent", parent.path(), "--memory", "64M", "--pids", "20",
                            "--", "sleep", tok}));
  ASSERT_TRUE(eventually([&] { return !pids_running("sleep", tok).empty(); })) << p->wait(1s);
  std::string mem = parent.leaf("memory", p->pid()), pids = parent.leaf("pids", p->pid());
  p->signal(SIGKILL);
  p->wait(5s);
  ASSERT_TRUE(exists(mem)) << "a SIGKILLed supervisor cannot clean up";
  ASSERT_FALSE(pids_running("sleep", tok).empty());
  // The next sandbox with a cgroup limit (memory only) finds both leaves stale.
  auto r = run(with_root({"--cgroup-parent", parent.path(), "--memory", "64M", "--", "true"}));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(exists(mem)) << mem;
  EXPECT_FALSE(exists(pids)) << pids;
  EXPECT_TRUE(eventually([&] { return pids_running("sleep", tok).empty(); }, 3s))
      << "the orphaned command still runs";
}

TEST_F(LimitsTest, CgroupNamespaceIsRootedAtTheLeaf) {
  REQUIRE_CONTROLLER("memory");
  auto r = run(with_root(cat({{"--proc", "/proc", "--memory", "64M", "--unshare-cgroup"}, sh("cat /proc/self/cgroup")})));
  ASSERT_EQ(r.exit_code, 0) << r;
  bool found = false;
  for (const auto& l : lines(r.out))
    if (contains(l, ":memory:")) {
      found = true;
      EXPECT_EQ(l.substr(l.find(":memory:")), ":memory:/") << r;
    }
  EXPECT_TRUE(found) << r;
}

// ---- rlimits ---------------------------------------------------------------------------------

TEST_P(LimitsModeTest, RlimitsReachTheCommand) {
  auto r = run(with_root(cat({{"--rlimit", "nofile=64:128", "--rlimit", "core=0",
                               "--rlimit", "fsize=unlimited:unlimited", "--proc", "/proc"},
                              sh("ulimit -n; ulimit -Hn; cat /proc/self/limits")})),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto l = lines(r.out);
  ASSERT_GE(l.size(), 2u) << r;
  EXPECT_EQ(l[0], "64");
  EXPECT_EQ(l[1], "128");
  EXPECT_EQ(words(limits_line(r.out, "Max core file size")),
            (std::vector<std::string>{"Max", "core", "file", "size", "0", "0", "bytes"}))
      << r;
  EXPECT_TRUE(contains(limits_line(r.out, "Max file size"), "unlimited")) << r;
}

TEST_P(LimitsModeTest, RlimitAboveTheCallersHardLimit) {
  rlimit cur;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &cur), 0);
  unsigned long nr_open = std::stoul(trim(read_file("/proc/sys/fs/nr_open")));
  if (cur.rlim_max == RLIM_INFINITY || cur.rlim_max >= nr_open)
    GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is already at the maximum";
  std::string above = std::to_string(cur.rlim_max + 1);
  TempDir d;
  auto r = run(with_root(cat({{"--bind", d.path(), "/out", "--proc", "/proc", "--rlimit",
                               "nofile=64:" + above},
                              sh("ulimit -Hn > /out/hard")})),
               opts());
  if (as_root() && has_cap_sys_resource()) {
    // Root may raise it, also for a sandbox in its own user namespace.
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(trim(read_file(d / "hard")), above);
  } else {
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_TRUE(contains(r.err, "--rlimit nofile=64:" + above)) << r;
    EXPECT_TRUE(contains(r.err, "raising it needs CAP_SYS_RESOURCE")) << r;
    EXPECT_TRUE(d.entries().empty()) << "the command ran";
  }
}

// ---- --timeout ------------------------------------------------------------------------------

TEST_P(LimitsModeTest, TimeoutKillsTheTree) {
  for (const Args& flags : {Args{}, Args{"--unshare-pid"}}) {
    SCOPED_TRACE(flags.empty() ? "without --unshare-pid" : "with --unshare-pid");
    std::string tok = sleep_token();
    TokenGuard guard{tok};
    auto start = std::chrono::steady_clock::now();
    auto s = run_with_status(cat({flags, {"--timeout", "500ms"},
                                  sh("sleep " + tok + " & sleep " + tok + "; echo not-killed")}),
                             opts());
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(s.r.exit_code, 124) << s.r;
    EXPECT_TRUE(contains(s.r.err, invoked_name() + ": killed: timed out after 500ms")) << s.r;
    EXPECT_FALSE(contains(s.r.out, "not-killed")) << s.r;
    EXPECT_LT(took, 2s) << "SIGTERM should have been enough";
    ASSERT_FALSE(s.status.empty());
    EXPECT_EQ(s.status.back(),
              "{\"exit-code\": 124, \"limit\": \"timeout\", \"limit-value\": \"500ms\"}");
    EXPECT_TRUE(eventually([&] { return pids_with_token(tok).empty(); }, 2s))
        << "processes survived the timeout";
  }
}

TEST_P(LimitsModeTest, TimeoutEscalatesToSigkill) {
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  auto start = std::chrono::steady_clock::now();
  auto r = run(with_root(cat({{"--timeout", "300ms"},
                              sh("trap '' TERM; sleep " + tok + "; echo not-killed")})),
               opts());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 124) << r;
  EXPECT_FALSE(contains(r.out, "not-killed")) << r;
  // 300 ms, then the documented 2 s grace period before SIGKILL.
  EXPECT_GE(took, 2200ms);
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(eventually([&] { return pids_with_token(tok).empty(); }, 2s));
}

TEST_P(LimitsModeTest, CommandFinishingInTimeKeepsItsStatus) {
  auto s = run_with_status(cat({{"--timeout", "30s"}, sh("exit 3")}), opts());
  EXPECT_EQ(s.r.exit_code, 3) << s.r;
  EXPECT_FALSE(contains(s.r.err, "timed out")) << s.r;
  ASSERT_FALSE(s.status.empty());
  EXPECT_EQ(s.status.back(), "{\"exit-code\": 3}");
}

// ---- --limits required / best-effort where cgroups cannot be used --------------------------

// The unprivileged uid has no delegated cgroup here, so a cgroup limit cannot be enforced.
TEST_F(LimitsTest, RequiredFailsBeforeAnythingRuns) {
  TempDir d;
  auto r = run(with_root({"--bind", d.path(), "/out", "--memory", "64M", "--", "touch",
                          "/out/ran"}),
               unpriv());
  if (r.exit_code == 0) GTEST_SKIP() << "this host delegates a cgroup to the unprivileged uid";
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(d.entries().empty()) << "the command ran";
  EXPECT_EQ(r.err.rfind(invoked_name() + ": --memory 64M can't be enforced: ", 0), 0u) << r;
  // Why, and what would fix it.
  EXPECT_TRUE(contains(r.err, "no cgroup2 filesystem is mounted") ||
              contains(r.err, "controller is not") || contains(r.err, "not delegated"))
      << r;
  // The run's environment has no XDG_RUNTIME_DIR, so no user manager: no systemd-run --user.
  EXPECT_TRUE(contains(r.err, "no systemd user manager runs for you here")) << r;
  EXPECT_FALSE(contains(r.err, "`systemd-run --user --scope")) << r;
  EXPECT_TRUE(contains(r.err, "--cgroup-parent")) << r;
  EXPECT_TRUE(contains(r.err, "--limits best-effort")) << r;
  EXPECT_EQ(lines(r.err).size(), 1u) << r;
}

TEST_F(LimitsTest, BestEffortWarnsAndAppliesWhatItCan) {
  auto r = run(with_root({"--proc", "/proc", "--limits", "best-effort", "--memory", "64M",
                          "--pids", "20", "--rlimit", "nofile=77", "--", "cat",
                          "/proc/self/limits"}),
               unpriv());
  ASSERT_EQ(r.exit_code, 0) << r;
  if (!contains(r.err, "can't be enforced"))
    GTEST_SKIP() << "this host delegates a cgroup to the unprivileged uid";
  EXPECT_TRUE(contains(r.err, "--memory 64M can't be enforced")) << r;
  EXPECT_TRUE(contains(r.err, "running without it")) << r;
  // --pids falls back to RLIMIT_NPROC, with the caveat said.
  EXPECT_TRUE(contains(r.err, "RLIMIT_NPROC=20")) << r;
  EXPECT_TRUE(contains(r.err, "per user")) << r;
  EXPECT_TRUE(contains(limits_line(r.out, "Max processes"), " 20 ")) << r;
  EXPECT_TRUE(contains(limits_line(r.out, "Max open files"), " 77 ")) << r;
}

TEST_F(LimitsTest, BestEffortNprocStopsAForkLoop) {
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  auto r = run(with_root(cat({{"--dev", "/dev", "--limits", "best-effort", "--pids", "8"},
                              sh("n=0; while [ $n -lt 50 ]; do sleep " + tok +
                                 " & n=$((n+1)); done; echo started=$n")})),
               unpriv());
  if (!contains(r.err, "RLIMIT_NPROC")) GTEST_SKIP() << "the cgroup limit applied here";
  EXPECT_FALSE(contains(r.out, "started=50")) << r;
  kill_with_token(tok);
}

TEST_F(LimitsTest, BadValuesFailBeforeAnythingRuns) {
  for (const Args& a : {Args{"--timeout", "soon"}, Args{"--memory", "lots"},
                        Args{"--memory-swap", "1G"}, Args{"--rlimit", "nofile=2:1"},
                        Args{"--cgroup-parent", "/x"}}) {
    auto r = run(with_root(cat({a, {"--", "true"}})));
    EXPECT_EQ(r.exit_code, 1) << a[0] << r;
    EXPECT_TRUE(contains(r.err, a[0])) << r;
  }
}

}  // namespace
}  // namespace it
