// The ops that put data into the new root: --file, --bind-data, --ro-bind-data (and
// --net's resolv.conf), and the overlays.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "fs/mountapi.hpp"
#include "fs/ops.hpp"
#include "util/error.hpp"
#include "util/io.hpp"
#include "util/log.hpp"

namespace sb::fs {
namespace {

// Copies everything readable from `from` into `to`.
void copy_fd(int from, int to, const std::string& what) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("Can't read the data for " + what);
    if (n == 0) return;
    if (!io::write_all(to, {buf, static_cast<size_t>(n)})) throw_errno("Can't write " + what);
  }
}

}  // namespace

// Where --net's resolv.conf goes. A read-only /etc whose resolv.conf is a symlink with
// no target inside the sandbox (systemd-resolved's ../run/systemd/resolve/...) gets the
// file at the target instead, when that lies on the new root's own tmpfs: the caller's
// /etc is never written, and nothing is created in a directory bound from the host.
std::string OpApplier::resolv_conf_target(const std::string& dest) {
  std::string cur = dest;
  for (int hops = 0; hops < 8; ++hops) {
    if (roots_.open_new(cur, O_PATH)) return cur;  // exists (inside): mount over it
    UniqueFd parent = roots_.open_new(parent_of(cur), O_PATH | O_DIRECTORY);
    char buf[PATH_MAX];
    ssize_t n = parent ? ::readlinkat(parent.get(), base_of(cur).c_str(), buf, sizeof buf - 1)
                       : -1;
    if (n <= 0) {
      if (hops == 0) return dest;  // not a symlink: the normal path creates it
      // A dangling symlink's target: create it only on the new root's own tmpfs.
      struct stat anc_st;
      std::string anc = parent_of(cur);
      UniqueFd a = roots_.open_new(anc, O_PATH | O_DIRECTORY);
      while (!a && anc != "/") {
        anc = parent_of(anc);
        a = roots_.open_new(anc, O_PATH | O_DIRECTORY);
      }
      if (a && roots_.newroot_dev() && ::fstat(a.get(), &anc_st) == 0 &&
          anc_st.st_dev == roots_.newroot_dev())
        return cur;
      return dest;
    }
    std::string target(buf, static_cast<size_t>(n));
    // Lexically: every later open resolves inside the new root anyway.
    std::string next = lexically_normal(target[0] == '/' ? target : parent_of(cur) + "/" + target);
    if (next.empty()) return dest;
    cur = next;
  }
  return dest;
}

