#include "host/apparmor.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include "host/probe.hpp"
#include "util/io.hpp"

namespace sb::host {
namespace {

constexpr const char* kProfileName = "sandbox";

// The profile list of a busy host is well below this.
constexpr size_t kMaxRead = 1u << 20;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

AppArmorUserns apparmor_userns(const HostRoots& roots) {
  AppArmorUserns a;
  a.restrict_userns =
      read_sysctl((roots.proc_sys + "/kernel/apparmor_restrict_unprivileged_userns").c_str());
  struct stat st;
  std::string aafs = roots.securityfs + "/apparmor";
  a.apparmor_fs = ::stat(aafs.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  a.profile_file = ::stat((roots.etc + "/apparmor.d/" + kProfileName).c_str(), &st) == 0;
  if (!a.apparmor_fs) return a;
  // One line per loaded profile: "NAME (MODE)".
  if (auto list = io::read_file(aafs + "/profiles", kMaxRead)) {
    a.profiles_readable = true;
    size_t pos = 0;
    while (pos < list->size()) {
      size_t eol = list->find('\n', pos);
      std::string line = list->substr(pos, eol == std::string::npos ? eol : eol - pos);
      pos = eol == std::string::npos ? list->size() : eol + 1;
      std::string prefix = std::string(kProfileName) + " (";
      if (line.compare(0, prefix.size(), prefix) == 0 && line.back() == ')') {
        a.profile_loaded = true;
        a.profile_mode = line.substr(prefix.size(), line.size() - prefix.size() - 1);
      }
    }
  }
  // The attachment: policy/profiles/NAME.N/attach (apparmorfs names each directory after
  // the profile with a counter).
  if (a.profile_loaded) {
    std::string dir = aafs + "/policy/profiles";
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        std::string prefix = std::string(kProfileName) + ".";
        if (n.compare(0, prefix.size(), prefix) != 0) continue;
        auto name = io::read_file(dir + "/" + n + "/name", kMaxRead);
        if (!name || trim(*name) != kProfileName) continue;
        if (auto at = io::read_file(dir + "/" + n + "/attach", kMaxRead)) a.attach = trim(*at);
        break;
      }
      ::closedir(d);
    }
  }
  return a;
}

std::string apparmor_problem(const AppArmorUserns& a, const std::string& exe,
                             const HostRoots& roots) {
  if (!a.restricted() || a.covers(exe)) return {};
  std::string why =
      "kernel.apparmor_restrict_unprivileged_userns is " + std::to_string(*a.restrict_userns) +
      ", so AppArmor takes every capability away in a new user namespace (writing the uid "
      "map fails with Permission denied) unless a profile grants \"userns\" to " + exe;
  std::string file = roots.etc + "/apparmor.d/" + kProfileName;
  if (a.profile_loaded)
    return why + "; the loaded profile '" + kProfileName + "' is for " + a.attach +
           ", not this binary (fix: run " + a.attach + ", or " +
           apparmor_fix(exe, std::string(kProfileName) + "-local") + ")";
  if (a.profile_file)
    return why + "; " + file + " is installed but not loaded" +
           (a.profiles_readable ? "" : " (or this user can't see the loaded profiles)") +
           " (fix: sudo apparmor_parser -r " + file + ")";
  return why + " (fix: " + apparmor_fix(exe) + ")";
}

}  // namespace sb::host
