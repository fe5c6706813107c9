// The mount backend on mount(2), for kernels before 5.12. Mount points and sources are
// named by /proc/self/fd/N of fds resolved safely beforehand; flags are applied by a bind
// remount of each mount after it is attached (mount(2) cannot set them on a detached copy).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "fs/backend.hpp"
#include "fs/mountapi.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"
#include "util/mountinfo.hpp"

namespace sb::fs {
namespace {

class LegacyBackend final : public MountBackend {
 public:
  explicit LegacyBackend(std::string proc) : proc_(std::move(proc)) {}
  MountApi api() const override { return MountApi::Legacy; }
  const char* name() const override { return "mount(2)"; }

  void bind(int src, int mp, bool recursive, uint64_t attrs,
            const std::string& what) const override {
    if (::mount(fd_path(proc_, src).c_str(), fd_path(proc_, mp).c_str(), nullptr,
                MS_BIND | (recursive ? MS_REC : 0), nullptr) < 0)
      throw_errno(what);
    if (attrs) {
      // The new mount is on top of mp now: reach it through the path, not the old fd.
      UniqueFd top(::open(fd_path(proc_, mp).c_str(), O_PATH | O_CLOEXEC));
      remount(stage_path(top ? top.get() : mp), ms_flags_of_attrs(attrs), recursive, what);
    }
  }

  void mount_fs(const char* type, const FsOptions& opts, uint64_t attrs, int mp,
                const std::string& what) const override {
    std::string data = join_fs_options(opts);
    if (::mount(type, fd_path(proc_, mp).c_str(), type, ms_flags_of_attrs(attrs),
                data.empty() ? nullptr : data.c_str()) < 0)
      throw_errno(what);
  }

  void remount_ro(int mp, const std::string& what) const override {
    remount(stage_path(mp), MS_RDONLY, false, what);
  }

 private:
  std::string proc_;

  // The path of `fd` as the builder sees it (the mount table names mounts by such paths).
  std::string stage_path(int fd) const {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(fd_path(proc_, fd).c_str(), buf, sizeof buf - 1);
    if (n < 0) throw_errno("Can't resolve mount point");
    return std::string(buf, static_cast<size_t>(n));
  }

  // Applies flags to the mount at `path` and, if recursive, to every mount below it,
  // keeping the flags the kernel locked.
  void remount(const std::string& path, unsigned long add, bool recursive,
               const std::string& what) const {
    std::vector<std::string> targets{path};
    if (recursive) {
      auto text = io::read_file(proc_ + "/self/mountinfo");
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
      if (::statvfs(t.c_str(), &sv) == 0) keep = ms_flags_of_statvfs(sv.f_flag);
      if (::mount(nullptr, t.c_str(), nullptr, MS_REMOUNT | MS_BIND | keep | add, nullptr) < 0 &&
          errno != EACCES)  // a mount we cannot see into (EACCES) keeps its own flags
        throw_errno(what);
    }
  }
};

}  // namespace

std::unique_ptr<MountBackend> make_legacy_backend(const std::string& proc) {
  return std::make_unique<LegacyBackend>(proc);
}

}  // namespace sb::fs
