#include "security/caps.hpp"

#include <cap-ng.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include <fstream>

#include "util/error.hpp"

namespace sb::security {

int last_cap() {
  static int cached = -1;
  if (cached < 0) {
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int v = -1;
    if (!(in >> v) || v < 0 || v > 63) v = CAP_LAST_CAP;
    cached = v;
  }
  return cached;
}

CapSet all_caps() {
  int last = last_cap();
  return last >= 63 ? ~0ULL : ((1ULL << (last + 1)) - 1);
}

CapSet current_caps() {
  capng_get_caps_process();
  CapSet s = 0;
  for (int c = 0; c <= last_cap(); ++c)
    if (capng_have_capability(CAPNG_PERMITTED, static_cast<unsigned>(c))) s |= 1ULL << c;
  return s;
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
  // Bounding set first, while CAP_SETPCAP is still held.
  capng_get_caps_process();
  capng_clear(CAPNG_SELECT_BOUNDS);
  for (int c = 0; c <= last_cap(); ++c)
    if (caps & (1ULL << c)) capng_update(CAPNG_ADD, CAPNG_BOUNDING_SET, static_cast<unsigned>(c));
  if (capng_apply(CAPNG_SELECT_BOUNDS) != 0)
    throw Error("Can't drop capabilities from the bounding set");

  capng_clear(CAPNG_SELECT_CAPS);
  for (int c = 0; c <= last_cap(); ++c)
    if (caps & (1ULL << c))
      capng_update(CAPNG_ADD,
                   static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE),
                   static_cast<unsigned>(c));
  if (capng_apply(CAPNG_SELECT_CAPS) != 0) throw Error("Can't set capabilities");

  // Ambient capabilities need the cap in permitted and inheritable, set just above.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    throw_errno("Can't clear ambient capabilities");
  if (ambient) {
    for (int c = 0; c <= last_cap(); ++c)
      if ((caps & (1ULL << c)) &&
          prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(c), 0, 0) < 0)
        throw_errno("Can't raise ambient capability " + std::to_string(c));
  }
}

void set_no_new_privs() {
  // Security: execve can never grant more privilege (setuid bits, file capabilities).
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace sb::security
