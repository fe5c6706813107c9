// libFuzzer target for --allow-net's DNS parser (net/dns): any datagram the sandbox (a query)
// or the upstream resolver (a response) could send must parse or be rejected, never crash or
// read outside the message. A parsed query's refusal parses back as a response to it; what
// is forwarded upstream parses back as the same question and is answered by a response to
// it; a name is only ever allowed when it is a plain hostname, and never holds a byte
// outside printable ASCII.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/dns.hpp"
#include "net/egress.hpp"

namespace dns = sb::net::dns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  static const std::vector<sb::NetAllow> rules{sb::net::parse_allow_net("example.com"),
                                               sb::net::parse_allow_net("*.example.org")};
  if (auto q = dns::parse_query(msg)) {
    for (char c : q->name)
      if (c < 0x21 || c > 0x7e) std::abort();
    auto r = dns::parse_response(dns::refusal(msg, *q, dns::kRcodeRefused));
    if (!r || r->question.name != q->name || r->rcode != dns::kRcodeRefused ||
        r->question.opcode != q->opcode)
      std::abort();
    const dns::Verdict v = dns::verdict(rules, *q);
    if (v == dns::Verdict::Forward && (!q->hostname || q->opcode != 0)) std::abort();
    const std::string fwd = dns::forward_query(msg, *q, 0x5a5a);
    auto f = dns::parse_query(fwd);
    if (!f || f->name != q->name || f->qtype != q->qtype || f->qclass != q->qclass ||
        f->id != 0x5a5a || f->edns_size.has_value() != q->edns_size.has_value())
      std::abort();
    std::string answer = fwd;
    answer[2] = static_cast<char>(static_cast<uint8_t>(answer[2]) | 0x80);
    auto a = dns::parse_response(answer);
    if (!a || (q->opcode == 0 && !dns::answers(*a, *q, 0x5a5a))) std::abort();
  }
  (void)dns::parse_response(msg);
  return 0;
}
