#include "fs/newroot.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <optional>
#include <fstream>
#include <sstream>

#include "fs/mountapi.hpp"
#include "util/error.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/mountinfo.hpp"
#include "util/parse.hpp"

#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif

namespace sb::fs {
namespace {

constexpr const char* kOldRoot = "/oldroot";
constexpr const char* kOldProc = "/oldroot/proc";

std::string mode_str(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0%o", mode);
  return buf;
}

bool same_inode(int a, int b) {
  struct stat sa, sb_;
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb_) == 0 && sa.st_dev == sb_.st_dev &&
         sa.st_ino == sb_.st_ino;
}

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : p) {
    if (c == '/') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// User-space equivalent of openat2(RESOLVE_IN_ROOT) for kernels older than 5.6.
int walk_in_root(int root, const std::string& path, int flags) {
  UniqueFd cur(::fcntl(root, F_DUPFD_CLOEXEC, 3));
  if (!cur) return -1;
  std::deque<std::string> comps;
  for (auto& c : split_path(path)) comps.push_back(c);
  int links = 0;
  while (!comps.empty()) {
    std::string c = std::move(comps.front());
    comps.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!same_inode(cur.get(), root)) {  // ".." never climbs above the root
        UniqueFd up(::openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!up) return -1;
        cur = std::move(up);
      }
      continue;
    }
    UniqueFd next(::openat(cur.get(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return -1;
    struct stat st;
    if (::fstat(next.get(), &st) < 0) return -1;
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) {
        errno = ELOOP;
        return -1;
      }
      char buf[PATH_MAX];
      ssize_t n = ::readlinkat(next.get(), "", buf, sizeof buf - 1);
      if (n < 0) return -1;
      std::string target(buf, static_cast<size_t>(n));
      auto parts = split_path(target);
      comps.insert(comps.begin(), parts.begin(), parts.end());
      if (!target.empty() && target[0] == '/') {
        UniqueFd r(::fcntl(root, F_DUPFD_CLOEXEC, 3));
        if (!r) return -1;
        cur = std::move(r);
      }
      continue;
    }
    if (comps.empty() && (flags & O_PATH) == 0)
      return ::openat(cur.get(), c.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
    if ((flags & O_DIRECTORY) && comps.empty() && !S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      return -1;
    }
    cur = std::move(next);
  }
  if ((flags & O_PATH) == 0) {
    return ::openat(cur.get(), ".", flags | O_CLOEXEC);
  }
  return cur.release();
}

std::string parent_of(const std::string& p) {
  auto pos = p.find_last_of('/');
  if (pos == std::string::npos || pos == 0) return "/";
  return p.substr(0, pos);
}
std::string base_of(const std::string& p) {
  auto pos = p.find_last_of('/');
  return pos == std::string::npos ? p : p.substr(pos + 1);
}

class Builder {
 public:
  Builder(const Spec& spec, const std::string& tty, const CgroupfsPolicy& cgroupfs)
      : spec_(spec), tty_(tty), cgroupfs_(cgroupfs) {
    new_api_ = have_new_mount_api();
    openat2_ = have_openat2();
  }

  RootResult run(const std::string& host_cwd, const std::string& home);

 private:
  const Spec& spec_;
  std::string tty_;
  CgroupfsPolicy cgroupfs_;
  bool new_api_ = true;
  bool openat2_ = true;
  UniqueFd oldroot_;
  UniqueFd newroot_;
  mode_t parent_mode_ = 0755;  // for missing parent directories of the current op
  int data_files_ = 0;         // staging files for --bind-data and --tmp-overlay
  dev_t newroot_dev_ = 0;      // the new root's own tmpfs (before any op mounts on "/")

  // ---- path helpers ----
  int in_root(int root, const std::string& path, int flags) {
    if (openat2_) {
      // RESOLVE_IN_ROOT: symlinks and ".." resolve as if `root` were "/", so a path can
      // never leave the tree it is meant for.
      return sys_openat2(root, path.c_str(), static_cast<uint64_t>(flags) | O_CLOEXEC, 0,
                         RESOLVE_IN_ROOT);
    }
    return walk_in_root(root, path, flags);
  }

  UniqueFd open_new(const std::string& dest, int flags) {
    return UniqueFd(in_root(newroot_.get(), dest, flags));
  }

  // Host source: resolved inside the old root so an absolute symlink on the host means
  // what it means on the host. Magic links (/proc/self/fd/N) need a plain open.
  UniqueFd open_source(const std::string& src) {
    int fd = in_root(oldroot_.get(), src, O_PATH);
    if (fd < 0 && (errno == ELOOP || errno == EXDEV) && openat2_)
      fd = ::open((std::string(kOldRoot) + src).c_str(), O_PATH | O_CLOEXEC);
    return UniqueFd(fd);
  }

  // A mount point that can't be created because its parent is read-only inside (a
  // --ro-bind of a host tree, a --remount-ro): say the rule and the ways out.
  [[noreturn]] static void throw_create(const std::string& what, const std::string& path) {
    int err = errno;
    if (err != EROFS) throw SysError(what, err);
    throw Error(what + ": " + std::strerror(err) + " (" + parent_of(path) +
                " is read-only in the sandbox, so the mount point " + path +
                " can't be made there: create it in the tree bound there, mount a tmpfs or a "
                "writable layer on " + parent_of(path) +
                " first, or give the root a writable layer with --overlay-src / --tmp-overlay /"
                " instead of --ro-bind / /)");
  }

  // Creates every missing directory of `dir` (inside the new root) and returns it: the
  // parents with parent_mode_, `dir` itself with `mode` (default: parent_mode_ too).
  UniqueFd ensure_dir(const std::string& dir, std::optional<mode_t> mode = std::nullopt) {
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

  // Returns an O_PATH fd of DEST, creating it (a directory, or an empty file when
  // `dir` is false) and its parents when missing, to serve as a mount point.
  UniqueFd ensure_mountpoint(const std::string& dest, bool dir) {
    UniqueFd fd = open_new(dest, O_PATH);
    if (fd) return fd;
    if (errno != ENOENT) throw_errno("Can't open mount point " + dest);
    if (dir) return ensure_dir(dest, 0755);  // as bwrap: a new mount point dir is 0755
    UniqueFd parent = ensure_dir(parent_of(dest));
    std::string name = base_of(dest);
    int f = ::openat(parent.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
                                                     O_NOFOLLOW, 0444);
    if (f < 0 && errno != EEXIST) throw_create("Can't create file " + dest, dest);
    if (f >= 0) ::close(f);
    fd = open_new(dest, O_PATH);
    if (!fd) throw_errno("Can't open mount point " + dest);
    return fd;
  }

  // ---- mounting ----
  void set_tree_attrs(int tree, uint64_t attrs, bool recursive, const std::string& what) {
    MountAttr attr{};
    attr.attr_set = attrs;
    if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
      throw_errno("Can't set mount flags on " + what);
  }

  void attach(int tree, int mp, const std::string& what) {
    if (sys_move_mount(tree, "", mp, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      throw_errno(what);
  }

  // Legacy: applies flags to the mount at `path` (stage view) and, if recursive, to
  // every mount below it, keeping the flags the kernel locked.
  void legacy_remount(const std::string& path, unsigned long add, bool recursive,
                      const std::string& what) {
    std::vector<std::string> targets{path};
    if (recursive) {
      auto text = io::read_file(std::string(kOldProc) + "/self/mountinfo");
      for (const auto& m : mountinfo::parse(text.value_or(""))) {
        const std::string& mp = m.mountpoint;
        if (mp.size() > path.size() && mp.compare(0, path.size(), path) == 0 &&
            mp[path.size()] == '/')
          targets.push_back(mp);
      }
    }
    for (const auto& t : targets) {
      struct statvfs sv;
      unsigned long keep = 0;
      if (::statvfs(t.c_str(), &sv) == 0) {
        if (sv.f_flag & ST_NOSUID) keep |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV) keep |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
        if (sv.f_flag & ST_RDONLY) keep |= MS_RDONLY;
        if (sv.f_flag & ST_NOATIME) keep |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME) keep |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME) keep |= MS_RELATIME;
      }
      if (::mount(nullptr, t.c_str(), nullptr, MS_REMOUNT | MS_BIND | keep | add, nullptr) < 0 &&
          errno != EACCES)  // a mount we cannot see into (EACCES) keeps its own flags
        throw_errno(what);
    }
  }

  std::string stage_path(int fd) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(fd_path(kOldProc, fd).c_str(), buf, sizeof buf - 1);
    if (n < 0) throw_errno("Can't resolve mount point");
    return std::string(buf, static_cast<size_t>(n));
  }

  // Binds the tree at src_fd (recursively) onto mp with the given extra attributes.
  void bind(int src_fd, int mp, bool recursive, uint64_t attrs, const std::string& what) {
    if (new_api_) {
      UniqueFd tree(sys_open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                                   AT_EMPTY_PATH |
                                                   (recursive ? AT_RECURSIVE : 0)));
      if (!tree) throw_errno(what);
      // Flags are set on the detached copy before it becomes visible anywhere, so no
      // process ever sees a writable window of a read-only bind.
      if (attrs) set_tree_attrs(tree.get(), attrs, recursive, what);
      attach(tree.get(), mp, what);
      return;
    }
    if (::mount(fd_path(kOldProc, src_fd).c_str(), fd_path(kOldProc, mp).c_str(), nullptr,
                MS_BIND | (recursive ? MS_REC : 0), nullptr) < 0)
      throw_errno(what);
    if (attrs) {
      unsigned long f = 0;
      if (attrs & MOUNT_ATTR_RDONLY) f |= MS_RDONLY;
      if (attrs & MOUNT_ATTR_NOSUID) f |= MS_NOSUID;
      if (attrs & MOUNT_ATTR_NODEV) f |= MS_NODEV;
      if (attrs & MOUNT_ATTR_NOEXEC) f |= MS_NOEXEC;
      UniqueFd top(::open(fd_path(kOldProc, mp).c_str(), O_PATH | O_CLOEXEC));
      legacy_remount(stage_path(top ? top.get() : mp), f, recursive, what);
    }
  }

  // Mounts a fresh filesystem of `type` on mp.
  void mount_fs(const char* type, const std::vector<std::pair<std::string, std::string>>& opts,
                uint64_t attrs, int mp, const std::string& what) {
    if (new_api_) {
      UniqueFd fsfd(sys_fsopen(type, FSOPEN_CLOEXEC));
      if (!fsfd) throw_errno(what);
      sys_fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "source", type, 0);  // as mount(8) shows it
      for (const auto& [k, v] : opts) {
        int r = v.empty() ? sys_fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, k.c_str(), nullptr, 0)
                          : sys_fsconfig(fsfd.get(), FSCONFIG_SET_STRING, k.c_str(), v.c_str(), 0);
        if (r < 0)
          throw_errno(what + " (option " + k + "=" + v + ")");
      }
      if (sys_fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        throw_errno(what);
      UniqueFd mnt(sys_fsmount(fsfd.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attrs)));
      if (!mnt) throw_errno(what);
      attach(mnt.get(), mp, what);
      return;
    }
    std::string data;
    for (const auto& [k, v] : opts) {
      if (!data.empty()) data += ',';
      data += k;
      if (!v.empty()) data += "=" + v;
    }
    unsigned long f = 0;
    if (attrs & MOUNT_ATTR_RDONLY) f |= MS_RDONLY;
    if (attrs & MOUNT_ATTR_NOSUID) f |= MS_NOSUID;
    if (attrs & MOUNT_ATTR_NODEV) f |= MS_NODEV;
    if (attrs & MOUNT_ATTR_NOEXEC) f |= MS_NOEXEC;
    if (::mount(type, fd_path(kOldProc, mp).c_str(), type, f,
                data.empty() ? nullptr : data.c_str()) < 0)
      throw_errno(what);
  }

  // ---- operations ----
  void op(const BindOp& o) {
    if (o.source_fd >= 0) return bind_fd(o);
    UniqueFd src = open_source(o.source);
    if (!src) {
      if (errno == ENOENT && o.allow_missing) return;
      throw_errno("Can't find source path " + o.source);
    }
    struct stat st;
    if (::fstat(src.get(), &st) < 0) throw_errno("Can't stat " + o.source);
    UniqueFd mp = ensure_mountpoint(o.dest, S_ISDIR(st.st_mode));
    // Security: binds never honour setuid bits, and only --dev-bind may expose devices.
    uint64_t attrs = MOUNT_ATTR_NOSUID;
    if (o.mode != BindOp::Mode::Devices) attrs |= MOUNT_ATTR_NODEV;
    if (o.mode == BindOp::Mode::ReadOnly) attrs |= MOUNT_ATTR_RDONLY;
    bind(src.get(), mp.get(), true, attrs, "Can't bind mount " + o.source + " on " + o.dest);
  }

  // --bind-fd: the caller's descriptor lives in the caller's mount namespace, which the
  // kernel will not clone from here; its path is looked up again in our copy of that
  // namespace, and the copy is used only if it is exactly the same inode (a racing rename
  // cannot redirect the bind).
  void bind_fd(const BindOp& o) {
    struct stat want, got;
    if (::fstat(o.source_fd, &want) < 0) throw_errno(o.option + ": can't stat " + o.source);
    char buf[PATH_MAX];
    ssize_t n = ::readlink(fd_path(kOldProc, o.source_fd).c_str(), buf, sizeof buf - 1);
    if (n <= 0 || buf[0] != '/')
      throw Error(o.option + ": " + o.source + " has no path in the caller's namespace");
    std::string path(buf, static_cast<size_t>(n));
    UniqueFd src = open_source(path);
    if (!src || ::fstat(src.get(), &got) < 0 || got.st_dev != want.st_dev ||
        got.st_ino != want.st_ino)
      throw Error(o.option + ": " + o.source + " (" + path +
                  ") was moved or replaced; refusing to bind a different file");
    UniqueFd mp = ensure_mountpoint(o.dest, S_ISDIR(want.st_mode));
    uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (o.mode == BindOp::Mode::ReadOnly) attrs |= MOUNT_ATTR_RDONLY;
    bind(src.get(), mp.get(), true, attrs, "Can't bind mount " + path + " on " + o.dest);
  }

  // See CgroupfsPolicy. After every op, before the pivot: the mount table still shows the
  // new root as /newroot.
  void seal_cgroupfs() {
    auto text = io::read_file(std::string(kOldProc) + "/self/mountinfo");
    if (!text) throw_errno("Can't read " + std::string(kOldProc) + "/self/mountinfo to find cgroup filesystems");
    std::vector<std::string> found;
    for (const auto& m : mountinfo::parse(*text)) {
      const std::string& mp = m.mountpoint;
      const std::string& fstype = m.fstype;
      if ((fstype == "cgroup" || fstype == "cgroup2") && mp.rfind("/newroot/", 0) == 0)
        found.push_back(mp);
    }
    for (const auto& mp : found) {
      std::string inside = mp.substr(std::string("/newroot").size());
      if (!cgroupfs_.refuse.empty()) {
        std::string msg = cgroupfs_.refuse;
        if (auto at = msg.find("{}"); at != std::string::npos) msg.replace(at, 2, inside);
        throw Error(msg);
      }
      // One hidden below a later mount is out of reach of a command without CAP_SYS_ADMIN
      // (it cannot unmount what covers it), and the path reaches the mount on top.
      UniqueFd fd(::open(mp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      struct statfs sf;
      if (!fd || ::fstatfs(fd.get(), &sf) < 0 ||
          (sf.f_type != CGROUP_SUPER_MAGIC && sf.f_type != CGROUP2_SUPER_MAGIC))
        continue;
      std::string what = "Can't make the host's cgroup filesystem at " + inside +
                         " read-only (the cgroup limits need it)";
      if (new_api_) {
        MountAttr attr{};
        attr.attr_set = MOUNT_ATTR_RDONLY;
        if (sys_mount_setattr(fd.get(), "", AT_EMPTY_PATH, &attr) < 0) throw_errno(what);
      } else {
        legacy_remount(mp, MS_RDONLY, false, what);
      }
    }
    if (!found.empty() && log::verbose())
      log::step(std::to_string(found.size()) + " host cgroup filesystem(s) in the new root made read-only");
  }

  void op(const RemountRoOp& o) {
    UniqueFd fd = open_new(o.dest, O_PATH);
    if (!fd) throw_errno("Can't remount " + o.dest + " read-only");
    if (new_api_) {
      MountAttr attr{};
      attr.attr_set = MOUNT_ATTR_RDONLY;
      if (sys_mount_setattr(fd.get(), "", AT_EMPTY_PATH, &attr) < 0) {
        if (errno == EINVAL)
          throw Error("Can't remount " + o.dest + " read-only: it is not a mount point");
        throw_errno("Can't remount " + o.dest + " read-only");
      }
      return;
    }
    legacy_remount(stage_path(fd.get()), MS_RDONLY, false,
                   "Can't remount " + o.dest + " read-only");
  }

  void op(const TmpfsOp& o) {
    UniqueFd mp = ensure_mountpoint(o.dest, true);
    std::vector<std::pair<std::string, std::string>> opts{{"mode", mode_str(o.perms.value_or(0755))}};
    if (o.size) opts.emplace_back("size", std::to_string(*o.size));
    if (spec_.file_label) opts.emplace_back("context", *spec_.file_label);  // SELinux
    mount_fs("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, mp.get(),
             "Can't mount tmpfs on " + o.dest);
  }

  void op(const ProcOp& o) {
    UniqueFd mp = ensure_mountpoint(o.dest, true);
    // bwrap names the staging path in this message; scripts match on it.
    const std::string what = "Can't mount proc on /newroot" + o.dest;
    if (spec_.unshare_pid || spec_.pidns_fd) {
      // Security: a PID namespace of its own gets a procfs of its own or nothing: never the
      // caller's, which would show every process of the host (fail closed, as bwrap).
      mount_fs("proc", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, mp.get(),
               what);
    } else {
      // Sharing the caller's PID namespace, the command sees its processes anyway: bind the
      // caller's /proc with everything mounted over it (masked entries stay masked), as bwrap.
      UniqueFd src = open_source("/proc");
      if (!src) throw_errno(what);
      bind(src.get(), mp.get(), true, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
           what);
    }
    // Security: sys, sysrq-trigger, irq and bus hold host-wide kernel knobs owned by the
    // host's root. They are covered read-only only where the sandbox could write them, as
    // bwrap does: where their owner is mapped in our user namespace (a root caller), or
    // access(2) says so. An unmapped owner shows as the overflow ids, and capabilities in a
    // user namespace never reach its files. A cover anywhere under a procfs makes the
    // kernel refuse every later procfs mount inside ("not fully visible"), which would
    // break a sandbox or `unshare --mount-proc` nested in this one.
    for (const char* sub : {"sys", "sysrq-trigger", "irq", "bus"}) {
      std::string path = o.dest + "/" + sub;
      UniqueFd fd = open_new(path, O_PATH);
      if (!fd) continue;
      // --userns2: the command's final namespace may map the owner; cover.
      if (!spec_.userns2_fd && !owner_mapped(fd.get()) && !writable(fd.get())) continue;
      bind(fd.get(), fd.get(), true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
           "Can't make " + path + " read-only");
    }
  }

  // The kernel's overflow uid or gid ("uid", "gid"): what an unmapped owner shows as.
  // open/read, not an ifstream: the first iostream of a process builds the C++ locale
  // (dozens of facets, a tenth of the setup child's page faults), on every --proc launch.
  static unsigned overflow_id(const char* which) {
    auto id = parse::number_file((std::string(kOldProc) + "/sys/kernel/overflow" + which).c_str());
    return id && *id <= UINT32_MAX ? static_cast<unsigned>(*id) : 65534;
  }

  static bool owner_mapped(int fd) {
    static const unsigned uid = overflow_id("uid"), gid = overflow_id("gid");
    struct stat st;
    if (::fstat(fd, &st) < 0) return true;  // cannot tell: cover
    return st.st_uid != uid || st.st_gid != gid;
  }

  // access(2) W_OK on a staged path, as bwrap judges it: EACCES, EROFS and ENOENT mean
  // the sandbox cannot write it.
  static bool writable(int fd) {
    if (::access(fd_path(kOldProc, fd).c_str(), W_OK) == 0) return true;
    return errno != EACCES && errno != EROFS && errno != ENOENT;
  }

  void op(const DevOp& o) {
    UniqueFd mp = ensure_mountpoint(o.dest, true);
    std::vector<std::pair<std::string, std::string>> devopts{{"mode", "0755"}};
    if (spec_.file_label) devopts.emplace_back("context", *spec_.file_label);  // SELinux
    mount_fs("tmpfs", devopts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, mp.get(),
             "Can't mount tmpfs on " + o.dest);
    UniqueFd dev = open_new(o.dest, O_PATH | O_DIRECTORY);
    if (!dev) throw_errno("Can't open " + o.dest);
    for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
      std::string host = std::string("/dev/") + node;
      UniqueFd src = open_source(host);
      if (!src) throw_errno("Can't find host device " + host);
      // The mount point is created in the tmpfs just mounted, through our descriptor of it:
      // nothing else can be there, so no path walk inside the root is needed (one call
      // instead of four per node).
      UniqueFd target(::openat(dev.get(), node, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                               0444));
      if (!target) throw_errno("Can't create file " + o.dest + "/" + node);
      // Device nodes are bound from the host: a user namespace cannot create them. Not
      // noexec (as bwrap): JITs map /dev/zero with PROT_EXEC, which noexec refuses.
      bind(src.get(), target.get(), false, MOUNT_ATTR_NOSUID,
           "Can't bind mount " + host + " on " + o.dest + "/" + node);
    }
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
    UniqueFd pts = open_new(o.dest + "/pts", O_PATH | O_DIRECTORY);
    if (!pts) throw_errno("Can't open " + o.dest + "/pts");
    // A private devpts instance: the sandbox cannot see or open the host's terminals.
    mount_fs("devpts", {{"newinstance", ""}, {"ptmxmode", "0666"}, {"mode", "620"}},
             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, pts.get(), "Can't mount devpts on " + o.dest + "/pts");
    if (!tty_.empty()) {
      UniqueFd src = open_source(tty_);
      if (src) {
        UniqueFd target = ensure_mountpoint(o.dest + "/console", false);
        bind(src.get(), target.get(), false, MOUNT_ATTR_NOSUID,
             "Can't bind mount " + tty_ + " on " + o.dest + "/console");
      }
    }
  }

  void op(const MqueueOp& o) {
    UniqueFd mp = ensure_mountpoint(o.dest, true);
    mount_fs("mqueue", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, mp.get(),
             "Can't mount mqueue on " + o.dest);
  }

  void op(const DirOp& o) {
    // An existing directory keeps its mode (bwrap: use --chmod to change it).
    if (open_new(o.dest, O_PATH | O_DIRECTORY)) return;
    UniqueFd fd = ensure_dir(o.dest);
    chmod_fd(fd.get(), o.perms.value_or(0755), o.dest);
  }

  void op(const SymlinkOp& o) {
    UniqueFd parent = ensure_dir(parent_of(o.dest));
    std::string name = base_of(o.dest);
    if (::symlinkat(o.target.c_str(), parent.get(), name.c_str()) == 0) return;
    if (errno != EEXIST) throw_errno("Can't make symlink at " + o.dest);
    char buf[PATH_MAX];
    ssize_t n = ::readlinkat(parent.get(), name.c_str(), buf, sizeof buf - 1);
    if (n < 0)
      throw Error("Can't make symlink at " + o.dest + ": it exists and is not a symlink");
    std::string existing(buf, static_cast<size_t>(n));
    if (existing != o.target)  // bwrap's words first: its callers match them
      throw Error("Can't make symlink at " + o.dest + ": existing destination is " + existing +
                  "\n(--symlink " + o.target + " " + o.dest +
                  " keeps an existing symlink only when it has the same target)");
  }

  // Copies everything readable from `from` into `to`.
  static void copy_fd(int from, int to, const std::string& what) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(from, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("Can't read the data for " + what);
      if (n == 0) return;
      if (!io::write_all(to, {buf, static_cast<size_t>(n)})) throw_errno("Can't write " + what);
    }
  }

  // Where --net's resolv.conf goes. A read-only /etc whose resolv.conf is a symlink with
  // no target inside the sandbox (systemd-resolved's ../run/systemd/resolve/...) gets the
  // file at the target instead, when that lies on the new root's own tmpfs: the caller's
  // /etc is never written, and nothing is created in a directory bound from the host.
  std::string resolv_conf_target(const std::string& dest) {
    std::string cur = dest;
    for (int hops = 0; hops < 8; ++hops) {
      if (open_new(cur, O_PATH)) return cur;  // exists (inside): mount over it
      UniqueFd parent = open_new(parent_of(cur), O_PATH | O_DIRECTORY);
      char buf[PATH_MAX];
      ssize_t n = parent ? ::readlinkat(parent.get(), base_of(cur).c_str(), buf, sizeof buf - 1)
                         : -1;
      if (n <= 0) {
        if (hops == 0) return dest;  // not a symlink: the normal path creates it
        // A dangling symlink's target: create it only on the new root's own tmpfs.
        struct stat anc_st;
        std::string anc = parent_of(cur);
        UniqueFd a = open_new(anc, O_PATH | O_DIRECTORY);
        while (!a && anc != "/") {
          anc = parent_of(anc);
          a = open_new(anc, O_PATH | O_DIRECTORY);
        }
        if (a && newroot_dev_ && ::fstat(a.get(), &anc_st) == 0 && anc_st.st_dev == newroot_dev_)
          return cur;
        return dest;
      }
      std::string target(buf, static_cast<size_t>(n));
      std::string next = target[0] == '/' ? target : parent_of(cur) + "/" + target;
      // Lexically: in_root() resolves every later open inside the new root anyway.
      std::vector<std::string> parts;
      std::stringstream ss(next);
      for (std::string part; std::getline(ss, part, '/');) {
        if (part.empty() || part == ".") continue;
        if (part == "..") {
          if (!parts.empty()) parts.pop_back();
        } else {
          parts.push_back(part);
        }
      }
      next.clear();
      for (const auto& part : parts) next += "/" + part;
      if (next.empty()) return dest;
      cur = next;
    }
    return dest;
  }

  void op(const DataOp& o) {
    if (o.best_effort) {  // --net's resolv.conf: only where the new root has the directory
      if (!open_new(parent_of(o.dest), O_PATH | O_DIRECTORY)) return;
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
      UniqueFd parent = ensure_dir(parent_of(o.dest));
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
    UniqueFd mp = ensure_mountpoint(o.dest, false);
    uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (o.kind == DataOp::Kind::RoBindData) attrs |= MOUNT_ATTR_RDONLY;
    bind(src.get(), mp.get(), false, attrs, "Can't bind mount data on " + o.dest);
  }

  void op(const OverlayOp& o) {
    std::string what = "Can't mount overlay on " + o.dest;
    // Layers are named through /proc/self/fd of descriptors resolved in the old root: the
    // kernel mounts exactly those directories, and no path characters (':' ',' '\\') can
    // smuggle extra mount options in.
    std::vector<UniqueFd> held;
    auto layer = [&](const std::string& host) {
      UniqueFd fd = open_source(host);
      if (!fd) throw_errno(what + ": can't open " + host);
      struct stat st;
      if (::fstat(fd.get(), &st) < 0 || !S_ISDIR(st.st_mode))
        throw Error(what + ": " + host + " is not a directory");
      std::string path = fd_path(kOldProc, fd.get());
      held.push_back(std::move(fd));
      return path;
    };
    std::vector<std::pair<std::string, std::string>> opts;
    // bwrap order: the first --overlay-src is the bottom layer; lowerdir lists top first.
    std::string lower;
    for (auto it = o.lowers.rbegin(); it != o.lowers.rend(); ++it) {
      if (!lower.empty()) lower += ':';
      lower += layer(*it);
    }
    opts.emplace_back("lowerdir", lower);
    if (o.kind == OverlayOp::Kind::ReadWrite) {
      opts.emplace_back("upperdir", layer(o.upper));
      opts.emplace_back("workdir", layer(o.work));
    } else if (o.kind == OverlayOp::Kind::Tmp) {
      // Writes land on the staging tmpfs, out of reach of both the host and the sandbox.
      std::string base = "/tmp-overlay-" + std::to_string(++data_files_);
      for (const char* sub : {"", "/upper", "/work"})
        if (::mkdir((base + sub).c_str(), 0755) < 0) throw_errno(what);
      opts.emplace_back("upperdir", base + "/upper");
      opts.emplace_back("workdir", base + "/work");
    }
    if (o.kind != OverlayOp::Kind::ReadOnly) opts.emplace_back("userxattr", "");
    UniqueFd mp = ensure_mountpoint(o.dest, true);
    uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (o.kind == OverlayOp::Kind::ReadOnly) attrs |= MOUNT_ATTR_RDONLY;
    try {
      mount_fs("overlay", opts, attrs, mp.get(), what);
    } catch (const SysError& e) {
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
      throw;
    }
  }

  void chmod_fd(int fd, unsigned mode, const std::string& path) {
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
    if (::syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0) return;
    if (errno != ENOSYS && errno != EINVAL) throw_errno("Can't chmod " + path);
    if (::chmod(fd_path(kOldProc, fd).c_str(), mode) < 0) throw_errno("Can't chmod " + path);
  }

  void op(const ChmodOp& o) {
    UniqueFd fd = open_new(o.path, O_PATH);
    if (!fd) throw_errno("Can't chmod " + o.path);
    chmod_fd(fd.get(), o.mode, o.path);
  }
};

