// Escapes through processes and credentials: signalling or tracing host processes and the
// supervisor, listing host processes, setuid and file-capability binaries, descriptors of
// the caller, and the caller's session keyring.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "escape.hpp"

namespace it {
namespace {

class ProcEscapeTest : public SandboxTest {};
class ProcEscapeModeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, ProcEscapeModeTest, ::testing::Bool(), mode_name);

// ---- 6. Signalling and tracing processes outside the sandbox ------------------------------

// Each argument is NAME=PID[:kill]. For each target: PTRACE_ATTACH and PTRACE_SEIZE (to run
// code in an unsandboxed process), pidfd_open + pidfd_getfd of its descriptors 0-9 (to steal
// an open file or socket), opening /proc/PID/{mem,environ,exe} (CVE-2019-5736 reopened
// /proc/PID/exe of the runtime to overwrite it), kill(pid, 0) and, with ":kill", SIGKILL.
const char* kTargetScript = R"PY(
import ctypes, errno, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def e():
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
SYS_ptrace, SYS_pidfd_open, SYS_pidfd_getfd, SYS_pidfd_send_signal = 101, 434, 438, 424
PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SEIZE = 16, 17, 0x4206
for arg in sys.argv[1:]:
    name, spec = arg.split('=')
    pid = int(spec.split(':')[0])
    if pid == 0:
        pid = os.getppid()
        print('%s.pid=%d' % (name, pid))
    r = libc.syscall(SYS_ptrace, PTRACE_ATTACH, pid, 0, 0)
    print('%s.ptrace=%s' % (name, 'ok' if r == 0 else e()))
    if r == 0:
        libc.syscall(SYS_ptrace, PTRACE_DETACH, pid, 0, 0)
    r = libc.syscall(SYS_ptrace, PTRACE_SEIZE, pid, 0, 0)
    print('%s.seize=%s' % (name, 'ok' if r == 0 else e()))
    if r == 0:
        libc.syscall(SYS_ptrace, PTRACE_DETACH, pid, 0, 0)
    pfd = libc.syscall(SYS_pidfd_open, pid, 0)
    print('%s.pidfd=%s' % (name, 'ok' if pfd >= 0 else e()))
    if pfd >= 0:
        stolen = []
        for target in range(10):
            fd = libc.syscall(SYS_pidfd_getfd, int(pfd), target, 0)
            if fd >= 0:
                stolen.append('%d->%s' % (target, os.readlink('/proc/self/fd/%d' % fd)))
            else:
                stolen.append('%d:%s' % (target, e()))
        print('%s.getfd=%s' % (name, ' '.join(stolen)))
    for f in ('mem', 'environ', 'exe'):
        try:
            os.close(os.open('/proc/%d/%s' % (pid, f), os.O_RDONLY))
            print('%s.%s=ok' % (name, f))
        except OSError as x:
            print('%s.%s=%s' % (name, f, errno.errorcode[x.errno]))
    try:
        os.kill(pid, 0)
        print('%s.signal0=ok' % name)
    except OSError as x:
        print('%s.signal0=%s' % (name, errno.errorcode[x.errno]))
    if spec.endswith(':kill'):
        try:
            os.kill(pid, signal.SIGKILL)
            print('%s.kill=ok' % name)
        except OSError as x:
            print('%s.kill=%s' % (name, errno.errorcode[x.errno]))
        if pfd >= 0:
            r = libc.syscall(SYS_pidfd_send_signal, int(pfd), signal.SIGKILL, None, 0)
            print('%s.pidfd_kill=%s' % (name, 'ok' if r == 0 else e()))
print('END')
)PY";

