// --allow-net: parsing, the nftables ruleset, and loading it in the setup child (see
// egress.hpp for the flow and why nft).
#include "net/egress.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>

#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/parse.hpp"

namespace sb::net {
namespace {

[[noreturn]] void bad(const std::string& value, const std::string& why) {
  throw Error("--allow-net: '" + value + "' " + why +
              " (expected HOST[:PORT[-PORT]], HOST a DNS name, an IP address or a CIDR "
              "network; [IPv6]:PORT)");
}

uint16_t parse_port(const std::string& value, const std::string& s) {
  auto p = parse::unsigned_dec(s, 65535);
  if (!p || *p == 0) bad(value, "has port '" + s + "', not a number from 1 to 65535");
  return static_cast<uint16_t>(*p);
}

void parse_ports(const std::string& value, const std::string& spec, NetAllow& out) {
  auto dash = spec.find('-');
  if (dash == std::string::npos) {
    out.port_lo = out.port_hi = parse_port(value, spec);
    return;
  }
  out.port_lo = parse_port(value, spec.substr(0, dash));
  out.port_hi = parse_port(value, spec.substr(dash + 1));
  if (out.port_lo > out.port_hi)
    bad(value, "has the port range '" + spec + "' backwards");
}

// RFC 1123 host names: labels of letters, digits and '-' (and '_', which real DNS data
// holds: _service records), 1-63 bytes, not starting or ending with '-'; 253 bytes at
// most; the last label not all digits (that would be a mistyped address).
bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 253) return false;
  size_t start = 0;
  std::string last;
  while (true) {
    size_t dot = n.find('.', start);
    std::string label = n.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    last = label;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return !std::all_of(last.begin(), last.end(),
                      [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

void parse_host(const std::string& value, const std::string& host, bool bracketed,
                NetAllow& out) {
  if (host.empty()) bad(value, "has no host");
  std::string addr = host;
  std::optional<uint64_t> prefix;
  auto slash = host.find('/');
  if (slash != std::string::npos) {
    addr = host.substr(0, slash);
    prefix = parse::unsigned_dec(host.substr(slash + 1), 128);
    if (!prefix) bad(value, "has prefix length '" + host.substr(slash + 1) + "', not a number");
  }
  in_addr a4{};
  in6_addr a6{};
  if (!bracketed && ::inet_pton(AF_INET, addr.c_str(), &a4) == 1) {
    out.kind = NetAllow::Kind::Ipv4;
    std::memcpy(out.addr.data(), &a4, 4);
    out.prefix = 32;
  } else if (::inet_pton(AF_INET6, addr.c_str(), &a6) == 1) {
    out.kind = NetAllow::Kind::Ipv6;
    std::memcpy(out.addr.data(), &a6, 16);
    out.prefix = 128;
  } else {
    if (bracketed) bad(value, "has '" + host + "' in brackets, which is not an IPv6 address");
    if (prefix) bad(value, "has '" + addr + "' before the '/', which is not an IP address");
    std::string name = host;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name.size() > 1 && name.back() == '.') name.pop_back();
    if (name.rfind("*.", 0) == 0) {
      out.wildcard = true;
      name = name.substr(2);
    }
    if (!valid_name(name)) bad(value, "has '" + host + "', which is not an IP address or a DNS name");
    out.kind = NetAllow::Kind::Name;
    out.name = name;
    return;
  }
  if (prefix) {
    if (*prefix > out.prefix)
      bad(value, "has prefix length " + std::to_string(*prefix) + ", more than the address has bits");
    out.prefix = static_cast<unsigned>(*prefix);
    // Host bits set is almost always a typo for another network: refused, not masked.
    const size_t len = out.kind == NetAllow::Kind::Ipv4 ? 4 : 16;
    for (size_t i = 0; i < len; ++i) {
      const unsigned bit0 = static_cast<unsigned>(i) * 8;
      uint8_t mask = bit0 >= out.prefix ? 0 : bit0 + 8 <= out.prefix ? 0xff
                     : static_cast<uint8_t>(0xff << (8 - (out.prefix - bit0)));
      if (out.addr[i] & ~mask) {
        NetAllow net = out;
        for (size_t j = i; j < len; ++j) {
          const unsigned b0 = static_cast<unsigned>(j) * 8;
          net.addr[j] &= b0 >= out.prefix ? 0 : b0 + 8 <= out.prefix ? 0xff
                         : static_cast<uint8_t>(0xff << (8 - (out.prefix - b0)));
        }
        bad(value, "has host bits set (the network is " + format_allow_address(net) + ")");
      }
    }
  }
}

}  // namespace

NetAllow parse_allow_net(const std::string& value) {
  NetAllow out;
  out.text = value;
  if (value.empty()) bad(value, "is empty");
  // "none": every destination denied until another --allow-net allows one (the agent
  // profile's starting point). Not a host: a one-label name "none" cannot be asked for.
  if (value == "none") {
    out.kind = NetAllow::Kind::None;
    return out;
  }
  std::string host, ports;
  bool bracketed = false;
  if (value.front() == '[') {
    auto close = value.find(']');
    if (close == std::string::npos) bad(value, "has no ']' after the IPv6 address");
    host = value.substr(1, close - 1);
    bracketed = true;
    std::string rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || rest.size() == 1) bad(value, "has '" + rest + "' after ']'");
      ports = rest.substr(1);
    }
  } else {
    const auto colons = std::count(value.begin(), value.end(), ':');
    if (colons == 1) {
      auto c = value.find(':');
      host = value.substr(0, c);
      ports = value.substr(c + 1);
      if (ports.empty()) bad(value, "has no port after ':'");
    } else {
      host = value;  // no port, or an IPv6 address without brackets (no port either)
    }
  }
  parse_host(value, host, bracketed, out);
  if (!ports.empty()) parse_ports(value, ports, out);
  return out;
}

