// Overlays: --overlay-src with --ro-overlay, --tmp-overlay and --overlay (bwrap semantics:
// the last --overlay-src is the top layer), misuse, and layer paths whose characters mean
// something to overlayfs's option syntax (',' ':').
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "harness.hpp"

namespace it {
namespace {

namespace fs = std::filesystem;

void chown_tree(const std::string& root, uid_t uid, gid_t gid) {
  ::lchown(root.c_str(), uid, gid);
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(root, ec))
    ::lchown(e.path().c_str(), uid, gid);
}

// Everything below `root`: relative path -> file content, "<dir>", or "<other>".
std::map<std::string, std::string> snapshot(const std::string& root) {
  std::map<std::string, std::string> m;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(root, ec)) {
    std::string rel = fs::relative(e.path(), root).string();
    if (e.is_symlink()) m[rel] = "<symlink>";
    else if (e.is_directory()) m[rel] = "<dir>";
    else if (e.is_regular_file()) m[rel] = read_file(e.path());
    else m[rel] = "<other>";
  }
  return m;
}

// Two lower layers: "a" in both (different content), "b" only in L1, "c" only in L2.
struct Layers {
  TempDir d;
  std::string l1 = d / "L1", l2 = d / "L2";
  Layers(uid_t uid, gid_t gid) {
    ::mkdir(l1.c_str(), 0755);
    ::mkdir(l2.c_str(), 0755);
    write_file(l1 + "/a", "a-from-L1\n");
    write_file(l1 + "/b", "b-only-in-L1\n");
    write_file(l2 + "/a", "a-from-L2\n");
    write_file(l2 + "/c", "c-only-in-L2\n");
    chown_tree(d.path(), uid, gid);
    ::chown(d.path().c_str(), 0, 0);  // TempDir itself stays as it was (0777)
  }
  std::string mkdir_owned(const std::string& name, uid_t uid, gid_t gid) {
    std::string p = d / name;
    ::mkdir(p.c_str(), 0755);
    ::chown(p.c_str(), uid, gid);
    return p;
  }
};

std::optional<MountEntry> mount_at(const std::string& mountinfo, const std::string& mp) {
  std::optional<MountEntry> found;
  for (const auto& m : parse_mountinfo(mountinfo))
    if (m.mountpoint == mp) found = m;
  return found;
}

class OverlayModeTest : public ModeTest {
 protected:
  Layers layers() const { return Layers(caller_uid(), caller_gid()); }
};
INSTANTIATE_TEST_SUITE_P(Modes, OverlayModeTest, ::testing::Bool(), mode_name);

