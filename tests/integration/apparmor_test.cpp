// The AppArmor profile we ship (apparmor/sandbox.in, installed as /etc/apparmor.d/sandbox)
// parses with apparmor_parser, and `sandbox doctor` reports Ubuntu's user namespace
// restriction and our profile's state from a fake /proc/sys + securityfs tree.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "harness.hpp"

namespace it {
namespace {

namespace fs = std::filesystem;

std::string parser() {
  for (const char* p : {"/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"})
    if (exists(p)) return p;
  return {};
}

// apparmor_parser -Q (no kernel load) -K (no cache) on FILE; its output in `out`.
int parse(const std::string& file, std::string& out) {
  TempDir t;
  std::string log = t / "log";
  int rc = std::system((parser() + " -Q -K '" + file + "' >'" + log + "' 2>&1").c_str());
  out = read_file(log);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(AppArmorProfile, ParsesWithApparmorParser) {
  if (parser().empty()) {
    if (it::in_ci()) FAIL() << "apparmor_parser is not installed, and CI=true must run this (scripts/deps.sh)";
    GTEST_SKIP() << "apparmor_parser is not installed (Debian package apparmor)";
  }
  const char* bin = std::getenv("SANDBOX_BIN");
  ASSERT_NE(bin, nullptr);
  std::string profile = (fs::absolute(bin).parent_path() / "apparmor/sandbox").string();
  ASSERT_TRUE(exists(profile)) << profile << " (configured by CMake from apparmor/sandbox.in)";
  std::string text = read_file(profile);
  EXPECT_TRUE(contains(text, "abi <abi/4.0>,")) << text;
  EXPECT_TRUE(contains(text, "flags=(unconfined)")) << text;
  EXPECT_TRUE(contains(text, "\n  userns,\n")) << text;
  EXPECT_TRUE(contains(text, "include if exists <local/sandbox>")) << text;

  // Without the AppArmor 4 parts, what any parser knows: the structure, the includes.
  TempDir t;
  std::string base = t / "sandbox-v3";
  std::string reduced;
  for (const auto& l : lines(text))
    if (!contains(l, "abi <abi/4.0>") && trim(l) != "userns,") reduced += l + "\n";
  write_file(base, reduced);
  std::string out;
  EXPECT_EQ(parse(base, out), 0) << reduced << out;

  // The whole profile needs AppArmor 4 (abi 4.0, the userns rule): decided by a control.
  std::string control = t / "control";
  write_file(control, "abi <abi/4.0>,\nprofile control /nonexistent flags=(unconfined) {\n  userns,\n}\n");
  if (parse(control, out) != 0)
    GTEST_SKIP() << "this apparmor_parser cannot parse AppArmor 4 profiles (abi 4.0, userns) "
                    "at all, so only the rest of the profile was checked: " << out;
  EXPECT_EQ(parse(profile, out), 0) << out;
}

class DoctorAppArmorTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, DoctorAppArmorTest, ::testing::Bool(), mode_name);

std::string apparmor_line(const std::string& out) {
  for (const auto& l : lines(out))
    if (contains(l, " apparmor: ")) return l;
  return "";
}

TEST_P(DoctorAppArmorTest, ReportsTheRestrictionAndOurProfileFromAFakeTree) {
  TempDir t;
  auto fake = [&](const std::string& rel, const std::string& content) {
    fs::create_directories(fs::path(t / rel).parent_path());
    write_file(t / rel, content);
  };
  ASSERT_EQ(std::system(("chmod -R a+rX '" + t.path() + "'").c_str()), 0);
  auto doctor = [&] {
    std::system(("chmod -R a+rX '" + t.path() + "'").c_str());
    auto r = run({"doctor", "--fake-root", t.path()}, opts());
    return apparmor_line(r.out + r.err);
  };

  // No such sysctl: nothing to report.
  std::string l = doctor();
  EXPECT_TRUE(contains(l, "OK   apparmor: no AppArmor user namespace restriction")) << l;

  // Restricted, no profile: the cause and the profile that fixes it, for this binary.
  fake("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n");
  fake("sys/kernel/security/apparmor/profiles", "bwrap (unconfined)\n");
  l = doctor();
  EXPECT_TRUE(contains(l, as_root() ? "WARN apparmor: root is not restricted" : " apparmor: "))
      << l;
  EXPECT_TRUE(contains(l, "kernel.apparmor_restrict_unprivileged_userns is 1")) << l;
  EXPECT_TRUE(contains(l, "profile sandbox " + sandbox_path() + " flags=(unconfined)")) << l;

  // The package's file there but not loaded: load it.
  fake("etc/apparmor.d/sandbox", "profile sandbox /usr/bin/sandbox {}\n");
  l = doctor();
  EXPECT_TRUE(contains(l, "is installed but not loaded")) << l;
  EXPECT_TRUE(contains(l, "sudo apparmor_parser -r " + t.path() + "/etc/apparmor.d/sandbox"))
      << l;

  // Loaded for this binary: OK.
  fake("sys/kernel/security/apparmor/profiles", "bwrap (unconfined)\nsandbox (unconfined)\n");
  fake("sys/kernel/security/apparmor/policy/profiles/sandbox.4/name", "sandbox\n");
  fake("sys/kernel/security/apparmor/policy/profiles/sandbox.4/attach", sandbox_path() + "\n");
  l = doctor();
  EXPECT_TRUE(contains(l, "OK   apparmor: kernel.apparmor_restrict_unprivileged_userns is 1 and "
                          "profile 'sandbox' loaded (unconfined) for " + sandbox_path()))
      << l;
}

}  // namespace
}  // namespace it
