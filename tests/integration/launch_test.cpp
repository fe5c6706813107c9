// Running the command: exit codes, signals, --die-with-parent, the pid-namespace init,
// working directory, environment, argv0, sessions and lock files.
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <map>

#include "harness.hpp"

namespace it {
namespace {

// Kills every process of a test's token when the test ends, whatever happened.
struct TokenGuard {
  std::string token;
  ~TokenGuard() { kill_with_token(token); }
};

class LaunchTest : public SandboxTest {};
class LaunchModeTest : public ModeTest {
 protected:
  // Starts `sleep TOKEN` in the sandbox and waits until the command runs.
  std::unique_ptr<Proc> start_sleep(const Args& flags, const std::string& token) {
    auto p = spawn(with_root(cat({flags, {"--", "sleep", token}})), opts());
    bool started = eventually([&] { return !pids_running("sleep", token).empty(); }, 10s);
    EXPECT_TRUE(started) << "the command did not start" << p->wait(1s);
    return started ? std::move(p) : nullptr;
  }

  // Sends `sig` to the sandbox process: it must pass it to the command and exit 128+sig.
  void expect_forwarded(int sig, const Args& flags) {
    std::string tok = sleep_token();
    TokenGuard guard{tok};
    auto p = start_sleep(flags, tok);
    ASSERT_TRUE(p);
    p->signal(sig);
    auto r = p->wait(10s);
    EXPECT_FALSE(r.timed_out) << r;
    EXPECT_EQ(r.exit_code, 128 + sig) << r;
    EXPECT_TRUE(eventually([&] { return pids_running("sleep", tok).empty(); }, 2s))
        << "the command is still running after the sandbox got signal " << sig;
  }
};
INSTANTIATE_TEST_SUITE_P(Modes, LaunchModeTest, ::testing::Bool(), mode_name);

// ---- Exit codes ------------------------------------------------------------------------------

TEST_P(LaunchModeTest, ExitCodeIsPropagated) {
  auto r = run(with_root(sh("exit 7")), opts());
  EXPECT_EQ(r.exit_code, 7) << r;
  auto r0 = run(with_root(sh("exit 0")), opts());
  EXPECT_EQ(r0.exit_code, 0) << r0;
}

TEST_P(LaunchModeTest, ExitCodeIsPropagatedWithPidNamespace) {
  auto r = run(with_root(cat({{"--unshare-pid"}, sh("exit 7")})), opts());
  EXPECT_EQ(r.exit_code, 7) << r;
}

TEST_P(LaunchModeTest, KilledBySignalGives128PlusSignal) {
  auto r = run(with_root(sh("kill -TERM $$")), opts());
  EXPECT_EQ(r.exit_code, 143) << r;
}

TEST_P(LaunchModeTest, KilledBySignalGives128PlusSignalWithPidNamespace) {
  auto r = run(with_root(cat({{"--unshare-pid"}, sh("kill -TERM $$")})), opts());
  EXPECT_EQ(r.exit_code, 143) << r;
}

TEST_P(LaunchModeTest, MissingCommandIsAnError) {
  std::string cmd = "no-such-command-" + unique_suffix();
  auto r = run(with_root({"--", cmd}), opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, cmd)) << r;
  EXPECT_EQ(r.err.rfind(invoked_name() + ": ", 0), 0u) << r;
}

TEST_P(LaunchModeTest, SetupFailureNeverRunsTheCommand) {
  TempDir d;
  std::string missing = "/nonexistent-" + unique_suffix();
  auto r = run(with_root({"--bind", d.path(), "/data", "--bind", missing, "/x", "--", "touch",
                          "/data/marker"}),
               opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(d.entries().empty()) << "the command ran";
}

// ---- Signals --------------------------------------------------------------------------------

TEST_P(LaunchModeTest, ForwardsSigterm) { expect_forwarded(SIGTERM, {}); }
TEST_P(LaunchModeTest, ForwardsSigtermWithPidNamespace) {
  expect_forwarded(SIGTERM, {"--unshare-pid"});
}
TEST_P(LaunchModeTest, ForwardsSigint) { expect_forwarded(SIGINT, {}); }
TEST_P(LaunchModeTest, ForwardsSighup) { expect_forwarded(SIGHUP, {}); }

// ---- --die-with-parent --------------------------------------------------------------------

TEST_P(LaunchModeTest, DieWithParentKillsCommand) {
  for (const Args& flags :
       {Args{"--die-with-parent"}, Args{"--die-with-parent", "--unshare-pid"}}) {
    SCOPED_TRACE(flags.size() == 1 ? "without --unshare-pid" : "with --unshare-pid");
    std::string tok = sleep_token();
    TokenGuard guard{tok};
    auto p = start_sleep(flags, tok);
    ASSERT_TRUE(p);
    p->signal(SIGKILL);
    auto r = p->wait(5s);
    EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r;
    EXPECT_TRUE(eventually([&] { return pids_with_token(tok).empty(); }, 5s))
        << "processes left behind: " << ::testing::PrintToString(pids_with_token(tok));
  }
}

TEST_P(LaunchModeTest, WithoutDieWithParentCommandSurvives) {
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  auto p = start_sleep({}, tok);
  ASSERT_TRUE(p);
  p->signal(SIGKILL);
  auto r = p->wait(5s);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r;
  // No waiting for a kill that might merely be slow: the kernel queues a parent-death
  // signal while the parent exits, before it can be reaped, so now that wait() returned
  // the command either has SIGKILL pending (or is gone already) or will never get it.
  auto sleeps = pids_running("sleep", tok);
  ASSERT_EQ(sleeps.size(), 1u) << "the command should outlive the sandbox";
  const std::string status = read_file("/proc/" + std::to_string(sleeps[0]) + "/status");
  auto state = status_field(status, "State");
  ASSERT_TRUE(state) << "the command is gone";
  EXPECT_TRUE(state->rfind("S", 0) == 0) << "the command is not sleeping: " << *state;
  const uint64_t sigkill = uint64_t{1} << (SIGKILL - 1);
  for (const char* pending : {"SigPnd", "ShdPnd"})
    EXPECT_EQ(status_caps(status, pending).value_or(sigkill) & sigkill, 0u)
        << pending << ": SIGKILL is pending for the command\n" << status;
}

// ---- pid namespace init -------------------------------------------------------------------

TEST_P(LaunchModeTest, PidNamespaceInitReapsOrphans) {
  const char* script =
      "p=$( (sleep 0.1 >/dev/null 2>&1 & echo $!) )\n"
      "echo orphan=$p\n"
      "i=0\n"
      "while [ $i -lt 200 ]; do\n"
      "  if [ ! -e /proc/$p ]; then echo result=reaped; exit 0; fi\n"
      "  sleep 0.05; i=$((i+1))\n"
      "done\n"
      "echo result=not-reaped; cat /proc/$p/stat\n";
  auto r = run(with_root(cat({{"--unshare-pid", "--proc", "/proc", "--dev", "/dev"}, sh(script)})),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_FALSE(m["orphan"].empty()) << r;
  EXPECT_EQ(m["result"], "reaped") << "the orphan stayed a zombie" << r;
}

// ---- Working directory -------------------------------------------------------------------------

TEST_P(LaunchModeTest, ChdirSetsWorkingDirectory) {
  auto r = run(with_root({"--tmpfs", "/tmp", "--chdir", "/tmp", "--", "pwd"}), opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "/tmp\n") << r;
}

TEST_P(LaunchModeTest, DefaultCwdIsCallersWhenItExistsInside) {
  TempDir d;
  RunOpts o = opts();
  o.cwd = d.path();
  auto r = run(with_root({"--bind", d.path(), d.path(), "--", "pwd"}), o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, d.path() + "\n") << r;
}

TEST_P(LaunchModeTest, DefaultCwdIsRootWhenCallersIsMissingInside) {
  TempDir d;
  RunOpts o = opts();
  o.cwd = d.path();
  auto r = run(with_root({"--", "pwd"}), o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "/\n") << r;
}

// ---- Environment and argv ------------------------------------------------------------------

TEST_P(LaunchModeTest, SetenvAndUnsetenv) {
  RunOpts o = opts();
  o.env = {"HOME=/home/it", "KEEP_ME=kept"};
  auto r = run(
      with_root({"--setenv", "SBX_A", "value with spaces", "--unsetenv", "HOME", "--", "env"}), o);
  EXPECT_EQ(r.exit_code, 0) << r;
  auto env = line_set(r.out);
  EXPECT_EQ(env.count("SBX_A=value with spaces"), 1u) << r;
  EXPECT_EQ(env.count("KEEP_ME=kept"), 1u) << r;
  for (const auto& e : env) EXPECT_NE(e.rfind("HOME=", 0), 0u) << r;
}

TEST_P(LaunchModeTest, ClearenvKeepsOnlyPwdAndLaterSetenv) {
  RunOpts o = opts();
  o.env = {"KEEP_ME=kept"};
  auto r = run(
      with_root({"--setenv", "BEFORE", "1", "--clearenv", "--setenv", "AFTER", "2", "--", "env"}),
      o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(line_set(r.out), (std::set<std::string>{"AFTER=2", "PWD=/"})) << r;
}

TEST_P(LaunchModeTest, Argv0) {
  auto r = run(with_root({"--proc", "/proc", "--argv0", "custom-argv0", "--", "/usr/bin/cat",
                          "/proc/self/cmdline"}),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, std::string("custom-argv0") + '\0' + "/proc/self/cmdline" + '\0') << r;
}

// ---- Sessions -------------------------------------------------------------------------------

TEST_P(LaunchModeTest, NewSession) {
  const char* script = "echo pid=$$; echo sid=$(cut -d' ' -f6 /proc/$$/stat)";
  std::string my_sid = std::to_string(::getsid(0));

  auto same = run(with_root(cat({{"--proc", "/proc"}, sh(script)})), opts());
  ASSERT_EQ(same.exit_code, 0) << same;
  EXPECT_EQ(key_values(same.out)["sid"], my_sid)
      << "without --new-session the caller's session" << same;

  auto r = run(with_root(cat({{"--proc", "/proc", "--new-session"}, sh(script)})), opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["sid"], m["pid"]) << "the command leads its own session" << r;
  EXPECT_NE(m["sid"], my_sid) << r;
}

// ---- --lock-file --------------------------------------------------------------------------------

// The /proc/locks line for a host file, if any process holds a lock on it.
std::optional<std::string> lock_on(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long>(st.st_ino));
  for (const auto& l : lines(read_file("/proc/locks"))) {
    if (contains(l, "->")) continue;  // a waiter, not a holder
    for (const auto& w : words(l))
      if (w == id) return l;
  }
  return std::nullopt;
}

TEST_P(LaunchModeTest, LockFileIsHeldWhileRunning) {
  TempDir d;
  std::string lock = d / "lock";
  write_file(lock, "", 0644);
  ASSERT_FALSE(lock_on(lock).has_value()) << "locked before the test";
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  auto p = start_sleep({"--bind", d.path(), "/data", "--lock-file", "/data/lock"}, tok);
  ASSERT_TRUE(p);
  ASSERT_TRUE(eventually([&] { return lock_on(lock).has_value(); }, 5s))
      << "no lock on " << lock << " while the sandbox runs\n"
      << read_file("/proc/locks");
  EXPECT_TRUE(contains(*lock_on(lock), "READ")) << "expected a read lock: " << *lock_on(lock);
  p.reset();  // kills the sandbox's process group
  kill_with_token(tok);
  EXPECT_TRUE(eventually([&] { return !lock_on(lock).has_value(); }, 5s))
      << "lock still held after the sandbox ended";
}

}  // namespace
}  // namespace it
