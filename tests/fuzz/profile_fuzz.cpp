// libFuzzer target for profile files: the text `--profile PATH` reads (any bytes a user or
// an attacker-supplied file may hold) through load_profile, then the arguments it yields
// through sb::cli::parse and planning (sb::validate), as `sandbox --profile FILE` runs them before
// anything is created. Any input must either succeed or fail with sb::Error.
//
// The text is a memfd named by its /proc/self/fd path. `include NAME` lines are looked up
// in the profile directories (read-only); the expansion values are fixed.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "cli/profile.hpp"
#include "plan/plan.hpp"
#include "spec/spec.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("fuzz-profile", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();
  if (size && ::write(fd, data, size) != static_cast<ssize_t>(size)) __builtin_trap();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const std::map<std::string, std::string> vars{{"HOME", "/home/u"},
                                                {"PWD", "/home/u/src"},
                                                {"APP", "default"},
                                                {"XDG_RUNTIME_DIR", "/run/user/1000"},
                                                {"UID", "1000"}};
  try {
    std::vector<std::string> args = sb::cli::load_profile(path, vars);
    // The splice as --profile makes it, with a command after it.
    args.push_back("--");
    args.push_back("true");
    sb::cli::SystemParseEnv env;
    sb::Spec spec = sb::cli::parse(args, env).spec;
    sb::planning::check_fds_open(spec.fds);  // what planning checks first
    sb::HostFacts host;
    host.uid = 1000;
    host.gid = 1000;
    (void)sb::validate(spec, host);
  } catch (const sb::Error&) {
    // A bad profile is reported as FILE:LINE: reason, never crashes.
  }
  ::close(fd);
  return 0;
}
