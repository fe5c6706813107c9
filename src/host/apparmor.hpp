// Ubuntu's AppArmor user-namespace restriction (kernel.apparmor_restrict_unprivileged_userns):
// whether it is on and whether our profile (apparmor/sandbox.in, installed as
// /etc/apparmor.d/sandbox) is loaded for the running binary. The roots are parameters so
// that the logic is tested on fake trees.
#pragma once
#include <optional>
#include <string>

namespace sb::host {

struct HostRoots {
  std::string proc_sys = "/proc/sys";
  std::string securityfs = "/sys/kernel/security";
  std::string etc = "/etc";
};

struct AppArmorUserns {
  std::optional<long> restrict_userns;  // the sysctl; nullopt: this kernel has none
  bool apparmor_fs = false;             // SECURITYFS/apparmor exists
  bool profiles_readable = false;       // SECURITYFS/apparmor/profiles could be read
  bool profile_loaded = false;          // a profile named "sandbox" is in it
  std::string profile_mode;             // its mode: "unconfined", "enforce", ...
  std::string attach;                   // what it attaches to, when the kernel says
  bool profile_file = false;            // ETC/apparmor.d/sandbox exists (the package's)
  bool restricted() const { return restrict_userns.value_or(0) > 0; }
  // The profile is loaded and attaches to `exe` (or the kernel does not say to what).
  bool covers(const std::string& exe) const {
    return profile_loaded && (attach.empty() || attach == exe);
  }
};

AppArmorUserns apparmor_userns(const HostRoots& roots = {});

// The verdict for a caller that is not root: empty when nothing restricts `exe`, else
// the cause and the fix, as one clause ("kernel.apparmor_restrict_unprivileged_userns is
// 1 ... (fix: ...)").
std::string apparmor_problem(const AppArmorUserns& a, const std::string& exe,
                             const HostRoots& roots = {});

}  // namespace sb::host
