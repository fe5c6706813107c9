// Escapes through the sandbox's own processes and descriptors rather than the command's:
// its init (pid 1 with --unshare-pid), its setup child seen from a joined namespace, the
// procfs it mounts, and the descriptors options hand it. Each process the sandbox leaves in
// its namespaces must be at least as confined as the command (issue 13).
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "escape.hpp"

namespace it {
namespace {

class SandboxProcessTest : public SandboxTest {};
class SandboxProcessModeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, SandboxProcessModeTest, ::testing::Bool(), mode_name);

const std::string kBwrap = "/usr/bin/bwrap";

// What a process can do to the process `argv[1]`: open its memory for writing (to plant
// code) and PTRACE_ATTACH. The start of the probes below.
const std::string kAccessProbe = R"PY(
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def e():
    return errno.errorcode.get(ctypes.get_errno(), '?')
pid = int(sys.argv[1])
try:
    os.close(os.open('/proc/%d/mem' % pid, os.O_RDWR))
    print('mem=ok')
except OSError as x:
    print('mem=' + errno.errorcode[x.errno])
r = libc.syscall(101, 16, pid, 0, 0)  # ptrace(PTRACE_ATTACH)
print('attach=' + ('ok' if r == 0 else e()))
if r == 0:
    os.waitpid(pid, 0x40000000)
    libc.syscall(101, 17, pid, 0, 0)  # PTRACE_DETACH
)PY";

// What a process of the same uid can do to the process `argv[1]` (pid 1 inside a sandbox):
// kAccessProbe, list its descriptors, and what its /proc/PID/status says about its
// confinement.
const std::string kInitProbe = kAccessProbe + R"PY(
try:
    print('fds=' + ','.join(sorted(os.listdir('/proc/%d/fd' % pid))))
except OSError as x:
    print('fds=' + errno.errorcode[x.errno])
for line in open('/proc/%d/status' % pid):
    k, _, v = line.partition(':')
    if k in ('NoNewPrivs', 'Seccomp', 'CapEff', 'CapPrm', 'CapBnd'):
        print('%s=%s' % (k, v.strip()))
print('END')
)PY";

// A plain process of the caller's uid outside any sandbox, as the control target: python
// forks a sleeping child and runs the probe against it.
const char* kPlainTarget = R"PY(
import os, subprocess, sys
child = subprocess.Popen(['sleep', '30'])
subprocess.run([sys.executable, '-c', sys.argv[1], str(child.pid)])
child.kill()
)PY";

// Writes `sandbox seccomp-compile default` to `file` (the same program for bwrap's --seccomp).
void compile_default(const std::string& file) {
  auto c = run({"seccomp-compile", "default"}, unpriv());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_FALSE(c.out.empty());
  write_file(file, c.out, 0644);
}

// RunOpts with `file` open on descriptor 9 (no O_CLOEXEC), as `--seccomp 9` wants it.
RunOpts with_fd9(RunOpts o, const std::string& file) {
  o.in_child = [file] {
    int fd = ::open(file.c_str(), O_RDONLY);
    return fd >= 0 && ::dup2(fd, 9) == 9;
  };
  return o;
}

// Issue 13.1: pid 1 shares the command's uid and user namespace. Unconfined, the command
// wrote code into /proc/1/mem and ran it as pid 1 outside its seccomp filter. Now init is
// non-dumpable (no /proc/1/mem, no ptrace, no /proc/1/fd), has no capabilities, has
// no_new_privs and the command's filter. Controls: the same probe against a plain process
// of the same uid works; against bwrap's pid 1 under the same options it shows bwrap's
// init (dumpable, but filtered): the sandbox must never be weaker.
TEST_P(SandboxProcessModeTest, InitIsConfinedBeforeTheCommandRuns) {
  TempDir dir(0755);
  compile_default(dir / "default.bpf");
  RunOpts plain = opts();
  plain.exe = kPython;
  auto c = run({"-c", kPlainTarget, kInitProbe}, plain);
  auto cm = key_values(c.out);
  ASSERT_TRUE(contains(c.out, "END")) << c;
  EXPECT_EQ(cm["mem"], "ok") << "control: a plain process of the same uid is open" << c;
  EXPECT_EQ(cm["attach"], "ok") << "control" << c;

  const Args drop = as_root() ? Args{"--cap-drop", "ALL"} : Args{};
  for (bool filter : {true, false}) {
    SCOPED_TRACE(filter ? "with a seccomp filter" : "without a filter");
    Args flags = cat({drop, {"--unshare-pid", "--proc", "/proc"}});
    if (filter) flags.insert(flags.end(), {"--seccomp", "9"});
    auto r = run(with_root(cat({flags, py(kInitProbe, {"1"})})), with_fd9(opts(), dir / "default.bpf"));
    ASSERT_EQ(r.exit_code, 0) << r;
    auto m = key_values(r.out);
    ASSERT_TRUE(contains(r.out, "END")) << r;
    EXPECT_EQ(m["mem"], "EACCES") << "/proc/1/mem is writable from inside" << r;
    EXPECT_EQ(m["attach"], "EPERM") << "pid 1 can be traced from inside" << r;
    // Root (uid 0 owns a non-dumpable process's /proc files) may list them: there are none.
    EXPECT_EQ(m["fds"], as_root() ? "" : "EACCES") << r;
    EXPECT_EQ(m["NoNewPrivs"], "1") << r;
    EXPECT_EQ(m["Seccomp"], filter ? "2" : "0") << r;
    for (const char* k : {"CapEff", "CapPrm", "CapBnd"})
      EXPECT_EQ(m[k], "0000000000000000") << k << r;

    if (!exists(kBwrap)) continue;
    RunOpts bo = with_fd9(opts(), dir / "default.bpf");
    bo.exe = kBwrap;
    auto b = run(cat({base_root(), flags, py(kInitProbe, {"1"})}), bo);
    ASSERT_EQ(b.exit_code, 0) << b;
    auto bm = key_values(b.out);
    RecordProperty(filter ? "bwrap_filtered" : "bwrap", b.out);
    // Never weaker than bwrap: whatever works against our init works against bwrap's.
    for (const char* k : {"mem", "attach"})
      if (m[k] == "ok") {
        EXPECT_EQ(bm[k], "ok") << k << r << b;
      }
    if (filter) {
      EXPECT_EQ(bm["Seccomp"], "2") << b;
    }
  }
}

