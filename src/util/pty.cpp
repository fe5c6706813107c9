#include "util/pty.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"
#include "util/fd.hpp"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace sb::pty {
namespace {
constexpr long kDevptsMagic = 0x1cd1;  // DEVPTS_SUPER_MAGIC

// The slave of `master` without a path lookup when the kernel can (TIOCGPTPEER, Linux
// 4.13): nothing can swap what /dev/pts/N names between unlocking and opening it.
UniqueFd open_slave(int master) {
  UniqueFd slave(::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (slave || (errno != EINVAL && errno != ENOTTY)) return slave;
  unsigned n = 0;
  if (::ioctl(master, TIOCGPTN, &n) < 0) return slave;
  slave.reset(::open(("/dev/pts/" + std::to_string(n)).c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  return slave;
}
}  // namespace

int connect_console_socket(const std::string& socket_path) {
  const std::string what = "--console-socket " + socket_path;
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno(what + ": can't create a socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = socket_path;
  UniqueFd dir;
  if (name.size() >= sizeof addr.sun_path) {
    // Too long for sun_path: connect through the directory's descriptor instead.
    size_t slash = name.rfind('/');
    std::string d = slash == std::string::npos ? "." : slash == 0 ? "/" : name.substr(0, slash);
    dir.reset(::open(d.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno(what + ": can't open " + d);
    name = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + name.substr(slash + 1);
    if (name.size() >= sizeof addr.sun_path) throw Error(what + ": the name is too long");
  }
  std::memcpy(addr.sun_path, name.c_str(), name.size() + 1);
  while (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    if (errno != EINTR) throw_errno(what + ": can't connect");
  return sock.release();
}

void send_pty_master(int sock_fd, unsigned rows, unsigned cols,
                     const std::function<void(int slave)>& before_send) {
  UniqueFd sock(sock_fd);
  // The container's own ptmx: /dev/ptmx here is its /dev's link to pts/ptmx, the devpts
  // instance sandbox mounted for it (never the host's, which the container cannot see).
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) throw_errno("process.terminal: can't open /dev/ptmx");
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0)
    throw_errno("process.terminal: can't unlock the pty");
  UniqueFd slave = open_slave(master.get());
  if (!slave) throw_errno("process.terminal: can't open the pty's slave");
  // Security: fail closed unless the slave lives on the devpts mounted at /dev/pts (the
  // container's instance): a /dev/ptmx that led elsewhere would hand the engine, and the
  // command, a terminal of another instance.
  struct statfs sfs{};
  struct stat st{}, pts{};
  if (::fstatfs(slave.get(), &sfs) < 0 || sfs.f_type != kDevptsMagic ||
      ::fstat(slave.get(), &st) < 0 || ::stat("/dev/pts", &pts) < 0 || st.st_dev != pts.st_dev)
    throw Error("process.terminal: /dev/ptmx is not the pty multiplexer of the devpts on "
                "/dev/pts");
  if (rows && cols) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    if (::ioctl(slave.get(), TIOCSWINSZ, &ws) < 0)
      throw_errno("process.consoleSize: can't set the window size");
  }

  if (before_send) before_send(slave.get());

  // One message: the name as payload (conmon reads at least one byte), the master as
  // SCM_RIGHTS.
  static const char kName[] = "/dev/ptmx";
  iovec iov{const_cast<char*>(kName), sizeof kName - 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int mfd = master.get();
  std::memcpy(CMSG_DATA(c), &mfd, sizeof mfd);
  while (::sendmsg(sock.get(), &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) throw_errno("--console-socket: can't send the pty's master");
  // Neither reaches the command: it holds only the slave.
  master.reset();
  sock.reset();

  // The slave becomes the controlling terminal: a new session (unless this process
  // already leads one, without a terminal), then TIOCSCTTY.
  if (::setsid() < 0 && !(errno == EPERM && ::getsid(0) == ::getpid()))
    throw_errno("process.terminal: setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0)
    throw_errno("process.terminal: can't make the pty the controlling terminal");
  for (int i = 0; i <= 2; ++i)
    if (::dup2(slave.get(), i) < 0) throw_errno("process.terminal: dup2");
  // dup2 leaves 0-2 without FD_CLOEXEC; the original (CLOEXEC, above 2) closes here.
  if (slave.get() <= 2) slave.release();
}

int receive_fd(int sock) {
  char buf[256];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0)
    if (errno != EINTR) throw_errno("console socket: recvmsg");
  std::vector<UniqueFd> fds = received_fds(msg);  // any beyond the first close here
  if (fds.empty()) throw Error("console socket: no descriptor received");
  return fds.front().release();
}

}  // namespace sb::pty
