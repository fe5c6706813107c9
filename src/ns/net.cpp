#include "ns/net.hpp"

#include <net/if.h>

#include "net/rtnl.hpp"
#include "util/error.hpp"
#include "util/io.hpp"

namespace sb::ns {

void loopback_up() {
  unsigned ifindex = ::if_nametoindex("lo");
  if (ifindex == 0) throw_errno("Can't find the loopback interface");
  net::Rtnl().set_up(static_cast<int>(ifindex), "the loopback interface");
}

void allow_unprivileged_low_ports() {
  // The sandbox owns this network namespace: its ports are reachable only through what
  // --publish forwards, so a server inside may bind port 80 without root, as in rootless
  // Podman. /proc/sys/net follows the opener's network namespace: this is the new one.
  // A convenience, not isolation: where it fails (a kernel before 4.11 has no such file)
  // the ports keep the kernel's default.
  try {
    io::write_kernel_file("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0\n");
  } catch (const SysError&) {
  }
}

}  // namespace sb::ns
