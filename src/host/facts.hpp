// What planning needs to know about the caller and this kernel (probe() fills it).
#pragma once
#include <sys/types.h>

namespace sb {

struct HostFacts {
  uid_t uid = 0;
  gid_t gid = 0;
  bool is_root() const { return uid == 0; }
  // CAP_SETUID and CAP_SETGID are effective (root, or uid 0 of an engine's user namespace):
  // id maps of several ranges are written directly, not through newuidmap/newgidmap.
  bool can_write_id_maps = false;
  bool userns_available = true;  // creating a user namespace is possible here
  bool cgroupns_available = true;
  bool selinux_enabled = false;  // selinuxfs mounted: --exec-label/--file-label can apply
  int landlock_abi = 0;  // landlock_create_ruleset's version answer, or -errno (no Landlock)
};

}  // namespace sb
