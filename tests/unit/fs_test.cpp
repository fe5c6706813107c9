// The new-root builder's pieces that need no mount namespace: the backend choice, the
// flag and option translations, what each op asks of the backend (a recording backend on
// directories standing in for the old and new roots), path resolution.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "fs/backend.hpp"
#include "fs/mountapi.hpp"
#include "fs/ops.hpp"
#include "fs/resolve.hpp"
#include "fs/roots.hpp"
#include "util/error.hpp"
#include "temp_dir.hpp"

namespace stdfs = std::filesystem;
using namespace sb;
using namespace sb::fs;

namespace {

// ---- backend selection ----

TEST(FsBackend, LegacyIsForcedOnlyByOne) {
  EXPECT_FALSE(legacy_forced(nullptr));
  EXPECT_TRUE(legacy_forced("1"));
  EXPECT_FALSE(legacy_forced("0"));
  EXPECT_FALSE(legacy_forced(""));
  EXPECT_FALSE(legacy_forced("11"));
  EXPECT_FALSE(legacy_forced("yes"));
}

TEST(FsBackend, SelectionFollowsTheProbe) {
  EXPECT_EQ(select_mount_api(true), MountApi::New);
  EXPECT_EQ(select_mount_api(false), MountApi::Legacy);
}

TEST(FsBackend, FactoryMakesTheChosenBackend) {
  auto n = make_mount_backend(MountApi::New, "/proc");
  auto l = make_mount_backend(MountApi::Legacy, "/proc");
  EXPECT_EQ(n->api(), MountApi::New);
  EXPECT_STREQ(n->name(), "new mount API");
  EXPECT_EQ(l->api(), MountApi::Legacy);
  EXPECT_STREQ(l->name(), "mount(2)");
}

// ---- translations ----

TEST(FsBackend, AttrsBecomeMsFlags) {
  EXPECT_EQ(ms_flags_of_attrs(0), 0ul);
  EXPECT_EQ(ms_flags_of_attrs(MOUNT_ATTR_RDONLY), static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(ms_flags_of_attrs(MOUNT_ATTR_NOSUID), static_cast<unsigned long>(MS_NOSUID));
  EXPECT_EQ(ms_flags_of_attrs(MOUNT_ATTR_NODEV), static_cast<unsigned long>(MS_NODEV));
  EXPECT_EQ(ms_flags_of_attrs(MOUNT_ATTR_NOEXEC), static_cast<unsigned long>(MS_NOEXEC));
  EXPECT_EQ(ms_flags_of_attrs(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV),
            static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_NODEV));
}

TEST(FsBackend, StatvfsFlagsAreKeptOnRemount) {
  EXPECT_EQ(ms_flags_of_statvfs(0), 0ul);
  EXPECT_EQ(ms_flags_of_statvfs(ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_RDONLY),
            static_cast<unsigned long>(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY));
  EXPECT_EQ(ms_flags_of_statvfs(ST_NOATIME | ST_NODIRATIME | ST_RELATIME),
            static_cast<unsigned long>(MS_NOATIME | MS_NODIRATIME | MS_RELATIME));
  // Flags a bind remount cannot carry (ST_MANDLOCK, ST_SYNCHRONOUS) are not repeated.
  EXPECT_EQ(ms_flags_of_statvfs(ST_SYNCHRONOUS), 0ul);
}

TEST(FsBackend, OptionsJoinForMount2) {
  EXPECT_EQ(join_fs_options({}), "");
  EXPECT_EQ(join_fs_options({{"newinstance", ""}, {"ptmxmode", "0666"}, {"mode", "620"}}),
            "newinstance,ptmxmode=0666,mode=620");
}

// ---- op rules ----

TEST(FsRules, ParentModesFollowTheOpsMode) {
  EXPECT_EQ(parent_mode_for(0755), 0755u);
  EXPECT_EQ(parent_mode_for(0), 0700u);
  EXPECT_EQ(parent_mode_for(0700), 0700u);
  EXPECT_EQ(parent_mode_for(0750), 0750u);
  EXPECT_EQ(parent_mode_for(0705), 0705u);
  EXPECT_EQ(parent_mode_for(0600), 0700u);
  EXPECT_EQ(parent_mode_for(0666), 0755u);
}

TEST(FsRules, OpPermsAsBwrapCountsThem) {
  EXPECT_EQ(op_perms(FsOp{DirOp{"/d", std::nullopt}}), 0755u);
  EXPECT_EQ(op_perms(FsOp{DirOp{"/d", 0700u}}), 0700u);
  EXPECT_EQ(op_perms(FsOp{TmpfsOp{"/t", 01777u, std::nullopt}}), 01777u);
  EXPECT_EQ(op_perms(FsOp{TmpfsOp{"/t", std::nullopt, std::nullopt}}), 0755u);
  DataOp file;
  file.kind = DataOp::Kind::File;
  EXPECT_EQ(op_perms(FsOp{file}), 0666u);
  DataOp data;
  data.kind = DataOp::Kind::RoBindData;
  EXPECT_EQ(op_perms(FsOp{data}), 0600u);
  data.perms = 0644;
  EXPECT_EQ(op_perms(FsOp{data}), 0644u);
  EXPECT_EQ(op_perms(FsOp{BindOp{}}), 0u);
  EXPECT_EQ(op_perms(FsOp{ProcOp{"/proc"}}), 0u);
  EXPECT_EQ(op_perms(FsOp{SymlinkOp{"a", "/b"}}), 0u);
}

TEST(FsRules, BindsNeverHonourSetuidAndOnlyDevBindShowsDevices) {
  EXPECT_EQ(bind_attrs(BindOp::Mode::ReadWrite, false), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  EXPECT_EQ(bind_attrs(BindOp::Mode::ReadOnly, false),
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY);
  EXPECT_EQ(bind_attrs(BindOp::Mode::Devices, false), static_cast<uint64_t>(MOUNT_ATTR_NOSUID));
  // By fd: never devices, whatever the mode.
  EXPECT_EQ(bind_attrs(BindOp::Mode::Devices, true), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  EXPECT_EQ(bind_attrs(BindOp::Mode::ReadOnly, true),
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY);
  // An OCI mount's "noexec" adds to them.
  EXPECT_EQ(bind_attrs(BindOp::Mode::ReadWrite, false, true),
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

TEST(FsRules, TmpfsOptions) {
  EXPECT_EQ(tmpfs_options(0755, std::nullopt, std::nullopt), (FsOptions{{"mode", "0755"}}));
  EXPECT_EQ(tmpfs_options(01777, uint64_t{1048576}, std::string("system_u:object_r:t:s0")),
            (FsOptions{{"mode", "01777"}, {"size", "1048576"}, {"context", "system_u:object_r:t:s0"}}));
  EXPECT_EQ(mode_str(0), "00");
  EXPECT_EQ(mode_str(0700), "0700");
}

TEST(FsRules, OverlayLowerdirListsTheLastSourceFirst) {
  EXPECT_EQ(overlay_options(OverlayOp::Kind::ReadOnly, {"/bottom", "/mid", "/top"}, "", ""),
            (FsOptions{{"lowerdir", "/top:/mid:/bottom"}}));
  EXPECT_EQ(overlay_options(OverlayOp::Kind::Tmp, {"/l"}, "/u", "/w"),
            (FsOptions{{"lowerdir", "/l"}, {"upperdir", "/u"}, {"workdir", "/w"}, {"userxattr", ""}}));
  EXPECT_EQ(overlay_options(OverlayOp::Kind::ReadWrite, {"/a", "/b"}, "/u", "/w"),
            (FsOptions{{"lowerdir", "/b:/a"}, {"upperdir", "/u"}, {"workdir", "/w"}, {"userxattr", ""}}));
}

// ---- paths ----

TEST(FsResolve, LexicalPieces) {
  EXPECT_EQ(split_path("/a//b/"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split_path("a/./.."), (std::vector<std::string>{"a", ".", ".."}));
  EXPECT_EQ(parent_of("/a/b"), "/a");
  EXPECT_EQ(parent_of("/a"), "/");
  EXPECT_EQ(parent_of("a"), "/");
  EXPECT_EQ(base_of("/a/b"), "b");
  EXPECT_EQ(base_of("b"), "b");
  EXPECT_EQ(lexically_normal("/etc/../run/systemd/./resolve"), "/run/systemd/resolve");
  EXPECT_EQ(lexically_normal("/../../x"), "/x");
  EXPECT_EQ(lexically_normal("/a/.."), "");
  EXPECT_EQ(lexically_normal("a//b"), "/a/b");
}

std::string resolver_name(const ::testing::TestParamInfo<bool>& p) {
  return p.param ? "Openat2" : "Walk";
}

// Both resolvers (openat2 where the kernel has it, the user-space walk always).
class FsResolveModes : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && !have_openat2()) GTEST_SKIP() << "openat2 is not available";
  }
};

TEST_P(FsResolveModes, SymlinksAndDotDotStayInsideTheRoot) {
  test::TempDir t;
  t.write("root/etc/f", "inside\n");
  t.write("etc/f", "outside\n");
  ::symlink("/etc", (t.path() + "/root/abs").c_str());
  ::symlink("../../../../../../etc", (t.path() + "/root/rel").c_str());
  UniqueFd root(::open((t.path() + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  Resolver r(GetParam());
  for (const char* p : {"/abs/f", "rel/f", "/../../etc/f", "etc/../../etc/f"}) {
    UniqueFd fd(r.open(root.get(), p, O_RDONLY));
    ASSERT_TRUE(fd) << p << ": " << std::strerror(errno);
    char buf[32] = {};
    ASSERT_GT(::read(fd.get(), buf, sizeof buf - 1), 0);
    EXPECT_STREQ(buf, "inside\n") << p;
    EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0) << p;
  }
  errno = 0;
  EXPECT_FALSE(UniqueFd(r.open(root.get(), "/etc/f", O_PATH | O_DIRECTORY)));
  EXPECT_EQ(errno, ENOTDIR);
}

INSTANTIATE_TEST_SUITE_P(Resolvers, FsResolveModes, ::testing::Values(false, true),
                         resolver_name);

// ---- ops → primitives ----

struct Call {
  std::string kind;  // bind, fs, ro
  std::string type;  // fs type, or the bound source's path relative to the old root
  FsOptions opts;
  uint64_t attrs = 0;
  bool recursive = false;
};

std::string fd_target(int fd) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

class Recorder : public MountBackend {
 public:
  mutable std::vector<Call> calls;
  MountApi api() const override { return MountApi::New; }
  const char* name() const override { return "recorder"; }
  void bind(int src, int, bool recursive, uint64_t attrs, const std::string&) const override {
    calls.push_back({"bind", fd_target(src), {}, attrs, recursive});
  }
  void mount_fs(const char* type, const FsOptions& opts, uint64_t attrs, int,
                const std::string&) const override {
    calls.push_back({"fs", type, opts, attrs, false});
  }
  void remount_ro(int mp, const std::string&) const override {
    calls.push_back({"ro", fd_target(mp), {}, 0, false});
  }
};

class FsOps : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && !have_openat2()) GTEST_SKIP() << "openat2 is not available";
    stdfs::create_directories(t.path() + "/old/src");
    stdfs::create_directories(t.path() + "/old/proc");
    stdfs::create_directories(t.path() + "/new");
    roots.open();
  }
  test::TempDir t;
  Roots roots{Resolver(GetParam()), t.path() + "/old", t.path() + "/new"};
  Recorder rec;
};

TEST_P(FsOps, BindsTakeTheTreeWithTheirFlags) {
  OpApplier ops(roots, rec, {});
  BindOp b;
  b.source = "/src";
  b.dest = "/a/b";
  b.mode = BindOp::Mode::ReadOnly;
  ops.apply(b);
  b.mode = BindOp::Mode::Devices;
  b.dest = "/c";
  ops.apply(b);
  ASSERT_EQ(rec.calls.size(), 2u);
  EXPECT_EQ(rec.calls[0].kind, "bind");
  EXPECT_EQ(rec.calls[0].type, t.path() + "/old/src");
  EXPECT_TRUE(rec.calls[0].recursive);
  EXPECT_EQ(rec.calls[0].attrs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY);
  EXPECT_EQ(rec.calls[1].attrs, static_cast<uint64_t>(MOUNT_ATTR_NOSUID));
  EXPECT_TRUE(stdfs::is_directory(t.path() + "/new/a/b"));  // the mount point was made
  // A missing source is an error, unless the -try variant asked for it.
  b.source = "/missing";
  EXPECT_THROW(ops.apply(b), SysError);
  b.allow_missing = true;
  EXPECT_NO_THROW(ops.apply(b));
  EXPECT_EQ(rec.calls.size(), 2u);
}

TEST_P(FsOps, FreshFilesystemsGetTheirOptionsAndFlags) {
  OpEnv env;
  env.own_pidns = true;
  OpApplier ops(roots, rec, env);
  ops.apply(TmpfsOp{"/tmp", 01777u, uint64_t{4096}});
  ops.apply(MqueueOp{"/dev/mqueue"});
  ops.apply(ProcOp{"/proc"});
  ops.apply(RemountRoOp{"/tmp"});
  ASSERT_EQ(rec.calls.size(), 4u);
  EXPECT_EQ(rec.calls[0].type, "tmpfs");
  EXPECT_EQ(rec.calls[0].opts, (FsOptions{{"mode", "01777"}, {"size", "4096"}}));
  EXPECT_EQ(rec.calls[0].attrs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  EXPECT_EQ(rec.calls[1].type, "mqueue");
  EXPECT_EQ(rec.calls[1].attrs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  // Its own PID namespace: a procfs of its own, never the caller's.
  EXPECT_EQ(rec.calls[2].kind, "fs");
  EXPECT_EQ(rec.calls[2].type, "proc");
  EXPECT_EQ(rec.calls[2].attrs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  EXPECT_EQ(rec.calls[3].kind, "ro");
  EXPECT_EQ(rec.calls[3].type, t.path() + "/new/tmp");
}

TEST_P(FsOps, SharedPidNamespaceBindsTheCallersProc) {
  OpApplier ops(roots, rec, {});
  ops.apply(ProcOp{"/proc"});
  ASSERT_EQ(rec.calls.size(), 1u);
  EXPECT_EQ(rec.calls[0].kind, "bind");
  EXPECT_EQ(rec.calls[0].type, t.path() + "/old/proc");
  EXPECT_TRUE(rec.calls[0].recursive);
  EXPECT_EQ(rec.calls[0].attrs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

TEST_P(FsOps, DevBindsHostNodesAndMountsItsOwnDevpts) {
  for (const char* n : {"null", "zero", "full", "random", "urandom", "tty"})
    t.write(std::string("old/dev/") + n, "");
  OpApplier ops(roots, rec, {});
  ops.apply(DevOp{"/dev"});
  ASSERT_EQ(rec.calls.size(), 8u);
  EXPECT_EQ(rec.calls[0].type, "tmpfs");
  EXPECT_EQ(rec.calls[0].opts, (FsOptions{{"mode", "0755"}}));
  for (size_t i = 1; i <= 6; ++i) {
    EXPECT_EQ(rec.calls[i].kind, "bind");
    EXPECT_FALSE(rec.calls[i].recursive);
    EXPECT_EQ(rec.calls[i].attrs, static_cast<uint64_t>(MOUNT_ATTR_NOSUID));  // not noexec
  }
  EXPECT_EQ(rec.calls[1].type, t.path() + "/old/dev/null");
  EXPECT_EQ(rec.calls[7].type, "devpts");
  EXPECT_EQ(rec.calls[7].opts,
            (FsOptions{{"newinstance", ""}, {"ptmxmode", "0666"}, {"mode", "620"}}));
  EXPECT_EQ(rec.calls[7].attrs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  EXPECT_EQ(stdfs::read_symlink(t.path() + "/new/dev/stdin"), "/proc/self/fd/0");
  EXPECT_EQ(stdfs::read_symlink(t.path() + "/new/dev/ptmx"), "pts/ptmx");
}

TEST_P(FsOps, AMountPointBehindASymlinkStaysInTheNewRoot) {
  t.write("host/keep", "");
  ::symlink((t.path() + "/host").c_str(), (t.path() + "/new/link").c_str());
  OpApplier ops(roots, rec, {});
  BindOp b;
  b.source = "/src";
  b.dest = "/link/x";
  EXPECT_THROW(ops.apply(b), Error);
  EXPECT_TRUE(rec.calls.empty());
  EXPECT_FALSE(stdfs::exists(t.path() + "/host/x")) << "a mount point was made on the host";
}

INSTANTIATE_TEST_SUITE_P(Resolvers, FsOps, ::testing::Values(false, true),
                         resolver_name);

}  // namespace
