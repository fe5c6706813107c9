// The two trees the builder works in once it stands in its staging root: the host's old
// root at /oldroot, where sources are resolved, and the new root at /newroot, where
// destinations are resolved and created. Every lookup goes through the Resolver, so no
// path (or symlink in it) leaves the tree it is meant for.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>

#include "fs/resolve.hpp"
#include "util/fd.hpp"

namespace sb::fs {

inline constexpr const char* kOldRoot = "/oldroot";
inline constexpr const char* kOldProc = "/oldroot/proc";

class Roots {
 public:
  // The paths are the staging layout's; tests give directories standing in for them.
  explicit Roots(Resolver resolver, std::string old_root = kOldRoot,
                 std::string new_root = "/newroot")
      : resolver_(resolver), old_path_(std::move(old_root)), new_path_(std::move(new_root)) {}

  // Opens both roots (after the staging pivot) and notes the new root's own tmpfs.
  void open();
  // Re-opens the new root: an op may have mounted over "/" itself (--ro-bind / /), and a
  // path walk never enters a mount stacked on its start point.
  void reopen_new();
  // Drops both fds: none may cross the final pivot.
  void close();

  // The device of the new root's own tmpfs (before any op mounts on "/").
  dev_t newroot_dev() const { return newroot_dev_; }
  // Mode for missing parent directories created by the current op.
  void set_parent_mode(mode_t mode) { parent_mode_ = mode; }

  UniqueFd open_new(const std::string& dest, int flags) const;
  // Host source: resolved inside the old root so an absolute symlink on the host means
  // what it means on the host. Magic links (/proc/self/fd/N) need a plain open.
  UniqueFd open_source(const std::string& src) const;

  // Creates every missing directory of `dir` (inside the new root) and returns it: the
  // parents with the parent mode, `dir` itself with `mode` (default: the parent mode too).
  UniqueFd ensure_dir(const std::string& dir, std::optional<mode_t> mode = std::nullopt) const;
  // Returns an O_PATH fd of `dest`, creating it (a directory, or an empty file when `dir`
  // is false) and its parents when missing, to serve as a mount point.
  UniqueFd ensure_mountpoint(const std::string& dest, bool dir) const;

 private:
  Resolver resolver_;
  std::string old_path_;
  std::string new_path_;
  UniqueFd oldroot_;
  UniqueFd newroot_;
  dev_t newroot_dev_ = 0;
  mode_t parent_mode_ = 0755;
};

}  // namespace sb::fs
