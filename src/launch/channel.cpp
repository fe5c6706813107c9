#include "launch/channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

namespace sb::launch {

constexpr size_t kMaxFds = 64;
constexpr size_t kMaxText = 8192;

std::pair<UniqueFd, UniqueFd> make_channel() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    throw_errno("Can't create the setup channel");
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

bool send_message(int fd, MsgType type, const std::string& text, const std::vector<int>& fds) {
  std::string payload(1, static_cast<char>(type));
  payload += text.substr(0, kMaxText);
  size_t sent = 0;
  do {  // more descriptors than fit one message go in several
    size_t n = std::min(fds.size() - sent, kMaxFds);
    iovec iov{payload.data(), payload.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * kMaxFds)];
    if (n > 0) {
      msg.msg_control = ctrl;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * n);
      std::memcpy(CMSG_DATA(c), fds.data() + sent, sizeof(int) * n);
    }
    ssize_t r;
    while ((r = ::sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    // A caller's seccomp program loaded before a later step failed may deny sendmsg (an
    // allowlist of plain I/O): write(2) sends the same record on a SOCK_SEQPACKET socket, so
    // the error still reaches the supervisor instead of a silent exit 1. Not when the peer
    // is gone (write would raise SIGPIPE), nor with descriptors, which only sendmsg carries.
    if (r < 0 && n == 0 && errno != EPIPE && errno != ECONNRESET && errno != EAGAIN) {
      while ((r = ::write(fd, payload.data(), payload.size())) < 0 && errno == EINTR) {
      }
    }
    if (r != static_cast<ssize_t>(payload.size())) return false;
    sent += n;
  } while (sent < fds.size());
  return true;  // a text over kMaxText is cut, not lost
}

std::optional<Message> recv_message(int fd, bool nonblocking) {
  char buf[kMaxText + 2];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * kMaxFds)];
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  ssize_t n;
  do {
    n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | (nonblocking ? MSG_DONTWAIT : 0));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == ECONNRESET || (nonblocking && errno == EAGAIN)) return std::nullopt;
    throw_errno("Can't read the setup channel");
  }
  if (n == 0) return std::nullopt;
  // Every descriptor received is owned at once (O_CLOEXEC already): closed again when the
  // message is refused.
  std::vector<UniqueFd> fds = received_fds(msg);
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
    throw Error("A message on the setup channel arrived cut short");
  Message m;
  m.type = static_cast<MsgType>(buf[0]);
  m.text.assign(buf + 1, static_cast<size_t>(n) - 1);
  m.fds = std::move(fds);
  return m;
}

}  // namespace sb::launch
