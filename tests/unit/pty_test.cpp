// util/pty: the console socket's two ends (connect, send the pty master, receive it), with
// the sending side in a forked child (it becomes a session leader with the pty as its
// controlling terminal, which the test process must not).
#include "util/pty.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "temp_dir.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace sb::pty {
namespace {

// A listening unix socket at `path` (bound through its directory when the name is long).
UniqueFd listen_at(const std::string& dir, const std::string& name) {
  UniqueFd d(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string p = "/proc/self/fd/" + std::to_string(d.get()) + "/" + name;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", p.c_str());
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || ::listen(s.get(), 1) < 0)
    return UniqueFd();
  return s;
}

TEST(Pty, ConnectNamesTheSocketItCannotReach) {
  test::TempDir dir;
  try {
    ::close(connect_console_socket(dir.path() + "/missing.sock"));
    ADD_FAILURE() << "connected to nothing";
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("--console-socket " + dir.path() + "/missing.sock"), std::string::npos) << what;
    EXPECT_NE(what.find("No such file"), std::string::npos) << what;
  }
}

TEST(Pty, ConnectsBeyondSunPathAndIsCloexec) {
  test::TempDir dir;
  // A directory whose path alone is longer than sun_path (108 bytes).
  const std::string deep = dir.path() + "/" + std::string(120, 'd');
  ASSERT_EQ(::mkdir(deep.c_str(), 0700), 0);
  UniqueFd srv = listen_at(deep, "console.sock");
  ASSERT_TRUE(srv);
  UniqueFd c(connect_console_socket(deep + "/console.sock"));
  ASSERT_TRUE(c);
  EXPECT_EQ(::fcntl(c.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  UniqueFd peer(::accept4(srv.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(peer);
}

TEST(Pty, SendsTheMasterAndTheSlaveBecomesStdioAndControllingTerminal) {
  struct statfs fs{};
  // Control: the host's /dev/pts must be a devpts for /dev/ptmx to give one.
  if (::statfs("/dev/pts", &fs) < 0 || fs.f_type != 0x1cd1)
    GTEST_SKIP() << "/dev/pts is not a devpts here";
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd mine(sv[0]);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      send_pty_master(sv[1], 33, 77);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      ::_exit(2);
    }
    // The socket is closed, the slave is 0-2 and our controlling terminal.
    bool sock_closed = ::fcntl(sv[1], F_GETFD) < 0;
    winsize ws{};
    ::ioctl(0, TIOCGWINSZ, &ws);
    std::string msg = std::string(sock_closed ? "closed" : "open") + " " +
                      (::isatty(0) && ::isatty(1) && ::isatty(2) ? "tty" : "notty") + " " +
                      std::to_string(ws.ws_row) + "x" + std::to_string(ws.ws_col) + " " +
                      (::tcgetsid(0) == ::getpid() ? "ctty" : "noctty") + "\n";
    (void)!::write(1, msg.data(), msg.size());
    ::_exit(0);
  }
  ::close(sv[1]);
  UniqueFd master(receive_fd(mine.get()));
  ASSERT_TRUE(master);
  EXPECT_EQ(::fcntl(master.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 0);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(master.get(), buf, sizeof buf)) > 0;) out.append(buf, n);
  EXPECT_EQ(out, "closed tty 33x77 ctty\r\n");
  // Nothing more on the socket: one message.
  char c;
  EXPECT_EQ(::recv(mine.get(), &c, 1, MSG_DONTWAIT), 0);
}

TEST(Pty, ReceiveWithoutADescriptorIsAnError) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  ASSERT_EQ(::write(b.get(), "x", 1), 1);
  EXPECT_THROW(receive_fd(a.get()), Error);
}

}  // namespace
}  // namespace sb::pty
