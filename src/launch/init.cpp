#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <optional>

#include "launch/channel.hpp"
#include "launch/launch.hpp"
#include "security/bpf.hpp"
#include "security/caps.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"
#include "util/parse.hpp"
#include "util/log.hpp"

namespace sb::launch {
namespace {

void noop_handler(int) {}

// The audit architecture the kernel reports in seccomp_data.arch for this build's syscalls.
constexpr uint32_t native_audit_arch() {
#if defined(__x86_64__) && defined(__ILP32__)
  return 0;  // x32: no evaluation (the kernel decides alone)
#elif defined(__x86_64__)
  return AUDIT_ARCH_X86_64;
#elif defined(__i386__)
  return AUDIT_ARCH_I386;
#elif defined(__aarch64__)
  return AUDIT_ARCH_AARCH64;
#elif defined(__riscv) && __riscv_xlen == 64
  return AUDIT_ARCH_RISCV64;
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return AUDIT_ARCH_PPC64LE;
#elif defined(__s390x__)
  return AUDIT_ARCH_S390X;
#else
  return 0;
#endif
}

// A classic BPF interpreter for seccomp programs, as the kernel runs them (the subset
// seccomp accepts). nullopt when the program is not one the kernel would have accepted.
std::optional<uint32_t> run_filter(const std::string& program, const seccomp_data& data) {
  const auto* insns = reinterpret_cast<const sock_filter*>(program.data());
  const size_t n = program.size() / sizeof(sock_filter);
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  unsigned char bytes[sizeof data];
  std::memcpy(bytes, &data, sizeof data);
  for (size_t pc = 0; pc < n; ++pc) {
    const sock_filter& f = insns[pc];
    const uint32_t k = f.k;
    auto jump = [&](bool cond) {
      size_t off = cond ? f.jt : f.jf;
      pc += off;
    };
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        // k > size - 4, not k + 4 > size: k is the caller's and k + 4 wraps (0xfffffffc).
        if (k % 4 != 0 || k > sizeof data - 4) return std::nullopt;
        std::memcpy(&a, bytes + k, 4);
        break;
      case BPF_LD | BPF_W | BPF_LEN: a = sizeof data; break;
      case BPF_LDX | BPF_W | BPF_LEN: x = sizeof data; break;
      case BPF_LD | BPF_IMM: a = k; break;
      case BPF_LDX | BPF_IMM: x = k; break;
      case BPF_LD | BPF_MEM:
        if (k >= BPF_MEMWORDS) return std::nullopt;
        a = mem[k];
        break;
      case BPF_LDX | BPF_MEM:
        if (k >= BPF_MEMWORDS) return std::nullopt;
        x = mem[k];
        break;
      case BPF_ST:
        if (k >= BPF_MEMWORDS) return std::nullopt;
        mem[k] = a;
        break;
      case BPF_STX:
        if (k >= BPF_MEMWORDS) return std::nullopt;
        mem[k] = x;
        break;
      case BPF_MISC | BPF_TAX: x = a; break;
      case BPF_MISC | BPF_TXA: a = x; break;
      case BPF_RET | BPF_K: return k;
      case BPF_RET | BPF_A: return a;
      case BPF_JMP | BPF_JA:
        pc += k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K: jump(a == k); break;
      case BPF_JMP | BPF_JEQ | BPF_X: jump(a == x); break;
      case BPF_JMP | BPF_JGT | BPF_K: jump(a > k); break;
      case BPF_JMP | BPF_JGT | BPF_X: jump(a > x); break;
      case BPF_JMP | BPF_JGE | BPF_K: jump(a >= k); break;
      case BPF_JMP | BPF_JGE | BPF_X: jump(a >= x); break;
      case BPF_JMP | BPF_JSET | BPF_K: jump((a & k) != 0); break;
      case BPF_JMP | BPF_JSET | BPF_X: jump((a & x) != 0); break;
      default: {
        if (BPF_CLASS(f.code) != BPF_ALU) return std::nullopt;
        const uint32_t v = BPF_SRC(f.code) == BPF_X ? x : k;
        switch (BPF_OP(f.code)) {
          case BPF_ADD: a += v; break;
          case BPF_SUB: a -= v; break;
          case BPF_MUL: a *= v; break;
          case BPF_DIV:
            if (v == 0) return 0;  // the kernel's filter returns 0 (kill) on division by zero
            a /= v;
            break;
          case BPF_MOD:
            if (v == 0) return 0;
            a %= v;
            break;
          case BPF_AND: a &= v; break;
          case BPF_OR: a |= v; break;
          case BPF_XOR: a ^= v; break;
          case BPF_LSH: a = v >= 32 ? 0 : a << v; break;
          case BPF_RSH: a = v >= 32 ? 0 : a >> v; break;
          case BPF_NEG: a = -a; break;
          default: return std::nullopt;
        }
      }
    }
  }
  return std::nullopt;  // fell off the end: the kernel rejects such a program
}

// Every capability gone with the fewest calls (init runs on every --unshare-pid launch, and
// the command waits for it): the bounding set while CAP_SETPCAP is still held, then one
// capset for the rest (ambient ones go with the permitted set). An init exec'd by
// start_exec_init emptied its bounding set before the exec and holds no CAP_SETPCAP now:
// a bit the kernel refuses to drop must already be gone, or confinement failed.
void drop_all_caps() {
  for (int c = 0; c <= security::last_cap(); ++c)
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL &&
        !(errno == EPERM && ::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0))
      throw_errno("Can't drop capabilities from the bounding set");
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &hdr, data) < 0) throw_errno("Can't drop capabilities");
}

