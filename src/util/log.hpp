// Diagnostics: "<invoked name>: <message>" on stderr, with an optional syslog-style
// "<N>" level prefix (--level-prefix), so a `bwrap` symlink speaks as bwrap.
#pragma once
#include <string>
#include <string_view>

namespace sb::log {

void set_program_name(std::string_view argv0);  // basename of argv[0]
const std::string& program_name();
void set_level_prefix(bool on);
void set_verbose(bool on);

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
