// libFuzzer target for the seccomp profile loader: the text of a profile (OCI / Docker JSON,
// as in seccomp-profiles/) through parse_seccomp_profile, translate_seccomp_profile and
// compile_seccomp_profile, the path `--seccomp-profile FILE` takes before anything runs.
// Any input must either compile or fail with sb::Error.
#include <cstdint>
#include <string>

#include "security/seccomp.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    sb::security::SeccompProfile profile = sb::security::parse_seccomp_profile(text, "fuzz.json");
    sb::security::SeccompCompileOptions opts;
    opts.kernel_release = "6.1.0";  // fixed, so that "minKernel" decisions are reproducible
    opts.caps = 0;
    (void)sb::security::translate_seccomp_profile(profile, opts);
    opts.caps = ~0ULL;
    opts.log = true;
    (void)sb::security::compile_seccomp_profile(profile, opts);
  } catch (const sb::Error&) {
    // A bad profile is reported, never crashes.
  }
  return 0;
}
