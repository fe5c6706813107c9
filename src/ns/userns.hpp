// User namespace maps. A process may write for itself only a map of its own outside
// uid/gid to one id inside, after denying setgroups (write_self_maps). Anything more (OCI's
// linux.uidMappings with several ranges) is written from outside, by a process of the
// parent namespace: the supervisor itself where it holds CAP_SETUID and CAP_SETGID, else
// Debian's setuid newuidmap/newgidmap, which allow only the ranges /etc/subuid and
// /etc/subgid give the caller (write_maps_from_outside). The child then takes its ids
// inside (enter_mapped_ids).
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "spec/spec.hpp"

namespace sb::ns {

// Writes /proc/self/{setgroups,uid_map,gid_map} for the calling process, which must be
// the first process of a fresh user namespace.
void write_self_maps(uid_t inside_uid, uid_t outside_uid, gid_t inside_gid, gid_t outside_gid);

// Where the helpers are looked for: by absolute path only, never through PATH (they are
// setuid root and a caller's PATH must not choose them).
inline constexpr const char kNewuidmap[] = "/usr/bin/newuidmap";
inline constexpr const char kNewgidmap[] = "/usr/bin/newgidmap";

// Writes `maps` into the user namespace of `pid` (our child, waiting): directly through
// /proc/PID/{uid,gid}_map, or with `by_helper` through newuidmap/newgidmap. Throws
// sb::Error naming the map's origin (the JSON path) and, for a helper, its stderr.
void write_maps_from_outside(pid_t pid, const IdMapRequest& maps, bool by_helper);

// In the child once its maps were written from outside: becomes `uid`/`gid` inside, with
// `groups` (nullopt: none, where the namespace allows dropping the caller's) as its
// supplementary groups, keeping the capabilities it holds over the namespace for the rest
// of setup. Throws sb::Error naming `groups_origin` when setgroups is denied.
void enter_mapped_ids(uid_t uid, gid_t gid, const std::optional<std::vector<gid_t>>& groups,
                      const std::string& groups_origin);

// Without a user namespace: `groups` become the supplementary groups (needs CAP_SETGID).
void set_groups(const std::vector<gid_t>& groups, const std::string& origin);

}  // namespace sb::ns
