// --allow-net with DNS names: the sandbox's resolver (127.0.0.1:53 inside, a UDP socket the
// setup child made in its network namespace and handed to the supervisor) answered by the
// supervisor. A name the rules allow is forwarded to the host's resolver and the addresses
// of its answer are added, with their TTL, to the egress table's sets (through a
// NETLINK_NETFILTER socket the setup child opened while it held CAP_NET_ADMIN there) before
// the answer reaches the sandbox; any other name is answered NXDOMAIN at once.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/dns.hpp"
#include "spec/spec.hpp"
#include "util/fd.hpp"

namespace sb::net {

// The sets of the egress table (egress_ruleset) an address learned for `name` goes in:
// "names4"/"names6" for rules without ports, "nameN_4"/"nameN_6" (N the rule's index) for
// rules with ports. Pure.
std::vector<std::string> dns_sets_for(const std::vector<NetAllow>& rules, std::string_view name,
                                      bool v6);

// The element timeout for a record's TTL: at least kMinTtl (a TTL of 0 would expire before
// the connect that follows), at most a day. Pure.
inline constexpr uint32_t kMinDnsTtl = 30;
uint64_t dns_timeout_ms(uint32_t ttl);

// The netlink messages (one nfnetlink batch) that add `addr` (4 or 16 bytes) to `set` of
// the egress table with `timeout_ms`. Pure.
std::string nft_add_element_batch(const std::string& set, const uint8_t* addr, size_t len,
                                  uint64_t timeout_ms, uint32_t seq);

// The first nameserver of a resolv.conf text ("nameserver ADDR" lines), nullopt if none.
// Pure.
std::optional<sockaddr_storage> first_nameserver(const std::string& resolv_conf);

// Reports a refused name; the audit stream (--audit-fd) plugs in here.
using DnsRefusedHook = void (*)(const std::string& name);

class DnsFilter {
 public:
  // `sandbox_sock`: bound to 127.0.0.1:53 in the sandbox's netns; `nft_sock`: its
  // NETLINK_NETFILTER socket; `upstream`: the host's resolver.
  DnsFilter(std::vector<NetAllow> rules, UniqueFd sandbox_sock, UniqueFd nft_sock,
            const sockaddr_storage& upstream);
  // Descriptors to poll for POLLIN.
  std::vector<int> fds() const;
  // Handles what is readable (non-blocking). Errors are logged as warnings (the command
  // then simply gets no answer), never thrown.
  void step();
  DnsRefusedHook on_refused = nullptr;

 private:
  void on_query();
  void on_answer();
  bool add_addresses(const dns::Response& r);
  struct Pending {
    sockaddr_storage client;
    socklen_t client_len;
    uint16_t client_id;
    std::string name;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<NetAllow> rules_;
  UniqueFd sandbox_, nft_, upstream_;
  std::map<uint16_t, Pending> pending_;  // by the id sent upstream
  uint16_t next_id_ = 1;
  uint32_t seq_ = 1;
};

// Opens the host's resolver (first nameserver of /etc/resolv.conf, 127.0.0.1 when none)
// and makes the filter. Throws sb::Error.
std::unique_ptr<DnsFilter> start_dns_filter(const std::vector<NetAllow>& rules,
                                            UniqueFd sandbox_sock, UniqueFd nft_sock);

// In the setup child, in its network namespace with CAP_NET_ADMIN and
// CAP_NET_BIND_SERVICE there: the UDP socket for 127.0.0.1:53 (bound even before lo is up)
// and the NETLINK_NETFILTER socket, both O_CLOEXEC. Throws sb::Error.
std::pair<UniqueFd, UniqueFd> open_dns_filter_sockets();

}  // namespace sb::net
