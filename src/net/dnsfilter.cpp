// --allow-net's DNS filter, see dnsfilter.hpp.
#include "net/dnsfilter.hpp"

#include <arpa/inet.h>
#include <endian.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/egress.hpp"
#include "util/error.hpp"
#include "util/io.hpp"
#include "util/log.hpp"

namespace sb::net {

std::vector<std::string> dns_sets_for(const std::vector<NetAllow>& rules, std::string_view name,
                                      bool v6) {
  std::vector<std::string> out;
  const char* fam = v6 ? "6" : "4";
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].kind != NetAllow::Kind::Name || !dns::name_allowed({rules[i]}, name)) continue;
    std::string set = rules[i].any_port() ? std::string("names") + fam
                                          : "name" + std::to_string(i) + "_" + fam;
    if (std::find(out.begin(), out.end(), set) == out.end()) out.push_back(set);
  }
  return out;
}

uint64_t dns_timeout_ms(uint32_t ttl) {
  return static_cast<uint64_t>(std::clamp<uint32_t>(ttl, kMinDnsTtl, 86400)) * 1000;
}

namespace {

// Appends netlink structures to a buffer, 4-byte aligned.
struct NlBuilder {
  std::string buf;
  void pad() { buf.resize((buf.size() + 3) & ~size_t{3}, '\0'); }
  size_t begin_msg(uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id, uint32_t seq) {
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
  void end_msg(size_t at) {
    pad();
    uint32_t len = static_cast<uint32_t>(buf.size() - at);
    std::memcpy(buf.data() + at, &len, sizeof len);  // nlmsg_len comes first
  }
  void attr(uint16_t type, const void* data, size_t len) {
    pad();
    nlattr a{static_cast<uint16_t>(NLA_HDRLEN + len), type};
    buf.append(reinterpret_cast<const char*>(&a), sizeof a);
    buf.append(static_cast<const char*>(data), len);
    pad();
  }
  void str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  size_t nest() {
    pad();
    size_t at = buf.size();
    buf.append(NLA_HDRLEN, '\0');
    return at;
  }
  void end_nest(size_t at, uint16_t type) {
    nlattr a{static_cast<uint16_t>(buf.size() - at), static_cast<uint16_t>(type | NLA_F_NESTED)};
    std::memcpy(buf.data() + at, &a, sizeof a);
  }
};

}  // namespace

std::string nft_add_element_batch(const std::string& set, const uint8_t* addr, size_t len,
                                  uint64_t timeout_ms, uint32_t seq) {
  NlBuilder b;
  size_t m = b.begin_msg(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, seq);
  b.end_msg(m);
  m = b.begin_msg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM,
                  NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK, NFPROTO_INET, 0, seq + 1);
  b.str(NFTA_SET_ELEM_LIST_TABLE, kEgressTable);
  b.str(NFTA_SET_ELEM_LIST_SET, set);
  size_t elems = b.nest();
  size_t elem = b.nest();
  size_t key = b.nest();
  b.attr(NFTA_DATA_VALUE, addr, len);
  b.end_nest(key, NFTA_SET_ELEM_KEY);
  uint64_t t = htobe64(timeout_ms);
  b.attr(NFTA_SET_ELEM_TIMEOUT, &t, sizeof t);
  b.end_nest(elem, NFTA_LIST_ELEM);
  b.end_nest(elems, NFTA_SET_ELEM_LIST_ELEMENTS);
  b.end_msg(m);
  m = b.begin_msg(NFNL_MSG_BATCH_END, NLM_F_REQUEST, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, seq + 2);
  b.end_msg(m);
  return b.buf;
}

std::optional<sockaddr_storage> first_nameserver(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.rfind("nameserver", 0) != 0) continue;
    size_t a = line.find_first_not_of(" \t", 10);
    if (a == 10 || a == std::string::npos) continue;  // "nameserverX" or nothing after
    std::string addr = line.substr(a, line.find_first_of(" \t#;%", a) - a);
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (::inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(53);
      return ss;
    }
    if (::inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(53);
      return ss;
    }
  }
  return std::nullopt;
}

