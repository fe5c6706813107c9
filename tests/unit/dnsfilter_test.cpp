// Unit tests for the pure parts of --allow-net's DNS filter (net/dnsfilter): which sets an
// answer's addresses go to, their timeouts, the nfnetlink batch that adds one, and the
// host's resolver read from resolv.conf text; then the filter itself on loopback sockets.
#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>

#include "net/dnsfilter.hpp"
#include "net/egress.hpp"

namespace sb::net {
namespace {

TEST(DnsFilter, SetsForAName) {
  std::vector<NetAllow> r{parse_allow_net("pypi.org"), parse_allow_net("*.pypi.org:443"),
                          parse_allow_net("pypi.org:80"), parse_allow_net("10.0.0.1")};
  EXPECT_EQ(dns_sets_for(r, "pypi.org", false), (std::vector<std::string>{"names4", "name2_4"}));
  EXPECT_EQ(dns_sets_for(r, "files.pypi.org", true), (std::vector<std::string>{"name1_6"}));
  EXPECT_TRUE(dns_sets_for(r, "example.com", false).empty());
  // Every set named exists in the ruleset.
  std::string s = egress_ruleset(r);
  for (const char* n : {"pypi.org", "files.pypi.org"})
    for (bool v6 : {false, true})
      for (const auto& set : dns_sets_for(r, n, v6))
        EXPECT_NE(s.find("\tset " + set + " {"), std::string::npos) << set;
}

TEST(DnsFilter, Timeouts) {
  EXPECT_EQ(dns_timeout_ms(0), kMinDnsTtl * 1000ull);
  EXPECT_EQ(dns_timeout_ms(300), 300000ull);
  EXPECT_EQ(dns_timeout_ms(0xffffffffu), 86400000ull);
}

TEST(DnsFilter, NetlinkBatch) {
  const uint8_t addr[4] = {10, 0, 2, 2};
  std::string b = nft_add_element_batch("names4", addr, 4, 60000, 7);
  // Three messages: batch begin, NEWSETELEM, batch end, lengths adding up.
  size_t at = 0;
  std::vector<uint16_t> types;
  while (at + sizeof(nlmsghdr) <= b.size()) {
    nlmsghdr h;
    std::memcpy(&h, b.data() + at, sizeof h);
    ASSERT_GE(h.nlmsg_len, NLMSG_HDRLEN);
    ASSERT_LE(at + h.nlmsg_len, b.size());
    types.push_back(h.nlmsg_type);
    at += NLMSG_ALIGN(h.nlmsg_len);
  }
  EXPECT_EQ(at, b.size());
  EXPECT_EQ(types, (std::vector<uint16_t>{NFNL_MSG_BATCH_BEGIN,
                                          (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM,
                                          NFNL_MSG_BATCH_END}));
  EXPECT_NE(b.find(std::string(kEgressTable) + '\0'), std::string::npos);
  EXPECT_NE(b.find(std::string("names4") + '\0'), std::string::npos);
  EXPECT_NE(b.find(std::string(reinterpret_cast<const char*>(addr), 4)), std::string::npos);
  uint64_t t = htobe64(60000);
  EXPECT_NE(b.find(std::string(reinterpret_cast<const char*>(&t), 8)), std::string::npos);
}

TEST(DnsFilter, FirstNameserver) {
  auto a = first_nameserver("# x\nsearch lan\nnameserver 127.0.0.53 # systemd\nnameserver 1.1.1.1\n");
  ASSERT_TRUE(a);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&*a);
  EXPECT_EQ(v4->sin_family, AF_INET);
  EXPECT_EQ(ntohs(v4->sin_port), 53);
  EXPECT_EQ(ntohl(v4->sin_addr.s_addr), 0x7f000035u);
  auto b = first_nameserver("nameserverx 1.2.3.4\nnameserver\tfd00::1");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ss_family, AF_INET6);
  EXPECT_FALSE(first_nameserver("search lan\n"));
  EXPECT_FALSE(first_nameserver("nameserver not-an-address\n"));
}


// ---- The filter itself on loopback sockets (no privileges: only refusals, which need no
// netfilter): what the sandbox's resolver answers over UDP and TCP, and the TCP bounds.
std::string be16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

std::string dns_query(uint16_t id, const std::vector<std::string>& labels, uint16_t type = 1) {
  std::string q = be16(id) + std::string("\x01\x00", 2) + be16(1) + be16(0) + be16(0) + be16(0);
  for (const auto& l : labels) q += static_cast<char>(l.size()) + l;
  return q + '\0' + be16(type) + be16(1);
}

class DnsFilterLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
    upstream_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(udp && tcp && nl && upstream_);
    for (int fd : {udp.get(), tcp.get(), upstream_.get()})
      ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(tcp.get(), 16), 0);
    udp_addr_ = local(udp.get());
    tcp_addr_ = local(tcp.get());
    sockaddr_storage up{};
    sockaddr_in ua = local(upstream_.get());
    std::memcpy(&up, &ua, sizeof ua);
    filter_ = std::make_unique<DnsFilter>(std::vector<NetAllow>{parse_allow_net("pypi.org")},
                                          std::move(udp), std::move(tcp), std::move(nl), up);
    filter_->on_refused = [this](const dns::Question& q, uint8_t rcode) {
      refused_.push_back(q.name + ":" + std::to_string(rcode));
    };
  }
  static sockaddr_in local(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return a;
  }
  // Runs the filter for `ms` (as the supervisor's loop does: poll, then step).
  void pump(int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      auto fds = filter_->poll_fds();
      ::poll(fds.data(), fds.size(), 10);
      filter_->step();
    }
  }
  int connect_tcp() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&tcp_addr_), sizeof tcp_addr_), 0);
    return fd;
  }
  // The rcode of the next answer read from `fd` (TCP), -1 if none within the pumping;
  // what arrived beyond it is kept for the next call.
  int tcp_rcode(int fd, uint16_t id) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < end) {
      if (got_.size() >= 2) {
        const size_t len = (size_t{static_cast<uint8_t>(got_[0])} << 8) | static_cast<uint8_t>(got_[1]);
        if (got_.size() >= 2 + len) {
          auto r = dns::parse_response(got_.substr(2, len));
          got_.erase(0, 2 + len);
          if (!r || r->question.id != id) return -2;
          return r->rcode;
        }
      }
      pump(20);
      char buf[1024];
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) got_.append(buf, static_cast<size_t>(n));
    }
    return -1;
  }
  std::string got_;
  // True once the filter closed `fd` (EOF read).
  bool closed(int fd, int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      pump(20);
      char c;
      ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
    }
    return false;
  }
  UniqueFd upstream_;
  sockaddr_in udp_addr_{}, tcp_addr_{};
  std::unique_ptr<DnsFilter> filter_;
  std::vector<std::string> refused_;
};

