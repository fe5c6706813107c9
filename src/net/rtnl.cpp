#include "net/rtnl.hpp"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

namespace sb::net {
namespace {

// Builds one netlink message: header, fixed payload, then (nested) attributes.
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags) {
    buf_.resize(NLMSG_HDRLEN);
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  }
  template <typename T>
  T* payload() {
    size_t off = buf_.size();
    buf_.resize(off + NLMSG_ALIGN(sizeof(T)));
    return reinterpret_cast<T*>(buf_.data() + off);  // zeroed by resize
  }
  void attr(uint16_t type, const void* data, size_t len) {
    size_t off = buf_.size();
    buf_.resize(off + RTA_ALIGN(RTA_LENGTH(len)));
    auto* rta = reinterpret_cast<rtattr*>(buf_.data() + off);
    rta->rta_type = type;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    if (len) std::memcpy(RTA_DATA(rta), data, len);
  }
  void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  template <typename T>
  void attr_val(uint16_t type, T v) { attr(type, &v, sizeof v); }
  size_t begin_nest(uint16_t type) {
    size_t off = buf_.size();
    attr(type, nullptr, 0);
    return off;
  }
  void end_nest(size_t off) {
    reinterpret_cast<rtattr*>(buf_.data() + off)->rta_len =
        static_cast<unsigned short>(buf_.size() - off);
  }
  // A link request for interface `ifindex`: header and ifinfomsg.
  static Msg link(uint16_t type, uint16_t flags, int ifindex) {
    Msg m(type, flags);
    auto* ifi = m.payload<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return m;
  }
  ifinfomsg* ifinfo() { return reinterpret_cast<ifinfomsg*>(buf_.data() + NLMSG_HDRLEN); }
  std::vector<char>& finish() {
    hdr()->nlmsg_len = static_cast<uint32_t>(buf_.size());
    return buf_;
  }

 private:
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  std::vector<char> buf_;
};

// Walks the attributes of an RTM_NEWLINK answer.
template <typename F>
void for_each_link_attr(const std::vector<char>& m, F f) {
  auto* nh = reinterpret_cast<const nlmsghdr*>(m.data());
  auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(nh));
  int len = static_cast<int>(nh->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof *ifi));
  for (auto* rta = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(ifi) +
                                                     NLMSG_ALIGN(sizeof *ifi));
       RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
    f(ifi, rta);
}

}  // namespace

Rtnl::Rtnl() : sock_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
  if (!sock_) throw_errno("Can't open a netlink socket");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(sock_.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
    throw_errno("Can't bind a netlink socket");
}

