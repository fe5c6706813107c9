// Behaviour bwrap's callers (and bubblewrap's own test suite, see scripts/bwrap-suite.sh)
// rely on, checked through a `bwrap` symlink: usage and version lines, bwrap's words in
// diagnostics, the modes of directories made for destinations, device nodes a JIT can map,
// --size limits, and the bounding set a root caller's command gets.
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "harness.hpp"

namespace it {
namespace {

class BwrapCompatTest : public ModeTest {
 protected:
  // Runs through the `bwrap` symlink by its full path, as bubblewrap's suite does.
  RunOpts via_bwrap() const {
    RunOpts o = opts();
    o.exe = bwrap_alias_path();
    o.argv0 = bwrap_alias_path();
    return o;
  }
};
INSTANTIATE_TEST_SUITE_P(Modes, BwrapCompatTest, ::testing::Bool(), mode_name);
class BwrapCompatRootTest : public SandboxTest {};

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines(text))
    if (l == line) return true;
  return false;
}

unsigned mode_of(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return 01000000;  // no such file: matches no mode
  return st.st_mode & 07777;
}

// ---- usage and version ---------------------------------------------------------------------

// bwrap prints argv[0] exactly as invoked; its suite checks "usage: ${BWRAP}" with the full
// path, for --help and for a usage error alike.
TEST_P(BwrapCompatTest, UsageShowsArgv0AsInvoked) {
  auto help = run({"--help"}, via_bwrap());
  EXPECT_EQ(help.exit_code, 0) << help;
  EXPECT_EQ(first_line(help.out).rfind("usage: " + bwrap_alias_path() + " [OPTIONS...]", 0), 0u)
      << help;
  auto no_command = run({"--ro-bind", "/", "/"}, via_bwrap());
  EXPECT_EQ(no_command.exit_code, 1) << no_command;
  EXPECT_EQ(first_line(no_command.err).rfind("usage: " + bwrap_alias_path() + " [OPTIONS...]", 0),
            0u)
      << no_command;
  // Diagnostics keep the short name, as bwrap's "bwrap: " prefix.
  auto bad = run({"--bogus-option", "true"}, via_bwrap());
  EXPECT_EQ(first_line(bad.err).rfind("bwrap: ", 0), 0u) << bad;
}

// Callers parse `bwrap --version` as "bubblewrap X.Y.Z": the first line is that, naming the
// bubblewrap release we follow; ours comes on the next line. As `sandbox`: only ours.
TEST_P(BwrapCompatTest, VersionThroughTheSymlinkStartsAsBwrapsDoes) {
  auto r = run({"--version"}, via_bwrap());
  EXPECT_EQ(r.exit_code, 0) << r;
  auto l = lines(r.out);
  ASSERT_EQ(l.size(), 2u) << r;
  EXPECT_EQ(l[0], "bubblewrap 0.11.1") << r;
  EXPECT_EQ(l[1].rfind("sandbox ", 0), 0u) << r;
  auto ours = run({"--version"}, opts());
  EXPECT_EQ(ours.exit_code, 0) << ours;
  EXPECT_EQ(lines(ours.out), std::vector<std::string>{l[1]}) << ours;
}

// ---- bwrap's words -------------------------------------------------------------------------

TEST_P(BwrapCompatTest, DiagnosticsUseBwrapWords) {
  TempDir d;
  struct Case {
    Args args;
    std::string line;  // a whole line of stderr
  };
  const std::vector<Case> cases = {
      {{"--overlay", d.path(), d.path(), "/o"}, "bwrap: --overlay requires at least one --overlay-src"},
      {{"--tmp-overlay", "/o"}, "bwrap: --tmp-overlay requires at least one --overlay-src"},
      {{"--ro-overlay", "/o"}, "bwrap: --ro-overlay requires at least two --overlay-src"},
      {{"--overlay-src", d.path(), "--ro-overlay", "/o"},
       "bwrap: --ro-overlay requires at least two --overlay-src"},
      {{"--overlay-src", d.path()},
       "bwrap: --overlay-src must be followed by another --overlay-src or one of --overlay, "
       "--tmp-overlay, or --ro-overlay"},
      {{"--overlay-src", d.path(), "--chdir", "/"},
       "bwrap: --overlay-src must be followed by another --overlay-src or one of --overlay, "
       "--tmp-overlay, or --ro-overlay"},
      {{"--info-fd", "x1"}, "bwrap: Invalid fd: x1"},
      {{"--size", "9223372036854775809", "--tmpfs", "/t"},
       "bwrap: --size (for tmpfs) is limited to 9223372036854775807"},
  };
  for (const auto& c : cases) {
    auto r = run(with_root(cat({c.args, sh("echo RAN")})), via_bwrap());
    EXPECT_EQ(r.exit_code, 1) << c.line << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_TRUE(has_line(r.err, c.line)) << "expected the line: " << c.line << r;
  }
}

