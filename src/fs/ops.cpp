#include "fs/ops.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <memory>

#include "fs/mountapi.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/parse.hpp"

namespace sb::fs {
namespace {

void chmod_fd(int fd, unsigned mode, const std::string& path) {
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
  if (::syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0) return;
  if (errno != ENOSYS && errno != EINVAL) throw_errno("Can't chmod " + path);
  if (::chmod(fd_path(kOldProc, fd).c_str(), mode) < 0) throw_errno("Can't chmod " + path);
}

// The kernel's overflow uid or gid ("uid", "gid"): what an unmapped owner shows as.
// open/read, not an ifstream: the first iostream of a process builds the C++ locale
// (dozens of facets, a tenth of the setup child's page faults), on every --proc launch.
unsigned overflow_id(const char* which) {
  auto id = parse::number_file((std::string(kOldProc) + "/sys/kernel/overflow" + which).c_str());
  return id && *id <= UINT32_MAX ? static_cast<unsigned>(*id) : 65534;
}

bool owner_mapped(int fd) {
  static const unsigned uid = overflow_id("uid"), gid = overflow_id("gid");
  struct stat st;
  if (::fstat(fd, &st) < 0) return true;  // cannot tell: cover
  return st.st_uid != uid || st.st_gid != gid;
}

// access(2) W_OK on a staged path, as bwrap judges it: EACCES, EROFS and ENOENT mean
// the sandbox cannot write it.
bool writable(int fd) {
  if (::access(fd_path(kOldProc, fd).c_str(), W_OK) == 0) return true;
  return errno != EACCES && errno != EROFS && errno != ENOENT;
}

}  // namespace

// ---- pure rules ----

unsigned op_perms(const FsOp& fsop) {
  if (auto* d = std::get_if<DirOp>(&fsop)) return d->perms.value_or(0755);
  if (auto* t = std::get_if<TmpfsOp>(&fsop)) return t->perms.value_or(0755);
  if (auto* f = std::get_if<DataOp>(&fsop))
    return f->perms.value_or(f->kind == DataOp::Kind::File ? 0666 : 0600);
  return 0;
}

mode_t parent_mode_for(unsigned perms) {
  mode_t mode = 0755;
  if ((perms & 070) == 0) mode &= ~070;
  if ((perms & 07) == 0) mode &= ~07;
  return mode;
}

uint64_t bind_attrs(BindOp::Mode mode, bool by_fd, bool noexec) {
  // Security: binds never honour setuid bits, and only --dev-bind may expose devices.
  uint64_t attrs = MOUNT_ATTR_NOSUID;
  if (noexec) attrs |= MOUNT_ATTR_NOEXEC;
  if (by_fd || mode != BindOp::Mode::Devices) attrs |= MOUNT_ATTR_NODEV;
  if (mode == BindOp::Mode::ReadOnly) attrs |= MOUNT_ATTR_RDONLY;
  return attrs;
}

std::string mode_str(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0%o", mode);
  return buf;
}

FsOptions tmpfs_options(unsigned perms, std::optional<uint64_t> size,
                        const std::optional<std::string>& label) {
  FsOptions opts{{"mode", mode_str(perms)}};
  if (size) opts.emplace_back("size", std::to_string(*size));
  if (label) opts.emplace_back("context", *label);  // SELinux
  return opts;
}

FsOptions overlay_options(OverlayOp::Kind kind, const std::vector<std::string>& lowers,
                          const std::string& upper, const std::string& work) {
  std::string lower;
  for (auto it = lowers.rbegin(); it != lowers.rend(); ++it) {
    if (!lower.empty()) lower += ':';
    lower += *it;
  }
  FsOptions opts{{"lowerdir", lower}};
  if (kind != OverlayOp::Kind::ReadOnly) {
    opts.emplace_back("upperdir", upper);
    opts.emplace_back("workdir", work);
    opts.emplace_back("userxattr", "");
  }
  return opts;
}

// ---- the ops ----

void OpApplier::apply(const FsOp& fsop) {
  // Ops without a mode (binds, --symlink, --proc, --dev, --mqueue, overlays) count as
  // mode 0, so their new parents are 0700.
  roots_.set_parent_mode(parent_mode_for(op_perms(fsop)));
  std::visit([this](const auto& o) { op(o); }, fsop);
}

void OpApplier::op(const BindOp& o) {
  if (o.source_fd >= 0) return bind_fd(o);
  UniqueFd src = roots_.open_source(o.source);
  if (!src) {
    if (errno == ENOENT && o.allow_missing) return;
    throw_errno("Can't find source path " + o.source);
  }
  struct stat st;
  if (::fstat(src.get(), &st) < 0) throw_errno("Can't stat " + o.source);
  UniqueFd mp = roots_.ensure_mountpoint(o.dest, S_ISDIR(st.st_mode));
  mnt_.bind(src.get(), mp.get(), true, bind_attrs(o.mode, false, o.noexec),
            "Can't bind mount " + o.source + " on " + o.dest);
}

// --bind-fd: the caller's descriptor lives in the caller's mount namespace, which the
// kernel will not clone from here; its path is looked up again in our copy of that
// namespace, and the copy is used only if it is exactly the same inode (a racing rename
// cannot redirect the bind).
void OpApplier::bind_fd(const BindOp& o) {
  struct stat want, got;
  if (::fstat(o.source_fd, &want) < 0) throw_errno(o.option + ": can't stat " + o.source);
  char buf[PATH_MAX];
  ssize_t n = ::readlink(fd_path(kOldProc, o.source_fd).c_str(), buf, sizeof buf - 1);
  if (n <= 0 || buf[0] != '/')
    throw Error(o.option + ": " + o.source + " has no path in the caller's namespace");
  std::string path(buf, static_cast<size_t>(n));
  UniqueFd src = roots_.open_source(path);
  if (!src || ::fstat(src.get(), &got) < 0 || got.st_dev != want.st_dev ||
      got.st_ino != want.st_ino)
    throw Error(o.option + ": " + o.source + " (" + path +
                ") was moved or replaced; refusing to bind a different file");
  UniqueFd mp = roots_.ensure_mountpoint(o.dest, S_ISDIR(want.st_mode));
  mnt_.bind(src.get(), mp.get(), true, bind_attrs(o.mode, true, o.noexec),
            "Can't bind mount " + path + " on " + o.dest);
}

void OpApplier::op(const RemountRoOp& o) {
  UniqueFd fd = roots_.open_new(o.dest, O_PATH);
  if (!fd) throw_errno("Can't remount " + o.dest + " read-only");
  mnt_.remount_ro(fd.get(), "Can't remount " + o.dest + " read-only");
}

void OpApplier::op(const CoverOp& o) {
  UniqueFd fd = roots_.open_new(o.dest, O_PATH);
  if (!fd) {
    if (errno == ENOENT) return;  // as runc: a path this root (or kernel) does not have
    throw_errno("Can't find " + o.dest + " to " +
                (o.kind == CoverOp::Kind::ReadOnly ? "make read-only" : "mask"));
  }
  if (o.kind == CoverOp::Kind::ReadOnly) {
    // Bound onto itself, so that a path that is not a mount point can be made read-only;
    // recursive, so nothing below it stays writable.
    mnt_.bind(fd.get(), fd.get(), true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
              "Can't make " + o.dest + " read-only");
    return;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) throw_errno("Can't stat " + o.dest);
  const std::string what = "Can't mask " + o.dest;
  if (S_ISDIR(st.st_mode)) {
    // Security: an empty, read-only tmpfs hides the directory's content.
    mnt_.mount_fs("tmpfs", {{"mode", "0555"}},
                  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                  fd.get(), what);
    return;
  }
  // Anything else reads as the host's /dev/null (a device node, so not nodev), read-only.
  UniqueFd null = roots_.open_source("/dev/null");
  if (!null) throw_errno(what + ": can't open /dev/null");
  mnt_.bind(null.get(), fd.get(), false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
            what);
}

namespace {

// Owner, mode (not for a symbolic link) and times of `st` onto `name` in `dir`, a fresh
// tmpfs nothing else can reach yet (so fchmodat's following is harmless: `name` is what we
// just made).
void keep_attributes(int dir, const char* name, const struct stat& st, const std::string& where) {
  if (::fchownat(dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    throw_errno(where + ": tmpcopyup: can't keep its owner " + std::to_string(st.st_uid) + ":" +
                std::to_string(st.st_gid));
  if (!S_ISLNK(st.st_mode) && ::fchmodat(dir, name, st.st_mode & 07777, 0) < 0)
    throw_errno(where + ": tmpcopyup: can't keep its mode");
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW) < 0)
    throw_errno(where + ": tmpcopyup: can't keep its times");
}

// OCI's tmpcopyup: copies what directory `from` holds into `to` (a fresh tmpfs), keeping
// owners, modes and times. Nothing is followed: entries are opened O_NOFOLLOW relative to
// their directory, links are copied as links. Files, directories and symbolic links only;
// anything else (a device, a fifo, a socket) is an error naming it.
void copy_tree(int from, int to, const std::string& where, int depth) {
  if (depth > 128) throw Error(where + ": tmpcopyup: more than 128 directories deep");
  UniqueFd listing(::openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = listing ? ::fdopendir(listing.get()) : nullptr;
  if (!d) throw_errno(where + ": tmpcopyup: can't list it");
  listing.release();
  std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = where + "/" + name;
    struct stat st;
    if (::fstatat(from, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno(path + ": tmpcopyup");
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(to, e->d_name, 0700) < 0) throw_errno(path + ": tmpcopyup: mkdir");
      UniqueFd sub_from(::openat(from, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_to(::openat(to, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_from || !sub_to) throw_errno(path + ": tmpcopyup: open");
      copy_tree(sub_from.get(), sub_to.get(), path, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd in(::openat(from, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd out(::openat(to, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!in || !out) throw_errno(path + ": tmpcopyup: open");
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(in.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(path + ": tmpcopyup: read");
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
          ssize_t w = ::write(out.get(), buf + off, static_cast<size_t>(n - off));
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) throw_errno(path + ": tmpcopyup: write");
          off += w;
        }
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1, '\0');
      ssize_t n = ::readlinkat(from, e->d_name, target.data(), target.size());
      if (n < 0 || static_cast<size_t>(n) >= target.size()) throw_errno(path + ": tmpcopyup: readlink");
      target.resize(static_cast<size_t>(n));
      if (::symlinkat(target.c_str(), to, e->d_name) < 0) throw_errno(path + ": tmpcopyup: symlink");
    } else {
      throw Error(path + ": tmpcopyup copies files, directories and symbolic links; this is "
                         "none of them");
    }
    keep_attributes(to, e->d_name, st, path);
  }
}

}  // namespace

void OpApplier::op(const TmpfsOp& o) {
  // tmpcopyup: the directory as it is before the tmpfs hides it (a descriptor of it still
  // reads the lower directory once the tmpfs is mounted on top).
  UniqueFd below;
  struct stat below_st{};
  if (o.copy_up) {
    below = roots_.open_new(o.dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!below && errno != ENOENT) throw_errno("Can't open " + o.dest + " for tmpcopyup");
    if (below && ::fstat(below.get(), &below_st) < 0) throw_errno("Can't stat " + o.dest);
  }
  UniqueFd mp = roots_.ensure_mountpoint(o.dest, true);
  const unsigned perms = o.perms.value_or(below ? below_st.st_mode & 07777 : 0755);
  mnt_.mount_fs("tmpfs", tmpfs_options(perms, o.size, env_.file_label),
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (o.noexec ? MOUNT_ATTR_NOEXEC : 0),
                mp.get(), "Can't mount tmpfs on " + o.dest);
  if (!below) return;
  UniqueFd top = roots_.open_new(o.dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!top) throw_errno("Can't open the tmpfs on " + o.dest);
  copy_tree(below.get(), top.get(), o.dest, 0);
  // The tmpfs's root: the directory's owner (its mode is the mount's mode= above).
  if (::fchown(top.get(), below_st.st_uid, below_st.st_gid) < 0)
    throw_errno(o.dest + ": tmpcopyup: can't keep its owner");
}

void OpApplier::op(const ProcOp& o) {
  UniqueFd mp = roots_.ensure_mountpoint(o.dest, true);
  // bwrap names the staging path in this message; scripts match on it.
  const std::string what = "Can't mount proc on /newroot" + o.dest;
  if (env_.own_pidns) {
    // Security: a PID namespace of its own gets a procfs of its own or nothing: never the
    // caller's, which would show every process of the host (fail closed, as bwrap).
    mnt_.mount_fs("proc", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                  mp.get(), what);
  } else {
    // Sharing the caller's PID namespace, the command sees its processes anyway: bind the
    // caller's /proc with everything mounted over it (masked entries stay masked), as bwrap.
    UniqueFd src = roots_.open_source("/proc");
    if (!src) throw_errno(what);
    mnt_.bind(src.get(), mp.get(), true, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
              what);
  }
  cover_proc_knobs(o.dest);
}

// Security: sys, sysrq-trigger, irq and bus hold host-wide kernel knobs owned by the
// host's root. They are covered read-only only where the sandbox could write them, as
// bwrap does: where their owner is mapped in our user namespace (a root caller), or
// access(2) says so. An unmapped owner shows as the overflow ids, and capabilities in a
// user namespace never reach its files. A cover anywhere under a procfs makes the
// kernel refuse every later procfs mount inside ("not fully visible"), which would
// break a sandbox or `unshare --mount-proc` nested in this one.
void OpApplier::cover_proc_knobs(const std::string& dest) {
  for (const char* sub : {"sys", "sysrq-trigger", "irq", "bus"}) {
    std::string path = dest + "/" + sub;
    UniqueFd fd = roots_.open_new(path, O_PATH);
    if (!fd) continue;
    // --userns2: the command's final namespace may map the owner; cover.
    if (!env_.cover_proc_always && !owner_mapped(fd.get()) && !writable(fd.get())) continue;
    mnt_.bind(fd.get(), fd.get(), true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
              "Can't make " + path + " read-only");
  }
}

void OpApplier::op(const DevOp& o) {
  UniqueFd mp = roots_.ensure_mountpoint(o.dest, true);
  mnt_.mount_fs("tmpfs", tmpfs_options(0755, o.size, env_.file_label),
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (o.noexec ? MOUNT_ATTR_NOEXEC : 0), mp.get(),
                "Can't mount tmpfs on " + o.dest);
  UniqueFd dev = roots_.open_new(o.dest, O_PATH | O_DIRECTORY);
  if (!dev) throw_errno("Can't open " + o.dest);
  dev_nodes(dev.get(), o.dest);
  const std::pair<const char*, const char*> links[] = {
      {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"}, {"fd", "/proc/self/fd"},
      {"core", "/proc/kcore"},       {"ptmx", "pts/ptmx"}};
  for (const auto& [name, target] : links) {
    if (::symlinkat(target, dev.get(), name) < 0)
      throw_errno("Can't create symlink " + o.dest + "/" + name);
  }
  if (::mkdirat(dev.get(), "shm", 01777) < 0 || ::fchmodat(dev.get(), "shm", 01777, 0) < 0)
    throw_errno("Can't create " + o.dest + "/shm");
  if (::mkdirat(dev.get(), "pts", 0755) < 0) throw_errno("Can't create " + o.dest + "/pts");
  UniqueFd pts = roots_.open_new(o.dest + "/pts", O_PATH | O_DIRECTORY);
  if (!pts) throw_errno("Can't open " + o.dest + "/pts");
  // A private devpts instance: the sandbox cannot see or open the host's terminals.
  mnt_.mount_fs("devpts", {{"newinstance", ""}, {"ptmxmode", "0666"}, {"mode", "620"}},
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, pts.get(),
                "Can't mount devpts on " + o.dest + "/pts");
  if (!env_.tty.empty()) {
    UniqueFd src = roots_.open_source(env_.tty);
    if (src) {
      UniqueFd target = roots_.ensure_mountpoint(o.dest + "/console", false);
      mnt_.bind(src.get(), target.get(), false, MOUNT_ATTR_NOSUID,
                "Can't bind mount " + env_.tty + " on " + o.dest + "/console");
    }
  }
}

// Device nodes are bound from the host: a user namespace cannot create them. Not noexec
// (as bwrap): JITs map /dev/zero with PROT_EXEC, which noexec refuses.
void OpApplier::dev_nodes(int dev, const std::string& dest) {
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string host = std::string("/dev/") + node;
    UniqueFd src = roots_.open_source(host);
    if (!src) throw_errno("Can't find host device " + host);
    // The mount point is created in the tmpfs just mounted, through our descriptor of it:
    // nothing else can be there, so no path walk inside the root is needed (one call
    // instead of four per node).
    UniqueFd target(
        ::openat(dev, node, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444));
    if (!target) throw_errno("Can't create file " + dest + "/" + node);
    mnt_.bind(src.get(), target.get(), false, MOUNT_ATTR_NOSUID,
              "Can't bind mount " + host + " on " + dest + "/" + node);
  }
}

void OpApplier::op(const MqueueOp& o) {
  UniqueFd mp = roots_.ensure_mountpoint(o.dest, true);
  mnt_.mount_fs("mqueue", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, mp.get(),
                "Can't mount mqueue on " + o.dest);
}

void OpApplier::op(const DirOp& o) {
  // An existing directory keeps its mode (bwrap: use --chmod to change it).
  if (roots_.open_new(o.dest, O_PATH | O_DIRECTORY)) return;
  UniqueFd fd = roots_.ensure_dir(o.dest);
  chmod_fd(fd.get(), o.perms.value_or(0755), o.dest);
}

void OpApplier::op(const SymlinkOp& o) {
  UniqueFd parent = roots_.ensure_dir(parent_of(o.dest));
  std::string name = base_of(o.dest);
  if (::symlinkat(o.target.c_str(), parent.get(), name.c_str()) == 0) return;
  if (errno != EEXIST) throw_errno("Can't make symlink at " + o.dest);
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(parent.get(), name.c_str(), buf, sizeof buf - 1);
  if (n < 0) throw Error("Can't make symlink at " + o.dest + ": it exists and is not a symlink");
  std::string existing(buf, static_cast<size_t>(n));
  if (existing != o.target)  // bwrap's words first: its callers match them
    throw Error("Can't make symlink at " + o.dest + ": existing destination is " + existing +
                "\n(--symlink " + o.target + " " + o.dest +
                " keeps an existing symlink only when it has the same target)");
}

void OpApplier::op(const ChmodOp& o) {
  UniqueFd fd = roots_.open_new(o.path, O_PATH);
  if (!fd) throw_errno("Can't chmod " + o.path);
  chmod_fd(fd.get(), o.mode, o.path);
}

}  // namespace sb::fs
