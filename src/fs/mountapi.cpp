#include "fs/mountapi.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#ifndef RESOLVE_CACHED
#define RESOLVE_CACHED 0x20  // linux/openat2.h before 5.12
#endif

namespace sb::fs {

#ifndef SYS_open_tree
#define SYS_open_tree 428
#define SYS_move_mount 429
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

int sys_open_tree(int dfd, const char* path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}
int sys_move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
  return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}
int sys_mount_setattr(int dfd, const char* path, unsigned flags, MountAttr* attr) {
  return static_cast<int>(::syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr));
}
int sys_fsopen(const char* fsname, unsigned flags) {
  return static_cast<int>(::syscall(SYS_fsopen, fsname, flags));
}
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
int sys_fsmount(int fd, unsigned flags, unsigned attr_flags) {
  return static_cast<int>(::syscall(SYS_fsmount, fd, flags, attr_flags));
}
int sys_openat2(int dfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  // With RESOLVE_IN_ROOT/RESOLVE_BENEATH the kernel answers EAGAIN when a rename or mount
  // anywhere on the system raced with a ".." in the path (openat2(2)): retry, boundedly.
  for (int attempt = 0;; ++attempt) {
    int r = static_cast<int>(::syscall(SYS_openat2, dfd, path, &how, sizeof how));
    if (r >= 0 || errno != EAGAIN || (resolve & RESOLVE_CACHED) || attempt >= 100) return r;
  }
}

bool legacy_forced(const char* env_value) {
  return env_value && std::strcmp(env_value, "1") == 0;
}

namespace {

// Probes once per process, and only when asked: the supervisor asks for openat2 alone.
bool probed(int& cache, bool (*kernel_has_it)()) {
  if (cache < 0) cache = !legacy_forced(std::getenv("SANDBOX_TEST_LEGACY_MOUNT")) && kernel_has_it();
  return cache == 1;
}

}  // namespace

bool have_new_mount_api() {
  static int cached = -1;
  return probed(cached, [] {
    // An invalid fd gives EBADF where the calls exist and ENOSYS where they do not;
    // mount_setattr (5.12) is the newest one we rely on.
    MountAttr attr{};
    int r = sys_mount_setattr(-1, "", 0, &attr);
    return !(r < 0 && errno == ENOSYS);
  });
}

bool have_openat2() {
  static int cached = -1;
  return probed(cached, [] {
    int r = sys_openat2(-1, "", O_PATH, 0, 0);
    return !(r < 0 && errno == ENOSYS);
  });
}

std::string fd_path(const std::string& proc_prefix, int fd) {
  return proc_prefix + "/self/fd/" + std::to_string(fd);
}

}  // namespace sb::fs
