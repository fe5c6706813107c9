// util/nsfs: OCI namespace names to CLONE_NEW* flags, and the type of a namespace file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include "util/fd.hpp"
#include "util/nsfs.hpp"

namespace sb::nsfs {
namespace {

TEST(Nsfs, OciNamesAndKernelNames) {
  EXPECT_EQ(clone_flag("network"), CLONE_NEWNET);
  EXPECT_EQ(clone_flag("ipc"), CLONE_NEWIPC);
  EXPECT_EQ(clone_flag("uts"), CLONE_NEWUTS);
  EXPECT_EQ(clone_flag("cgroup"), CLONE_NEWCGROUP);
  EXPECT_EQ(clone_flag("mount"), CLONE_NEWNS);
  EXPECT_EQ(clone_flag("user"), CLONE_NEWUSER);
  EXPECT_EQ(clone_flag("pid"), CLONE_NEWPID);
  EXPECT_EQ(clone_flag("net"), 0);  // the kernel's name, not OCI's
  EXPECT_EQ(clone_flag(""), 0);
  EXPECT_STREQ(type_name(CLONE_NEWNET), "net");
  EXPECT_STREQ(type_name(CLONE_NEWNS), "mnt");
  EXPECT_STREQ(type_name(CLONE_NEWCGROUP), "cgroup");
  EXPECT_STREQ(type_name(0), "unknown");
}

// Each /proc/self/ns file is its own type; anything else is no namespace at all.
TEST(Nsfs, TypeOfADescriptor) {
  for (const char* t : {"net", "ipc", "uts", "mnt", "user", "pid", "cgroup"}) {
    UniqueFd fd(::open((std::string("/proc/self/ns/") + t).c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd) << t;
    EXPECT_STREQ(type_name(type_of(fd.get())), t);
  }
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(null);
  errno = 0;
  EXPECT_EQ(type_of(null.get()), -1);
  EXPECT_NE(errno, 0);
}

}  // namespace
}  // namespace sb::nsfs