std::string format_allow_address(const NetAllow& a) {
  char s[INET6_ADDRSTRLEN];
  const bool v4 = a.kind == NetAllow::Kind::Ipv4;
  ::inet_ntop(v4 ? AF_INET : AF_INET6, a.addr.data(), s, sizeof s);
  std::string out = s;
  if (a.prefix != (v4 ? 32u : 128u)) out += "/" + std::to_string(a.prefix);
  return out;
}

namespace {

using Bytes = std::array<uint8_t, 16>;

// [lo, hi] of a network (addr/prefix) over `len` bytes.
EgressInterval interval_of(const NetAllow& r, size_t len) {
  EgressInterval iv;
  iv.lo = r.addr;
  iv.hi = r.addr;
  for (size_t i = 0; i < len; ++i) {
    const unsigned bit0 = static_cast<unsigned>(i) * 8;
    const uint8_t host = bit0 >= r.prefix ? 0xff : bit0 + 8 <= r.prefix ? 0
                         : static_cast<uint8_t>(0xff >> (r.prefix - bit0));
    iv.lo[i] &= static_cast<uint8_t>(~host);
    iv.hi[i] |= host;
  }
  return iv;
}

// a + 1 over `len` bytes; false when it overflows (a was all ones).
bool increment(Bytes& a, size_t len) {
  for (size_t i = len; i-- > 0;)
    if (++a[i] != 0) return true;
  return false;
}

// Sorted, with overlapping and touching intervals merged: the kernel's interval sets refuse
// overlaps (nft's auto-merge does the same in user space).
std::vector<EgressInterval> merged(std::vector<EgressInterval> v, size_t len) {
  std::sort(v.begin(), v.end(), [](const EgressInterval& a, const EgressInterval& b) {
    return a.lo < b.lo;
  });
  std::vector<EgressInterval> out;
  for (const EgressInterval& iv : v) {
    if (!out.empty()) {
      Bytes next = out.back().hi;
      // Touches or overlaps the previous one (or the previous one reaches the end).
      if (!increment(next, len) || iv.lo <= next) {
        if (out.back().hi < iv.hi) out.back().hi = iv.hi;
        continue;
      }
    }
    out.push_back(iv);
  }
  return out;
}

std::string address_text(const Bytes& a, bool v6) {
  char s[INET6_ADDRSTRLEN];
  ::inet_ntop(v6 ? AF_INET6 : AF_INET, a.data(), s, sizeof s);
  return s;
}

// "10.0.0.0/8" when the interval is a network, "10.0.0.1" a single address, else "A-B".
std::string interval_text(const EgressInterval& iv, bool v6) {
  const size_t len = v6 ? 16 : 4;
  const std::string lo = address_text(iv.lo, v6);
  if (iv.lo == iv.hi) return lo;
  for (unsigned prefix = 0; prefix < len * 8; ++prefix) {
    NetAllow n;
    n.addr = iv.lo;
    n.prefix = prefix;
    EgressInterval p = interval_of(n, len);
    if (p.lo == iv.lo && p.hi == iv.hi) return lo + "/" + std::to_string(prefix);
  }
  return lo + "-" + address_text(iv.hi, v6);
}

const char* icmp6_name(uint8_t type) {
  switch (type) {
    case 131: return "mld-listener-report";
    case 133: return "nd-router-solicit";
    case 135: return "nd-neighbor-solicit";
    case 136: return "nd-neighbor-advert";
    case 143: return "mld2-listener-report";
  }
  return "?";
}

std::string ports_text(uint16_t lo, uint16_t hi) {
  return std::to_string(lo) + (hi != lo ? "-" + std::to_string(hi) : "");
}

}  // namespace

