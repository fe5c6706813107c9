// The OCI runtime command line (runc's and crun's: global options, then create / start /
// state / kill / delete / run / list / features), as `sandbox-runc ARGS` (a second name of
// the sandbox binary, what engines such as Podman exec with --runtime PATH) and
// `sandbox oci ARGS` (the same code, for people).
//
// A container is the ordinary sandbox launch: config.json becomes a Spec (oci/config.hpp),
// which goes through prepare / probe / make_plan / launch::run like any command line.
// `create` forks that launch's supervisor and returns once the container's process is set
// up and waiting on the state directory's exec.fifo (sandbox's --block-fd), which `start`
// writes. The supervisor, not the container's process, is what --pid-file names: it is the
// process a subreaper (Podman's conmon) can wait for, and it exits with the container's
// status (dying of the same signal when a signal killed it).
#pragma once
#include <string>
#include <vector>

namespace sb::oci {

// `args`: the words after the program name (sandbox-runc) or after `oci` (sandbox oci).
// Returns the exit status.
int runtime_main(const std::vector<std::string>& args);

// The --help text; `prog` is how the runtime was invoked ("sandbox-runc", "sandbox oci").
std::string runtime_usage(const std::string& prog);

// True when `id` may name a container: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes
// (it names a directory under --root, so no '/' and no "..").
bool valid_container_id(const std::string& id);

// The state document (`state ID`) from its parts; pid 0 unless created or running.
std::string state_json(const std::string& id, const std::string& status, long pid,
                       const std::string& bundle, const std::string& created);

// True when `uid_map` (the text of /proc/self/uid_map) is the initial user namespace's:
// the one line "0 0 4294967295". Pure.
bool initial_uid_map(const std::string& uid_map);

// The default --root: /run/sandbox-oci for root (euid 0) in the initial user namespace;
// otherwise, and so also for uid 0 inside a user namespace (rootless Podman runs its
// runtime so), $XDG_RUNTIME_DIR/sandbox-oci, as crun does. "" when that is needed and
// `xdg_runtime_dir` is unset, empty or relative. Pure.
std::string default_root(bool euid0, bool initial_userns, const char* xdg_runtime_dir);

}  // namespace sb::oci
