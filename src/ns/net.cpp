#include "ns/net.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace sb::ns {

void loopback_up() {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!sock) throw_errno("Can't open a netlink socket to bring up loopback");
  unsigned ifindex = ::if_nametoindex("lo");
  if (ifindex == 0) throw_errno("Can't find the loopback interface");

  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
  } req;
  std::memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.nh.nlmsg_type = RTM_NEWLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = static_cast<int>(ifindex);
  req.ifi.ifi_flags = IFF_UP;
  req.ifi.ifi_change = IFF_UP;

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.get(), &req, req.nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0)
    throw_errno("Can't send the netlink request to bring up loopback");

  char buf[4096];
  ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
  if (n < 0) throw_errno("Can't read the netlink answer for loopback");
  auto* nh = reinterpret_cast<nlmsghdr*>(buf);
  if (NLMSG_OK(nh, static_cast<unsigned>(n)) && nh->nlmsg_type == NLMSG_ERROR) {
    auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(nh));
    if (err->error != 0) throw SysError("Can't bring up the loopback interface", -err->error);
  }
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
