// --allow-net: an egress allowlist enforced by nftables inside the sandbox's own network
// namespace.
//
// Flow: cli/ parses each value with parse_allow_net (pure); planning (net::plan) checks the
// mode; the setup child, while it still holds CAP_NET_ADMIN over its network namespace
// (launch step 3), loads egress_table()'s table with load_egress(): one nfnetlink batch
// over NETLINK_NETFILTER, written by us (net/nfnl.hpp). The command runs without
// capabilities, so it can neither flush nor change the table.
//
// Why raw nfnetlink and not the `nft` tool or libnftnl/libmnl: start-up cost. `nft -f -`
// is a fork+exec plus nft parsing its own grammar and listing the kernel's cache first:
// 3-15 ms; the batch we build costs 0.25 ms for 10 rules, 1.2-2.2 ms for 1,000 (the
// kernel's per-element work; bench/egress_bench.cpp). The table needs a dozen message and expression kinds, stable
// kernel ABI, which libnftnl would only wrap (two more libraries to build and ship for the
// same bytes). The table is one model (EgressTable) rendered twice: as netlink messages
// for the kernel and as nft text for people (--verbose, `nft -f` compatible); a unit test
// loads the messages into a fresh namespace and checks `nft list table` against the text.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/nfnl.hpp"
#include "spec/spec.hpp"
#include "util/fd.hpp"

namespace sb::net {

// The nftables table the sandbox's egress rules live in (family inet).
inline constexpr const char* kEgressTable = "sandbox_egress";

// "HOST[:PORT[-PORT]]": HOST a DNS name ("*.NAME" for NAME's subdomains), an IPv4 or IPv6
// address, or a CIDR network; an IPv6 HOST takes brackets when a port follows
// ("[2001:db8::/32]:443"). Errors name --allow-net and the value. Pure.
NetAllow parse_allow_net(const std::string& value);

// "1.2.3.4", "10.0.0.0/8", "2001:db8::/32" (the prefix only when not a single address).
std::string format_allow_address(const NetAllow& a);

// The egress table: denies every outbound packet of the sandbox's network namespace but
// those `rules` allow: the namespace's own loopback, replies of accepted connections, IPv6
// neighbour discovery, and the rules' addresses/ports. A denied TCP connection gets a reset
// (ECONNREFUSED), anything else ICMP administratively prohibited (EHOSTUNREACH): fast
// failures, never a silent drop. With `log_group` (--audit-fd), a denied packet's headers
// go to that NFLOG group first. Rules naming DNS names get empty timeout sets that the
// supervisor's DNS filter fills as the names resolve (dnsfilter.hpp).
struct EgressInterval {
  std::array<uint8_t, 16> lo{}, hi{};  // inclusive, network byte order (IPv4: first 4)
};
struct EgressSet {
  std::string name;
  bool v6 = false;
  bool timeout = false;   // a DNS name's set (flags timeout, hash)
  bool interval = false;  // networks (flags interval, rbtree); else single addresses (hash)
  std::vector<EgressInterval> elems;  // sorted; intervals merged: no two overlap or touch
};
struct EgressRule {
  enum class Kind { Loopback, Established, Icmp6Type, Lookup, Log, RejectTcp, RejectOther };
  Kind kind;
  std::string set;     // Lookup: accept if the destination is in it...
  bool v6 = false;
  uint8_t proto = 0;   // ...and (when not 0) the transport protocol is this one...
  uint16_t port_lo = 0, port_hi = 0;  // ...and the destination port in this range
  uint8_t icmp6_type = 0;  // Icmp6Type
  uint16_t group = 0;      // Log: the NFLOG group
};
struct EgressTable {
  std::vector<EgressSet> sets;
  std::vector<EgressRule> rules;  // the output chain's, in order
};
// The NFLOG group of rejected packets (per network namespace: the sandbox's own).
inline constexpr uint16_t kEgressLogGroup = 1;
// Bytes of each rejected packet sent to NFLOG: an IPv6 header and the ports.
inline constexpr uint32_t kEgressLogSnaplen = 64;
// `stateful`: a `ct state established,related accept` rule, so that replies to inbound
// connections (--publish, veth) and connections to a DNS-learned address whose set element
// has expired keep working. It turns conntrack on in the namespace, which every packet then
// pays; without it (addresses only, nothing inbound) each packet costs the set lookups alone.
EgressTable egress_table(const std::vector<NetAllow>& rules,
                         std::optional<uint16_t> log_group = std::nullopt, bool stateful = true);
// Pure: whether the sandbox's table needs `stateful` (see egress_table).
bool egress_needs_state(const std::vector<NetAllow>& rules, bool inbound);

// The table as nft text (`nft -f` reads it; what `nft list table` prints). Pure.
std::string egress_ruleset(const EgressTable& table);
std::string egress_ruleset(const std::vector<NetAllow>& rules);

// The table as nf_tables messages (table, sets, elements, chain, rules), without the
// batch markers and sequence numbers (nfnl::send_batches adds them). Pure.
std::vector<nfnl::Msg> egress_messages(const EgressTable& table);

// In the setup child, holding CAP_NET_ADMIN over its network namespace: loads the table
// through `nl_fd` (a NETLINK_NETFILTER socket). Throws sb::Error naming --allow-net.
void load_egress(int nl_fd, const EgressTable& table);

// --audit-fd: in the setup child (CAP_NET_ADMIN over its network namespace), an NFLOG
// socket bound to `group`, O_CLOEXEC and non-blocking, for the supervisor. Throws sb::Error.
UniqueFd open_egress_log(uint16_t group);

// In the supervisor: the rejected packets queued on the NFLOG socket, at most `max`
// datagrams (bounded: the loop stays fair); never blocks. `overrun` is set when the kernel
// dropped log messages because the socket's buffer was full (then counted, not lost
// silently).
std::vector<nfnl::LoggedPacket> read_egress_log(int fd, size_t max, bool& overrun);

// Pure: {"type":"connect","address":"10.0.2.2","port":443,"proto":"tcp"}\n (the
// destination of a connection the egress rules rejected; "port" only for TCP and UDP).
std::string egress_audit_line(const nfnl::LoggedPacket& p);

}  // namespace sb::net
