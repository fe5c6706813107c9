// `exec`: a second process in a running container (runc's `exec [--process F | ID ARGS]`).
//
// The process is described as runc describes it: process.json (--process), or the
// container's own config.json process with the command line's edits (args, -e appended,
// --cwd, -u, --cap added). That object goes through the same mapping as config.json
// (map_config, with the saved config.json's other members), so exactly the same members
// are accepted or refused. It then runs confined at least as the container's command: the
// confinement the container's supervisor saved at create (exec.json: capabilities,
// rlimits, cgroups; seccomp.bpf: the compiled seccomp programs) is applied, and the
// process may narrow it, never widen it (a capability the container lacks, or a hard
// limit above the container's, is an error).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oci/config.hpp"
#include "spec/spec.hpp"

namespace sb::oci {

// The exec command line.
struct ExecRequest {
  std::string id;
  std::vector<std::string> args;              // after the ID
  std::optional<std::string> process_file;    // --process
  bool detach = false;                        // --detach/-d
  std::string pid_file;                       // --pid-file
  std::vector<std::string> env;               // --env/-e K=V, in order
  std::optional<std::string> cwd;             // --cwd
  std::optional<std::string> user;            // --user/-u UID[:GID]
  std::vector<uint64_t> additional_gids;      // --additional-gids/-g G[,G...], repeatable
  bool tty = false;                           // --tty/-t
  std::optional<std::string> console_socket;  // --console-socket
  std::vector<std::string> caps;              // --cap, as given
  bool no_new_privs = false;                  // --no-new-privs (always set anyway)
  unsigned preserve_fds = 0;                  // --preserve-fds N
};

// Parses words[from...] (after "exec"). Throws sb::Error naming the option for an unknown
// or malformed one, and for options refused outright (--process-label, --apparmor,
// --cgroup).
ExecRequest parse_exec_args(const std::vector<std::string>& words, size_t from);

// The process object (JSON text) the exec runs: `process_json` as given (--process), or
// the process of `config_json` with the command line's edits, as runc makes it. Throws
// sb::Error for a malformed -u, or --process together with ARGS or edits.
std::string exec_process(const std::string& config_json, const ExecRequest& r,
                         const std::optional<std::string>& process_json);

// Maps `process` as config.json's process (the saved config.json's other members kept):
// the Spec's command, env, cwd, ids, umask, capabilities and rlimits. A refused member is
// an Error naming "process.json: process.<path>".
Config map_exec(const std::string& config_json, const std::string& process, const MapInput& in);

// What the container's command was confined by, saved by its supervisor at create.
struct Confinement {
  uint64_t caps = 0;  // bit N = capability N: bounding = permitted = effective
  std::vector<RlimitSetting> rlimits;
  std::vector<std::string> seccomp_programs;  // compiled, in load order (seccomp.bpf)
  bool landlock = false;  // the command was under Landlock (exec refuses: not carried over)
  bool cgroup = false;    // the container lives in cgroups sandbox made for its limits
  std::string exec_label;  // process.selinuxLabel of the command ("" without)
};
std::string confinement_json(const Confinement& c);  // without the seccomp programs
// Throws sb::Error for a malformed document.
Confinement parse_confinement(const std::string& json_text);

// Throws when either the container's command or the exec's process has an SELinux label
// (process.selinuxLabel): exec does not apply one yet, and a process without the
// container's label would be less confined than its command.
void check_exec_label(const std::string& container_label, const std::optional<std::string>& exec_label);

// The exec's capabilities when `wanted` (from its process) is within the container's;
// else an Error naming the capabilities the container was not given.
uint64_t exec_caps(uint64_t wanted, uint64_t container);

// The rlimits the exec's process gets: the container's, then each of `wanted` that is not
// above the container's hard limit for the same resource (else an Error naming it).
std::vector<RlimitSetting> exec_rlimits(const std::vector<RlimitSetting>& container,
                                        const std::vector<RlimitSetting>& wanted);

// process.terminal and process.consoleSize, taken out of the process object (JSON text,
// rewritten without them): the runtime, not the mapping, handles the terminal. Throws
// sb::Error for a malformed member.
struct TerminalRequest {
  bool on = false;
  unsigned rows = 0, cols = 0;  // consoleSize height and width; 0 when not given
};
TerminalRequest take_terminal(std::string& process_json);

// What the runtime hands to exec_in_container once it checked the container.
struct ExecLaunch {
  int pidfd = -1;     // the container's process (its init), checked against its start time
  pid_t pid = 0;      // its host pid (for /proc/PID/ns when setns on a pidfd is missing)
  int ns_flags = 0;   // CLONE_NEW* of the namespaces that differ from ours
  std::vector<std::string> argv, env;
  std::string cwd;
  uid_t uid = 0;
  gid_t gid = 0;
  // The container's maps were written from outside (Spec::id_maps): the process takes
  // uid/gid and `groups` inside (ns::enter_mapped_ids) with the capabilities joining its
  // user namespace gave it. Otherwise it must already be uid/gid there, as the runtime is.
  bool switch_ids = false;
  std::optional<std::vector<gid_t>> groups;  // process.user.additionalGids
  mode_t umask = 022;
  uint64_t caps = 0;
  std::vector<RlimitSetting> rlimits;
  std::vector<std::string> seccomp_programs;
  std::vector<std::string> cgroup_procs;  // cgroup.procs files to join before entering
  unsigned preserve_fds = 0;
  int console = -1;  // connected --console-socket: the process sends its pty's master there
  unsigned rows = 0, cols = 0;
  bool detach = false;
  std::string pid_file;
};

// Runs the process in the container's namespaces. Without detach: returns its status
// (128+N when signal N killed it). With detach: writes its host pid to pid_file once it
// has exec'd and returns 0; the process is reparented to the caller's subreaper. Throws
// sb::Error when the process could not be started.
int exec_in_container(const ExecLaunch& l);

}  // namespace sb::oci
