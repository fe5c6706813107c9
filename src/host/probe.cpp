#include "host/probe.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "security/caps.hpp"
#include "security/landlock.hpp"
#include "util/log.hpp"
#include "util/parse.hpp"

namespace sb::host {

std::optional<long> read_sysctl(const char* path) {
  auto v = parse::number_file(path);  // open/read: no iostreams on the launch path
  if (!v || *v > static_cast<uint64_t>(LONG_MAX)) return std::nullopt;
  return static_cast<long>(*v);
}

namespace {

// The kernel lists /proc/self/ns/NAME for each namespace type it supports. The entry is
// checked without following it: following makes the kernel look up the namespace itself
// (an nsfs inode), which costs every launch for nothing.
bool has_ns_entry(const char* name) {
  struct stat st;
  return ::fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

}  // namespace

HostFacts probe() {
  HostFacts f;
  f.uid = ::getuid();
  f.gid = ::getgid();
  f.can_write_id_maps = security::can_set_ids();
  struct stat st;
  bool has_userns = has_ns_entry("/proc/self/ns/user");
  bool allowed = read_sysctl("/proc/sys/user/max_user_namespaces").value_or(1) > 0;
  // Debian/Ubuntu kernels can forbid unprivileged user namespaces with this knob.
  if (f.uid != 0 && read_sysctl("/proc/sys/kernel/unprivileged_userns_clone").value_or(1) == 0)
    allowed = false;
  f.userns_available = has_userns && allowed;
  f.cgroupns_available = has_ns_entry("/proc/self/ns/cgroup");
  f.selinux_enabled = ::stat("/sys/fs/selinux/enforce", &st) == 0;
  // One syscall: the kernel's own answer, never a guess from its version.
  f.landlock_abi = security::landlock_abi();
  return f;
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "sandbox";
  return std::string(buf, static_cast<size_t>(n));
}

std::string apparmor_fix(const std::string& exe, const std::string& name) {
  return "printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile " + name + " " + exe +
         " flags=(unconfined) {\\n  userns,\\n}\\n' | sudo tee /etc/apparmor.d/" + name +
         " && sudo apparmor_parser -r /etc/apparmor.d/" + name;
}

std::string explain_userns_failure(int err, const std::string& exe, bool from_doctor,
                                   const HostRoots& roots) {
  std::string why;
  auto add = [&](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
  if (read_sysctl((roots.proc_sys + "/kernel/unprivileged_userns_clone").c_str()) == 0)
    add("kernel.unprivileged_userns_clone is 0 (fix: sudo sysctl -w "
        "kernel.unprivileged_userns_clone=1)");
  if (read_sysctl((roots.proc_sys + "/user/max_user_namespaces").c_str()) == 0)
    add("user.max_user_namespaces is 0 (fix: sudo sysctl -w user.max_user_namespaces=15000)");
  if (std::string aa = apparmor_problem(apparmor_userns(roots), exe, roots); !aa.empty())
    add(aa);
  if (why.empty() && err == ENOSPC)
    add("the limit on user namespaces is reached (user.max_user_namespaces of this or an "
        "enclosing user namespace, e.g. a sandbox run with --disable-userns)");
  if (why.empty()) add("no known restriction found (the kernel may lack CONFIG_USER_NS, or a "
                       "security module such as SELinux denies it)");
  if (from_doctor) return why;
  return why + "; run `" + log::program_name() + " doctor` for a full check";
}

}  // namespace sb::host