// A host process of the SAME uid as the sandbox, outside it: with --unshare-pid its pid
// names nothing inside (ESRCH for every way to reach it), so it survives a SIGKILL attempt.
// Without --unshare-pid the kernel allows same-uid signals across user namespaces: that is
// documented (bwrap behaves the same; use --unshare-pid) and serves as the control showing
// the attack works when the target is reachable. Tracing it stays impossible even then: the
// command lives in a child user namespace (unprivileged) and ptrace needs CAP_SYS_PTRACE
// over the target's.
TEST_P(ProcEscapeModeTest, SameUidHostProcessUnreachableWithPidNamespace) {
  {
    HostSleep target(caller_uid(), caller_gid());
    ASSERT_TRUE(target.alive());
    std::string t = "host=" + std::to_string(target.pid()) + ":kill";
    auto r = run(with_root(cat({{"--unshare-pid", "--proc", "/proc"}, py(kTargetScript, {t})})),
                 opts());
    ASSERT_EQ(r.exit_code, 0) << r;
    auto m = key_values(r.out);
    EXPECT_TRUE(contains(r.out, "END")) << r;
    for (const char* k : {"host.ptrace", "host.seize", "host.pidfd", "host.signal0", "host.kill"})
      EXPECT_EQ(m[k], "ESRCH") << k << r;
    for (const char* k : {"host.mem", "host.environ", "host.exe"})
      EXPECT_EQ(m[k], "ENOENT") << k << r;
    EXPECT_TRUE(target.alive()) << "the host process was killed from inside" << r;
    // Peer: bwrap with the same options.
    if (have_bwrap()) {
      auto b = run(with_root(cat({{"--unshare-pid", "--proc", "/proc"}, py(kTargetScript, {t})})),
                   as_bwrap(opts()));
      EXPECT_EQ(key_values(b.out)["host.kill"], "ESRCH") << "bwrap" << b;
      EXPECT_TRUE(target.alive()) << "bwrap: killed from inside" << b;
    }
  }
  {
    // Control / documented behaviour: no PID namespace, the same attack reaches it.
    HostSleep target(caller_uid(), caller_gid());
    std::string t = "host=" + std::to_string(target.pid()) + ":kill";
    auto r = run(with_root(cat({{"--proc", "/proc"}, py(kTargetScript, {t})})), opts());
    ASSERT_EQ(r.exit_code, 0) << r;
    auto m = key_values(r.out);
    EXPECT_EQ(m["host.signal0"], "ok") << r;
    EXPECT_EQ(m["host.kill"], "ok") << r;
    EXPECT_TRUE(eventually([&] { return !target.alive(); }, 2s)) << "control: kill reached it";
    if (!as_root()) {
      EXPECT_EQ(m["host.ptrace"], "EPERM") << r;
      EXPECT_EQ(m["host.seize"], "EPERM") << r;
      EXPECT_EQ(m["host.mem"], "EACCES") << r;
      EXPECT_EQ(m["host.exe"], "EACCES") << r;
      EXPECT_FALSE(contains(m["host.getfd"], "->")) << "stole a descriptor" << r;
    }
  }
}

// A host process of another uid (root's): neither signals, nor ptrace, nor its /proc files,
// nor its descriptors, even with every capability inside the sandbox's user namespace
// (capabilities there mean nothing over the host's). A sandbox that ran the command with
// host privileges kills the process here.
TEST_F(ProcEscapeTest, HostRootProcessCannotBeKilledOrTraced) {
  IT_REQUIRE_ROOT();
  for (const Args& ids : {Args{}, uid0_all_caps()}) {
    SCOPED_TRACE(ids.empty() ? "default ids" : "uid 0 with every capability");
    HostSleep target(0, 0);
    ASSERT_TRUE(target.alive());
    std::string t = "host=" + std::to_string(target.pid()) + ":kill";
    auto r = run(with_root(cat({ids, {"--proc", "/proc"}, py(kTargetScript, {t})})), unpriv());
    ASSERT_EQ(r.exit_code, 0) << r;
    auto m = key_values(r.out);
    EXPECT_TRUE(contains(r.out, "END")) << r;
    for (const char* k : {"host.ptrace", "host.seize", "host.signal0", "host.kill",
                          "host.pidfd_kill"})
      EXPECT_EQ(m[k], "EPERM") << k << r;
    for (const char* k : {"host.mem", "host.environ", "host.exe"})
      EXPECT_EQ(m[k], "EACCES") << k << r;
    EXPECT_EQ(m["host.pidfd"], "ok") << "pidfd_open needs no permission" << r;
    EXPECT_FALSE(contains(m["host.getfd"], "->")) << "stole a descriptor" << r;
    EXPECT_TRUE(target.alive()) << r;
  }
  // Control: a command with host root's privileges (a root caller keeps them) gets through.
  HostSleep target(0, 0);
  std::string t = "host=" + std::to_string(target.pid()) + ":kill";
  auto c = run(with_root(cat({{"--proc", "/proc"}, py(kTargetScript, {t})})), {});
  auto m = key_values(c.out);
  EXPECT_EQ(m["host.ptrace"], "ok") << "control" << c;
  EXPECT_TRUE(contains(m["host.getfd"], "->")) << "control" << c;
  EXPECT_EQ(m["host.kill"], "ok") << "control" << c;
  EXPECT_TRUE(eventually([&] { return !target.alive(); }, 2s)) << "control";
}