bool egress_needs_state(const std::vector<NetAllow>& rules, bool inbound) {
  return inbound || std::any_of(rules.begin(), rules.end(), [](const NetAllow& r) {
           return r.kind == NetAllow::Kind::Name;
         });
}

EgressTable egress_table(const std::vector<NetAllow>& rules, std::optional<uint16_t> log_group,
                         bool stateful) {
  // Any-port destinations go in one interval set per family, and destinations with ports
  // in one set per family and port range: one lookup per range however many rules (1,000
  // rules on port 443 load as fast as one set); overlapping networks are merged (the
  // kernel refuses overlapping intervals). With `stateful`, the rules only see a
  // connection's first packet: replies and later packets are accepted by conntrack first.
  using Kind = EgressRule::Kind;
  EgressTable t;
  struct Pending {
    uint16_t lo, hi;
    std::vector<EgressInterval> v4, v6;
  };
  std::vector<EgressInterval> any4, any6;
  std::vector<Pending> port_sets;  // in the order the ranges first appear
  for (const NetAllow& r : rules) {
    if (r.kind == NetAllow::Kind::None) continue;  // allows nothing
    if (r.kind == NetAllow::Kind::Name) continue;  // below: learned from DNS answers
    const bool v4 = r.kind == NetAllow::Kind::Ipv4;
    const EgressInterval iv = interval_of(r, v4 ? 4 : 16);
    if (r.any_port()) {
      (v4 ? any4 : any6).push_back(iv);
      continue;
    }
    auto it = std::find_if(port_sets.begin(), port_sets.end(), [&](const Pending& p) {
      return p.lo == r.port_lo && p.hi == r.port_hi;
    });
    if (it == port_sets.end()) it = port_sets.insert(port_sets.end(), Pending{r.port_lo, r.port_hi, {}, {}});
    (v4 ? it->v4 : it->v6).push_back(iv);
  }
  std::vector<EgressRule> accepts;
  // Single addresses go in a hash set, networks in an interval set: the kernel adds a
  // hash element about five times faster than an interval (two rbtree elements), and
  // single addresses are the common case. A set only when it has elements.
  auto add_sets = [&](const std::string& nets, const std::string& addrs, bool v6,
                      const std::vector<EgressInterval>& elems, uint16_t lo, uint16_t hi) {
    std::vector<EgressInterval> single, networks;
    for (const EgressInterval& iv : elems) (iv.lo == iv.hi ? single : networks).push_back(iv);
    std::sort(single.begin(), single.end(),
              [](const EgressInterval& a, const EgressInterval& b) { return a.lo < b.lo; });
    single.erase(std::unique(single.begin(), single.end(),
                             [](const EgressInterval& a, const EgressInterval& b) { return a.lo == b.lo; }),
                 single.end());
    for (bool interval : {true, false}) {
      auto& v = interval ? networks : single;
      if (v.empty()) continue;
      const std::string& name = interval ? nets : addrs;
      t.sets.push_back({name, v6, false, interval, interval ? merged(v, v6 ? 16 : 4) : v});
      if (lo == 0) {
        accepts.push_back({Kind::Lookup, name, v6});
        continue;
      }
      // TCP and UDP: one rule each (a rule matches one transport protocol's header).
      for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}})
        accepts.push_back({Kind::Lookup, name, v6, proto, lo, hi});
    }
  };
  add_sets("allow4", "addrs4", false, any4, 0, 0);
  add_sets("allow6", "addrs6", true, any6, 0, 0);
  for (const Pending& p : port_sets) {
    std::string base = "ports" + ports_text(p.lo, p.hi);
    std::replace(base.begin(), base.end(), '-', '_');
    add_sets(base + "_4", base + "_addrs4", false, p.v4, p.lo, p.hi);
    add_sets(base + "_6", base + "_addrs6", true, p.v6, p.lo, p.hi);
  }
  // DNS names: empty sets the supervisor's DNS filter fills with the addresses of allowed
  // answers, each element expiring with its record's TTL (dnsfilter.hpp: dns_sets_for).
  bool any_port_names = false;
  std::vector<EgressRule> name_rules;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].kind != NetAllow::Kind::Name) continue;
    if (rules[i].any_port()) {
      any_port_names = true;
      continue;
    }
    const std::string n = "name" + std::to_string(i);
    for (bool v6 : {false, true}) {
      t.sets.push_back({n + (v6 ? "_6" : "_4"), v6, true, false, {}});
      for (uint8_t proto : {uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP}})
        name_rules.push_back({Kind::Lookup, n + (v6 ? "_6" : "_4"), v6, proto, rules[i].port_lo,
                              rules[i].port_hi});
    }
  }
  if (any_port_names) {
    t.sets.push_back({"names4", false, true, false, {}});
    t.sets.push_back({"names6", true, true, false, {}});
    name_rules.insert(name_rules.begin(), {{Kind::Lookup, "names4", false}, {Kind::Lookup, "names6", true}});
  }
  // The namespace's own loopback: the sandbox talking to itself. (The host's loopback is
  // not on it: pasta and slirp4netns reach it through the gateway address, which is
  // denied unless a rule allows it.)
  t.rules.push_back({Kind::Loopback});
  // Replies (to --publish'ed services, veth peers) and later packets of allowed connections
  // (also after a learned address expired). Left out when nothing needs it: every packet of
  // an allowed connection then matches its set again, with no conntrack to pay.
  if (stateful) t.rules.push_back({Kind::Established});
  // IPv6 works only with neighbour discovery; these never leave the link.
  for (uint8_t type : {133, 135, 136, 131, 143}) {
    EgressRule r{Kind::Icmp6Type};
    r.icmp6_type = type;
    t.rules.push_back(r);
  }
  t.rules.insert(t.rules.end(), accepts.begin(), accepts.end());
  t.rules.insert(t.rules.end(), name_rules.begin(), name_rules.end());
  // --audit-fd: what reaches this point is rejected; its headers go to the NFLOG group the
  // supervisor reads (the kernel drops log messages, never packets, when it lags).
  if (log_group) {
    EgressRule r{Kind::Log};
    r.group = *log_group;
    t.rules.push_back(r);
  }
  // Denied: fast failures, never a silent drop (a drop would leave connect() hanging
  // until its timeout). TCP gets a reset (ECONNREFUSED), the rest ICMP administratively
  // prohibited (EHOSTUNREACH, ENETUNREACH for IPv6). The chain's policy drop only backs
  // these: nothing reaches it.
  t.rules.push_back({Kind::RejectTcp});
  t.rules.push_back({Kind::RejectOther});
  return t;
}

