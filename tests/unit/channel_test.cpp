// Unit tests for launch/channel: the SOCK_SEQPACKET handshake between supervisor and child,
// on a socketpair in this process (messages, descriptors, EOF, a message cut short).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch/channel.hpp"
#include "util/error.hpp"

namespace sb::launch {
namespace {

ino_t inode_of(int fd) {
  struct stat st{};
  return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

TEST(Channel, MessageWithTextAndDescriptors) {
  auto [parent, child] = make_channel();
  EXPECT_TRUE(::fcntl(parent.get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(::fcntl(child.get(), F_GETFD) & FD_CLOEXEC);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd r(p[0]), w(p[1]);
  ASSERT_TRUE(send_message(child.get(), MsgType::LockFds, std::string("a\0b", 3), {r.get(), w.get()}));
  auto m = recv_message(parent.get());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, MsgType::LockFds);
  EXPECT_EQ(m->text, std::string("a\0b", 3));
  ASSERT_EQ(m->fds.size(), 2u);
  EXPECT_EQ(inode_of(m->fds[0].get()), inode_of(r.get()));
  EXPECT_EQ(inode_of(m->fds[1].get()), inode_of(w.get()));
  EXPECT_TRUE(::fcntl(m->fds[0].get(), F_GETFD) & FD_CLOEXEC) << "received O_CLOEXEC";
}

TEST(Channel, NothingQueuedAndEof) {
  auto [parent, child] = make_channel();
  EXPECT_FALSE(recv_message(parent.get(), /*nonblocking=*/true)) << "nothing queued";
  ASSERT_TRUE(send_message(child.get(), MsgType::Ready, "pid=1"));
  child.reset();
  auto m = recv_message(parent.get());
  ASSERT_TRUE(m) << "queued before the close: still delivered";
  EXPECT_EQ(m->type, MsgType::Ready);
  EXPECT_EQ(m->text, "pid=1");
  EXPECT_FALSE(recv_message(parent.get())) << "EOF";
}

TEST(Channel, LongTextIsCutNotLost) {
  auto [parent, child] = make_channel();
  ASSERT_TRUE(send_message(child.get(), MsgType::Error, std::string(100000, 'x')));
  auto m = recv_message(parent.get());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, MsgType::Error);
  EXPECT_EQ(m->text, std::string(8192, 'x'));
}

TEST(Channel, ManyDescriptorsTravelInSeveralMessages) {
  auto [parent, child] = make_channel();
  std::vector<UniqueFd> owned;
  std::vector<int> fds;
  for (int i = 0; i < 70; ++i) {
    owned.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    fds.push_back(owned.back().get());
  }
  ASSERT_TRUE(send_message(child.get(), MsgType::LockFds, "", fds));
  size_t got = 0;
  while (auto m = recv_message(parent.get(), true)) {
    EXPECT_EQ(m->type, MsgType::LockFds);
    got += m->fds.size();
  }
  EXPECT_EQ(got, 70u);
}

// A message longer than the receiver's buffer, written past send_message: refused whole.
TEST(Channel, MessageCutShortIsAnError) {
  auto [parent, child] = make_channel();
  std::string big(9000, 'E');
  ASSERT_EQ(::write(child.get(), big.data(), big.size()), static_cast<ssize_t>(big.size()));
  EXPECT_THROW(recv_message(parent.get()), Error);
}

}  // namespace
}  // namespace sb::launch
