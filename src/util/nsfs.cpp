#include "util/nsfs.hpp"

#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>

namespace sb::nsfs {

int clone_flag(std::string_view oci_type) {
  if (oci_type == "user") return CLONE_NEWUSER;
  if (oci_type == "pid") return CLONE_NEWPID;
  if (oci_type == "network") return CLONE_NEWNET;
  if (oci_type == "ipc") return CLONE_NEWIPC;
  if (oci_type == "uts") return CLONE_NEWUTS;
  if (oci_type == "mount") return CLONE_NEWNS;
  if (oci_type == "cgroup") return CLONE_NEWCGROUP;
  if (oci_type == "time") return CLONE_NEWTIME;
  return 0;
}

const char* type_name(int clone_flag) {
  switch (clone_flag) {
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWNET: return "net";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWNS: return "mnt";
    case CLONE_NEWCGROUP: return "cgroup";
    case CLONE_NEWTIME: return "time";
    default: return "unknown";
  }
}

int type_of(int fd) { return ::ioctl(fd, NS_GET_NSTYPE); }

}  // namespace sb::nsfs