TEST_P(OverlayModeTest, RoOverlayLastSourceIsTheTopLayer) {
  Layers l = layers();
  auto before = snapshot(l.d.path());
  auto r = run(with_root(cat({{"--proc", "/proc", "--overlay-src", l.l1, "--overlay-src", l.l2,
                               "--ro-overlay", "/o"},
                              sh("cat /o/a /o/b /o/c; grep ' /o ' /proc/self/mountinfo; "
                                 "echo x > /o/new && echo WRITTEN; echo y >> /o/a && "
                                 "echo APPENDED; exit 0")})),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto l3 = lines(r.out);
  ASSERT_EQ(l3.size(), 4u) << r;
  EXPECT_EQ(l3[0], "a-from-L2") << "the last --overlay-src is the top layer" << r;
  EXPECT_EQ(l3[1], "b-only-in-L1") << r;
  EXPECT_EQ(l3[2], "c-only-in-L2") << r;
  auto m = mount_at(l3[3], "/o");
  ASSERT_TRUE(m) << r;
  EXPECT_EQ(m->fstype, "overlay") << r;
  EXPECT_TRUE(m->options.rfind("ro", 0) == 0) << m->options;
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
  EXPECT_EQ(snapshot(l.d.path()), before) << "the layers changed";
}

TEST_P(OverlayModeTest, TmpOverlayWritesStayInside) {
  Layers l = layers();
  auto before = snapshot(l.d.path());
  auto r = run(with_root(cat({{"--overlay-src", l.l1, "--tmp-overlay", "/o"},
                              sh("echo new > /o/new && echo more >> /o/a && rm /o/b && "
                                 "mkdir /o/dir && cat /o/new /o/a && ls /o")})),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "new\na-from-L1\nmore\na\ndir\nnew\n") << r;
  EXPECT_EQ(snapshot(l.d.path()), before) << "a write reached the host";
  EXPECT_FALSE(exists("/tmp/tmp-overlay-1"));
}

TEST_P(OverlayModeTest, OverlayWritesGoToTheUpperDirectory) {
  Layers l = layers();
  std::string up = l.mkdir_owned("UP", caller_uid(), caller_gid());
  std::string work = l.mkdir_owned("WORK", caller_uid(), caller_gid());
  auto lower_before = snapshot(l.l1);
  auto r = run(with_root(cat({{"--overlay-src", l.l1, "--overlay", up, work, "/o"},
                              sh("echo new > /o/new && echo more >> /o/a && rm /o/b && ls /o")})),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "a\nnew\n") << r;
  EXPECT_EQ(read_file(up + "/new"), "new\n");
  EXPECT_EQ(read_file(up + "/a"), "a-from-L1\nmore\n") << "copied up";
  struct stat st;
  ASSERT_EQ(::lstat((up + "/b").c_str(), &st), 0) << "no whiteout for the deleted b in UP";
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
      << "UP/b is not a whiteout (mode " << std::oct << st.st_mode << ")";
  EXPECT_EQ(snapshot(l.l1), lower_before) << "the lower layer changed";
}

TEST_P(OverlayModeTest, Misuse) {
  Layers l = layers();
  std::string up = l.mkdir_owned("UP", caller_uid(), caller_gid());
  std::string work = l.mkdir_owned("WORK", caller_uid(), caller_gid());
  struct Case {
    Args args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--overlay-src", l.l1, "--ro-overlay", "/o", "--", "true"}, "at least two"},
      {{"--tmp-overlay", "/o", "--", "true"}, "--overlay-src"},
      {{"--ro-overlay", "/o", "--", "true"}, "--overlay-src"},
      {{"--overlay", up, work, "/o", "--", "true"}, "--overlay-src"},
      {{"--overlay-src", l.l1, "--tmpfs", "/y", "--tmp-overlay", "/o", "--", "true"},
       "--overlay-src"},
      {{"--overlay-src", l.l1, "--", "true"}, "--overlay-src"},
      {{"--overlay-src", l.l1, "true"}, "--overlay-src"},
      {{"--overlay-src", l.l1}, "--overlay-src"},
  };
  auto before = snapshot(l.d.path());
  for (const auto& c : cases) {
    auto r = run(with_root(c.args), opts());
    std::string cmd;
    for (const auto& a : c.args) cmd += " " + a;
    EXPECT_EQ(r.exit_code, 1) << cmd << r;
    EXPECT_TRUE(contains(r.err, c.message)) << cmd << ": expected '" << c.message << "'" << r;
  }
  EXPECT_EQ(snapshot(l.d.path()), before);
}

// Layer paths with ',' ':' or '..' are layers, nothing else: no mount option can be
// smuggled in through a directory name. Checked with the new mount API (one fsconfig call
// per option) and with the mount(2) fallback (one option string), which
// SANDBOX_TEST_LEGACY_MOUNT=1 forces.
void check_layer_paths(const RunOpts& o, uid_t uid, gid_t gid) {
  Layers l(uid, gid);
  const std::string comma = l.mkdir_owned("a,upperdir=x", uid, gid);
  const std::string colon = l.mkdir_owned("l:ow", uid, gid);
  write_file(comma + "/in-comma", "comma\n");
  write_file(colon + "/in-colon", "colon\n");
  l.mkdir_owned("sub", uid, gid);
  chown_tree(comma, uid, gid);
  chown_tree(colon, uid, gid);
  auto before = snapshot(l.d.path());

  // Read-only: both layers visible, no upper directory anywhere.
  auto r = run(with_root(cat({{"--proc", "/proc", "--overlay-src", colon, "--overlay-src", comma,
                               "--ro-overlay", "/o"},
                              sh("cat /o/in-colon /o/in-comma; ls /o; "
                                 "grep ' /o ' /proc/self/mountinfo; touch /o/w && echo WRITTEN; "
                                 "exit 0")})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 5u) << r;
  EXPECT_EQ(out[0], "colon");
  EXPECT_EQ(out[1], "comma");
  EXPECT_EQ(out[2], "in-colon");
  EXPECT_EQ(out[3], "in-comma");
  auto m = mount_at(out[4], "/o");
  ASSERT_TRUE(m) << r;
  EXPECT_TRUE(m->options.rfind("ro", 0) == 0) << m->options;
  EXPECT_FALSE(contains(out[4], "upperdir")) << "an upper directory was injected: " << out[4];
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;

  // Tmp overlay over the comma directory: writes stay inside; nothing named "x" appears.
  auto tr = run(with_root(cat({{"--overlay-src", comma, "--tmp-overlay", "/t"},
                               sh("echo w > /t/w && cat /t/in-comma /t/w")})),
                o);
  EXPECT_EQ(tr.exit_code, 0) << tr;
  EXPECT_EQ(tr.out, "comma\nw\n") << tr;

  // ".." components name the directory they lead to.
  auto d = run(with_root(cat({{"--overlay-src", l.d / "sub/../L1", "--overlay-src",
                               l.d / "sub/../L2", "--ro-overlay", "/o"},
                              sh("cat /o/a /o/b")})),
               o);
  EXPECT_EQ(d.exit_code, 0) << d;
  EXPECT_EQ(d.out, "a-from-L2\nb-only-in-L1\n") << d;

  EXPECT_EQ(snapshot(l.d.path()), before) << "something was written on the host";
  EXPECT_FALSE(exists("/x")) << "an injected upperdir=x was created";
  EXPECT_FALSE(exists(l.d / "x"));

  // Upper and work directories with such characters work as well; writes land in them.
  std::string up = l.mkdir_owned("u,p:1", uid, gid);
  std::string work = l.mkdir_owned("w:k,lowerdir=x", uid, gid);
  auto u = run(with_root(cat({{"--overlay-src", l.l1, "--overlay", up, work, "/o"},
                              sh("echo hi > /o/new && cat /o/b")})),
               o);
  ASSERT_EQ(u.exit_code, 0) << u;
  EXPECT_EQ(u.out, "b-only-in-L1\n") << u;
  EXPECT_EQ(read_file(up + "/new"), "hi\n");
  EXPECT_FALSE(exists(l.d / "x"));
}

TEST_P(OverlayModeTest, LayerPathsCannotInjectMountOptions) {
  check_layer_paths(opts(), caller_uid(), caller_gid());
}

TEST_P(OverlayModeTest, LayerPathsCannotInjectMountOptionsLegacyMount) {
  RunOpts o = opts();
  o.env = {"SANDBOX_TEST_LEGACY_MOUNT=1"};
  check_layer_paths(o, caller_uid(), caller_gid());
}

TEST_P(OverlayModeTest, OverlayKindsWithLegacyMount) {
  Layers l = layers();
  std::string up = l.mkdir_owned("UP", caller_uid(), caller_gid());
  std::string work = l.mkdir_owned("WORK", caller_uid(), caller_gid());
  RunOpts o = opts();
  o.env = {"SANDBOX_TEST_LEGACY_MOUNT=1"};
  auto r = run(with_root(cat({{"--overlay-src", l.l1, "--overlay-src", l.l2, "--ro-overlay", "/ro",
                               "--overlay-src", l.l1, "--tmp-overlay", "/tmp-o",
                               "--overlay-src", l.l1, "--overlay", up, work, "/rw"},
                              sh("cat /ro/a; touch /ro/x && echo RO-WRITTEN; "
                                 "echo t > /tmp-o/t && cat /tmp-o/t; "
                                 "echo w > /rw/w && cat /rw/b; exit 0")})),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "a-from-L2\nt\nb-only-in-L1\n") << r;
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
  EXPECT_EQ(read_file(up + "/w"), "w\n");
  EXPECT_FALSE(exists(l.l1 + "/t"));
  EXPECT_FALSE(exists(l.l1 + "/x"));
}

}  // namespace
}  // namespace it
