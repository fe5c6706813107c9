// Raw nfnetlink for --allow-net, see nfnl.hpp.
#include "net/nfnl.hpp"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "util/error.hpp"

namespace sb::net::nfnl {

void Builder::pad() { buf.resize((buf.size() + 3) & ~size_t{3}, '\0'); }

size_t Builder::begin_msg(uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id,
                          uint32_t seq) {
  pad();
  size_t at = buf.size();
  nlmsghdr h{};
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  h.nlmsg_seq = seq;
  nfgenmsg g{};
  g.nfgen_family = family;
  g.version = NFNETLINK_V0;
  g.res_id = htons(res_id);
  buf.append(reinterpret_cast<const char*>(&h), sizeof h);
  buf.append(reinterpret_cast<const char*>(&g), sizeof g);
  return at;
}

void Builder::end_msg(size_t at) {
  pad();
  uint32_t len = static_cast<uint32_t>(buf.size() - at);
  std::memcpy(buf.data() + at, &len, sizeof len);  // nlmsg_len comes first
}

void Builder::attr(uint16_t type, const void* data, size_t len) {
  pad();
  nlattr a{static_cast<uint16_t>(NLA_HDRLEN + len), type};
  buf.append(reinterpret_cast<const char*>(&a), sizeof a);
  buf.append(static_cast<const char*>(data), len);
  pad();
}

void Builder::str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
void Builder::be16(uint16_t type, uint16_t v) {
  v = htobe16(v);
  attr(type, &v, sizeof v);
}
void Builder::be32(uint16_t type, uint32_t v) {
  v = htobe32(v);
  attr(type, &v, sizeof v);
}
void Builder::be64(uint16_t type, uint64_t v) {
  v = htobe64(v);
  attr(type, &v, sizeof v);
}
void Builder::u8(uint16_t type, uint8_t v) { attr(type, &v, 1); }

size_t Builder::nest() {
  pad();
  size_t at = buf.size();
  buf.append(NLA_HDRLEN, '\0');
  return at;
}

void Builder::end_nest(size_t at, uint16_t type) {
  nlattr a{static_cast<uint16_t>(buf.size() - at), static_cast<uint16_t>(type | NLA_F_NESTED)};
  std::memcpy(buf.data() + at, &a, sizeof a);
}

namespace {

std::string batch_marker(uint16_t type, uint32_t seq) {
  Builder b;
  size_t m = b.begin_msg(type, NLM_F_REQUEST, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, seq);
  b.end_msg(m);
  return b.buf;
}

// A copy of `msg` with its sequence number and NLM_F_ACK set.
std::string numbered(const std::string& msg, uint32_t seq) {
  std::string out = msg;
  nlmsghdr h;
  std::memcpy(&h, out.data(), sizeof h);
  h.nlmsg_seq = seq;
  h.nlmsg_flags |= NLM_F_ACK;
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

}  // namespace

std::vector<std::string> pack_batches(const std::vector<Msg>& msgs, uint32_t seq,
                                      size_t max_bytes) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < msgs.size()) {
    std::string b = batch_marker(NFNL_MSG_BATCH_BEGIN, seq++);
    const size_t overhead = b.size() * 2;
    // At least one message per batch, then as many as fit.
    do {
      b += numbered(msgs[i].bytes, seq++);
      ++i;
    } while (i < msgs.size() && b.size() + msgs[i].bytes.size() + overhead / 2 <= max_bytes);
    b += batch_marker(NFNL_MSG_BATCH_END, seq++);
    out.push_back(std::move(b));
  }
  return out;
}

