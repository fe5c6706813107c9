// The delegated cgroup v2 limits on a real kernel: tests/vm/run-vm.sh boots Debian's kernel
// under qemu (TCG) once, tests/vm/scenarios.sh runs every scenario inside as an
// unprivileged uid in a delegated subtree and reports one PASS/FAIL line each; every test
// here asserts one scenario. Skips, saying why, without qemu, a static busybox or the
// kernel package (no network).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace {

struct Result {
  bool pass = false;
  std::string detail;
};

struct VmRun {
  std::string skip;     // why the VM could not run here
  std::string output;   // everything run-vm.sh printed
  int exit_code = -1;
  bool done = false;    // the scenario script ran to its end
  std::map<std::string, Result> results;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

VmRun boot() {
  VmRun r;
  std::string script = env("VM_RUN_SCRIPT"), work = env("VM_WORKDIR"), sandbox = env("SANDBOX_BIN"),
              vmtool = env("VMTOOL_BIN");
  if (script.empty() || work.empty() || sandbox.empty() || vmtool.empty()) {
    r.skip = "VM_RUN_SCRIPT, VM_WORKDIR, SANDBOX_BIN and VMTOOL_BIN are not set (run it with ctest)";
    return r;
  }
  std::string cmd = quote(script) + " " + quote(work) + " " + quote(sandbox) + " " + quote(vmtool) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    r.skip = "can't run " + script;
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::cerr << r.output;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (r.exit_code == 77 && line.rfind("SKIP: ", 0) == 0) r.skip = line.substr(6);
    if (line.rfind("DONE ", 0) == 0) r.done = true;
    for (const char* verdict : {"PASS ", "FAIL "}) {
      if (line.rfind(verdict, 0) != 0) continue;
      std::string rest = line.substr(5);
      auto sp = rest.find(' ');
      std::string name = rest.substr(0, sp);
      r.results[name] = {verdict[0] == 'P', sp == std::string::npos ? "" : rest.substr(sp + 1)};
    }
  }
  if (r.exit_code == 77 && r.skip.empty()) r.skip = "run-vm.sh skipped";
  if (!r.skip.empty()) std::cerr << "VM test skipped: " << r.skip << "\n";
  return r;
}

const VmRun& vm() {
  static const VmRun run = boot();
  return run;
}

// Every scenario tests/vm/scenarios.sh reports; a scenario without a test here fails
// EveryScenarioHasATest.
const std::set<std::string> kScenarios = {
    "setup", "required_succeeds", "limits_written", "memory_oom_reported", "memory_oom_of_a_child",
    "memory_oom_unshare_all", "memory_fits", "pids_limit", "fork_bomb_contained", "cpu_quota",
    "leaf_removed", "leftover_killed", "unshare_cgroup_root", "cgroup_parent", "stale_leaf_cleanup",
    "escape_through_bound_cgroupfs", "escape_through_own_mount", "sys_admin_with_bound_cgroupfs_refused",
    "timeout_kills",
    "caller_moved_aside", "busy_cgroup_required", "controller_not_delegated", "not_delegated_required",
    "not_delegated_best_effort", "root_in_root_cgroup", "nothing_left"};

class Vm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vm(); }
  void SetUp() override {
    if (!vm().skip.empty()) GTEST_SKIP() << vm().skip;
    ASSERT_EQ(vm().exit_code, 0) << "the VM did not run to the end:\n" << vm().output;
    ASSERT_TRUE(vm().done) << "the scenario script did not finish:\n" << vm().output;
  }
  // The scenario reported PASS.
  static void check(const std::string& name) {
    ASSERT_TRUE(kScenarios.count(name)) << name << " is not in kScenarios";
    auto it = vm().results.find(name);
    ASSERT_NE(it, vm().results.end()) << "scenario " << name << " did not report:\n" << vm().output;
    EXPECT_TRUE(it->second.pass) << name << ": " << it->second.detail;
    std::cerr << "[ " << name << " ] " << it->second.detail << "\n";
  }
};

TEST_F(Vm, EveryScenarioHasATest) {
  for (const auto& [name, r] : vm().results) EXPECT_TRUE(kScenarios.count(name)) << "untested scenario " << name;
  EXPECT_EQ(vm().results.size(), kScenarios.size());
}