// The supervisor stays outside the sandbox, unconfined, with the caller's uid: tracing it,
// reading its memory, re-opening its executable (CVE-2019-5736) or taking its descriptors
// with pidfd_getfd would all run code or reach files outside. Without --unshare-pid it is the
// command's parent; every route must be refused. A broken sandbox (command in the caller's
// own user namespace) prints ptrace=ok and getfd with stolen descriptors.
TEST_F(ProcEscapeTest, SupervisorCannotBeTracedOrRobbed) {
  // Control: the same script against an unconfined process of the same uid (what the
  // supervisor is to a command left in the caller's user namespace), run on the host as that
  // uid: every route works.
  {
    HostSleep target(unpriv_uid(), unpriv_gid());
    ASSERT_TRUE(target.alive());
    auto c = run({"-c", kTargetScript, "sup=" + std::to_string(target.pid())},
                 on_host(unpriv(), kPython));
    ASSERT_EQ(c.exit_code, 0) << "control" << c;
    auto m = key_values(c.out);
    EXPECT_EQ(m["sup.ptrace"], "ok") << "control" << c;
    for (const char* k : {"sup.mem", "sup.environ", "sup.exe"}) EXPECT_EQ(m[k], "ok") << k << c;
    EXPECT_TRUE(contains(m["sup.getfd"], "->")) << "control: pidfd_getfd works" << c;
  }
  // Peer: bwrap with the same options; its outer process is the command's parent there.
  if (have_bwrap()) {
    for (const Args& ids : {Args{}, uid0_all_caps()}) {
      auto b = run(with_root(cat({ids, {"--proc", "/proc"}, py(kTargetScript, {"sup=0"})})),
                   as_bwrap(unpriv()));
      ASSERT_EQ(b.exit_code, 0) << "bwrap" << b;
      auto m = key_values(b.out);
      EXPECT_EQ(m["sup.ptrace"], "EPERM") << "bwrap" << b;
      EXPECT_FALSE(contains(m["sup.getfd"], "->")) << "bwrap" << b;
      RecordProperty(std::string("bwrap_parent_files") + (ids.empty() ? "" : "_uid0"),
                     m["sup.mem"] + "," + m["sup.environ"] + "," + m["sup.exe"]);
    }
  }
  for (const Args& ids : {Args{}, uid0_all_caps()}) {
    SCOPED_TRACE(ids.empty() ? "default ids" : "uid 0 with every capability");
    auto p = spawn(with_root(cat({ids, {"--proc", "/proc"}, py(kTargetScript, {"sup=0"})})),
                   unpriv());
    const pid_t supervisor = p->pid();
    auto r = p->wait(10s);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto m = key_values(r.out);
    ASSERT_EQ(m["sup.pid"], std::to_string(supervisor)) << "the parent is the supervisor" << r;
    EXPECT_EQ(m["sup.ptrace"], "EPERM") << r;
    EXPECT_EQ(m["sup.seize"], "EPERM") << r;
    for (const char* k : {"sup.mem", "sup.environ", "sup.exe"}) EXPECT_EQ(m[k], "EACCES") << k << r;
    EXPECT_FALSE(contains(m["sup.getfd"], "->")) << "stole a descriptor of the supervisor" << r;
  }
}

// ---- 7. Listing host processes -----------------------------------------------------------

