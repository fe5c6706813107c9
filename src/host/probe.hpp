// What this kernel and this caller can do, probed once and cheaply (a few stat/read calls)
// so that startup stays fast.
#pragma once
#include <optional>
#include <string>

#include "host/apparmor.hpp"
#include "host/facts.hpp"

namespace sb::host {

HostFacts probe();

// A small integer sysctl such as "/proc/sys/user/max_user_namespaces"; nullopt when this
// kernel does not have it.
std::optional<long> read_sysctl(const char* path);

// Why creating or mapping an unprivileged user namespace failed with `err`, from the
// sysctls that restrict it (Debian's kernel.unprivileged_userns_clone,
// user.max_user_namespaces, Ubuntu's kernel.apparmor_restrict_unprivileged_userns), each
// with its fix; ends by pointing at `sandbox doctor` (unless `from_doctor`). `exe` is the
// sandbox binary (for the AppArmor profile).
// `roots`: where /proc/sys, securityfs and /etc are (fake trees in tests).
std::string explain_userns_failure(int err, const std::string& exe, bool from_doctor = false,
                                   const HostRoots& roots = {});

// The AppArmor profile NAME that lets `exe` create user namespaces under Ubuntu's
// restriction, and the commands that install it, as one line.
std::string apparmor_fix(const std::string& exe, const std::string& name = "sandbox");

// Absolute path of the running binary (for messages), "sandbox" when unknown.
std::string self_exe();

}  // namespace sb::host
