// What a new user trips over in the first hour (issue 15), each from outside as a user
// sees it, as the unprivileged uid and as root: the desktop profile without
// XDG_RUNTIME_DIR, ports below 1024 in the sandbox's own network namespace, overlay and
// read-only-root mount errors that say the rule, "did you mean", units in reports, sizes
// in --rlimit.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace it {
namespace {

namespace fs = std::filesystem;

class FrictionsTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, FrictionsTest, ::testing::Bool(), mode_name);

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// `--profile desktop` under `su -`, ssh without logind or CI: runs, without the runtime
// sockets, and says so once. With XDG_RUNTIME_DIR set: no such note. (--net none after the
// profile: the network the profile picks is not what this is about.)
TEST_P(FrictionsTest, DesktopProfileWithoutXdgRuntimeDirRunsAndSaysSoOnce) {
  TempDir home;
  RunOpts o = opts();
  o.env = {"HOME=" + home.path()};
  auto r = run(cat({{"--profile", "desktop", "--net", "none"},
                    sh("echo \"xdg=${XDG_RUNTIME_DIR:-unset}\"; test -d /run/user && echo has-run-user; echo ran")}),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "xdg=unset\n")) << r;
  EXPECT_FALSE(contains(r.out, "has-run-user")) << r;
  EXPECT_TRUE(contains(r.out, "ran\n")) << r;
  EXPECT_EQ(count(r.err, "XDG_RUNTIME_DIR is not set: running without the runtime sockets"), 1u)
      << r;

  // The same with it set: the runtime dir is there, and nothing is said.
  o.env.push_back("XDG_RUNTIME_DIR=/run/user/" + std::to_string(caller_uid()));
  auto s = run(cat({{"--profile", "desktop", "--net", "none"}, sh("echo \"xdg=$XDG_RUNTIME_DIR\"; test -d \"$XDG_RUNTIME_DIR\" && echo has-dir")}), o);
  ASSERT_EQ(s.exit_code, 0) << s;
  EXPECT_TRUE(contains(s.out, "has-dir")) << s;
  EXPECT_FALSE(contains(s.err, "XDG_RUNTIME_DIR")) << s;

  // A profile that needs it (the session bus) still says so and stops.
  o.env = {"HOME=" + home.path()};
  auto d = run(cat({{"--profile", "desktop", "--profile", "dbus", "--net", "none"}, sh("echo ran")}), o);
  EXPECT_EQ(d.exit_code, 1) << d;
  EXPECT_TRUE(contains(d.err, "${XDG_RUNTIME_DIR} is not set")) << d;
}

