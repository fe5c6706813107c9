// Minimal DNS message parsing (RFC 1035 section 4), see dns.hpp.
#include "net/dns.hpp"

#include <algorithm>

namespace sb::net::dns {
namespace {

constexpr size_t kHeader = 12;

uint16_t u16(std::string_view m, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(m[at]) << 8) | static_cast<uint8_t>(m[at + 1]));
}
uint32_t u32(std::string_view m, size_t at) {
  return (static_cast<uint32_t>(u16(m, at)) << 16) | u16(m, at + 2);
}

// Reads the name at `pos`; `pos` moves past it (past the first pointer, when compressed).
// Pointers must point backwards (each strictly before the last), so decoding ends.
bool read_name(std::string_view m, size_t& pos, std::string& out) {
  out.clear();
  size_t at = pos;
  bool jumped = false;
  size_t limit = at;  // a pointer must go strictly below this
  while (true) {
    if (at >= m.size()) return false;
    const uint8_t len = static_cast<uint8_t>(m[at]);
    if ((len & 0xc0) == 0xc0) {
      if (at + 1 >= m.size()) return false;
      const size_t target = static_cast<size_t>(((len & 0x3f) << 8) | static_cast<uint8_t>(m[at + 1]));
      if (!jumped) pos = at + 2;
      if (target >= limit || target < kHeader) return false;  // backwards, never the header
      limit = target;
      at = target;
      jumped = true;
      continue;
    }
    if (len & 0xc0) return false;  // the reserved label types
    if (len == 0) {
      if (!jumped) pos = at + 1;
      return true;
    }
    if (at + 1 + len > m.size()) return false;
    if (!out.empty()) out += '.';
    for (size_t i = 0; i < len; ++i) {
      char c = m[at + 1 + i];
      out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    if (out.size() > 255) return false;
    at += 1 + len;
  }
}

std::optional<Question> read_question(std::string_view m) {
  if (m.size() < kHeader) return std::nullopt;
  if (u16(m, 4) != 1) return std::nullopt;  // QDCOUNT: exactly one
  Question q;
  q.id = u16(m, 0);
  size_t pos = kHeader;
  if (!read_name(m, pos, q.name) || pos + 4 > m.size()) return std::nullopt;
  q.qtype = u16(m, pos);
  q.qclass = u16(m, pos + 2);
  q.end = pos + 4;
  return q;
}

}  // namespace

std::optional<Question> parse_query(std::string_view msg) {
  if (msg.size() < kHeader || (static_cast<uint8_t>(msg[2]) & 0x80)) return std::nullopt;
  return read_question(msg);
}

std::optional<Response> parse_response(std::string_view msg) {
  if (msg.size() < kHeader || !(static_cast<uint8_t>(msg[2]) & 0x80)) return std::nullopt;
  auto q = read_question(msg);
  if (!q) return std::nullopt;
  Response r;
  r.question = *q;
  r.rcode = static_cast<uint8_t>(msg[3]) & 0x0f;
  const uint16_t ancount = u16(msg, 6);
  // The names that lead to the answer: the question's, then each CNAME target (answers are
  // in chain order in practice; a record out of order is simply not followed).
  std::vector<std::string> chain{q->name};
  size_t pos = q->end;
  std::string owner, target;
  for (uint16_t i = 0; i < ancount; ++i) {
    if (!read_name(msg, pos, owner) || pos + 10 > msg.size()) return std::nullopt;
    const uint16_t type = u16(msg, pos), cls = u16(msg, pos + 2);
    const uint32_t ttl = u32(msg, pos + 4);
    const uint16_t rdlen = u16(msg, pos + 8);
    pos += 10;
    if (pos + rdlen > msg.size()) return std::nullopt;
    const bool in_chain = std::find(chain.begin(), chain.end(), owner) != chain.end();
    if (cls == kClassIn && in_chain) {
      if (type == kTypeCname) {
        size_t p = pos;
        if (!read_name(msg, p, target) || p > pos + rdlen) return std::nullopt;
        if (chain.size() < 16) chain.push_back(target);
      } else if ((type == kTypeA && rdlen == 4) || (type == kTypeAaaa && rdlen == 16)) {
        Address a;
        a.v6 = type == kTypeAaaa;
        std::copy_n(msg.begin() + static_cast<std::ptrdiff_t>(pos), rdlen, a.addr.begin());
        a.ttl = (ttl & 0x80000000u) ? 0 : ttl;  // RFC 2181 8: the top bit set means zero
        r.addresses.push_back(a);
      }
    }
    pos += rdlen;
  }
  return r;
}

std::string refusal(std::string_view query, const Question& q, uint8_t rcode) {
  std::string r(query.substr(0, q.end));
  const uint8_t rd = static_cast<uint8_t>(query[2]) & 0x01;
  r[2] = static_cast<char>(0x80 | rd);             // QR, opcode QUERY, RD as asked
  r[3] = static_cast<char>(0x80 | (rcode & 0x0f));  // RA, the rcode
  for (size_t i = 6; i < 12; ++i) r[i] = 0;        // no answer, authority, additional
  return r;
}

bool name_allowed(const std::vector<NetAllow>& rules, std::string_view name) {
  for (const NetAllow& r : rules) {
    if (r.kind != NetAllow::Kind::Name) continue;
    if (!r.wildcard) {
      if (name == r.name) return true;
    } else if (name.size() > r.name.size() + 1 && name.ends_with(r.name) &&
               name[name.size() - r.name.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace sb::net::dns
