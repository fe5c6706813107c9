// Unit tests for the pure parts of --allow-net's DNS filter (net/dnsfilter): which sets an
// answer's addresses go to, their timeouts, the nfnetlink batch that adds one, and the
// host's resolver read from resolv.conf text.
#include <arpa/inet.h>
#include <endian.h>
#include <gtest/gtest.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <cstring>

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

}  // namespace
}  // namespace sb::net