// Issue 13.1, its last gap: a caller told pid 1's pid (--info-fd, --json-status-fd) opens
// its /proc/PID/ns/* (flatpak enter, a second sandbox joining with --userns/--pidns), yet
// init stays non-dumpable: in a user namespace the sandbox made, init is exec'd there, so
// its mm belongs to it; the caller (its owner) holds every capability there, the command
// none. The driver, run as the caller, reads child-pid and opens the namespaces while the
// command probes pid 1. Control: bwrap's init under the same options lets the caller in
// too, and is open to the command.
const char* kInfoDriver = R"PY(
import errno, json, os, subprocess, sys
r, w = os.pipe()
r2, w2 = os.dup(r), os.dup(w)  # off 5, wherever the pipe landed
os.close(r); os.close(w)
r = os.dup2(r2, 30) or 30
os.dup2(w2, 5)
os.close(r2); os.close(w2)
fds = [5] + ([9] if os.path.exists('/proc/self/fd/9') else [])
p = subprocess.Popen(sys.argv[1:], pass_fds=fds)
os.close(5)
buf, info = b'', None
while info is None:
    chunk = os.read(r, 4096)
    if not chunk:
        print('caller_info=none', flush=True); sys.exit(p.wait())
    buf += chunk
    try:
        info = json.loads(buf)
    except ValueError:
        pass
pid = info['child-pid']
for ns in ('user', 'pid', 'net', 'mnt'):
    try:
        os.close(os.open('/proc/%d/ns/%s' % (pid, ns), os.O_RDONLY))
        print('caller_%s=ok' % ns, flush=True)
    except OSError as x:
        print('caller_%s=%s' % (ns, errno.errorcode[x.errno]), flush=True)
sys.exit(p.wait())
)PY";

TEST_P(SandboxProcessModeTest, InitToldToTheCallerStaysConfined) {
  TempDir dir(0755);
  compile_default(dir / "default.bpf");
  const Args probe = {"--", kPython, "-c", kInitProbe + "import time; time.sleep(1)\n",
                      "1"};
  std::vector<Args> variants = {{}};
  if (as_root()) variants = {{"--cap-drop", "ALL"}, {"--cap-drop", "ALL", "--unshare-user"}};
  for (const Args& extra : variants) {
    for (const char* info : {"--info-fd", "--json-status-fd"}) {
      SCOPED_TRACE(::testing::PrintToString(extra) + " " + info);
      Args flags = cat({extra, {"--unshare-pid", "--unshare-net", "--proc", "/proc", "--seccomp",
                                "9", info, "5"}});
      RunOpts o = with_fd9(opts(), dir / "default.bpf");
      o.exe = kPython;
      auto r = run(cat({{"-c", kInfoDriver, sandbox_path()}, with_root(cat({flags, probe}))}), o);
      ASSERT_EQ(r.exit_code, 0) << r;
      auto m = key_values(r.out);
      ASSERT_TRUE(contains(r.out, "END")) << r;
      for (const char* ns : {"user", "pid", "net", "mnt"})
        EXPECT_EQ(m[std::string("caller_") + ns], "ok") << "the caller can't open ns/" << ns << r;
      EXPECT_EQ(m["mem"], "EACCES") << "/proc/1/mem is writable from inside" << r;
      EXPECT_EQ(m["attach"], "EPERM") << "pid 1 can be traced from inside" << r;
      EXPECT_EQ(m["NoNewPrivs"], "1") << r;
      EXPECT_EQ(m["Seccomp"], "2") << r;
      for (const char* k : {"CapEff", "CapPrm", "CapBnd"})
        EXPECT_EQ(m[k], "0000000000000000") << k << r;

      if (!exists(kBwrap) || std::string(info) != "--info-fd") continue;
      RunOpts bo = with_fd9(opts(), dir / "default.bpf");
      bo.exe = kPython;
      auto b = run(cat({{"-c", kInfoDriver, kBwrap}, base_root(), flags, probe}), bo);
      ASSERT_EQ(b.exit_code, 0) << b;
      auto bm = key_values(b.out);
      RecordProperty("bwrap", b.out);
      for (const char* ns : {"user", "pid", "net", "mnt"})
        EXPECT_EQ(bm[std::string("caller_") + ns], "ok") << "control: bwrap's caller" << b;
      // Never weaker than bwrap: whatever works against our init works against bwrap's.
      for (const char* k : {"mem", "attach"})
        if (m[k] == "ok") {
          EXPECT_EQ(bm[k], "ok") << k << r << b;
        }
    }
  }
}