std::string egress_ruleset(const EgressTable& t) {
  std::string s = std::string("table inet ") + kEgressTable + " {\n";
  for (const EgressSet& set : t.sets) {
    s += "\tset " + set.name + " {\n\t\ttype " + (set.v6 ? "ipv6_addr" : "ipv4_addr") + "\n";
    if (set.timeout) s += "\t\tflags timeout\n";
    if (set.interval) s += "\t\tflags interval\n";
    if (!set.elems.empty()) {
      s += "\t\telements = { ";
      for (size_t i = 0; i < set.elems.size(); ++i)
        s += (i ? ", " : "") + interval_text(set.elems[i], set.v6);
      s += " }\n";
    }
    s += "\t}\n\n";
  }
  s += "\tchain output {\n\t\ttype filter hook output priority filter; policy drop;\n";
  using Kind = EgressRule::Kind;
  for (const EgressRule& r : t.rules) {
    s += "\t\t";
    switch (r.kind) {
      case Kind::Loopback: s += "oifname \"lo\" accept"; break;
      case Kind::Established: s += "ct state established,related accept"; break;
      case Kind::Icmp6Type: s += std::string("icmpv6 type ") + icmp6_name(r.icmp6_type) + " accept"; break;
      case Kind::Lookup:
        s += std::string(r.v6 ? "ip6" : "ip") + " daddr @" + r.set;
        if (r.proto)
          s += std::string(r.proto == IPPROTO_TCP ? " tcp" : " udp") + " dport " +
               ports_text(r.port_lo, r.port_hi);
        s += " accept";
        break;
      case Kind::Log:
        s += "log group " + std::to_string(r.group) + " snaplen " + std::to_string(kEgressLogSnaplen);
        break;
      case Kind::RejectTcp: s += "meta l4proto tcp reject with tcp reset"; break;
      case Kind::RejectOther: s += "reject with icmpx admin-prohibited"; break;
    }
    s += "\n";
  }
  return s + "\t}\n}\n";
}

