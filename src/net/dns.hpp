// A minimal DNS message parser and builder for --allow-net's DNS filter: enough to read a
// query's question, answer it with NXDOMAIN/REFUSED, forward a clean copy of it upstream,
// and read the A/AAAA records (with their TTLs) of an upstream response, following its
// CNAME chain. Pure and bounded: any byte string either parses or is rejected (fuzzed by
// tests/fuzz/dns_fuzz.cpp); never reads outside the message, never loops on compression
// pointers (each must point strictly before the last), names at most 255 bytes on the wire.
//
// Names are kept in presentation form: labels joined by '.', letters folded to lower case,
// and every byte other than a-z, 0-9, '-' and '_' written "\DDD" (decimal, RFC 1035 5.1).
// So a label holding '.', NUL, a space or an escape sequence can never read as another
// name, nor reach a log or the audit stream as raw bytes.
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
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kTypeIxfr = 251;
inline constexpr uint16_t kTypeAxfr = 252;
inline constexpr uint16_t kClassIn = 1;
inline constexpr uint8_t kRcodeServfail = 2;
inline constexpr uint8_t kRcodeNxdomain = 3;
inline constexpr uint8_t kRcodeRefused = 5;
inline constexpr size_t kMaxNameWire = 255;  // RFC 1035 2.3.4, length bytes included

struct Question {
  uint16_t id = 0;
  uint8_t opcode = 0;
  std::string name;  // presentation form (see above), no trailing dot ("" for the root)
  bool hostname = true;  // no label needed an escape: only a-z, 0-9, '-', '_'
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  size_t end = 0;    // offset just past the question in the message
  // A query's EDNS OPT record (RFC 6891): the UDP payload size it offers, its DO bit.
  std::optional<uint16_t> edns_size;
  bool edns_do = false;
};

// A query: QR clear, exactly one question, no answer or authority records, at most one
// additional record and that an OPT. nullopt for anything else.
std::optional<Question> parse_query(std::string_view msg);

struct Address {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};  // network byte order (IPv4: first 4 bytes)
  uint32_t ttl = 0;
};
inline constexpr size_t kMaxAddresses = 32;  // per response: more are left out
struct Response {
  Question question;
  uint8_t rcode = 0;
  // A/AAAA records whose owner is the question's name or a name its CNAME chain reaches
  // (in the answer section); others (glue, unrelated names) are left out, and so are
  // duplicates and any beyond kMaxAddresses.
  std::vector<Address> addresses;
};

// A response: QR set, exactly one question. nullopt when malformed.
std::optional<Response> parse_response(std::string_view msg);

// Whether `r` answers the query `asked` that was sent upstream with id `sent_id`: same id,
// opcode, name, type and class.
bool answers(const Response& r, const Question& asked, uint16_t sent_id);

// The answer to `query` (parse_query succeeded on it) saying `rcode`, no records: the
// header's id, opcode and RD, then the question as asked.
std::string refusal(std::string_view query, const Question& q, uint8_t rcode);

// The query sent upstream for `q` (parsed from `query`): a new header with `id`, the
// question as asked, and an OPT record without options when the client sent one. Nothing
// else the client put in its message reaches the host's resolver.
std::string forward_query(std::string_view query, const Question& q, uint16_t id);

// Whether --allow-net rules let `name` (presentation form) resolve: a Name rule equal to
// it, or a wildcard rule ("*.example.com") of which it is a subdomain. Never a name with a
// byte other than a-z, 0-9, '-', '_' and the dots between non-empty labels.
bool name_allowed(const std::vector<NetAllow>& rules, std::string_view name);

// What the filter does with a query.
enum class Verdict {
  Forward,   // allowed: to the host's resolver
  Nxdomain,  // a hostname the rules do not allow
  Refused,   // not a standard IN query of a hostname: another opcode or class, a zone
             // transfer, or a name with a byte outside a-z, 0-9, '-', '_' in a label
};
Verdict verdict(const std::vector<NetAllow>& rules, const Question& q);

// The rcode of a refusal for `v` (Nxdomain or Refused).
inline uint8_t rcode_of(Verdict v) { return v == Verdict::Nxdomain ? kRcodeNxdomain : kRcodeRefused; }

}  // namespace sb::net::dns