// The sandbox's own network namespace lets any uid bind port 80 (as rootless Podman); the
// host keeps its own setting.
TEST_P(FrictionsTest, LowPortsBindableInTheSandboxsOwnNetns) {
  IT_REQUIRE_FILE("/usr/bin/python3");
  std::string host_start = trim(read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start"));
  if (host_start == "0") GTEST_SKIP() << "the host already lets every uid bind low ports";
  const std::string bind80 =
      "import socket\n"
      "s = socket.socket(); s.bind(('127.0.0.1', 80)); s.listen(1)\n"
      "print('bound', open('/proc/sys/net/ipv4/ip_unprivileged_port_start').read().strip())\n";
  // Control: a non-root uid in the sandbox with the host's network: refused.
  if (!as_root()) {
    auto c = run(with_root({"--proc", "/proc", "--", "/usr/bin/python3", "-c", bind80}), opts());
    EXPECT_NE(c.exit_code, 0) << c;
    EXPECT_TRUE(contains(c.err, "Permission denied")) << c;
  }
  // A non-root uid inside (root needs its own user namespace for that).
  Args uid = as_root() ? Args{"--unshare-user", "--uid", "1000"} : Args{"--uid", "1000"};
  auto r = run(with_root(cat({uid, {"--unshare-net", "--proc", "/proc", "--", "/usr/bin/python3",
                                    "-c", bind80}})),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "bound 0\n") << r;
  EXPECT_EQ(trim(read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start")), host_start);
}

// An overlay whose WORKDIR is on another filesystem than RWSRC: the rule, not EINVAL only.
TEST_P(FrictionsTest, OverlayWorkDirOnAnotherFilesystemSaysTheRule) {
  TempDir lower, upper, work_same;
  struct stat a, b;
  if (::stat("/dev/shm", &b) != 0 || ::stat(upper.path().c_str(), &a) != 0 || a.st_dev == b.st_dev)
    GTEST_SKIP() << "/dev/shm is not another filesystem than " << upper.path();
  // Control: both on the same filesystem works (or this kernel has no overlay here).
  auto c = run(with_root({"--overlay-src", lower.path(), "--overlay", upper.path(),
                          work_same.path(), "/o", "--", "touch", "/o/x"}),
               opts());
  if (c.exit_code != 0 && contains(c.err, "does not allow overlayfs"))
    GTEST_SKIP() << "no overlayfs here: " << c.err;
  ASSERT_EQ(c.exit_code, 0) << c;
  std::string other = "/dev/shm/sandbox-frictions-work-" + unique_suffix();
  ASSERT_EQ(::mkdir(other.c_str(), 0777), 0);
  ::chmod(other.c_str(), 0777);
  TempDir upper2;
  auto r = run(with_root({"--overlay-src", lower.path(), "--overlay", upper2.path(), other, "/o",
                          "--", "true"}),
               opts());
  fs::remove_all(other);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "Invalid argument")) << r;
  EXPECT_TRUE(contains(r.err, "WORKDIR " + other + " is on another filesystem than RWSRC " +
                                  upper2.path()))
      << r;
  EXPECT_TRUE(contains(r.err, "same filesystem")) << r;
}

// A bind into a read-only root where the mount point is missing: the rule and the ways out.
TEST_P(FrictionsTest, BindIntoReadOnlyRootWithoutMountPointSaysTheFix) {
  std::string missing = "/sandbox-frictions-" + unique_suffix();
  ASSERT_FALSE(exists(missing));
  auto r = run({"--ro-bind", "/", "/", "--bind", "/tmp", missing, "--", "true"}, opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
  EXPECT_TRUE(contains(r.err, "/ is read-only in the sandbox")) << r;
  EXPECT_TRUE(contains(r.err, "--overlay-src / --tmp-overlay /")) << r;
  EXPECT_FALSE(exists(missing));
}

TEST_P(FrictionsTest, TypoInAnOptionSuggestsTheOption) {
  auto r = run({"--unshare-al", "--", "true"}, opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "Unknown option --unshare-al (did you mean --unshare-all?)")) << r;
  auto p = run({"--profile", "minimall", "--", "true"}, opts());
  EXPECT_EQ(p.exit_code, 1) << p;
  EXPECT_TRUE(contains(p.err, "did you mean minimal?")) << p;
  EXPECT_TRUE(contains(p.err, "available: agent build dbus desktop minimal")) << p;
}

TEST_P(FrictionsTest, TimeoutReportSaysTheUnit) {
  // (--unshare-pid, and no capabilities for a root command: --timeout requires them, so
  // that nothing outlives it.)
  auto r = run(with_root({"--unshare-pid", "--cap-drop", "ALL", "--timeout", "1", "--", "sleep", "30"}),
               opts());
  EXPECT_EQ(r.exit_code, 124) << r;
  EXPECT_TRUE(contains(r.err, invoked_name() + ": killed: timed out after 1s\n")) << r;
}

TEST_P(FrictionsTest, RlimitSizesTakeSuffixes) {
  auto r = run(with_root({"--proc", "/proc", "--rlimit", "fsize=1M", "--rlimit", "stack=8M:16M",
                          "--", "sh", "-c", "grep -E 'Max (file|stack) size' /proc/self/limits"}),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto l = lines(r.out);
  ASSERT_EQ(l.size(), 2u) << r;
  EXPECT_EQ(words(l[0]), (std::vector<std::string>{"Max", "file", "size", "1048576", "1048576", "bytes"})) << r;
  EXPECT_EQ(words(l[1]), (std::vector<std::string>{"Max", "stack", "size", "8388608", "16777216", "bytes"})) << r;
}

}  // namespace
}  // namespace it
