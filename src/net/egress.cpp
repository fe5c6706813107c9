// --allow-net: parsing, the nftables ruleset, and loading it in the setup child (see
// egress.hpp for the flow and why nft).
#include "net/egress.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>

#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"
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

std::string egress_ruleset(const std::vector<NetAllow>& rules) {
  // Any-port destinations go in one interval set per family, and destinations with ports
  // in one set per family and port range: one lookup per range however many rules (1,000
  // rules on port 443 load as fast as one set), and auto-merge folds overlapping networks,
  // which nft would otherwise refuse. (Not one concatenated address . port set: those
  // refuse partial overlaps.) The rules only see a connection's first packet: replies and
  // later packets are accepted by conntrack first.
  std::vector<std::string> any4, any6;
  struct PortSet {
    std::string ports;  // "443", "80-90"
    std::vector<std::string> v4, v6;
  };
  std::vector<PortSet> port_sets;  // in the order the ranges first appear
  auto add = [](std::vector<std::string>& set, const std::string& addr) {
    if (std::find(set.begin(), set.end(), addr) == set.end()) set.push_back(addr);
  };
  for (const NetAllow& r : rules) {
    if (r.kind == NetAllow::Kind::Name) continue;  // below: learned from DNS answers
    const bool v4 = r.kind == NetAllow::Kind::Ipv4;
    const std::string addr = format_allow_address(r);
    if (r.any_port()) {
      add(v4 ? any4 : any6, addr);
      continue;
    }
    std::string ports = std::to_string(r.port_lo);
    if (r.port_hi != r.port_lo) ports += "-" + std::to_string(r.port_hi);
    auto it = std::find_if(port_sets.begin(), port_sets.end(),
                           [&](const PortSet& p) { return p.ports == ports; });
    if (it == port_sets.end()) it = port_sets.insert(port_sets.end(), PortSet{ports, {}, {}});
    add(v4 ? it->v4 : it->v6, addr);
  }
  auto set = [](const char* name, const char* type, const std::vector<std::string>& elems) {
    std::string s = std::string("\tset ") + name + " {\n\t\ttype " + type +
                    "\n\t\tflags interval\n\t\tauto-merge\n";
    if (!elems.empty()) {
      s += "\t\telements = { ";
      for (size_t i = 0; i < elems.size(); ++i) s += (i ? ", " : "") + elems[i];
      s += " }\n";
    }
    return s + "\t}\n";
  };
  std::string s = std::string("table inet ") + kEgressTable + " {\n";
  s += set("allow4", "ipv4_addr", any4);
  s += set("allow6", "ipv6_addr", any6);
  std::vector<std::string> port_rules;
  for (const PortSet& p : port_sets) {
    std::string base = "ports" + p.ports;
    std::replace(base.begin(), base.end(), '-', '_');
    for (bool v4 : {true, false}) {
      const auto& elems = v4 ? p.v4 : p.v6;
      if (elems.empty()) continue;
      const std::string name = base + (v4 ? "_4" : "_6");
      s += set(name.c_str(), v4 ? "ipv4_addr" : "ipv6_addr", elems);
      port_rules.push_back(std::string(v4 ? "ip" : "ip6") + " daddr @" + name +
                           " meta l4proto { tcp, udp } th dport " + p.ports + " accept");
    }
  }
  // DNS names: empty sets the supervisor's DNS filter fills with the addresses of allowed
  // answers, each element expiring with its record's TTL (dnsfilter.hpp: dns_sets_for).
  std::vector<std::string> name_rules;
  bool any_port_names = false;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].kind != NetAllow::Kind::Name) continue;
    if (rules[i].any_port()) {
      any_port_names = true;
      continue;
    }
    const std::string n = "name" + std::to_string(i);
    std::string ports = std::to_string(rules[i].port_lo);
    if (rules[i].port_hi != rules[i].port_lo) ports += "-" + std::to_string(rules[i].port_hi);
    s += "\tset " + n + "_4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n";
    s += "\tset " + n + "_6 {\n\t\ttype ipv6_addr\n\t\tflags timeout\n\t}\n";
    for (const char* fam : {"4", "6"})
      name_rules.push_back(std::string(*fam == '4' ? "ip" : "ip6") + " daddr @" + n + "_" + fam +
                           " meta l4proto { tcp, udp } th dport " + ports + " accept");
  }
  if (any_port_names) {
    s += "\tset names4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n";
    s += "\tset names6 {\n\t\ttype ipv6_addr\n\t\tflags timeout\n\t}\n";
    name_rules.insert(name_rules.begin(), {"ip daddr @names4 accept", "ip6 daddr @names6 accept"});
  }
  s += "\tchain output {\n";
  // Policy drop only backs the reject rules at the end: nothing should reach it.
  s += "\t\ttype filter hook output priority filter; policy drop;\n";
  // The namespace's own loopback: the sandbox talking to itself. (The host's loopback is
  // not on it: pasta and slirp4netns reach it through the gateway address, which is
  // denied unless a rule allows it.)
  s += "\t\toifname \"lo\" accept\n";
  // Replies (to --publish'ed services) and later packets of allowed connections.
  s += "\t\tct state established,related accept\n";
  // IPv6 works only with neighbour discovery; these never leave the link.
  s += "\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, "
       "mld-listener-report, mld2-listener-report } accept\n";
  s += "\t\tip daddr @allow4 accept\n";
  s += "\t\tip6 daddr @allow6 accept\n";
  for (const std::string& r : port_rules) s += "\t\t" + r + "\n";
  for (const std::string& r : name_rules) s += "\t\t" + r + "\n";
  // Audit hook (--audit-fd): a rejected connection is what reaches this point; a
  // `log group N` rule here would hand it (address, port) to an NFLOG socket the
  // supervisor reads, before the reject below answers it.
  // Denied: fast failures, never a silent drop (a drop would leave connect() hanging
  // until its timeout). TCP gets a reset (ECONNREFUSED), the rest ICMP administratively
  // prohibited (EHOSTUNREACH, ENETUNREACH for IPv6).
  s += "\t\tmeta l4proto tcp reject with tcp reset\n";
  s += "\t\treject with icmpx type admin-prohibited\n";
  s += "\t}\n}\n";
  return s;
}

