#include "fs/backend.hpp"

#include <sys/mount.h>
#include <sys/statvfs.h>

#include "fs/mountapi.hpp"

namespace sb::fs {

std::unique_ptr<MountBackend> make_newapi_backend();
std::unique_ptr<MountBackend> make_legacy_backend(const std::string& proc);

MountApi select_mount_api(bool have_new_api) {
  return have_new_api ? MountApi::New : MountApi::Legacy;
}

std::unique_ptr<MountBackend> make_mount_backend(MountApi api, const std::string& proc) {
  if (api == MountApi::New) return make_newapi_backend();
  return make_legacy_backend(proc);
}

unsigned long ms_flags_of_attrs(uint64_t attrs) {
  unsigned long f = 0;
  if (attrs & MOUNT_ATTR_RDONLY) f |= MS_RDONLY;
  if (attrs & MOUNT_ATTR_NOSUID) f |= MS_NOSUID;
  if (attrs & MOUNT_ATTR_NODEV) f |= MS_NODEV;
  if (attrs & MOUNT_ATTR_NOEXEC) f |= MS_NOEXEC;
  return f;
}

unsigned long ms_flags_of_statvfs(unsigned long f_flag) {
  unsigned long keep = 0;
  if (f_flag & ST_NOSUID) keep |= MS_NOSUID;
  if (f_flag & ST_NODEV) keep |= MS_NODEV;
  if (f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
  if (f_flag & ST_RDONLY) keep |= MS_RDONLY;
  if (f_flag & ST_NOATIME) keep |= MS_NOATIME;
  if (f_flag & ST_NODIRATIME) keep |= MS_NODIRATIME;
  if (f_flag & ST_RELATIME) keep |= MS_RELATIME;
  return keep;
}

std::string join_fs_options(const FsOptions& opts) {
  std::string data;
  for (const auto& [k, v] : opts) {
    if (!data.empty()) data += ',';
    data += k;
    if (!v.empty()) data += "=" + v;
  }
  return data;
}

}  // namespace sb::fs
