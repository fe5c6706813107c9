#include "ns/userns.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "ns/idmap.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace sb::ns {
namespace {

void write_file(const char* path, const std::string& data) {
  UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
  if (!fd) throw_errno(std::string("Can't open ") + path);
  if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
    throw_errno(std::string("Can't write ") + path);
}

}  // namespace

void write_self_maps(uid_t inside_uid, uid_t outside_uid, gid_t inside_gid, gid_t outside_gid) {
  // Security: setgroups must be denied before an unprivileged gid_map write, otherwise the
  // process could drop supplementary groups used as negative permissions on the host.
  write_file("/proc/self/setgroups", "deny");
  write_file("/proc/self/uid_map", single_id_map(inside_uid, outside_uid));
  write_file("/proc/self/gid_map", single_id_map(inside_gid, outside_gid));
}

}  // namespace sb::ns
