// Unit tests for the minimal DNS parser of --allow-net (net/dns): queries, responses with
// CNAME chains and compression, refusals, name matching, and malformed input rejected.
#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace std::string_literals;

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

// A query's name as the wire carries it: each label with its length byte, so a label may
// hold '.', NUL or any other byte.
std::string labels_wire(const std::vector<std::string>& labels) {
  std::string out;
  for (const auto& l : labels) out += static_cast<char>(l.size()) + l;
  return out + '\0';
}
std::string raw_query(uint16_t id, const std::string& wire_name, uint16_t type) {
  return be16(id) + std::string("\x01\x00", 2) + be16(1) + be16(0) + be16(0) + be16(0) +
         wire_name + be16(type) + be16(kClassIn);
}

// Found in review: names were joined with '.', so one label "pypi.org" (a single-label
// name under the root) read as the allowed two-label name, and a NUL or control byte in a
// label under an allowed wildcard passed as an allowed name (and reached the log as is).
TEST(DnsReview, LabelWithADotNulOrOtherBytesNeverMatches) {
  std::vector<NetAllow> rules{parse_allow_net("pypi.org"), parse_allow_net("*.github.com")};
  for (const auto& labels : std::vector<std::vector<std::string>>{
           {"pypi.org"},
           {"pypi", "org\0"s},
           {std::string("a\0b", 3), "github", "com"},
           {"a.b", "github", "com"},
           {"a b", "github", "com"},
           {"\x1b[31m", "github", "com"},
           {"*", "github", "com"},
           {"caf\xc3\xa9", "github", "com"}}) {
    auto q = parse_query(raw_query(1, labels_wire(labels), kTypeA));
    ASSERT_TRUE(q);
    EXPECT_FALSE(name_allowed(rules, q->name)) << q->name;
    for (char c : q->name) EXPECT_TRUE(c >= 0x21 && c < 0x7f) << "unprintable byte in " << q->name;
  }
  // The same names spelled as hostnames do match, in any case.
  auto q = parse_query(raw_query(1, labels_wire({"PyPI", "ORG"}), kTypeA));
  ASSERT_TRUE(q);
  EXPECT_TRUE(name_allowed(rules, q->name));
  q = parse_query(raw_query(1, labels_wire({"a_b-1", "GitHub", "com"}), kTypeA));
  ASSERT_TRUE(q);
  EXPECT_TRUE(name_allowed(rules, q->name));
}

// Found in review: the 255-byte limit was checked on the dotted text, which is 2 bytes
// shorter than the wire form, so a 257-byte name passed.
TEST(DnsReview, NameLongerThan255BytesOnTheWireIsRejected) {
  const std::string l63(63, 'a');
  // 3 x (1 + 63) + (1 + 61) + 1 = 255: the longest name.
  EXPECT_TRUE(parse_query(raw_query(1, labels_wire({l63, l63, l63, std::string(61, 'b')}), kTypeA)));
  // 4 x (1 + 63) + 1 = 257.
  EXPECT_FALSE(parse_query(raw_query(1, labels_wire({l63, l63, l63, l63}), kTypeA)));
  // The same limit through compression: the name reached through a pointer counts whole.
  const std::string q = raw_query(1, labels_wire({"x"}), kTypeA);
  std::string records = rr(labels_wire({l63, l63, l63}), kTypeA, 1, "abcd") +
                        rr(labels_wire({l63}).substr(0, 64) + std::string("\xc0\x13", 2), kTypeA, 1, "abcd");
  EXPECT_FALSE(parse_response(response(q, 2, records)));
}

