// The new-root builder: a private staging tmpfs, every FsOp in command-line order, then
// pivot_root into the result with the old root detached.
#pragma once
#include <string>
#include <vector>

#include "spec/spec.hpp"
#include "util/fd.hpp"

namespace sb::fs {

struct RootResult {
  std::vector<UniqueFd> lock_fds;  // --lock-file descriptors (OFD read locks held)
  std::string cwd;                 // working directory chosen inside
};

// Must run in a fresh mount namespace with CAP_SYS_ADMIN over it. On return the calling
// process's root is the new root and its cwd is set. host_tty is the caller's terminal
// (for /dev/console) or empty; host_cwd the caller's working directory, tried first
// as the working directory inside, then `home`, then /.
RootResult build_root(const Spec& spec, const std::string& host_tty, const std::string& host_cwd,
                      const std::string& home);

// Opens `path` below `root` with every symlink and ".." resolved as if `root` were "/"
// (openat2 RESOLVE_IN_ROOT, or an equivalent user-space walk on kernels without it).
int open_in_root(int root, const std::string& path, int flags);

}  // namespace sb::fs