// With --unshare-pid and a fresh /proc, nothing of the host's processes (their command lines
// carry secrets often enough) is visible; without it they are (the control).
TEST_P(ProcEscapeModeTest, HostProcessesInvisibleWithPidNamespace) {
  IT_REQUIRE_FILE("/usr/bin/ps");
  HostSleep target(caller_uid(), caller_gid());
  const char* script =
      "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; echo; ps -eo pid,args; "
      "ls /proc | grep -c '^[0-9]'";
  auto r = run(with_root(cat({{"--unshare-pid", "--proc", "/proc", "--dev", "/dev"}, sh(script)})),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(contains(r.out, target.token())) << "host process visible inside" << r;
  EXPECT_TRUE(contains(r.out, "ps -eo pid,args")) << r;
  auto l = lines(trim(r.out));
  ASSERT_FALSE(l.empty());
  // init, sh, ps/cat/ls and grep: a handful, never the host's hundreds.
  EXPECT_LE(std::stoi(l.back()), 6) << r;

  auto control =
      run(with_root(cat({{"--proc", "/proc", "--dev", "/dev"}, sh(script)})), opts());
  ASSERT_EQ(control.exit_code, 0) << control;
  EXPECT_TRUE(contains(control.out, target.token())) << "control: visible without a PID namespace";
}

// ---- 9. setuid and file-capability binaries ----------------------------------------------

// Writes a version 2 security.capability xattr granting `cap` (permitted + effective).
bool set_file_cap(const std::string& path, int cap) {
  uint32_t data[5] = {0x02000000u | 0x1u /* VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE */,
                      1u << cap, 0, 0, 0};
  return ::setxattr(path.c_str(), "security.capability", data, sizeof data, 0) == 0;
}

// A setuid-root copy of id and a copy of cat with CAP_DAC_READ_SEARCH as a file capability,
// bound in every way (--bind, --ro-bind, --dev-bind, and through --ro-bind / /): run by the
// unprivileged uid they give nothing (binds are nosuid, and no_new_privs is set), so id
// prints the caller's uid and cat cannot read /etc/shadow. The control runs them on the host
// first to show they do work there (euid 0, shadow readable). Models any setuid-helper
// privilege escalation reached from a sandbox (e.g. CVE-2021-4034, pkexec).
TEST_F(ProcEscapeTest, SetuidAndFileCapabilityBinariesGiveNothing) {
  IT_REQUIRE_ROOT();
  IT_REQUIRE_FILE("/usr/bin/id");
  const std::string shadow = host_shadow();
  ASSERT_FALSE(secret_lines(shadow).empty());
  TempDir d(0755);
  namespace fs = std::filesystem;
  fs::copy_file("/usr/bin/id", d / "id");
  fs::copy_file("/usr/bin/cat", d / "capcat");
  ASSERT_EQ(::chown((d / "id").c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod((d / "id").c_str(), 04755), 0);
  ASSERT_EQ(::chmod((d / "capcat").c_str(), 0755), 0);
  ASSERT_TRUE(set_file_cap(d / "capcat", 2 /* CAP_DAC_READ_SEARCH */)) << std::strerror(errno);

  const std::string uid = std::to_string(unpriv_uid());
  struct Case {
    std::string name;
    Args flags;
    std::string dir;
  };
  const std::vector<Case> cases = {
      {"--bind", with_root({"--bind", d.path(), "/s", "--ro-bind", "/etc", "/etc"}), "/s"},
      {"--ro-bind", with_root({"--ro-bind", d.path(), "/s", "--ro-bind", "/etc", "/etc"}), "/s"},
      {"--dev-bind", with_root({"--dev-bind", d.path(), "/s", "--ro-bind", "/etc", "/etc"}),
       "/s"},
      {"--ro-bind / /", {"--ro-bind", "/", "/"}, d.path()},
  };
  const char* script = R"SH(
echo euid=$("$1"/id -u)
echo ruid=$("$1"/id -ru)
"$1"/capcat /etc/shadow; echo capcat-rc=$?
grep NoNewPrivs /proc/self/status | tr -d ' \t'
echo mount-opts=$(grep " $1 " /proc/self/mountinfo | cut -d' ' -f6)
)SH";
  // Control: the same script on the host, as the unprivileged uid: both binaries work.
  {
    auto c = run({"-c", script, "sh", d.path()}, on_host(unpriv(), "/bin/sh"));
    ASSERT_EQ(c.exit_code, 0) << "control" << c;
    auto m = key_values(c.out);
    ASSERT_EQ(m["euid"], "0") << "control: the setuid copy gives euid 0 on the host" << c;
    ASSERT_EQ(m["ruid"], uid) << "control" << c;
    ASSERT_EQ(m["capcat-rc"], "0") << "control: the file capability works on the host" << c;
    ASSERT_TRUE(leaks(c, shadow)) << "control" << c;
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = run(cat({c.flags, {"--proc", "/proc"}, sh_args(script, {c.dir})}), unpriv());
    ASSERT_EQ(r.exit_code, 0) << r;
    auto m = key_values(r.out);
    EXPECT_EQ(m["euid"], uid) << "setuid bit honoured inside" << r;
    EXPECT_EQ(m["ruid"], uid) << r;
    EXPECT_NE(m["capcat-rc"], "0") << r;
    EXPECT_FALSE(leaks(r, shadow)) << "file capability honoured inside" << r;
    EXPECT_TRUE(contains(r.out, "NoNewPrivs:1")) << r;
    if (c.dir == "/s") {
      EXPECT_TRUE(contains(m["mount-opts"], "nosuid")) << "binds are nosuid" << r;
    }
  }
}

// ---- 10. Descriptors of the caller and of the sandbox itself ------------------------------

// The caller holds a root-only secret open with O_CLOEXEC (fd 10) and passes another file
// without it (fd 11). Inside, only 0, 1, 2, the passed fd 11 and the listing's own
// descriptor exist: not fd 10 (it must close on exec, as any descriptor a caller did not mean
// to pass), not the sandbox's channel socket, signalfd, pidfds or staging descriptors
// (/proc/self/fd/N of a leaked staging directory is the classic way out of a chroot; see
// CVE-2024-21626, runc's leaked /sys/fs/cgroup fd). With --unshare-pid the sandbox's init
// holds no descriptor at all.
const char* kFdScript = R"PY(
import errno, os, sys
def err(x):
    return errno.errorcode[x.errno]
print('fds=' + ','.join(sorted(os.listdir('/proc/self/fd'), key=int)))
try:
    print('read10=' + os.read(10, 4096).decode('latin-1'))
except OSError as x:
    print('read10=' + err(x))
try:
    print('proc10=' + open('/proc/self/fd/10').read())
except OSError as x:
    print('proc10=' + err(x))
print('read11=' + os.read(11, 4096).decode('latin-1').strip())
if 'pidns' in sys.argv[1:]:
    try:
        print('init-fds=' + ','.join(sorted(os.listdir('/proc/1/fd'))))
    except OSError as x:
        print('init-fds=' + err(x))
if 'parent' in sys.argv[1:]:
    # The supervisor's descriptor numbers can be listed (same uid), but none of them may be
    # opened or resolved: that needs ptrace access to the supervisor.
    base = '/proc/%d/fd/' % os.getppid()
    got = []
    for fd in sorted(os.listdir(base), key=int):
        for what, f in (('open', lambda p: os.close(os.open(p, os.O_RDONLY))),
                        ('readlink', os.readlink)):
            try:
                got.append('%s %s -> %s' % (what, fd, f(base + fd)))
            except OSError as x:
                got.append('%s %s %s' % (what, fd, err(x)))
    print('parent-fds=' + '; '.join(got))
)PY";