// Never silent: if the supervisor cannot be told, the caller's stderr is (still open then).
void report(int channel, const std::string& text) {
  if (!send_message(channel, MsgType::Error, text)) log::error(text);
}

// Init's life once the command is released: reaps every child, forwards `set`'s signals to
// the command, and leaves with its status once it is gone.
[[noreturn]] void serve_as_init(const sigset_t& set, pid_t command, bool forward_terminal) {
  auto reap = [command] {
    for (;;) {
      int status;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      // Leaving takes the whole namespace down, orphans included.
      if (pid == command)
        ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
  };
  reap();  // the command may have finished before the mask was in place
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) reap();
    else if (should_forward(info.si_code, forward_terminal)) ::kill(command, sig);
  }
}

struct InitCall {
  const char* name;
  long nr;
  uint64_t args[6];
};

}  // namespace

std::optional<uint32_t> evaluate_seccomp_program(const std::string& program,
                                                 const ::seccomp_data& data) {
  return run_filter(program, data);
}

std::string audit_handover_denied(const std::string& program) {
  const uint32_t arch = native_audit_arch();
  if (arch == 0) return "";
  seccomp_data d{};
  d.nr = SYS_sendmsg;
  d.arch = arch;
  d.args[0] = 3;
  d.args[1] = 0x7ffc0000;
  d.args[2] = MSG_NOSIGNAL;
  auto r = run_filter(program, d);
  if (!r) return "an invalid program";
  uint32_t action = *r & SECCOMP_RET_ACTION_FULL;
  return action == SECCOMP_RET_ALLOW || action == SECCOMP_RET_LOG ? "" : "sendmsg";
}

