// Seccomp profiles end to end: --seccomp-profile, --seccomp-log, `sandbox seccomp-compile`
// (with bwrap's --seccomp as the consumer), bad profiles, compat entry points, and the
// programs the default profile must keep working (shells, python3, compilers, threads).
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "harness.hpp"

namespace it {
namespace {

// One line "name=errno" (0: the call succeeded) per probed syscall. Each call uses
// arguments that make it fail harmlessly with a distinctive errno when seccomp lets it
// through (mount on a missing directory -> ENOENT, setns(-1) -> EBADF...), so EPERM
// can only come from the filter.
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
t("getppid", 110)
t("mount", 165, b"none", b"/nonexistent-seccomp", b"tmpfs", 0, 0)
t("umount2", 166, b"/nonexistent-seccomp", 0)
t("keyctl", 250, 0, -3, 0)
t("add_key", 248, b"no-such-key-type", b"d", None, 0, -3)
t("bpf", 321, 9999, None, 0)
t("perf_event_open", 298, None, 0, -1, -1, 0)
t("userfaultfd", 323, 0x7fffffff)
t("ptrace", 101, 7, 999999999, 0, 0)
t("unshare", 272, 0)
t("setns", 308, -1, 0)
t("clone_newuser", 56, 0x10000000 | 0x200, 0, 0, 0, 0)
t("clone3", 435, None, 0)
t("io_uring_setup", 425, 0, None)
t("personality", 135, 0x0040000)
t("kexec_load", 246, 0, 0, None, 0)
t("init_module", 175, None, 0, b"")
t("socket_vsock", 41, 40, 1, 0)
t("socket_inet", 41, 2, 1, 0)
t("socket_unix", 41, 1, 1, 0)
t("tiocsti", 16, r, 0x5412, ctypes.byref(ch))
t("tiocsti_high_bits", 16, r, 0x100005412, ctypes.byref(ch))
t("tioclinux", 16, r, 0x541C, ctypes.byref(ch))
t("fionread", 16, r, 0x541B, ctypes.byref(n))
)PY";

// Denied by default.json, each with what it returns when seccomp lets it through.
const std::map<std::string, std::string> kDeniedByDefault = {
    {"mount", "2"},          {"umount2", "2"},        {"keyctl", "0"},
    {"add_key", "19"},       {"bpf", "22"},           {"perf_event_open", "14"},
    {"userfaultfd", "22"},   {"ptrace", "3"},         {"unshare", "0"},
    {"setns", "9"},          {"clone_newuser", "22"}, {"io_uring_setup", "14"},
    {"personality", "0"},    {"kexec_load", "38"},    {"init_module", "38"},
    {"socket_vsock", "0"},   {"tiocsti", "25"},       {"tiocsti_high_bits", "25"},
    {"tioclinux", "25"},
};

constexpr int kSigsys = 31;

class seccompTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
#if !defined(__x86_64__)
    GTEST_SKIP() << "the probes use x86_64 syscall numbers";
#endif
  }
  static Args root() { return with_root({"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"}); }
  static RunResult probe(const Args& flags, const RunOpts& o = unpriv()) {
    return run(cat({root(), flags, {"--", "python3", "-c", kProbe}}), o);
  }
  // Where the kernel would answer something else, the filter answered EPERM.
  static void expect_denied_by_default(const std::map<std::string, std::string>& kv,
                                       const RunResult& r) {
    for (const auto& [name, outside] : kDeniedByDefault) {
      ASSERT_TRUE(kv.count(name)) << name << r;
      EXPECT_EQ(kv.at(name), "1") << name << " (without the filter: " << outside << ")" << r;
    }
  }
};
class seccompModeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, seccompModeTest, ::testing::Bool(), mode_name);

TEST_F(seccompTest, WithoutAProfileTheProbedCallsReachTheKernel) {
  auto r = probe({});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto kv = key_values(r.out);
  for (const auto& [name, outside] : kDeniedByDefault) {
    if (name == "socket_vsock" && kv[name] != "0") continue;  // no vsock transport here
    EXPECT_EQ(kv[name], outside) << name << r;
  }
}

