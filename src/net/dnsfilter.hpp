// --allow-net with DNS names: the sandbox's resolver (127.0.0.1:53 inside, a UDP socket the
// setup child made in its network namespace and handed to the supervisor) answered by the
// supervisor. A name the rules allow is forwarded to the host's resolver and the addresses
// of its answer are added, with their TTL, to the egress table's sets (through a
// NETLINK_NETFILTER socket the setup child opened while it held CAP_NET_ADMIN there) before
// the answer reaches the sandbox; any other name is answered NXDOMAIN at once.
#pragma once
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
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

// Reports a refused query (its question and the rcode it was answered with); the audit
// stream (--audit-fd) plugs in here.
using DnsRefusedHook = std::function<void(const dns::Question& q, uint8_t rcode)>;

// Bounds of the TCP side (DNS over TCP, RFC 7766: resolvers retry over TCP when a UDP
// answer was truncated): connections at once (a new one closes the one idle longest),
// time a connection may take to send its query and read the answer, time the host's
// resolver may take to answer over TCP.
inline constexpr size_t kMaxDnsTcpClients = 16;
inline constexpr int kDnsTcpIdleMs = 10000;
inline constexpr int kDnsUpstreamTcpMs = 5000;

class DnsFilter {
 public:
  // `sandbox_sock`: UDP, bound to 127.0.0.1:53 in the sandbox's netns; `tcp_listener`:
  // TCP, listening there (may be empty: no TCP); `nft_sock`: its NETLINK_NETFILTER
  // socket; `upstream`: the host's resolver.
  DnsFilter(std::vector<NetAllow> rules, UniqueFd sandbox_sock, UniqueFd tcp_listener,
            UniqueFd nft_sock, const sockaddr_storage& upstream);
  ~DnsFilter();
  // Descriptors to poll, with their events.
  std::vector<pollfd> poll_fds() const;
  // Milliseconds until step() has something to expire (a TCP connection's deadline), -1
  // for none.
  int timeout_ms() const;
  // Handles what is ready, never blocking on the sandbox or the resolver (a netlink
  // round trip to the kernel is bounded by 1 s). Errors are logged as warnings (the
  // command then simply gets no answer), never thrown.
  void step();
  DnsRefusedHook on_refused;
  int tcp_idle_ms = kDnsTcpIdleMs;  // (tests shorten it)
  size_t tcp_clients() const { return tcp_.size(); }

  struct TcpClient;  // one DNS-over-TCP connection from the sandbox (dnsfilter.cpp)

 private:
  enum class Act { Drop, Answer, Forward };
  // What to do with a query from the sandbox; `answer` is the refusal for Act::Answer.
  Act judge(std::string_view msg, dns::Question& q, std::string& answer);
  void on_query();
  void on_answer();
  void on_tcp_accept();
  // False once the connection is done with (closed, failed, or timed out).
  bool on_tcp(TcpClient& c, std::chrono::steady_clock::time_point now);
  bool add_addresses(const dns::Response& r);
  uint16_t new_id() const;
  struct Pending {
    sockaddr_storage client;
    socklen_t client_len;
    dns::Question asked;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<NetAllow> rules_;
  UniqueFd sandbox_, tcp_listener_, nft_, upstream_;
  sockaddr_storage upstream_addr_{};
  std::map<uint16_t, Pending> pending_;  // by the id sent upstream
  std::vector<std::unique_ptr<TcpClient>> tcp_;
  // accept4 failed for want of descriptors or memory: the listener, which stays readable,
  // is left out of poll until then (no busy loop).
  std::optional<std::chrono::steady_clock::time_point> accept_paused_until_;
  uint32_t seq_ = 1;
};

// The sandbox's DNS sockets and its netfilter socket (open_dns_filter_sockets).
struct DnsFilterSockets {
  UniqueFd udp, tcp, netlink;
};

// Opens the host's resolver (first nameserver of /etc/resolv.conf, 127.0.0.1 when none)
// and makes the filter. Throws sb::Error.
std::unique_ptr<DnsFilter> start_dns_filter(const std::vector<NetAllow>& rules,
                                            DnsFilterSockets sockets);

// In the setup child, in its network namespace with CAP_NET_ADMIN and
// CAP_NET_BIND_SERVICE there: the UDP socket for 127.0.0.1:53 and the TCP socket listening
// there (both bound even before lo is up), and the NETLINK_NETFILTER socket, all
// O_CLOEXEC. Throws sb::Error.
DnsFilterSockets open_dns_filter_sockets();

}  // namespace sb::net