TEST_P(ProcEscapeModeTest, OnlyPassedDescriptorsReachTheCommand) {
  IT_REQUIRE_ROOT();  // the secret is root's, opened before the caller drops privileges
  TempDir secret_dir(0700);
  const std::string secret = "cloexec-secret-" + unique_suffix();
  write_file(secret_dir / "secret", secret + "\n", 0600);
  TempDir pass_dir(0755);
  write_file(pass_dir / "passed", "passed-content\n", 0644);
  const std::string secret_path = secret_dir / "secret", passed_path = pass_dir / "passed";
  // Controls: the same script reads fd 10 when the caller passes it without O_CLOEXEC (the
  // descriptor then reaches the command, as with bwrap), and opens the descriptors of an
  // unconfined same-uid parent (a shell on the host, run as the caller).
  {
    RunOpts o = opts();
    o.in_child = [secret_path, passed_path] {
      int s = ::open(secret_path.c_str(), O_RDONLY);
      if (s < 0 || ::dup2(s, 10) != 10) return false;
      ::close(s);
      int p = ::open(passed_path.c_str(), O_RDONLY);
      if (p < 0 || ::dup2(p, 11) != 11) return false;
      ::close(p);
      return true;
    };
    auto c = run(with_root(cat({{"--proc", "/proc"}, py(kFdScript)})), o);
    ASSERT_EQ(c.exit_code, 0) << "control" << c;
    EXPECT_EQ(key_values(c.out)["read10"], secret) << "control: a passed fd 10 is read" << c;
    RunOpts ho = on_host(opts(), "/bin/sh");
    ho.in_child = [passed_path] {
      int p = ::open(passed_path.c_str(), O_RDONLY);
      if (p < 0 || ::dup2(p, 11) != 11) return false;
      ::close(p);
      return true;
    };
    auto h = run({"-c", "\"$1\" -c \"$2\" parent; exit $?", "sh", kPython, kFdScript}, ho);
    ASSERT_EQ(h.exit_code, 0) << "control" << h;
    EXPECT_TRUE(contains(key_values(h.out)["parent-fds"], "open 0 -> ")) << "control" << h;
  }
  for (const Args& flags : {Args{}, Args{"--unshare-pid"}}) {
    SCOPED_TRACE(flags.empty() ? "no PID namespace" : "--unshare-pid");
    RunOpts o = opts();
    o.in_child = [secret_path, passed_path] {
      int s = ::open(secret_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (s < 0 || ::dup3(s, 10, O_CLOEXEC) != 10) return false;
      ::close(s);
      int p = ::open(passed_path.c_str(), O_RDONLY);
      if (p < 0 || ::dup2(p, 11) != 11) return false;  // dup2: without FD_CLOEXEC
      ::close(p);
      return true;
    };
    Args script_args;
    if (!flags.empty()) script_args.push_back("pidns");
    if (flags.empty() && !as_root()) script_args.push_back("parent");
    auto r = run(with_root(cat({flags, {"--proc", "/proc"}, py(kFdScript, script_args)})), o);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto m = key_values(r.out);
    // 3 is the directory python lists /proc/self/fd with.
    EXPECT_EQ(m["fds"], "0,1,2,3,11") << "unexpected descriptors inside" << r;
    EXPECT_EQ(m["read10"], "EBADF") << r;
    EXPECT_EQ(m["proc10"], "ENOENT") << r;
    EXPECT_EQ(m["read11"], "passed-content") << "passed descriptors do reach the command" << r;
    EXPECT_FALSE(contains(r.out, secret)) << r;
    EXPECT_FALSE(contains(r.err, secret)) << r;
    if (!flags.empty()) {
      // Non-dumpable: the command cannot even list them (issue 13.1).
      // (Root owns a non-dumpable process's /proc files and may list them: none.)
      EXPECT_EQ(m["init-fds"], as_root() ? "" : "EACCES") << "init holds descriptors" << r;
    }
    if (flags.empty() && !as_root()) {
      EXPECT_TRUE(contains(m["parent-fds"], "open 0 EACCES")) << r;
      EXPECT_FALSE(contains(m["parent-fds"], "->")) << "the supervisor's descriptors" << r;
    }
  }
}

// ---- The sandbox binary, kernel knobs, user namespaces ------------------------------------

// CVE-2019-5736 (runc): the contained process re-opened the runtime's binary through
// /proc/PID/exe and overwrote it, so that the next run executed the attacker's code on the
// host. Here, with --unshare-pid, pid 1 inside is a fork of the sandbox binary and the command
// may look at it (same uid, same user namespace); the binary is owned by the caller (a
// per-user install), so only the kernel's "text busy" protection, held by the supervisor and
// init for the sandbox's whole lifetime (nothing survives init in the PID namespace), keeps
// it intact. A sandbox whose init exec'd something else and whose supervisor exited early
// would print WROTE and leave a modified binary.
TEST_F(ProcEscapeTest, SandboxBinaryCannotBeOverwrittenThroughProcExe) {
  IT_REQUIRE_ROOT();  // to give the caller its own copy
  namespace fs = std::filesystem;
  TempDir d(0755);
  const std::string dir = d / "bin", bin = d / "bin/sandbox";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  fs::copy_file(sandbox_path(), bin);
  ASSERT_EQ(::chown(dir.c_str(), unpriv_uid(), unpriv_gid()), 0);
  ASSERT_EQ(::chown(bin.c_str(), unpriv_uid(), unpriv_gid()), 0);
  ASSERT_EQ(::chmod(bin.c_str(), 0755), 0);
  const std::string before = read_file(bin);
  // argv[1]: the target pid (default 1); argv[2] == "wait-gone": after taking the O_PATH
  // descriptor, wait until the target has exited (the runtime gone, its binary no longer
  // being executed) before re-opening it, as the CVE-2019-5736 exploit did.
  const char* script = R"PY(
import errno, os, sys, time
target = sys.argv[1] if len(sys.argv) > 1 else '1'
exe = '/proc/%s/exe' % target
res = []
def attempt(name, path, flags):
    try:
        fd = os.open(path, flags)
        os.write(fd, b'#!/bin/sh\necho PWNED\n')
        res.append(name + '=WROTE')
    except OSError as e:
        res.append(name + '=' + errno.errorcode[e.errno])
# pid 1 is non-dumpable inside the sandbox (issue 13.1): even looking may be refused.
try:
    print('exe=' + os.readlink(exe), flush=True)
except OSError as e:
    print('exe=' + errno.errorcode[e.errno], flush=True)
attempt('wronly', exe, os.O_WRONLY)
attempt('append', exe, os.O_WRONLY | os.O_APPEND)
attempt('trunc', exe, os.O_RDWR | os.O_TRUNC)
try:
    p = os.open(exe, os.O_PATH)
except OSError as e:
    p = None
    res.append('reopen=' + errno.errorcode[e.errno])
if sys.argv[2:] == ['wait-gone']:
    print('HELD', flush=True)
    for _ in range(500):
        if not os.path.exists('/proc/' + target):
            break
        time.sleep(0.02)
if p is not None:
    attempt('reopen', '/proc/self/fd/%d' % p, os.O_WRONLY)
print('RESULT ' + ' '.join(res))
)PY";
  // Control: the same script on the host, as the same uid, against a process running a
  // scratch copy of sleep owned by that uid: while it runs the kernel refuses (text busy);
  // once it is gone, the descriptor taken through /proc/PID/exe writes the binary.
  {
    const std::string victim = dir + "/sleep-copy";
    fs::copy_file("/bin/sleep", victim);
    ASSERT_EQ(::chown(victim.c_str(), unpriv_uid(), unpriv_gid()), 0);
    ASSERT_EQ(::chmod(victim.c_str(), 0755), 0);
    HostSleep target(unpriv_uid(), unpriv_gid(), victim);
    ASSERT_TRUE(target.alive());
    auto c = spawn({"-c", script, std::to_string(target.pid()), "wait-gone"},
                   on_host(unpriv(), kPython));
    ASSERT_TRUE(c->wait_for_stdout("HELD\n")) << c->wait(1s);
    target.kill();
    auto r = c->wait(10s);
    ASSERT_EQ(r.exit_code, 0) << "control" << r;
    EXPECT_TRUE(contains(r.out, "exe=" + victim)) << "control" << r;
    EXPECT_TRUE(contains(r.out, "wronly=ETXTBSY")) << "control: busy while it runs" << r;
    EXPECT_TRUE(contains(r.out, "reopen=WROTE")) << "control: the way in" << r;
    EXPECT_EQ(read_file(victim).rfind("#!/bin/sh\necho PWNED\n", 0), 0u) << "control";
  }
  RunOpts o = unpriv();
  o.exe = bin;
  auto r = run(with_root(cat({{"--unshare-pid", "--proc", "/proc"}, py(script)})), o);
  ASSERT_EQ(r.exit_code, 0) << r;
  // pid 1 is the sandbox binary; non-dumpable, it does not even show it (issue 13.1).
  EXPECT_TRUE(contains(r.out, "exe=" + bin) || contains(r.out, "exe=EACCES")) << r;
  EXPECT_TRUE(contains(r.out, "RESULT ")) << r;
  EXPECT_FALSE(contains(r.out, "WROTE")) << r;
  EXPECT_TRUE(read_file(bin) == before) << "the sandbox binary was modified";
}