void apply_ruleset(const std::string& nft, const std::string& ruleset,
                   const std::function<void()>& before_exec) {
  // nft reads the ruleset from a memfd: no pipe to fill or deadlock on, no SIGPIPE if nft
  // stops reading early.
  UniqueFd in(::memfd_create("allow-net.nft", MFD_CLOEXEC));
  if (!in) throw_errno("--allow-net: memfd_create");
  if (::write(in.get(), ruleset.data(), ruleset.size()) != static_cast<ssize_t>(ruleset.size()) ||
      ::lseek(in.get(), 0, SEEK_SET) != 0)
    throw_errno("--allow-net: can't write the egress rules");
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) throw_errno("--allow-net: pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("--allow-net: can't fork " + nft);
  if (pid == 0) {
    ::dup2(in.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    ::close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::string msg;
    try {
      if (before_exec) before_exec();
      const char* argv[] = {nft.c_str(), "-f", "-", nullptr};
      ::execv(nft.c_str(), const_cast<char* const*>(argv));
      msg = "can't execute " + nft + ": " + std::strerror(errno) + "\n";
    } catch (const std::exception& e) {
      msg = std::string(e.what()) + "\n";
    }
    ssize_t unused = ::write(2, msg.data(), msg.size());
    (void)unused;
    ::_exit(127);
  }
  in.reset();
  out_w.reset();
  std::string msg;
  (void)io::read_all(out_r.get(), msg);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw_errno("--allow-net: can't wait for " + nft);  // never assume success
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("--allow-net: " + nft + " could not load the egress rules into the sandbox's "
                "network namespace" + (msg.empty() ? std::string() : ": " + msg));
}

}  // namespace sb::net
