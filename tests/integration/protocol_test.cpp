// The "desktop-sandbox protocol" options (what flatpak and similar callers use): --args,
// --file, --bind-data, --ro-bind-data, --bind-fd, --ro-bind-fd, --info-fd,
// --json-status-fd, --sync-fd, --block-fd, --userns-block-fd, --userns, --pidns,
// --disable-userns, --assert-userns-disabled, --seccomp, --add-seccomp-fd, --exec-label
// and --file-label. Descriptors are handed to the sandbox the way a caller does it: open in
// the process that executes it, at the number given on the command line.
#include <fcntl.h>
#include <grp.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "harness.hpp"

namespace it {
namespace {

using json = nlohmann::json;

// ---- Descriptors ---------------------------------------------------------------------------

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd r, w;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) {
      r = Fd(p[0]);
      w = Fd(p[1]);
    }
  }
};

Fd memfd_with(const std::string& data) {
  Fd fd(::memfd_create("it-data", MFD_CLOEXEC));
  size_t off = 0;
  while (fd && off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  return fd;
}

// NUL-terminated arguments, as --args reads them.
std::string nul_args(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) {
    s += a;
    s += '\0';
  }
  return s;
}

// One of this process's descriptors and the number the sandbox gets it as.
struct Give {
  int fd;
  int target;
};

// A RunOpts::in_child hook that gives the sandbox our descriptors: the harness closes every
// inherited descriptor above 2 in the forked child, so each is opened again there through
// /proc/<this process>/fd/N (same pipe, same memfd, same directory) at its target number.
// This process must keep them open until the command has started or the run has ended.
// `then` runs afterwards in the child (e.g. to change the caller's mount namespace).
std::function<bool()> give(const std::vector<Give>& gives, std::function<bool()> then = {}) {
  struct Item {
    std::string path;
    int flags;
    int target;
  };
  std::vector<Item> items;
  for (const auto& g : gives) {
    int fl = ::fcntl(g.fd, F_GETFL);
    int flags = (fl & O_PATH) ? O_PATH : (fl & O_ACCMODE);
    items.push_back({"/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(g.fd), flags,
                     g.target});
  }
  return [items, then] {
    for (const auto& it : items) {
      int n = ::open(it.path.c_str(), it.flags);  // without O_CLOEXEC: the sandbox gets it
      if (n < 0) return false;
      if (n != it.target) {
        if (::dup2(n, it.target) < 0) return false;
        ::close(n);
      }
    }
    return then ? then() : true;
  };
}

// Reads from `fd` until `done(data)` holds, EOF, or the timeout.
std::string read_until(int fd, const std::function<bool(const std::string&)>& done,
                       std::chrono::milliseconds timeout = 10s) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(data)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

// Whatever is buffered in `fd` right now.
std::string read_available(int fd) {
  return read_until(fd, [](const std::string&) { return false; }, 50ms);
}

bool complete_object(const std::string& s) { return contains(s, "}"); }

bool write_all_within(int fd, const std::string& data, std::chrono::milliseconds timeout) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
  }
  return true;
}