// Host-wide kernel knobs under /proc (sys, irq, bus) cannot be written inside, so a command
// running as uid 0 without capabilities (a root caller's --cap-drop ALL) cannot rewrite
// kernel.core_pattern: "|/path" there runs a program as host root on the next crash, the
// classic escape from privileged containers. Each attempt writes back the current value, so
// even a broken sandbox changes nothing. Where the host's root is mapped (a root caller)
// they are covered read-only; where it is not (an unprivileged caller, even with every
// capability in its user namespace) the kernel already refuses, and they stay uncovered so
// that nested procfs mounts work (issue 13.3): a fresh proc mounted elsewhere is possible,
// and its knobs stay unwritable all the same.
TEST_P(ProcEscapeModeTest, HostKernelKnobsStayReadOnly) {
  const char* script = R"SH(
try() { v=$(cat "$1") && printf '%s\n' "$v" > "$1" && echo "BROKE wrote $1"; }
try /proc/sys/kernel/core_pattern
try /proc/sys/kernel/hostname
try /proc/irq/default_smp_affinity
if mount -t proc proc /mnt 2>/dev/null; then
  echo MOUNTED-NEW-PROC
  try /mnt/sys/kernel/core_pattern
  try /mnt/irq/default_smp_affinity
fi
echo ro-mounts=$(grep -E ' /proc/(sys|irq|bus) ' /proc/self/mountinfo | cut -d' ' -f5,6 | grep -c ' ro,')
echo END
)SH";
  std::vector<Args> variants;
  if (as_root()) {
    // The last: host root mapped as uid 1000 inside, so the command is the host's root
    // without capabilities, and the owner of every knob. bwrap judges its covers with
    // access(2) as the sandbox's uid and leaves them off there (its command then rewrites
    // core_pattern); ours cover wherever the knobs' owner is mapped.
    variants = {{"--cap-drop", "ALL"}, {"--cap-drop", "ALL", "--unshare-pid"},
                {"--unshare-user", "--uid", "1000", "--gid", "1000", "--unshare-pid"}};
  } else {
    variants = {{}, {"--unshare-pid"}, cat({{"--unshare-pid"}, uid0_all_caps()})};
  }
  const std::string core_pattern = read_file("/proc/sys/kernel/core_pattern");
  // Control (needs the tests to run as root, in both modes): the same script as uid 0
  // without capabilities, outside any sandbox, does write the knob (it writes back the
  // current value), so a sandbox that left /proc/sys writable would print BROKE.
  if (is_root() && exists("/usr/bin/setpriv")) {
    auto c = run({"--bounding-set", "-all", "--inh-caps", "-all", "sh", "-c",
                  std::string("grep CapEff /proc/self/status\n") + script},
                 on_host({}, "/usr/bin/setpriv"));
    EXPECT_TRUE(contains(c.out, "CapEff:\t0000000000000000")) << "control" << c;
    EXPECT_TRUE(contains(c.out, "BROKE wrote /proc/sys/kernel/core_pattern")) << "control" << c;
    EXPECT_FALSE(contains(c.out, "MOUNTED-NEW-PROC")) << "control" << c;
    EXPECT_EQ(read_file("/proc/sys/kernel/core_pattern"), core_pattern);
  }
  int knobs = 0;
  for (const char* d : {"/proc/sys", "/proc/irq", "/proc/bus"}) knobs += exists(d) ? 1 : 0;
  for (const Args& flags : variants) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    auto r = run(with_root(cat({flags, {"--proc", "/proc", "--dev", "/dev", "--dir", "/mnt"},
                                sh(script)})),
                 opts());
    EXPECT_TRUE(contains(r.out, "END")) << r;
    EXPECT_FALSE(contains(r.out, "BROKE")) << r;
    EXPECT_EQ(key_values(r.out)["ro-mounts"], std::to_string(as_root() ? knobs : 0)) << r;
    if (flags.size() > 1 && !as_root()) {
      EXPECT_TRUE(contains(r.out, "MOUNTED-NEW-PROC")) << "the fresh proc attack ran" << r;
    }
  }
  EXPECT_EQ(read_file("/proc/sys/kernel/core_pattern"), core_pattern);
}

