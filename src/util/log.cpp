#include "util/log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace sb::log {
namespace {
std::string g_name = "sandbox";
std::string g_invoked = "sandbox";
bool g_level_prefix = false;
bool g_verbose = false;
// Initialised before main() runs: the origin of --verbose timings.
const auto g_start = std::chrono::steady_clock::now();

void emit(int level, std::string_view msg) {
  // A message of several lines (bwrap's exact words, then our advice) gets the prefix on
  // each line, so a caller matching "^bwrap: <bwrap's text>$" still matches.
  std::string line;
  // Appended piece by piece: `"<" + std::to_string(level)` makes GCC 12 at -O3 report a
  // false -Wrestrict inside libstdc++ (an operator+ inserting at the front). Every line of
  // a multi-line message carries the prefix (bwrap's callers match "^bwrap: ").
  for (;;) {
    auto nl = msg.find('\n');
    if (g_level_prefix) {
      line += '<';
      line += std::to_string(level);
      line += '>';
    }
    line += g_name;
    line += ": ";
    line += msg.substr(0, nl);
    line += '\n';
    if (nl == std::string_view::npos) break;
    msg.remove_prefix(nl + 1);
  }
  // One write(2) so that concurrent diagnostics from several processes do not interleave.
  ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}
}  // namespace

void set_program_name(std::string_view argv0) {
  if (!argv0.empty()) g_invoked = std::string(argv0);
  auto slash = argv0.rfind('/');
  if (slash != std::string_view::npos) argv0.remove_prefix(slash + 1);
  if (!argv0.empty()) g_name = std::string(argv0);
}
const std::string& program_name() { return g_name; }
const std::string& invoked_as() { return g_invoked; }
void set_level_prefix(bool on) { g_level_prefix = on; }
void set_verbose(bool on) { g_verbose = on; }
void error(std::string_view msg) { emit(3, msg); }
void warning(std::string_view msg) { emit(4, msg); }
void info(std::string_view msg) {
  if (g_verbose) emit(6, msg);
}
bool verbose() { return g_verbose; }
double ms_since_start() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - g_start)
      .count();
}
void step(std::string_view msg) {
  if (!g_verbose) return;
  char t[32];
  std::snprintf(t, sizeof t, "[+%.3f ms] ", ms_since_start());
  emit(6, std::string(t) + std::string(msg));
}

}  // namespace sb::log
