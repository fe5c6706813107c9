// Unit tests for --allow-net (net/egress): parsing each form of HOST[:PORT[-PORT]], the
// errors (naming the option and the value), and the nftables ruleset generated from the
// rules.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/egress.hpp"
#include "util/error.hpp"

namespace sb::net {
namespace {

std::string error_of(const std::string& v) {
  try {
    (void)parse_allow_net(v);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(AllowNet, Ipv4Address) {
  NetAllow a = parse_allow_net("192.0.2.7");
  EXPECT_EQ(a.kind, NetAllow::Kind::Ipv4);
  EXPECT_EQ(a.prefix, 32u);
  EXPECT_TRUE(a.any_port());
  EXPECT_EQ(format_allow_address(a), "192.0.2.7");
  EXPECT_EQ(a.text, "192.0.2.7");
  EXPECT_EQ(a.addr[0], 192);
  EXPECT_EQ(a.addr[3], 7);
}

TEST(AllowNet, Ipv4WithPortAndRange) {
  NetAllow a = parse_allow_net("127.0.0.1:8080");
  EXPECT_EQ(a.port_lo, 8080);
  EXPECT_EQ(a.port_hi, 8080);
  NetAllow r = parse_allow_net("10.0.0.0/8:1000-2000");
  EXPECT_EQ(r.prefix, 8u);
  EXPECT_EQ(r.port_lo, 1000);
  EXPECT_EQ(r.port_hi, 2000);
  EXPECT_EQ(format_allow_address(r), "10.0.0.0/8");
  EXPECT_EQ(parse_allow_net("0.0.0.0/0:53").prefix, 0u);
  EXPECT_EQ(parse_allow_net("1.2.3.4:1-65535").port_hi, 65535);
}

TEST(AllowNet, Ipv6) {
  NetAllow a = parse_allow_net("2001:db8::1");
  EXPECT_EQ(a.kind, NetAllow::Kind::Ipv6);
  EXPECT_EQ(a.prefix, 128u);
  EXPECT_TRUE(a.any_port());
  EXPECT_EQ(format_allow_address(a), "2001:db8::1");
  NetAllow b = parse_allow_net("[::1]:443");
  EXPECT_EQ(b.kind, NetAllow::Kind::Ipv6);
  EXPECT_EQ(b.port_lo, 443);
  EXPECT_EQ(format_allow_address(b), "::1");
  NetAllow c = parse_allow_net("[2001:db8::/32]:80-81");
  EXPECT_EQ(c.prefix, 32u);
  EXPECT_EQ(c.port_hi, 81);
  EXPECT_EQ(format_allow_address(c), "2001:db8::/32");
  EXPECT_EQ(format_allow_address(parse_allow_net("fd00::/8")), "fd00::/8");
  EXPECT_EQ(format_allow_address(parse_allow_net("[fe80::]")), "fe80::");
}

TEST(AllowNet, Names) {
  NetAllow a = parse_allow_net("Example.COM.");
  EXPECT_EQ(a.kind, NetAllow::Kind::Name);
  EXPECT_EQ(a.name, "example.com");
  EXPECT_FALSE(a.wildcard);
  EXPECT_TRUE(a.any_port());
  NetAllow w = parse_allow_net("*.pypi.org:443");
  EXPECT_EQ(w.kind, NetAllow::Kind::Name);
  EXPECT_TRUE(w.wildcard);
  EXPECT_EQ(w.name, "pypi.org");
  EXPECT_EQ(w.port_lo, 443);
  EXPECT_EQ(parse_allow_net("localhost").name, "localhost");
  EXPECT_EQ(parse_allow_net("_srv.x-y.example").name, "_srv.x-y.example");
  EXPECT_EQ(parse_allow_net(std::string(63, 'a') + ".com").name, std::string(63, 'a') + ".com");
}

TEST(AllowNet, ErrorsNameTheOptionAndValue) {
  for (const char* bad :
       {"", ":80", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:http", "1.2.3.4:90-80",
        "1.2.3.4:80-", "1.2.3.4:-80", "1.2.3.4/33", "10.0.0.1/8", "10.0.0.0/x", "[1.2.3.4]:80",
        "[::1", "[::1]80", "[::1]:", "2001:db8::1/129", "2001:db8::1/32", "exa mple.com",
        "-a.com", "a-.com", "a..com", "1.2.3", "999.1.1.1", "host/24", "*.", "a.*.com",
        "ä.com"}) {
    SCOPED_TRACE(bad);
    std::string e = error_of(bad);
    ASSERT_NE(e, "") << "accepted";
    EXPECT_NE(e.find("--allow-net"), std::string::npos) << e;
    EXPECT_NE(e.find(std::string("'") + bad + "'"), std::string::npos) << e;
  }
  EXPECT_NE(error_of(std::string(64, 'a') + ".com"), "");
  EXPECT_NE(error_of(std::string(250, 'a').replace(50, 1, ".") + ".com"), "");
  // Host bits: the message names the network that was probably meant.
  EXPECT_NE(error_of("10.1.2.3/8").find("10.0.0.0/8"), std::string::npos);
  EXPECT_NE(error_of("2001:db8::1/32").find("2001:db8::/32"), std::string::npos);
}

std::vector<NetAllow> rules(std::initializer_list<const char*> values) {
  std::vector<NetAllow> out;
  for (const char* v : values) out.push_back(parse_allow_net(v));
  return out;
}

bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

TEST(EgressRuleset, EmptyAllowsOnlyLoopbackAndReplies) {
  std::string s = egress_ruleset(std::vector<NetAllow>{});
  EXPECT_EQ(s.rfind("table inet sandbox_egress {\n", 0), 0u) << s;
  EXPECT_TRUE(has(s, "type filter hook output priority filter; policy drop;")) << s;
  EXPECT_TRUE(has(s, "oifname \"lo\" accept")) << s;
  EXPECT_TRUE(has(s, "ct state established,related accept")) << s;
  EXPECT_FALSE(has(s, "elements")) << s;
  EXPECT_FALSE(has(s, "dport")) << s;
  EXPECT_FALSE(has(s, "log")) << s;  // no --audit-fd: no NFLOG rule
  // Rejected, not dropped; the rejects are the chain's last rules.
  auto tcp = s.find("meta l4proto tcp reject with tcp reset");
  auto icmp = s.find("reject with icmpx admin-prohibited");
  ASSERT_NE(tcp, std::string::npos) << s;
  ASSERT_NE(icmp, std::string::npos) << s;
  EXPECT_LT(tcp, icmp);
  EXPECT_EQ(s.find("accept", icmp), std::string::npos) << "an accept after the rejects";
}

// "none": the policy on with nothing allowed; the same table as no rule, and other rules
// still add to it. "none:443" is a name, not the keyword.
TEST(AllowNet, NoneAllowsNothingAndOthersAddToIt) {
  NetAllow n = parse_allow_net("none");
  EXPECT_EQ(n.kind, NetAllow::Kind::None);
  EXPECT_EQ(egress_ruleset(std::vector<NetAllow>{n}), egress_ruleset(std::vector<NetAllow>{}));
  const std::vector<NetAllow> with = {n, parse_allow_net("192.0.2.7:443")};
  EXPECT_EQ(egress_ruleset(with), egress_ruleset(std::vector<NetAllow>{with[1]}));
  EXPECT_TRUE(has(egress_ruleset(with), "192.0.2.7")) << egress_ruleset(with);
  EXPECT_EQ(parse_allow_net("none:443").kind, NetAllow::Kind::Name);
  EXPECT_EQ(parse_allow_net("None").kind, NetAllow::Kind::Name);
}

// Conntrack only where something needs it: DNS names (a learned address expires while its
// connection lives) or inbound connections (--publish, veth). Addresses alone: no ct rule,
// the rest of the table unchanged.
TEST(EgressRuleset, StatelessWhenNothingNeedsConntrack) {
  const std::vector<NetAllow> addrs = {parse_allow_net("192.0.2.7:443")};
  EXPECT_FALSE(egress_needs_state(addrs, false));
  EXPECT_TRUE(egress_needs_state(addrs, true));
  EXPECT_TRUE(egress_needs_state({parse_allow_net("pypi.org:443")}, false));
  EXPECT_FALSE(egress_needs_state({parse_allow_net("none")}, false));
  const std::string with = egress_ruleset(egress_table(addrs, std::nullopt, true));
  const std::string without = egress_ruleset(egress_table(addrs, std::nullopt, false));
  EXPECT_TRUE(has(with, "ct state established,related accept")) << with;
  EXPECT_FALSE(has(without, "ct state")) << without;
  std::string expected = with;
  expected.erase(expected.find("\t\tct state established,related accept\n"),
                 std::string("\t\tct state established,related accept\n").size());
  EXPECT_EQ(without, expected);
}

TEST(EgressRuleset, AddressesGoInSetsPortsInRules) {
  std::string s = egress_ruleset(rules({"192.0.2.1", "10.0.0.0/8", "2001:db8::/32",
                                        "127.0.0.1:8080", "[::1]:80-90", "192.0.2.1",
                                        "127.0.0.1:8080", "example.com"}));
  // Networks in interval sets, single addresses in hash sets (faster to load), sorted
  // as the kernel holds them (nft lists them so).
  EXPECT_TRUE(has(s, "set allow4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
                     "\t\telements = { 10.0.0.0/8 }\n")) << s;
  EXPECT_TRUE(has(s, "set addrs4 {\n\t\ttype ipv4_addr\n\t\telements = { 192.0.2.1 }\n")) << s;
  EXPECT_TRUE(has(s, "\t\telements = { 2001:db8::/32 }\n")) << s;
  EXPECT_TRUE(has(s, "ip daddr @allow4 accept")) << s;
  EXPECT_TRUE(has(s, "ip daddr @addrs4 accept")) << s;
  EXPECT_TRUE(has(s, "ip6 daddr @allow6 accept")) << s;
  EXPECT_FALSE(has(s, "set addrs6")) << s;  // a set only when it has elements
  // One set per port range and family (and kind), TCP and UDP a rule each.
  EXPECT_TRUE(has(s, "set ports8080_addrs4 {\n\t\ttype ipv4_addr\n"
                     "\t\telements = { 127.0.0.1 }\n")) << s;
  EXPECT_TRUE(has(s, "set ports80_90_addrs6 {\n\t\ttype ipv6_addr\n")) << s;
  EXPECT_FALSE(has(s, "ports8080_addrs6")) << s;
  EXPECT_FALSE(has(s, "ports8080_4 ")) << s;
  EXPECT_TRUE(has(s, "ip daddr @ports8080_addrs4 tcp dport 8080 accept\n\t\tip daddr @ports8080_addrs4 udp dport 8080 accept\n")) << s;
  EXPECT_TRUE(has(s, "ip6 daddr @ports80_90_addrs6 tcp dport 80-90 accept\n")) << s;
  EXPECT_TRUE(has(s, "ip6 daddr @ports80_90_addrs6 udp dport 80-90 accept\n")) << s;
  // Duplicates once; names are not static rules.
  EXPECT_EQ(s.find("127.0.0.1"), s.rfind("127.0.0.1")) << s;
  EXPECT_FALSE(has(s, "example")) << s;
  // Every accept comes before the rejects.
  EXPECT_LT(s.rfind(" accept\n"), s.find("reject")) << s;
}

TEST(EgressRuleset, RulesOnOnePortShareASet) {
  std::vector<NetAllow> r;
  for (int i = 0; i < 1000; ++i)
    r.push_back(parse_allow_net("10." + std::to_string(i / 200) + "." + std::to_string(i % 200) + ".0/24:443"));
  r.push_back(parse_allow_net("192.0.2.1:443"));
  std::string s = egress_ruleset(r);
  size_t rules = 0;
  for (size_t at = s.find("dport"); at != std::string::npos; at = s.find("dport", at + 1)) ++rules;
  EXPECT_EQ(rules, 4u) << s.substr(0, 2000);  // networks and addresses, TCP and UDP each
  // Adjacent networks merged: 10.0.0.0/24 ... 10.0.199.0/24 is one range, 10.4.x the last.
  EXPECT_TRUE(has(s, "elements = { 10.0.0.0-10.0.199.255, ")) << s.substr(0, 2000);
  EXPECT_TRUE(has(s, "10.4.0.0-10.4.199.255 }")) << s.substr(s.size() - 2000);
  EXPECT_TRUE(has(s, "set ports443_addrs4 {\n\t\ttype ipv4_addr\n\t\telements = { 192.0.2.1 }\n")) << s;
}

TEST(EgressRuleset, Deterministic) {
  auto r = rules({"10.0.0.0/8:1-2", "192.0.2.0/24"});
  EXPECT_EQ(egress_ruleset(r), egress_ruleset(r));
}

}  // namespace
}  // namespace sb::net

namespace sb::net {
namespace {

TEST(EgressRuleset, NamesGetTimeoutSets) {
  std::vector<NetAllow> r{parse_allow_net("10.0.0.1"), parse_allow_net("pypi.org"),
                          parse_allow_net("*.github.com:443"), parse_allow_net("a.example:80-81")};
  std::string s = egress_ruleset(r);
  for (const char* set : {"names4", "names6", "name2_4", "name2_6", "name3_4", "name3_6"})
    EXPECT_NE(s.find(std::string("\tset ") + set + " {\n"), std::string::npos) << set << "\n" << s;
  EXPECT_NE(s.find("set names4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n"), std::string::npos) << s;
  EXPECT_NE(s.find("ip daddr @names4 accept\n"), std::string::npos) << s;
  EXPECT_NE(s.find("ip6 daddr @names6 accept\n"), std::string::npos) << s;
  EXPECT_NE(s.find("ip daddr @name2_4 tcp dport 443 accept\n"), std::string::npos) << s;
  EXPECT_NE(s.find("ip daddr @name2_4 udp dport 443 accept\n"), std::string::npos) << s;
  EXPECT_NE(s.find("ip6 daddr @name3_6 tcp dport 80-81 accept\n"), std::string::npos) << s;
  EXPECT_LT(s.rfind(" accept\n"), s.find("reject")) << s;
  // Without names, no name sets.
  EXPECT_EQ(egress_ruleset({parse_allow_net("10.0.0.1")}).find("names4"), std::string::npos);
}

}  // namespace
}  // namespace sb::net

// ---- The table as the kernel takes it ----------------------------------------------------
#include <fcntl.h>
#include <grp.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "net/nfnl.hpp"
#include "util/fd.hpp"

namespace sb::net {
namespace {

// Runs `body` in a forked process that made a fresh user and network namespace (as uid
// 23456 when the tests run as root: the unprivileged case), mapped to root inside. Returns
// {status, what body wrote to the given fd}; status "skip: ..." when no namespace could be
// made (decided by trying).
std::pair<std::string, std::string> in_fresh_netns(const std::function<std::string()>& body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return {"pipe", ""};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    auto say = [&](const std::string& s) {
      (void)!::write(p[1], s.data(), s.size());
      ::_exit(0);
    };
    if (::getuid() == 0 &&
        (::setgroups(0, nullptr) < 0 || ::setresgid(23456, 23456, 23456) < 0 ||
         ::setresuid(23456, 23456, 23456) < 0))
      say(std::string("error: dropping to uid 23456: ") + std::strerror(errno));
    ::prctl(PR_SET_DUMPABLE, 1);  // changing ids cleared it: /proc/self would be root's
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
      say(std::string("skip: unshare(CLONE_NEWUSER|CLONE_NEWNET): ") + std::strerror(errno));
    auto put = [](const char* path, const std::string& s) {
      int fd = ::open(path, O_WRONLY | O_CLOEXEC);
      bool ok = fd >= 0 && ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
      if (fd >= 0) ::close(fd);
      return ok;
    };
    if (!put("/proc/self/setgroups", "deny") ||
        !put("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") ||
        !put("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n"))
      say("error: id maps");
    try {
      say("ok\n" + body());
    } catch (const std::exception& e) {
      say(std::string("error: ") + e.what());
    }
  }
  ::close(p[1]);
  std::string all;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ::waitpid(pid, nullptr, 0);
  auto nl = all.find('\n');
  if (nl == std::string::npos) return {all, ""};
  return {all.substr(0, nl), all.substr(nl + 1)};
}

// `nft list table inet sandbox_egress` in the current namespaces ("" without nft).
std::string nft_list() {
  const char* nft = ::access("/usr/sbin/nft", X_OK) == 0 ? "/usr/sbin/nft"
                    : ::access("/sbin/nft", X_OK) == 0   ? "/sbin/nft"
                                                         : nullptr;
  if (!nft) return "";
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return "";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    const char* argv[] = {nft, "list", "table", "inet", "sandbox_egress", nullptr};
    ::execv(nft, const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(p[1]);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ::waitpid(pid, nullptr, 0);
  return out;
}

std::string load(const EgressTable& t) {
  UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!nl) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  load_egress(nl.get(), t);
  return nft_list();
}

TEST(EgressKernel, TheKernelTakesTheBatchAndNftListsTheText) {
  std::vector<NetAllow> r;
  for (const char* v : {"192.0.2.1", "10.0.0.0/8", "10.1.0.0/16", "198.51.100.0/25",
                        "198.51.100.128/25", "2001:db8::/32", "127.0.0.1:8080",
                        "[::1]:80-90", "0.0.0.0/0:53", "pypi.org", "*.github.com:443"})
    r.push_back(parse_allow_net(v));
  const EgressTable t = egress_table(r, kEgressLogGroup);
  auto [status, listed] = in_fresh_netns([&] { return load(t); });
  if (status.rfind("skip: ", 0) == 0) GTEST_SKIP() << status;
  ASSERT_EQ(status, "ok") << status;
  if (listed.empty()) GTEST_SKIP() << "the kernel took the batch; nft is not installed to list it";
  // nft reads back from the kernel exactly the text we print for --verbose (nft wraps
  // long element lists; that is all).
  for (size_t at; (at = listed.find(",\n\t\t\t     ")) != std::string::npos;)
    listed.replace(at, 10, ", ");
  EXPECT_EQ(listed, egress_ruleset(t));
}

}  // namespace
}  // namespace sb::net

// ---- nfnetlink messages, NFLOG parsing, audit lines ----------------------------------------
#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>

namespace sb::net {
namespace {

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

struct Hdr {
  uint16_t type, flags;
  uint32_t seq;
};
std::vector<Hdr> headers(const std::string& b) {
  std::vector<Hdr> out;
  for (size_t at = 0; at + sizeof(nlmsghdr) <= b.size();) {
    nlmsghdr h;
    std::memcpy(&h, b.data() + at, sizeof h);
    if (h.nlmsg_len < sizeof h) break;
    out.push_back({h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq});
    at += NLMSG_ALIGN(h.nlmsg_len);
  }
  return out;
}

TEST(Nfnl, BatchesAreNumberedAcknowledgedAndBounded) {
  const EgressTable t = egress_table({parse_allow_net("10.0.0.0/8")});
  const auto msgs = egress_messages(t);
  // Table, allow4 + its elements, chain, the rules (no IPv6 set: nothing would be in it).
  ASSERT_EQ(msgs.size(), 1 + 2 + 1 + t.rules.size());
  auto one = nfnl::pack_batches(msgs, 10, 1 << 20);
  ASSERT_EQ(one.size(), 1u);
  auto h = headers(one[0]);
  ASSERT_EQ(h.size(), msgs.size() + 2);
  EXPECT_EQ(h.front().type, NFNL_MSG_BATCH_BEGIN);
  EXPECT_EQ(h.back().type, NFNL_MSG_BATCH_END);
  for (size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(h[i].seq, 10 + i);
    if (i && i + 1 < h.size()) {
      EXPECT_TRUE(h[i].flags & NLM_F_ACK) << i;
    }
  }
  EXPECT_EQ(h[1].type, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE);
  // Small batches: each holds at least one message, begin and end; numbering continues.
  auto many = nfnl::pack_batches(msgs, 1, 300);
  EXPECT_GT(many.size(), 2u);
  uint32_t expect = 1;
  size_t total = 0;
  for (const auto& b : many) {
    auto hs = headers(b);
    ASSERT_GE(hs.size(), 3u);
    EXPECT_EQ(hs.front().type, NFNL_MSG_BATCH_BEGIN);
    EXPECT_EQ(hs.back().type, NFNL_MSG_BATCH_END);
    for (const auto& x : hs) EXPECT_EQ(x.seq, expect++);
    total += hs.size() - 2;
    if (hs.size() > 3) {
      EXPECT_LE(b.size(), 300u);
    }
  }
  EXPECT_EQ(total, msgs.size());
}

// The element message of allow4 for 10.0.0.0/8: 10.0.0.0, then 11.0.0.0 flagged as the
// interval's end. Golden bytes of the form the kernel accepted in
// EgressKernel.TheKernelTakesTheBatchAndNftListsTheText.
TEST(Nfnl, IntervalElementsGolden) {
  const auto msgs = egress_messages(egress_table({parse_allow_net("10.0.0.0/8")}));
  ASSERT_EQ(msgs[2].what, "the elements of the set allow4");
  EXPECT_EQ(hex(msgs[2].bytes),
            // nlmsghdr: len 0x60, NFT_MSG_NEWSETELEM, REQUEST|CREATE, seq 0, pid 0;
            // nfgenmsg: NFPROTO_INET, v0, res_id 0
            "60000000" "0c0a" "0104" "00000000" "00000000" "01000000"
            // table "sandbox_egress", set "allow4"
            "13000100" "73616e64626f785f65677265737300" "00"
            "0b000200" "616c6c6f773400" "00"
            // elements: { key 10.0.0.0 }, { key 11.0.0.0, flags INTERVAL_END }
            "2c000380"
            "10000180" "0c000180" "08000100" "0a000000"
            "18000180" "0c000180" "08000100" "0b000000" "08000300" "00000001");
  // 0.0.0.0/0 reaches the last address: no end element.
  const auto all = egress_messages(egress_table({parse_allow_net("0.0.0.0/0")}));
  EXPECT_EQ(all[2].bytes.find(std::string("\x00\x00\x00\x01", 4), 0x40), std::string::npos);
}

TEST(Nfnl, ParsesIpHeaders) {
  std::string v4(24, '\0');
  v4[0] = 0x45;
  v4[9] = IPPROTO_TCP;
  v4[16] = 10, v4[17] = 0, v4[18] = 2, v4[19] = 2;
  v4[22] = 0x01, v4[23] = static_cast<char>(0xbb);  // port 443
  auto p = nfnl::parse_ip_header(v4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->family, AF_INET);
  EXPECT_EQ(p->port, 443);
  EXPECT_EQ(egress_audit_line(*p), "{\"type\":\"connect\",\"address\":\"10.0.2.2\",\"port\":443,\"proto\":\"tcp\"}\n");
  // A later fragment has no transport header: no port.
  std::string frag = v4;
  frag[7] = 1;
  EXPECT_EQ(nfnl::parse_ip_header(frag)->port, 0);
  // Cut short before the ports: address and protocol only.
  EXPECT_EQ(nfnl::parse_ip_header(v4.substr(0, 21))->port, 0);
  EXPECT_FALSE(nfnl::parse_ip_header(v4.substr(0, 19)));
  std::string v6(44, '\0');
  v6[0] = 0x60;
  v6[6] = IPPROTO_UDP;
  in6_addr a;
  ::inet_pton(AF_INET6, "2001:db8::1", &a);
  std::memcpy(v6.data() + 24, &a, 16);
  v6[42] = 0, v6[43] = 53;
  p = nfnl::parse_ip_header(v6);
  ASSERT_TRUE(p);
  EXPECT_EQ(egress_audit_line(*p), "{\"type\":\"connect\",\"address\":\"2001:db8::1\",\"port\":53,\"proto\":\"udp\"}\n");
  v6[6] = IPPROTO_ICMPV6;
  EXPECT_EQ(egress_audit_line(*nfnl::parse_ip_header(v6)),
            "{\"type\":\"connect\",\"address\":\"2001:db8::1\",\"proto\":\"icmpv6\"}\n");
  EXPECT_FALSE(nfnl::parse_ip_header(std::string("\x20", 1)));
  EXPECT_FALSE(nfnl::parse_ip_header(""));
}

TEST(Nfnl, ParsesNflogDatagrams) {
  std::string v4(24, '\0');
  v4[0] = 0x45;
  v4[9] = IPPROTO_UDP;
  v4[16] = 192, v4[19] = 1;
  v4[23] = 53;
  // Two packet messages and one of another kind, as one datagram.
  std::string d;
  for (int i = 0; i < 3; ++i) {
    nfnl::Builder b;
    const uint16_t type = i == 1 ? ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG)
                                 : ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET);
    size_t m = b.begin_msg(type, 0, AF_INET, 1, 0);
    b.be32(NFULA_MARK, 0);
    b.attr(NFULA_PAYLOAD, v4.data(), v4.size());
    b.end_msg(m);
    d += b.buf;
  }
  auto ps = nfnl::parse_nflog(d);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].port, 53);
  EXPECT_EQ(ps[1].addr[0], 192);
  // Truncated or garbage: nothing, no overread.
  for (size_t cut = 0; cut < d.size(); cut += 7) (void)nfnl::parse_nflog(d.substr(0, cut));
  EXPECT_TRUE(nfnl::parse_nflog(std::string(64, '\xff')).empty());
}

TEST(Nfnl, NflogBindMessage) {
  const std::string m = nfnl::nflog_bind_messages(1, 64, 7);
  auto h = headers(m);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].type, (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG);
  EXPECT_TRUE(h[0].flags & NLM_F_ACK);
  EXPECT_EQ(h[0].seq, 7u);
  // res_id: the group, big-endian; then CMD BIND, MODE (range 64, copy packet), QTHRESH 1.
  EXPECT_EQ(hex(m.substr(16)), "00000001" "0500010001000000" "0a00020000000040020000000" "8000500" "00000001");
}

TEST(EgressKernel, NflogGroupBindsInAFreshNamespace) {
  auto [status, out] = in_fresh_netns([] {
    UniqueFd fd = open_egress_log(kEgressLogGroup);
    return std::string(fd ? "bound" : "none");
  });
  if (status.rfind("skip: ", 0) == 0) GTEST_SKIP() << status;
  ASSERT_EQ(status, "ok") << status;
  EXPECT_EQ(out, "bound");
}

}  // namespace
}  // namespace sb::net