TEST_F(seccompTest, DefaultDeniesEachClassWithEperm) {
  auto r = probe({"--seccomp-profile", "default"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto kv = key_values(r.out);
  expect_denied_by_default(kv, r);
  EXPECT_EQ(kv["clone3"], "38") << r;  // ENOSYS: glibc falls back to clone
  EXPECT_EQ(kv["getppid"], "0") << r;
  EXPECT_EQ(kv["socket_inet"], "0") << r;
  EXPECT_EQ(kv["socket_unix"], "0") << r;
  EXPECT_EQ(kv["fionread"], "0") << r;
  EXPECT_EQ(r.err, "") << r;
}

TEST_F(seccompTest, NameWithJsonSuffixAndPathWork) {
  auto r = probe({"--seccomp-profile", "default.json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(key_values(r.out)["mount"], "1") << r;
  // Anything with a '/' is a path, relative to the current directory.
  TempDir dir;
  write_file(dir / "mine.json", R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22}]})");
  for (const std::string& p : {dir / "mine.json", std::string("./mine.json")}) {
    RunOpts o = unpriv();
    o.cwd = dir.path();
    auto m = probe({"--seccomp-profile", p}, o);
    ASSERT_EQ(m.exit_code, 0) << p << m;
    EXPECT_EQ(key_values(m.out)["mount"], "22") << p << m;
    EXPECT_EQ(key_values(m.out)["unshare"], "0") << p << m;
  }
}

TEST_F(seccompTest, MountFamilyDeniedEvenWithCapSysAdmin) {
  // With CAP_SYS_ADMIN in the sandbox's user namespace the kernel would allow these.
  const std::string script =
      "import ctypes\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "r = libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)\n"
      "print('mount=%d' % (0 if r == 0 else ctypes.get_errno()))\n"
      "r = libc.syscall(430, b'tmpfs', 0)\n"
      "print('fsopen=%d' % (0 if r >= 0 else ctypes.get_errno()))\n";
  Args base = cat({root(), {"--uid", "0", "--cap-add", "CAP_SYS_ADMIN"}});
  auto outside = run(cat({base, {"--", "python3", "-c", script}}), unpriv());
  ASSERT_EQ(outside.exit_code, 0) << outside;
  EXPECT_EQ(key_values(outside.out)["mount"], "0") << outside;
  EXPECT_EQ(key_values(outside.out)["fsopen"], "0") << outside;
  auto inside = run(cat({base, {"--seccomp-profile", "default", "--", "python3", "-c", script}}), unpriv());
  ASSERT_EQ(inside.exit_code, 0) << inside;
  EXPECT_EQ(key_values(inside.out)["mount"], "1") << inside;
  EXPECT_EQ(key_values(inside.out)["fsopen"], "1") << inside;
}