void OpApplier::op(const DataOp& o) {
  if (o.best_effort) {  // --net's resolv.conf: only where the new root has the directory
    if (!roots_.open_new(parent_of(o.dest), O_PATH | O_DIRECTORY)) return;
    DataOp strict = o;
    strict.best_effort = false;
    strict.dest = resolv_conf_target(o.dest);
    try {
      op(strict);
    } catch (const Error& e) {
      log::warning(std::string(e.what()) + " (DNS in the sandbox may not work)");
    }
    return;
  }
  std::string opt = o.kind == DataOp::Kind::File       ? "--file"
                    : o.kind == DataOp::Kind::BindData ? "--bind-data"
                                                       : "--ro-bind-data";
  unsigned mode = o.perms.value_or(o.kind == DataOp::Kind::File ? 0666 : 0600);
  if (o.kind == DataOp::Kind::File) {
    UniqueFd parent = roots_.ensure_dir(parent_of(o.dest));
    std::string name = base_of(o.dest);
    UniqueFd f(::openat(parent.get(), name.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!f) throw_errno(opt + ": can't create " + o.dest);
    copy_fd(o.fd, f.get(), o.dest);
    if (::fchmod(f.get(), mode) < 0) throw_errno(opt + ": can't chmod " + o.dest);
    return;
  }
  // The data lives in a file on the staging tmpfs, which nobody can reach once the
  // staging root is detached; the bind keeps the file itself alive.
  std::string tmp = "/bind-data-" + std::to_string(++data_files_);
  UniqueFd f(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!f) throw_errno(opt + ": can't create a file for " + o.dest);
  copy_fd(o.fd, f.get(), o.dest);
  if (::fchmod(f.get(), mode) < 0) throw_errno(opt + ": can't chmod " + o.dest);
  UniqueFd src(::open(tmp.c_str(), O_PATH | O_CLOEXEC));
  if (!src) throw_errno(opt + ": can't reopen " + tmp);
  UniqueFd mp = roots_.ensure_mountpoint(o.dest, false);
  uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (o.kind == DataOp::Kind::RoBindData) attrs |= MOUNT_ATTR_RDONLY;
  mnt_.bind(src.get(), mp.get(), false, attrs, "Can't bind mount data on " + o.dest);
}

namespace {

// overlayfs' EINVAL and EPERM say little: name the likely cause. `held` are the layers'
// fds as opened (lowers, then upper and work).
[[noreturn]] void explain_overlay_error(const SysError& e, const OverlayOp& o,
                                        const std::vector<UniqueFd>& held) {
  if (e.err() == EINVAL && o.kind == OverlayOp::Kind::ReadWrite) {
    // overlayfs wants the work dir on the upper dir's mount; the kernel only says EINVAL.
    struct stat up, work;
    size_t n = o.lowers.size();
    if (held.size() == n + 2 && ::fstat(held[n].get(), &up) == 0 &&
        ::fstat(held[n + 1].get(), &work) == 0 && up.st_dev != work.st_dev)
      throw Error(std::string(e.what()) + " (--overlay: WORKDIR " + o.work +
                  " is on another filesystem than RWSRC " + o.upper +
                  "; overlayfs needs both on the same filesystem: use an empty directory "
                  "next to RWSRC as WORKDIR)");
    throw Error(std::string(e.what()) +
                " (--overlay: WORKDIR must be an empty directory on the same filesystem "
                "as RWSRC and not inside it, and the layers must not overlap)");
  }
  if (e.err() == EPERM || e.err() == ENODEV)
    throw Error(std::string(e.what()) +
                " (this kernel does not allow overlayfs here: it needs Linux 5.11 or later "
                "inside a user namespace, and the overlay module)");
  throw;  // the SysError as it was
}

}  // namespace

void OpApplier::op(const OverlayOp& o) {
  std::string what = "Can't mount overlay on " + o.dest;
  // Layers are named through /proc/self/fd of descriptors resolved in the old root: the
  // kernel mounts exactly those directories, and no path characters (':' ',' '\\') can
  // smuggle extra mount options in.
  std::vector<UniqueFd> held;
  auto layer = [&](const std::string& host) {
    UniqueFd fd = roots_.open_source(host);
    if (!fd) throw_errno(what + ": can't open " + host);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0 || !S_ISDIR(st.st_mode))
      throw Error(what + ": " + host + " is not a directory");
    std::string path = fd_path(kOldProc, fd.get());
    held.push_back(std::move(fd));
    return path;
  };
  // Opened top layer first, as they appear in lowerdir.
  std::vector<std::string> lowers(o.lowers.size());
  for (size_t i = o.lowers.size(); i-- > 0;) lowers[i] = layer(o.lowers[i]);
  std::string upper, work;
  if (o.kind == OverlayOp::Kind::ReadWrite) {
    upper = layer(o.upper);
    work = layer(o.work);
  } else if (o.kind == OverlayOp::Kind::Tmp) {
    // Writes land on the staging tmpfs, out of reach of both the host and the sandbox.
    std::string base = "/tmp-overlay-" + std::to_string(++data_files_);
    for (const char* sub : {"", "/upper", "/work"})
      if (::mkdir((base + sub).c_str(), 0755) < 0) throw_errno(what);
    upper = base + "/upper";
    work = base + "/work";
  }
  UniqueFd mp = roots_.ensure_mountpoint(o.dest, true);
  uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (o.kind == OverlayOp::Kind::ReadOnly) attrs |= MOUNT_ATTR_RDONLY;
  try {
    mnt_.mount_fs("overlay", overlay_options(o.kind, lowers, upper, work), attrs, mp.get(), what);
  } catch (const SysError& e) {
    explain_overlay_error(e, o, held);
  }
}

}  // namespace sb::fs