// --disable-userns: the command (even with every capability inside) cannot create a user
// namespace, the entry point of most unprivileged kernel exploits (e.g. CVE-2022-0185), and
// cannot lift the limit: user.max_user_namespaces is per user namespace, so what it may
// write is its own (nested) namespace's value, while the outer one's limit of 1, already
// used, still counts for every namespace below it. Control: without it, it can.
TEST_F(ProcEscapeTest, DisableUsernsCannotBeUndone) {
  IT_REQUIRE_FILE("/usr/bin/unshare");
  const char* script = R"SH(
unshare -U true && echo "BROKE unshare -U"
unshare -Urm true && echo "BROKE unshare -Urm"
python3 -c 'import ctypes,sys; l=ctypes.CDLL(None, use_errno=True); sys.exit(0 if l.unshare(0x10000000) == 0 else 1)' && echo "BROKE unshare(2)"
echo 1000 > /proc/sys/user/max_user_namespaces 2>/dev/null && echo "wrote sysctl"
mkdir -p /tmp/p && mount -t proc proc /tmp/p 2>/dev/null && echo 1000 > /tmp/p/sys/user/max_user_namespaces 2>/dev/null && echo "wrote sysctl through a new proc"
unshare -U true && echo "BROKE unshare -U after"
python3 -c 'import ctypes,sys; l=ctypes.CDLL(None, use_errno=True); sys.exit(0 if l.unshare(0x10000000) == 0 else 1)' && echo "BROKE unshare(2) after"
echo END
)SH";
  for (const Args& ids : {Args{}, uid0_all_caps()}) {
    SCOPED_TRACE(ids.empty() ? "default ids" : "uid 0 with every capability");
    auto r = run(with_root(cat({{"--unshare-user", "--disable-userns", "--unshare-pid", "--proc",
                                 "/proc", "--tmpfs", "/tmp"},
                                ids, sh(script)})),
                 unpriv());
    EXPECT_TRUE(contains(r.out, "END")) << r;
    EXPECT_FALSE(contains(r.out, "BROKE")) << r;
  }
  // Control: the same script without --disable-userns creates user namespaces.
  auto c = run(with_root(cat({{"--unshare-user", "--unshare-pid", "--proc", "/proc", "--tmpfs",
                               "/tmp"},
                              sh(script)})),
               unpriv());
  EXPECT_TRUE(contains(c.out, "BROKE unshare -U\n")) << "control" << c;
  EXPECT_TRUE(contains(c.out, "BROKE unshare(2)\n")) << "control" << c;
  // Peer: bwrap's --disable-userns with the same options.
  if (have_bwrap()) {
    auto b = run(with_root(cat({{"--unshare-user", "--disable-userns", "--unshare-pid", "--proc",
                                 "/proc", "--tmpfs", "/tmp"},
                                sh(script)})),
                 as_bwrap(unpriv()));
    EXPECT_TRUE(contains(b.out, "END")) << "bwrap" << b;
    EXPECT_FALSE(contains(b.out, "BROKE")) << "bwrap" << b;
  }
}