// Issue 13.1: the injection itself, as reported. The command opens /proc/1/mem for writing
// (a plain open, which no profile filters), plants code where pid 1 returns from its
// sigwaitinfo (the address /proc/1/syscall shows) and wakes it with SIGUSR1. The code
// calls keyctl(KEYCTL_GET_KEYRING_ID), which the default profile denies, and makes init
// exit 66 if the call ran, 77 if it was refused: pid 1's exit status is the sandbox's.
// x86_64 only. Controls: bwrap's init without a filter exits 66 (the attack works), with
// the filter 77. Ours: the open fails (non-dumpable init); a root caller's command that
// keeps CAP_SYS_PTRACE gets in, but init is under the same filter: 77, never 66.
const char* kMemInject = R"PY(
import errno, os, platform, signal, sys, time
if platform.machine() != 'x86_64':
    print('RESULT skipped: x86_64 only'); sys.exit(0)
try:
    fd = os.open('/proc/1/mem', os.O_RDWR)
    pc = int(open('/proc/1/syscall').read().split()[-1], 16)
except OSError as e:
    print('RESULT mem=' + errno.errorcode[e.errno]); sys.exit(0)
code = bytes.fromhex(
    'b8fa000000' '31ff' '48c7c6fdffffff' '31d2' '0f05'  # keyctl(0, -3, 0)
    '4885c0' '7807' 'bf42000000' 'eb05' 'bf4d000000'     # edi = rax < 0 ? 77 : 66
    'b8e7000000' '0f05')                                 # exit_group(edi)
try:
    os.pwrite(fd, code, pc)
except OSError as e:
    print('RESULT write=' + errno.errorcode[e.errno]); sys.exit(0)
print('RESULT planted', flush=True)
os.kill(1, signal.SIGUSR1)
time.sleep(3)
print('RESULT init-untouched')
)PY";

TEST_P(SandboxProcessModeTest, InjectionIntoInitCannotEscapeTheFilter) {
  TempDir dir(0755);
  compile_default(dir / "default.bpf");
  const Args flags = {"--unshare-pid", "--proc", "/proc"};
  if (exists(kBwrap)) {
    RunOpts bo = opts();
    bo.exe = kBwrap;
    auto b = run(cat({base_root(), flags, py(kMemInject)}), bo);
    if (contains(b.out, "skipped")) GTEST_SKIP() << b.out;
    ASSERT_TRUE(contains(b.out, "RESULT planted")) << "control: bwrap's init is open" << b;
    EXPECT_EQ(b.exit_code, 66) << "control: the call ran as bwrap's unfiltered pid 1" << b;
    bo = with_fd9(bo, dir / "default.bpf");
    auto bf = run(cat({base_root(), flags, {"--seccomp", "9"}, py(kMemInject)}), bo);
    EXPECT_EQ(bf.exit_code, 77) << "control: bwrap's pid 1 is filtered" << bf;
  }
  std::vector<Args> variants = {{}};
  if (as_root()) variants.push_back({"--cap-drop", "ALL"});
  for (const Args& extra : variants) {
    SCOPED_TRACE(::testing::PrintToString(extra));
    auto r = run(with_root(cat({extra, flags, {"--seccomp", "9"}, py(kMemInject)})),
                 with_fd9(opts(), dir / "default.bpf"));
    if (contains(r.out, "skipped")) GTEST_SKIP() << r.out;
    ASSERT_TRUE(contains(r.out, "RESULT")) << r;
    EXPECT_NE(r.exit_code, 66) << "the filtered call ran as pid 1" << r;
    if (as_root() && extra.empty()) {
      // CAP_SYS_PTRACE opens any process; init is filtered all the same.
      EXPECT_EQ(r.exit_code, 77) << r;
    } else {
      EXPECT_TRUE(contains(r.out, "RESULT mem=EACCES")) << r;
      EXPECT_EQ(r.exit_code, 0) << r;
    }
  }
}

// Issue 13.1: --die-with-parent holds although the command tries to clear pid 1's
// parent-death signal (by injection, which needs the attach). A driver starts the sandbox
// and is SIGKILLed; every process of the sandbox must go with it. Control: without
// --die-with-parent the sandbox outlives the driver.
const char* kDieDriver = R"PY(
import os, sys, time
pid = os.fork()
if pid == 0:
    os.setsid()  # out of the harness's process group, which it kills on its own
    os.execv(sys.argv[1], sys.argv[1:])
time.sleep(30)
)PY";