std::optional<json> parse_json(const std::string& s) {
  try {
    return json::parse(s);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// "mnt:[4026531841]" -> 4026531841
std::optional<unsigned long long> ns_inode(const std::string& link) {
  auto a = link.find('['), b = link.find(']');
  if (a == std::string::npos || b == std::string::npos || b <= a + 1) return std::nullopt;
  return std::stoull(link.substr(a + 1, b - a - 1));
}

std::string readlink_str(const std::string& path) {
  std::error_code ec;
  auto t = std::filesystem::read_symlink(path, ec);
  return ec ? std::string() : t.string();
}

std::string fd_link(int fd) { return readlink_str("/proc/self/fd/" + std::to_string(fd)); }

struct TokenGuard {
  std::string token;
  ~TokenGuard() { kill_with_token(token); }
};

// Prints "NAME=<readlink /proc/self/ns/NAME>" for each namespace.
const char* kNsScript =
    "for n in mnt pid net ipc uts cgroup user; do echo \"$n=$(readlink /proc/self/ns/$n)\"; "
    "done";

// Prints "fdN" for each of the descriptors 3..20 the command has open (a builtin test: no
// process of its own opens anything).
const char* kOpenFdsScript =
    "for f in 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
    "[ -e /proc/self/fd/$f ] && echo fd$f; done; true";

class ProtocolTest : public SandboxTest {};
class ProtocolModeTest : public ModeTest {
 protected:
  // The uid/gid files created by the sandbox have inside (no --uid/--gid: the caller's).
  std::string owner() const {
    return std::to_string(caller_uid()) + " " + std::to_string(caller_gid());
  }
};
INSTANTIATE_TEST_SUITE_P(Modes, ProtocolModeTest, ::testing::Bool(), mode_name);

// ---- --args -----------------------------------------------------------------------------------

TEST_P(ProtocolModeTest, ArgsFromSeveralFdsAreParsedAndClosed) {
  Fd a = memfd_with(nul_args({"--setenv", "A", "1"}));
  Fd b = memfd_with(nul_args({"--tmpfs", "/x", "--setenv", "B", "two words"}));
  RunOpts o = opts();
  o.in_child = give({{a.get(), 5}, {b.get(), 6}});
  auto r = run(with_root(cat({{"--args", "5", "--proc", "/proc", "--args", "6"},
                              sh(std::string("echo \"A=$A\"; echo \"B=$B\"; stat -f -c %T /x; ") +
                                 kOpenFdsScript)})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto l = lines(r.out);
  ASSERT_GE(l.size(), 3u) << r;
  EXPECT_EQ(l[0], "A=1") << r;
  EXPECT_EQ(l[1], "B=two words") << r;
  EXPECT_EQ(l[2], "tmpfs") << r;
  EXPECT_EQ(l.size(), 3u) << "the --args descriptors must be closed before the command runs" << r;
}

TEST_P(ProtocolModeTest, ArgsApplyWhereTheyAppear) {
  // --tmpfs /a, then --dir /a/b from the stream: the directory is on the tmpfs.
  {
    Fd f = memfd_with(nul_args({"--dir", "/a/b"}));
    RunOpts o = opts();
    o.in_child = give({{f.get(), 5}});
    auto r = run(with_root(cat({{"--tmpfs", "/a", "--args", "5"},
                                sh("test -d /a/b && echo has-b; stat -f -c %T /a")})),
                 o);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(r.out, "has-b\ntmpfs\n") << r;
  }
  // --dir /a/b, then --tmpfs /a from the stream: the tmpfs comes later and hides b.
  {
    Fd f = memfd_with(nul_args({"--tmpfs", "/a"}));
    RunOpts o = opts();
    o.in_child = give({{f.get(), 5}});
    auto r = run(with_root(cat({{"--dir", "/a/b", "--args", "5"},
                                sh("test -e /a/b && echo has-b; stat -f -c %T /a")})),
                 o);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(r.out, "tmpfs\n") << r;
  }
}

TEST_P(ProtocolModeTest, ArgsNested) {
  // fd 5 holds --args 6 between two options; fd 6 sets A and B again. Order is kept: B's
  // later value, from the nested stream, wins.
  Fd outer = memfd_with(nul_args({"--setenv", "B", "first", "--args", "6", "--setenv", "C", "3"}));
  Fd inner = memfd_with(nul_args({"--setenv", "A", "1", "--setenv", "B", "from-inner"}));
  RunOpts o = opts();
  o.in_child = give({{outer.get(), 5}, {inner.get(), 6}});
  auto r = run(with_root(cat({{"--proc", "/proc", "--args", "5"},
                              sh(std::string("echo \"$A $B $C\"; ") + kOpenFdsScript)})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "1 from-inner 3\n") << r;
}

TEST_P(ProtocolModeTest, ArgsStreamMayHoldTheCommand) {
  Fd f = memfd_with(nul_args({"--setenv", "X", "y z", "sh", "-c", "echo \"X=$X\" \"$0\" \"$1\"",
                              "zero", "one"}));
  RunOpts o = opts();
  o.in_child = give({{f.get(), 5}});
  auto r = run(with_root({"--args", "5"}), o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "X=y z zero one\n") << r;
}

// Nesting up to 8 levels is fine; a 9th --args is refused.
TEST_P(ProtocolModeTest, ArgsNestingLimit) {
  auto chain = [&](int levels) {
    std::vector<Fd> fds;
    std::vector<Give> gives;
    for (int i = 0; i < levels; ++i) {
      std::vector<std::string> a;
      if (i + 1 < levels) a = {"--args", std::to_string(10 + i + 1)};
      else a = {"--setenv", "DEEP", "yes"};
      fds.push_back(memfd_with(nul_args(a)));
      gives.push_back({fds.back().get(), 10 + i});
    }
    RunOpts o = opts();
    o.in_child = give(gives);
    return run(with_root(cat({{"--args", "10"}, sh("echo \"DEEP=$DEEP\"")})), o);
  };
  auto ok = chain(8);
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_EQ(ok.out, "DEEP=yes\n") << ok;
  auto deep = chain(9);
  EXPECT_EQ(deep.exit_code, 1) << deep;
  EXPECT_EQ(deep.out, "") << deep;
  EXPECT_TRUE(contains(deep.err, "--args")) << deep;
}

TEST_P(ProtocolModeTest, ArgsWithoutFinalNulFails) {
  std::string data = nul_args({"--setenv", "A"}) + "1";  // no NUL after the last one
  Fd f = memfd_with(data);
  RunOpts o = opts();
  o.in_child = give({{f.get(), 5}});
  auto r = run(with_root(cat({{"--args", "5"}, sh("echo RAN")})), o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(contains(r.err, "--args")) << r;
}

TEST_P(ProtocolModeTest, ArgsFromClosedOrInvalidFdFails) {
  for (const std::string fd : {"9", "-1", "x"}) {
    auto r = run(with_root(cat({{"--args", fd}, sh("echo RAN")})), opts());
    EXPECT_EQ(r.exit_code, 1) << "--args " << fd << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_TRUE(contains(r.err, "--args")) << r;
  }
}

// ---- --file, --bind-data, --ro-bind-data -----------------------------------------------

const std::string kPayload = std::string("line 1\nline 2\n\0mid\0\0", 21) + "\xff\x01 end\n\n";

TEST_P(ProtocolModeTest, FileCopiesTheDataWithMode0666) {
  TempDir out;
  Fd f = memfd_with(kPayload);
  const std::string dest = "/etc-" + unique_suffix() + "/data";
  RunOpts o = opts();
  o.in_child = give({{f.get(), 5}});
  auto r = run(with_root(cat({{"--proc", "/proc", "--bind", out.path(), "/out", "--file", "5",
                               dest},
                              sh("cp " + dest + " /out/copy && stat -c '%a %u %g %F' " + dest +
                                 "; " + kOpenFdsScript)})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "666 " + owner() + " regular file\n")
      << "mode 0666, owned by the sandbox's user, and fd 5 closed" << r;
  EXPECT_EQ(read_file(out / "copy"), kPayload);
  EXPECT_FALSE(exists(dest.substr(0, dest.rfind('/')))) << "nothing created on the host";
}

TEST_P(ProtocolModeTest, FileWithPerms) {
  Fd f = memfd_with("x");
  RunOpts o = opts();
  o.in_child = give({{f.get(), 5}});
  auto r = run(with_root(cat({{"--perms", "0640", "--file", "5", "/f"},
                              sh("stat -c %a /f; cat /f")})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "640\nx") << r;
}

// 1 MiB streamed through a pipe (much more than the pipe holds) arrives complete.
TEST_P(ProtocolModeTest, FileLargePayloadThroughPipe) {
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7 + i / 4096) % 256);
  TempDir out;
  Pipe p;
  ASSERT_TRUE(p.r && p.w);
  RunOpts o = opts();
  o.in_child = give({{p.r.get(), 5}});
  auto proc = spawn(with_root(cat({{"--bind", out.path(), "/out", "--file", "5", "/big"},
                                   sh("cp /big /out/big && stat -c %s /big")})),
                    o);
  EXPECT_TRUE(write_all_within(p.w.get(), big, 10s));
  p.w.reset();
  auto r = proc->wait(15s);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, std::to_string(big.size()) + "\n") << r;
  std::string got = read_file(out / "big");
  EXPECT_EQ(got.size(), big.size());
  EXPECT_TRUE(got == big) << "the copy differs from what was written into the pipe";
}

TEST_P(ProtocolModeTest, BindDataIsABindMountWithMode0600) {
  TempDir out;
  Fd f = memfd_with(kPayload);
  RunOpts o = opts();
  o.in_child = give({{f.get(), 5}});
  auto r = run(with_root(cat({{"--proc", "/proc", "--bind", out.path(), "/out", "--bind-data",
                               "5", "/etc/bd"},
                              sh("cp /etc/bd /out/copy && stat -c '%a %u %g' /etc/bd && "
                                 "cat /proc/self/mountinfo > /out/mountinfo && "
                                 "echo more >> /etc/bd && echo appended")})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "600 " + owner() + "\nappended\n") << r;
  EXPECT_EQ(read_file(out / "copy"), kPayload);
  bool found = false;
  for (const auto& m : parse_mountinfo(read_file(out / "mountinfo")))
    if (m.mountpoint == "/etc/bd") {
      found = true;
      EXPECT_TRUE(m.options.rfind("rw", 0) == 0) << m.options;
    }
  EXPECT_TRUE(found) << "/etc/bd is not a mount point inside:\n" << read_file(out / "mountinfo");
  EXPECT_FALSE(exists("/tmp/bind-data-1")) << "a staging file leaked to the host";
}

TEST_P(ProtocolModeTest, RoBindDataIsReadOnly) {
  TempDir out;
  Fd f = memfd_with(kPayload);
  RunOpts o = opts();
  o.in_child = give({{f.get(), 5}});
  auto r = run(with_root(cat({{"--proc", "/proc", "--bind", out.path(), "/out",
                               "--ro-bind-data", "5", "/etc/rbd"},
                              sh("cp /etc/rbd /out/copy; stat -c '%a %u %g' /etc/rbd; "
                                 "grep ' /etc/rbd ' /proc/self/mountinfo > /out/mountinfo; "
                                 "echo more >> /etc/rbd && echo WRITTEN; exit 0")})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "600 " + owner() + "\n") << r;
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
  EXPECT_EQ(read_file(out / "copy"), kPayload);
  auto m = parse_mountinfo(read_file(out / "mountinfo"));
  ASSERT_EQ(m.size(), 1u) << read_file(out / "mountinfo");
  EXPECT_TRUE(m[0].options.rfind("ro", 0) == 0) << m[0].options;
}

// ---- --bind-fd, --ro-bind-fd ------------------------------------------------------------

struct DirFixture {
  TempDir d;
  std::string a = d / "A";
  DirFixture(uid_t uid, gid_t gid) {
    ::mkdir(a.c_str(), 0755);
    write_file(a + "/marker", "original\n");
    ::chown(a.c_str(), uid, gid);
    ::chown((a + "/marker").c_str(), uid, gid);
  }
};

TEST_P(ProtocolModeTest, BindFdBindsTheDirectory) {
  DirFixture fx(caller_uid(), caller_gid());
  Fd dir(::open(fx.a.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir);
  RunOpts o = opts();
  o.in_child = give({{dir.get(), 5}});
  auto r = run(with_root(cat({{"--proc", "/proc", "--bind-fd", "5", "/d"},
                              sh(std::string("cat /d/marker; echo new > /d/created; ") +
                                 kOpenFdsScript)})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "original\n") << "content visible, fd 5 closed" << r;
  EXPECT_EQ(read_file(fx.a + "/created"), "new\n") << "a write lands in the directory";
}

TEST_P(ProtocolModeTest, RoBindFdRefusesWrites) {
  DirFixture fx(caller_uid(), caller_gid());
  Fd dir(::open(fx.a.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir);
  RunOpts o = opts();
  o.in_child = give({{dir.get(), 5}});
  auto r = run(with_root(cat({{"--ro-bind-fd", "5", "/d"},
                              sh("cat /d/marker; echo new > /d/created && echo WRITTEN; "
                                 "echo x >> /d/marker && echo APPENDED; exit 0")})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "original\n") << r;
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
  EXPECT_FALSE(exists(fx.a + "/created"));
  EXPECT_EQ(read_file(fx.a + "/marker"), "original\n");
}

// The directory was renamed (and another one created at its old path) after the caller
// opened it: the bind is still of the directory the descriptor names.
TEST_P(ProtocolModeTest, BindFdFollowsTheDescriptorNotThePath) {
  DirFixture fx(caller_uid(), caller_gid());
  Fd dir(::open(fx.a.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir);
  ASSERT_EQ(::rename(fx.a.c_str(), (fx.d / "A2").c_str()), 0);
  ASSERT_EQ(::mkdir(fx.a.c_str(), 0755), 0);
  write_file(fx.a + "/marker", "impostor\n");
  RunOpts o = opts();
  o.in_child = give({{dir.get(), 5}});
  auto r = run(with_root(cat({{"--ro-bind-fd", "5", "/d"}, sh("cat /d/marker")})), o);
  if (r.exit_code == 1) {
    // Refusing is acceptable too, but only with a clear message.
    EXPECT_TRUE(contains(r.err, "moved or replaced")) << r;
  } else {
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(r.out, "original\n") << "the bind must be of the descriptor's directory" << r;
  }
}

// The path the descriptor had is now covered by another directory in the caller's mount
// namespace: the sandbox cannot bind the descriptor's own inode and must refuse rather than
// bind whatever the path shows now.
TEST_P(ProtocolModeTest, BindFdRefusesWhenThePathNowShowsAnotherDirectory) {
  IT_REQUIRE_ROOT();  // a bind mount in the caller's (private) mount namespace
  DirFixture fx(caller_uid(), caller_gid());
  const std::string other = fx.d / "other";
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  write_file(other + "/marker", "impostor\n");
  Fd dir(::open(fx.a.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir);
  RunOpts o = opts();
  const std::string a = fx.a;
  o.in_child = give({{dir.get(), 5}}, [a, other] {
    if (::unshare(CLONE_NEWNS) != 0) return false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
    return ::mount(other.c_str(), a.c_str(), nullptr, MS_BIND, nullptr) == 0;
  });
  auto r = run(with_root(cat({{"--bind-fd", "5", "/d"}, sh("cat /d/marker")})), o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.out, "impostor")) << r;
  EXPECT_TRUE(contains(r.err, "moved or replaced")) << r;
  EXPECT_TRUE(contains(r.err, "--bind-fd")) << r;
}

TEST_P(ProtocolModeTest, BindFdOfDeletedDirectoryFailsClearly) {
  DirFixture fx(caller_uid(), caller_gid());
  const std::string e = fx.d / "E";
  ASSERT_EQ(::mkdir(e.c_str(), 0755), 0);
  Fd dir(::open(e.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir);
  ASSERT_EQ(::rmdir(e.c_str()), 0);
  RunOpts o = opts();
  o.in_child = give({{dir.get(), 5}});
  auto r = run(with_root(cat({{"--ro-bind-fd", "5", "/d"}, sh("echo RAN")})), o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(contains(r.err, "--ro-bind-fd")) << r;
}

// ---- --info-fd ----------------------------------------------------------------------------

// Runs `flags` with --info-fd 5 and a command that prints its namespaces and then sleeps;
// checks the object against what the command sees and what the host sees of child-pid.
void check_info(const RunOpts& base, const Args& flags,
                const std::set<std::string>& expected_keys) {
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  Pipe info;
  ASSERT_TRUE(info.r && info.w);
  RunOpts o = base;
  o.in_child = give({{info.w.get(), 5}});
  auto proc = spawn(with_root(cat({flags,
                                   {"--proc", "/proc", "--info-fd", "5"},
                                   sh(std::string(kNsScript) + "; exec sleep " + tok)})),
                    o);
  ASSERT_TRUE(proc->wait_for_stdout("user=")) << proc->wait(1s);
  std::string text = read_until(info.r.get(), complete_object, 5s);
  auto j = parse_json(text);
  ASSERT_TRUE(j && j->is_object()) << "not a JSON object: <<<" << text << ">>>";
  std::set<std::string> keys;
  for (auto it = j->begin(); it != j->end(); ++it) keys.insert(it.key());
  EXPECT_EQ(keys, expected_keys) << text;

  ASSERT_TRUE((*j)["child-pid"].is_number_integer()) << text;
  long long pid = (*j)["child-pid"].get<long long>();
  ASSERT_GT(pid, 0) << text;
  // child-pid is a live process of the sandbox, in our pid namespace.
  std::string host_mnt = readlink_str("/proc/" + std::to_string(pid) + "/ns/mnt");
  ASSERT_FALSE(host_mnt.empty()) << "no /proc/" << pid;
  EXPECT_EQ(ns_inode(host_mnt), (*j)["mnt-namespace"].get<unsigned long long>()) << text;

  proc->wait_for_stdout("user=");
  auto inside = key_values(proc->out_so_far());
  for (const auto& k : keys) {
    if (k == "child-pid") continue;
    std::string name = k.substr(0, k.find('-'));
    ASSERT_TRUE((*j)[k].is_number_unsigned()) << k << " " << text;
    EXPECT_EQ(ns_inode(inside[name]), (*j)[k].get<unsigned long long>())
        << k << ": inside the sandbox " << inside[name] << ", info " << text;
  }
  // Namespaces that were not unshared are the host's.
  for (const char* name : {"pid", "net", "ipc", "uts", "cgroup"}) {
    if (keys.count(std::string(name) + "-namespace")) {
      EXPECT_NE(inside[name], host_ns(name)) << name;
    } else {
      EXPECT_EQ(inside[name], host_ns(name)) << name;
    }
  }
  kill_with_token(tok);
  auto r = proc->wait(10s);
  EXPECT_FALSE(r.timed_out) << r;
}

TEST_P(ProtocolModeTest, InfoFdMountNamespaceOnly) {
  check_info(opts(), {}, {"child-pid", "mnt-namespace"});
}

TEST_P(ProtocolModeTest, InfoFdListsUnsharedNamespaces) {
  check_info(opts(),
             {"--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
              "--unshare-cgroup"},
             {"child-pid", "mnt-namespace", "pid-namespace", "net-namespace", "ipc-namespace",
              "uts-namespace", "cgroup-namespace"});
}

// ---- --json-status-fd --------------------------------------------------------------------

struct StatusRun {
  RunResult r;
  std::vector<std::string> lines;
  std::string info;  // what --info-fd got in the same run
};
StatusRun run_with_status(const Args& args, RunOpts o) {
  Pipe st, info;
  o.in_child = give({{st.w.get(), 5}, {info.w.get(), 6}});
  StatusRun s;
  s.r = run(with_root(cat({{"--unshare-pid", "--json-status-fd", "5", "--info-fd", "6"}, args})),
            o);
  s.lines = lines(read_available(st.r.get()));
  s.info = read_available(info.r.get());
  return s;
}

void expect_info_line(const std::string& line) {
  auto j = parse_json(line);
  ASSERT_TRUE(j && j->is_object()) << line;
  EXPECT_TRUE((*j)["child-pid"].is_number_integer() && (*j)["child-pid"].get<long long>() > 0)
      << line;
  EXPECT_TRUE(j->contains("mnt-namespace")) << line;
  EXPECT_TRUE(j->contains("pid-namespace")) << line;
  EXPECT_FALSE(j->contains("exit-code")) << line;
}

TEST_P(ProtocolModeTest, JsonStatusReportsExitCode) {
  auto s = run_with_status(sh("exit 7"), opts());
  EXPECT_EQ(s.r.exit_code, 7) << s.r;
  ASSERT_EQ(s.lines.size(), 2u) << s.r;
  expect_info_line(s.lines[0]);
  EXPECT_EQ(parse_json(s.lines[0]), parse_json(s.info))
      << "the first line is the --info-fd object: " << s.lines[0] << " vs " << s.info;
  auto j = parse_json(s.lines[1]);
  ASSERT_TRUE(j && j->is_object()) << s.lines[1];
  EXPECT_EQ(*j, json::parse(R"({"exit-code": 7})")) << s.lines[1];
}

TEST_P(ProtocolModeTest, JsonStatusReportsSignalAs128PlusSignal) {
  auto s = run_with_status(sh("kill -KILL $$"), opts());
  EXPECT_EQ(s.r.exit_code, 128 + SIGKILL) << s.r;
  ASSERT_EQ(s.lines.size(), 2u) << s.r;
  expect_info_line(s.lines[0]);
  EXPECT_EQ(parse_json(s.lines[1]).value_or(json()), json::parse(R"({"exit-code": 137})"))
      << s.lines[1];
}

TEST_P(ProtocolModeTest, JsonStatusHasNoExitCodeAfterFailedExec) {
  auto s = run_with_status({"--", "/nonexistent-command"}, opts());
  EXPECT_EQ(s.r.exit_code, 1) << s.r;
  EXPECT_TRUE(contains(s.r.err, "/nonexistent-command")) << s.r;
  ASSERT_EQ(s.lines.size(), 1u) << s.r;
  expect_info_line(s.lines[0]);
}

TEST_P(ProtocolModeTest, JsonStatusIsEmptyAfterSetupFailure) {
  auto s = run_with_status(cat({{"--bind", "/nonexistent-source-" + unique_suffix(), "/x"},
                                sh("echo RAN")}),
                           opts());
  EXPECT_EQ(s.r.exit_code, 1) << s.r;
  EXPECT_EQ(s.r.out, "") << s.r;
  EXPECT_TRUE(s.lines.empty()) << s.lines.size() << " lines, first: " << s.lines.front();
  EXPECT_EQ(s.info, "") << "nothing on --info-fd either";
}

// bwrap's callers read these descriptors as bwrap writes them: the bytes are bwrap's, numbers
// aside (the indented --info-fd object; "{ \"child-pid\": N, ... }" and "{ \"exit-code\": N }"
// on --json-status-fd, in its key order). Control: /usr/bin/bwrap with the same options in
// the same mode; skipped when it can't run here.
TEST_P(ProtocolModeTest, StatusFdsAreBwrapsBytes) {
  IT_REQUIRE_FILE("/usr/bin/bwrap");
  struct Out {
    RunResult r;
    std::string info, status;
  };
  auto masked = [](const std::string& s) {
    std::string m;
    for (char c : s) {
      bool digit = std::isdigit(static_cast<unsigned char>(c));
      if (digit && !m.empty() && m.back() == 'N') continue;  // one N per number
      m += digit ? 'N' : c;
    }
    return m;
  };
  auto run_as = [&](const std::optional<std::string>& exe) {
    Pipe st, info;
    RunOpts o = opts();
    o.exe = exe;
    o.in_child = give({{st.w.get(), 5}, {info.w.get(), 6}});
    Out out;
    out.r = run(with_root({"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--json-status-fd",
                           "5", "--info-fd", "6", "--", "sh", "-c", "exit 3"}),
                o);
    out.info = masked(read_available(info.r.get()));
    out.status = masked(read_available(st.r.get()));
    return out;
  };
  Out bw = run_as("/usr/bin/bwrap");
  if (bw.r.exit_code != 3) GTEST_SKIP() << "/usr/bin/bwrap can't run here: " << bw.r;
  ASSERT_FALSE(bw.info.empty()) << bw.r;
  Out ours = run_as(std::nullopt);
  EXPECT_EQ(ours.r.exit_code, 3) << ours.r;
  EXPECT_EQ(ours.info, bw.info);
  EXPECT_EQ(ours.status, bw.status);
  EXPECT_EQ(ours.status,
            "{ \"child-pid\": N, \"ipc-namespace\": N, \"mnt-namespace\": N, \"pid-namespace\": N, "
            "\"uts-namespace\": N }\n{ \"exit-code\": N }\n");
}

// ---- --sync-fd ------------------------------------------------------------------------------

void check_sync(const RunOpts& base, const Args& flags) {
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  Pipe p;
  ASSERT_TRUE(p.r && p.w);
  struct stat st;
  ASSERT_EQ(::fstat(p.w.get(), &st), 0);
  RunOpts o = base;
  o.in_child = give({{p.w.get(), 5}});
  auto proc = spawn(with_root(cat({flags,
                                   {"--proc", "/proc", "--sync-fd", "5"},
                                   sh("echo \"fd5=$(readlink /proc/self/fd/5)\"; echo ready; "
                                      "exec sleep " + tok)})),
                    o);
  ASSERT_TRUE(proc->wait_for_stdout("ready\n")) << proc->wait(1s);
  // The command runs, so the sandbox holds its copy: ours can go.
  p.w.reset();
  // Held by the sandbox (init, the supervisor), not by the command: bwrap closes it there
  // too (issue 13.5; only --as-pid-1 passes it on).
  EXPECT_EQ(key_values(proc->out_so_far())["fd5"], "") << "the sync fd reached the command";
  // Closing a descriptor is synchronous: an early close would show as EOF right now, so the
  // poll needs no timeout.
  pollfd pf{p.r.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&pf, 1, 0), 0) << "EOF on the sync fd while the sandbox runs";
  kill_with_token(tok);
  auto r = proc->wait(10s);
  EXPECT_FALSE(r.timed_out) << r;
  pf = {p.r.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pf, 1, 5000), 1) << "no EOF on the sync fd after the sandbox exited";
  char c;
  EXPECT_EQ(::read(p.r.get(), &c, 1), 0) << "EOF expected";
}

TEST_P(ProtocolModeTest, SyncFdSeesEofOnlyAfterExit) { check_sync(opts(), {}); }
TEST_P(ProtocolModeTest, SyncFdSeesEofOnlyAfterExitWithPidNamespace) {
  check_sync(opts(), {"--unshare-pid"});
}

// ---- --block-fd ------------------------------------------------------------------------------

// The event the blocking tests wait on instead of a pause: the sandbox's child (child-pid from
// --info-fd; with --unshare-pid that is its init, and the child that sets up and waits is
// init's only child) is parked before the command: every process of that tree is still the
// sandbox binary (its comm) and one of them sleeps in poll(2) (where the kernel tells: root may
// read wchan; else: all of them asleep). A command that ran early would have replaced one;
// waiting until this holds (or the sandbox ended) keeps a slow start from passing for a
// held one.
bool parked_before_exec(pid_t pid) {
  std::vector<pid_t> tree = {pid};
  bool all_asleep = true, one_in_poll = false, wchan_known = false;
  for (size_t i = 0; i < tree.size(); ++i) {
    const std::string p = "/proc/" + std::to_string(tree[i]);
    std::string stat = read_file(p + "/stat");
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size())
      return false;
    if (stat.substr(open + 1, close - open - 1) != invoked_name().substr(0, 15)) return false;
    all_asleep = all_asleep && stat[close + 2] == 'S';
    const std::string wchan = read_file(p + "/wchan");
    if (!wchan.empty() && wchan != "0") {
      wchan_known = true;
      one_in_poll = one_in_poll || contains(wchan, "poll");
    }
    for (const auto& c : words(read_file(p + "/task/" + std::to_string(tree[i]) + "/children")))
      tree.push_back(static_cast<pid_t>(std::stol(c)));
  }
  return wchan_known ? one_in_poll : all_asleep;
}

// Waits until parked_before_exec(pid) or the sandbox ended; true when parked.
bool wait_parked(Proc& proc, pid_t pid) {
  bool parked = false;
  eventually([&] {
    parked = parked_before_exec(pid);
    return parked || proc.wait_for_stdout("started", 1ms) || !exists("/proc/" + std::to_string(pid));
  }, 10s);
  return parked;
}

TEST_P(ProtocolModeTest, BlockFdHoldsTheCommandAfterInfoIsWritten) {
  TempDir out;
  Pipe block, info;
  RunOpts o = opts();
  o.in_child = give({{block.r.get(), 5}, {info.w.get(), 6}});
  auto proc = spawn(with_root(cat({{"--bind", out.path(), "/out", "--block-fd", "5",
                                    "--info-fd", "6"},
                                   sh("touch /out/marker; echo started")})),
                    o);
  std::string text = read_until(info.r.get(), complete_object, 5s);
  auto j = parse_json(text);
  ASSERT_TRUE(j && j->contains("child-pid")) << "info must come before the release: <<<" << text
                                             << ">>>" << proc->wait(1s);
  const pid_t child = static_cast<pid_t>((*j)["child-pid"].get<long long>());
  EXPECT_TRUE(wait_parked(*proc, child)) << "the child is not held before the command";
  EXPECT_FALSE(proc->wait_for_stdout("started", 1ms)) << "the command ran before the release";
  EXPECT_FALSE(exists(out / "marker")) << "the command ran before the block fd was released";
  ASSERT_EQ(::write(block.w.get(), "x", 1), 1);
  auto r = proc->wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "started\n") << r;
  EXPECT_TRUE(exists(out / "marker"));
}

TEST_P(ProtocolModeTest, BlockFdReleasedByEof) {
  TempDir out;
  Pipe block, info;
  RunOpts o = opts();
  o.in_child = give({{block.r.get(), 5}, {info.w.get(), 6}});
  auto proc = spawn(with_root(cat({{"--unshare-pid", "--bind", out.path(), "/out", "--block-fd",
                                    "5", "--info-fd", "6"},
                                   sh("touch /out/marker; echo started")})),
                    o);
  std::string text = read_until(info.r.get(), complete_object, 5s);
  ASSERT_TRUE(complete_object(text)) << proc->wait(1s);
  auto j = parse_json(text);
  ASSERT_TRUE(j && (*j)["child-pid"].is_number_integer()) << text;
  const pid_t child = static_cast<pid_t>((*j)["child-pid"].get<long long>());
  EXPECT_TRUE(wait_parked(*proc, child)) << "the child is not held before the command";
  EXPECT_FALSE(proc->wait_for_stdout("started", 1ms)) << "the command ran before the release";
  EXPECT_FALSE(exists(out / "marker"));
  block.w.reset();  // the only writer: the sandbox now reads EOF
  auto r = proc->wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "started\n") << r;
  EXPECT_TRUE(exists(out / "marker"));
}

// ---- --userns-block-fd -----------------------------------------------------------------------

// Writes the maps of `pid`'s user namespace as the unprivileged uid would: one line mapping
// its own id, setgroups denied first. Returns "" or an error.
std::string write_maps_as_caller(pid_t pid, uid_t inside_uid, gid_t inside_gid) {
  Pipe err;
  pid_t c = ::fork();
  if (c == 0) {
    auto fail = [&](const char* what) {
      std::string m = std::string(what) + ": " + std::strerror(errno);
      ssize_t n = ::write(err.w.get(), m.data(), m.size());
      (void)n;
      ::_exit(1);
    };
    if (is_root()) {
      if (::setgroups(0, nullptr) != 0) fail("setgroups");
      if (::setresgid(kUnprivGid, kUnprivGid, kUnprivGid) != 0) fail("setresgid");
      if (::setresuid(kUnprivUid, kUnprivUid, kUnprivUid) != 0) fail("setresuid");
    }
    std::string base = "/proc/" + std::to_string(pid) + "/";
    const std::pair<std::string, std::string> writes[] = {
        {"setgroups", "deny"},
        {"uid_map", std::to_string(inside_uid) + " " + std::to_string(unpriv_uid()) + " 1\n"},
        {"gid_map", std::to_string(inside_gid) + " " + std::to_string(unpriv_gid()) + " 1\n"}};
    for (const auto& [file, data] : writes) {
      int fd = ::open((base + file).c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) fail(file.c_str());
      if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
        fail(file.c_str());
      ::close(fd);
    }
    ::_exit(0);
  }
  err.w.reset();
  int status = 0;
  ::waitpid(c, &status, 0);
  std::string msg = read_available(err.r.get());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return msg.empty() ? "map writer failed" : msg;
}

TEST_F(ProtocolTest, UsernsBlockFdLetsTheCallerWriteTheMaps) {
  Pipe block, info;
  RunOpts o = unpriv();
  o.in_child = give({{block.r.get(), 5}, {info.w.get(), 6}});
  auto proc = spawn(with_root(cat({{"--unshare-user", "--userns-block-fd", "5", "--info-fd", "6",
                                    "--tmpfs", "/t"},
                                   sh("id -u; id -g; touch /t/f; stat -c '%u %g' /t/f")})),
                    o);
  std::string text = read_until(info.r.get(), complete_object, 5s);
  auto j = parse_json(text);
  ASSERT_TRUE(j && (*j)["child-pid"].is_number_integer())
      << "no child-pid on the info fd: <<<" << text << ">>>" << proc->wait(1s);
  pid_t pid = static_cast<pid_t>((*j)["child-pid"].get<long long>());
  const std::string proc_dir = "/proc/" + std::to_string(pid);
  EXPECT_TRUE(wait_parked(*proc, pid)) << "the child is not held before the maps are written";
  EXPECT_FALSE(proc->wait_for_stdout("\n", 1ms)) << "the command ran before the maps existed";
  EXPECT_EQ(read_file(proc_dir + "/uid_map"), "") << "the sandbox must not write the maps itself";
  EXPECT_EQ(read_file(proc_dir + "/gid_map"), "");
  std::string err = write_maps_as_caller(pid, 1234, 4321);
  ASSERT_EQ(err, "") << "writing the maps as uid " << unpriv_uid() << " failed";
  ASSERT_EQ(::write(block.w.get(), "x", 1), 1);
  auto r = proc->wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "1234\n4321\n1234 4321\n") << "the ids the caller mapped" << r;
}

TEST_F(ProtocolTest, UsernsBlockFdNeedsInfoFd) {
  RunOpts o = unpriv();
  o.leak_fds = {5};
  auto r = run(with_root(cat({{"--unshare-user", "--userns-block-fd", "5"}, sh("echo RAN")})), o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(contains(r.err, "--info-fd")) << r;
}

// ---- --userns, --pidns ------------------------------------------------------------------------

// A first sandbox with its own user and pid namespaces, sleeping; child-pid from --info-fd.
struct FirstSandbox {
  std::unique_ptr<Proc> proc;
  pid_t pid = -1;
  std::string user_ns, pid_ns;  // readlink of its namespaces, seen from the host
  Fd userns, pidns;
};

FirstSandbox start_first(const RunOpts& base, const std::string& tok) {
  FirstSandbox f;
  Pipe info;
  RunOpts o = base;
  o.in_child = give({{info.w.get(), 5}});
  f.proc = spawn(with_root({"--unshare-user", "--unshare-pid", "--proc", "/proc", "--info-fd", "5",
                            "--", "sleep", tok}),
                 o);
  auto j = parse_json(read_until(info.r.get(), complete_object, 5s));
  if (!j || !(*j)["child-pid"].is_number_integer()) return f;
  f.pid = static_cast<pid_t>((*j)["child-pid"].get<long long>());
  const std::string dir = "/proc/" + std::to_string(f.pid) + "/ns/";
  f.user_ns = readlink_str(dir + "user");
  f.pid_ns = readlink_str(dir + "pid");
  f.userns = Fd(::open((dir + "user").c_str(), O_RDONLY | O_CLOEXEC));
  f.pidns = Fd(::open((dir + "pid").c_str(), O_RDONLY | O_CLOEXEC));
  return f;
}

const char* kCmdlinesScript =
    "echo ===; for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done";

TEST_P(ProtocolModeTest, UsernsAndPidnsJoinTheGivenNamespaces) {
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  auto first = start_first(opts(), tok);
  ASSERT_TRUE(first.userns && first.pidns) << "the first sandbox did not start"
                                           << first.proc->wait(1s);
  ASSERT_NE(first.user_ns, host_ns("user"));
  ASSERT_NE(first.pid_ns, host_ns("pid"));
  RunOpts o = opts();
  o.in_child = give({{first.userns.get(), 5}, {first.pidns.get(), 6}});
  auto r = run(with_root(cat({{"--userns", "5", "--pidns", "6", "--proc", "/proc"},
                              sh(std::string(kNsScript) + "; " + kCmdlinesScript)})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto kv = key_values(r.out.substr(0, r.out.find("===")));
  EXPECT_EQ(kv["user"], first.user_ns) << r;
  EXPECT_EQ(kv["pid"], first.pid_ns) << r;
  auto cmdlines = line_set(r.out.substr(r.out.find("===")));
  EXPECT_TRUE(cmdlines.count("sleep " + tok)) << "the first sandbox's command must be visible"
                                              << r;
}

// bwrap's callers (its own suite, flatpak's `enter`) open /proc/CHILD-PID/ns/* of a running
// sandbox as the same uid that started it, to pass them to --userns/--pidns or setns(2).
// The test process is root and could open them regardless: the caller opens them here.
TEST_P(ProtocolModeTest, CallerCanOpenTheNamespacesOfChildPid) {
  std::string tok = sleep_token();
  TokenGuard guard{tok};
  auto first = start_first(opts(), tok);
  ASSERT_GT(first.pid, 0) << "the first sandbox did not start" << first.proc->wait(1s);
  const std::string dir = "/proc/" + std::to_string(first.pid) + "/ns/";
  RunOpts o = opts();
  o.exe = "/bin/sh";
  o.argv0 = "sh";
  auto r = run({"-c", "exec 5<" + dir + "user 6<" + dir + "pid && echo opened"}, o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "opened\n") << r;
}

TEST_P(ProtocolModeTest, PidnsWithUnsharePidCreatesAChildNamespace) {
  std::string tok = sleep_token(), tok2 = sleep_token();
  TokenGuard guard{tok}, guard2{tok2};
  auto first = start_first(opts(), tok);
  ASSERT_TRUE(first.userns && first.pidns) << "the first sandbox did not start"
                                           << first.proc->wait(1s);
  RunOpts o = opts();
  o.in_child = give({{first.userns.get(), 5}, {first.pidns.get(), 6}});
  auto second = spawn(with_root(cat({{"--userns", "5", "--pidns", "6", "--unshare-pid", "--proc",
                                      "/proc"},
                                     sh(std::string(kNsScript) + "; " + kCmdlinesScript +
                                        "; echo END; exec sleep " + tok2)})),
                      o);
  ASSERT_TRUE(second->wait_for_stdout("END\n")) << second->wait(1s);
  std::string out = second->out_so_far();
  auto kv = key_values(out.substr(0, out.find("===")));
  EXPECT_EQ(kv["user"], first.user_ns) << out;
  EXPECT_NE(kv["pid"], first.pid_ns) << out;
  EXPECT_NE(kv["pid"], host_ns("pid")) << out;
  EXPECT_FALSE(line_set(out.substr(out.find("==="))).count("sleep " + tok))
      << "a new pid namespace shows only its own processes" << out;

  // Its parent is the joined one.
  std::vector<pid_t> pids;
  ASSERT_TRUE(eventually([&] { return !(pids = pids_running("sleep", tok2)).empty(); }, 5s));
  Fd ns(::open(("/proc/" + std::to_string(pids[0]) + "/ns/pid").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(ns);
  EXPECT_EQ("pid:[" + std::to_string(ns_inode(kv["pid"]).value_or(0)) + "]",
            fd_link(ns.get()));
  Fd parent(::ioctl(ns.get(), NS_GET_PARENT));
  ASSERT_TRUE(parent) << std::strerror(errno);
  struct stat st;
  ASSERT_EQ(::fstat(parent.get(), &st), 0);
  EXPECT_EQ(static_cast<unsigned long long>(st.st_ino), ns_inode(first.pid_ns).value_or(0))
      << "the new pid namespace must be a child of the one given with --pidns";
}

TEST_P(ProtocolModeTest, UsernsWithUnshareUserFails) {
  RunOpts o = opts();
  o.leak_fds = {5};
  auto r = run(with_root(cat({{"--userns", "5", "--unshare-user"}, sh("echo RAN")})), o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(contains(r.err, "--userns")) << r;
}

// ---- --disable-userns, --assert-userns-disabled --------------------------------------------

TEST_P(ProtocolModeTest, DisableUsernsPreventsNewUserNamespaces) {
  IT_REQUIRE_FILE("/usr/bin/unshare");
  const std::string bin = sandbox_path();
  const std::string bindir = bin.substr(0, bin.rfind('/'));
  std::string nested = bin;
  for (const auto& a : base_root()) nested += " " + a;
  nested += " --unshare-user -- true";
  const std::string script = "unshare -U true && echo UNSHARE-OK; " + nested +
                             " && echo NESTED-OK; echo END";
  Args flags = {"--unshare-user", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                "--ro-bind", bindir, bindir};

  auto control = run(with_root(cat({flags, sh(script)})), opts());
  EXPECT_EQ(control.out, "UNSHARE-OK\nNESTED-OK\nEND\n")
      << "without --disable-userns both work (control)" << control;

  auto r = run(with_root(cat({flags, {"--disable-userns"}, sh(script)})), opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "END\n") << "neither unshare -U nor a nested sandbox may work" << r;
}

TEST_P(ProtocolModeTest, AssertUsernsDisabled) {
  auto alone = run(with_root(cat({{"--assert-userns-disabled"}, sh("echo RAN")})), opts());
  EXPECT_EQ(alone.exit_code, 1) << alone;
  EXPECT_EQ(alone.out, "") << alone;
  EXPECT_TRUE(contains(alone.err, "--assert-userns-disabled")) << alone;

  auto with = run(with_root(cat({{"--unshare-user", "--disable-userns",
                                  "--assert-userns-disabled"},
                                 sh("echo RAN")})),
                  opts());
  EXPECT_EQ(with.exit_code, 0) << with;
  EXPECT_EQ(with.out, "RAN\n") << with;
}

TEST_P(ProtocolModeTest, DisableUsernsNeedsAUserNamespace) {
  auto r = run(with_root(cat({{"--disable-userns"}, sh("echo RAN")})), opts());
  if (as_root()) {
    // Root gets no user namespace unless asked.
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_TRUE(contains(r.err, "--unshare-user")) << r;
  } else {
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(r.out, "RAN\n") << r;
  }
}

// ---- --seccomp, --add-seccomp-fd --------------------------------------------------------------

// A compiled program (libseccomp, native architecture) that fails the given syscalls with
// EPERM and allows everything else, in a memfd.
Fd bpf_denying(std::initializer_list<const char*> names) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return Fd();
  for (const char* n : names) {
    int nr = seccomp_syscall_resolve_name(n);
    if (nr != __NR_SCMP_ERROR) seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
  Fd fd(::memfd_create("it-bpf", MFD_CLOEXEC));
  if (fd && seccomp_export_bpf(ctx, fd.get()) != 0) fd.reset();
  seccomp_release(ctx);
  return fd;
}

const char* kSeccompScript =
    "mkdir /tmp/d; echo mkdir=$?; ln -s x /tmp/l; echo ln=$?; touch /tmp/f; echo touch=$?";

TEST_P(ProtocolModeTest, SeccompDeniesTheSyscall) {
  Fd prog = bpf_denying({"mkdir", "mkdirat"});
  ASSERT_TRUE(prog);
  RunOpts o = opts();
  o.in_child = give({{prog.get(), 5}});
  auto r = run(with_root(cat({{"--tmpfs", "/tmp", "--seccomp", "5"}, sh(kSeccompScript)})), o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "mkdir=1\nln=0\ntouch=0\n") << r;
  EXPECT_TRUE(contains(r.err, "Operation not permitted")) << r;
}

TEST_P(ProtocolModeTest, AddSeccompFdProgramsStack) {
  Fd p1 = bpf_denying({"mkdir", "mkdirat"});
  Fd p2 = bpf_denying({"symlink", "symlinkat"});
  ASSERT_TRUE(p1 && p2);
  RunOpts o = opts();
  o.in_child = give({{p1.get(), 5}, {p2.get(), 6}});
  auto r = run(with_root(cat({{"--tmpfs", "/tmp", "--add-seccomp-fd", "5", "--add-seccomp-fd",
                               "6"},
                              sh(kSeccompScript)})),
               o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "mkdir=1\nln=1\ntouch=0\n") << "both programs apply" << r;
}

TEST_P(ProtocolModeTest, SeccompProgramOfBadLengthFailsBeforeTheCommand) {
  TempDir out;
  for (const std::string opt : {"--seccomp", "--add-seccomp-fd"}) {
    for (const std::string& data : {std::string(12, '\0'), std::string()}) {
      Fd prog = memfd_with(data);
      RunOpts o = opts();
      o.in_child = give({{prog.get(), 5}});
      auto r = run(with_root(cat({{"--bind", out.path(), "/out", opt, "5"},
                                  sh("touch /out/marker")})),
                   o);
      EXPECT_EQ(r.exit_code, 1) << opt << " with " << data.size() << " bytes" << r;
      EXPECT_TRUE(contains(r.err, opt)) << r;
      EXPECT_FALSE(exists(out / "marker")) << "the command ran";
    }
  }
}

// bwrap's contract for stacked programs: each is installed with prctl(PR_SET_SECCOMP), so
// every program but the last must allow prctl and may deny seccomp(2); the last may deny
// prctl. (Loaded with seccomp(2), the second program could not be installed.)
TEST_P(ProtocolModeTest, StackedProgramsNeedOnlyPrctlAllowedBeforeTheLast) {
  Fd p1 = bpf_denying({"seccomp", "mkdir", "mkdirat"});
  Fd p2 = bpf_denying({"prctl", "symlink", "symlinkat"});
  ASSERT_TRUE(p1 && p2);
  RunOpts o = opts();
  o.in_child = give({{p1.get(), 5}, {p2.get(), 6}});
  auto r = run(with_root(cat({{"--tmpfs", "/tmp", "--add-seccomp-fd", "5", "--add-seccomp-fd",
                               "6"},
                              sh(kSeccompScript)})),
               o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "mkdir=1\nln=1\ntouch=0\n") << "both programs apply" << r;
}

// A program that cannot be installed (the one before it denies both prctl and seccomp) is an
// error that says so, before the command runs, even though that earlier program also denies
// sendmsg, the call the setup channel normally uses to report errors.
TEST_P(ProtocolModeTest, StackedProgramThatCannotBeLoadedIsReported) {
  Fd p1 = bpf_denying({"seccomp", "prctl", "sendmsg"});
  Fd p2 = bpf_denying({"mkdir", "mkdirat"});
  ASSERT_TRUE(p1 && p2);
  RunOpts o = opts();
  o.in_child = give({{p1.get(), 5}, {p2.get(), 6}});
  auto r = run(with_root(cat({{"--add-seccomp-fd", "5", "--add-seccomp-fd", "6"},
                              sh("echo RAN")})),
               o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_TRUE(contains(r.err, "Can't load seccomp program 2 of 2")) << r;
  EXPECT_TRUE(contains(r.err, "prctl")) << r;
}

// The diagnostics bwrap's callers and its test suite match, word for word, through a
// `bwrap` symlink; our own explanation may follow on a line of its own.
TEST_P(ProtocolModeTest, SeccompErrorsUseBwrapWords) {
  auto has_line = [](const RunResult& r, const std::string& line) {
    for (const auto& l : lines(r.err))
      if (l == line) return true;
    return false;
  };
  RunOpts base = opts();
  base.exe = bwrap_alias_path();
  base.argv0 = "bwrap";
  for (const std::string opt : {"--seccomp", "--add-seccomp-fd"}) {
    for (const std::string bad : {"-1", "0a", ""}) {
      auto r = run(with_root(cat({{opt, bad}, sh("echo RAN")})), base);
      EXPECT_EQ(r.exit_code, 1) << r;
      EXPECT_EQ(r.out, "") << r;
      EXPECT_TRUE(has_line(r, "bwrap: Invalid fd: " + bad)) << r;
    }
  }
  // The same descriptor twice: bwrap closes it once read, so the second read fails.
  Fd empty = memfd_with("");
  Fd odd = memfd_with(std::string(9, '\0'));
  ASSERT_TRUE(empty && odd);
  RunOpts o = base;
  o.in_child = give({{empty.get(), 5}, {odd.get(), 6}});
  auto twice = run(with_root(cat({{"--add-seccomp-fd", "5", "--add-seccomp-fd", "5"},
                                  sh("echo RAN")})),
                   o);
  EXPECT_EQ(twice.exit_code, 1) << twice;
  EXPECT_EQ(twice.out, "") << twice;
  EXPECT_EQ(first_line(twice.err).rfind("bwrap: Can't read seccomp data: ", 0), 0u) << twice;
  // An empty program, then one whose length is not a multiple of 8: bwrap reports the
  // length first.
  auto odd_len = run(with_root(cat({{"--add-seccomp-fd", "5", "--add-seccomp-fd", "6"},
                                    sh("echo RAN")})),
                     o);
  EXPECT_EQ(odd_len.exit_code, 1) << odd_len;
  EXPECT_EQ(odd_len.out, "") << odd_len;
  EXPECT_TRUE(has_line(odd_len, "bwrap: Invalid seccomp data, must be multiple of 8")) << odd_len;
}

TEST_P(ProtocolModeTest, SeccompCannotBeRepeatedOrMixed) {
  RunOpts o = opts();
  o.leak_fds = {5, 6};
  for (const Args& flags : {Args{"--seccomp", "5", "--seccomp", "6"},
                            Args{"--seccomp", "5", "--add-seccomp-fd", "6"},
                            Args{"--add-seccomp-fd", "5", "--seccomp", "6"}}) {
    auto r = run(with_root(cat({flags, sh("echo RAN")})), o);
    EXPECT_EQ(r.exit_code, 1) << flags[0] << " " << flags[2] << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_TRUE(contains(r.err, "--seccomp")) << r;
  }
}

// ---- SELinux labels ---------------------------------------------------------------------------

TEST_P(ProtocolModeTest, LabelsNeedSelinux) {
  if (exists("/sys/fs/selinux")) GTEST_SKIP() << "SELinux is available on this host";
  for (const std::string opt : {"--exec-label", "--file-label"}) {
    auto r = run(with_root(cat({{opt, "system_u:object_r:container_file_t:s0"}, sh("echo RAN")})),
                 opts());
    EXPECT_EQ(r.exit_code, 1) << opt << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_TRUE(contains(r.err, opt)) << r;
    EXPECT_TRUE(contains(r.err, "SELinux")) << r;
  }
}
}  // namespace
}  // namespace it
