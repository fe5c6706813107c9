// The new root: what is in it, binds (read-only, read-write, missing sources), symlinks,
// tmpfs, dirs, /dev, /proc, mqueue, and that the host is left alone.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "harness.hpp"

namespace it {
namespace {

std::optional<MountEntry> mount_at(const std::vector<MountEntry>& v, const std::string& mp) {
  std::optional<MountEntry> found;
  for (const auto& m : v)
    if (m.mountpoint == mp) found = m;  // the last one is the visible one
  return found;
}

class FsTest : public SandboxTest {};
class FsModeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, FsModeTest, ::testing::Bool(), mode_name);

// ---- What the root holds -----------------------------------------------------------------

TEST_P(FsModeTest, RootHoldsOnlyWhatWasAsked) {
  auto r =
      run(with_root({"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--", "ls", "-A", "/"}),
          opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto expected = base_root_entries();
  expected.insert({"dev", "proc", "tmp"});
  EXPECT_EQ(line_set(r.out), expected) << r;
}

TEST_P(FsModeTest, OldRootIsNotVisible) {
  auto r = run(with_root({"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--", "sh", "-c",
                          "cat /proc/self/mountinfo; echo ===; ls -A /"}),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto sep = r.out.find("===\n");
  ASSERT_NE(sep, std::string::npos) << r;
  std::string mountinfo = r.out.substr(0, sep);
  EXPECT_FALSE(contains(mountinfo, "oldroot")) << r;
  EXPECT_FALSE(contains(r.out.substr(sep), "oldroot")) << r;

  struct stat root_st;
  ASSERT_EQ(::stat("/", &root_st), 0);
  auto entries = parse_mountinfo(mountinfo);
  ASSERT_FALSE(entries.empty()) << r;
  for (const auto& m : entries) {
    bool allowed = m.mountpoint == "/" || m.mountpoint == "/usr" || m.mountpoint == "/tmp" ||
                   m.mountpoint == "/proc" || m.mountpoint.rfind("/proc/", 0) == 0 ||
                   m.mountpoint == "/dev" || m.mountpoint.rfind("/dev/", 0) == 0;
    EXPECT_TRUE(allowed) << "unexpected mount inside: " << m.mountpoint << " (" << m.fstype << ")";
    // The host's root filesystem may only show up where it was bound: /usr.
    if (m.major == major(root_st.st_dev) && m.minor == minor(root_st.st_dev)) {
      EXPECT_EQ(m.mountpoint, "/usr") << "host root filesystem visible at " << m.mountpoint;
      EXPECT_EQ(m.root, "/usr") << "host root filesystem visible at " << m.mountpoint;
    }
  }
}

TEST_P(FsModeTest, HostMountTableUnchangedByManyOperations) {
  TempDir d;
  auto before = host_mounts();
  auto r = run(with_root({"--proc",       "/proc",         "--dev",     "/dev",        "--tmpfs",
                          "/tmp",         "--unshare-ipc", "--mqueue",  "/dev/mqueue", "--bind",
                          d.path(),       "/data",         "--ro-bind", d.path(),      "/ro",
                          "--dir",        "/a/b",          "--symlink", "a",           "/l",
                          "--remount-ro", "/tmp",          "--",        "true"}),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(host_mounts(), before);
}

// ---- Binds ---------------------------------------------------------------------------------

TEST_P(FsModeTest, RoBindIsReadOnly) {
  TempDir d;
  write_file(d / "hello", "hello-from-host\n");
  auto r =
      run(with_root(cat({{"--ro-bind", d.path(), "/data"}, sh("cat /data/hello; touch /data/x")})),
          opts());
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "hello-from-host\n") << r;
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
  EXPECT_EQ(d.entries(), (std::vector<std::string>{"hello"})) << "nothing written on the host";
}

// SANDBOX_TEST_LEGACY_MOUNT=1 is how the tests cover the mount(2) backend on kernels that
// have the new API: it must really switch (--verbose names the backend used), and the
// legacy backend must build the same root (a read-only bind, a writable tmpfs, a proc).
TEST_P(FsModeTest, LegacyMountSwitchSelectsTheMount2Backend) {
  TempDir d;
  write_file(d / "hello", "hello-from-host\n");
  const std::vector<std::string> args = with_root(
      cat({{"--verbose", "--unshare-pid", "--proc", "/proc", "--tmpfs", "/tmp", "--ro-bind",
            d.path(), "/data"},
           sh("cat /data/hello; touch /data/x 2>/dev/null && echo RO-WRITTEN; "
              "echo t > /tmp/t && cat /tmp/t; test -r /proc/1/status && echo proc")}));
  auto plain = run(args, opts());
  ASSERT_EQ(plain.exit_code, 0) << plain;
  RunOpts o = opts();
  o.env = {"SANDBOX_TEST_LEGACY_MOUNT=1"};
  auto legacy = run(args, o);
  ASSERT_EQ(legacy.exit_code, 0) << legacy;
  EXPECT_TRUE(contains(legacy.err, "filesystem operations applied (mount(2))")) << legacy;
  EXPECT_EQ(legacy.out, "hello-from-host\nt\nproc\n") << legacy;
  EXPECT_EQ(plain.out, legacy.out) << plain;
  EXPECT_EQ(d.entries(), (std::vector<std::string>{"hello"})) << "nothing written on the host";
  if (!contains(plain.err, "(new mount API)"))
    GTEST_SKIP() << "this kernel has no new mount API, so only mount(2) was compared: " << plain;
}

// A filesystem mounted below the source of a --ro-bind is read-only inside too. The
// submount lives in a private mount namespace of the caller (made in the forked child before
// the sandbox starts), so the real host mount table is never touched.
TEST_P(FsModeTest, RoBindSubmountIsReadOnly) {
  IT_REQUIRE_ROOT();  // to mount a tmpfs in the caller's namespace
  TempDir d;
  ASSERT_EQ(::mkdir((d / "sub").c_str(), 0777), 0);
  RunOpts o = opts();
  const std::string sub = d / "sub", file = d / "sub/existing";
  o.in_child = [sub, file] {
    if (::unshare(CLONE_NEWNS) != 0) return false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return false;
    if (::mount("tmpfs", sub.c_str(), "tmpfs", 0, "mode=0777,size=1m") != 0) return false;
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    bool ok = ::write(fd, "in-submount\n", 12) == 12;
    ::close(fd);
    return ok;
  };
  auto r = run(with_root(cat({{"--ro-bind", d.path(), "/data"},
                              sh("cat /data/sub/existing; touch /data/sub/x")})),
               o);
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "in-submount\n") << "the submount must be visible" << r;
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
  EXPECT_TRUE(d.entries() == std::vector<std::string>{"sub"});
}

// Even with all capabilities in a nested user namespace, a --ro-bind stays read-only.
TEST_P(FsModeTest, RoBindCannotBeMadeWritableFromNestedUserNamespace) {
  IT_REQUIRE_FILE("/usr/bin/unshare");
  TempDir d;
  auto r =
      run(with_root(cat({{"--proc", "/proc", "--dev", "/dev", "--ro-bind", d.path(), "/data"},
                         sh("unshare -Urm sh -c 'echo INNER; mount -o remount,rw,bind /data && "
                            "echo REMOUNTED; touch /data/x && echo WRITTEN'; echo END")})),
          opts());
  EXPECT_TRUE(contains(r.out, "INNER")) << "unshare -Urm should work inside" << r;
  EXPECT_TRUE(contains(r.out, "END")) << r;
  EXPECT_FALSE(contains(r.out, "REMOUNTED")) << r;
  EXPECT_FALSE(contains(r.out, "WRITTEN")) << r;
  EXPECT_TRUE(d.entries().empty());
}

TEST_F(FsTest, UnprivilegedCannotRemountRoBindRw) {
  TempDir d;
  for (const Args& ids : {Args{}, Args{"--uid", "0", "--gid", "0"}}) {
    SCOPED_TRACE(ids.empty() ? "default ids" : "--uid 0");
    auto r =
        run(with_root(cat({ids,
                           {"--proc", "/proc", "--dev", "/dev", "--ro-bind", d.path(), "/data"},
                           sh("mount -o remount,rw /data && echo REMOUNTED; "
                              "mount -o remount,rw,bind /data && echo REMOUNTED; "
                              "touch /data/x && echo WRITTEN; echo END")})),
            unpriv());
    EXPECT_TRUE(contains(r.out, "END")) << r;
    EXPECT_FALSE(contains(r.out, "REMOUNTED")) << r;
    EXPECT_FALSE(contains(r.out, "WRITTEN")) << r;
  }
  EXPECT_TRUE(d.entries().empty());
}

TEST_P(FsModeTest, BindIsWritableAndFilesBelongToCaller) {
  TempDir d;
  auto r = run(with_root(cat({{"--bind", d.path(), "/data"}, sh("echo written-inside > /data/f")})),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(read_file(d / "f"), "written-inside\n");
  struct stat st;
  ASSERT_EQ(::stat((d / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, caller_uid());
  EXPECT_EQ(st.st_gid, caller_gid());
}

TEST_F(FsTest, ShadowStaysUnreadableForUnprivileged) {
  IT_REQUIRE_FILE("/etc/shadow");
  if (!is_root() && ::access("/etc/shadow", R_OK) == 0)
    GTEST_SKIP() << "the current user can read /etc/shadow on the host";
  auto r = run(with_root(cat({{"--ro-bind", "/etc", "/etc", "--bind", "/etc/shadow", "/x"},
                              sh("cat /etc/shadow; echo rc1=$?; cat /x; echo rc2=$?")})),
               unpriv());
  EXPECT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_NE(m["rc1"], "0") << r;
  EXPECT_NE(m["rc2"], "0") << r;
  EXPECT_FALSE(contains(r.out, "root:")) << r;
  size_t denied = 0;
  for (const auto& l : lines(r.err)) denied += contains(l, "Permission denied");
  EXPECT_EQ(denied, 2u) << r;
}

TEST_P(FsModeTest, MissingBindSourceIsAnError) {
  std::string missing = "/nonexistent-" + unique_suffix();
  auto r = run(with_root(cat({{"--bind", missing, "/x"}, sh("echo MARKER-RAN")})), opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.out, "MARKER-RAN")) << r;
  EXPECT_TRUE(contains(r.err, missing)) << r;
}

TEST_P(FsModeTest, TryBindsSkipMissingSources) {
  std::string missing = "/nonexistent-" + unique_suffix();
  auto r = run(with_root(cat({{"--bind-try", missing, "/x", "--ro-bind-try", missing, "/y",
                               "--dev-bind-try", missing, "/z"},
                              sh("for p in /x /y /z; do test -e $p && echo present $p; done; "
                                 "echo END")})),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "END\n") << r;
}

TEST_P(FsModeTest, MissingParentDirectoriesAreCreated) {
  auto r = run(with_root(cat({{"--tmpfs", "/a/b/c"},
                              sh("test -d /a/b && echo dir-ok; stat -f -c %T /a/b/c")})),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "dir-ok\ntmpfs\n") << r;
}

TEST_P(FsModeTest, FileSourceGetsAFileMountPoint) {
  TempDir d;
  write_file(d / "name", "file-bind-content\n");
  auto r = run(with_root(cat({{"--ro-bind", d / "name", "/etc/hostname"},
                              sh("test -f /etc/hostname && echo is-file; cat /etc/hostname")})),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "is-file\nfile-bind-content\n") << r;
}

// ---- Symlinks ----------------------------------------------------------------------------

TEST_P(FsModeTest, SymlinkTwiceWithSameTargetIsFine) {
  auto r = run(with_root({"--symlink", "target-one", "/l", "--symlink", "target-one", "/l", "--",
                          "readlink", "/l"}),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "target-one\n") << r;
}

TEST_P(FsModeTest, SymlinkWithConflictingTargetsIsAnError) {
  auto r = run(with_root(cat({{"--symlink", "target-foo", "/l", "--symlink", "target-bar", "/l"},
                              sh("echo MARKER-RAN")})),
               opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.out, "MARKER-RAN")) << r;
  EXPECT_TRUE(contains(r.err, "target-foo")) << r;
  EXPECT_TRUE(contains(r.err, "target-bar")) << r;
}

TEST_P(FsModeTest, DestinationThroughRelativeSymlinkLandsInNewRoot) {
  TempDir d;
  write_file(d / "through-link.txt", "x");
  auto r =
      run(with_root({"--dir", "/real", "--symlink", "real", "/rel", "--bind", d.path(), "/rel/sub",
                     "--tmpfs", "/rel/t", "--", "sh", "-c", "ls /real/sub; stat -f -c %T /real/t"}),
          opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "through-link.txt\ntmpfs\n") << r;
}

// An absolute symlink inside the new root is resolved against the new root, not the host.
TEST_P(FsModeTest, DestinationThroughAbsoluteSymlinkLandsInNewRoot) {
  TempDir d;
  write_file(d / "through-link.txt", "x");
  auto r = run(
      with_root({"--dir", "/real", "--symlink", "/real", "/link", "--bind", d.path(), "/link/sub",
                 "--tmpfs", "/link/t", "--", "sh", "-c", "ls /real/sub; stat -f -c %T /real/t"}),
      opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "through-link.txt\ntmpfs\n") << r;
}

TEST_P(FsModeTest, SymlinkCannotMakeDestinationEscape) {
  std::string rel = "/tmp/sandbox-it-escape-rel-" + unique_suffix();
  std::string abs = "/tmp/sandbox-it-escape-abs-" + unique_suffix();
  ASSERT_FALSE(exists(rel));
  ASSERT_FALSE(exists(abs));
  auto r = run(
      with_root({"--symlink", "../../../../../../../../.." + rel, "/esc", "--symlink", abs, "/esc2",
                 "--tmpfs", "/esc/x", "--dir", "/esc/y", "--dir", "/esc2/y", "--", "true"}),
      opts());
  bool leaked_rel = exists(rel), leaked_abs = exists(abs);
  if (leaked_rel) std::filesystem::remove_all(rel);
  if (leaked_abs) std::filesystem::remove_all(abs);
  EXPECT_FALSE(leaked_rel) << rel << " was created on the host" << r;
  EXPECT_FALSE(leaked_abs) << abs << " was created on the host" << r;
}

// ---- tmpfs, dir, chmod ---------------------------------------------------------------------

TEST_P(FsModeTest, TmpfsSizeLimitsWrites) {
  auto r = run(with_root(cat({{"--dev", "/dev", "--size", "1048576", "--tmpfs", "/t"},
                              sh("head -c 262144 /dev/zero > /t/small && echo small-ok; "
                                 "head -c 2097152 /dev/zero > /t/big; echo big-rc=$?; "
                                 "echo big-size=$(stat -c %s /t/big)")})),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_TRUE(contains(r.out, "small-ok")) << r;
  EXPECT_NE(m["big-rc"], "0") << r;
  ASSERT_FALSE(m["big-size"].empty()) << r;
  EXPECT_LE(std::stoll(m["big-size"]), 1048576) << r;
  EXPECT_TRUE(contains(r.err, "No space left on device")) << r;
}

TEST_P(FsModeTest, TmpfsPerms) {
  auto r = run(with_root({"--perms", "0700", "--tmpfs", "/t", "--tmpfs", "/u", "--", "stat", "-c",
                          "%a %n", "/t", "/u"}),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "700 /t\n755 /u\n") << r;
}

TEST_P(FsModeTest, DirPermsAndChmod) {
  auto r = run(with_root({"--dir", "/d", "--perms", "0750", "--dir", "/e", "--dir", "/f", "--chmod",
                          "0700", "/f", "--", "stat", "-c", "%a %F %n", "/d", "/e", "/f"}),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "755 directory /d\n750 directory /e\n700 directory /f\n") << r;
}

TEST_P(FsModeTest, RemountRoMakesTmpfsReadOnly) {
  auto r = run(with_root(cat({{"--tmpfs", "/w", "--tmpfs", "/x", "--remount-ro", "/x"},
                              sh("touch /w/f && echo W-OK; touch /x/f && echo X-WRITTEN; "
                                 "echo END")})),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "W-OK\nEND\n") << r;
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
}

// ---- /dev, /proc, mqueue -------------------------------------------------------------------

TEST_P(FsModeTest, DevHasOnlyTheMinimalNodes) {
  const char* script =
      "echo \"ls=$(ls -A /dev | tr '\\n' ' ')\"\n"
      "for l in ptmx stdin stdout stderr fd core; do echo \"link_$l=$(readlink /dev/$l)\"; done\n"
      "for c in null zero full random urandom tty pts/ptmx; do\n"
      "  test -c /dev/$c && echo \"char_$c=yes\"; done\n"
      "test -d /dev/shm && echo dir_shm=yes\n"
      "test -d /dev/pts && echo dir_pts=yes\n"
      "echo x > /dev/null && echo write_null=ok\n"
      "echo \"zero=$(head -c 4 /dev/zero | od -An -tx1)\"\n"
      "sed 's/^/mountinfo=/' /proc/self/mountinfo\n";
  auto r = run(with_root(cat({{"--proc", "/proc", "--dev", "/dev"}, sh(script)})), opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  auto names = words(m["ls"]);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()),
            (std::set<std::string>{"core", "fd", "full", "null", "ptmx", "pts", "random", "shm",
                                   "stderr", "stdin", "stdout", "tty", "urandom", "zero"}))
      << r;
  EXPECT_EQ(m["link_ptmx"], "pts/ptmx");
  EXPECT_EQ(m["link_stdin"], "/proc/self/fd/0");
  EXPECT_EQ(m["link_stdout"], "/proc/self/fd/1");
  EXPECT_EQ(m["link_stderr"], "/proc/self/fd/2");
  EXPECT_EQ(m["link_fd"], "/proc/self/fd");
  EXPECT_EQ(m["link_core"], "/proc/kcore");
  for (const char* c : {"null", "zero", "full", "random", "urandom", "tty", "pts/ptmx"})
    EXPECT_EQ(m[std::string("char_") + c], "yes") << c << " is not a character device" << r;
  EXPECT_EQ(m["dir_shm"], "yes") << r;
  EXPECT_EQ(m["dir_pts"], "yes") << r;
  EXPECT_EQ(m["write_null"], "ok") << r;
  EXPECT_EQ(trim(m["zero"]), "00 00 00 00") << r;
  std::string mi;
  for (const auto& l : lines(r.out))
    if (l.rfind("mountinfo=", 0) == 0) mi += l.substr(10) + "\n";
  auto pts = mount_at(parse_mountinfo(mi), "/dev/pts");
  ASSERT_TRUE(pts.has_value()) << "no mount at /dev/pts" << r;
  EXPECT_EQ(pts->fstype, "devpts");
}

TEST_P(FsModeTest, ProcIsAProcMount) {
  auto r = run(with_root({"--proc", "/proc", "--", "cat", "/proc/self/mountinfo"}), opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto proc = mount_at(parse_mountinfo(r.out), "/proc");
  ASSERT_TRUE(proc.has_value()) << r;
  EXPECT_EQ(proc->fstype, "proc");
}

TEST_P(FsModeTest, MqueueMount) {
  auto r = run(with_root({"--unshare-ipc", "--proc", "/proc", "--dev", "/dev", "--mqueue",
                          "/dev/mqueue", "--", "cat", "/proc/self/mountinfo"}),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto mq = mount_at(parse_mountinfo(r.out), "/dev/mqueue");
  ASSERT_TRUE(mq.has_value()) << r;
  EXPECT_EQ(mq->fstype, "mqueue");
}

}  // namespace
}  // namespace it
