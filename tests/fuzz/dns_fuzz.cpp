// libFuzzer target for --allow-net's DNS parser (net/dns): any datagram the sandbox (a query)
// or the upstream resolver (a response) could send must parse or be rejected, never crash or
// read outside the message; a parsed query's refusal must parse back as a response.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/dns.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  if (auto q = sb::net::dns::parse_query(msg)) {
    auto r = sb::net::dns::parse_response(sb::net::dns::refusal(msg, *q, sb::net::dns::kRcodeRefused));
    if (!r || r->question.name != q->name || r->rcode != sb::net::dns::kRcodeRefused) std::abort();
    (void)sb::net::dns::name_allowed({}, q->name);
  }
  (void)sb::net::dns::parse_response(msg);
  return 0;
}
