// Raw nfnetlink (NETLINK_NETFILTER) for --allow-net: building nf_tables messages and
// sending them as batches (NFNL_MSG_BATCH_BEGIN ... END), and reading NFLOG (nfnetlink_log)
// packets. Written by us rather than with libnftnl/libmnl: the egress table needs a dozen
// message and expression kinds whose layout is stable kernel ABI (linux/netfilter/
// nf_tables.h), so two more libraries (and their build and CI dependency) would buy little.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::net::nfnl {

// Appends netlink structures to a buffer, 4-byte aligned. Multi-byte values the kernel
// reads in network byte order go through be16/be32/be64.
struct Builder {
  std::string buf;
  void pad();
  // nlmsghdr + nfgenmsg; returns the offset to pass to end_msg.
  size_t begin_msg(uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id, uint32_t seq);
  void end_msg(size_t at);
  void attr(uint16_t type, const void* data, size_t len);
  void str(uint16_t type, const std::string& s);  // NUL-terminated
  void be16(uint16_t type, uint16_t v);
  void be32(uint16_t type, uint32_t v);
  void be64(uint16_t type, uint64_t v);
  void u8(uint16_t type, uint8_t v);
  size_t nest();
  void end_nest(size_t at, uint16_t type);
};

// One message of a batch: its bytes (without sequence number: send_batches numbers them)
// and what it does, for an error the kernel returns for it.
struct Msg {
  std::string bytes;
  std::string what;
};

// Packs `msgs` into batches no larger than `max_bytes` each (one message never split),
// numbering messages from `seq`: BEGIN, the messages with NLM_F_ACK, END. Pure.
std::vector<std::string> pack_batches(const std::vector<Msg>& msgs, uint32_t seq,
                                      size_t max_bytes);

// Sends `msgs` on a NETLINK_NETFILTER socket as batches and waits for every message's
// acknowledgement. Throws sb::Error "`what_prefix`: the kernel refused <what>: <errno>".
void send_batches(int fd, const std::vector<Msg>& msgs, const std::string& what_prefix);

// A packet the NFLOG rule reported: its destination and transport protocol.
struct LoggedPacket {
  int family = 0;        // AF_INET or AF_INET6
  uint8_t addr[16] = {};  // destination, network byte order
  uint8_t proto = 0;     // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP...
  uint16_t port = 0;     // destination port (TCP, UDP, SCTP, UDP-Lite), else 0
};

// Parses a network-layer header (IPv4 or IPv6, as the NFLOG payload carries it). Pure.
std::optional<LoggedPacket> parse_ip_header(std::string_view packet);

// Parses the NFULNL_MSG_PACKET messages of one datagram read from an NFLOG socket. Pure.
std::vector<LoggedPacket> parse_nflog(std::string_view datagram);

// The NFLOG configuration messages that bind a socket to `group` and ask for the first
// `copy_range` bytes of each packet. Pure.
std::string nflog_bind_messages(uint16_t group, uint32_t copy_range, uint32_t seq);

}  // namespace sb::net::nfnl
