// The clone sequence, the supervisor that stays outside, the init that is pid 1 inside.
#pragma once
#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.hpp"
#include "spec/spec.hpp"

struct seccomp_data;

namespace sb::launch {

// Signals the supervisor (and init) pass on to the command.
inline constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

struct ChildContext {
  int channel = -1;        // child end of the handshake
  std::string host_tty;    // the caller's terminal, for /dev/console
  std::string host_cwd;    // the caller's working directory
  pid_t supervisor = 0;
  bool unshare_pid_late = false;  // --pidns with --unshare-pid: unshare, then fork
  // The supervisor still has to move the child into its cgroups (cgroup v1, or no
  // CLONE_INTO_CGROUP) or raise its hard limits: wait for MsgType::Go before anything else.
  bool await_go = false;
  // --unshare-cgroup once in the cgroups, so the sandbox sees its own leaf as its root.
  bool unshare_cgroup_late = false;
  // Compiled seccomp programs, loaded in this order right before exec.
  std::vector<std::string> seccomp_programs;
  // What init (pid 1) loads: the same programs, but for --audit-fd the plain profile where
  // the command has the notify one (init is never under a filter whose listener it needs).
  std::vector<std::string> init_seccomp_programs;
  // --audit-fd: the index of the program the command loads with a listener, which it hands
  // to the supervisor (MsgType::AuditListener) before loading the next; -1 without.
  int audit_listener = -1;
};

// Runs the sandbox and returns the exit status for `sandbox` itself: the command's status
// (128+N when signal N killed it), or 1 when setup failed. The plan's descriptors are
// handed out here: the supervisor and the child each keep only their own. When the command
// ran and a signal killed it, `killed_by` (if given) receives the signal's number, so that
// a caller that must die the same way (the OCI runtime's supervisor) can; 0 otherwise.
int run(const Spec& spec, Plan& plan, const HostFacts& host, int* killed_by = nullptr);

// In the cloned child: every setup stage, then exec. Never returns.
[[noreturn]] void child_main(const Spec& spec, Plan& plan, const HostFacts& host,
                             const ChildContext& ctx);

// Pid 1 of a new PID namespace (and the --pidns relay): confines itself (non-dumpable, no
// capabilities, no_new_privs, the command's seccomp programs), reports a failure on
// `channel`, releases the command through `ready_fd`, then forwards signals to `command`,
// reaps every child and exits with the command's status once it is gone. Keeps only
// `keep_fd` (--sync-fd) open.
struct InitParams {
  pid_t command = -1;
  bool forward_terminal_signals = false;
  int keep_fd = -1;
  int channel = -1;
  int ready_fd = -1;  // write end; one byte once init is confined
  const std::vector<std::string>* seccomp_programs = nullptr;
};
[[noreturn]] void init_main(const InitParams& params);

// argv[1] of this binary exec'd as init inside the sandbox (see start_exec_init in
// child.cpp); main hands such an invocation to init_exec_main and nothing else.
inline constexpr const char kInitExecArg[] = "--internal-exec-init";
// The exec'd init: becomes non-dumpable first, takes its parameters from argv and the
// seccomp programs from a sealed memfd, then runs init_main. Returns only on bad arguments
// (someone ran it by hand), with the status for main.
int init_exec_main(int argc, char** argv);

// The seccomp programs as the exec'd init receives them: each as a 4-byte length (host
// order) and its bytes. decode_programs returns nullopt for anything else.
std::string encode_programs(const std::vector<std::string>& programs);
std::optional<std::vector<std::string>> decode_programs(std::string_view data);

// In the process init releases: returns once init is confined, exits 1 if it failed.
void wait_for_init(int ready_fd);

// Runs a classic BPF seccomp program on `data` as the kernel would: its SECCOMP_RET_*
// value, or nullopt for a program the kernel would not have accepted. Pure.
std::optional<uint32_t> evaluate_seccomp_program(const std::string& program,
                                                 const ::seccomp_data& data);

// The first system call (with the filter's number) that init needs once confined and one
// of `programs` denies; "" when all are allowed (or this architecture is not evaluated).
std::string init_syscall_denied(const std::vector<std::string>& programs);

// --audit-fd: "sendmsg" when the plain `program` denies the sendmsg that hands its
// listener to the supervisor (in the command's notify version that call would wait for an
// answer nobody can give yet); "" when it allows it.
std::string audit_handover_denied(const std::string& program);

// True when a signal described by si_code should be passed on: sent by a process (kill,
// sigqueue), or from the terminal when the command is in its own session and so did not
// receive it itself.
inline bool should_forward(int si_code, bool command_has_own_session) {
  return si_code <= 0 || command_has_own_session;
}

}  // namespace sb::launch
