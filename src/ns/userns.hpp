// User namespace maps, written by the process for itself: an unprivileged process may map
// exactly its own outside uid/gid to one id inside, after denying setgroups.
#pragma once
#include <sys/types.h>

namespace sb::ns {

// Writes /proc/self/{setgroups,uid_map,gid_map} for the calling process, which must be
// the first process of a fresh user namespace.
void write_self_maps(uid_t inside_uid, uid_t outside_uid, gid_t inside_gid, gid_t outside_gid);

}  // namespace sb::ns
