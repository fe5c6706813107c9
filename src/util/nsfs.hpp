// Namespace files (nsfs): /proc/PID/ns/*, and the bind mounts of them that engines give
// the OCI runtime as linux.namespaces[i].path.
#pragma once
#include <sched.h>

#include <string_view>

namespace sb::nsfs {

// The CLONE_NEW* flag of an OCI namespace type ("network" -> CLONE_NEWNET, "mount" ->
// CLONE_NEWNS); 0 for a name that is not one. Pure.
int clone_flag(std::string_view oci_type);

// The kernel's name of a CLONE_NEW* type, as in /proc/PID/ns ("net", "mnt"); "unknown"
// for anything else. Pure.
const char* type_name(int clone_flag);

// The namespace types a process in another's namespaces joins, in the order it must: the
// user namespace first (it owns the others), the mount namespace last.
inline constexpr int kJoinOrder[] = {CLONE_NEWUSER,   CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
                                     CLONE_NEWCGROUP, CLONE_NEWPID, CLONE_NEWNS};

// The CLONE_NEW* type of the namespace `fd` refers to (ioctl NS_GET_NSTYPE, Linux 4.11);
// -1 with errno set when it is not a namespace file (ENOTTY) or the call failed.
int type_of(int fd);

}  // namespace sb::nsfs