DnsFilter::DnsFilter(std::vector<NetAllow> rules, UniqueFd sandbox_sock, UniqueFd nft_sock,
                     const sockaddr_storage& upstream)
    : rules_(std::move(rules)), sandbox_(std::move(sandbox_sock)), nft_(std::move(nft_sock)) {
  upstream_.reset(::socket(upstream.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!upstream_) throw_errno("--allow-net: can't open a socket to the host's resolver");
  const socklen_t len = upstream.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  // Connected: only datagrams from the resolver's address are read back.
  if (::connect(upstream_.get(), reinterpret_cast<const sockaddr*>(&upstream), len) < 0)
    throw_errno("--allow-net: can't reach the host's resolver");
  ::fcntl(sandbox_.get(), F_SETFL, ::fcntl(sandbox_.get(), F_GETFL) | O_NONBLOCK);
  timeval tv{1, 0};
  ::setsockopt(nft_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::vector<int> DnsFilter::fds() const { return {sandbox_.get(), upstream_.get()}; }

void DnsFilter::step() {
  on_query();
  on_answer();
  // Queries the resolver never answered are forgotten after 10 s (the client has retried
  // or given up by then), so that the table stays small.
  auto now = std::chrono::steady_clock::now();
  for (auto it = pending_.begin(); it != pending_.end();)
    it = now - it->second.at > std::chrono::seconds(10) ? pending_.erase(it) : std::next(it);
}

void DnsFilter::on_query() {
  char buf[65536];
  while (true) {
    Pending p{};
    p.client_len = sizeof p.client;
    ssize_t n = ::recvfrom(sandbox_.get(), buf, sizeof buf, 0,
                           reinterpret_cast<sockaddr*>(&p.client), &p.client_len);
    if (n < 0) return;
    std::string_view msg(buf, static_cast<size_t>(n));
    auto q = dns::parse_query(msg);
    if (!q) continue;  // not a query we understand: no answer
    if (!dns::name_allowed(rules_, q->name)) {
      // Audit hook (--audit-fd): a refused name.
      if (on_refused) on_refused(q->name);
      log::step("--allow-net: refused the name " + q->name);
      std::string r = dns::refusal(msg, *q, dns::kRcodeNxdomain);
      ::sendto(sandbox_.get(), r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&p.client),
               p.client_len);
      continue;
    }
    if (pending_.size() >= 256) continue;  // bounded: a flood is not remembered
    // Our own id upstream: answers are matched to the query we sent, not the client's id.
    // Random: another local process that guesses neither it nor our port cannot inject an
    // answer (and with it an allowed address).
    uint16_t id = 0;
    do {
      if (::getrandom(&id, sizeof id, 0) != sizeof id) id = next_id_++;
    } while (pending_.count(id));
    std::string fwd(msg);
    fwd[0] = static_cast<char>(id >> 8);
    fwd[1] = static_cast<char>(id & 0xff);
    p.name = q->name;
    p.at = std::chrono::steady_clock::now();
    p.client_id = q->id;  // goes back in the client's answer
    pending_[id] = p;
    ::send(upstream_.get(), fwd.data(), fwd.size(), 0);
  }
}

bool DnsFilter::add_addresses(const dns::Response& r) {
  for (const dns::Address& a : r.addresses) {
    for (const std::string& set : dns_sets_for(rules_, r.question.name, a.v6)) {
      const uint32_t seq = seq_;
      seq_ += 3;
      std::string batch = nft_add_element_batch(set, a.addr.data(), a.v6 ? 16 : 4,
                                                dns_timeout_ms(a.ttl), seq);
      sockaddr_nl kernel{};
      kernel.nl_family = AF_NETLINK;
      if (::sendto(nft_.get(), batch.data(), batch.size(), 0,
                   reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
        log::warning("--allow-net: can't add an address of " + r.question.name +
                     " to the egress rules: " + std::strerror(errno));
        return false;
      }
      // The acknowledgement (or error) of the NEWSETELEM message (sequence seq + 1); an
      // error about the batch itself also ends the wait. Bounded by SO_RCVTIMEO: the
      // supervisor never hangs on a reply that does not come.
      int err = ETIMEDOUT;
      alignas(nlmsghdr) char ack[8192];
      for (bool done = false; !done;) {
        ssize_t n = ::recv(nft_.get(), ack, sizeof ack, 0);
        if (n < 0) break;
        for (auto* h = reinterpret_cast<nlmsghdr*>(ack); NLMSG_OK(h, static_cast<unsigned>(n));
             h = NLMSG_NEXT(h, n)) {
          if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
            continue;
          if (h->nlmsg_seq < seq || h->nlmsg_seq > seq + 2) continue;  // an older batch's
          err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
          done = true;
          break;
        }
      }
      if (err != 0 && err != EEXIST) {
        log::warning("--allow-net: the kernel refused an address of " + r.question.name +
                     " for the egress rules: " + std::strerror(err));
        return false;
      }
    }
  }
  return true;
}

void DnsFilter::on_answer() {
  char buf[65536];
  while (true) {
    ssize_t n = ::recv(upstream_.get(), buf, sizeof buf, 0);
    if (n < 0) return;
    std::string msg(buf, static_cast<size_t>(n));
    auto r = dns::parse_response(msg);
    if (!r) continue;
    auto it = pending_.find(r->question.id);
    if (it == pending_.end() || it->second.name != r->question.name) continue;
    Pending p = it->second;
    const uint16_t client_id = p.client_id;
    pending_.erase(it);
    // The addresses are allowed before the answer arrives: the connect that follows it
    // must find them. An answer whose addresses could not be added is not given.
    if (!add_addresses(*r)) continue;
    msg[0] = static_cast<char>(client_id >> 8);
    msg[1] = static_cast<char>(client_id & 0xff);
    ::sendto(sandbox_.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&p.client),
             p.client_len);
  }
}

std::unique_ptr<DnsFilter> start_dns_filter(const std::vector<NetAllow>& rules,
                                            UniqueFd sandbox_sock, UniqueFd nft_sock) {
  sockaddr_storage upstream{};
  auto content = io::read_file("/etc/resolv.conf");
  auto ns = content ? first_nameserver(*content) : std::nullopt;
  if (ns) {
    upstream = *ns;
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&upstream);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(53);
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  return std::make_unique<DnsFilter>(rules, std::move(sandbox_sock), std::move(nft_sock), upstream);
}

std::pair<UniqueFd, UniqueFd> open_dns_filter_sockets() {
  UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!udp) throw_errno("--allow-net: can't open the sandbox's DNS socket");
  int one = 1;
  // lo may not be up yet: bind its address anyway.
  if (::setsockopt(udp.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one) < 0)
    throw_errno("--allow-net: setsockopt(IP_FREEBIND)");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
    throw_errno("--allow-net: can't bind the sandbox's DNS socket to 127.0.0.1:53");
  UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!nl) throw_errno("--allow-net: can't open a netfilter netlink socket");
  return {std::move(udp), std::move(nl)};
}

}  // namespace sb::net
