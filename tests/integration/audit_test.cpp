// --audit-fd end to end: each call the --seccomp-profile denies appears once, with its
// name, while the command still gets the profile's errno (control: the same run without
// --audit-fd); allowed calls give no line; a flood of denials ends in bounded time with a
// summary counting them; the command never holds the listener.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace it {
namespace {

using json = nlohmann::json;

// "name=errno" per call, as in seccomp_test.cpp, plus the command's pid.
const char* kProbe = R"PY(
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def t(name, nr, *a):
    ctypes.set_errno(0)
    args = [ctypes.c_long(x) if isinstance(x, int) else x for x in a]
    r = libc.syscall(ctypes.c_long(nr), *args)
    print("%s=%d" % (name, 0 if r >= 0 else ctypes.get_errno()), flush=True)
r, w = os.pipe()
ch = ctypes.c_char(b"x")
n = ctypes.c_int(0)
print("pid=%d" % os.getpid(), flush=True)
t("getppid", 110)
t("mount", 165, b"none", b"/nonexistent-seccomp", b"tmpfs", 0, 0)
t("keyctl", 250, 0, -3, 0)
t("unshare", 272, 0)
t("setns", 308, -1, 0)
t("bpf", 321, 9999, None, 0)
t("clone3", 435, None, 0)
t("socket_unix", 41, 1, 1, 0)
t("tiocsti", 16, r, 0x5412, ctypes.byref(ch))
t("fionread", 16, r, 0x541B, ctypes.byref(n))
)PY";

struct AuditRun {
  RunResult r;
  std::vector<json> lines;  // everything written to the audit fd, parsed
  std::string raw;
};

// Runs `args` (after a minimal root) with --audit-fd 5 going to a file when `audit`.
AuditRun run_audited(const Args& flags, const Args& command, RunOpts o, bool audit = true) {
  TempDir d;
  const std::string path = d / "audit";
  if (audit)
    o.in_child = [path] {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);  // no O_CLOEXEC
      return fd >= 0 && (fd == 5 || (::dup2(fd, 5) == 5 && ::close(fd) == 0));
    };
  AuditRun a;
  Args all = cat({with_root({"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"}), flags,
                  audit ? Args{"--audit-fd", "5"} : Args{}, command});
  a.r = run(all, o);
  if (audit) {
    a.raw = read_file(path);
    for (const auto& l : lines(a.raw)) {
      try {
        a.lines.push_back(json::parse(l));
      } catch (const std::exception& e) {
        ADD_FAILURE() << "not JSON: " << l;
      }
    }
  }
  return a;
}

std::vector<json> syscall_lines(const AuditRun& a, const std::string& name) {
  std::vector<json> out;
  for (const auto& j : a.lines)
    if (j.value("type", "") == "syscall" && j["name"].is_string() && j["name"] == name)
      out.push_back(j);
  return out;
}

const json* summary(const AuditRun& a) {
  return !a.lines.empty() && a.lines.back().value("type", "") == "summary" ? &a.lines.back()
                                                                             : nullptr;
}

class auditTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
#if !defined(__x86_64__)
    GTEST_SKIP() << "the probes use x86_64 syscall numbers";
#endif
  }
};
INSTANTIATE_TEST_SUITE_P(Modes, auditTest, ::testing::Bool(), mode_name);

const Args kPy = {"--", "python3", "-c", kProbe};

