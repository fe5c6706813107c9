#include "fs/roots.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

namespace sb::fs {
namespace {

// A mount point that can't be created because its parent is read-only inside (a
// --ro-bind of a host tree, a --remount-ro): say the rule and the ways out.
[[noreturn]] void throw_create(const std::string& what, const std::string& path) {
  int err = errno;
  if (err != EROFS) throw SysError(what, err);
  throw Error(what + ": " + std::strerror(err) + " (" + parent_of(path) +
              " is read-only in the sandbox, so the mount point " + path +
              " can't be made there: create it in the tree bound there, mount a tmpfs or a "
              "writable layer on " + parent_of(path) +
              " first, or give the root a writable layer with --overlay-src / --tmp-overlay /"
              " instead of --ro-bind / /)");
}

}  // namespace

void Roots::open() {
  oldroot_.reset(::open(old_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  newroot_.reset(::open(new_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!oldroot_ || !newroot_) throw_errno("Can't open the staging roots");
  if (struct stat st; ::fstat(newroot_.get(), &st) == 0) newroot_dev_ = st.st_dev;
}

void Roots::reopen_new() {
  newroot_.reset(::open(new_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!newroot_) throw_errno("Can't open the new root");
}

void Roots::close() {
  oldroot_.reset();
  newroot_.reset();
}

UniqueFd Roots::open_new(const std::string& dest, int flags) const {
  return UniqueFd(resolver_.open(newroot_.get(), dest, flags));
}

UniqueFd Roots::open_source(const std::string& src) const {
  int fd = resolver_.open(oldroot_.get(), src, O_PATH);
  if (fd < 0 && (errno == ELOOP || errno == EXDEV) && resolver_.uses_openat2())
    fd = ::open((old_path_ + src).c_str(), O_PATH | O_CLOEXEC);
  return UniqueFd(fd);
}

UniqueFd Roots::ensure_dir(const std::string& dir, std::optional<mode_t> mode) const {
  UniqueFd fd = open_new(dir, O_PATH | O_DIRECTORY);
  if (fd) return fd;
  if (errno != ENOENT) throw_errno("Can't open directory " + dir);
  UniqueFd parent = ensure_dir(parent_of(dir));
  std::string name = base_of(dir);
  if (::mkdirat(parent.get(), name.c_str(), mode.value_or(parent_mode_)) < 0 && errno != EEXIST)
    throw_create("Can't create directory " + dir, dir);
  fd = open_new(dir, O_PATH | O_DIRECTORY);
  if (!fd && errno == ENOENT)
    throw Error("Can't create directory " + dir +
                ": it is a symlink whose target does not exist inside the sandbox");
  if (!fd) throw_errno("Can't open directory " + dir);
  return fd;
}

UniqueFd Roots::ensure_mountpoint(const std::string& dest, bool dir) const {
  UniqueFd fd = open_new(dest, O_PATH);
  if (fd) return fd;
  if (errno != ENOENT) throw_errno("Can't open mount point " + dest);
  if (dir) return ensure_dir(dest, 0755);  // as bwrap: a new mount point dir is 0755
  UniqueFd parent = ensure_dir(parent_of(dest));
  std::string name = base_of(dest);
  int f = ::openat(parent.get(), name.c_str(),
                   O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444);
  if (f < 0 && errno != EEXIST) throw_create("Can't create file " + dest, dest);
  if (f >= 0) ::close(f);
  fd = open_new(dest, O_PATH);
  if (!fd) throw_errno("Can't open mount point " + dest);
  return fd;
}

}  // namespace sb::fs
