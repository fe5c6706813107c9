// Diagnostics: "<invoked name>: <message>" on stderr, with an optional syslog-style
// "<N>" level prefix (--level-prefix), so a `bwrap` symlink speaks as bwrap.
#pragma once
#include <string>
#include <string_view>

namespace sb::log {

void set_program_name(std::string_view argv0);
// The basename of argv[0]: the prefix of every diagnostic ("bwrap: ...", as bwrap's own).
const std::string& program_name();
// argv[0] exactly as invoked (a full path stays a full path): bwrap's usage line shows it.
const std::string& invoked_as();
void set_level_prefix(bool on);
void set_verbose(bool on);

// A message with several lines is printed with the prefix on every line.
void error(std::string_view msg);    // level 3
void warning(std::string_view msg);  // level 4
void info(std::string_view msg);     // level 6, only when verbose
bool verbose();
// --verbose: "[+12.345 ms] msg" (time since the program started, steady clock, so the
// same origin in every process forked from it); nothing otherwise.
void step(std::string_view msg);
// Milliseconds since the program started.
double ms_since_start();

}  // namespace sb::log