// Which queries go upstream, which are answered NXDOMAIN, which REFUSED (dns.hpp).
TEST(DnsReview, Verdicts) {
  std::vector<NetAllow> rules{parse_allow_net("pypi.org"), parse_allow_net("*.github.com")};
  auto v = [&](const std::string& msg) {
    auto q = parse_query(msg);
    EXPECT_TRUE(q);
    return q ? verdict(rules, *q) : Verdict::Refused;
  };
  EXPECT_EQ(v(query(1, "PYPI.org", kTypeA)), Verdict::Forward);
  EXPECT_EQ(v(query(1, "api.github.com", kTypeAaaa)), Verdict::Forward);
  EXPECT_EQ(v(query(1, "example.com", kTypeA)), Verdict::Nxdomain);
  EXPECT_EQ(v(query(1, "github.com", kTypeA)), Verdict::Nxdomain);
  EXPECT_EQ(v(raw_query(1, labels_wire({"pypi.org"}), kTypeA)), Verdict::Refused);
  EXPECT_EQ(v(raw_query(1, labels_wire({std::string("x\0", 2), "github", "com"}), kTypeA)),
            Verdict::Refused);
  EXPECT_EQ(v(query(1, "pypi.org", kTypeAxfr)), Verdict::Refused);  // zone transfers never
  EXPECT_EQ(v(query(1, "pypi.org", kTypeIxfr)), Verdict::Refused);
  std::string chaos = query(1, "pypi.org", kTypeA);
  chaos[chaos.size() - 1] = 3;  // class CH
  EXPECT_EQ(v(chaos), Verdict::Refused);
  std::string update = query(1, "pypi.org", kTypeA);
  update[2] = static_cast<char>(5 << 3);  // opcode UPDATE (its zone section reads alike)
  EXPECT_EQ(v(update), Verdict::Refused);
  auto q = parse_query(update);
  ASSERT_TRUE(q);
  auto r = parse_response(refusal(update, *q, rcode_of(Verdict::Refused)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->question.opcode, 5);  // the refusal answers the opcode asked
  EXPECT_EQ(r->rcode, kRcodeRefused);
}

// Found in review: the client's message went upstream byte for byte (answer and authority
// records, any additional record, trailing bytes). Now a query carries none of those
// (an OPT excepted), and what goes upstream is rebuilt from the question.
TEST(DnsReview, QueryCarriesOnlyTheQuestionAndAnOpt) {
  const std::string q = query(0x4242, "pypi.org", kTypeA);
  std::string with_answer = q;
  with_answer[7] = 1;
  EXPECT_FALSE(parse_query(with_answer + rr(std::string("\xc0\x0c", 2), kTypeA, 1, "abcd")));
  std::string with_ns = q;
  with_ns[9] = 1;
  EXPECT_FALSE(parse_query(with_ns + rr(std::string("\xc0\x0c", 2), kTypeA, 1, "abcd")));
  std::string two_ar = q;
  two_ar[11] = 2;
  EXPECT_FALSE(parse_query(two_ar));
  std::string not_opt = q;
  not_opt[11] = 1;
  EXPECT_FALSE(parse_query(not_opt + rr(std::string(1, '\0'), kTypeA, 1, "abcd")));
  // An OPT (payload 1232, DO set) with a cookie option, then trailing junk.
  std::string opt = q;
  opt[11] = 1;
  opt += std::string(1, '\0') + be16(kTypeOpt) + be16(1232) + std::string("\x00\x00\x80\x00", 4) +
         be16(12) + be16(10) + be16(8) + "cookie!!" + "junk";
  auto parsed = parse_query(opt);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->edns_size);
  EXPECT_EQ(*parsed->edns_size, 1232);
  EXPECT_TRUE(parsed->edns_do);
  std::string f = forward_query(opt, *parsed, 0x9999);
  const std::string expect = be16(0x9999) + std::string("\x01\x00", 2) + be16(1) + be16(0) +
                             be16(0) + be16(1) + q.substr(12) + std::string(1, '\0') +
                             be16(kTypeOpt) + be16(1232) + std::string("\x00\x00\x80\x00", 4) +
                             be16(0);
  EXPECT_EQ(f, expect);
  // Without an OPT: header and question only; an opcode or flag bits are not passed on.
  std::string odd = q + "trailing";
  odd[2] = static_cast<char>(0x01 | 0x04);  // RD, and AA (meaningless in a query)
  odd[3] = static_cast<char>(0x70);         // Z, AD, CD
  parsed = parse_query(odd);
  ASSERT_TRUE(parsed);
  f = forward_query(odd, *parsed, 7);
  EXPECT_EQ(f, be16(7) + std::string("\x01\x10", 2) + be16(1) + be16(0) + be16(0) + be16(0) +
                   q.substr(12));
  auto back = parse_query(f);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->name, "pypi.org");
}

