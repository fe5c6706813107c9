// --allow-net: an egress allowlist enforced by nftables inside the sandbox's own network
// namespace.
//
// Flow: cli/ parses each value with parse_allow_net (pure); planning (net::plan) checks the
// mode and finds `nft`; the setup child, while it still holds CAP_NET_ADMIN over its
// network namespace (launch step 3), loads egress_ruleset()'s text with apply_ruleset().
// The command runs without capabilities, so it can neither flush nor change the table.
//
// Why the `nft` tool and not libnftnl/libmnl or raw nfnetlink: nft is already what --net
// veth runs (no new build dependency, no new Debian package), its text syntax is the
// documented interface, so the ruleset is one pure, unit-tested function whose output a
// user can read (`--verbose`) and paste into `nft -f`; libnftnl would add a library and
// several hundred lines of netlink plumbing for the same table. Its cost is one fork+exec
// of nft at start-up (measured in the hand-over notes), not per packet: the kernel
// evaluates the table alone afterwards.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "spec/spec.hpp"

namespace sb::net {

// The nftables table the sandbox's egress rules live in (family inet).
inline constexpr const char* kEgressTable = "sandbox_egress";

// "HOST[:PORT[-PORT]]": HOST a DNS name ("*.NAME" for NAME's subdomains), an IPv4 or IPv6
// address, or a CIDR network; an IPv6 HOST takes brackets when a port follows
// ("[2001:db8::/32]:443"). Errors name --allow-net and the value. Pure.
NetAllow parse_allow_net(const std::string& value);

// "1.2.3.4", "10.0.0.0/8", "2001:db8::/32" (the prefix only when not a single address).
std::string format_allow_address(const NetAllow& a);

// The nft script (for `nft -f -`) that denies every outbound packet of the sandbox's network
// namespace but those `rules` allow: the namespace's own loopback, replies of accepted
// connections, IPv6 neighbour discovery, and the rules' addresses/ports. A denied TCP
// connection gets a reset (ECONNREFUSED), anything else ICMP administratively prohibited
// (EHOSTUNREACH): fast failures, never a silent drop. Rules naming DNS names get empty
// timeout sets that the supervisor's DNS filter fills as the names resolve
// (dnsfilter.hpp). Pure.
std::string egress_ruleset(const std::vector<NetAllow>& rules);

// In the setup child, holding CAP_NET_ADMIN over its network namespace, before the new
// root: runs `nft -f -` (at the absolute path `nft`) on `ruleset`. `before_exec` runs in
// the forked process before exec (the child keeps CAP_NET_ADMIN across it). Throws
// sb::Error naming --allow-net with nft's message on failure.
void apply_ruleset(const std::string& nft, const std::string& ruleset,
                   const std::function<void()>& before_exec);

}  // namespace sb::net
