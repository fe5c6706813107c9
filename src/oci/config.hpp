// An OCI bundle's config.json (runtime spec v1.2) mapped onto the same Spec the command
// line builds, so that a container runs through the one plan/launch path. Pure: no file
// is opened here (the runtime, oci/runtime.cpp, reads config.json and opens what the
// mapping names), so every mapped and every refused field is unit tested.
//
// Every member the mapping does not implement is an error naming its JSON path
// ("config.json: linux.devices: not supported yet"), never silently ignored; the only
// members read and not acted on are the informational ones (annotations, ociVersion,
// mount "type" where the options already say "bind").
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "spec/spec.hpp"
#include "util/error.hpp"

namespace sb::oci {

// A field config.json holds and sandbox cannot honour, or a malformed one.
class ConfigError : public Error {
 public:
  ConfigError(const std::string& path, const std::string& why)
      : Error("config.json: " + path + ": " + why), path_(path) {}
  const std::string& path() const { return path_; }  // JSON path: "mounts[2].options[1]"

 private:
  std::string path_;
};

// What the mapping needs to know about the caller.
struct MapInput {
  std::string bundle;  // absolute path of the bundle directory
  uid_t uid = 0;       // the caller's ids (the single id map: our own uid and gid)
  gid_t gid = 0;
  // CAP_SETUID and CAP_SETGID are effective: another uid/gid without a user namespace can
  // be taken (Spec::set_ids_in_place).
  bool can_set_ids = false;
};

// A namespace to join by path (linux.namespaces[i].path): opened by the runtime, which
// checks its type and sets the Spec's descriptor (userns_fd, pidns_fd, or one of join_ns).
struct NsJoin {
  std::string type;  // "user", "pid", "network", "ipc", "uts" or "cgroup"
  std::string path;
  std::string where;  // JSON path, for errors
};

// One entry of config.json's `hooks` (config.md, POSIX-platform hooks): run by the runtime
// (oci/hooks.hpp) with the container's state on its stdin.
struct Hook {
  std::string path;               // absolute
  std::vector<std::string> args;  // argv as given ([0] included); empty: just the path
  std::vector<std::string> env;   // the hook's whole environment, "NAME=value"
  std::optional<int> timeout_s;   // killed, and failed, after this many seconds
  std::string where;              // its JSON path, "hooks.createRuntime[0]", for errors
};

// The hook points, in lifecycle order. prestart is the deprecated name of the same point as
// createRuntime (run first).
struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() &&
           start_container.empty() && poststart.empty() && poststop.empty();
  }
};

struct Config {
  Spec spec;
  Hooks hooks;
  std::string rootfs;                       // absolute host path of root.path
  std::vector<NsJoin> joins;
  std::optional<std::string> seccomp_json;  // linux.seccomp as text: the runtime writes it
                                            // to a file the Spec names as a profile
  bool terminal = false;  // process.terminal: the runtime sets spec.console_fd
  // linux.cgroupsPath as given: not where the container goes (see map_config's note).
  std::optional<std::string> cgroups_path;
  // process.capabilities.bounding beyond permitted: not kept (see capabilities() in
  // config.cpp); the names, for a note in --log.
  std::vector<std::string> bounding_narrowed;
};

// Maps the parsed config.json. Throws ConfigError. `json_text` is config.json's content.
Config map_config(const std::string& json_text, const MapInput& in);

// Signal names as kill(1) and runc take them ("TERM", "SIGTERM", "15"); -1 when unknown.
int signal_from_name(const std::string& name);

// The spec's features document (`features`): what the mapping accepts.
std::string features_json();

}  // namespace sb::oci
