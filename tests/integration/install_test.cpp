// An installed sandbox finds its data relative to itself: install into a temporary prefix
// with `cmake --install`, move the whole prefix elsewhere, and the profiles, the seccomp
// profiles and --list-profiles still work, as the unprivileged uid and as root. A binary
// with no data next to it says where it looked and fails.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "harness.hpp"

namespace it {
namespace {

namespace fs = std::filesystem;

class InstallTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, InstallTest, ::testing::Bool(), mode_name);

// The build directory holding SANDBOX_BIN (a CMake build tree), or "" when it is not one.
std::string build_dir() {
  const char* bin = std::getenv("SANDBOX_BIN");
  if (!bin) return {};
  fs::path d = fs::absolute(bin).parent_path();
  return fs::exists(d / "cmake_install.cmake") ? d.string() : std::string();
}

TEST_P(InstallTest, MovedPrefixStillFindsProfilesAndSeccompProfiles) {
  std::string build = build_dir();
  if (build.empty()) GTEST_SKIP() << "SANDBOX_BIN is not in a CMake build tree";
  TempDir t;
  std::string first = t / "first", moved = t / "elsewhere/prefix";
  std::string cmd = "cmake --install '" + build + "' --prefix '" + first + "' >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  fs::create_directories(t / "elsewhere");
  fs::rename(first, moved);
  ASSERT_EQ(std::system(("chmod -R a+rX '" + t.path() + "'").c_str()), 0);
  // Nothing of the build or the source tree may be what it finds: HOME holds no profiles.
  RunOpts o = opts();
  o.exe = moved + "/bin/sandbox";
  o.env = {"HOME=" + (t / "home")};

  auto l = run({"--list-profiles"}, o);
  ASSERT_EQ(l.exit_code, 0) << l;
  for (const char* p : {"build", "desktop", "dbus", "minimal"})
    EXPECT_TRUE(line_set(l.out).count(p)) << p << "\n" << l;

  auto s = run({"seccomp-compile", "--list"}, o);
  ASSERT_EQ(s.exit_code, 0) << s;
  EXPECT_TRUE(line_set(s.out).count("default")) << s;

  // --profile build names --seccomp-profile default: both come from the moved prefix.
  auto b = run(cat({{"--profile", "build", "--print-args", "--", "true"}}), o);
  ASSERT_EQ(b.exit_code, 0) << b;
  EXPECT_TRUE(contains(b.out, "--seccomp-profile default")) << b;

  // And a sandbox runs with the installed seccomp profile loaded.
  auto r = run(with_root({"--unshare-all", "--proc", "/proc", "--seccomp-profile", "default", "--",
                          "sh", "-c", "grep Seccomp: /proc/self/status"}),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "Seccomp:\t2")) << r;
}

TEST_P(InstallTest, BinaryWithoutDataSaysWhereItLookedAndFails) {
  TempDir t;
  fs::create_directories(t / "p/bin");
  fs::copy_file(sandbox_path(), t / "p/bin/sandbox");
  ASSERT_EQ(std::system(("chmod -R a+rX '" + t.path() + "'").c_str()), 0);
  RunOpts o = opts();
  o.exe = t / "p/bin/sandbox";
  o.env = {"HOME=" + (t / "home")};

  auto l = run({"--list-profiles"}, o);
  EXPECT_EQ(l.exit_code, 1) << l;
  EXPECT_EQ(l.out, "") << l;
  EXPECT_TRUE(contains(l.err, "no profiles found")) << l;
  EXPECT_TRUE(contains(l.err, t / "p/share/sandbox/profiles")) << l;

  auto p = run({"--profile", "build", "true"}, o);
  EXPECT_EQ(p.exit_code, 1) << p;
  EXPECT_TRUE(contains(p.err, t / "p/share/sandbox/profiles")) << p;

  auto s = run(with_root({"--seccomp-profile", "default", "true"}), o);
  EXPECT_EQ(s.exit_code, 1) << s;
  EXPECT_TRUE(contains(s.err, t / "p/share/sandbox/seccomp-profiles")) << s;
}

}  // namespace
}  // namespace it
