// Unit tests for the minimal DNS parser of --allow-net (net/dns): queries, responses with
// CNAME chains and compression, refusals, name matching, and malformed input rejected.
#include <gtest/gtest.h>

#include <string>

#include "net/dns.hpp"
#include "net/egress.hpp"

namespace sb::net::dns {
namespace {

std::string name_wire(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start <= name.size() && !name.empty()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out += static_cast<char>(dot - start);
    out += name.substr(start, dot - start);
    start = dot + 1;
  }
  return out + '\0';
}

std::string be16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string be32(uint32_t v) { return be16(static_cast<uint16_t>(v >> 16)) + be16(static_cast<uint16_t>(v)); }

std::string query(uint16_t id, const std::string& name, uint16_t type) {
  return be16(id) + std::string("\x01\x00", 2) + be16(1) + be16(0) + be16(0) + be16(0) +
         name_wire(name) + be16(type) + be16(kClassIn);
}

std::string rr(const std::string& owner_wire, uint16_t type, uint32_t ttl, const std::string& rdata) {
  return owner_wire + be16(type) + be16(kClassIn) + be32(ttl) + be16(static_cast<uint16_t>(rdata.size())) + rdata;
}

// A response to `q` with `answers` records.
std::string response(const std::string& q, uint16_t answers, const std::string& records,
                     uint8_t rcode = 0) {
  std::string r = q;
  r[2] = static_cast<char>(0x81);
  r[3] = static_cast<char>(0x80 | rcode);
  r.replace(6, 2, be16(answers));
  return r + records;
}

TEST(Dns, ParsesAQuery) {
  auto q = parse_query(query(0x1234, "WWW.Example.com", kTypeAaaa));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->id, 0x1234);
  EXPECT_EQ(q->name, "www.example.com");
  EXPECT_EQ(q->qtype, kTypeAaaa);
  EXPECT_EQ(q->qclass, kClassIn);
  EXPECT_FALSE(parse_response(query(1, "a.b", kTypeA)));  // not a response
}

TEST(Dns, ResponseFollowsTheCnameChainWithCompression) {
  const std::string q = query(7, "www.example.com", kTypeA);
  const std::string ptr_q = std::string("\xc0\x0c", 2);  // the question's name
  const size_t cname_rdata_at = q.size() + 2 + 10;       // where the CNAME's target starts
  std::string records =
      rr(ptr_q, kTypeCname, 300, name_wire("cdn.example.net")) +
      rr(std::string{static_cast<char>(0xc0), static_cast<char>(cname_rdata_at)}, kTypeA, 60,
         std::string("\x01\x02\x03\x04", 4)) +
      rr(name_wire("evil.example.org"), kTypeA, 60, std::string("\x09\x09\x09\x09", 4)) +
      rr(ptr_q, kTypeAaaa, 0x80000000u, std::string(15, '\0') + '\x01');
  auto r = parse_response(response(q, 4, records));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->question.name, "www.example.com");
  EXPECT_EQ(r->rcode, 0);
  ASSERT_EQ(r->addresses.size(), 2u);  // the unrelated owner's record is left out
  EXPECT_FALSE(r->addresses[0].v6);
  EXPECT_EQ(r->addresses[0].addr[0], 1);
  EXPECT_EQ(r->addresses[0].addr[3], 4);
  EXPECT_EQ(r->addresses[0].ttl, 60u);
  EXPECT_TRUE(r->addresses[1].v6);
  EXPECT_EQ(r->addresses[1].addr[15], 1);
  EXPECT_EQ(r->addresses[1].ttl, 0u);  // RFC 2181: top bit set counts as zero
}

TEST(Dns, RejectsMalformed) {
  const std::string q = query(7, "a.example", kTypeA);
  EXPECT_FALSE(parse_query(""));
  EXPECT_FALSE(parse_query(q.substr(0, 11)));
  EXPECT_FALSE(parse_query(q.substr(0, q.size() - 1)));  // question cut short
  std::string two = q;
  two[5] = 2;  // two questions
  EXPECT_FALSE(parse_query(two));
  // A pointer loop, and a forward pointer.
  std::string loop = q.substr(0, 12) + std::string("\xc0\x0c", 2) + be16(1) + be16(1);
  EXPECT_FALSE(parse_query(loop));
  std::string fwd = q.substr(0, 12) + std::string("\xc0\x20", 2) + be16(1) + be16(1);
  EXPECT_FALSE(parse_query(fwd));
  // A pointer into the header (found by fuzz_dns: a refusal rewrites the header, so the
  // name would change under it).
  std::string hdr = q.substr(0, 12) + std::string("\xc0\x01", 2) + be16(1) + be16(1);
  EXPECT_FALSE(parse_query(hdr));
  // An answer count larger than the records; an rdlength past the end.
  EXPECT_FALSE(parse_response(response(q, 1, "")));
  EXPECT_FALSE(parse_response(response(q, 1, std::string("\xc0\x0c", 2) + be16(1) + be16(1) + be32(1) + be16(4) + "ab")));
}

TEST(Dns, RefusalEchoesTheQuestion) {
  const std::string q = query(0xbeef, "blocked.example", kTypeA);
  auto parsed = parse_query(q);
  ASSERT_TRUE(parsed);
  std::string r = refusal(q, *parsed, kRcodeNxdomain);
  auto back = parse_response(r);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->question.id, 0xbeef);
  EXPECT_EQ(back->question.name, "blocked.example");
  EXPECT_EQ(back->rcode, kRcodeNxdomain);
  EXPECT_TRUE(back->addresses.empty());
  EXPECT_EQ(static_cast<uint8_t>(r[2]) & 0x01, 1);  // RD as asked
}

TEST(Dns, NameAllowed) {
  std::vector<NetAllow> rules{parse_allow_net("pypi.org:443"), parse_allow_net("*.github.com"),
                              parse_allow_net("10.0.0.1")};
  EXPECT_TRUE(name_allowed(rules, "pypi.org"));
  EXPECT_FALSE(name_allowed(rules, "files.pypi.org"));
  EXPECT_TRUE(name_allowed(rules, "api.github.com"));
  EXPECT_TRUE(name_allowed(rules, "a.b.github.com"));
  EXPECT_FALSE(name_allowed(rules, "github.com"));
  EXPECT_FALSE(name_allowed(rules, "evilgithub.com"));
  EXPECT_FALSE(name_allowed(rules, "10.0.0.1"));
  EXPECT_FALSE(name_allowed({}, "pypi.org"));
}

}  // namespace
}  // namespace sb::net::dns