int Rtnl::request(std::vector<char>& msg, std::vector<std::vector<char>>* dump) {
  auto* nh = reinterpret_cast<nlmsghdr*>(msg.data());
  nh->nlmsg_seq = ++seq_;
  if (!dump) nh->nlmsg_flags |= NLM_F_ACK;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = ::sendto(sock_.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                    sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw_errno("Can't send a netlink request");

  std::vector<char> buf(32768);
  for (;;) {
    ssize_t n = ::recv(sock_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("Can't read a netlink answer");
    int len = static_cast<int>(n);
    for (auto* r = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(r, static_cast<unsigned>(len));
         r = NLMSG_NEXT(r, len)) {
      if (r->nlmsg_seq != seq_) continue;  // a stale answer to an earlier request
      if (r->nlmsg_type == NLMSG_ERROR) return -static_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
      if (r->nlmsg_type == NLMSG_DONE) return 0;
      if (dump) {
        auto* p = reinterpret_cast<char*>(r);
        dump->emplace_back(p, p + r->nlmsg_len);
      }
    }
  }
}

int Rtnl::link_index(const std::string& name) {
  Msg m(RTM_GETLINK, 0);
  m.payload<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.attr_str(IFLA_IFNAME, name);
  std::vector<std::vector<char>> answer;
  auto& msg = m.finish();
  // A plain get (no dump) answers with the link and no ACK: ask for one explicitly.
  reinterpret_cast<nlmsghdr*>(msg.data())->nlmsg_flags |= NLM_F_ACK;
  int err = request(msg, &answer);
  if (err == ENODEV) return 0;
  if (err) throw SysError("Can't look up network interface " + name, err);
  if (answer.empty()) return 0;
  auto* nh = reinterpret_cast<const nlmsghdr*>(answer[0].data());
  return static_cast<const ifinfomsg*>(NLMSG_DATA(nh))->ifi_index;
}

bool Rtnl::create_bridge(const std::string& name) {
  Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.payload<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.attr_str(IFLA_IFNAME, name);
  size_t info = m.begin_nest(IFLA_LINKINFO);
  m.attr_str(IFLA_INFO_KIND, "bridge");
  m.end_nest(info);
  int err = request(m.finish());
  if (err == EEXIST) return false;
  if (err) throw SysError("Can't create bridge " + name, err);
  return true;
}

void Rtnl::create_veth(const std::string& name, int master, const std::string& peer,
                       pid_t peer_pid, const std::string& peer_mac) {
  Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.payload<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.attr_str(IFLA_IFNAME, name);
  m.attr_val<uint32_t>(IFLA_MASTER, static_cast<uint32_t>(master));
  size_t info = m.begin_nest(IFLA_LINKINFO);
  m.attr_str(IFLA_INFO_KIND, "veth");
  size_t data = m.begin_nest(IFLA_INFO_DATA);
  size_t p = m.begin_nest(VETH_INFO_PEER);
  m.payload<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.attr_str(IFLA_IFNAME, peer);
  m.attr_val<uint32_t>(IFLA_NET_NS_PID, static_cast<uint32_t>(peer_pid));
  m.attr(IFLA_ADDRESS, peer_mac.data(), peer_mac.size());
  m.end_nest(p);
  m.end_nest(data);
  m.end_nest(info);
  int err = request(m.finish());
  if (err) throw SysError("Can't create veth pair " + name + "/" + peer, err);
}

void Rtnl::set_up(int ifindex, const std::string& what) {
  Msg m = Msg::link(RTM_NEWLINK, 0, ifindex);
  m.ifinfo()->ifi_flags = IFF_UP;
  m.ifinfo()->ifi_change = IFF_UP;
  int err = request(m.finish());
  if (err)
    throw SysError("Can't bring up " +
                       (what.empty() ? "network interface #" + std::to_string(ifindex) : what),
                   err);
}

void Rtnl::set_alias(int ifindex, const std::string& alias) {
  Msg m = Msg::link(RTM_NEWLINK, 0, ifindex);
  m.attr(IFLA_IFALIAS, alias.data(), alias.size());
  int err = request(m.finish());
  if (err) throw SysError("Can't set the alias of network interface #" + std::to_string(ifindex), err);
}

std::string Rtnl::alias(int ifindex) {
  Msg m = Msg::link(RTM_GETLINK, NLM_F_ACK, ifindex);
  std::vector<std::vector<char>> answer;
  int err = request(m.finish(), &answer);
  if (err == ENODEV) return {};
  if (err) throw SysError("Can't read network interface #" + std::to_string(ifindex), err);
  std::string out;
  for (auto& a : answer)
    for_each_link_attr(a, [&](const ifinfomsg*, const rtattr* rta) {
      if (rta->rta_type == IFLA_IFALIAS)
        out.assign(static_cast<const char*>(RTA_DATA(rta)),
                   ::strnlen(static_cast<const char*>(RTA_DATA(rta)), RTA_PAYLOAD(rta)));
    });
  return out;
}

void Rtnl::add_address(int ifindex, uint32_t addr, unsigned prefix) {
  Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = m.payload<ifaddrmsg>();
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_index = static_cast<unsigned>(ifindex);
  uint32_t a = htonl(addr);
  m.attr_val(IFA_LOCAL, a);
  m.attr_val(IFA_ADDRESS, a);
  if (prefix < 31) m.attr_val<uint32_t>(IFA_BROADCAST, htonl(addr | (0xffffffffu >> prefix)));
  int err = request(m.finish());
  if (err && err != EEXIST) {
    char s[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, s, sizeof s);
    throw SysError("Can't add address " + std::string(s) + "/" + std::to_string(prefix), err);
  }
}

void Rtnl::add_default_route(uint32_t gateway) {
  Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rt = m.payload<rtmsg>();
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  m.attr_val<uint32_t>(RTA_GATEWAY, htonl(gateway));
  int err = request(m.finish());
  if (err) throw SysError("Can't add the default route", err);
}

bool Rtnl::delete_link(int ifindex) {
  Msg m = Msg::link(RTM_DELLINK, 0, ifindex);
  int err = request(m.finish());
  if (err == ENODEV) return false;
  if (err) throw SysError("Can't delete network interface #" + std::to_string(ifindex), err);
  return true;
}

std::vector<int> Rtnl::ports_of(int master) {
  Msg m(RTM_GETLINK, NLM_F_DUMP);
  m.payload<ifinfomsg>()->ifi_family = AF_UNSPEC;
  std::vector<std::vector<char>> answer;
  int err = request(m.finish(), &answer);
  if (err) throw SysError("Can't list network interfaces", err);
  std::vector<int> ports;
  for (auto& a : answer)
    for_each_link_attr(a, [&](const ifinfomsg* ifi, const rtattr* rta) {
      if (rta->rta_type == IFLA_MASTER &&
          *static_cast<const uint32_t*>(RTA_DATA(rta)) == static_cast<uint32_t>(master))
        ports.push_back(ifi->ifi_index);
    });
  return ports;
}

}  // namespace sb::net