TEST_P(BwrapCompatTest, LargestTmpfsSizeBwrapAllowsIsAccepted) {
  auto r = run(with_root({"--size", "9223372036854775807", "--tmpfs", "/t", "--", "true"}),
               via_bwrap());
  EXPECT_EQ(r.exit_code, 0) << r;
}

TEST_P(BwrapCompatTest, RepeatedSingleValueOptionsWarnAsBwrap) {
  for (const std::string opt : {"--chdir", "--hostname", "--sync-fd"}) {
    std::string v = opt == "--chdir" ? "/" : opt == "--sync-fd" ? "2" : "h";
    Args args = {opt, v, opt, v};
    if (opt == "--hostname") args.insert(args.begin(), "--unshare-uts");
    auto r = run(with_root(cat({args, sh("echo RAN")})), via_bwrap());
    EXPECT_EQ(r.exit_code, 0) << opt << r;
    EXPECT_EQ(r.out, "RAN\n") << r;
    EXPECT_EQ(r.err, "bwrap: Only the last " + opt + " option will take effect\n") << r;
  }
  auto r = run(with_root(cat({{"--level-prefix", "--chdir", "/", "--chdir", "/"}, sh("true")})),
               via_bwrap());
  EXPECT_EQ(r.err, "<4>bwrap: Only the last --chdir option will take effect\n") << r;
}

TEST_P(BwrapCompatTest, ConflictingSymlinkNamesTheExistingTarget) {
  auto r = run(with_root(cat({{"--symlink", "/dev/null", "/l", "--symlink", "/dev/full", "/l"},
                              sh("echo RAN")})),
               via_bwrap());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_EQ(first_line(r.err), "bwrap: Can't make symlink at /l: existing destination is /dev/null")
      << r;
}

// The new root is staged on the host's /tmp in our mount namespace: binding the host's / must
// still show the host's own /tmp, with none of the staging directories, also when /tmp is
// bound again elsewhere.
TEST_P(BwrapCompatTest, BindingTheHostRootShowsItsRealTmp) {
  TempDir d;
  write_file(d / "f", "hello\n", 0644);
  const std::string rel = d.path().substr(std::string("/tmp/").size()) + "/f";
  // /tmp again on /mnt only where /mnt is a directory: a bind onto a missing one would
  // create it in the host's root, which --bind / / exposes writable.
  struct stat st{};
  bool mnt = ::lstat("/mnt", &st) == 0 && S_ISDIR(st.st_mode);
  const std::string script =
      "cat /tmp/" + rel + (mnt ? " /mnt/" + rel : "") +
      "; for x in oldroot newroot; do test -e /tmp/$x && echo visible-$x; done; true";
  Args args = {"--bind", "/", "/"};
  if (mnt) args.insert(args.end(), {"--bind", "/tmp", "/mnt"});
  auto r = run(cat({args, {"--", "sh", "-c", script}}), via_bwrap());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, mnt ? "hello\nhello\n" : "hello\n") << r;
}

// ---- directories made for destinations -----------------------------------------------------

