#include "host/probe.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace sb::host {
namespace {

// Reads a small integer sysctl; returns fallback when it does not exist.
long read_sysctl(const char* path, long fallback) {
  std::ifstream in(path);
  long v;
  if (in >> v) return v;
  return fallback;
}

}  // namespace

HostFacts probe() {
  HostFacts f;
  f.uid = ::getuid();
  f.gid = ::getgid();
  struct stat st;
  bool has_userns = ::stat("/proc/self/ns/user", &st) == 0;
  bool allowed = read_sysctl("/proc/sys/user/max_user_namespaces", 1) > 0;
  // Debian/Ubuntu kernels can forbid unprivileged user namespaces with this knob.
  if (f.uid != 0 && read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", 1) == 0)
    allowed = false;
  f.userns_available = has_userns && allowed;
  f.cgroupns_available = ::stat("/proc/self/ns/cgroup", &st) == 0;
  f.selinux_enabled = ::stat("/sys/fs/selinux/enforce", &st) == 0;
  return f;
}

}  // namespace sb::host