std::string egress_ruleset(const std::vector<NetAllow>& rules) {
  return egress_ruleset(egress_table(rules));
}

namespace {

constexpr uint32_t kReg = NFT_REG_1;  // every expression loads into and reads register 1

void data_value(nfnl::Builder& b, uint16_t type, const void* v, size_t len) {
  size_t d = b.nest();
  b.attr(NFTA_DATA_VALUE, v, len);
  b.end_nest(d, type);
}

// One expression: NFTA_LIST_ELEM { NAME, DATA { what `body` adds } }.
template <typename F>
void expr(nfnl::Builder& b, const char* name, F body) {
  size_t e = b.nest();
  b.str(NFTA_EXPR_NAME, name);
  size_t d = b.nest();
  body();
  b.end_nest(d, NFTA_EXPR_DATA);
  b.end_nest(e, NFTA_LIST_ELEM);
}

void meta(nfnl::Builder& b, uint32_t key) {
  expr(b, "meta", [&] {
    b.be32(NFTA_META_DREG, kReg);
    b.be32(NFTA_META_KEY, key);
  });
}

void cmp(nfnl::Builder& b, uint32_t op, const void* v, size_t len) {
  expr(b, "cmp", [&] {
    b.be32(NFTA_CMP_SREG, kReg);
    b.be32(NFTA_CMP_OP, op);
    data_value(b, NFTA_CMP_DATA, v, len);
  });
}

void cmp_u8(nfnl::Builder& b, uint8_t v) { cmp(b, NFT_CMP_EQ, &v, 1); }

void payload(nfnl::Builder& b, uint32_t base, uint32_t offset, uint32_t len) {
  expr(b, "payload", [&] {
    b.be32(NFTA_PAYLOAD_DREG, kReg);
    b.be32(NFTA_PAYLOAD_BASE, base);
    b.be32(NFTA_PAYLOAD_OFFSET, offset);
    b.be32(NFTA_PAYLOAD_LEN, len);
  });
}

void accept(nfnl::Builder& b) {
  expr(b, "immediate", [&] {
    b.be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    size_t d = b.nest();
    size_t v = b.nest();
    b.be32(NFTA_VERDICT_CODE, NF_ACCEPT);
    b.end_nest(v, NFTA_DATA_VERDICT);
    b.end_nest(d, NFTA_IMMEDIATE_DATA);
  });
}

void rule_exprs(nfnl::Builder& b, const EgressRule& r) {
  using Kind = EgressRule::Kind;
  switch (r.kind) {
    case Kind::Loopback: {
      meta(b, NFT_META_OIFNAME);
      char name[IFNAMSIZ] = "lo";
      cmp(b, NFT_CMP_EQ, name, sizeof name);
      accept(b);
      break;
    }
    case Kind::Established: {
      expr(b, "ct", [&] {
        b.be32(NFTA_CT_DREG, kReg);
        b.be32(NFTA_CT_KEY, NFT_CT_STATE);
      });
      // The state is a host-order bit mask: established or related.
      const uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
      const uint32_t zero = 0;
      expr(b, "bitwise", [&] {
        b.be32(NFTA_BITWISE_SREG, kReg);
        b.be32(NFTA_BITWISE_DREG, kReg);
        b.be32(NFTA_BITWISE_LEN, 4);
        data_value(b, NFTA_BITWISE_MASK, &mask, 4);
        data_value(b, NFTA_BITWISE_XOR, &zero, 4);
      });
      cmp(b, NFT_CMP_NEQ, &zero, 4);
      accept(b);
      break;
    }
    case Kind::Icmp6Type:
      meta(b, NFT_META_NFPROTO);
      cmp_u8(b, NFPROTO_IPV6);
      meta(b, NFT_META_L4PROTO);
      cmp_u8(b, IPPROTO_ICMPV6);
      payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
      cmp_u8(b, r.icmp6_type);
      accept(b);
      break;
    case Kind::Lookup: {
      // inet: the family first, or an IPv6 packet's bytes would be read as IPv4 fields.
      meta(b, NFT_META_NFPROTO);
      cmp_u8(b, r.v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
      if (r.v6)
        payload(b, NFT_PAYLOAD_NETWORK_HEADER, offsetof(ip6_hdr, ip6_dst), 16);
      else
        payload(b, NFT_PAYLOAD_NETWORK_HEADER, offsetof(iphdr, daddr), 4);
      expr(b, "lookup", [&] {
        b.str(NFTA_LOOKUP_SET, r.set);
        b.be32(NFTA_LOOKUP_SREG, kReg);
      });
      if (r.proto) {
        meta(b, NFT_META_L4PROTO);
        cmp_u8(b, r.proto);
        payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);  // the destination port (TCP, UDP)
        const uint16_t lo = htons(r.port_lo), hi = htons(r.port_hi);
        if (r.port_lo == r.port_hi) {
          cmp(b, NFT_CMP_EQ, &lo, 2);
        } else {
          expr(b, "range", [&] {
            b.be32(NFTA_RANGE_SREG, kReg);
            b.be32(NFTA_RANGE_OP, NFT_RANGE_EQ);
            data_value(b, NFTA_RANGE_FROM_DATA, &lo, 2);
            data_value(b, NFTA_RANGE_TO_DATA, &hi, 2);
          });
        }
      }
      accept(b);
      break;
    }
    case Kind::Log:
      expr(b, "log", [&] {
        b.be16(NFTA_LOG_GROUP, r.group);
        b.be32(NFTA_LOG_SNAPLEN, kEgressLogSnaplen);
      });
      break;
    case Kind::RejectTcp:
      meta(b, NFT_META_L4PROTO);
      cmp_u8(b, IPPROTO_TCP);
      expr(b, "reject", [&] {
        b.be32(NFTA_REJECT_TYPE, NFT_REJECT_TCP_RST);
        b.u8(NFTA_REJECT_ICMP_CODE, 0);
      });
      break;
    case Kind::RejectOther:
      expr(b, "reject", [&] {
        b.be32(NFTA_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH);
        b.u8(NFTA_REJECT_ICMP_CODE, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
      });
      break;
  }
}

constexpr uint16_t msg_type(int nft_msg) {
  return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | nft_msg);
}

// nft's data type ids (ipv4_addr, ipv6_addr), so that `nft list` names the key type.
constexpr uint32_t kNftTypeIpv4 = 7, kNftTypeIpv6 = 8;

// Elements per NEWSETELEM message: a message's element list is one netlink attribute,
// whose length is 16 bits.
constexpr size_t kElemsPerMsg = 1000;

}  // namespace