// Missing parents are 0755 less the group bits when the op's mode has none, less the other
// bits likewise; ops without a mode (binds, --symlink, --proc, --dev...) count as mode 0 (so
// 0700), --bind-data as 0600, --file as 0666. The mount point itself is 0755 (0444 a file).
// Checked on the host afterwards, and against /usr/bin/bwrap where it is installed.
TEST_P(BwrapCompatTest, ParentDirectoriesGetBwrapsModes) {
  TempDir d;
  write_file(d / "src-file", "x\n");
  const std::string p = d.path();
  Args ops = {"--bind",      p + "/src-file", p + "/bf1/bf2/dest",
              "--bind",      "/usr",          p + "/bd1/bd2/dest",
              "--symlink",   "x",             p + "/s1/s2/link",
              "--dev",       p + "/v1/v2",
              "--file",      "0",             p + "/F1/F2/dest",
              "--bind-data", "0",             p + "/B1/B2/dest",
              "--dir",       p + "/D1/D2",
              "--perms",     "0750",          "--tmpfs", p + "/T1/T2",
              "--perms",     "0604",          "--dir",   p + "/P1/P2"};
  const std::vector<std::pair<std::string, unsigned>> want = {
      {"bf1", 0700},  {"bf1/bf2", 0700}, {"bf1/bf2/dest", 0444},
      {"bd1", 0700},  {"bd1/bd2", 0700}, {"bd1/bd2/dest", 0755},
      {"s1", 0700},   {"s1/s2", 0700},   {"v1", 0700},
      {"v1/v2", 0755}, {"F1", 0755},     {"F1/F2", 0755},
      {"B1", 0700},   {"B1/B2", 0700},   {"D1", 0755},
      {"D1/D2", 0755}, {"T1", 0750},     {"T1/T2", 0755},
      {"P1", 0705},   {"P1/P2", 0604}};
  auto check = [&](const std::string& exe, const std::string& who) {
    RunOpts o = opts();
    o.exe = exe;
    o.stdin_data = "data\n";
    auto r = run(cat({{"--bind", "/", "/"}, ops, {"--", "true"}}), o);
    ASSERT_EQ(r.exit_code, 0) << who << r;
    for (const auto& [rel, mode] : want)
      EXPECT_EQ(mode_of(d / rel), mode) << who << ": " << rel << " is 0" << std::oct
                                        << mode_of(d / rel) << ", want 0" << mode;
  };
  check(bwrap_alias_path(), "sandbox");
  if (exists("/usr/bin/bwrap")) {
    for (const auto& e : d.entries())
      if (e != "src-file") std::filesystem::remove_all(d / e);
    check("/usr/bin/bwrap", "/usr/bin/bwrap");
  }
}

// ---- --dev ------------------------------------------------------------------------------------

// JITs map /dev/zero with PROT_EXEC: the device nodes of --dev are not noexec (as bwrap).
TEST_P(BwrapCompatTest, DevZeroCanBeMappedExecutable) {
  const std::string py = "/usr/bin/python3";
  IT_REQUIRE_FILE(py);
  const std::string script =
      "import mmap,os; mmap.mmap(os.open('/dev/zero',os.O_RDWR),4096,mmap.MAP_PRIVATE,7); "
      "print('mapped')";
  // Control: the host allows it.
  RunOpts host = opts();
  host.exe = py;
  host.argv0 = "python3";
  auto control = run({"-c", script}, host);
  if (control.out != "mapped\n") GTEST_SKIP() << "the host refuses it too: " << control;
  auto r = run(with_root({"--dev", "/dev", "--proc", "/proc", "--", py, "-c", script}),
               via_bwrap());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "mapped\n") << r;
  auto mi = run(with_root({"--dev", "/dev", "--", "cat", "/proc/self/mountinfo"}), via_bwrap());
  for (const auto& m : parse_mountinfo(mi.out)) {
    if (m.mountpoint == "/dev/zero" || m.mountpoint == "/dev/null") {
      EXPECT_FALSE(contains("," + m.options + ",", ",noexec,")) << m.mountpoint << mi;
    }
  }
}

// ---- capabilities ----------------------------------------------------------------------------

// A RunOpts::in_child hook: the caller becomes root without the capabilities in `drop` in
// its effective/permitted sets, kept so across execve through the ambient set
// (SECBIT_NOROOT: uid 0 gains nothing by exec); its bounding set stays full.
std::function<bool()> root_without(std::vector<int> drop) {
  return [drop] {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &hdr, data) != 0) return false;
    for (auto& d : data) d.inheritable = d.permitted;
    for (int c : drop) data[c / 32].inheritable &= ~(1u << (c % 32));
    if (::syscall(SYS_capset, &hdr, data) != 0) return false;
    if (::prctl(PR_SET_SECUREBITS, SECBIT_NOROOT, 0, 0, 0) != 0) return false;
    for (int c = 0; c <= 63; ++c)
      if (data[c / 32].inheritable & (1u << (c % 32)))
        ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
    return true;
  };
}

