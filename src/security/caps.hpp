// Capabilities (libcap-ng) and no_new_privs. bwrap's rules: a non-root caller ends with no
// capabilities unless it asks with --cap-add; a root caller keeps its own unless dropped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "spec/spec.hpp"

namespace sb::security {

using CapSet = uint64_t;  // bit N = capability N

// Capability names as libcap-ng spells them: linux/capability.h's, lower case, without CAP_
// ("sys_admin"). capability_from_name ignores case and wants no CAP_ prefix; -1 when
// unknown. capability_name returns nullptr for a number libcap-ng has no name for.
int capability_from_name(const std::string& name);
const char* capability_name(int cap);
// The name as the OCI format, Podman and error messages spell it: "CAP_SYS_ADMIN" (the
// number, "CAP_40", where libcap-ng has none).
std::string capability_display_name(int cap);

// Highest capability this kernel knows (/proc/sys/kernel/cap_last_cap).
int last_cap();
CapSet all_caps();
// Permitted set of the calling process.
CapSet current_caps();
// Effective set of the calling process (0 if capget fails).
CapSet effective_caps();
// CAP_SETUID and CAP_SETGID are both effective: this process can take other ids and write
// id maps of several ranges itself.
bool can_set_ids();

// Pure: the set the command ends with.
CapSet resolve_caps(const std::vector<CapEdit>& edits, bool caller_is_root, CapSet current,
                    CapSet all);

// Makes `caps` the whole of the calling process's capabilities: bounding set (so exec as
// uid 0 cannot regain others), effective, permitted, inheritable and, for a non-zero uid
// inside, ambient (so they survive execve, as bwrap does).
void apply_caps(CapSet caps, bool ambient);

// Drops from the calling thread's bounding set every capability not in `keep`; any failure
// (reading or dropping a bit) is an error, never a silently larger set. With `eperm_ok` a
// drop refused for want of CAP_SETPCAP is skipped (bwrap's rule for a root caller, who asked
// for nothing: no_new_privs still keeps such a capability from returning through execve).
void restrict_bounding_set(CapSet keep, bool eperm_ok = false);

void set_no_new_privs();

}  // namespace sb::security
