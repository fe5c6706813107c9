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
void put16(std::string& s, uint16_t v) {
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v & 0xff);
}

bool host_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Reads the name at `pos`; `pos` moves past it (past the first pointer, when compressed).
// Pointers must point backwards (each strictly before the last) and never into the
// header, so decoding ends; the whole name, as it would be written uncompressed, is at
// most kMaxNameWire bytes. `out` is its presentation form (dns.hpp); `hostname` says
// whether no byte needed an escape.
bool read_name(std::string_view m, size_t& pos, std::string& out, bool* hostname = nullptr) {
  out.clear();
  if (hostname) *hostname = true;
  size_t at = pos;
  bool jumped = false;
  size_t limit = at;  // a pointer must go strictly below this
  size_t wire = 1;    // the root's zero byte
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
    if (len & 0xc0) return false;  // the reserved label types (and so len <= 63)
    if (len == 0) {
      if (!jumped) pos = at + 1;
      return true;
    }
    wire += 1 + len;
    if (wire > kMaxNameWire) return false;
    if (at + 1 + len > m.size()) return false;
    if (!out.empty()) out += '.';
    for (size_t i = 0; i < len; ++i) {
      char c = m[at + 1 + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');  // names are case-blind
      if (host_byte(c)) {
        out += c;
        continue;
      }
      // Security: any other byte ('.', NUL, controls, '\\' itself) is escaped, so a label
      // never reads as two, never matches a rule, and never reaches a log raw.
      const unsigned v = static_cast<uint8_t>(c);
      out += '\\';
      out += static_cast<char>('0' + v / 100);
      out += static_cast<char>('0' + v / 10 % 10);
      out += static_cast<char>('0' + v % 10);
      if (hostname) *hostname = false;
    }
    at += 1 + len;
  }
}

std::optional<Question> read_question(std::string_view m) {
  if (m.size() < kHeader) return std::nullopt;
  if (u16(m, 4) != 1) return std::nullopt;  // QDCOUNT: exactly one
  Question q;
  q.id = u16(m, 0);
  q.opcode = (static_cast<uint8_t>(m[2]) >> 3) & 0x0f;
  size_t pos = kHeader;
  if (!read_name(m, pos, q.name, &q.hostname) || pos + 4 > m.size()) return std::nullopt;
  q.qtype = u16(m, pos);
  q.qclass = u16(m, pos + 2);
  q.end = pos + 4;
  return q;
}

}  // namespace

std::optional<Question> parse_query(std::string_view msg) {
  if (msg.size() < kHeader || (static_cast<uint8_t>(msg[2]) & 0x80)) return std::nullopt;
  auto q = read_question(msg);
  if (!q) return std::nullopt;
  // No answer or authority records in a query; at most one additional one, an OPT.
  if (u16(msg, 6) != 0 || u16(msg, 8) != 0 || u16(msg, 10) > 1) return std::nullopt;
  if (u16(msg, 10) == 1) {
    size_t pos = q->end;
    // OPT: the root name, type 41, class = UDP payload size, TTL = extended rcode,
    // version, flags (DO), then its options.
    if (pos + 11 > msg.size() || msg[pos] != 0 || u16(msg, pos + 1) != kTypeOpt)
      return std::nullopt;
    if (pos + 11 + u16(msg, pos + 9) > msg.size()) return std::nullopt;
    q->edns_size = u16(msg, pos + 3);
    q->edns_do = (static_cast<uint8_t>(msg[pos + 7]) & 0x80) != 0;
  }
  return q;
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
        // Bounded: each address costs a netlink round trip in the supervisor.
        auto same = std::find_if(r.addresses.begin(), r.addresses.end(), [&](const Address& b) {
          return b.v6 == a.v6 && b.addr == a.addr;
        });
        if (same != r.addresses.end())
          same->ttl = std::max(same->ttl, a.ttl);
        else if (r.addresses.size() < kMaxAddresses)
          r.addresses.push_back(a);
      }
    }
    pos += rdlen;
  }
  return r;
}

bool answers(const Response& r, const Question& asked, uint16_t sent_id) {
  const Question& q = r.question;
  return q.id == sent_id && q.opcode == asked.opcode && q.name == asked.name &&
         q.qtype == asked.qtype && q.qclass == asked.qclass;
}

std::string refusal(std::string_view query, const Question& q, uint8_t rcode) {
  std::string r(query.substr(0, q.end));
  const uint8_t keep = static_cast<uint8_t>(query[2]) & 0x79;  // opcode and RD as asked
  r[2] = static_cast<char>(0x80 | keep);            // QR
  r[3] = static_cast<char>(0x80 | (rcode & 0x0f));  // RA, the rcode
  for (size_t i = 6; i < 12; ++i) r[i] = 0;        // no answer, authority, additional
  return r;
}

std::string forward_query(std::string_view query, const Question& q, uint16_t id) {
  std::string f;
  f.reserve(q.end + 11);
  put16(f, id);
  f += static_cast<char>(static_cast<uint8_t>(query[2]) & 0x01);  // QUERY, RD as asked
  f += static_cast<char>(static_cast<uint8_t>(query[3]) & 0x10);  // CD as asked
  put16(f, 1);
  put16(f, 0);
  put16(f, 0);
  put16(f, q.edns_size ? 1 : 0);
  // The question as asked: in a query it is never compressed (no pointer may reach the
  // header), so its bytes stand alone.
  f.append(query.substr(kHeader, q.end - kHeader));
  if (q.edns_size) {
    f += '\0';
    put16(f, kTypeOpt);
    put16(f, std::clamp<uint16_t>(*q.edns_size, 512, 4096));
    f += '\0';  // extended rcode
    f += '\0';  // version 0
    f += static_cast<char>(q.edns_do ? 0x80 : 0);
    f += '\0';
    put16(f, 0);  // no options
  }
  return f;
}

bool name_allowed(const std::vector<NetAllow>& rules, std::string_view name) {
  // Only a plain hostname can match: letters, digits, '-', '_', dots between non-empty
  // labels (a rule's name is one, so this only makes sure).
  if (name.empty() || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string_view::npos)
    return false;
  for (char c : name)
    if (!host_byte(c) && c != '.') return false;
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

Verdict verdict(const std::vector<NetAllow>& rules, const Question& q) {
  // Only a standard query of a hostname in class IN goes anywhere; zone transfers never.
  if (q.opcode != 0 || q.qclass != kClassIn || q.qtype == kTypeAxfr || q.qtype == kTypeIxfr ||
      q.qtype == kTypeOpt || !q.hostname)
    return Verdict::Refused;
  return name_allowed(rules, q.name) ? Verdict::Forward : Verdict::Nxdomain;
}

}  // namespace sb::net::dns
