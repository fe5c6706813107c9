// The mount primitives the new-root builder needs, behind one interface with two
// implementations chosen once per sandbox: the file-descriptor based mount API
// (open_tree, mount_setattr, move_mount, fsopen/fsconfig/fsmount; Linux >= 5.12) and
// mount(2) for older kernels. What each filesystem option means (which primitive, which
// flags) lives in fs/ops; the staging and pivot sequence in fs/newroot.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sb::fs {

enum class MountApi { New, Legacy };

// The backend for this kernel: the new API where all of it exists (see
// have_new_mount_api(), which SANDBOX_TEST_LEGACY_MOUNT=1 turns off).
MountApi select_mount_api(bool have_new_api);

// Options of a fresh filesystem, in order: key and value, or key and "" for a flag.
using FsOptions = std::vector<std::pair<std::string, std::string>>;

class MountBackend {
 public:
  virtual ~MountBackend() = default;
  virtual MountApi api() const = 0;
  // For the verbose log: "new mount API" or "mount(2)".
  virtual const char* name() const = 0;

  // Binds the tree at the O_PATH fd `src` onto the mount point fd `mp`; `recursive`
  // takes every mount below `src` along. `attrs` (MOUNT_ATTR_*) end up on every mount of
  // the copy, while flags the kernel locked on the source stay as they are.
  virtual void bind(int src, int mp, bool recursive, uint64_t attrs,
                    const std::string& what) const = 0;

  // Mounts a fresh filesystem of `type` with `opts` and `attrs` (MOUNT_ATTR_*) on `mp`.
  virtual void mount_fs(const char* type, const FsOptions& opts, uint64_t attrs, int mp,
                        const std::string& what) const = 0;

  // Makes the mount whose root is `mp` read-only (not the mounts below it), keeping its
  // other flags.
  virtual void remount_ro(int mp, const std::string& what) const = 0;
};

// `proc` is where the builder sees a procfs for /proc/self/fd/N names and mountinfo (the
// legacy backend needs paths; the new API never does).
std::unique_ptr<MountBackend> make_mount_backend(MountApi api, const std::string& proc);

// ---- pure translations (unit-tested) ----
// MOUNT_ATTR_RDONLY/NOSUID/NODEV/NOEXEC as MS_* flags for mount(2).
unsigned long ms_flags_of_attrs(uint64_t attrs);
// statvfs f_flag (ST_*) as the MS_* flags a bind remount must repeat to keep them.
unsigned long ms_flags_of_statvfs(unsigned long f_flag);
// mount(2)'s data string: "k=v,flag,k2=v2".
std::string join_fs_options(const FsOptions& opts);

}  // namespace sb::fs
