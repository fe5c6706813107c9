// Ubuntu's AppArmor user-namespace restriction (host/apparmor): detection on fake
// /proc/sys, /sys/kernel/security and /etc trees, and the cause and fix the uid-map error
// and `sandbox doctor` give.
#include <gtest/gtest.h>

#include <string>

#include "host/apparmor.hpp"
#include "host/probe.hpp"
#include "temp_dir.hpp"

namespace {

using sb::host::AppArmorUserns;
using sb::host::HostRoots;
using sb::test::TempDir;

const std::string kExe = "/usr/bin/sandbox";

struct FakeHost {
  TempDir dir;
  HostRoots roots{dir.path() + "/proc/sys", dir.path() + "/sys/kernel/security",
                  dir.path() + "/etc"};
  void sysctl(const std::string& rel, const std::string& v) const {
    dir.write("proc/sys/" + rel, v + "\n");
  }
  void restricted(int v) const { sysctl("kernel/apparmor_restrict_unprivileged_userns", std::to_string(v)); }
  // apparmorfs: the profile list and policy/profiles/NAME.N/{name,mode,attach}.
  void loaded(const std::string& list) const {
    dir.write("sys/kernel/security/apparmor/profiles", list);
  }
  void policy(const std::string& name, int n, const std::string& attach) const {
    std::string d = "sys/kernel/security/apparmor/policy/profiles/" + name + "." +
                    std::to_string(n) + "/";
    dir.write(d + "name", name + "\n");
    dir.write(d + "mode", "unconfined\n");
    dir.write(d + "attach", attach + "\n");
  }
  void installed() const { dir.write("etc/apparmor.d/sandbox", "profile sandbox ...\n"); }
};

TEST(AppArmor, NoSysctlMeansNoRestriction) {
  FakeHost h;
  AppArmorUserns a = sb::host::apparmor_userns(h.roots);
  EXPECT_FALSE(a.restrict_userns.has_value());
  EXPECT_FALSE(a.restricted());
  EXPECT_FALSE(a.apparmor_fs);
  EXPECT_EQ(sb::host::apparmor_problem(a, kExe, h.roots), "");
  h.restricted(0);
  a = sb::host::apparmor_userns(h.roots);
  EXPECT_EQ(a.restrict_userns, 0);
  EXPECT_EQ(sb::host::apparmor_problem(a, kExe, h.roots), "");
}

TEST(AppArmor, RestrictedWithoutProfileGivesTheProfileToInstall) {
  FakeHost h;
  h.restricted(1);
  h.loaded("bwrap (unconfined)\nsandboxed (enforce)\n/usr/sbin/cupsd (enforce)\n");
  AppArmorUserns a = sb::host::apparmor_userns(h.roots);
  EXPECT_TRUE(a.restricted());
  EXPECT_TRUE(a.apparmor_fs);
  EXPECT_TRUE(a.profiles_readable);
  EXPECT_FALSE(a.profile_loaded) << "'sandboxed' is another profile";
  std::string p = sb::host::apparmor_problem(a, kExe, h.roots);
  EXPECT_NE(p.find("kernel.apparmor_restrict_unprivileged_userns is 1"), std::string::npos) << p;
  EXPECT_NE(p.find("Permission denied"), std::string::npos) << p;
  EXPECT_NE(p.find("profile sandbox /usr/bin/sandbox flags=(unconfined)"), std::string::npos) << p;
  EXPECT_NE(p.find("userns,"), std::string::npos) << p;
  EXPECT_NE(p.find("sudo apparmor_parser -r /etc/apparmor.d/sandbox"), std::string::npos) << p;
}

TEST(AppArmor, InstalledButNotLoadedSaysLoadIt) {
  FakeHost h;
  h.restricted(1);
  h.loaded("bwrap (unconfined)\n");
  h.installed();
  AppArmorUserns a = sb::host::apparmor_userns(h.roots);
  EXPECT_TRUE(a.profile_file);
  std::string p = sb::host::apparmor_problem(a, kExe, h.roots);
  EXPECT_NE(p.find(h.roots.etc + "/apparmor.d/sandbox is installed but not loaded"),
            std::string::npos) << p;
  EXPECT_NE(p.find("fix: sudo apparmor_parser -r " + h.roots.etc + "/apparmor.d/sandbox"),
            std::string::npos) << p;
  EXPECT_EQ(p.find("printf"), std::string::npos) << "no second profile to write: " << p;
}

TEST(AppArmor, LoadedProfileForThisBinaryIsNoProblem) {
  FakeHost h;
  h.restricted(1);
  h.loaded("bwrap (unconfined)\nsandbox (unconfined)\n");
  h.policy("bwrap", 3, "/usr/bin/bwrap");
  h.policy("sandbox", 7, kExe);
  AppArmorUserns a = sb::host::apparmor_userns(h.roots);
  EXPECT_TRUE(a.profile_loaded);
  EXPECT_EQ(a.profile_mode, "unconfined");
  EXPECT_EQ(a.attach, kExe);
  EXPECT_TRUE(a.covers(kExe));
  EXPECT_EQ(sb::host::apparmor_problem(a, kExe, h.roots), "");
}

TEST(AppArmor, LoadedProfileForAnotherPathNamesBoth) {
  FakeHost h;
  h.restricted(1);
  h.loaded("sandbox (unconfined)\n");
  h.policy("sandbox", 1, kExe);
  const std::string mine = "/home/u/.local/bin/sandbox";
  AppArmorUserns a = sb::host::apparmor_userns(h.roots);
  EXPECT_FALSE(a.covers(mine));
  std::string p = sb::host::apparmor_problem(a, mine, h.roots);
  EXPECT_NE(p.find("the loaded profile 'sandbox' is for /usr/bin/sandbox, not this binary"),
            std::string::npos) << p;
  // A second profile of its own name, not an overwrite of the package's.
  EXPECT_NE(p.find("profile sandbox-local " + mine), std::string::npos) << p;
  EXPECT_NE(p.find("/etc/apparmor.d/sandbox-local"), std::string::npos) << p;
}

// The uid-map error (and doctor) give the cause and the fix from the same detection.
TEST(AppArmor, UidMapErrorNamesTheCauseAndTheFix) {
  FakeHost h;
  h.restricted(1);
  h.loaded("");
  std::string e = sb::host::explain_userns_failure(EPERM, kExe, false, h.roots);
  EXPECT_NE(e.find("kernel.apparmor_restrict_unprivileged_userns is 1"), std::string::npos) << e;
  EXPECT_NE(e.find("fix: printf"), std::string::npos) << e;
  EXPECT_NE(e.find("doctor"), std::string::npos) << e;
  // The other knobs are read from the same fake tree.
  h.sysctl("kernel/unprivileged_userns_clone", "0");
  e = sb::host::explain_userns_failure(EPERM, kExe, false, h.roots);
  EXPECT_NE(e.find("kernel.unprivileged_userns_clone is 0"), std::string::npos) << e;
  // Unrestricted: the AppArmor clause is gone.
  FakeHost clean;
  clean.restricted(0);
  e = sb::host::explain_userns_failure(EPERM, kExe, false, clean.roots);
  EXPECT_EQ(e.find("apparmor"), std::string::npos) << e;
}

}  // namespace