// A root caller that holds fewer capabilities than its bounding set: as with bwrap, the
// command's bounding set is cut down to what the caller holds.
TEST_F(BwrapCompatRootTest, CommandsBoundingSetHoldsOnlyTheCallersCapabilities) {
  IT_REQUIRE_ROOT();
  RunOpts o;
  o.in_child = root_without({CAP_SYS_MODULE});
  auto r = run(with_root({"--proc", "/proc", "--", "cat", "/proc/self/status"}), o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto eff = status_caps(r.out, "CapEff");
  auto bnd = status_caps(r.out, "CapBnd");
  ASSERT_TRUE(eff && bnd) << r;
  EXPECT_FALSE(*eff & (1ULL << CAP_SYS_MODULE)) << "the caller did not lose it" << r;
  EXPECT_TRUE(*eff & (1ULL << CAP_SYS_ADMIN)) << "the caller kept its others" << r;
  EXPECT_FALSE(*bnd & (1ULL << CAP_SYS_MODULE)) << r;
  EXPECT_TRUE(*bnd & (1ULL << CAP_SYS_ADMIN)) << r;
}

// Without CAP_SETPCAP a root caller cannot drop bounding-set bits; like bwrap, that alone
// does not stop a run that asked for no capability changes.
TEST_F(BwrapCompatRootTest, RootWithoutSetpcapStillRuns) {
  IT_REQUIRE_ROOT();
  RunOpts o;
  o.in_child = root_without({CAP_SYS_MODULE, CAP_SETPCAP});
  auto r = run(with_root({"--proc", "/proc", "--", "cat", "/proc/self/status"}), o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto eff = status_caps(r.out, "CapEff");
  ASSERT_TRUE(eff) << r;
  EXPECT_FALSE(*eff & (1ULL << CAP_SETPCAP)) << "the caller did not lose it" << r;
  EXPECT_FALSE(*eff & (1ULL << CAP_SYS_MODULE)) << r;
}

// A bounding-set bit that cannot be dropped is an error, never a silently larger set: the
// failure is injected with strace into the first PR_CAPBSET_DROP of the process that
// becomes the command (found by a traced control run).
TEST_P(BwrapCompatTest, BoundingSetDropFailureIsAnError) {
  const std::string strace = "/usr/bin/strace";
  IT_REQUIRE_FILE(strace);
  TempDir d;
  RunOpts o = opts();
  o.exe = strace;
  o.argv0 = "strace";
  // --cap-drop ALL: a root caller drops its capabilities too.
  Args cmd = with_root({"--cap-drop", "ALL", "--", "true"});
  Args traced = {"-f", "-qq", "-o", d / "trace", "-e", "trace=prctl", sandbox_path()};
  traced.insert(traced.end(), cmd.begin(), cmd.end());
  auto control = run(traced, o);
  if (control.exit_code != 0) GTEST_SKIP() << "strace cannot trace here: " << control;
  // "PID prctl(PR_CAPBSET_DROP, ..." lines; strace counts calls per process.
  std::map<std::string, int> seen;
  int nth = 0;
  for (const auto& l : lines(read_file(d / "trace"))) {
    auto w = words(l);
    if (w.size() < 2 || w[1].rfind("prctl(", 0) != 0) continue;
    int n = ++seen[w[0]];
    if (w[1] == "prctl(PR_CAPBSET_DROP,") {
      nth = n;
      break;
    }
  }
  ASSERT_GT(nth, 0) << "no PR_CAPBSET_DROP in the trace";
  Args inject = {"-f", "-qq", "-o", "/dev/null", "-e", "trace=prctl",
                 "-e", "inject=prctl:error=EPERM:when=" + std::to_string(nth), sandbox_path()};
  Args run_cmd = with_root(cat({{"--cap-drop", "ALL"}, sh("echo RAN")}));
  inject.insert(inject.end(), run_cmd.begin(), run_cmd.end());
  auto r = run(inject, o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(contains(r.err, "bounding set")) << r;
}

}  // namespace
}  // namespace it