TEST_F(seccompTest, TiocstiRefusedOnATerminal) {
  // pty.fork: the child's controlling terminal is the pty, so without the filter TIOCSTI
  // on it succeeds (dev.tty.legacy_tiocsti permitting) and the terminal echoes the 'x'.
  const std::string script =
      "import ctypes, os, pty, sys\n"
      "pid, fd = pty.fork()\n"
      "if pid == 0:\n"
      "    libc = ctypes.CDLL(None, use_errno=True)\n"
      "    c = ctypes.c_char(b'x')\n"
      "    for name, req in (('tiocsti', 0x5412), ('tiocsti_high_bits', 0x100005412),\n"
      "                      ('tioclinux', 0x541C)):\n"
      "        r = libc.syscall(ctypes.c_long(16), 0, ctypes.c_long(req), ctypes.byref(c))\n"
      "        print('\\n%s=%d' % (name, 0 if r >= 0 else ctypes.get_errno()), flush=True)\n"
      "    os._exit(0)\n"
      "out = b''\n"
      "while True:\n"
      "    try:\n"
      "        d = os.read(fd, 4096)\n"
      "    except OSError:\n"
      "        break\n"
      "    if not d:\n"
      "        break\n"
      "    out += d\n"
      "os.waitpid(pid, 0)\n"
      "sys.stdout.write(out.decode().replace('\\r', ''))\n";
  // Control: without the filter. Where the kernel itself refuses TIOCSTI to a process
  // without CAP_SYS_ADMIN (dev.tty.legacy_tiocsti=0) there is no attack to block, and the
  // EPERM below would prove nothing about the profile.
  auto outside = run(cat({root(), {"--", "python3", "-c", script}}), unpriv());
  ASSERT_EQ(outside.exit_code, 0) << outside;
  if (key_values(outside.out)["tiocsti"] != "0")
    GTEST_SKIP() << "TIOCSTI fails here without a filter too (errno "
                 << key_values(outside.out)["tiocsti"]
                 << "; dev.tty.legacy_tiocsti=" << trim(read_file("/proc/sys/dev/tty/legacy_tiocsti"))
                 << "): the profile's rule can't be told apart from the kernel's";
  auto inside = run(cat({root(), {"--seccomp-profile", "default", "--", "python3", "-c", script}}), unpriv());
  ASSERT_EQ(inside.exit_code, 0) << inside;
  auto kv = key_values(inside.out);
  EXPECT_EQ(kv["tiocsti"], "1") << inside;
  EXPECT_EQ(kv["tiocsti_high_bits"], "1") << inside;
  EXPECT_EQ(kv["tioclinux"], "1") << inside;
}