TEST_P(auditTest, EachDeniedCallOnceWithTheProfilesErrno) {
  for (const Args& pidns : {Args{}, Args{"--unshare-pid"}, Args{"--unshare-pid", "--as-pid-1"}}) {
    SCOPED_TRACE(testing::PrintToString(pidns));
    const Args flags = cat({pidns, {"--seccomp-profile", "default"}});
    auto control = run_audited(flags, kPy, opts(), false);
    auto a = run_audited(flags, kPy, opts());
    ASSERT_EQ(control.r.exit_code, 0) << control.r;
    ASSERT_EQ(a.r.exit_code, 0) << a.r << a.raw;
    auto kv = key_values(a.r.out);
    auto ckv = key_values(control.r.out);
    // The command sees exactly what it sees without --audit-fd.
    for (const char* n : {"getppid", "mount", "keyctl", "unshare", "setns", "bpf", "clone3",
                          "socket_unix", "tiocsti", "fionread"})
      EXPECT_EQ(kv[n], ckv[n]) << n << a.r << control.r;
    // Denied: once each, with the errno the command got.
    for (const char* n : {"mount", "keyctl", "unshare", "setns", "bpf"}) {
      EXPECT_EQ(kv[n], "1") << n << a.r;
      auto l = syscall_lines(a, n);
      ASSERT_EQ(l.size(), 1u) << n << "\n" << a.raw;
      EXPECT_EQ(l[0]["errno"], 1) << l[0];
      EXPECT_EQ(l[0]["error"], "EPERM") << l[0];
      EXPECT_EQ(l[0]["arch"], "x86_64") << l[0];
      EXPECT_EQ(l[0]["profile"], "default") << l[0];
      EXPECT_EQ(l[0]["args"].size(), 6u) << l[0];
    }
    EXPECT_EQ(syscall_lines(a, "keyctl")[0]["nr"], 250);
    // The profile's rule: default.json lists mount; clone3 has its ENOSYS rule.
    EXPECT_EQ(syscall_lines(a, "mount")[0]["rule"].get<std::string>().rfind("syscalls[", 0), 0u);
    EXPECT_EQ(syscall_lines(a, "clone3")[0]["rule"].get<std::string>().rfind("syscalls[", 0), 0u);
    // TIOCSTI matches no rule: the default action denied it.
    EXPECT_EQ(syscall_lines(a, "ioctl")[0]["rule"], "defaultAction");
    EXPECT_EQ(syscall_lines(a, "keyctl")[0]["args"][1], static_cast<uint64_t>(-3));
    // clone3: the profile's ENOSYS, not EPERM.
    EXPECT_EQ(kv["clone3"], "38") << a.r;
    auto c3 = syscall_lines(a, "clone3");
    ASSERT_GE(c3.size(), 1u) << a.raw;
    EXPECT_EQ(c3[0]["errno"], 38);
    // ioctl: TIOCSTI denied (one line, its request in args[1]), FIONREAD allowed (none).
    auto io = syscall_lines(a, "ioctl");
    ASSERT_EQ(io.size(), 1u) << a.raw;
    EXPECT_EQ(io[0]["args"][1], 0x5412);
    // Allowed calls: no line.
    for (const char* n : {"getppid", "socket", "write", "read"})
      EXPECT_TRUE(syscall_lines(a, n).empty()) << n << "\n" << a.raw;
    // Without a PID namespace the pid is the command's own.
    if (pidns.empty()) {
      EXPECT_EQ(std::to_string(syscall_lines(a, "keyctl")[0]["pid"].get<long>()), kv["pid"]);
    }
    // The summary counts every line, last.
    const json* s = summary(a);
    ASSERT_NE(s, nullptr) << a.raw;
    size_t n_syscall = 0;
    for (const auto& j : a.lines) n_syscall += j.value("type", "") == "syscall";
    EXPECT_EQ((*s)["counts"]["syscall"], n_syscall) << *s;
    EXPECT_EQ((*s)["dropped"], 0) << *s;
    EXPECT_EQ((*s)["written"], n_syscall) << *s;
  }
}

TEST_P(auditTest, FloodEndsInBoundedTimeAndIsCounted) {
  const char* flood = R"PY(
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
bad = 0
for i in range(100000):
    if libc.syscall(250, 0, -3, 0) != -1 or ctypes.get_errno() != 1:
        bad += 1
print("bad=%d" % bad)
)PY";
  auto t0 = std::chrono::steady_clock::now();
  RunOpts o = opts();
  o.timeout = 120s;
  auto a = run_audited({"--unshare-pid", "--seccomp-profile", "default"},
                       {"--", "python3", "-c", flood}, o);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("100000 audited denials: %.2f s\n", secs);
  ASSERT_EQ(a.r.exit_code, 0) << a.r;
  EXPECT_EQ(key_values(a.r.out)["bad"], "0") << a.r;  // every call got EPERM
  EXPECT_LT(secs, 60.0);
  const json* s = summary(a);
  ASSERT_NE(s, nullptr) << a.raw.substr(0, 2000);
  EXPECT_GE((*s)["counts"]["syscall"].get<uint64_t>(), 100000u) << *s;
  const uint64_t written = (*s)["written"], dropped = (*s)["dropped"];
  EXPECT_EQ(written + dropped, (*s)["counts"]["syscall"].get<uint64_t>()) << *s;
  // Rate-limited: the burst and 200 a second, not 100,000 lines.
  EXPECT_LE(written, 1000 + static_cast<uint64_t>(200 * secs) + 1) << *s;
  EXPECT_GT(dropped, 0u) << *s;
  EXPECT_EQ(a.lines.size(), written + 1);
}

