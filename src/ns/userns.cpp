#include "ns/userns.hpp"

#include "spec/idmap.hpp"
#include "util/io.hpp"

namespace sb::ns {

void write_self_maps(uid_t inside_uid, uid_t outside_uid, gid_t inside_gid, gid_t outside_gid) {
  // Security: setgroups must be denied before an unprivileged gid_map write, otherwise the
  // process could drop supplementary groups used as negative permissions on the host.
  io::write_kernel_file("/proc/self/setgroups", "deny");
  io::write_kernel_file("/proc/self/uid_map", single_id_map(inside_uid, outside_uid));
  io::write_kernel_file("/proc/self/gid_map", single_id_map(inside_gid, outside_gid));
}

}  // namespace sb::ns