TEST_F(seccompTest, BuildProfileAllowsOnlyUnixSockets) {
  auto r = probe({"--seccomp-profile", "build"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto kv = key_values(r.out);
  EXPECT_EQ(kv["socket_unix"], "0") << r;
  EXPECT_EQ(kv["socket_inet"], "97") << r;  // EAFNOSUPPORT
  EXPECT_EQ(kv["socket_vsock"], "97") << r;
  expect_denied_by_default(
      [&] {
        auto k = kv;
        k["socket_vsock"] = "1";  // EAFNOSUPPORT here, checked above
        return k;
      }(),
      r);
}

TEST_F(seccompTest, FlatpakLikeProfile) {
  auto r = probe({"--seccomp-profile", "flatpak-like"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto kv = key_values(r.out);
  for (const char* n : {"mount", "umount2", "keyctl", "add_key", "bpf", "perf_event_open",
                        "userfaultfd", "ptrace", "unshare", "setns", "clone_newuser",
                        "personality", "kexec_load", "init_module", "tiocsti",
                        "tiocsti_high_bits", "tioclinux"})
    EXPECT_EQ(kv[n], "1") << n << r;
  EXPECT_EQ(kv["clone3"], "38") << r;
  EXPECT_EQ(kv["socket_vsock"], "97") << r;
  EXPECT_EQ(kv["socket_inet"], "0") << r;
  EXPECT_EQ(kv["io_uring_setup"], "14") << r;  // a blocklist: not on flatpak's list
  EXPECT_EQ(kv["fionread"], "0") << r;
}

TEST_F(seccompTest, SeccompLogLetsDeniedCallsThroughAndLogsThem) {
  auto r = probe({"--seccomp-profile", "default", "--seccomp-log"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto kv = key_values(r.out);
  for (const auto& [name, outside] : kDeniedByDefault) {
    if (name == "socket_vsock" && kv[name] != "0") continue;
    EXPECT_EQ(kv[name], outside) << name << r;
  }
  EXPECT_EQ(kv["clone3"], "22") << r;
  // The kernel logs each call (audit type 1326, action 0x7ffc0000 = SECCOMP_RET_LOG).
  if (is_root()) {
    auto d = run({}, {.exe = std::string("/bin/dmesg")});
    if (d.exit_code == 0) {
      EXPECT_TRUE(contains(d.out, "uid=" + std::to_string(unpriv_uid())) &&
                  contains(d.out, "code=0x7ffc0000"))
          << "no SECCOMP_RET_LOG record in the kernel log";
    }
  }
  auto bad = run(cat({root(), {"--seccomp-log", "--", "true"}}), unpriv());
  EXPECT_EQ(bad.exit_code, 1) << bad;
  EXPECT_TRUE(contains(bad.err, "--seccomp-log requires --seccomp-profile")) << bad;
}

TEST_P(seccompModeTest, OrdinaryProgramsRunUnderEveryProfile) {
  const std::string script =
      "set -e; echo sh-ok; x=$(echo sub); echo \"$x\"; ls / >/dev/null; "
      "python3 -c 'import threading, subprocess, socket, json, hashlib\n"
      "ts = [threading.Thread(target=lambda: sum(range(10000))) for _ in range(8)]\n"
      "[t.start() for t in ts]; [t.join() for t in ts]\n"
      "print(subprocess.run([\"echo\", \"py-sub\"], capture_output=True, text=True).stdout.strip())\n"
      "a, b = socket.socketpair(); a.send(b\"s\"); assert b.recv(1) == b\"s\"\n"
      "print(\"python-ok\")'";
  for (const char* prof : {"default", "build", "flatpak-like"}) {
    auto r = run(cat({with_root({"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                                 "--seccomp-profile", prof}),
                      sh(script)}),
                 opts());
    ASSERT_EQ(r.exit_code, 0) << prof << r;
    EXPECT_EQ(r.out, "sh-ok\nsub\npy-sub\npython-ok\n") << prof << r;
    EXPECT_EQ(r.err, "") << prof << r;
  }
}

TEST_F(seccompTest, CompilersAndThreadsRunUnderDefault) {
  IT_REQUIRE_FILE("/usr/bin/cc");
  IT_REQUIRE_FILE("/usr/bin/c++");
  const std::string script =
      "set -e; cd /tmp; "
      "printf '#include <stdio.h>\\nint main(void){puts(\"hello c\");return 0;}\\n' > h.c; "
      "cc h.c -o hc; ./hc; "
      "printf '#include <iostream>\\nint main(){std::cout<<\"hello c++\"<<std::endl;}\\n' > h.cpp; "
      "c++ h.cpp -o hcpp; ./hcpp; "
      "printf '#include <pthread.h>\\n#include <stdio.h>\\n"
      "static void* f(void* a){return a;}\\n"
      "int main(void){pthread_t t[16];long s=0;"
      "for(long i=0;i<16;i++)pthread_create(&t[i],0,f,(void*)i);"
      "for(int i=0;i<16;i++){void* r;pthread_join(t[i],&r);s+=(long)r;}"
      "printf(\"threads %%ld\\\\n\",s);return 0;}\\n' > t.c; "
      "cc -pthread t.c -o t; ./t";
  // cc and c++ are /etc/alternatives symlinks on Debian.
  auto r = run(cat({root(), {"--ro-bind", "/etc", "/etc", "--seccomp-profile", "default"}, sh(script)}),
               [] {
                 RunOpts o = unpriv();
                 o.timeout = 120s;
                 return o;
               }());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "hello c\nhello c++\nthreads 120\n") << r;
}

// A 64-bit program entering the kernel through the i386 (int 0x80) or x32 entry point.
class seccompCompatTest : public seccompTest {
 protected:
  void SetUp() override {
    seccompTest::SetUp();
    if (IsSkipped()) return;
    IT_REQUIRE_FILE("/usr/bin/cc");
    write_file(dir_ / "compat.c",
               "#include <stdio.h>\n"
               "#include <stdlib.h>\n"
               "#include <string.h>\n"
               "int main(int argc, char** argv) {\n"
               "  long r;\n"
               "  if (strcmp(argv[1], \"int80\") == 0)\n"
               "    __asm__ volatile(\"int $0x80\" : \"=a\"(r) : \"a\"(20L) : \"memory\");\n"
               "  else\n"
               "    __asm__ volatile(\"syscall\" : \"=a\"(r) : \"a\"(0x40000000L | 39)\n"
               "                     : \"rcx\", \"r11\", \"memory\");\n"
               "  printf(\"%s returned %ld\\n\", argv[1], r);\n"
               "  return 0;\n"
               "}\n");
    auto cc = run({"-o", dir_ / "compat", dir_ / "compat.c"}, {.exe = std::string("/usr/bin/cc")});
    ASSERT_EQ(cc.exit_code, 0) << cc;
  }
  RunResult compat(const std::string& mode, const Args& flags) {
    return run(cat({root(), {"--ro-bind", dir_.path(), "/t"}, flags, {"--", "/t/compat", mode}}),
               unpriv());
  }
  TempDir dir_;
};

TEST_F(seccompCompatTest, Int80IsKilledUnderDefault) {
  // Control: the same program without a filter. Whether the i386 entry point exists is
  // decided from what it does here: a kernel without IA-32 emulation makes int 0x80 fault
  // (SIGSEGV) or return -ENOSYS, and then there is no attack to block.
  auto control = compat("int80", {});
  if (control.exit_code >= 128 || contains(control.out, "returned -38"))
    GTEST_SKIP() << "no IA-32 emulation on this kernel: int 0x80 without a filter "
                 << (control.exit_code >= 128
                         ? "died by signal " + std::to_string(control.exit_code - 128)
                         : std::string("returned -ENOSYS"));
  ASSERT_EQ(control.exit_code, 0) << control;
  ASSERT_TRUE(contains(control.out, "int80 returned ") && !contains(control.out, "returned -"))
      << "the i386 getpid should work without a filter" << control;
  auto inside = compat("int80", {"--seccomp-profile", "default"});
  EXPECT_EQ(inside.exit_code, 128 + kSigsys) << inside;  // SCMP_ACT_KILL_PROCESS
  EXPECT_FALSE(contains(inside.out, "returned")) << inside;
}

TEST_F(seccompCompatTest, X32IsKilledUnderEveryProfile) {
  for (const char* prof : {"default", "build", "flatpak-like"}) {
    auto inside = compat("x32", {"--seccomp-profile", prof});
    EXPECT_EQ(inside.exit_code, 128 + kSigsys) << prof << inside;
    EXPECT_FALSE(contains(inside.out, "returned")) << prof << inside;
  }
}

TEST_F(seccompTest, CompiledFilterWorksWithBwrapSeccompFd) {
  IT_REQUIRE_FILE("/usr/bin/bwrap");
  TempDir dir;
  auto c = run({"seccomp-compile", "default"}, unpriv());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_FALSE(c.out.empty());
  ASSERT_EQ(c.out.size() % 8, 0u);
  write_file(dir / "default.bpf", c.out);
  auto with_fd9 = [&](const std::string& file) {
    RunOpts o = unpriv();
    o.exe = "/usr/bin/bwrap";
    o.in_child = [file] {
      int fd = ::open(file.c_str(), O_RDONLY);
      return fd >= 0 && ::dup2(fd, 9) == 9;
    };
    return o;
  };
  auto bw = run(cat({base_root(), {"--proc", "/proc", "--dev", "/dev", "--seccomp", "9", "--",
                                   "python3", "-c", kProbe}}),
                with_fd9(dir / "default.bpf"));
  ASSERT_EQ(bw.exit_code, 0) << bw;
  auto ours = probe({"--seccomp-profile", "default"});
  ASSERT_EQ(ours.exit_code, 0) << ours;
  EXPECT_EQ(key_values(bw.out), key_values(ours.out)) << bw << ours;
  EXPECT_EQ(key_values(bw.out)["mount"], "1") << bw;

  // --arch and --pfc.
  auto multi = run({"seccomp-compile", "default", "--arch", "x86_64", "--arch", "x86"}, unpriv());
  ASSERT_EQ(multi.exit_code, 0) << multi.err;
  EXPECT_GT(multi.out.size(), c.out.size());
  auto pfc = run({"seccomp-compile", "build", "--pfc"}, unpriv());
  ASSERT_EQ(pfc.exit_code, 0) << pfc;
  EXPECT_TRUE(contains(pfc.out, "invalid architecture action\naction KILL_PROCESS;")) << pfc.out;
  auto bad = run({"seccomp-compile", "default", "--arch", "vax"}, unpriv());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, invoked_name() + ": seccomp-compile: --arch: unknown architecture 'vax'\n");
}

TEST_F(seccompTest, BadProfileFailsBeforeTheCommandRuns) {
  TempDir dir;
  std::string marker = dir / "ran";
  struct {
    std::string json;
    std::string error;  // after "<file>: "
  } cases[] = {
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
           {"names": ["read"], "action": "SCMP_ACT_LOG"},
           {"names": ["mount", "bogus_call"], "action": "SCMP_ACT_KILL"}]})",
       "syscalls[1].names[1]: unknown syscall 'bogus_call'"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
           {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]})",
       "syscalls[0].args[0].index: argument index 7 is out of range (0 to 5)"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
           {"names": ["mount"], "action": "SCMP_ACT_DENY"}]})",
       "syscalls[0].action: unknown action 'SCMP_ACT_DENY'"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
           {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_NOT"}]}]})",
       "syscalls[0].args[0].op: unknown comparison 'SCMP_CMP_NOT'"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]})",
       "syscalls[0]: no syscall names"},
      {"{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [}", "invalid JSON at line 2, column 15: syntax error"},
  };
  int i = 0;
  for (const auto& c : cases) {
    std::string file = dir / ("bad" + std::to_string(i++) + ".json");
    write_file(file, c.json);
    auto r = run(cat({root(), {"--bind", dir.path(), dir.path(), "--seccomp-profile", file, "--",
                               "touch", marker}}),
                 unpriv());
    EXPECT_EQ(r.exit_code, 1) << c.error << r;
    EXPECT_FALSE(exists(marker)) << c.error;
    EXPECT_EQ(r.err.rfind(invoked_name() + ": " + file + ": " + c.error, 0), 0u) << r;
    EXPECT_EQ(r.out, "");
  }
  auto missing = run(cat({root(), {"--seccomp-profile", "no-such-profile", "--", "true"}}), unpriv());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "--seccomp-profile: no profile named 'no-such-profile'")) << missing;
  EXPECT_TRUE(contains(missing.err, "(available: build default flatpak-like)")) << missing;
  auto twice = run(cat({root(), {"--seccomp-profile", "default", "--seccomp-profile", "build",
                                 "--", "true"}}),
                   unpriv());
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_TRUE(contains(twice.err, "--seccomp-profile given twice")) << twice;
}