TEST_P(auditTest, TheCommandNeverHoldsTheListener) {
  // Every descriptor the command has, with what it points to. The listener would read
  // "anon_inode:seccomp notify".
  const char* fds =
      "import os\n"
      "for f in os.listdir('/proc/self/fd'):\n"
      "    try: print('fd', f, os.readlink('/proc/self/fd/' + f))\n"
      "    except OSError: pass\n";
  for (const Args& pidns : {Args{}, Args{"--unshare-pid"}}) {
    auto a = run_audited(cat({pidns, {"--seccomp-profile", "default"}}),
                         {"--", "python3", "-c", fds}, opts());
    ASSERT_EQ(a.r.exit_code, 0) << a.r;
    EXPECT_TRUE(contains(a.r.out, "fd 0 ")) << a.r;  // the listing worked
    EXPECT_FALSE(contains(a.r.out, "seccomp")) << a.r;
    // Only stdin, stdout, stderr (and the listing's own directory, if still open): the
    // --audit-fd descriptor is not passed on either.
    EXPECT_TRUE(contains(a.r.out, "fd 2 ")) << a.r;
    EXPECT_LE(lines(a.r.out).size(), 4u) << a.r;
    EXPECT_FALSE(contains(a.r.out, "fd 5 ")) << a.r;
  }
}

TEST_P(auditTest, AStackedErrnoProgramWinsAndIsNotReported) {
  // The kernel returns the highest-precedence action of all filters: ERRNO ranks above
  // USER_NOTIF, so a caller's program that denies keyctl with EACCES decides it.
  TempDir d;
  write_file(d / "p.json", R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]})");
  auto c = run({"seccomp-compile", d / "p.json"}, opts());
  ASSERT_EQ(c.exit_code, 0) << c;
  write_file(d / "p.bpf", c.out);
  const std::string bpf = d / "p.bpf";
  TempDir out;
  const std::string path = out / "audit";
  RunOpts o = opts();
  o.in_child = [bpf, path] {
    int p = ::open(bpf.c_str(), O_RDONLY);
    int a = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    return p >= 0 && a >= 0 && ::dup2(p, 6) == 6 && ::dup2(a, 5) == 5;
  };
  auto r = run(cat({with_root({"--proc", "/proc", "--dev", "/dev"}),
                    {"--add-seccomp-fd", "6", "--seccomp-profile", "default", "--audit-fd", "5"},
                    {"--", "python3", "-c", kProbe}}),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto kv = key_values(r.out);
  EXPECT_EQ(kv["keyctl"], "13") << r;
  EXPECT_EQ(kv["mount"], "1") << r;
  std::string raw = read_file(path);
  EXPECT_FALSE(contains(raw, "\"keyctl\"")) << raw;
  EXPECT_TRUE(contains(raw, "\"mount\"")) << raw;
}

TEST_P(auditTest, AReaderThatIsGoneOrNeverReadsDoesNotStopTheCommand) {
  const char* many =
      "import ctypes\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "for i in range(20000): libc.syscall(250, 0, -3, 0)\n"
      "print('errno=%d' % ctypes.get_errno())\n";
  for (bool reader_gone : {true, false}) {
    SCOPED_TRACE(reader_gone ? "reader gone" : "reader never reads");
    RunOpts o = opts();
    // fd 5: the write end of a pipe whose read end is closed (EPIPE, SIGPIPE) or held
    // open but never read (the pipe fills up).
    o.in_child = [reader_gone] {
      int p[2];
      if (::pipe(p) != 0 || ::dup2(p[1], 5) != 5) return false;
      if (reader_gone) ::close(p[0]);
      return true;
    };
    auto r = run(cat({with_root({"--proc", "/proc", "--dev", "/dev"}),
                      {"--unshare-pid", "--seccomp-profile", "default", "--audit-fd", "5", "--",
                       "python3", "-c", many}}),
                 o);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(key_values(r.out)["errno"], "1") << r;
    EXPECT_FALSE(r.timed_out) << r;
  }
}

TEST_P(auditTest, RefusedCombinations) {
  struct Case {
    Args flags;
    std::string message;
  } cases[] = {
      {{}, "--audit-fd requires --seccomp-profile"},
      {{"--seccomp-profile", "default", "--seccomp-log"}, "exclude each other"},
  };
  for (const auto& c : cases) {
    auto a = run_audited(c.flags, {"--", "true"}, opts());
    EXPECT_EQ(a.r.exit_code, 1) << a.r;
    EXPECT_TRUE(contains(a.r.err, c.message)) << a.r;
    EXPECT_TRUE(a.lines.empty()) << a.raw;  // nothing ran
  }
}

}  // namespace
}  // namespace it
