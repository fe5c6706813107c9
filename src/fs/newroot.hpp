// The new-root builder: a private staging tmpfs, every FsOp in command-line order, then
// pivot_root into the result with the old root detached.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "spec/spec.hpp"
#include "util/fd.hpp"

namespace sb::fs {

struct RootResult {
  std::vector<UniqueFd> lock_fds;  // --lock-file descriptors (OFD read locks held)
  std::string cwd;                 // working directory chosen inside
};

// Host cgroup filesystems in the new root (brought in by a bind of / or /sys), when cgroup
// limits apply: each is made read-only, so that the command can neither write its limits
// nor its pid into another cgroup.procs through it. When `refuse` is not empty (the command
// keeps CAP_SYS_ADMIN and could make one writable again, or uncover one hidden below another
// mount), finding one is an error: `refuse`, with "{}" replaced by its path inside.
struct CgroupfsPolicy {
  bool read_only = false;
  std::string refuse;
};

// Must run in a fresh mount namespace with CAP_SYS_ADMIN over it. On return the calling
// process's root is the new root and its cwd is set. host_tty is the caller's terminal
// (for /dev/console) or empty; host_cwd the caller's working directory, tried first
// as the working directory inside, then `home`, then /.
// `derived` ops (the Plan's, e.g. --net's resolv.conf) apply after the Spec's.
RootResult build_root(const Spec& spec, const std::string& host_tty, const std::string& host_cwd,
                      const std::string& home, const CgroupfsPolicy& cgroupfs = {},
                      const std::vector<FsOp>& derived = {},
                      const std::function<void()>& before_pivot = {});

}  // namespace sb::fs