// The shape of Podman's and Docker's profiles: a syscall in the general allow list and again
// in a rule that the capabilities (or the architecture) select, an unconditional rule beside
// conditional ones of the same action. One rule each, the calls get what the profile says.
// The same profile with a conflicting action (denied without CAP_SYS_ADMIN while the general
// list allows it) has no single meaning: refused before the command runs, unless the
// capability makes the denying rule not apply.
const char* kListedTwice = R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "defaultErrno": "ENOSYS",
    "syscalls": [
      {"names": ["access", "arch_prctl", "brk", "close", "dup", "dup2", "dup3", "execve", "exit",
                 "exit_group", "faccessat", "faccessat2", "fcntl", "fstat", "futex", "getcwd",
                 "getdents64", "getegid", "geteuid", "getgid", "getpgrp", "getpid", "getppid",
                 "getrandom", "gettid", "getuid", "ioctl", "lseek", "lstat", "madvise", "mmap",
                 "mprotect", "munmap", "newfstatat", "open", "openat", "pipe", "pipe2",
                 "pread64", "prlimit64", "read", "readlink", "rseq", "rt_sigaction",
                 "rt_sigprocmask", "rt_sigreturn", "set_robust_list", "set_tid_address",
                 "sigaltstack", "stat", "statx", "sysinfo", "uname", "wait4", "write",
                 "setns", "personality"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["setns"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 262144, "op": "SCMP_CMP_EQ"}]},
      {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EPERM"},
      {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "includes": {"arches": ["amd64"]}}@EXTRA@
    ]})";