TEST_P(SandboxProcessModeTest, DieWithParentHoldsAgainstTheCommand) {
  const std::string clear_pdeathsig = kPtraceInjectPrelude + R"PY(
t = Tracee(1)
r = t.syscall(157, 1, 0)  # prctl(PR_SET_PDEATHSIG, 0)
t.detach()
print('RESULT init-prctl=' + ename(r))
)PY";
  // With --info-fd, init is exec'd (see InitToldToTheCallerStaysConfined): it must keep
  // the parent-death signal across that exec.
  for (auto [die, info] : {std::pair{true, false}, {true, true}, {false, false}}) {
    SCOPED_TRACE(std::string(die ? "--die-with-parent" : "control: without it") +
                 (info ? " --info-fd" : ""));
    const std::string token = sleep_token();
    Args a = {"-c", kDieDriver, sandbox_path()};
    Args flags = {"--unshare-pid", "--proc", "/proc"};
    if (as_root()) flags.insert(flags.end(), {"--cap-drop", "ALL"});
    if (die) flags.push_back("--die-with-parent");
    if (info) flags.insert(flags.end(), {"--info-fd", "2"});
    Args inner = with_root(cat({flags, {"--", "sh", "-c",
                                        "python3 -c \"$0\"; exec sleep " + token,
                                        clear_pdeathsig}}));
    a.insert(a.end(), inner.begin(), inner.end());
    RunOpts o = opts();
    o.exe = kPython;
    auto p = spawn(a, o);
    ASSERT_TRUE(p->wait_for_stdout("RESULT", 15s)) << p->err_so_far();
    ASSERT_TRUE(eventually([&] { return !pids_with_token(token).empty(); }, 10s)) << p->err_so_far();
    ::kill(p->pid(), SIGKILL);
    bool gone = eventually([&] { return pids_with_token(token).empty(); }, 3s);
    kill_with_token(token);
    EXPECT_FALSE(contains(p->out_so_far(), "init-prctl=0")) << p->out_so_far();
    if (die) {
      EXPECT_TRUE(gone) << "the sandbox outlived its parent" << p->out_so_far();
    } else {
      EXPECT_FALSE(gone) << "control: without the option the sandbox stays";
    }
  }
}

// Issue 13.1: a filter that denies what init needs once confined (wait4 here) is refused
// before anything runs, with a message naming the call, rather than leaving a pid 1 that
// cannot reap. --as-pid-1 has no init and runs.
TEST_F(SandboxProcessTest, FilterDenyingWhatInitNeedsIsRefused) {
  TempDir dir(0755);
  const std::string prof = dir / "nowait.json";
  write_file(prof, R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["wait4"], "action": "SCMP_ACT_ERRNO"}]})", 0644);
  auto r = run(with_root({"--unshare-pid", "--seccomp-profile", prof, "--", "true"}), unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "deny wait4")) << r;
  EXPECT_TRUE(contains(r.err, "--as-pid-1")) << r;
  auto ok = run(with_root({"--unshare-pid", "--as-pid-1", "--seccomp-profile", prof, "--", "true"}),
                unpriv());
  EXPECT_EQ(ok.exit_code, 0) << ok;
  auto plain = run(with_root({"--unshare-pid", "--seccomp-profile", "default", "--", "true"}),
                   unpriv());
  EXPECT_EQ(plain.exit_code, 0) << plain;
}

// ---- --proc ---------------------------------------------------------------------------------

// Issue 13.2: where the caller's /proc has an entry masked by a mount (as in Docker, Podman
// and many CI runners), the kernel refuses a fresh procfs inside a user namespace. With
// --unshare-pid that must be an error (bwrap's), never a silent bind of the caller's /proc
// that shows every host process. Without --unshare-pid both bind the caller's /proc, mask
// included. Control: bwrap behaves the same.
TEST_F(SandboxProcessTest, ProcFailsClosedWhenAFreshProcIsRefused) {
  IT_REQUIRE_ROOT();  // to mask an entry in a private mount namespace
  std::string masked;
  for (const char* f : {"/proc/kcore", "/proc/timer_list", "/proc/keys", "/proc/sched_debug"})
    if (exists(f)) {
      masked = f;
      break;
    }
  if (masked.empty()) GTEST_SKIP() << "no /proc entry to mask";
  auto mask = [masked] {
    return ::unshare(CLONE_NEWNS) == 0 &&
           ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
           ::mount("/dev/null", masked.c_str(), nullptr, MS_BIND, nullptr) == 0;
  };
  const std::string script = "ls /proc | grep -c '^[0-9]'; stat -c %t:%T " + masked;
  for (const std::string& exe : {sandbox_path(), kBwrap}) {
    if (!exists(exe)) continue;
    SCOPED_TRACE(exe);
    RunOpts o = unpriv();
    o.exe = exe;
    o.in_child = mask;
    auto r = run(cat({{"--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--dev", "/dev"},
                      sh(script)}),
                 o);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_TRUE(contains(r.err, "Can't mount proc on /newroot/proc: Operation not permitted")) << r;
    EXPECT_EQ(r.out, "") << "the command ran" << r;
    // Without a PID namespace: the caller's /proc, with the mask (/dev/null is 1:3).
    auto s = run(cat({{"--ro-bind", "/", "/", "--proc", "/proc"}, sh(script)}), o);
    EXPECT_EQ(s.exit_code, 0) << s;
    auto l = lines(s.out);
    ASSERT_EQ(l.size(), 2u) << s;
    EXPECT_GT(std::stoi(l[0]), 3) << "the caller's processes" << s;
    EXPECT_EQ(l[1], "1:3") << "the mask is kept" << s;
  }
}

