// A small rtnetlink client: exactly the link, address and route requests that --net veth
// and the new network namespace's loopback need, in the network namespace of the calling
// thread. No `ip` binary involved; the only netlink code in sandbox.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "util/fd.hpp"

namespace sb::net {

class Rtnl {
 public:
  Rtnl();  // a NETLINK_ROUTE socket in the current network namespace

  // Interface index of `name`, 0 when there is none.
  int link_index(const std::string& name);
  // Creates a bridge; false (and nothing done) when a link of that name exists already.
  bool create_bridge(const std::string& name);
  // A veth pair: `name` here, enslaved to `master`; `peer` created directly in the network
  // namespace of process `peer_pid`, with the Ethernet address `peer_mac` (6 bytes).
  void create_veth(const std::string& name, int master, const std::string& peer, pid_t peer_pid,
                   const std::string& peer_mac);
  // Brings the link up; `what` names it in the error ("" : "network interface #N").
  void set_up(int ifindex, const std::string& what = {});
  void set_alias(int ifindex, const std::string& alias);
  std::string alias(int ifindex);  // "" when none
  // Adds ADDR/PREFIX (IPv4, host byte order); an address that exists already is fine.
  void add_address(int ifindex, uint32_t addr, unsigned prefix);
  void add_default_route(uint32_t gateway);
  // Deletes a link; false when it did not exist.
  bool delete_link(int ifindex);
  // Indexes of the links enslaved to `master`.
  std::vector<int> ports_of(int master);

 private:
  // Sends one request (nlmsghdr already filled but for seq) and returns the kernel's errno
  // for it (0 on success). Dump replies go to `dump`.
  int request(std::vector<char>& msg, std::vector<std::vector<char>>* dump = nullptr);
  UniqueFd sock_;
  uint32_t seq_ = 0;
};

}  // namespace sb::net
