// Shared helpers for the escape tests (tests/security/*_test.cpp). Every test there drives
// the built binary through the integration harness, tries to break out of the sandbox the
// way a real attack would, and asserts that it could not. Each one first runs the same attack
// (same script, same system calls) where it must work: no protection (on the host as the same
// uid, against a scratch target the test owns), or a peer configuration that allows it, so
// that a broken attack program fails the control instead of passing the protected check.
// Where Debian's bwrap has the same options the attack runs against it too, and sandbox must
// never be weaker.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace it {

inline const std::string kPython = "/usr/bin/python3";

// `sh -c SCRIPT sh ARGS...` as the command: ARGS are $1, $2... in the script, which keeps
// scripts and their data (python programs, tokens) apart without quoting.
inline Args sh_args(const std::string& script, const Args& args) {
  Args a = {"--", "sh", "-c", script, "sh"};
  a.insert(a.end(), args.begin(), args.end());
  return a;
}

// `python3 -c SCRIPT ARGS...` as the command.
inline Args py(const std::string& script, const Args& args = {}) {
  Args a = {"--", kPython, "-c", script};
  a.insert(a.end(), args.begin(), args.end());
  return a;
}

// The sandbox flags for a command that has every capability inside its user namespace:
// what an unprivileged caller can hand out at most.
inline Args uid0_all_caps() { return {"--uid", "0", "--gid", "0", "--cap-add", "ALL"}; }

// The non-empty lines of a secret; none of them may ever show up in a sandbox's output.
inline std::vector<std::string> secret_lines(const std::string& secret) {
  std::vector<std::string> v;
  for (const auto& l : lines(secret))
    if (trim(l).size() >= 8) v.push_back(trim(l));
  return v;
}

// True when any line of `secret` appears in the run's stdout or stderr.
inline bool leaks(const RunResult& r, const std::string& secret) {
  for (const auto& l : secret_lines(secret))
    if (contains(r.out, l) || contains(r.err, l)) return true;
  return false;
}

// Bytes from a hex string (python's bytes.hex()); stops at the first invalid pair.
inline std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    unsigned v = 0;
    if (std::sscanf(h.c_str() + i, "%2x", &v) != 1) break;
    out += static_cast<char>(v);
  }
  return out;
}

// Python prelude for attacks that ptrace another process of the sandbox (the sandbox's own
// init, pid 1 with --unshare-pid: same uid, same user namespace, no capabilities, so the
// kernel allows PTRACE_ATTACH from the command) and make IT run system calls: the registers
// are set to re-run the syscall instruction the tracee is blocked in, with our number and
// arguments, one single step at a time. Scripts append their body and use
// `t = Tracee(pid)`, `t.poke(offset, bytes)` (scratch memory on the tracee's stack, returns
// its address), `t.syscall(nr, *args)` (returns the result, -errno on failure), `t.detach()`,
// and `ename(result)`. Prints "RESULT init-<step>=<errno>" and exits when a step is refused.
// x86_64 only: elsewhere it prints "RESULT skipped".
inline const std::string kPtraceInjectPrelude = R"PY(
import ctypes, errno, os, platform, struct, sys
if platform.machine() != 'x86_64':
    print('RESULT skipped: x86_64 only')
    sys.exit(0)
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_POKEDATA, PTRACE_GETREGS, PTRACE_SETREGS = 5, 12, 13
PTRACE_SINGLESTEP, PTRACE_ATTACH, PTRACE_DETACH = 9, 16, 17
M = 0xffffffffffffffff
class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulong) for n in (
        'r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags '
        'rsp ss fs_base gs_base ds es fs gs').split()]
def stop(what):
    print('RESULT init-%s=%s' % (what, errno.errorcode.get(ctypes.get_errno(), '?')))
    sys.exit(0)
def ename(v):
    return str(v) if v >= 0 else errno.errorcode.get(-v, str(v))
