// Seccomp profiles in the OCI / Docker JSON format (seccomp-profiles/*.json), compiled with
// libseccomp into the same raw BPF that --seccomp FD takes (a struct sock_filter array).
//
// Pipeline: load_profile (read + validate, every error names the file, the JSON path and
// the reason) -> translate (the exact libseccomp rules for each architecture; pure, unit
// tested) -> compile (libseccomp, exported BPF). Planning (plan/) compiles them before
// anything runs, and the child loads the program last, right before exec (launch/child.cpp).
#pragma once
#include <seccomp.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spec/spec.hpp"

namespace sb::security {

// ---- Profiles --------------------------------------------------------------------------

struct SeccompArg {
  unsigned index = 0;  // syscall argument, 0..5
  scmp_compare op = SCMP_CMP_EQ;
  uint64_t value = 0;      // SCMP_CMP_MASKED_EQ: the mask
  uint64_t value_two = 0;  // SCMP_CMP_MASKED_EQ: the value compared with (arg & mask)
};

// "includes" / "excludes" of Docker profiles.
struct SeccompCondition {
  std::vector<std::string> arches;  // Docker names ("amd64", "x86", "arm64"...)
  std::vector<int> caps;            // capability numbers
  std::optional<std::array<int, 3>> min_kernel;  // "minKernel": "4.8" -> {4, 8, 0}
  bool empty() const { return arches.empty() && caps.empty() && !min_kernel; }
};

struct SeccompRule {
  std::string where;  // JSON path of the rule: "syscalls[3]"
  std::vector<std::string> names;
  std::vector<std::string> name_paths;  // JSON path of each name: "syscalls[3].names[1]"
  uint32_t action = SCMP_ACT_ALLOW;     // libseccomp action, errno/trace data included
  std::vector<SeccompArg> args;
  SeccompCondition includes, excludes;
};

struct SeccompProfile {
  std::string file;  // for diagnostics
  uint32_t default_action = SCMP_ACT_ALLOW;
  // "architectures", or the native entry of "archMap" (resolved at compile time);
  // names libseccomp does not know are left out: they cannot be this machine's.
  std::vector<uint32_t> arches;
  struct ArchMapEntry {
    uint32_t arch = 0;
    std::vector<uint32_t> sub_arches;
  };
  std::vector<ArchMapEntry> arch_map;
  std::vector<SeccompRule> rules;
};

// Parses and validates profile text; `file` only names it in errors. Throws sb::Error
// "FILE: PATH: reason" (e.g. "x.json: syscalls[3].names[1]: ...").
SeccompProfile parse_seccomp_profile(const std::string& text, const std::string& file);
SeccompProfile load_seccomp_profile(const std::string& path);

// --seccomp-profile NAME|PATH: anything with a '/' is a path; a bare name (".json"
// optional) is looked up in each of `dirs` in order. Throws naming what was tried.
std::string find_seccomp_profile(const std::string& name_or_path,
                                 const std::vector<std::string>& dirs);
// The installed profile directory, then the source tree's seccomp-profiles/.
std::vector<std::string> seccomp_profile_dirs();
// The profile NAMEs (file names without .json) in `dirs`, sorted, each once.
std::vector<std::string> seccomp_profile_names(const std::vector<std::string>& dirs);

// ---- Compilation ----------------------------------------------------------------------

struct SeccompCompileOptions {
  // Architectures of the filter. Empty: the native one plus the compat architectures
  // (x86 and x32 on x86_64...) that the profile lists.
  std::vector<uint32_t> arches;
  uint64_t caps = 0;  // capabilities the command runs with (includes/excludes "caps")
  std::string kernel_release;  // uname -r for "minKernel"; empty: the running kernel
  bool log = false;  // --seccomp-log: every denial becomes SCMP_ACT_LOG
  // --audit-fd: every errno action becomes SCMP_ACT_NOTIFY (seccomp user notification), so
  // that the supervisor sees each denied call and answers it with the errno itself.
  bool notify = false;
  int optimize = 2;  // SCMP_FLTATR_CTL_OPTIMIZE: 2 = binary tree, 1 = linear (priority)
};

// One seccomp_rule_add call.
struct SeccompLibRule {
  uint32_t arch = 0;  // SCMP_ARCH_*
  std::string name;
  int nr = 0;  // native number (seccomp_syscall_resolve_name), possibly a pseudo number
  uint32_t action = 0;
  std::vector<scmp_arg_cmp> args;
  std::string where;  // "syscalls[3].names[1]"
};

struct SeccompTranslation {
  uint32_t default_action = 0;
  std::vector<uint32_t> arches;
  std::vector<SeccompLibRule> rules;
  std::vector<std::string> warnings;  // one line each, ready to print
};

// Pure: the action a rule compiles to. --seccomp-log: every denial (errno, kill, trap,
// trace) becomes SCMP_ACT_LOG. --audit-fd (`notify`): every SCMP_ACT_ERRNO becomes
// SCMP_ACT_NOTIFY; kill, trap and trace stay as they are (a killed process has nothing to
// be answered, and the kernel's own action is kept).
uint32_t seccomp_effective_action(uint32_t action, bool log, bool notify);

// Pure: which libseccomp rules the profile means on these architectures.
SeccompTranslation translate_seccomp_profile(const SeccompProfile& profile,
                                             const SeccompCompileOptions& opts);

struct SeccompProgram {
  std::string bpf;  // struct sock_filter[], as seccomp_export_bpf writes it
  std::vector<std::string> warnings;
};
SeccompProgram compile_seccomp_profile(const SeccompProfile& profile,
                                       const SeccompCompileOptions& opts);
// libseccomp's pseudo filter code for the same filter (seccomp-compile --pfc).
std::string seccomp_profile_pfc(const SeccompProfile& profile, const SeccompCompileOptions& opts);

// Architecture name ("x86_64", "x86", "SCMP_ARCH_AARCH64"...) -> SCMP_ARCH_*, or 0.
uint32_t seccomp_arch_from_name(const std::string& name);
// The architecture names --arch accepts (without aliases), for completion.
std::vector<std::string> seccomp_arch_names();
std::string seccomp_arch_name(uint32_t arch);
// Architectures the kernel of `native` can also run (x86_64: x86, x32).
std::vector<uint32_t> seccomp_compat_arches(uint32_t native);

// ---- Glue ------------------------------------------------------------------------------

// Planning: checks --seccomp-log and compiles every --seccomp-profile of `spec` (found by
// NAME or PATH) for a command with the capabilities resolve_caps gives from `root` and
// `current` (the caller's), printing warnings. One program per profile, in order. Throws
// sb::Error naming the option.
std::vector<std::string> compile_spec_seccomp(const Spec& spec, bool root, uint64_t current);

// --audit-fd: the one --seccomp-profile compiled again with notify (its errno rules become
// SCMP_ACT_NOTIFY), for the command only; init and the supervisor keep the plain program.
// Checks first that the kernel has SECCOMP_RET_USER_NOTIF (its own answer, not a version
// guess). Throws sb::Error naming --audit-fd.
struct SeccompAudit {
  std::string profile;         // the --seccomp-profile NAME|PATH as given
  std::string notify_program;  // the command's version of it
  std::vector<SeccompLibRule> errno_rules;  // the plain translation's errno rules
};

// Pure: the first of `rules` for syscall `name` on `arch` whose argument comparisons all
// hold for `args` (what the kernel matched), or nullptr (the profile's default action).
const SeccompLibRule* seccomp_matching_rule(const std::vector<SeccompLibRule>& rules,
                                            uint32_t arch, const std::string& name,
                                            const std::array<uint64_t, 6>& args);
// nullopt: the kernel has no user notification and --audit-mode best-effort was given
// (warned). `has_user_notif` replaces the kernel's answer (tests).
std::optional<SeccompAudit> compile_spec_seccomp_audit(
    const Spec& spec, bool root, uint64_t current,
    const std::function<int()>& has_user_notif = {});

// Every seccomp program for the command in command-line order: `compiled` (one per
// --seccomp-profile, from compile_spec_seccomp) and the programs read from the --seccomp /
// --add-seccomp-fd descriptors.
std::vector<std::string> seccomp_programs_in_order(const Spec& spec,
                                                   const std::vector<std::string>& compiled);

// What `sandbox seccomp-compile` was asked (parsed by cli/subcommands.cpp).
struct SeccompCompileRequest {
  bool list = false;             // --list: print the installed profile names instead
  std::string profile;           // PROFILE: an installed NAME or a PATH
  SeccompCompileOptions options;  // --arch
  bool pfc = false;              // --pfc: libseccomp's pseudo filter code, not BPF
};

// `sandbox seccomp-compile PROFILE [--arch ARCH]... [--pfc]`: writes the BPF to stdout.
// Returns the exit status; errors are printed as "PROG: seccomp-compile: ...".
int seccomp_compile_main(const SeccompCompileRequest& req);

}  // namespace sb::security
