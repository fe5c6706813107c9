// `sandbox doctor`: checks what this host lets this caller do, by trying each thing in a
// forked child (never by reading version numbers), and prints one line per check:
// "OK|WARN|FAIL <check>: <what was found, and for WARN/FAIL how to fix it>".
#pragma once
#include <string>
#include <vector>

namespace sb::host {

// Exit status 0 when the common case (a sandbox for this caller: rootless for a normal
// user) works, 1 when something it needs fails (or on bad arguments).
int doctor_main(const std::vector<std::string>& args);

}  // namespace sb::host