// Issue 13.3: covering /proc/sys and friends makes the kernel refuse any procfs mount
// inside (it must be "fully visible"), so nothing nested could get its own /proc. Where
// the sandbox cannot write them (the host's root is not mapped), no cover: a nested
// sandbox, `unshare --mount-proc` and bwrap each see only their own processes. (The root
// case, where the covers stay, is HostKernelKnobsStayReadOnly.)
TEST_F(SandboxProcessTest, NestedSandboxesGetTheirOwnProc) {
  const std::string bin_dir = sandbox_path().substr(0, sandbox_path().rfind('/'));
  const std::string inner = sandbox_path() + " --ro-bind / / --unshare-pid --proc /proc --dev /dev";
  const std::string script =
      "echo sandbox=$(" + inner + " -- sh -c 'ls /proc | grep -c ^[0-9]; cat /proc/1/comm' | tr '\\n' ' ')\n"
      "echo unshare=$(unshare -Urpf --mount-proc sh -c 'ls /proc | grep -c ^[0-9]; cat /proc/1/comm' | tr '\\n' ' ')\n"
      "if [ -x " + kBwrap + " ]; then echo bwrap=$(" + kBwrap +
      " --ro-bind / / --unshare-pid --proc /proc --dev /dev -- sh -c 'ls /proc | grep -c ^[0-9]; cat /proc/1/comm' | tr '\\n' ' '); fi\n"
      "echo END\n";
  auto r = run(with_root(cat({{"--ro-bind", bin_dir, bin_dir, "--unshare-pid", "--proc", "/proc",
                               "--dev", "/dev"},
                              sh(script)})),
               unpriv());
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(contains(r.out, "END")) << r;
  auto m = key_values(r.out);
  // Each sees at most its init, sh, ls and grep, and a pid 1 of its own (the outer /proc
  // would show the outer init, its sh and the nested runtime besides).
  std::string base = sandbox_path().substr(sandbox_path().rfind('/') + 1).substr(0, 15);
  const std::pair<const char*, std::string> expect[] = {
      {"sandbox", base}, {"unshare", "sh"}, {"bwrap", "bwrap"}};
  for (const auto& [key, init] : expect) {
    if (std::string(key) == "bwrap" && !exists(kBwrap)) continue;
    auto w = words(m[key]);
    ASSERT_EQ(w.size(), 2u) << key << r;
    EXPECT_LE(std::stoi(w[0]), 4) << key << ": more processes than its own" << r;
    EXPECT_EQ(w[1], init) << key << ": pid 1 is not its own" << r;
  }
  EXPECT_FALSE(contains(r.err, "Can't mount proc")) << r;
}

// ---- Descriptors ------------------------------------------------------------------------------

// Issue 13.5 (runc CVE-2024-21626 pattern): a process already in the namespaces the sandbox
// joins (--userns, --pidns) watches for the sandbox's setup child and walks through every
// descriptor it can reach under /proc/PID/fd to a host file its own root lacks. The setup
// child is held after the pivot by --block-fd (released once --info-fd reports). Control:
// bwrap under the same options keeps the caller's /proc open there and leaks the file.
const char* kFdThief = R"PY(
import os, sys, time
rel = sys.argv[1].lstrip('/')
deadline = time.time() + float(sys.argv[2])
me, seen = str(os.getpid()), set()
while time.time() < deadline:
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or pid in (me, '1'):
            continue
        base = '/proc/%s/fd' % pid
        try:
            fds = os.listdir(base)
        except OSError:
            continue
        if pid not in seen:
            seen.add(pid)
            print('SAW ' + pid, flush=True)
        for fd in fds:
            d = base + '/' + fd
            cands = [d + '/' + rel]
            try:
                cands += [d + '/' + p + '/root/' + rel for p in os.listdir(d) if p.isdigit()]
            except OSError:
                pass
            for c in cands:
                try:
                    with open(c) as f:
                        print('LEAK ' + f.read().strip(), flush=True)
                        sys.exit(0)
                except OSError:
                    pass
    time.sleep(0.02)
print('END', flush=True)
)PY";

// An argument vector as one argument, for a python driver to split('\x01').
std::string joined(const Args& a) {
  std::string s;
  for (const auto& x : a) s += (s.empty() ? "" : "\x01") + x;
  return s;
}

// Runs as the caller: starts the thief inside a sandbox of its own (its own user and PID
// namespaces, a root without the secret), then argv[2:] with fds 5 and 6 on the thief's
// user and PID namespaces, 7 the --block-fd (released after the --info-fd JSON on 8).
const char* kJoinDriver = R"PY(
import os, subprocess, sys, time
thief = subprocess.Popen(sys.argv[1].split('\x01'), stdout=subprocess.PIPE, text=True)
def ours(pid):
    # Below our own Popen: another run's thief (same uid, same command) is not ours.
    try:
        while pid > 1:
            if pid == thief.pid:
                return True
            pid = int(open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()[1])
    except (OSError, ValueError):
        pass
    return False
pid = None
for _ in range(200):
    # The thief is the python below the sandbox's init (or bwrap's).
    found = subprocess.run(['pgrep', '-f', '^python3 -c .*SAW'], capture_output=True, text=True).stdout.split()
    found = [f for f in found if f != str(os.getpid()) and ours(int(f))]
    if found:
        pid = found[-1]
        break
    time.sleep(0.05)
if pid is None:
    print('DRIVER no thief'); sys.exit(3)