TEST_F(DnsFilterLoopback, RefusalsOverUdpAndTcp) {
  UniqueFd u(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const std::string q = dns_query(0x0101, {"example", "com"});
  ASSERT_EQ(::sendto(u.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&udp_addr_),
                     sizeof udp_addr_), static_cast<ssize_t>(q.size()));
  pump(50);
  char buf[512];
  ssize_t n = ::recv(u.get(), buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  auto r = dns::parse_response(std::string_view(buf, static_cast<size_t>(n)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rcode, dns::kRcodeNxdomain);
  // TCP: two queries in one write (pipelined), then a one-label spelling of the allowed
  // name, each answered in turn on the same connection.
  UniqueFd t(connect_tcp());
  const std::string a = dns_query(0x0202, {"blocked", "example"});
  const std::string b = dns_query(0x0303, {"other", "example"});
  const std::string both = be16(static_cast<uint16_t>(a.size())) + a + be16(static_cast<uint16_t>(b.size())) + b;
  ASSERT_EQ(::send(t.get(), both.data(), both.size(), 0), static_cast<ssize_t>(both.size()));
  EXPECT_EQ(tcp_rcode(t.get(), 0x0202), dns::kRcodeNxdomain);
  EXPECT_EQ(tcp_rcode(t.get(), 0x0303), dns::kRcodeNxdomain);
  const std::string c = dns_query(0x0404, {"pypi.org"});
  const std::string framed = be16(static_cast<uint16_t>(c.size())) + c;
  ASSERT_EQ(::send(t.get(), framed.data(), framed.size(), 0), static_cast<ssize_t>(framed.size()));
  EXPECT_EQ(tcp_rcode(t.get(), 0x0404), dns::kRcodeRefused);
  EXPECT_EQ(refused_, (std::vector<std::string>{"example.com:3", "blocked.example:3",
                                                "other.example:3", "pypi\\046org:5"}));
  // Bytes that are not a DNS message end the connection.
  const std::string junk = be16(3) + "abc";
  ASSERT_EQ(::send(t.get(), junk.data(), junk.size(), 0), 5);
  EXPECT_TRUE(closed(t.get(), 1000));
}

// An allowed name goes to the host's resolver over TCP; one that refuses the connection
// (here: nothing listens on its port) is tried twice, then the client gets SERVFAIL, and
// its connection stays usable.
TEST_F(DnsFilterLoopback, UpstreamRefusedOverTcpIsServfail) {
  UniqueFd t(connect_tcp());
  const std::string q = dns_query(0x0606, {"PyPI", "org"});
  const std::string framed = be16(static_cast<uint16_t>(q.size())) + q;
  ASSERT_EQ(::send(t.get(), framed.data(), framed.size(), 0), static_cast<ssize_t>(framed.size()));
  EXPECT_EQ(tcp_rcode(t.get(), 0x0606), dns::kRcodeServfail);
  const std::string b = dns_query(0x0707, {"blocked", "example"});
  const std::string fb = be16(static_cast<uint16_t>(b.size())) + b;
  ASSERT_EQ(::send(t.get(), fb.data(), fb.size(), 0), static_cast<ssize_t>(fb.size()));
  EXPECT_EQ(tcp_rcode(t.get(), 0x0707), dns::kRcodeNxdomain);
  EXPECT_EQ(refused_, std::vector<std::string>{"blocked.example:3"});
}

// Out of descriptors, accept4 fails and the listener stays readable: it is left out of
// poll for a while (the supervisor does not spin), then taken back.
TEST_F(DnsFilterLoopback, AcceptOutOfDescriptorsPauses) {
  const size_t usual = filter_->poll_fds().size();
  UniqueFd t(connect_tcp());  // queued on the listener, not accepted yet
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  const int lowest = ::dup(0);
  ASSERT_GE(lowest, 0);
  ::close(lowest);
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(lowest);  // the next descriptor is one too many
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  filter_->step();
  const size_t paused = filter_->poll_fds().size();
  const int wait = filter_->timeout_ms();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_EQ(paused, usual - 1) << "the listener is not polled while accept4 fails";
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, 101);
  EXPECT_EQ(filter_->tcp_clients(), 0u);
  pump(200);
  EXPECT_EQ(filter_->tcp_clients(), 1u) << "accepted once the pause is over";
}

// A connection that sends half a message and stops is closed at the idle deadline; the
// 17th connection closes the one idle longest; neither delays an answer to another.
TEST_F(DnsFilterLoopback, TcpIsBounded) {
  filter_->tcp_idle_ms = 300;
  UniqueFd partial(connect_tcp());
  ASSERT_EQ(::send(partial.get(), "\x00\x40" "abc", 5, 0), 5);
  pump(50);
  EXPECT_EQ(filter_->tcp_clients(), 1u);
  EXPECT_FALSE(closed(partial.get(), 100));
  EXPECT_TRUE(closed(partial.get(), 600));
  EXPECT_EQ(filter_->tcp_clients(), 0u);

  filter_->tcp_idle_ms = 10000;
  std::vector<UniqueFd> held;
  for (size_t i = 0; i < kMaxDnsTcpClients; ++i) {
    held.emplace_back(connect_tcp());
    pump(5);
  }
  EXPECT_EQ(filter_->tcp_clients(), kMaxDnsTcpClients);
  UniqueFd extra(connect_tcp());
  const std::string q = dns_query(0x0505, {"blocked", "example"});
  const std::string framed = be16(static_cast<uint16_t>(q.size())) + q;
  ASSERT_EQ(::send(extra.get(), framed.data(), framed.size(), 0), static_cast<ssize_t>(framed.size()));
  EXPECT_EQ(tcp_rcode(extra.get(), 0x0505), dns::kRcodeNxdomain);
  EXPECT_EQ(filter_->tcp_clients(), kMaxDnsTcpClients);
  EXPECT_TRUE(closed(held[0].get(), 100)) << "the oldest idle connection made room";
  EXPECT_FALSE(closed(held[1].get(), 50));
}

}  // namespace
}  // namespace sb::net