void send_batches(int fd, const std::vector<Msg>& msgs, const std::string& what_prefix) {
  // Acknowledgements without the echoed request (an error still names its sequence).
  int one = 1;
  ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  // Bounded: a reply that never comes is an error after 2 s, never a hang.
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // 64 KiB batches: well under the default socket send buffer (net.core.wmem_default),
  // which an unprivileged process cannot raise beyond wmem_max.
  constexpr size_t kMaxBatch = 64 * 1024;
  const uint32_t first = 1;
  auto batches = pack_batches(msgs, first, kMaxBatch);
  // Sequence number -> index in msgs (BEGIN and END have none).
  uint32_t seq = first;
  size_t next = 0;
  for (const std::string& batch : batches) {
    std::map<uint32_t, size_t> pending;
    ++seq;  // BEGIN
    for (size_t off = NLMSG_ALIGN(sizeof(nlmsghdr) + sizeof(nfgenmsg)); off < batch.size();) {
      nlmsghdr h;
      std::memcpy(&h, batch.data() + off, sizeof h);
      if (h.nlmsg_type == NFNL_MSG_BATCH_END) break;
      pending[h.nlmsg_seq] = next++;
      ++seq;
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
    ++seq;  // END
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd, batch.data(), batch.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) != static_cast<ssize_t>(batch.size()))
      throw_errno(what_prefix + ": can't send the rules to the kernel");
    alignas(nlmsghdr) char buf[16384];
    while (!pending.empty()) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno(what_prefix + ": no answer from the kernel for " + msgs[pending.begin()->second].what);
      }
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
           h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
          continue;
        const int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
        auto it = pending.find(h->nlmsg_seq);
        if (err != 0) {
          const std::string what = it != pending.end() ? msgs[it->second].what : "the batch";
          throw Error(what_prefix + ": the kernel refused " + what + ": " + std::strerror(err));
        }
        if (it != pending.end()) pending.erase(it);
      }
    }
  }
}

std::optional<LoggedPacket> parse_ip_header(std::string_view p) {
  if (p.empty()) return std::nullopt;
  LoggedPacket out;
  const auto* b = reinterpret_cast<const uint8_t*>(p.data());
  size_t l4 = 0;
  if ((b[0] >> 4) == 4) {
    if (p.size() < 20) return std::nullopt;
    const size_t ihl = static_cast<size_t>(b[0] & 0xf) * 4;
    if (ihl < 20) return std::nullopt;
    out.family = AF_INET;
    out.proto = b[9];
    std::memcpy(out.addr, b + 16, 4);
    // Only the first fragment carries the transport header.
    const bool later_fragment = ((b[6] & 0x1f) | b[7]) != 0;
    l4 = later_fragment ? 0 : ihl;
  } else if ((b[0] >> 4) == 6) {
    if (p.size() < 40) return std::nullopt;
    out.family = AF_INET6;
    out.proto = b[6];  // the next header (extension headers: reported as they are)
    std::memcpy(out.addr, b + 24, 16);
    l4 = 40;
  } else {
    return std::nullopt;
  }
  const bool ports = out.proto == IPPROTO_TCP || out.proto == IPPROTO_UDP ||
                     out.proto == IPPROTO_SCTP || out.proto == IPPROTO_UDPLITE;
  if (ports && l4 && p.size() >= l4 + 4) out.port = static_cast<uint16_t>(b[l4 + 2] << 8 | b[l4 + 3]);
  return out;
}

std::vector<LoggedPacket> parse_nflog(std::string_view d) {
  std::vector<LoggedPacket> out;
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= d.size()) {
    nlmsghdr h;
    std::memcpy(&h, d.data() + off, sizeof h);
    if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > d.size()) break;
    const size_t end = off + h.nlmsg_len;
    if (h.nlmsg_type == ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)) {
      size_t a = off + NLMSG_ALIGN(sizeof h) + NLMSG_ALIGN(sizeof(nfgenmsg));
      while (a + NLA_HDRLEN <= end) {
        nlattr na;
        std::memcpy(&na, d.data() + a, sizeof na);
        if (na.nla_len < NLA_HDRLEN || a + na.nla_len > end) break;
        if ((na.nla_type & NLA_TYPE_MASK) == NFULA_PAYLOAD)
          if (auto p = parse_ip_header(d.substr(a + NLA_HDRLEN, na.nla_len - NLA_HDRLEN)))
            out.push_back(*p);
        a += NLA_ALIGN(na.nla_len);
      }
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return out;
}

std::string nflog_bind_messages(uint16_t group, uint32_t copy_range, uint32_t seq) {
  Builder b;
  size_t m = b.begin_msg((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK,
                         AF_UNSPEC, group, seq);
  nfulnl_msg_config_cmd cmd{NFULNL_CFG_CMD_BIND};
  b.attr(NFULA_CFG_CMD, &cmd, sizeof cmd);
  nfulnl_msg_config_mode mode{};
  mode.copy_range = htonl(copy_range);
  mode.copy_mode = NFULNL_COPY_PACKET;
  b.attr(NFULA_CFG_MODE, &mode, sizeof mode);
  // Each packet is sent at once (the default waits for 100 of them or a second).
  b.be32(NFULA_CFG_QTHRESH, 1);
  b.end_msg(m);
  return b.buf;
}

}  // namespace sb::net::nfnl