# Everything first on high numbers, so that no dup2 below replaces a descriptor in use.
fds = [os.open('/proc/%s/ns/user' % pid, os.O_RDONLY), os.open('/proc/%s/ns/pid' % pid, os.O_RDONLY)]
fds += os.pipe() + os.pipe()  # block read, block write, info read, info write
high = []
for i, fd in enumerate(fds):
    os.dup2(fd, 30 + i); os.close(fd); high.append(30 + i)
u, p, br, bw, ir, iw = high
for src, dst in ((u, 5), (p, 6), (br, 7), (iw, 8)):
    os.dup2(src, dst); os.close(src)
child = subprocess.Popen(sys.argv[2:], pass_fds=(5, 6, 7, 8))
for fd in (5, 6, 7, 8):
    os.close(fd)
info = os.read(ir, 4096)
print('INFO ' + ('yes' if b'child-pid' in info else 'no'), flush=True)
time.sleep(1.5)
try:
    os.write(bw, b'x')  # the thief may have ended it already (its PID namespace is gone)
except BrokenPipeError:
    pass
os.close(bw)
child.wait()
print('THIEF ' + thief.communicate(timeout=20)[0].replace('\n', ' | '), flush=True)
)PY";

TEST_F(SandboxProcessTest, JoinedNamespaceCannotStealSetupDescriptors) {
  IT_REQUIRE_FILE("/usr/bin/pgrep");
  TempDir dir(0755);
  const std::string secret = "host-secret-" + unique_suffix();
  write_file(dir / "secret", secret + "\n", 0644);
  // The thief's own sandbox: no `dir` in it.
  Args thief = cat({{sandbox_path()}, base_root(),
                    {"--unshare-user", "--uid", "0", "--gid", "0", "--unshare-pid", "--proc",
                     "/proc", "--", "python3", "-c", kFdThief, dir / "secret", "8"}});
  for (const std::string& exe : {kBwrap, sandbox_path()}) {
    if (!exists(exe)) continue;
    SCOPED_TRACE(exe);
    RunOpts o = unpriv();
    o.exe = kPython;
    Args a = {"-c", kJoinDriver, joined(thief), exe};
    Args rest = cat({base_root(), {"--userns", "5", "--pidns", "6", "--block-fd", "7",
                                   "--info-fd", "8", "--", "true"}});
    a.insert(a.end(), rest.begin(), rest.end());
    auto r = run(a, o);
    ASSERT_TRUE(contains(r.out, "INFO yes")) << r;
    ASSERT_TRUE(contains(r.out, "THIEF ")) << r;
    if (exe == kBwrap) {
      EXPECT_TRUE(contains(r.out, "LEAK " + secret)) << "control: bwrap's host /proc fd" << r;
    } else {
      EXPECT_FALSE(contains(r.out, secret)) << "a host file through the setup child" << r;
      EXPECT_TRUE(contains(r.out, "END")) << "the thief ran to its deadline" << r;
    }
  }
}

// A joined user namespace's root reaching the sandbox's supervisor: with --userns (and
// sandbox-runc's joined user path) the supervisor setns()es into the namespace before the
// clone, so its credentials belong to it, and a process there with CAP_SYS_PTRACE in it
// passes ptrace's credential check although it runs as another host uid. What still stops
// it is the supervisor's mm, which stays in the caller's namespace: non-dumpable, tracing it
// needs the capability there. Traced, it is the caller (its descriptors, mount namespace,
// and as root its capabilities). The namespace maps its 0 to host uid 200000 (a container's
// root, as a rootless engine maps it from /etc/subuid) and 65536 to the caller, so the
// caller can build a root in it. Unprivileged, newuidmap/newgidmap write that map from
// subordinate ids the test gives the caller (its own files bound over /etc/subuid and
// /etc/subgid for that process only). Controls: a process of the caller that entered the
// same namespace (nsenter --preserve-credentials) is traced and its memory opened; bwrap
// --userns is run too.
const char* kJoinedUserns = R"PY(
import os, subprocess, sys, time
probe, exe = sys.argv[1], sys.argv[2]
holder = subprocess.Popen(['unshare', '-U', '--', 'sleep', '60'])
mine = os.readlink('/proc/self/ns/user')
for _ in range(500):
    if os.readlink('/proc/%d/ns/user' % holder.pid) != mine:
        break
    time.sleep(0.01)
for f, tool, own in (('uid_map', 'newuidmap', os.getuid()), ('gid_map', 'newgidmap', os.getgid())):
    if os.getuid() == 0:
        with open('/proc/%d/%s' % (holder.pid, f), 'w') as m:
            m.write('0 200000 65536\n65536 %d 1\n' % own)
    else:
        subprocess.run([tool, str(holder.pid), '0', '200000', '65536', '65536', str(own), '1'], check=True)
ns = os.readlink('/proc/%d/ns/user' % holder.pid)
os.dup2(os.open('/proc/%d/ns/user' % holder.pid, os.O_RDONLY), 3)
target = subprocess.Popen([a.replace('$HOLDER', str(holder.pid)) for a in exe.split('\x01')],
                          pass_fds=(3,))
def command_runs():
    # A `sleep` in the namespace at or below the target: the target had entered it before
    # (the supervisor's own /proc/PID/ns is closed to its caller: it is non-dumpable).
    for p in os.listdir('/proc'):
        try:
            if not p.isdigit() or open('/proc/%s/comm' % p).read().strip() != 'sleep':
                continue
            if os.readlink('/proc/%s/ns/user' % p) != ns:
                continue
            q = int(p)
            while q > 1 and q != target.pid:
                q = int(open('/proc/%d/stat' % q).read().rsplit(')', 1)[1].split()[1])
            if q == target.pid:
                return True
        except (OSError, ValueError):
            pass
    return False
