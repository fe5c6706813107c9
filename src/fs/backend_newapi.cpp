// The mount backend on the file-descriptor based mount API (Linux >= 5.12): every mount is
// made detached, given its flags, and only then attached, so no process ever sees a
// writable or setuid-honouring window.
#include <fcntl.h>

#include <cerrno>

#include "fs/backend.hpp"
#include "fs/mountapi.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif

namespace sb::fs {
namespace {

class NewApiBackend final : public MountBackend {
 public:
  MountApi api() const override { return MountApi::New; }
  const char* name() const override { return "new mount API"; }

  void bind(int src, int mp, bool recursive, uint64_t attrs,
            const std::string& what) const override {
    UniqueFd tree(sys_open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
                                             (recursive ? AT_RECURSIVE : 0)));
    if (!tree) throw_errno(what);
    // Flags are set on the detached copy before it becomes visible anywhere, so no
    // process ever sees a writable window of a read-only bind.
    if (attrs) set_attrs(tree.get(), attrs, recursive, what);
    attach(tree.get(), mp, what);
  }

  void mount_fs(const char* type, const FsOptions& opts, uint64_t attrs, int mp,
                const std::string& what) const override {
    UniqueFd fsfd(sys_fsopen(type, FSOPEN_CLOEXEC));
    if (!fsfd) throw_errno(what);
    sys_fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "source", type, 0);  // as mount(8) shows it
    // One fsconfig call per option: a value can never be read as more options.
    for (const auto& [k, v] : opts) {
      int r = v.empty() ? sys_fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, k.c_str(), nullptr, 0)
                        : sys_fsconfig(fsfd.get(), FSCONFIG_SET_STRING, k.c_str(), v.c_str(), 0);
      if (r < 0) throw_errno(what + " (option " + k + "=" + v + ")");
    }
    if (sys_fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) throw_errno(what);
    UniqueFd mnt(sys_fsmount(fsfd.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attrs)));
    if (!mnt) throw_errno(what);
    attach(mnt.get(), mp, what);
  }

  void remount_ro(int mp, const std::string& what) const override {
    MountAttr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (sys_mount_setattr(mp, "", AT_EMPTY_PATH, &attr) < 0) {
      // mount_setattr on a path that is not the root of a mount.
      if (errno == EINVAL) throw Error(what + ": it is not a mount point");
      throw_errno(what);
    }
  }

 private:
  static void set_attrs(int tree, uint64_t attrs, bool recursive, const std::string& what) {
    MountAttr attr{};
    attr.attr_set = attrs;
    if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
      throw_errno("Can't set mount flags on " + what);
  }

  static void attach(int tree, int mp, const std::string& what) {
    if (sys_move_mount(tree, "", mp, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      throw_errno(what);
  }
};

}  // namespace

std::unique_ptr<MountBackend> make_newapi_backend() { return std::make_unique<NewApiBackend>(); }

}  // namespace sb::fs