std::vector<nfnl::Msg> egress_messages(const EgressTable& t) {
  std::vector<nfnl::Msg> out;
  const uint16_t create = NLM_F_REQUEST | NLM_F_CREATE;
  {
    nfnl::Builder b;
    size_t m = b.begin_msg(msg_type(NFT_MSG_NEWTABLE), create, NFPROTO_INET, 0, 0);
    b.str(NFTA_TABLE_NAME, kEgressTable);
    b.end_msg(m);
    out.push_back({b.buf, std::string("the table ") + kEgressTable});
  }
  uint32_t set_id = 1;
  for (const EgressSet& set : t.sets) {
    const uint32_t key_len = set.v6 ? 16 : 4;
    nfnl::Builder b;
    size_t m = b.begin_msg(msg_type(NFT_MSG_NEWSET), create, NFPROTO_INET, 0, 0);
    b.str(NFTA_SET_TABLE, kEgressTable);
    b.str(NFTA_SET_NAME, set.name);
    b.be32(NFTA_SET_FLAGS, set.timeout ? NFT_SET_TIMEOUT : set.interval ? NFT_SET_INTERVAL : 0);
    b.be32(NFTA_SET_KEY_TYPE, set.v6 ? kNftTypeIpv6 : kNftTypeIpv4);
    b.be32(NFTA_SET_KEY_LEN, key_len);
    b.be32(NFTA_SET_ID, set_id++);
    b.end_msg(m);
    out.push_back({b.buf, "the set " + set.name});
    // Each interval: its first address, and the address after its last one flagged as
    // the interval's end (none when it reaches the last address); a hash set's address
    // alone.
    for (size_t first = 0; first < set.elems.size(); first += kElemsPerMsg) {
      nfnl::Builder e;
      m = e.begin_msg(msg_type(NFT_MSG_NEWSETELEM), create, NFPROTO_INET, 0, 0);
      e.str(NFTA_SET_ELEM_LIST_TABLE, kEgressTable);
      e.str(NFTA_SET_ELEM_LIST_SET, set.name);
      size_t list = e.nest();
      const size_t last = std::min(set.elems.size(), first + kElemsPerMsg);
      for (size_t i = first; i < last; ++i) {
        size_t el = e.nest();
        size_t key = e.nest();
        e.attr(NFTA_DATA_VALUE, set.elems[i].lo.data(), key_len);
        e.end_nest(key, NFTA_SET_ELEM_KEY);
        e.end_nest(el, NFTA_LIST_ELEM);
        Bytes end = set.elems[i].hi;
        if (!set.interval || !increment(end, key_len)) continue;
        el = e.nest();
        key = e.nest();
        e.attr(NFTA_DATA_VALUE, end.data(), key_len);
        e.end_nest(key, NFTA_SET_ELEM_KEY);
        e.be32(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
        e.end_nest(el, NFTA_LIST_ELEM);
      }
      e.end_nest(list, NFTA_SET_ELEM_LIST_ELEMENTS);
      e.end_msg(m);
      out.push_back({e.buf, "the elements of the set " + set.name});
    }
  }
  {
    nfnl::Builder b;
    size_t m = b.begin_msg(msg_type(NFT_MSG_NEWCHAIN), create, NFPROTO_INET, 0, 0);
    b.str(NFTA_CHAIN_TABLE, kEgressTable);
    b.str(NFTA_CHAIN_NAME, "output");
    size_t hook = b.nest();
    b.be32(NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
    b.be32(NFTA_HOOK_PRIORITY, 0);  // "filter"
    b.end_nest(hook, NFTA_CHAIN_HOOK);
    b.be32(NFTA_CHAIN_POLICY, NF_DROP);
    b.str(NFTA_CHAIN_TYPE, "filter");
    b.end_msg(m);
    out.push_back({b.buf, "the chain output"});
  }
  size_t n = 0;
  for (const EgressRule& r : t.rules) {
    nfnl::Builder b;
    size_t m = b.begin_msg(msg_type(NFT_MSG_NEWRULE), create | NLM_F_APPEND, NFPROTO_INET, 0, 0);
    b.str(NFTA_RULE_TABLE, kEgressTable);
    b.str(NFTA_RULE_CHAIN, "output");
    size_t list = b.nest();
    rule_exprs(b, r);
    b.end_nest(list, NFTA_RULE_EXPRESSIONS);
    b.end_msg(m);
    out.push_back({b.buf, "rule " + std::to_string(++n) + " of the chain output"});
  }
  return out;
}

void load_egress(int nl_fd, const EgressTable& table) {
  nfnl::send_batches(nl_fd, egress_messages(table), "--allow-net");
}

UniqueFd open_egress_log(uint16_t group) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER));
  if (!fd) throw_errno("--audit-fd: can't open an NFLOG socket");
  sockaddr_nl self{};
  self.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&self), sizeof self) < 0)
    throw_errno("--audit-fd: can't bind the NFLOG socket");
  const std::string msg = nfnl::nflog_bind_messages(group, kEgressLogSnaplen, 1);
  if (::send(fd.get(), msg.data(), msg.size(), 0) != static_cast<ssize_t>(msg.size()))
    throw_errno("--audit-fd: can't configure the NFLOG socket");
  // The acknowledgement, waited for at most 2 s (the socket is non-blocking).
  pollfd p{fd.get(), POLLIN, 0};
  alignas(nlmsghdr) char buf[4096];
  for (int waited = 0; waited < 2000;) {
    int r = ::poll(&p, 1, 100);
    if (r < 0 && errno != EINTR) throw_errno("--audit-fd: poll");
    if (r <= 0) {
      waited += 100;
      continue;
    }
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0) continue;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) continue;
      const int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
      if (err != 0)
        throw Error(std::string("--audit-fd: the kernel refused the NFLOG group for rejected "
                                "connections: ") + std::strerror(err));
      return fd;
    }
  }
  throw Error("--audit-fd: no answer from the kernel for the NFLOG group of rejected connections");
}