// Root delegates user@1000.service with memory, pids, cpu and io to uid 1000.
TEST_F(Vm, DelegatedSubtreeIsSetUp) { check("setup"); }
// --limits required succeeds in a delegated scope; the command runs in sandbox-<pid>.
TEST_F(Vm, RequiredSucceedsWhenDelegated) { check("required_succeeds"); }
// memory.max, memory.swap.max, pids.max, cpu.max, cpu.weight, io.weight hold the options.
TEST_F(Vm, LimitsAreWrittenToTheLeaf) { check("limits_written"); }
// A hog is OOM-killed: exit 137, "killed: memory limit 32M reached", json limit fields.
TEST_F(Vm, MemoryHogIsKilledAndReported) { check("memory_oom_reported"); }
// A hog below the command is killed; the command goes on and the reason is reported.
TEST_F(Vm, MemoryHogInAChildIsReported) { check("memory_oom_of_a_child"); }
// With --unshare-all (an init between) the report is the same.
TEST_F(Vm, MemoryHogUnderAnInitIsReported) { check("memory_oom_unshare_all"); }
// An allocation below the limit is untouched.
TEST_F(Vm, AllocationBelowTheLimitSurvives) { check("memory_fits"); }
// --pids 20 stops forks at the limit with EAGAIN and says so.
TEST_F(Vm, PidsLimitStopsForks) { check("pids_limit"); }
// A shell fork bomb under --pids 32 ends, and its leftovers go with the leaf.
TEST_F(Vm, ForkBombIsContained) { check("fork_bomb_contained"); }
// --cpus 0.2 gives about 0.2 s of CPU per second; cpu.stat counts the throttling.
TEST_F(Vm, CpuQuotaThrottles) { check("cpu_quota"); }
// The leaf sandbox-<pid> is removed when the sandbox ends.
TEST_F(Vm, LeafIsRemovedAfterwards) { check("leaf_removed"); }
// A process left behind by the command dies with the leaf.
TEST_F(Vm, LeftoverProcessIsKilledWithTheLeaf) { check("leftover_killed"); }
// The command sees its leaf as / (with --unshare-cgroup, and whenever limits apply).
TEST_F(Vm, CgroupNamespaceIsRootedAtTheLeaf) { check("unshare_cgroup_root"); }
// --cgroup-parent, as a cgroup path and as a path under the mount.
TEST_F(Vm, CgroupParentIsUsed) { check("cgroup_parent"); }
// A SIGKILLed supervisor's leaf and command are removed by the next sandbox.
TEST_F(Vm, StaleLeafIsCleanedUp) { check("stale_leaf_cleanup"); }
// The command cannot raise its limits or move out through the host's cgroup2 bound in
// (read-only), nor through a cgroup2 it mounts itself (only its own cgroup is visible);
// with CAP_SYS_ADMIN and the host's cgroup2 in its root, the limits are refused.
TEST_F(Vm, BoundCgroupfsCannotLiftTheLimits) { check("escape_through_bound_cgroupfs"); }
TEST_F(Vm, OwnCgroupMountCannotLiftTheLimits) { check("escape_through_own_mount"); }
TEST_F(Vm, SysAdminWithBoundCgroupfsIsRefused) { check("sys_admin_with_bound_cgroupfs_refused"); }
// --timeout with a cgroup: exit 124, reported, json limit fields.
TEST_F(Vm, TimeoutKillsAndReports) { check("timeout_kills"); }
// A cgroup with other processes: required fails before running, naming the rule.
TEST_F(Vm, CallersOwnProcessesMoveAside) { check("caller_moved_aside"); }
TEST_F(Vm, ForeignProcessInCgroupFailsRequired) { check("busy_cgroup_required"); }
// A controller the parent did not delegate: named in the error; the others are fine.
TEST_F(Vm, UndelegatedControllerIsNamed) { check("controller_not_delegated"); }
// A root-owned cgroup: required fails with why and how to fix it.
TEST_F(Vm, NotDelegatedFailsRequired) { check("not_delegated_required"); }
// ... best-effort warns, runs, and RLIMIT_NPROC stands in for --pids.
TEST_F(Vm, NotDelegatedBestEffortRuns) { check("not_delegated_best_effort"); }
// Root in the root cgroup (exempt from the no-internal-processes rule).
TEST_F(Vm, RootInTheRootCgroup) { check("root_in_root_cgroup"); }
// No sandbox-<pid> leaf is left anywhere in the hierarchy at the end.
TEST_F(Vm, NothingIsLeftBehind) { check("nothing_left"); }

}  // namespace
