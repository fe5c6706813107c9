// Diagnostics a user sees: a failed exec says what the new root lacks and which option
// provides it (and that option then works), --verbose times each setup step.
#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include "harness.hpp"

namespace it {
namespace {

std::string read_link_target(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

class DiagnosticsTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, DiagnosticsTest, ::testing::Bool(), mode_name);

// The option a diagnostic suggests ("add --symlink usr/lib64 /lib64)"), as arguments.
Args suggestion(const std::string& err) {
  std::smatch m;
  if (!std::regex_search(err, m, std::regex(R"(add (--[a-z-]+) (\S+) ([^\s)]+))"))) return {};
  return {m[1], m[2], m[3]};
}

// The classic merged-/usr mistake: /usr without the /lib64 symlink. The message names the
// missing interpreter and the option; with that option the same command runs.
TEST_P(DiagnosticsTest, MissingElfInterpreterNamesTheSymlinkThatProvidesIt) {
  struct stat st;
  if (::lstat("/lib64", &st) != 0 || !S_ISLNK(st.st_mode))
    GTEST_SKIP() << "/lib64 is not a symlink on this host (not merged-/usr)";
  Args root = {"--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink",
               "usr/lib", "/lib"};
  auto r = run(cat({root, {"--", "true"}}), opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "Can't execute true: No such file or directory")) << r;
  EXPECT_TRUE(contains(r.err, "/usr/bin/true needs its ELF interpreter /lib64/")) << r;
  EXPECT_TRUE(contains(r.err, "/lib64 does not exist in the sandbox")) << r;
  Args fix = suggestion(r.err);
  EXPECT_EQ(fix, (Args{"--symlink", read_link_target("/lib64"), "/lib64"})) << r;
  auto ok = run(cat({root, fix, {"--", "true"}}), opts());
  EXPECT_EQ(ok.exit_code, 0) << ok;
}

TEST_P(DiagnosticsTest, CommandNowhereSaysWhichPathWasSearched) {
  auto r = run(with_root({"--setenv", "PATH", "/usr/bin:/bin", "--", "no-such-command-4711"}),
               opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "no-such-command-4711 is not in any directory of the sandbox's "
                              "PATH (/usr/bin:/bin), nor in those of the host")) << r;
}

// A command the host has in a directory the sandbox lacks: the message names the host
// path and the bind that provides it; with it the command runs.
TEST_P(DiagnosticsTest, CommandOnlyOnTheHostNamesTheBind) {
  TempDir dir(0755);
  write_file(dir / "hello-tool", "#!/bin/sh\necho hello from the tool\n", 0755);
  Args env = {"--setenv", "PATH", "/usr/bin:" + dir.path()};
  auto r = run(with_root(cat({env, {"--", "hello-tool"}})), opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "the host has " + dir.path() + "/hello-tool")) << r;
  Args fix = suggestion(r.err);
  ASSERT_EQ(fix.size(), 3u) << r;
  EXPECT_EQ(fix[0], "--ro-bind") << r;
  auto ok = run(with_root(cat({fix, env, {"--", "hello-tool"}})), opts());
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_EQ(trim(ok.out), "hello from the tool") << ok;
}

// A script whose #! interpreter exists on the host but not in the sandbox.
TEST_P(DiagnosticsTest, MissingScriptInterpreterNamesTheBind) {
  TempDir scripts(0755), interp(0755);
  ASSERT_EQ(::symlink("/usr/bin/sh", (interp / "mysh").c_str()), 0);
  write_file(scripts / "run.sh", "#!" + interp.path() + "/mysh\necho script ran\n", 0755);
  Args bind = {"--ro-bind", scripts.path(), scripts.path()};
  auto r = run(with_root(cat({bind, {"--", scripts / "run.sh"}})), opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, scripts / "run.sh" + " is a script for " + interp.path() +
                                  "/mysh (#!), which is missing")) << r;
  Args fix = suggestion(r.err);
  EXPECT_EQ(fix, (Args{"--ro-bind", interp.path(), interp.path()})) << r;
  auto ok = run(with_root(cat({bind, fix, {"--", scripts / "run.sh"}})), opts());
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_EQ(trim(ok.out), "script ran") << ok;
}

TEST_P(DiagnosticsTest, ScriptInterpreterMissingEverywhere) {
  TempDir scripts(0755);
  write_file(scripts / "run.sh", "#!/nonexistent-4711/bin/interp -x\n", 0755);
  auto r = run(with_root({"--ro-bind", scripts.path(), scripts.path(), "--", scripts / "run.sh"}),
               opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "/nonexistent-4711 does not exist in the sandbox (nor on the host)"))
      << r;
}

TEST_P(DiagnosticsTest, NotExecutableSaysWhy) {
  TempDir dir(0755);
  write_file(dir / "tool", "#!/bin/sh\necho hi\n", 0644);
  auto r = run(with_root({"--ro-bind", dir.path(), "/opt/tools", "--", "/opt/tools/tool"}), opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "Can't execute /opt/tools/tool: Permission denied "
                              "(/opt/tools/tool has no execute permission (mode 0644))")) << r;
}

// One line per step, "<prog>: [+T ms] step", in the order the stages run; nothing without.
TEST_P(DiagnosticsTest, VerboseTimesEachSetupStep) {
  auto quiet = run(with_root({"--unshare-pid", "--", "true"}), opts());
  ASSERT_EQ(quiet.exit_code, 0) << quiet;
  EXPECT_EQ(quiet.err, "") << quiet;

  auto r = run(with_root({"--verbose", "--unshare-pid", "--seccomp-profile", "default", "--",
                          "sh", "-c", "echo out"}),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(trim(r.out), "out") << r;
  static const std::regex kLine(R"(^(\S+): \[\+(\d+\.\d{3}) ms\] (.+)$)");
  std::map<std::string, double> at;
  for (const auto& l : lines(r.err)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, kLine)) << l;
    EXPECT_EQ(m[1], invoked_name()) << l;
    std::string step = m[3];
    // The first line of each kind: "clone: new ..." comes before the clone, while the
    // supervisor's "clone: child pid" may be written after the child's first steps.
    at.emplace(step.substr(0, step.find_first_of(":(0123456789")), std::stod(m[2]));
  }
  std::vector<std::string> order = {"parsed ", "clone", "staging tmpfs on /tmp entered",
                                    "pivot_root into the new root", "no_new_privs set",
                                    "seccomp", "exec sh", "command finished, exit status "};
  if (!as_root()) order.insert(order.begin() + 2, "uid and gid maps written");
  if (!as_root()) order.insert(order.end() - 4, "capabilities set");
  double prev = 0;
  for (const auto& s : order) {
    ASSERT_TRUE(at.count(s)) << "no step '" << s << "'\n" << r;
    EXPECT_GE(at[s], prev) << s << "\n" << r;
    prev = at[s];
  }
  EXPECT_TRUE(contains(r.err, "filesystem operations applied")) << r;
}

}  // namespace
}  // namespace it
