// A minimal DNS message parser and builder for --allow-net's DNS filtering: enough to read
// a query's question, answer it with NXDOMAIN/REFUSED, and read the A/AAAA records (with
// their TTLs) of an upstream response, following its CNAME chain. Pure and bounded: any
// byte string either parses or is rejected (fuzzed by tests/fuzz/dns_fuzz.cpp); never reads
// outside the message, never loops on compression pointers.
//
// Used by the supervisor's DNS filter (net/dnsfilter.hpp).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"

namespace sb::net::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;
inline constexpr uint8_t kRcodeNxdomain = 3;
inline constexpr uint8_t kRcodeRefused = 5;

struct Question {
  uint16_t id = 0;
  std::string name;  // lower case, no trailing dot ("" for the root)
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  size_t end = 0;    // offset just past the question in the message
};

// A query: QR clear, exactly one question. nullopt for anything else.
std::optional<Question> parse_query(std::string_view msg);

struct Address {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};  // network byte order (IPv4: first 4 bytes)
  uint32_t ttl = 0;
};
struct Response {
  Question question;
  uint8_t rcode = 0;
  // A/AAAA records whose owner is the question's name or a name its CNAME chain reaches
  // (in the answer section); others (glue, unrelated names) are left out.
  std::vector<Address> addresses;
};

// A response: QR set, exactly one question. nullopt when malformed.
std::optional<Response> parse_response(std::string_view msg);

// The answer to `query` (parse_query succeeded on it) saying `rcode`, no records: the
// header's id and RD, then the question as asked.
std::string refusal(std::string_view query, const Question& q, uint8_t rcode);

// Whether --allow-net rules let `name` (lower case, no trailing dot) resolve: a Name rule
// equal to it, or a wildcard rule ("*.example.com") of which it is a subdomain.
bool name_allowed(const std::vector<NetAllow>& rules, std::string_view name);

}  // namespace sb::net::dns
