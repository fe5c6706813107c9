// Capabilities through libcap-ng. The supervisor and the child share no libcap-ng state
// that matters: clone3 runs no atfork handler, so every call here first says which process
// it acts on, and nothing is read from /proc that a single capget(2) can answer.
#include "security/caps.hpp"

#include <cap-ng.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "util/error.hpp"
#include "util/parse.hpp"

namespace sb::security {

const char* capability_name(int cap) {
  return cap >= 0 ? capng_capability_to_name(static_cast<unsigned>(cap)) : nullptr;
}

std::string capability_display_name(int cap) {
  const char* n = capability_name(cap);
  std::string up = n ? n : std::to_string(cap);
  for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return "CAP_" + up;
}

int capability_from_name(const std::string& name) {
  return name.empty() ? -1 : capng_name_to_capability(name.c_str());
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

namespace {
// One capget(2) of this process: libcap-ng's capng_get_caps_process() would also parse
// /proc/PID/status for the bounding set, and it keeps per-process state that the child's
// own capability setup relies on, so it is not touched here.
bool capget_self(__user_cap_data_struct (&data)[2]) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  return ::syscall(SYS_capget, &hdr, data) == 0;
}
}  // namespace

CapSet current_caps() {
  __user_cap_data_struct data[2]{};
  if (!capget_self(data)) throw_errno("capget");
  return (data[0].permitted | (CapSet{data[1].permitted} << 32)) & all_caps();
}

CapSet effective_caps() {
  __user_cap_data_struct data[2]{};
  if (!capget_self(data)) return 0;
  return data[0].effective | (CapSet{data[1].effective} << 32);  // never above cap_last_cap
}

bool can_set_ids() {
  const CapSet eff = effective_caps();
  return (eff >> CAP_SETUID & 1) && (eff >> CAP_SETGID & 1);
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

void restrict_bounding_set(CapSet keep, bool eperm_ok) {
  // Each bit is read and dropped here, every failure fatal: libcap-ng's
  // capng_apply(CAPNG_SELECT_BOUNDS) returned success with a PR_CAPBSET_DROP failing
  // (seen with an injected fault), which would leave a capability a command could regain.
  for (int c = 0; c <= last_cap(); ++c) {
    int in_set = ::prctl(PR_CAPBSET_READ, static_cast<unsigned long>(c), 0, 0, 0);
    if (in_set < 0)
      throw_errno("Can't read capability " + std::to_string(c) + " of the bounding set");
    if (in_set == 0 || (keep & (1ULL << c))) continue;
    if (::prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(c), 0, 0, 0) < 0 &&
        !(eperm_ok && errno == EPERM))
      throw_errno("Can't drop capability " + std::to_string(c) + " from the bounding set");
  }
}

void apply_caps(CapSet caps, bool ambient) {
  // The state starts empty (nothing is read) and acts on the calling thread: after clone3
  // libcap-ng may still hold the supervisor's pid.
  capng_clear(CAPNG_SELECT_BOTH);
  capng_setpid(static_cast<int>(::syscall(SYS_gettid)));
  for (int c = 0; c <= last_cap(); ++c)
    if ((caps & (1ULL << c)) &&
        capng_update(CAPNG_ADD,
                     static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED |
                                               CAPNG_INHERITABLE | CAPNG_BOUNDING_SET),
                     static_cast<unsigned>(c)) != 0)
      throw Error("Can't keep capability " + std::to_string(c) + ": libcap-ng does not know it");
  // Security: the bounding set first, while CAP_SETPCAP is still held, so that an execve
  // of a file with file capabilities, or as uid 0, can never gain what is not kept.
  restrict_bounding_set(caps);
  if (capng_apply(CAPNG_SELECT_CAPS) != 0) throw_errno("Can't set capabilities");

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