// ---- 13. The caller's session keyring ----------------------------------------------------

// Runs as the caller (python3 as the harness's executable): joins a fresh named session
// keyring, adds a "user" key holding the secret, runs the attack once as a plain child
// (the control: it can read the key), then execs the sandbox, which runs the same attack.
const char* kKeyringDriver = R"PY(
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
tok = os.environ['SBTOKEN']
ses = libc.syscall(250, 1, ('sbtest-ses-' + tok).encode())  # KEYCTL_JOIN_SESSION_KEYRING
if ses < 0:
    print('DRIVER join failed', ctypes.get_errno()); sys.exit(3)
secret = ('sbsecret-' + tok).encode()
kid = libc.syscall(248, b'user', ('sbtest-' + tok).encode(), secret, len(secret), -3)  # add_key @s
if kid < 0:
    print('DRIVER add_key failed', ctypes.get_errno()); sys.exit(3)
os.environ['SBKEY'] = str(kid)
r = subprocess.run([sys.executable, '-c', sys.argv[-1]], capture_output=True, text=True)
print('CONTROL ' + r.stdout.replace('\n', ' '), flush=True)
print('=== SANDBOX', flush=True)
os.execv(sys.argv[1], sys.argv[1:])
)PY";

// KEYCTL_READ of the key by id, KEYCTL_SEARCH of @s, request_key, KEYCTL_LINK into @s, and
// joining the caller's session keyring by name.
const char* kKeyringAttack = R"PY(
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
tok, kid = os.environ['SBTOKEN'], int(os.environ['SBKEY'])
desc = ('sbtest-' + tok).encode()
def e():
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
def read(k):
    buf = ctypes.create_string_buffer(256)
    n = libc.syscall(250, 11, k, buf, 256)  # KEYCTL_READ
    return buf.raw[:n].decode('latin-1') if n >= 0 else e()
print('read=' + read(kid))
s = libc.syscall(250, 10, -3, b'user', desc, 0)  # KEYCTL_SEARCH @s
print('search=' + ('found:' + read(s) if s >= 0 else e()))
s = libc.syscall(249, b'user', desc, None, 0)  # request_key
print('request=' + ('found:' + read(s) if s >= 0 else e()))
print('link=' + ('ok' if libc.syscall(250, 8, kid, -3) == 0 else e()))  # KEYCTL_LINK
print('read-after-link=' + read(kid))
j = libc.syscall(250, 1, ('sbtest-ses-' + tok).encode())
print('join=' + ('ok' if j >= 0 else e()))
s = libc.syscall(250, 10, -3, b'user', desc, 0)
print('search-after-join=' + ('found:' + read(s) if s >= 0 else e()))
)PY";

// The key in the caller's session keyring must be unreachable: the sandbox joins a fresh
// anonymous session keyring (bwrap does not, and leaks the caller's keys: e.g. Kerberos or
// ecryptfs keys kept in the session keyring). A sandbox sharing the keyring prints the
// secret (read=sbsecret-...) after "=== SANDBOX".
TEST_P(ProcEscapeModeTest, CallerSessionKeyringIsUnreachable) {
  const std::string tok = unique_suffix();
  RunOpts o = opts();
  o.exe = kPython;
  o.env = {"SBTOKEN=" + tok};
  Args args = {"-c", kKeyringDriver, sandbox_path()};
  Args inner = with_root(py(kKeyringAttack));
  args.insert(args.end(), inner.begin(), inner.end());
  auto r = run(args, o);
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string secret = "sbsecret-" + tok;
  auto sep = r.out.find("=== SANDBOX\n");
  ASSERT_NE(sep, std::string::npos) << r;
  const std::string control = r.out.substr(0, sep), inside = r.out.substr(sep);
  ASSERT_TRUE(contains(control, "read=" + secret)) << "control: the caller can read its key" << r;
  EXPECT_FALSE(contains(inside, secret)) << "the caller's session key is readable inside" << r;
  auto m = key_values(inside);
  EXPECT_NE(m["read"], "") << r;
  EXPECT_EQ(m["search"], "ENOKEY") << r;
  EXPECT_EQ(m["request"], "ENOKEY") << r;
  EXPECT_NE(m["link"], "ok") << r;
}

}  // namespace
}  // namespace it
