// Unit tests for util/mountinfo.hpp: the kernel's octal escapes and the line format, on
// text and on the kernel's own /proc/self/mountinfo for mount points with odd names.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "util/io.hpp"
#include "util/mountinfo.hpp"

namespace sb::mountinfo {
namespace {

// ---- unescape ---------------------------------------------------------------------------

TEST(MountinfoUnescape, DecodesWhatTheKernelEscapes) {
  // show_mountinfo escapes space, tab, newline and backslash.
  EXPECT_EQ(unescape("/a\\040b"), "/a b");
  EXPECT_EQ(unescape("/a\\011b"), "/a\tb");
  EXPECT_EQ(unescape("/a\\012b"), "/a\nb");
  EXPECT_EQ(unescape("/a\\134b"), "/a\\b");
  EXPECT_EQ(unescape("\\040\\040"), "  ");
  EXPECT_EQ(unescape("/end\\040"), "/end ");
  EXPECT_EQ(unescape("\\377"), "\xff");
  EXPECT_EQ(unescape("\\000"), std::string(1, '\0'));
}

TEST(MountinfoUnescape, ADecodedBackslashIsNotDecodedAgain) {
  EXPECT_EQ(unescape("/a\\134040"), "/a\\040");
}

TEST(MountinfoUnescape, KeepsABackslashWithoutThreeOctalDigits) {
  EXPECT_EQ(unescape("\\"), "\\");
  EXPECT_EQ(unescape("/a\\"), "/a\\");
  EXPECT_EQ(unescape("/a\\b"), "/a\\b");
  EXPECT_EQ(unescape("/a\\04"), "/a\\04");    // two digits at the end
  EXPECT_EQ(unescape("/a\\04x"), "/a\\04x");  // two digits, then something else
  EXPECT_EQ(unescape("/a\\0x9"), "/a\\0x9");  // one digit (an earlier copy decoded this)
  EXPECT_EQ(unescape("/a\\8000"), "/a\\8000");
  EXPECT_EQ(unescape("/a\\400"), "/a\\400");  // more than a byte
  EXPECT_EQ(unescape("\\\\040"), "\\ ");      // a lone one, then an escape
}

// ---- parse ------------------------------------------------------------------------------

TEST(MountinfoParse, ReadsEveryField) {
  auto e = parse_line("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->mount_id, 36);
  EXPECT_EQ(e->parent_id, 35);
  EXPECT_EQ(e->root, "/mnt1");
  EXPECT_EQ(e->mountpoint, "/mnt2");
  EXPECT_EQ(e->mount_options, "rw,noatime");
  EXPECT_EQ(e->fstype, "ext3");
  EXPECT_EQ(e->source, "/dev/root");
  EXPECT_EQ(e->super_options, "rw,errors=continue");
}

TEST(MountinfoParse, AnyNumberOfOptionalFields) {
  auto none = parse_line("22 1 0:21 / / rw - tmpfs tmpfs rw");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->fstype, "tmpfs");
  auto three = parse_line("22 1 0:21 / /x rw shared:1 master:2 propagate_from:3 - proc proc rw");
  ASSERT_TRUE(three);
  EXPECT_EQ(three->mountpoint, "/x");
  EXPECT_EQ(three->fstype, "proc");
  EXPECT_EQ(three->super_options, "rw");
}

TEST(MountinfoParse, DecodesEscapedPaths) {
  auto e = parse_line(
      "40 22 0:50 /dir\\040with\\040spaces /mnt/new\\012line\\134back\\040slash rw - tmpfs "
      "my\\040src rw");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->root, "/dir with spaces");
  EXPECT_EQ(e->mountpoint, "/mnt/new\nline\\back slash");
  EXPECT_EQ(e->source, "my src");
}

TEST(MountinfoParse, RejectsWhatIsNotAMountinfoLine) {
  EXPECT_FALSE(parse_line(""));
  EXPECT_FALSE(parse_line("1 2 3"));
  EXPECT_FALSE(parse_line("22 1 0:21 / / rw tmpfs tmpfs rw"));  // no separator
  EXPECT_FALSE(parse_line("22 1 0:21 / / rw - tmpfs tmpfs"));   // a field short after it
  EXPECT_FALSE(parse_line("22 1 0:21 / - tmpfs tmpfs rw"));     // fixed fields short
  EXPECT_FALSE(parse_line("x 1 0:21 / / rw - tmpfs tmpfs rw"));
  EXPECT_FALSE(parse_line("22 -1 0:21 / / rw - tmpfs tmpfs rw"));
}

TEST(MountinfoParse, EveryWellFormedLineInOrder) {
  auto v = parse(
      "1 0 0:1 / / rw - rootfs rootfs rw\n"
      "garbage\n"
      "\n"
      "2 1 0:2 / /proc rw,nosuid - proc proc rw\n"
      "3 1 0:3 / /tmp rw - tmpfs tmpfs rw");  // the last line needs no newline
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].mountpoint, "/");
  EXPECT_EQ(v[1].mountpoint, "/proc");
  EXPECT_EQ(v[1].mount_options, "rw,nosuid");
  EXPECT_EQ(v[2].mountpoint, "/tmp");
  EXPECT_TRUE(parse("").empty());
}

// The kernel's own escaping: tmpfs mounted (in a private user and mount namespace) on
// directories whose names hold a space, a tab, a newline and backslashes; each must come
// back from /proc/self/mountinfo as it was made.
TEST(MountinfoParse, TheKernelsEscapesRoundTrip) {
  test::TempDir d;
  const std::vector<std::string> names = {"with space", "tab\there", "new\nline",
                                          "back\\slash", "lone\\04x", "oct\\040al"};
  for (const auto& n : names) ASSERT_EQ(::mkdir((d.path() + "/" + n).c_str(), 0700), 0) << n;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string out;
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      out = std::string("skip: unshare(CLONE_NEWUSER|CLONE_NEWNS): ") + std::strerror(errno);
    } else {
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
      for (const auto& n : names) {
        std::string dir = d.path() + "/" + n;
        if (::mount("none", dir.c_str(), "tmpfs", 0, nullptr) != 0) {
          out = "fail: mount tmpfs on " + dir + ": " + std::strerror(errno);
          break;
        }
      }
      if (out.empty()) out = "ok\n" + io::read_file("/proc/self/mountinfo").value_or("");
    }
    (void)io::write_all(p[1], out);
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  EXPECT_EQ(io::read_all(p[0], out), 0);
  ::close(p[0]);
  int status;
  ::waitpid(pid, &status, 0);
  if (out.rfind("skip: ", 0) == 0) GTEST_SKIP() << out;
  ASSERT_EQ(out.rfind("ok\n", 0), 0u) << out;
  std::vector<std::string> found;
  for (const auto& e : parse(out.substr(3)))
    if (e.fstype == "tmpfs" && e.mountpoint.rfind(d.path() + "/", 0) == 0)
      found.push_back(e.mountpoint.substr(d.path().size() + 1));
  std::sort(found.begin(), found.end());
  auto want = names;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(found, want);
  // Control: the raw text really escapes them, so the test shows the unescaping.
  EXPECT_NE(out.find("with\\040space"), std::string::npos);
  EXPECT_NE(out.find("new\\012line"), std::string::npos);
  EXPECT_NE(out.find("back\\134slash"), std::string::npos);
}

}  // namespace
}  // namespace sb::mountinfo
