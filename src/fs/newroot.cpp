// The new root's sequence: a private staging tmpfs, every FsOp in command-line order (by
// fs/ops, on the mount backend chosen once here), the cgroupfs sealing and lock files,
// then pivot_root into the result with the old root detached, and the working directory.
#include "fs/newroot.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "fs/backend.hpp"
#include "fs/mountapi.hpp"
#include "fs/ops.hpp"
#include "fs/roots.hpp"
#include "util/error.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/mountinfo.hpp"

namespace sb::fs {
namespace {

// Makes "/" a slave and pivots into a fresh staging tmpfs on a directory every system
// has; the host's root stays reachable at /oldroot, the new root is /newroot. Returns
// the directory it staged on.
const char* enter_staging() {
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
  return base;
}

// See CgroupfsPolicy. After every op, before the pivot: the mount table still shows the
// new root as /newroot.
void seal_cgroupfs(const CgroupfsPolicy& policy, const MountBackend& mnt) {
  auto text = io::read_file(std::string(kOldProc) + "/self/mountinfo");
  if (!text)
    throw_errno("Can't read " + std::string(kOldProc) +
                "/self/mountinfo to find cgroup filesystems");
  std::vector<std::string> found;
  for (const auto& m : mountinfo::parse(*text))
    if ((m.fstype == "cgroup" || m.fstype == "cgroup2") && m.mountpoint.rfind("/newroot/", 0) == 0)
      found.push_back(m.mountpoint);
  for (const auto& mp : found) {
    std::string inside = mp.substr(std::string("/newroot").size());
    if (!policy.refuse.empty()) {
      std::string msg = policy.refuse;
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
    mnt.remount_ro(fd.get(), "Can't make the host's cgroup filesystem at " + inside +
                                 " read-only (the cgroup limits need it)");
  }
  if (!found.empty() && log::verbose())
    log::step(std::to_string(found.size()) +
              " host cgroup filesystem(s) in the new root made read-only");
}

// --lock-file: read locks the supervisor holds for the sandbox's lifetime.
std::vector<UniqueFd> lock_files(const Roots& roots, const std::vector<std::string>& paths) {
  std::vector<UniqueFd> fds;
  for (const auto& path : paths) {
    UniqueFd fd = roots.open_new(path, O_RDONLY);
    if (!fd) throw_errno("Can't open lock file " + path);
    struct flock lk{};
    lk.l_type = F_RDLCK;
    lk.l_whence = SEEK_SET;
    // An open-file-description lock stays with the descriptor, so the supervisor can hold
    // it for the sandbox's lifetime.
    if (::fcntl(fd.get(), F_OFD_SETLK, &lk) < 0) throw_errno("Can't lock " + path);
    fds.push_back(std::move(fd));
  }
  return fds;
}

// Detaches the host's root, pivots into the new root and drops the staging root.
void pivot_into_new_root() {
  // Security: the host's root must not stay reachable from inside.
  if (::umount2(kOldRoot, MNT_DETACH) < 0) throw_errno("Can't unmount the old root");
  if (::chdir("/newroot") < 0) throw_errno("chdir /newroot");
  if (::syscall(SYS_pivot_root, ".", ".") < 0) throw_errno("pivot_root into the new root");
  log::step("pivot_root into the new root");
  if (::umount2(".", MNT_DETACH) < 0) throw_errno("Can't unmount the staging root");
}

// --chdir, else the caller's directory, else $HOME, else "/" (bwrap's order).
std::string enter_cwd(const std::optional<std::string>& chdir, const std::string& host_cwd,
                      const std::string& home) {
  if (chdir) {
    if (::chdir(chdir->c_str()) < 0) throw_errno("Can't chdir to " + *chdir);
    std::string cwd = *chdir;
    if (cwd[0] != '/') {
      char buf[PATH_MAX];
      if (::getcwd(buf, sizeof buf)) cwd = buf;
    }
    return cwd;
  }
  if (!host_cwd.empty() && ::chdir(host_cwd.c_str()) == 0) return host_cwd;
  if (!home.empty() && ::chdir(home.c_str()) == 0)
    return home;  // bwrap's fallback: $HOME of the sandbox's environment
  if (::chdir("/") < 0) throw_errno("chdir /");
  return "/";
}

}  // namespace

RootResult build_root(const Spec& spec, const std::string& host_tty, const std::string& host_cwd,
                      const std::string& home, const CgroupfsPolicy& cgroupfs,
                      const std::vector<FsOp>& derived,
                      const std::function<void()>& before_pivot) {
  // Chosen once for the whole sequence: every primitive of every op goes the same way.
  const auto mnt = make_mount_backend(select_mount_api(have_new_mount_api()), kOldProc);
  Roots roots{Resolver(have_openat2())};

  const char* base = enter_staging();
  roots.open();
  if (log::verbose()) log::step("staging tmpfs on " + std::string(base) + " entered");
  OpApplier ops(roots, *mnt,
                OpEnv{spec.file_label, spec.unshare_pid || spec.pidns_fd.has_value(),
                      spec.userns2_fd.has_value(), host_tty});
  // The Spec's ops in command-line order, then the Plan's (--net's resolv.conf).
  for (const auto* list : {&spec.fs, &derived})
    for (const auto& fsop : *list) {
      roots.reopen_new();
      ops.apply(fsop);
    }
  if (log::verbose())
    log::step(std::to_string(spec.fs.size() + derived.size()) + " filesystem operations applied (" +
              mnt->name() + ")");
  roots.reopen_new();
  if (cgroupfs.read_only) seal_cgroupfs(cgroupfs, *mnt);

  RootResult res;
  res.lock_fds = lock_files(roots, spec.lock_files);
  roots.close();  // no fd to a host directory crosses the pivot
  // An embedder's hooks (OCI createRuntime/createContainer): the mounts are made, the host's
  // root is still at kOldRoot for a hook that resolves its paths there.
  if (before_pivot) before_pivot();
  pivot_into_new_root();
  res.cwd = enter_cwd(spec.chdir, host_cwd, home);
  return res;
}

}  // namespace sb::fs