std::string init_syscall_denied(const std::vector<std::string>& programs) {
  const uint32_t arch = native_audit_arch();
  if (programs.empty() || arch == 0) return "";
  // Every system call init makes once its filters are loaded, with the arguments it uses
  // (the command is usually pid 2; pointers are any valid-looking address).
  const uint64_t ptr = 0x7ffc0000;
  std::vector<InitCall> calls = {
      {"write", SYS_write, {3, ptr, 1}},
      {"close", SYS_close, {3}},
      {"rt_sigtimedwait", SYS_rt_sigtimedwait, {ptr, ptr, 0, 8}},
      {"wait4", SYS_wait4, {static_cast<uint32_t>(-1), ptr, WNOHANG, 0}},
      {"exit_group", SYS_exit_group, {0}},
  };
  for (int s : kForwardedSignals) calls.push_back({"kill", SYS_kill, {2, static_cast<uint64_t>(s)}});
  for (const auto& c : calls) {
    seccomp_data d{};
    d.nr = static_cast<int>(c.nr);
    d.arch = arch;
    std::memcpy(d.args, c.args, sizeof d.args);
    for (size_t i = 0; i < programs.size(); ++i) {
      auto r = run_filter(programs[i], d);
      if (!r) return std::string("an invalid program (filter ") + std::to_string(i + 1) + ")";
      uint32_t action = *r & SECCOMP_RET_ACTION_FULL;
      if (action != SECCOMP_RET_ALLOW && action != SECCOMP_RET_LOG)
        return std::string(c.name) + " (filter " + std::to_string(i + 1) + ")";
    }
  }
  return "";
}

void init_main(const InitParams& p) {
  try {
    // Security: pid 1 shares the command's uid and user namespace, so the command could
    // otherwise ptrace it or write its /proc/1/mem and run code outside its own filters,
    // or clear its parent-death signal. Before the command may run, init is:
    // non-dumpable (no ptrace, no /proc/1/mem, /proc/1/fd for the same uid),
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) throw_errno("init: prctl(PR_SET_DUMPABLE)");
    // without capabilities (nothing to borrow), bounding set included,
    drop_all_caps();
    // unable to gain privileges through execve,
    security::set_no_new_privs();
  } catch (const std::exception& e) {
    report(p.channel, std::string("Can't confine the sandbox's init (pid 1): ") + e.what());
    ::_exit(1);
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (int s : kForwardedSignals) {
    // The kernel drops signals to a namespace's pid 1 that has no handler, even blocked
    // ones; a handler makes them queue so sigwaitinfo can take them.
    struct sigaction sa {};
    sa.sa_handler = noop_handler;
    ::sigaction(s, &sa, nullptr);
    sigaddset(&set, s);
  }
  ::sigprocmask(SIG_BLOCK, &set, nullptr);

  // Security: init holds nothing the command could borrow: no fds but --sync-fd (which
  // must stay open for the sandbox's lifetime) and, until it is confined, the channel to
  // report a failure and the pipe that releases the command.
  // stderr, too, for a failure the channel cannot carry.
  close_all_except({p.keep_fd, p.channel, p.ready_fd, STDERR_FILENO});

  // and under the command's seccomp programs, loaded last: the supervisor checked that
  // they allow every call made from here on (init_syscall_denied).
  try {
    for (const auto& prog : *p.seccomp_programs) security::load_bpf_program(prog);
  } catch (const std::exception& e) {
    report(p.channel, std::string("Can't confine the sandbox's init (pid 1): ") + e.what());
    ::_exit(1);
  }
  // Release the command: only now may it run.
  char ok = 1;
  if (p.ready_fd >= 0) {
    while (::write(p.ready_fd, &ok, 1) < 0 && errno == EINTR) {
    }
    ::close(p.ready_fd);
  }
  if (p.channel >= 0) ::close(p.channel);
  if (p.keep_fd != STDERR_FILENO) ::close(STDERR_FILENO);

  serve_as_init(set, p.command, p.forward_terminal_signals);
}

// The released side: waits for init's byte. EOF means init failed (and said why on the
// channel) or is gone; the command must not run then.
void wait_for_init(int ready_fd) {
  char c;
  ssize_t n;
  while ((n = ::read(ready_fd, &c, 1)) < 0 && errno == EINTR) {
  }
  ::close(ready_fd);
  if (n != 1) ::_exit(1);
}

