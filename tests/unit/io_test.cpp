// Unit tests for util/io.hpp: read-to-EOF, write-everything and the kernel-file writer,
// on pipes, /dev/zero, /dev/full and files in a temporary directory.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "temp_dir.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"

namespace sb::io {
namespace {

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    r.reset(p[0]);
    w.reset(p[1]);
  }
};

std::atomic<int> g_signals{0};
void count_signal(int) { ++g_signals; }

// SIGUSR1 interrupts blocking calls (no SA_RESTART) while this lives.
struct InterruptingSignal {
  struct sigaction old {};
  InterruptingSignal() {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked read or write returns EINTR
    ::sigaction(SIGUSR1, &sa, &old);
  }
  ~InterruptingSignal() { ::sigaction(SIGUSR1, &old, nullptr); }
};

// Signals `target` a few times while it blocks (one is enough; more cover a slow start),
// then runs `then`, which unblocks it.
std::thread interrupt_then(pthread_t target, std::function<void()> then) {
  return std::thread([target, then] {
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      ::pthread_kill(target, SIGUSR1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    then();
  });
}

// ---- read_all ---------------------------------------------------------------------------

TEST(IoReadAll, ReadsAPipeToEndOfFile) {
  Pipe p;
  std::string sent(300000, 'x');  // more than one pipe buffer and more than one read
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('a' + i % 26);
  std::thread writer([&] {
    ASSERT_TRUE(write_all(p.w.get(), sent));
    p.w.reset();
  });
  std::string got = "kept:";
  EXPECT_EQ(read_all(p.r.get(), got), 0);
  writer.join();
  EXPECT_EQ(got, "kept:" + sent);  // appends to what the string held
}

TEST(IoReadAll, StopsJustPastTheLimitOnAnEndlessStream) {
  UniqueFd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(zero);
  std::string got;
  EXPECT_EQ(read_all(zero.get(), got, 100000), 0);
  EXPECT_EQ(got.size(), 100001u);  // one byte over: the caller sees the limit exceeded
  std::string none;
  EXPECT_EQ(read_all(zero.get(), none, 0), 0);
  EXPECT_EQ(none.size(), 1u);
}

TEST(IoReadAll, AtTheLimitIsNotOver) {
  Pipe p;
  ASSERT_TRUE(write_all(p.w.get(), std::string(64, 'a')));
  p.w.reset();
  std::string got;
  EXPECT_EQ(read_all(p.r.get(), got, 64), 0);
  EXPECT_EQ(got.size(), 64u);
}

TEST(IoReadAll, ReturnsTheErrnoAndKeepsWhatCameBefore) {
  std::string got = "before";
  EXPECT_EQ(read_all(-1, got), EBADF);
  EXPECT_EQ(got, "before");
  test::TempDir d;
  UniqueFd dir(::open(d.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir);
  EXPECT_EQ(read_all(dir.get(), got), EISDIR);
}

TEST(IoReadAll, RetriesAReadASignalInterrupted) {
  InterruptingSignal sig;
  // Control: the same signal makes a plain read(2) fail with EINTR.
  {
    Pipe p;
    auto t = interrupt_then(::pthread_self(), [&] { (void)write_all(p.w.get(), "x"); });
    char c;
    ssize_t n = ::read(p.r.get(), &c, 1);
    int err = errno;
    t.join();
    ASSERT_EQ(n, -1);
    ASSERT_EQ(err, EINTR);
  }
  Pipe p;
  int before = g_signals;
  auto t = interrupt_then(::pthread_self(), [&] {
    (void)write_all(p.w.get(), "after the signal");
    p.w.reset();
  });
  std::string got;
  EXPECT_EQ(read_all(p.r.get(), got), 0);
  t.join();
  EXPECT_EQ(g_signals - before, 3);
  EXPECT_EQ(got, "after the signal");
}

// ---- read_file --------------------------------------------------------------------------

TEST(IoReadFile, ReadsAWholeFile) {
  test::TempDir d;
  std::string big(200000, 'q');
  EXPECT_EQ(read_file(d.write("a", big)), std::optional<std::string>(big));
  EXPECT_EQ(read_file(d.write("empty", "")), std::optional<std::string>(""));
  EXPECT_EQ(read_file(d.write("b", "0123456789"), 4), std::optional<std::string>("01234"));
}

TEST(IoReadFile, NulloptWithErrnoWhenItCannotBeRead) {
  test::TempDir d;
  errno = 0;
  EXPECT_EQ(read_file(d.path() + "/missing"), std::nullopt);
  EXPECT_EQ(errno, ENOENT);
  errno = 0;
  EXPECT_EQ(read_file(d.path()), std::nullopt);  // opens, but read(2) fails
  EXPECT_EQ(errno, EISDIR);
}

// ---- write_all --------------------------------------------------------------------------

TEST(IoWriteAll, WritesEverythingThroughAFullPipe) {
  Pipe p;
  std::string sent(500000, 'z');  // the pipe takes part of it at a time: short writes
  std::string got;
  std::thread reader([&] { EXPECT_EQ(read_all(p.r.get(), got), 0); });
  EXPECT_TRUE(write_all(p.w.get(), sent));
  p.w.reset();
  reader.join();
  EXPECT_EQ(got, sent);
}

TEST(IoWriteAll, RetriesAWriteASignalInterrupted) {
  InterruptingSignal sig;
  Pipe p;
  // Fill the pipe, so the next write blocks until the reader drains it.
  ASSERT_EQ(::fcntl(p.w.get(), F_SETFL, O_NONBLOCK), 0);
  std::string fill(4096, 'f');
  size_t filled = 0;
  for (ssize_t n; (n = ::write(p.w.get(), fill.data(), fill.size())) > 0;) filled += static_cast<size_t>(n);
  ASSERT_EQ(errno, EAGAIN);
  ASSERT_EQ(::fcntl(p.w.get(), F_SETFL, 0), 0);
  std::string got;
  int before = g_signals;
  auto t = interrupt_then(::pthread_self(), [&] { EXPECT_EQ(read_all(p.r.get(), got), 0); });
  EXPECT_TRUE(write_all(p.w.get(), "tail"));
  p.w.reset();
  t.join();
  EXPECT_EQ(g_signals - before, 3);
  EXPECT_EQ(got.size(), filled + 4);
  EXPECT_EQ(got.substr(got.size() - 4), "tail");
}

TEST(IoWriteAll, FalseWithErrnoWhenAWriteFails) {
  UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(full);
  errno = 0;
  EXPECT_FALSE(write_all(full.get(), "x"));
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_TRUE(write_all(full.get(), ""));  // nothing to write: no write(2) at all
}

// ---- write_kernel_file ------------------------------------------------------------------

TEST(IoWriteKernelFile, WritesAnExistingFile) {
  test::TempDir d;
  std::string f = d.write("memory.max", "max\n");
  write_kernel_file(f, "1048576");
  // O_WRONLY without O_TRUNC, as for a kernel file: the value overwrites from the start.
  EXPECT_EQ(read_file(f), std::optional<std::string>("1048576"));
}

TEST(IoWriteKernelFile, NeverCreatesAFile) {
  test::TempDir d;
  std::string f = d.path() + "/cgroup.procs";
  try {
    write_kernel_file(f, "1");
    FAIL() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(e.err(), ENOENT);
    EXPECT_EQ(std::string(e.what()), "Can't open " + f + ": No such file or directory");
  }
  EXPECT_EQ(::access(f.c_str(), F_OK), -1);
}

TEST(IoWriteKernelFile, AFailedWriteNamesValueAndPath) {
  try {
    write_kernel_file("/dev/full", "0 1000 1\n");
    FAIL() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(e.err(), ENOSPC);
    EXPECT_EQ(std::string(e.what()),
              "Can't write '0 1000 1' to /dev/full: No space left on device");
  }
}

TEST(IoWriteKernelFile, AtADirectoryFdNamesTheShownPath) {
  test::TempDir d;
  d.write("attr/exec", "old");
  UniqueFd dir(::open(d.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir);
  write_kernel_file_at(dir.get(), "attr/exec", "new", "/proc/thread-self/attr/exec");
  EXPECT_EQ(read_file(d.path() + "/attr/exec"), std::optional<std::string>("new"));
  try {
    write_kernel_file_at(dir.get(), "attr/missing", "x", "/proc/thread-self/attr/missing");
    FAIL() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Can't open /proc/thread-self/attr/missing: No such file or directory");
  }
}

TEST(IoWriteKernelFile, IfPresentSkipsOnlyAMissingFile) {
  test::TempDir d;
  std::string f = d.write("io.bfq.weight", "100");
  UniqueFd dir(::open(d.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir);
  EXPECT_FALSE(write_kernel_file_if_present_at(dir.get(), "io.weight", "50", "cg/io.weight"));
  EXPECT_EQ(::faccessat(dir.get(), "io.weight", F_OK, 0), -1);  // not created
  EXPECT_TRUE(write_kernel_file_if_present_at(dir.get(), "io.bfq.weight", "50", "cg/x"));
  EXPECT_EQ(read_file(f), std::optional<std::string>("500"));  // overwritten from the start
  // Any other failure is still an error.
  UniqueFd dev(::open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dev);
  EXPECT_THROW(write_kernel_file_if_present_at(dev.get(), "full", "1", "/dev/full"), SysError);
}

}  // namespace
}  // namespace sb::io