RootResult Builder::run(const std::string& host_cwd, const std::string& home) {
  RootResult res;
  // Security: nothing mounted from here on propagates back to the host's namespace.
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    throw_errno("Failed to make / slave");

  // Stage on a directory every system has; its content stays reachable through /oldroot.
  const char* base = nullptr;
  for (const char* c : {"/tmp", "/run", "/var/tmp", "/mnt"}) {
    struct stat st;
    if (::stat(c, &st) == 0 && S_ISDIR(st.st_mode)) {
      base = c;
      break;
    }
  }
  if (!base) throw Error("No directory to stage the new root on (tried /tmp, /run, /var/tmp, /mnt)");
  if (::mount("tmpfs", base, "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755") < 0)
    throw_errno(std::string("Failed to mount tmpfs on ") + base);
  if (::chdir(base) < 0) throw_errno(std::string("Can't chdir to ") + base);
  if (::mkdir("newroot", 0755) < 0) throw_errno("Can't create newroot");
  if (::mkdir("oldroot", 0755) < 0) throw_errno("Can't create oldroot");
  if (::mount("tmpfs", "newroot", "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755") < 0)
    throw_errno("Failed to mount the new root tmpfs");
  if (::syscall(SYS_pivot_root, base, "oldroot") < 0) throw_errno("pivot_root");
  if (::chdir("/") < 0) throw_errno("chdir /");

  oldroot_.reset(::open(kOldRoot, O_PATH | O_DIRECTORY | O_CLOEXEC));
  newroot_.reset(::open("/newroot", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!oldroot_ || !newroot_) throw_errno("Can't open the staging roots");
  if (struct stat st; ::fstat(newroot_.get(), &st) == 0) newroot_dev_ = st.st_dev;
  if (log::verbose()) log::step("staging tmpfs on " + std::string(base) + " entered");

  for (const auto& fsop : spec_.fs) {
    // Re-open the root before each op: a previous op may have mounted over "/" itself
    // (--ro-bind / /), and a path walk never enters a mount stacked on its start point.
    newroot_.reset(::open("/newroot", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!newroot_) throw_errno("Can't open the new root");
    // Missing parents, as bwrap makes them: 0755 less the group bits when the op's mode
    // has none, less the other bits likewise. Ops without a mode (binds, --symlink, --proc,
    // --dev, --mqueue, overlays) count as mode 0 there, so their new parents are 0700;
    // --bind-data and --ro-bind-data default to 0600 (parents 0700), --file to 0666.
    unsigned perms = 0;
    if (auto* d = std::get_if<DirOp>(&fsop)) perms = d->perms.value_or(0755);
    if (auto* t = std::get_if<TmpfsOp>(&fsop)) perms = t->perms.value_or(0755);
    if (auto* f = std::get_if<DataOp>(&fsop))
      perms = f->perms.value_or(f->kind == DataOp::Kind::File ? 0666 : 0600);
    parent_mode_ = 0755;
    if ((perms & 070) == 0) parent_mode_ &= ~070;
    if ((perms & 07) == 0) parent_mode_ &= ~07;
    std::visit([this](const auto& o) { op(o); }, fsop);
  }
  if (log::verbose())
    log::step(std::to_string(spec_.fs.size()) + " filesystem operations applied (" +
              (new_api_ ? "new mount API" : "mount(2)") + ")");
  newroot_.reset(::open("/newroot", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!newroot_) throw_errno("Can't open the new root");
  if (cgroupfs_.read_only) seal_cgroupfs();

  for (const auto& path : spec_.lock_files) {
    UniqueFd fd = open_new(path, O_RDONLY);
    if (!fd) throw_errno("Can't open lock file " + path);
    struct flock lk{};
    lk.l_type = F_RDLCK;
    lk.l_whence = SEEK_SET;
    // An open-file-description lock stays with the descriptor, so the supervisor can hold
    // it for the sandbox's lifetime.
    if (::fcntl(fd.get(), F_OFD_SETLK, &lk) < 0) throw_errno("Can't lock " + path);
    res.lock_fds.push_back(std::move(fd));
  }

  oldroot_.reset();
  newroot_.reset();
  // Security: the host's root must not stay reachable from inside.
  if (::umount2(kOldRoot, MNT_DETACH) < 0) throw_errno("Can't unmount the old root");
  if (::chdir("/newroot") < 0) throw_errno("chdir /newroot");
  if (::syscall(SYS_pivot_root, ".", ".") < 0) throw_errno("pivot_root into the new root");
  log::step("pivot_root into the new root");
  if (::umount2(".", MNT_DETACH) < 0) throw_errno("Can't unmount the staging root");

  if (spec_.chdir) {
    if (::chdir(spec_.chdir->c_str()) < 0) throw_errno("Can't chdir to " + *spec_.chdir);
    res.cwd = *spec_.chdir;
    if (res.cwd[0] != '/') {
      char buf[PATH_MAX];
      if (::getcwd(buf, sizeof buf)) res.cwd = buf;
    }
  } else if (!host_cwd.empty() && ::chdir(host_cwd.c_str()) == 0) {
    res.cwd = host_cwd;
  } else if (!home.empty() && ::chdir(home.c_str()) == 0) {
    res.cwd = home;  // bwrap's fallback: $HOME of the sandbox's environment
  } else {
    if (::chdir("/") < 0) throw_errno("chdir /");
    res.cwd = "/";
  }
  return res;
}

}  // namespace

int open_in_root(int root, const std::string& path, int flags) {
  if (have_openat2())
    return sys_openat2(root, path.c_str(), static_cast<uint64_t>(flags) | O_CLOEXEC, 0,
                       RESOLVE_IN_ROOT);
  return walk_in_root(root, path, flags);
}

RootResult build_root(const Spec& spec, const std::string& host_tty, const std::string& host_cwd,
                      const std::string& home, const CgroupfsPolicy& cgroupfs) {
  Builder b(spec, host_tty, cgroupfs);
  return b.run(host_cwd, home);
}

}  // namespace sb::fs