class Tracee:
    def __init__(self, pid):
        self.pid = pid
        if libc.ptrace(PTRACE_ATTACH, pid, None, None) != 0:
            stop('attach')
        os.waitpid(pid, 0x40000000)  # __WALL
        self.saved = Regs()
        if libc.ptrace(PTRACE_GETREGS, pid, None, ctypes.byref(self.saved)) != 0:
            stop('getregs')
        self.scratch = (self.saved.rsp - 4096) & ~0xf  # well below the red zone
    def poke(self, off, data):
        data += b'\0' * (-len(data) % 8)
        for i in range(0, len(data), 8):
            w = struct.unpack('<Q', data[i:i + 8])[0]
            if libc.ptrace(PTRACE_POKEDATA, self.pid, ctypes.c_void_p(self.scratch + off + i),
                           ctypes.c_void_p(w)) != 0:
                stop('poke')
        return self.scratch + off
    def syscall(self, nr, *args):
        r = Regs.from_buffer_copy(self.saved)
        # orig_rax = -1: no syscall-restart fixup when the tracee resumes.
        r.rax, r.orig_rax, r.rip = nr, M, self.saved.rip - 2
        for name, v in zip(('rdi', 'rsi', 'rdx', 'r10'), args):
            setattr(r, name, v & M)
        if libc.ptrace(PTRACE_SETREGS, self.pid, None, ctypes.byref(r)) != 0:
            stop('setregs')
        if libc.ptrace(PTRACE_SINGLESTEP, self.pid, None, None) != 0:
            stop('step')
        os.waitpid(self.pid, 0x40000000)
        out = Regs()
        libc.ptrace(PTRACE_GETREGS, self.pid, None, ctypes.byref(out))
        return out.rax - (1 << 64) if out.rax >= (1 << 63) else out.rax
    def detach(self):
        libc.ptrace(PTRACE_SETREGS, self.pid, None, ctypes.byref(self.saved))
        libc.ptrace(PTRACE_DETACH, self.pid, None, None)
if os.getpid() == 1:
    print('RESULT no-init')
    sys.exit(0)
)PY";

// ---- Controls: the same attack where it must work --------------------------------------

// Debian's bubblewrap, the peer every attack is also run against where it has the same
// options: sandbox must never be weaker.
inline const std::string kBwrap = "/usr/bin/bwrap";
inline bool have_bwrap() { return exists(kBwrap); }
// `o` with /usr/bin/bwrap as the executable instead of sandbox (same argv).
inline RunOpts as_bwrap(RunOpts o) {
  o.exe = kBwrap;
  o.argv0 = "bwrap";
  return o;
}
// `o` running `exe` directly on the host (no sandbox), as the same uid.
inline RunOpts on_host(RunOpts o, const std::string& exe) {
  o.exe = exe;
  o.argv0.reset();
  return o;
}

// A chroot-only jail, the classic weak sandbox the filesystem tests' controls run in: a new
// user, mount and PID namespace (`unshare -Urmpf`, so it works as any uid and every mount
// stays in that namespace), a tmpfs at $1 (a directory the test owns) holding /usr and the
// /bin, /lib... links of the host, a fresh /proc, /dev and /tmp; then
// $2 = "chroot": `chroot $1 CMD...` from pid 1, whose root stays the host's (so /proc/1/root
//               leads out), or
// $2 = "pivot":  pivot_root into it keeping the old root at /oldroot, not detached.
// Exit 90-93 when the jail cannot be built (see jail_control_skip_reason()).
inline const char* kJailScript = R"SH(
J=$1; how=$2; shift 2
mount -t tmpfs sbjail "$J" || exit 90
mkdir "$J/usr" "$J/proc" "$J/dev" "$J/tmp" || exit 90
mount --rbind /usr "$J/usr" || exit 91
for l in bin lib lib64 sbin lib32 libx32; do
  if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$J/$l"
  elif [ -d "/$l" ]; then mkdir "$J/$l" && mount --rbind "/$l" "$J/$l"; fi
done
mount -t proc proc "$J/proc" || exit 92
mount --rbind /dev "$J/dev" || exit 93
mount -t tmpfs sbjailtmp "$J/tmp" || exit 93
if [ "$how" = pivot ]; then
  mkdir "$J/oldroot" && cd "$J" && pivot_root . oldroot && cd / || exit 93
  exec "$@"
fi
chroot "$J" "$@"
)SH";

