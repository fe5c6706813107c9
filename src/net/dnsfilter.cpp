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
#include "net/nfnl.hpp"
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

std::string nft_add_element_batch(const std::string& set, const uint8_t* addr, size_t len,
                                  uint64_t timeout_ms, uint32_t seq) {
  nfnl::Builder b;
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
  b.be64(NFTA_SET_ELEM_TIMEOUT, timeout_ms);
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

// One DNS-over-TCP connection from the sandbox: it sends a query (2-byte length, then the
// message), the filter answers it (a refusal at once, or the host's resolver's answer over
// a TCP connection of its own), then the next. One query at a time: while one is being
// answered nothing more is read from it, so each buffer holds at most one message.
struct DnsFilter::TcpClient {
  enum class State { Reading, Upstream, Writing };
  UniqueFd fd;
  State state = State::Reading;
  std::string in;      // what arrived of the query, length prefix included
  std::string out;     // the answer being written, length prefix included
  size_t out_at = 0;
  UniqueFd up;         // to the host's resolver, while State::Upstream
  std::string up_out, up_in;
  size_t up_out_at = 0;
  dns::Question asked;
  std::string query;  // as the client sent it (for a SERVFAIL)
  int up_tries = 0;   // connections to the host's resolver for this query
  uint16_t sent_id = 0;
  std::chrono::steady_clock::time_point deadline, last_active;
};

namespace {

constexpr size_t kMaxPending = 256;
// Messages handled per step and socket: a client that sends without pause cannot keep the
// supervisor's loop (signals, --timeout, the other sockets) waiting.
constexpr int kBatch = 64;

// Reads what is there without blocking, up to `want` bytes in all. False on EOF or error.
bool read_some(int fd, std::string& buf, size_t want) {
  while (buf.size() < want) {
    char tmp[4096];
    ssize_t n = ::recv(fd, tmp, std::min(sizeof tmp, want - buf.size()), MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    buf.append(tmp, static_cast<size_t>(n));
  }
  return true;
}

// Writes what the socket takes without blocking. False on error.
bool write_some(int fd, const std::string& buf, size_t& at) {
  while (at < buf.size()) {
    ssize_t n = ::send(fd, buf.data() + at, buf.size() - at, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    at += static_cast<size_t>(n);
  }
  return true;
}

// The length of a TCP DNS message whose 2-byte prefix is in `buf`.
size_t tcp_length(const std::string& buf) {
  return (static_cast<size_t>(static_cast<uint8_t>(buf[0])) << 8) | static_cast<uint8_t>(buf[1]);
}

std::string with_length(const std::string& msg) {
  std::string out;
  out += static_cast<char>(msg.size() >> 8);
  out += static_cast<char>(msg.size() & 0xff);
  return out + msg;
}

socklen_t addr_len(const sockaddr_storage& a) {
  return a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

}  // namespace

DnsFilter::DnsFilter(std::vector<NetAllow> rules, UniqueFd sandbox_sock, UniqueFd tcp_listener,
                     UniqueFd nft_sock, const sockaddr_storage& upstream)
    : rules_(std::move(rules)),
      sandbox_(std::move(sandbox_sock)),
      tcp_listener_(std::move(tcp_listener)),
      nft_(std::move(nft_sock)),
      upstream_addr_(upstream) {
  upstream_.reset(::socket(upstream.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!upstream_) throw_errno("--allow-net: can't open a socket to the host's resolver");
  // Connected: only datagrams from the resolver's address are read back.
  if (::connect(upstream_.get(), reinterpret_cast<const sockaddr*>(&upstream), addr_len(upstream)) < 0)
    throw_errno("--allow-net: can't reach the host's resolver");
  // Security: the command's sockets never block the supervisor.
  ::fcntl(sandbox_.get(), F_SETFL, ::fcntl(sandbox_.get(), F_GETFL) | O_NONBLOCK);
  if (tcp_listener_)
    ::fcntl(tcp_listener_.get(), F_SETFL, ::fcntl(tcp_listener_.get(), F_GETFL) | O_NONBLOCK);
  timeval tv{1, 0};
  ::setsockopt(nft_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

DnsFilter::~DnsFilter() = default;

std::vector<pollfd> DnsFilter::poll_fds() const {
  std::vector<pollfd> fds{{sandbox_.get(), POLLIN, 0}, {upstream_.get(), POLLIN, 0}};
  if (tcp_listener_ && !accept_paused_until_) fds.push_back({tcp_listener_.get(), POLLIN, 0});
  for (const auto& c : tcp_) {
    switch (c->state) {
      case TcpClient::State::Reading: fds.push_back({c->fd.get(), POLLIN, 0}); break;
      case TcpClient::State::Writing: fds.push_back({c->fd.get(), POLLOUT, 0}); break;
      case TcpClient::State::Upstream:
        fds.push_back({c->up.get(),
                       static_cast<short>(c->up_out_at < c->up_out.size() ? POLLOUT : POLLIN), 0});
        break;
    }
  }
  return fds;
}

int DnsFilter::timeout_ms() const {
  if (tcp_.empty() && !accept_paused_until_) return -1;
  auto next = accept_paused_until_ ? *accept_paused_until_ : tcp_.front()->deadline;
  for (const auto& c : tcp_) next = std::min(next, c->deadline);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - std::chrono::steady_clock::now()).count();
  return static_cast<int>(std::clamp<long long>(ms + 1, 0, tcp_idle_ms));
}

void DnsFilter::step() {
  on_query();
  on_answer();
  on_tcp_accept();
  const auto now = std::chrono::steady_clock::now();
  for (auto it = tcp_.begin(); it != tcp_.end();)
    it = on_tcp(**it, now) ? std::next(it) : tcp_.erase(it);
  // Queries the resolver never answered are forgotten after 10 s (the client has retried
  // or given up by then), so that the table stays small.
  for (auto it = pending_.begin(); it != pending_.end();)
    it = now - it->second.at > std::chrono::seconds(10) ? pending_.erase(it) : std::next(it);
}

uint16_t DnsFilter::new_id() const {
  // Our own id upstream: answers are matched to the query we sent, not the client's id.
  // Random: another local process that guesses neither it nor our port cannot inject an
  // answer (and with it an allowed address).
  uint16_t id = 0;
  for (int i = 0; i < 16; ++i) {
    if (::getrandom(&id, sizeof id, 0) != sizeof id) break;
    if (!pending_.count(id)) return id;
  }
  while (pending_.count(id)) ++id;  // pending_ holds at most kMaxPending ids
  return id;
}

DnsFilter::Act DnsFilter::judge(std::string_view msg, dns::Question& q, std::string& answer) {
  auto parsed = dns::parse_query(msg);
  if (!parsed) return Act::Drop;  // not a query we understand: no answer
  q = *parsed;
  const dns::Verdict v = dns::verdict(rules_, q);
  if (v == dns::Verdict::Forward) return Act::Forward;
  // Audit hook (--audit-fd): a refused name.
  if (on_refused) on_refused(q, dns::rcode_of(v));
  log::step(std::string("--allow-net: refused the name ") + q.name +
            (v == dns::Verdict::Refused ? " (REFUSED)" : " (NXDOMAIN)"));
  answer = dns::refusal(msg, q, dns::rcode_of(v));
  return Act::Answer;
}

void DnsFilter::on_query() {
  char buf[65536];
  for (int i = 0; i < kBatch; ++i) {
    Pending p{};
    p.client_len = sizeof p.client;
    ssize_t n = ::recvfrom(sandbox_.get(), buf, sizeof buf, 0,
                           reinterpret_cast<sockaddr*>(&p.client), &p.client_len);
    if (n < 0) return;
    std::string_view msg(buf, static_cast<size_t>(n));
    std::string answer;
    const Act act = judge(msg, p.asked, answer);
    if (act == Act::Answer)
      ::sendto(sandbox_.get(), answer.data(), answer.size(), 0,
               reinterpret_cast<sockaddr*>(&p.client), p.client_len);
    if (act != Act::Forward) continue;
    if (pending_.size() >= kMaxPending) continue;  // bounded: a flood is not remembered
    const uint16_t id = new_id();
    // Security: a clean copy (header, question, bare OPT), never the client's bytes as sent.
    std::string fwd = dns::forward_query(msg, p.asked, id);
    p.at = std::chrono::steady_clock::now();
    pending_[id] = p;
    ::send(upstream_.get(), fwd.data(), fwd.size(), 0);
  }
}

void DnsFilter::on_tcp_accept() {
  if (!tcp_listener_) return;
  const auto now = std::chrono::steady_clock::now();
  if (accept_paused_until_ && now < *accept_paused_until_) return;
  accept_paused_until_.reset();
  for (int i = 0; i < kBatch; ++i) {
    UniqueFd fd(::accept4(tcp_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        accept_paused_until_ = now + std::chrono::milliseconds(100);
      return;
    }
    // Bounded: at the limit, the connection idle longest makes room (a client that opens
    // many and sends nothing only ever loses its own).
    if (tcp_.size() >= kMaxDnsTcpClients) {
      auto oldest = std::min_element(tcp_.begin(), tcp_.end(), [](const auto& x, const auto& y) {
        return x->last_active < y->last_active;
      });
      tcp_.erase(oldest);
    }
    auto c = std::make_unique<TcpClient>();
    c->fd = std::move(fd);
    c->last_active = std::chrono::steady_clock::now();
    c->deadline = c->last_active + std::chrono::milliseconds(tcp_idle_ms);
    tcp_.push_back(std::move(c));
  }
}

bool DnsFilter::on_tcp(TcpClient& c, std::chrono::steady_clock::time_point now) {
  using State = TcpClient::State;
  if (now >= c.deadline) return false;  // idle, slow, or its resolver never answered
  if (c.state == State::Reading) {
    const size_t before = c.in.size();
    bool open = read_some(c.fd.get(), c.in, c.in.size() < 2 ? 2 : 2 + tcp_length(c.in));
    if (c.in.size() >= 2 && open) open = read_some(c.fd.get(), c.in, 2 + tcp_length(c.in));
    if (c.in.size() != before) c.last_active = now;
    if (!open) return false;
    if (c.in.size() < 2 || c.in.size() < 2 + tcp_length(c.in)) return true;
    const std::string msg = c.in.substr(2);
    c.in.clear();
    std::string answer;
    switch (judge(msg, c.asked, answer)) {
      case Act::Drop: return false;  // RFC 7766: a message we cannot parse ends the connection
      case Act::Answer:
        c.out = with_length(answer);
        c.out_at = 0;
        c.state = State::Writing;
        break;
      case Act::Forward: {
        c.sent_id = new_id();
        c.up_out = with_length(dns::forward_query(msg, c.asked, c.sent_id));
        c.up_out_at = 0;
        c.query = msg;
        c.up_tries = 0;
        c.state = State::Upstream;
        c.deadline = now + std::chrono::milliseconds(kDnsUpstreamTcpMs);
        break;
      }
    }
  }
  if (c.state == State::Upstream) {
    // A connection refused or reset before the whole answer came is tried once more (a
    // resolver restarting, or one of several on the port closing); then SERVFAIL.
    while (true) {
      bool ok = true;
      if (!c.up) {
        ++c.up_tries;
        c.up_out_at = 0;
        c.up_in.clear();
        c.up.reset(::socket(upstream_addr_.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        ok = c.up && (::connect(c.up.get(), reinterpret_cast<const sockaddr*>(&upstream_addr_),
                                addr_len(upstream_addr_)) == 0 ||
                      errno == EINPROGRESS);
      }
      ok = ok && write_some(c.up.get(), c.up_out, c.up_out_at);
      if (ok && c.up_out_at < c.up_out.size()) return true;
      ok = ok && read_some(c.up.get(), c.up_in, c.up_in.size() < 2 ? 2 : 2 + tcp_length(c.up_in));
      ok = ok && (c.up_in.size() < 2 || read_some(c.up.get(), c.up_in, 2 + tcp_length(c.up_in)));
      if (ok) break;
      c.up.reset();
      if (c.up_tries < 2) continue;
      c.out = with_length(dns::refusal(c.query, c.asked, dns::kRcodeServfail));
      c.out_at = 0;
      c.state = State::Writing;
      break;
    }
  }
  if (c.state == State::Upstream) {
    if (c.up_in.size() < 2 || c.up_in.size() < 2 + tcp_length(c.up_in)) return true;
    std::string msg = c.up_in.substr(2);
    c.up.reset();
    c.up_in.clear();
    auto r = dns::parse_response(msg);
    // The same id, opcode, name, type and class as sent, on our own connection.
    if (!r || !dns::answers(*r, c.asked, c.sent_id) || !add_addresses(*r)) return false;
    msg[0] = static_cast<char>(c.asked.id >> 8);
    msg[1] = static_cast<char>(c.asked.id & 0xff);
    c.out = with_length(msg);
    c.out_at = 0;
    c.state = State::Writing;
  }
  if (c.state == State::Writing) {
    if (!write_some(c.fd.get(), c.out, c.out_at)) return false;
    if (c.out_at < c.out.size()) return true;
    c.out.clear();
    c.state = State::Reading;
    c.last_active = now;
    c.deadline = now + std::chrono::milliseconds(tcp_idle_ms);
  }
  return true;
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
  for (int i = 0; i < kBatch; ++i) {
    ssize_t n = ::recv(upstream_.get(), buf, sizeof buf, 0);
    if (n < 0) return;
    std::string msg(buf, static_cast<size_t>(n));
    auto r = dns::parse_response(msg);
    if (!r) continue;
    auto it = pending_.find(r->question.id);
    // The same id, opcode, name, type and class as sent (and, connected, the same source).
    if (it == pending_.end() || !dns::answers(*r, it->second.asked, it->first)) continue;
    Pending p = it->second;
    const uint16_t client_id = p.asked.id;  // goes back in the client's answer
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
                                            DnsFilterSockets sockets) {
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
  return std::make_unique<DnsFilter>(rules, std::move(sockets.udp), std::move(sockets.tcp),
                                     std::move(sockets.netlink), upstream);
}

DnsFilterSockets open_dns_filter_sockets() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  DnsFilterSockets s;
  s.udp.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.udp) throw_errno("--allow-net: can't open the sandbox's DNS socket");
  // lo may not be up yet: bind its address anyway.
  if (::setsockopt(s.udp.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one) < 0)
    throw_errno("--allow-net: setsockopt(IP_FREEBIND)");
  if (::bind(s.udp.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
    throw_errno("--allow-net: can't bind the sandbox's DNS socket to 127.0.0.1:53");
  // DNS over TCP, for the answers too large for a datagram.
  s.tcp.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.tcp) throw_errno("--allow-net: can't open the sandbox's DNS socket (TCP)");
  if (::setsockopt(s.tcp.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one) < 0)
    throw_errno("--allow-net: setsockopt(IP_FREEBIND)");
  if (::bind(s.tcp.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
    throw_errno("--allow-net: can't bind the sandbox's DNS socket to 127.0.0.1:53 (TCP)");
  if (::listen(s.tcp.get(), static_cast<int>(kMaxDnsTcpClients)) < 0)
    throw_errno("--allow-net: can't listen on the sandbox's DNS socket (TCP)");
  s.netlink.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!s.netlink) throw_errno("--allow-net: can't open a netfilter netlink socket");
  return s;
}

}  // namespace sb::net