std::string listed_twice(const std::string& extra) {
  std::string p = kListedTwice;
  return p.replace(p.find("@EXTRA@"), 7, extra);
}

TEST_F(seccompTest, SyscallListedTwiceWithTheSameActionIsAccepted) {
  TempDir dir;
  const std::string file = dir / "listed-twice.json";
  write_file(file, listed_twice(""));
  for (const Args& caps : {Args{}, Args{"--cap-add", "CAP_SYS_ADMIN"}}) {
    auto r = probe(cat({{"--ro-bind", dir.path(), dir.path(), "--seccomp-profile", file}, caps}));
    ASSERT_EQ(r.exit_code, 0) << r;
    auto kv = key_values(r.out);
    EXPECT_EQ(kv["getppid"], "0") << r;
    EXPECT_EQ(kv["setns"], "9") << r;        // EBADF: the kernel saw setns(-1)
    EXPECT_EQ(kv["personality"], "0") << r;  // the unconditional allow covers the conditional one
    EXPECT_EQ(kv["keyctl"], "1") << r;       // EPERM from the rule (the kernel answers 0)
    EXPECT_EQ(kv["unshare"], "38") << r;     // unlisted: the default ENOSYS
    EXPECT_EQ(kv["mount"], "38") << r;
    EXPECT_EQ(r.err, "") << r;
  }
  // seccomp-compile (no capabilities) takes it too.
  auto c = run({"seccomp-compile", file}, unpriv());
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_FALSE(c.out.empty());
  EXPECT_EQ(c.out.size() % 8, 0u);

  // A conflicting action for the same call (denied without CAP_SYS_ADMIN while the general
  // list allows it, Podman's shape): the more restrictive action wins.
  const std::string strict = dir / "conflict.json";
  write_file(strict, listed_twice(R"(,
      {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"caps": ["CAP_SYS_ADMIN"]}})"));
  auto denied = probe({"--ro-bind", dir.path(), dir.path(), "--seccomp-profile", strict});
  ASSERT_EQ(denied.exit_code, 0) << denied;
  EXPECT_EQ(key_values(denied.out)["setns"], "1") << denied;  // EPERM, not the kernel's EBADF
  EXPECT_EQ(key_values(denied.out)["getppid"], "0") << denied;
  auto compiled = run({"seccomp-compile", strict}, unpriv());
  EXPECT_EQ(compiled.exit_code, 0) << compiled.err;
  EXPECT_EQ(compiled.out.size() % 8, 0u);
  // With CAP_SYS_ADMIN the denying rule does not apply: the two allow rules agree.
  auto with_cap = probe({"--ro-bind", dir.path(), dir.path(), "--cap-add", "CAP_SYS_ADMIN",
                         "--seccomp-profile", strict});
  ASSERT_EQ(with_cap.exit_code, 0) << with_cap;
  EXPECT_EQ(key_values(with_cap.out)["setns"], "9") << with_cap;

  // Conditional rules of two actions that can meet one call have no filter that gives the
  // more restrictive one (libseccomp orders them itself): refused before the command runs.
  const std::string bad = dir / "overlap.json";
  write_file(bad, listed_twice(R"(,
      {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]},
      {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 3, "value": 0, "op": "SCMP_CMP_EQ"}]})"));
  const std::string marker = dir / "ran";
  auto refused = run(cat({root(), {"--bind", dir.path(), dir.path(), "--seccomp-profile", bad, "--",
                                   "touch", marker}}),
                     unpriv());
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_FALSE(exists(marker));
  EXPECT_TRUE(contains(refused.err, bad + ": syscalls[6].names[0]: 'mount' has conditional rules "
                                          "SCMP_ACT_ALLOW (syscalls[5].names[0]) and "
                                          "SCMP_ACT_ERRNO(1) (syscalls[6].names[0]) that can both "
                                          "match one call"))
      << refused;
  auto compile_refused = run({"seccomp-compile", bad}, unpriv());
  EXPECT_EQ(compile_refused.exit_code, 1);
  EXPECT_TRUE(contains(compile_refused.err, "'mount' has conditional rules")) << compile_refused;
}