// Arguments (for RunOpts.exe = /usr/bin/unshare) that run CMD in a kJailScript jail at `dir`.
inline Args jail_args(const std::string& dir, const std::string& how, const Args& cmd) {
  Args a = {"-Urmpf", "--", "/bin/sh", "-c", kJailScript, "sh", dir, how};
  a.insert(a.end(), cmd.begin(), cmd.end());
  return a;
}

// Why a jail control could not run (the exit codes of kJailScript), or "" when it did.
inline std::string jail_control_skip_reason(const RunResult& r) {
  switch (r.exit_code) {
    case 90: return "cannot mount a tmpfs in a new user namespace: " + r.err;
    case 91: return "cannot bind /usr in a new user namespace: " + r.err;
    case 92: return "cannot mount a fresh proc in a new user+PID namespace: " + r.err;
    case 93: return "cannot build the jail's /dev, /tmp or pivot_root: " + r.err;
    default: return "";
  }
}

// /etc/shadow as the test (root) reads it; empty when it cannot be read.
inline std::string host_shadow() { return read_file("/etc/shadow"); }

// A process on the host, outside any sandbox: `sleep <token>` as uid/gid (root: 0/0).
// SIGKILLed and reaped on destruction.
class HostSleep {
 public:
  // `exe`: a copy of sleep to run instead of /bin/sleep (its /proc/PID/exe is then that file).
  HostSleep(uid_t uid, gid_t gid, const std::string& exe = "/bin/sleep")
      : token_(sleep_token()) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int null = ::open("/dev/null", O_RDWR);
      if (null >= 0) {
        ::dup2(null, 0), ::dup2(null, 1), ::dup2(null, 2);
      }
      ::close_range(3, ~0U, 0);
      if (::geteuid() == 0 && uid != 0) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
            ::setresuid(uid, uid, uid) != 0)
          ::_exit(126);
      }
      const char* argv[] = {"sleep", token_.c_str(), nullptr};
      ::execv(exe.c_str(), const_cast<char**>(argv));
      ::_exit(127);
    }
    // Started when the token shows up in its command line (exec done).
    eventually([&] { return !pids_with_token(token_).empty(); }, 5s);
  }
  HostSleep(const HostSleep&) = delete;
  HostSleep& operator=(const HostSleep&) = delete;
  ~HostSleep() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  const std::string& token() const { return token_; }
  // SIGKILLs and reaps it now.
  void kill() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      reaped_ = true;
    }
  }
  // Still running (a killed child is reaped here, so that a zombie does not count).
  bool alive() {
    if (reaped_) return false;
    int st;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      reaped_ = true;
      return false;
    }
    return ::kill(pid_, 0) == 0;
  }

 private:
  std::string token_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// A TCP listener on the host's 127.0.0.1 (no thread: a connection that reached it waits in
// the accept queue) and a listener on an abstract Unix socket (the kind X11 and D-Bus use:
// bound to the network namespace, not to the filesystem, so binds do not hide it), both
// closed on destruction.
class HostServices {
 public:
  HostServices() : abstract_("sbesc-" + unique_suffix()) {
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (tcp_ >= 0 && ::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::listen(tcp_, 16) == 0 && ::getsockname(tcp_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
    unix_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un u{};
    u.sun_family = AF_UNIX;
    std::memcpy(u.sun_path + 1, abstract_.data(), abstract_.size());
    auto ulen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_.size());
    unix_ok_ = unix_ >= 0 && ::bind(unix_, reinterpret_cast<sockaddr*>(&u), ulen) == 0 &&
               ::listen(unix_, 16) == 0;
  }
  ~HostServices() {
    if (tcp_ >= 0) ::close(tcp_);
    if (unix_ >= 0) ::close(unix_);
  }
  bool ok() const { return port_ > 0 && unix_ok_; }
  int port() const { return port_; }
  const std::string& abstract_name() const { return abstract_; }
  // Connections that reached the TCP listener since the last call.
  int drain_tcp() {
    int n = 0;
    for (int c; (c = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++n) ::close(c);
    return n;
  }

 private:
  std::string abstract_;
  int tcp_ = -1, unix_ = -1, port_ = 0;
  bool unix_ok_ = false;
};

}  // namespace it
