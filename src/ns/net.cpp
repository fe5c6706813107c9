#include "ns/net.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include "net/rtnl.hpp"
#include "util/error.hpp"

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
  int fd = ::open("/proc/sys/net/ipv4/ip_unprivileged_port_start", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;  // a kernel before 4.11: nothing to lower
  ssize_t n = ::write(fd, "0\n", 2);
  (void)n;  // a convenience, not isolation: the ports keep the kernel's default otherwise
  ::close(fd);
}

}  // namespace sb::ns