// Podman's default profile (containers-common), when installed: CI does not install it.
TEST_F(seccompTest, PodmanDefaultProfile) {
  const std::string file = "/usr/share/containers/seccomp.json";
  if (!exists(file)) GTEST_SKIP() << file << " is not installed (containers-common)";
  // Control: without the profile the probed calls reach the kernel.
  auto control = probe({"--cap-add", "CAP_SYS_ADMIN"});
  ASSERT_EQ(control.exit_code, 0) << control;
  auto ckv = key_values(control.out);
  ASSERT_EQ(ckv["userfaultfd"], "22") << control;
  ASSERT_EQ(ckv["kexec_load"], "38") << control;
  ASSERT_EQ(ckv["add_key"], "19") << control;
  // With CAP_SYS_ADMIN its rules agree (setns and the rest listed twice, allowed).
  auto r = probe({"--cap-add", "CAP_SYS_ADMIN", "--seccomp-profile", file});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto kv = key_values(r.out);
  EXPECT_EQ(kv["getppid"], "0") << r;
  EXPECT_EQ(kv["keyctl"], "0") << r;        // allowed
  EXPECT_EQ(kv["setns"], "9") << r;         // allowed (general list and CAP_SYS_ADMIN rule)
  EXPECT_EQ(kv["userfaultfd"], "1") << r;   // its EPERM list
  EXPECT_EQ(kv["kexec_load"], "1") << r;    // its EPERM list (the kernel says ENOSYS here)
  EXPECT_EQ(kv["add_key"], "38") << r;      // not listed: its default ENOSYS
  EXPECT_EQ(r.err, "") << r;
  // Without CAP_SYS_ADMIN its general list allows setns and a rule for commands without the
  // capability answers EPERM: the more restrictive action wins (as Podman means it).
  auto no_cap = probe({"--seccomp-profile", file});
  ASSERT_EQ(no_cap.exit_code, 0) << no_cap;
  auto nkv = key_values(no_cap.out);
  EXPECT_EQ(nkv["setns"], "1") << no_cap;
  EXPECT_EQ(nkv["getppid"], "0") << no_cap;
  EXPECT_EQ(nkv["userfaultfd"], "1") << no_cap;
  EXPECT_EQ(no_cap.err, "") << no_cap;
  // seccomp-compile alike, with and without the capability.
  for (const Args& caps : {Args{}, Args{"--cap-add", "CAP_SYS_ADMIN"}}) {
    auto compiled = run(cat({{"seccomp-compile"}, caps, {file}}), unpriv());
    EXPECT_EQ(compiled.exit_code, 0) << compiled.err;
    EXPECT_FALSE(compiled.out.empty());
    EXPECT_EQ(compiled.out.size() % 8, 0u);
  }
}