std::vector<nfnl::LoggedPacket> read_egress_log(int fd, size_t max, bool& overrun) {
  std::vector<nfnl::LoggedPacket> out;
  alignas(nlmsghdr) char buf[8192];
  for (size_t i = 0; i < max; ++i) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ENOBUFS) {
        overrun = true;  // the kernel dropped some; the socket still works
        continue;
      }
      break;
    }
    for (const auto& p : nfnl::parse_nflog(std::string_view(buf, static_cast<size_t>(n))))
      out.push_back(p);
  }
  return out;
}

std::string egress_audit_line(const nfnl::LoggedPacket& p) {
  char addr[INET6_ADDRSTRLEN] = "";
  ::inet_ntop(p.family, p.addr, addr, sizeof addr);
  std::string proto;
  switch (p.proto) {
    case IPPROTO_TCP: proto = "tcp"; break;
    case IPPROTO_UDP: proto = "udp"; break;
    case IPPROTO_ICMP: proto = "icmp"; break;
    case IPPROTO_ICMPV6: proto = "icmpv6"; break;
    case IPPROTO_SCTP: proto = "sctp"; break;
    case IPPROTO_UDPLITE: proto = "udplite"; break;
    default: proto = std::to_string(p.proto);
  }
  std::string s = std::string("{\"type\":\"connect\",\"address\":\"") + addr + "\"";
  if (p.port) s += ",\"port\":" + std::to_string(p.port);
  return s + ",\"proto\":\"" + proto + "\"}\n";
}

}  // namespace sb::net