std::string encode_programs(const std::vector<std::string>& programs) {
  std::string out;
  for (const auto& prog : programs) {
    const auto n = static_cast<uint32_t>(prog.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out += prog;
  }
  return out;
}

std::optional<std::vector<std::string>> decode_programs(std::string_view data) {
  std::vector<std::string> programs;
  while (!data.empty()) {
    uint32_t n;
    if (data.size() < sizeof n) return std::nullopt;
    std::memcpy(&n, data.data(), sizeof n);
    data.remove_prefix(sizeof n);
    if (n > data.size()) return std::nullopt;
    programs.emplace_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return programs;
}

namespace {

// The exec'd init's arguments, in argv order after kInitExecArg.
struct ExecInitArgs {
  pid_t command = -1;
  int channel = -1, ready_fd = -1, programs_fd = -1, keep_fd = -1;
  bool forward_terminal_signals = false, die_with_parent = false;
};

std::optional<ExecInitArgs> parse_exec_init_args(int argc, char** argv) {
  if (argc != 9) return std::nullopt;
  ExecInitArgs a;
  long v[6];
  for (int i = 0; i < 6; ++i) {  // "-": no such descriptor
    auto n = parse::unsigned_dec(argv[2 + i], 0x7fffffff);
    if (!n && std::string_view(argv[2 + i]) != "-") return std::nullopt;
    v[i] = n ? static_cast<long>(*n) : -1;
  }
  a.command = static_cast<pid_t>(v[0]);
  a.channel = static_cast<int>(v[1]);
  a.ready_fd = static_cast<int>(v[2]);
  a.programs_fd = static_cast<int>(v[3]);
  a.keep_fd = static_cast<int>(v[4]);
  a.forward_terminal_signals = v[5] & 1;
  a.die_with_parent = v[5] & 2;
  if (a.command <= 0 || a.channel < 0 || a.ready_fd < 0 || std::string(argv[8]) != "end")
    return std::nullopt;
  return a;
}

// The sealed memfd's whole content (written by the setup, so its offset is at the end).
std::string read_programs(int fd) {
  std::string out;
  if (::lseek(fd, 0, SEEK_SET) < 0) throw_errno("init: can't read the seccomp programs");
  if (int err = io::read_all(fd, out)) {
    errno = err;
    throw_errno("init: can't read the seccomp programs");
  }
  return out;
}

}  // namespace

int init_exec_main(int argc, char** argv) {
  // Security: non-dumpable before anything else runs in this image (the exec made us
  // dumpable). The user namespace of our mm is now the sandbox's: the caller, its owner,
  // may still open /proc/PID/ns/*; a capability-less process inside may not touch us.
  const bool nondumpable = ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  const int dumpable_errno = errno;
  auto args = parse_exec_init_args(argc, argv);
  if (!args) {
    log::error(std::string(kInitExecArg) + " is internal to " + log::program_name() +
               " (it runs the sandbox's pid 1)");
    return 1;
  }
  try {
    if (!nondumpable) {
      errno = dumpable_errno;
      throw_errno("prctl(PR_SET_DUMPABLE)");
    }
    // --die-with-parent: the exec kept the parent-death signal (no privilege changed);
    // set it again, and leave if the supervisor (the channel's other end) is already gone.
    if (args->die_with_parent) {
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_PDEATHSIG)");
      pollfd pfd{args->channel, POLLRDHUP, 0};
      if (::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLRDHUP))) ::_exit(1);
    }
    ::prctl(PR_SET_NAME, argv[0], 0, 0, 0);  // the setup's comm (see exec_init), not "exe"
    std::vector<std::string> programs;
    if (args->programs_fd >= 0) {
      UniqueFd fd(args->programs_fd);
      auto decoded = decode_programs(read_programs(fd.get()));
      if (!decoded) throw Error("init: the seccomp programs came garbled");
      programs = std::move(*decoded);
    }
    static std::vector<std::string> kept;  // init_main keeps a pointer; it never returns
    kept = std::move(programs);
    InitParams p;
    p.command = args->command;
    p.forward_terminal_signals = args->forward_terminal_signals;
    p.keep_fd = args->keep_fd;
    p.channel = args->channel;
    p.ready_fd = args->ready_fd;
    p.seccomp_programs = &kept;
    init_main(p);
  } catch (const std::exception& e) {
    report(args->channel, std::string("Can't confine the sandbox's init (pid 1): ") + e.what());
  }
  ::_exit(1);
}

}  // namespace sb::launch
