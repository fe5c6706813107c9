// Thin wrappers over the kernel's file-descriptor based mount API (open_tree, move_mount,
// mount_setattr, fsopen/fsconfig/fsmount) and openat2, with a probe for old kernels.
#pragma once
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>

#include <cstdint>
#include <string>

#include "util/fd.hpp"

// Constants for older userspace headers.
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif

namespace sb::fs {

struct MountAttr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

// True when `env_value` (SANDBOX_TEST_LEGACY_MOUNT's, or null) is "1": the tests' way to
// cover the mount(2) backend and the user-space path walk on kernels that have the newer
// calls. It turns both probes below off.
bool legacy_forced(const char* env_value);

// True when open_tree/move_mount/mount_setattr/fsopen all exist (Linux >= 5.12) and the
// legacy path is not forced. Probed once per process.
bool have_new_mount_api();

// True when openat2 (Linux >= 5.6) exists and the legacy path is not forced.
bool have_openat2();

int sys_open_tree(int dfd, const char* path, unsigned flags);
int sys_move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags);
int sys_mount_setattr(int dfd, const char* path, unsigned flags, MountAttr* attr);
int sys_fsopen(const char* fsname, unsigned flags);
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux);
int sys_fsmount(int fd, unsigned flags, unsigned attr_flags);
int sys_openat2(int dfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve);

// "/proc/self/fd/N" as seen through the given proc mount prefix, for mount(2) fallbacks.
std::string fd_path(const std::string& proc_prefix, int fd);

}  // namespace sb::fs