TEST_F(seccompTest, DockerStyleProfileWithIncludesAndUnknownNames) {
  // The shape of Docker's default profile: archMap, includes/excludes on caps and arches,
  // and names this libseccomp may not know (a warning: they stay denied).
  TempDir dir;
  std::string file = dir / "docker-like.json";
  write_file(file, R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
    "syscalls": [
      {"names": ["accept", "brk", "close", "execve", "exit", "exit_group", "fstat", "newfstatat",
                 "mmap", "mprotect", "munmap", "openat", "read", "write", "arch_prctl", "access",
                 "pread64", "set_tid_address", "set_robust_list", "rseq", "prlimit64",
                 "getrandom", "futex", "rt_sigaction", "rt_sigprocmask", "getuid", "getgid",
                 "geteuid", "getegid", "getpid", "getppid", "uname", "ioctl", "lseek", "fcntl",
                 "readlink", "sysinfo", "dup2", "getcwd", "stat", "lstat", "_llseek",
                 "some_future_call"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["riscv_flush_icache"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["riscv64"]}},
      {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
    ]})");
  auto r = run(cat({root(), {"--ro-bind", dir.path(), dir.path(), "--seccomp-profile", file, "--",
                             "cat", file}}),
               unpriv());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "some_future_call")) << r;
  EXPECT_TRUE(contains(r.err, invoked_name() + ": " + file + ": 1 syscall name unknown to libseccomp")) << r;
  EXPECT_TRUE(contains(r.err, "some_future_call (syscalls[0].names[42])")) << r;
}

}  // namespace
}  // namespace it