entered = False
for _ in range(500):
    entered = command_runs()
    if entered:
        break
    time.sleep(0.02)
print('entered=' + ('yes' if entered else 'no'), flush=True)
# The attacker: uid 0 of the namespace (host uid 200000), every capability there only.
r = subprocess.run(['nsenter', '-U', '-t', str(holder.pid), '/usr/bin/python3', '-c', probe,
                    str(target.pid)], capture_output=True, text=True)
print(r.stdout + r.stderr, flush=True)
target.kill()
target.wait()
holder.kill()
)PY";

// What the attacker tries on `argv[1]`: kAccessProbe, and where its first descriptor
// leads; and who it is (uid and capabilities where it is).
const std::string kTraceProbe = kAccessProbe + R"PY(
try:
    print('fd0=' + os.readlink('/proc/%d/fd/0' % pid))
except OSError as x:
    print('fd0=' + errno.errorcode[x.errno])
for line in open('/proc/self/status'):
    k, _, v = line.partition(':')
    if k in ('Uid', 'CapEff'):
        print('self_%s=%s' % (k, v.split()[0]))
print('END')
)PY";

TEST_P(SandboxProcessModeTest, JoinedUserNamespaceCannotTraceTheSupervisor) {
  IT_REQUIRE_ROOT();  // unprivileged: root gives it subordinate ids (and a name) privately
  IT_REQUIRE_FILE("/usr/bin/nsenter");
  RunOpts o = opts();
  o.exe = kPython;
  TempDir files(0755);
  if (!as_root()) {
    IT_REQUIRE_FILE("/usr/bin/newuidmap");
    IT_REQUIRE_FILE("/usr/bin/newgidmap");
    auto [name, binds] = unpriv_user_name(files.path());
    write_file(files / "subid", name + ":200000:65536\n");
    for (const char* f : {"/etc/subuid", "/etc/subgid"}) binds.emplace_back(files / "subid", f);
    o.in_child = bind_files_over(binds);
  }
  const Args userns_args = {"--userns", "3", "--ro-bind", "/", "/", "--", "sleep", "30"};
  auto attempt = [&](const Args& target) {
    auto r = run({"-c", kJoinedUserns, kTraceProbe, joined(target)}, o);
    EXPECT_TRUE(contains(r.out, "entered=yes")) << "the target never entered the namespace" << r;
    EXPECT_TRUE(contains(r.out, "END")) << r;
    auto m = key_values(r.out);
    // The attack is the one meant: uid 0 there, every capability there (none outside).
    EXPECT_EQ(m["self_Uid"], "0") << r;
    EXPECT_EQ(m["self_CapEff"], "000001ffffffffff") << r;
    return r;
  };
  auto c = attempt({"nsenter", "--preserve-credentials", "-U", "-t", "$HOLDER", "sleep", "30"});
  auto cm = key_values(c.out);
  EXPECT_EQ(cm["attach"], "ok") << "control: a dumpable process of the caller in the namespace" << c;
  EXPECT_EQ(cm["mem"], "ok") << "control" << c;
  EXPECT_TRUE(cm["fd0"].starts_with("/")) << "control: its descriptors are open" << c;
  auto r = attempt(cat({{sandbox_path()}, userns_args}));
  auto m = key_values(r.out);
  EXPECT_EQ(m["attach"], "EPERM") << "the joined namespace's root traced the supervisor" << r;
  EXPECT_EQ(m["mem"], "EACCES") << r;
  EXPECT_EQ(m["fd0"], "EACCES") << r;
  if (!exists(kBwrap)) return;
  auto b = attempt(cat({{kBwrap}, userns_args}));
  auto bm = key_values(b.out);
  RecordProperty("bwrap", b.out);
  // Never weaker than bwrap (Debian's bwrap is traced here: its process stays dumpable).
  for (const char* k : {"attach", "mem"})
    if (m[k] == "ok") {
      EXPECT_EQ(bm[k], "ok") << k << r << b;
    }
}

// The processes below `pid` (from /proc/PID/task/TID/children).
std::vector<pid_t> descendants(pid_t pid) {
  std::vector<pid_t> all{pid};
  for (size_t i = 0; i < all.size() && all.size() < 1000; ++i) {
    std::ifstream in("/proc/" + std::to_string(all[i]) + "/task/" + std::to_string(all[i]) +
                     "/children");
    for (pid_t c; in >> c;) all.push_back(c);
  }
  all.erase(all.begin());
  return all;
}

