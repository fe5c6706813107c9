// `sandbox doctor`: checks what this host lets this caller do, by trying each thing in a
// forked child (never by reading version numbers), and prints one line per check:
// "OK|WARN|FAIL <check>: <what was found, and for WARN/FAIL how to fix it>".
#pragma once
#include "host/apparmor.hpp"

namespace sb::host {

// Exit status 0 when the common case (a sandbox for this caller: rootless for a normal
// user) works, 1 when something it needs fails. `roots` (--fake-root, for tests) is where
// the AppArmor check reads its state; the other checks probe this host.
int doctor_main(const HostRoots& roots = {});

}  // namespace sb::host