// An upstream answer is taken only for the query sent: id, opcode, name, type and class.
TEST(DnsReview, AnswerMatchesTheQuestionSent) {
  const std::string q = query(0x1111, "pypi.org", kTypeA);
  auto asked = parse_query(q);
  ASSERT_TRUE(asked);
  const std::string a = rr(std::string("\xc0\x0c", 2), kTypeA, 60, "\x01\x02\x03\x04");
  auto sent = parse_query(forward_query(q, *asked, 0x2222));
  ASSERT_TRUE(sent);
  auto r = parse_response(response(forward_query(q, *asked, 0x2222), 1, a));
  ASSERT_TRUE(r);
  EXPECT_TRUE(answers(*r, *asked, 0x2222));
  EXPECT_FALSE(answers(*r, *asked, 0x1111));
  auto other_type = parse_response(response(query(0x2222, "pypi.org", kTypeAaaa), 1, a));
  ASSERT_TRUE(other_type);
  EXPECT_FALSE(answers(*other_type, *asked, 0x2222));
  auto other_name = parse_response(response(query(0x2222, "pypi.org.evil", kTypeA), 1, a));
  ASSERT_TRUE(other_name);
  EXPECT_FALSE(answers(*other_name, *asked, 0x2222));
  auto upper = parse_response(response(query(0x2222, "PyPi.ORG", kTypeA), 1, a));
  ASSERT_TRUE(upper);
  EXPECT_TRUE(answers(*upper, *asked, 0x2222));  // case-blind (0x20 randomisation)
}

// A response's addresses are bounded (each costs a netlink round trip) and not repeated.
TEST(DnsReview, AddressesAreBoundedAndUnique) {
  const std::string q = query(1, "pypi.org", kTypeA);
  std::string records;
  for (int i = 0; i < 300; ++i)
    records += rr(std::string("\xc0\x0c", 2), kTypeA, static_cast<uint32_t>(i),
                  std::string("\x0a\x00", 2) + static_cast<char>(i / 256) + static_cast<char>(i % 256));
  records += rr(std::string("\xc0\x0c", 2), kTypeA, 9999, std::string("\x0a\x00\x00\x00", 4));
  auto r = parse_response(response(q, 301, records));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->addresses.size(), kMaxAddresses);
  EXPECT_EQ(r->addresses[0].ttl, 9999u);  // the repeat kept the longer TTL, not a new entry
}

// A chain of backward pointers, each to the one before: decoding ends, and the name it
// spells is bounded like any other.
TEST(DnsReview, LongPointerChainEnds) {
  std::string msg = query(1, "a", kTypeA);  // "a" at offset 12, the question ends at 19
  // The chain sits in the rdata of a first record (type 99): each link the label "x" and
  // a pointer to the link before; the second record's owner points at the last link.
  const size_t rdata_at = msg.size() + 2 + 10;
  size_t prev = 12;
  std::string chain;
  auto links = [&](int n) {
    chain.clear();
    prev = 12;
    for (int i = 0; i < n; ++i) {
      const size_t at = rdata_at + chain.size();
      chain += std::string("\x01x", 2) + static_cast<char>(0xc0 | (prev >> 8)) +
               static_cast<char>(prev & 0xff);
      prev = at;
    }
    return response(msg, 2,
                    rr(std::string("\xc0\x0c", 2), 99, 1, chain) +
                        rr(std::string{static_cast<char>(0xc0 | (prev >> 8)), static_cast<char>(prev & 0xff)},
                           kTypeA, 1, "abcd"));
  };
  EXPECT_TRUE(parse_response(links(100)));   // 100 x 2 + 2 + 1 = 203 bytes
  EXPECT_FALSE(parse_response(links(200)));  // 200 labels: past 255 bytes
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
