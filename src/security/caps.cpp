// Capabilities with the raw system calls (capget/capset/prctl), as bwrap does: each call
// acts on the calling process only, reads no /proc file, and keeps no state between
// processes (libcap-ng caches the pid of its first caller and re-reads /proc/PID/status on
// every call, three times per process on the launch path).
#include "security/caps.hpp"

#include <linux/capability.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.hpp"
#include "util/parse.hpp"

namespace sb::security {
namespace {

// Index = capability number; the names of linux/capability.h without CAP_, in lower case
// (as libcap-ng and capsh print them). Numbers above the table have no name.
constexpr const char* kNames[] = {
    "chown",           "dac_override",     "dac_read_search", "fowner",
    "fsetid",          "kill",             "setgid",          "setuid",
    "setpcap",         "linux_immutable",  "net_bind_service", "net_broadcast",
    "net_admin",       "net_raw",          "ipc_lock",        "ipc_owner",
    "sys_module",      "sys_rawio",        "sys_chroot",      "sys_ptrace",
    "sys_pacct",       "sys_admin",        "sys_boot",        "sys_nice",
    "sys_resource",    "sys_time",         "sys_tty_config",  "mknod",
    "lease",           "audit_write",      "audit_control",   "setfcap",
    "mac_override",    "mac_admin",        "syslog",          "wake_alarm",
    "block_suspend",   "audit_read",       "perfmon",         "bpf",
    "checkpoint_restore",
};
constexpr int kNamed = static_cast<int>(sizeof kNames / sizeof kNames[0]);

struct CapData {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
};

}  // namespace

const char* capability_name(int cap) { return cap >= 0 && cap < kNamed ? kNames[cap] : nullptr; }

int capability_from_name(const std::string& name) {
  for (int c = 0; c < kNamed; ++c)
    if (strcasecmp(name.c_str(), kNames[c]) == 0) return c;
  return -1;
}

int last_cap() {
  static int cached = -1;
  if (cached < 0) {
    // No /proc (or nonsense in it): the capabilities this program was built to know.
    auto v = parse::number_file("/proc/sys/kernel/cap_last_cap");
    cached = v && *v <= 63 ? static_cast<int>(*v) : CAP_LAST_CAP;
  }
  return cached;
}

CapSet all_caps() {
  int last = last_cap();
  return last >= 63 ? ~0ULL : ((1ULL << (last + 1)) - 1);
}

CapSet current_caps() {
  CapData c;
  if (::syscall(SYS_capget, &c.hdr, c.data) < 0) throw_errno("capget");
  return (c.data[0].permitted | (CapSet{c.data[1].permitted} << 32)) & all_caps();
}

CapSet resolve_caps(const std::vector<CapEdit>& edits, bool caller_is_root, CapSet current,
                    CapSet all) {
  CapSet s = caller_is_root ? current : 0;
  for (const auto& e : edits) {
    CapSet bits = e.cap < 0 ? all : (1ULL << e.cap);
    if (e.add) s |= bits;
    else s &= ~bits;
  }
  return s & all;
}

void apply_caps(CapSet caps, bool ambient) {
  // Bounding set first, while CAP_SETPCAP is still held: an execve of a file with file
  // capabilities, or as uid 0, can never gain what is not in it.
  for (int c = 0; c <= last_cap(); ++c)
    if (!(caps & (1ULL << c)) && ::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
      throw_errno("Can't drop capabilities from the bounding set");

  CapData d;
  for (int w = 0; w < 2; ++w) {
    auto bits = static_cast<uint32_t>(caps >> (32 * w));
    d.data[w].effective = d.data[w].permitted = d.data[w].inheritable = bits;
  }
  if (::syscall(SYS_capset, &d.hdr, d.data) < 0) throw_errno("Can't set capabilities");

  // Ambient capabilities need the cap in permitted and inheritable, set just above.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    throw_errno("Can't clear ambient capabilities");
  if (ambient) {
    for (int c = 0; c <= last_cap(); ++c)
      if ((caps & (1ULL << c)) &&
          ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(c), 0, 0) < 0)
        throw_errno("Can't raise ambient capability " + std::to_string(c));
  }
}

void set_no_new_privs() {
  // Security: execve can never grant more privilege (setuid bits, file capabilities).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace sb::security
