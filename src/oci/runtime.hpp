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

}  // namespace sb::oci