// Issue 13.5, audited from outside (root reads any process's descriptors): while the setup
// child waits on --block-fd, after the pivot, neither it nor init holds a descriptor of a
// directory (today's main held the caller's / as O_PATH until exec, and its /proc for
// --info-fd). Also with --disable-userns (its nested namespace is an nsfs descriptor, not
// the caller's /proc any more).
TEST_F(SandboxProcessTest, NoDirectoryDescriptorCrossesThePivot) {
  IT_REQUIRE_ROOT();
  for (const Args& flags : {Args{}, Args{"--unshare-pid"},
                            Args{"--unshare-user", "--disable-userns", "--unshare-pid"}}) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    int block[2], info[2];
    ASSERT_EQ(::pipe(block), 0);
    ASSERT_EQ(::pipe(info), 0);
    RunOpts o = unpriv();
    // The harness closes what the child inherits: open the pipes again through our /proc.
    const std::string me = "/proc/" + std::to_string(::getpid()) + "/fd/";
    const std::string bpath = me + std::to_string(block[0]), ipath = me + std::to_string(info[1]);
    o.in_child = [bpath, ipath] {
      int b = ::open(bpath.c_str(), O_RDONLY), i = ::open(ipath.c_str(), O_WRONLY);
      return b >= 0 && i >= 0 && ::dup2(b, 5) == 5 && ::dup2(i, 6) == 6;
    };
    auto p = spawn(with_root(cat({flags, {"--proc", "/proc", "--block-fd", "5", "--info-fd", "6",
                                          "--", "true"}})),
                   o);
    char buf[4096];
    ASSERT_GT(::read(info[0], buf, sizeof buf), 0) << "no --info-fd report";
    ::close(block[0]);
    ::close(info[1]);
    ::close(info[0]);
    std::vector<pid_t> procs;
    // The setup child reports before it waits: give it the moment to get there.
    eventually([&] {
      procs = descendants(p->pid());
      return !procs.empty();
    }, 5s);
    ASSERT_FALSE(procs.empty());
    std::this_thread::sleep_for(200ms);
    procs = descendants(p->pid());
    size_t fds = 0;
    for (pid_t pid : procs) {
      const std::string dir = "/proc/" + std::to_string(pid) + "/fd/";
      for (const auto& e : std::filesystem::directory_iterator(dir)) {
        ++fds;
        struct stat st;
        if (::stat(e.path().c_str(), &st) != 0) continue;
        char target[4096] = {};
        (void)!::readlink(e.path().c_str(), target, sizeof target - 1);
        EXPECT_FALSE(S_ISDIR(st.st_mode))
            << "pid " << pid << " holds directory " << target << " as " << e.path();
      }
    }
    EXPECT_GT(fds, 0u) << "looked at nothing";
    ASSERT_EQ(::write(block[1], "x", 1), 1);
    ::close(block[1]);
    auto r = p->wait();
    EXPECT_EQ(r.exit_code, 0) << r;
  }
}

// Issue 13.5: --sync-fd stays open for the sandbox's lifetime (held by init and the
// supervisor) but is not open in the command (as bwrap, but with --as-pid-1, where bwrap
// passes it on). The caller sees EOF on it once the sandbox is gone.
TEST_P(SandboxProcessModeTest, SyncFdDoesNotReachTheCommand) {
  const char* script = "ls /proc/self/fd | tr '\\n' ' '";
  for (const Args& flags : {Args{"--unshare-pid"}, Args{}, Args{"--unshare-pid", "--as-pid-1"}}) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    for (const std::string& exe : {sandbox_path(), kBwrap}) {
      if (!exists(exe)) continue;
      RunOpts o = opts();
      o.exe = exe;
      o.leak_fds = {5};
      auto r = run(cat({base_root(), {"--proc", "/proc", "--sync-fd", "5"}, flags, sh(script)}), o);
      ASSERT_EQ(r.exit_code, 0) << exe << r;
      bool as_pid_1 = flags.size() == 2;
      EXPECT_EQ(contains(" " + r.out, " 5 "), as_pid_1) << exe << r;
    }
  }
}

// --sync-fd and --info-fd on one descriptor: bwrap writes the JSON to it and keeps it open
// in the sandbox's init; the caller reads the JSON, then EOF when the sandbox ends. Today's
// main closed it early and lost the JSON. --info-fd and --json-status-fd on one descriptor
// would lose the status lines: refused.
TEST_F(SandboxProcessTest, OneDescriptorForTwoOptions) {
  for (const std::string& exe : {sandbox_path(), kBwrap}) {
    if (!exists(exe)) continue;
    SCOPED_TRACE(exe);
    RunOpts o = unpriv();
    o.exe = kPython;
    const char* driver = R"PY(
import os, subprocess, sys, time
r, w = os.pipe()
os.dup2(w, 5); os.close(w)
p = subprocess.Popen(sys.argv[1:], pass_fds=(5,))
os.close(5)
data, t0 = b'', time.time()
while True:
    b = os.read(r, 4096)
    if not b:
        break
    data += b
print('JSON ' + ('child-pid' in data.decode() and 'yes' or 'no'))
print('rc=%d' % p.wait())
)PY";
    Args a = {"-c", driver, exe};
    Args rest = cat({base_root(), {"--unshare-pid", "--sync-fd", "5", "--info-fd", "5", "--",
                                   "sleep", "0.3"}});
    a.insert(a.end(), rest.begin(), rest.end());
    auto r = run(a, o);
    EXPECT_TRUE(contains(r.out, "JSON yes")) << r;
    EXPECT_TRUE(contains(r.out, "rc=0")) << r;
  }
  RunOpts o = unpriv();
  o.leak_fds = {5};
  auto r = run(with_root({"--info-fd", "5", "--json-status-fd", "5", "--", "true"}), o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "--info-fd and --json-status-fd name the same descriptor 5")) << r;
}

}  // namespace
}  // namespace it
