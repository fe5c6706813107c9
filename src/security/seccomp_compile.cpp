// From a parsed seccomp profile to libseccomp rules (translate) and to the exported BPF
// program (compile), plus the `sandbox seccomp-compile` subcommand.
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <strings.h>
#include <map>
#include <memory>
#include <set>

#include "security/seccomp.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"
#include "util/log.hpp"

namespace sb::security {
namespace {

struct ArchInfo {
  uint32_t token;
  const char* name;  // libseccomp's name
  std::vector<const char*> aliases;  // Go / Docker names used by "includes": {"arches": []}
  std::vector<uint32_t> compat;      // what a kernel of this architecture can also run
};

const std::vector<ArchInfo>& arch_table() {
  static const std::vector<ArchInfo> t = {
      {SCMP_ARCH_X86_64, "x86_64", {"amd64"}, {SCMP_ARCH_X86, SCMP_ARCH_X32}},
      {SCMP_ARCH_X86, "x86", {"386", "i386", "i686"}, {}},
      {SCMP_ARCH_X32, "x32", {}, {}},
      {SCMP_ARCH_AARCH64, "aarch64", {"arm64"}, {SCMP_ARCH_ARM}},
      {SCMP_ARCH_ARM, "arm", {}, {}},
      {SCMP_ARCH_MIPS, "mips", {}, {}},
      {SCMP_ARCH_MIPSEL, "mipsel", {"mipsle"}, {}},
      {SCMP_ARCH_MIPS64, "mips64", {}, {SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64N32}},
      {SCMP_ARCH_MIPSEL64, "mipsel64", {"mips64le"}, {SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64N32}},
      {SCMP_ARCH_MIPS64N32, "mips64n32", {}, {SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64}},
      {SCMP_ARCH_MIPSEL64N32, "mipsel64n32", {"mips3l64n32", "mips64n32le"},
       {SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64}},
      {SCMP_ARCH_PPC, "ppc", {}, {}},
      {SCMP_ARCH_PPC64, "ppc64", {}, {SCMP_ARCH_PPC}},
      {SCMP_ARCH_PPC64LE, "ppc64le", {}, {}},
      {SCMP_ARCH_S390, "s390", {}, {}},
      {SCMP_ARCH_S390X, "s390x", {}, {SCMP_ARCH_S390}},
      {SCMP_ARCH_PARISC, "parisc", {}, {}},
      {SCMP_ARCH_PARISC64, "parisc64", {}, {SCMP_ARCH_PARISC}},
      {SCMP_ARCH_RISCV64, "riscv64", {}, {}},
  };
  return t;
}

const ArchInfo* arch_info(uint32_t token) {
  for (const auto& a : arch_table())
    if (a.token == token) return &a;
  return nullptr;
}

// Architectures whose socket and System V IPC calls can go through socketcall(2) / ipc(2).
bool multiplexes(uint32_t arch) {
  switch (arch) {
    case SCMP_ARCH_X86: case SCMP_ARCH_S390: case SCMP_ARCH_S390X: case SCMP_ARCH_PPC:
    case SCMP_ARCH_PPC64: case SCMP_ARCH_PPC64LE: case SCMP_ARCH_MIPS: case SCMP_ARCH_MIPSEL:
      return true;
    default:
      return false;
  }
}

bool permissive(uint32_t action) { return action == SCMP_ACT_ALLOW || action == SCMP_ACT_LOG; }

uint32_t effective(uint32_t action, const SeccompCompileOptions& o) {
  return seccomp_effective_action(action, o.log, o.notify);
}

std::string action_name(uint32_t a) {
  uint32_t data = a & 0xffffU;
  if (a == SCMP_ACT_ALLOW) return "SCMP_ACT_ALLOW";
  if (a == SCMP_ACT_LOG) return "SCMP_ACT_LOG";
  if (a == SCMP_ACT_KILL) return "SCMP_ACT_KILL";
  if (a == SCMP_ACT_KILL_PROCESS) return "SCMP_ACT_KILL_PROCESS";
  if (a == SCMP_ACT_TRAP) return "SCMP_ACT_TRAP";
  if (a == SCMP_ACT_NOTIFY) return "SCMP_ACT_NOTIFY";
  if ((a & 0xffff0000U) == SCMP_ACT_ERRNO(0)) return "SCMP_ACT_ERRNO(" + std::to_string(data) + ")";
  if ((a & 0xffff0000U) == SCMP_ACT_TRACE(0)) return "SCMP_ACT_TRACE(" + std::to_string(data) + ")";
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%08x", a);
  return buf;
}

std::array<int, 3> kernel_version(const std::string& release) {
  std::string r = release;
  if (r.empty()) {
    utsname u{};
    if (::uname(&u) == 0) r = u.release;
  }
  std::array<int, 3> v{0, 0, 0};
  std::sscanf(r.c_str(), "%d.%d.%d", &v[0], &v[1], &v[2]);
  return v;
}

bool arch_matches(const std::vector<std::string>& names, uint32_t arch) {
  const ArchInfo* info = arch_info(arch);
  if (!info) return false;
  for (const auto& n : names) {
    if (n == info->name) return true;
    for (const char* al : info->aliases)
      if (n == al) return true;
  }
  return false;
}

// Docker's includes/excludes: a rule applies when everything "includes" asks for holds and
// nothing "excludes" names does. "arches" is checked per filter architecture (Docker checks
// the native one only; the two agree on a single-architecture filter).
bool applies(const SeccompRule& r, uint32_t arch, uint64_t caps,
             const std::array<int, 3>& kernel) {
  auto has_cap = [&](int c) { return (caps >> c) & 1; };
  const auto& inc = r.includes;
  const auto& exc = r.excludes;
  if (!exc.arches.empty() && arch_matches(exc.arches, arch)) return false;
  if (std::any_of(exc.caps.begin(), exc.caps.end(), has_cap)) return false;
  if (exc.min_kernel && kernel >= *exc.min_kernel) return false;
  if (!inc.arches.empty() && !arch_matches(inc.arches, arch)) return false;
  if (!std::all_of(inc.caps.begin(), inc.caps.end(), has_cap)) return false;
  if (inc.min_kernel && kernel < *inc.min_kernel) return false;
  return true;
}

std::string libseccomp_version() {
  const scmp_version* v = seccomp_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->micro);
}

scmp_arg_cmp to_cmp(const SeccompArg& a) {
  // SCMP_CMP_MASKED_EQ: (arg & value) == valueTwo, as in runc and crun.
  return scmp_arg_cmp{a.index, a.op, a.value, a.value_two};
}

std::vector<uint32_t> filter_arches(const SeccompProfile& p, const SeccompCompileOptions& o) {
  std::vector<uint32_t> out;
  auto add = [&](uint32_t a) {
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  };
  if (!o.arches.empty()) {
    for (uint32_t a : o.arches) add(a);
    return out;
  }
  uint32_t native = seccomp_arch_native();
  std::vector<uint32_t> listed = p.arches;
  for (const auto& e : p.arch_map)
    if (e.arch == native) {
      listed.push_back(e.arch);
      listed.insert(listed.end(), e.sub_arches.begin(), e.sub_arches.end());
    }
  add(native);
  // Security: a compat entry point (int 0x80, x32 syscalls) is only open when the profile
  // lists its architecture; the others end in the bad-architecture action (kill).
  for (uint32_t a : seccomp_compat_arches(native))
    if (std::find(listed.begin(), listed.end(), a) != listed.end()) add(a);
  return out;
}

// Like runc: several comparisons of one argument in a rule become one rule each
// (libseccomp cannot AND them), otherwise the comparisons are ANDed in one rule.
std::vector<std::vector<scmp_arg_cmp>> arg_groups(const SeccompRule& rule) {
  std::vector<std::vector<scmp_arg_cmp>> groups;
  std::set<unsigned> seen;
  bool repeated = false;
  for (const auto& a : rule.args) repeated |= !seen.insert(a.index).second;
  if (repeated) {
    for (const auto& a : rule.args) groups.push_back({to_cmp(a)});
  } else {
    groups.emplace_back();
    for (const auto& a : rule.args) groups.back().push_back(to_cmp(a));
  }
  return groups;
}

// A name that does not exist on this architecture is skipped for it (libseccomp would keep
// a dead rule for its pseudo number). The socket and IPC calls that x86, s390 and ppc
// multiplex through socketcall/ipc stay: libseccomp rewrites them.
bool exists_on(uint32_t arch, const std::string& name) {
  int arch_nr = seccomp_syscall_resolve_name_arch(arch, name.c_str());
  return !(arch_nr == __NR_SCMP_ERROR || arch_nr <= -10000 || (arch_nr < 0 && !multiplexes(arch)));
}

// Per architecture and syscall number: what libseccomp already holds, to refuse the
// combinations it would silently reduce. libseccomp keeps one unconditional action per
// syscall: a second unconditional rule replaces the first (2.5: the last one wins) and an
// unconditional rule swallows every conditional rule of the syscall, whatever their order.
// The OCI format gives no precedence between rules (runc and crun add them in order and
// take what libseccomp makes of it), so two rules that could give one call two different
// actions have no single meaning: those stay errors. What is accepted (and reduced by
// reduce_covered below) keeps the meaning exactly, since every call of the syscall gets
// the same action whichever rule libseccomp or a reader takes as matching:
// - the same unconditional action twice (Podman's and Docker's profiles list a syscall in
//   the general allow list and again in an includes.caps / arches / minKernel rule):
//   one rule;
// - an unconditional action beside conditional rules of the SAME action: the conditions
//   only select calls the unconditional rule already gives that action, so the
//   conditional ones are dropped.
class HeldRules {
 public:
  explicit HeldRules(const std::string& file) : file_(file) {}

  void add(uint32_t arch, int nr, const std::string& name, const std::string& where,
           uint32_t action, bool conditional) {
    Held& h = held_[{arch, nr}];
    if (!conditional) {
      if (h.uncond && h.uncond->first != action)
        throw Error(file_ + ": " + where + ": '" + name + "' already has an unconditional " +
                    action_name(h.uncond->first) + " rule (" + h.uncond->second +
                    "), and this one gives it " + action_name(action) +
                    "; the format orders no rule before another, so the call has no single "
                    "action (check the rules' includes/excludes for these capabilities)");
      for (const auto& [a, w] : h.cond)
        if (a != action) conflict(name, where, action, where, a, w);
      h.uncond = {action, where};
    } else {
      if (h.uncond && h.uncond->first != action)
        conflict(name, where, h.uncond->first, h.uncond->second, action, where);
      h.cond.emplace_back(action, where);
    }
  }

 private:
  struct Held {
    std::optional<std::pair<uint32_t, std::string>> uncond;  // action, where
    std::vector<std::pair<uint32_t, std::string>> cond;
  };

  [[noreturn]] void conflict(const std::string& name, const std::string& where, uint32_t uncond,
                             const std::string& uncond_where, uint32_t cond,
                             const std::string& cond_where) const {
    throw Error(file_ + ": " + where + ": '" + name + "' has an unconditional " +
                action_name(uncond) + " rule (" + uncond_where + ") and a conditional " +
                action_name(cond) + " rule (" + cond_where +
                "); libseccomp would silently drop the conditional one");
  }

  const std::string& file_;
  std::map<std::pair<uint32_t, int>, Held> held_;
};

// After HeldRules accepted `rules`: a syscall with an unconditional rule keeps that one
// rule; its other rules all have the same action (any other was an error), so they are
// covered by it (see HeldRules).
void reduce_covered(std::vector<SeccompLibRule>& rules) {
  std::set<std::pair<uint32_t, int>> uncond;
  for (const auto& r : rules)
    if (r.args.empty()) uncond.insert({r.arch, r.nr});
  std::set<std::pair<uint32_t, int>> kept;
  std::erase_if(rules, [&](const SeccompLibRule& r) {
    const std::pair<uint32_t, int> key{r.arch, r.nr};
    if (!uncond.count(key)) return false;
    return !r.args.empty() || !kept.insert(key).second;
  });
}

// Names unknown on every architecture libseccomp knows. Skipping one leaves its calls to
// the default action: fine when that is no more permissive than the rule; an error when
// it would let through what the rule denies.
class UnknownNames {
 public:
  UnknownNames(const std::string& file, uint32_t default_action)
      : file_(file), default_action_(default_action) {}

  void skip(const std::string& name, const std::string& where, uint32_t action) {
    if (!seen_.insert(where).second) return;
    if (permissive(action) || !permissive(default_action_)) {
      skipped_.push_back(name + " (" + where + ")");
      return;
    }
    throw Error(file_ + ": " + where + ": unknown syscall '" + name + "' (libseccomp " +
                libseccomp_version() +
                " does not know it on any architecture); skipping it would leave the call "
                "allowed");
  }

  // The one warning line listing what was skipped, if anything was.
  std::optional<std::string> warning() const {
    if (skipped_.empty()) return std::nullopt;
    std::string w = file_ + ": " + std::to_string(skipped_.size()) + " syscall name" +
                    (skipped_.size() == 1 ? "" : "s") + " unknown to libseccomp " +
                    libseccomp_version() + " skipped (such calls get the default action):";
    for (const auto& s : skipped_) w += " " + s;
    return w;
  }

 private:
  const std::string& file_;
  uint32_t default_action_;
  std::set<std::string> seen_;
  std::vector<std::string> skipped_;
};

struct CtxDeleter {
  void operator()(void* c) const { seccomp_release(c); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

void set_attr(void* ctx, scmp_filter_attr attr, uint32_t value, const char* what) {
  int rc = seccomp_attr_set(ctx, attr, value);
  if (rc < 0) throw SysError(std::string("libseccomp: can't set ") + what, -rc);
}

// One libseccomp filter with every architecture of the translation: a filter per
// architecture (so that rules can differ between them), merged.
Ctx build(const SeccompProfile& profile, const SeccompTranslation& t,
          const SeccompCompileOptions& o) {
  Ctx merged;
  uint32_t native = seccomp_arch_native();
  for (uint32_t arch : t.arches) {
    Ctx ctx(seccomp_init(t.default_action));
    if (!ctx) throw Error(profile.file + ": libseccomp rejected the default action " +
                          action_name(t.default_action));
    if (arch != native) {
      int rc = seccomp_arch_add(ctx.get(), arch);
      if (rc < 0) throw SysError("libseccomp: can't add architecture " + seccomp_arch_name(arch), -rc);
      rc = seccomp_arch_remove(ctx.get(), SCMP_ARCH_NATIVE);
      if (rc < 0) throw SysError("libseccomp: can't remove the native architecture", -rc);
    }
    // Security: a syscall from an architecture the filter does not cover kills the whole
    // process (libseccomp's default kills only the thread).
    set_attr(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "the bad-architecture action");
    // We set no_new_privs ourselves before loading, and only export the program here.
    set_attr(ctx.get(), SCMP_FLTATR_CTL_NNP, 0, "SCMP_FLTATR_CTL_NNP");
    // A binary tree of syscall numbers: O(log n) instead of a linear scan of every rule.
    if (o.optimize > 0) {
      int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, static_cast<uint32_t>(o.optimize));
      if (rc < 0 && o.optimize == 1) throw SysError("libseccomp: can't set SCMP_FLTATR_CTL_OPTIMIZE", -rc);
    }
    for (const auto& r : t.rules) {
      if (r.arch != arch) continue;
      int rc = seccomp_rule_add_array(ctx.get(), r.action, r.nr,
                                      static_cast<unsigned>(r.args.size()),
                                      r.args.empty() ? nullptr : r.args.data());
      if (rc < 0) {
        std::string why = rc == -EEXIST ? "conflicts with an earlier rule with the same conditions"
                          : rc == -EINVAL ? "invalid rule (argument comparisons or action)"
                                          : std::strerror(-rc);
        throw Error(profile.file + ": " + r.where + ": libseccomp refused the rule for '" +
                    r.name + "' on " + seccomp_arch_name(arch) + ": " + why);
      }
    }
    if (!merged) {
      merged = std::move(ctx);
    } else {
      int rc = seccomp_merge(merged.get(), ctx.get());
      if (rc < 0) throw SysError("libseccomp: can't merge the architecture filters", -rc);
      (void)ctx.release();  // seccomp_merge freed it
    }
  }
  return merged;
}

template <typename Export>
std::string export_to_memory(void* ctx, Export fn, const char* what) {
  UniqueFd fd(::memfd_create("sandbox-seccomp", MFD_CLOEXEC));
  if (!fd) throw_errno("memfd_create");
  int rc = fn(ctx, fd.get());
  if (rc < 0) throw SysError(std::string("libseccomp: can't export the ") + what, -rc);
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) throw_errno("lseek");
  std::string data;
  if (int err = io::read_all(fd.get(), data))
    throw SysError("Can't read the exported seccomp program", err);
  return data;
}

}  // namespace

uint32_t seccomp_effective_action(uint32_t action, bool log, bool notify) {
  if (log && !permissive(action)) return SCMP_ACT_LOG;
  if (notify && (action & 0xffff0000U) == SCMP_ACT_ERRNO(0)) return SCMP_ACT_NOTIFY;
  return action;
}

uint32_t seccomp_arch_from_name(const std::string& name) {
  std::string n = name;
  if (n.size() > 10 && strncasecmp(n.c_str(), "SCMP_ARCH_", 10) == 0) n = n.substr(10);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& a : arch_table()) {
    if (n == a.name) return a.token;
    for (const char* al : a.aliases)
      if (n == al) return a.token;
  }
  return 0;
}

std::vector<std::string> seccomp_arch_names() {
  std::vector<std::string> v;
  for (const auto& a : arch_table()) v.emplace_back(a.name);
  return v;
}

std::string seccomp_arch_name(uint32_t arch) {
  if (const ArchInfo* a = arch_info(arch)) return a->name;
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%08x", arch);
  return buf;
}

std::vector<uint32_t> seccomp_compat_arches(uint32_t native) {
  const ArchInfo* a = arch_info(native);
  return a ? a->compat : std::vector<uint32_t>{};
}

SeccompTranslation translate_seccomp_profile(const SeccompProfile& profile,
                                             const SeccompCompileOptions& opts) {
  SeccompTranslation t;
  t.default_action = effective(profile.default_action, opts);
  t.arches = filter_arches(profile, opts);
  const auto kernel = kernel_version(opts.kernel_release);
  HeldRules held(profile.file);
  UnknownNames unknown(profile.file, t.default_action);
  for (uint32_t arch : t.arches) {
    for (const auto& rule : profile.rules) {
      if (!applies(rule, arch, opts.caps, kernel)) continue;
      uint32_t action = effective(rule.action, opts);
      // libseccomp refuses rules with the default action; they change nothing anyway.
      if (action == t.default_action) continue;
      const auto groups = arg_groups(rule);
      for (size_t i = 0; i < rule.names.size(); ++i) {
        const std::string& name = rule.names[i];
        const std::string& where = rule.name_paths[i];
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) {
          unknown.skip(name, where, action);
          continue;
        }
        if (!exists_on(arch, name)) continue;
        for (const auto& g : groups) {
          held.add(arch, nr, name, where, action, !g.empty());
          t.rules.push_back({arch, name, nr, action, g, where});
        }
      }
    }
  }
  reduce_covered(t.rules);
  if (auto w = unknown.warning()) t.warnings.push_back(*w);
  return t;
}

SeccompProgram compile_seccomp_profile(const SeccompProfile& profile,
                                       const SeccompCompileOptions& opts) {
  SeccompTranslation t = translate_seccomp_profile(profile, opts);
  Ctx ctx = build(profile, t, opts);
  SeccompProgram p;
  p.bpf = export_to_memory(ctx.get(), seccomp_export_bpf, "BPF program");
  p.warnings = std::move(t.warnings);
  if (p.bpf.empty() || p.bpf.size() % 8 != 0)
    throw Error(profile.file + ": libseccomp exported a program of " + std::to_string(p.bpf.size()) +
                " bytes, not a multiple of 8");
  return p;
}

std::string seccomp_profile_pfc(const SeccompProfile& profile, const SeccompCompileOptions& opts) {
  SeccompTranslation t = translate_seccomp_profile(profile, opts);
  Ctx ctx = build(profile, t, opts);
  return export_to_memory(ctx.get(), seccomp_export_pfc, "pseudo filter code");
}

namespace {

// seccomp-compile --list: the installed profile names, one a line.
void print_profile_names() {
  auto dirs = seccomp_profile_dirs();
  auto names = seccomp_profile_names(dirs);
  if (names.empty()) {
    std::string where;
    for (const auto& d : dirs) where += (where.empty() ? "" : ", ") + d;
    throw Error("no seccomp profiles found (looked in " +
                (where.empty() ? std::string("no directory") : where) + ")");
  }
  for (const auto& n : names) std::printf("%s\n", n.c_str());
}

// seccomp-compile PROFILE: the program (or with --pfc its pseudo filter code) on stdout.
void compile_to_stdout(const std::string& profile, const SeccompCompileOptions& o, bool pfc) {
  if (!pfc && ::isatty(STDOUT_FILENO))
    throw Error("refusing to write a binary program to a terminal; redirect stdout to a file");
  std::string path = find_seccomp_profile(profile, seccomp_profile_dirs());
  SeccompProfile p = load_seccomp_profile(path);
  std::string out;
  if (pfc) {
    out = seccomp_profile_pfc(p, o);
  } else {
    SeccompProgram prog = compile_seccomp_profile(p, o);
    for (const auto& w : prog.warnings) log::warning("seccomp-compile: " + w);
    out = std::move(prog.bpf);
  }
  if (!io::write_all(STDOUT_FILENO, out)) throw_errno("Can't write to stdout");
}

}  // namespace

int seccomp_compile_main(const SeccompCompileRequest& req) {
  try {
    if (req.list) {
      print_profile_names();
      return 0;
    }
    compile_to_stdout(req.profile, req.options, req.pfc);
    return 0;
  } catch (const std::exception& e) {
    log::error(std::string("seccomp-compile: ") + e.what());
    return 1;
  }
}

}  // namespace sb::security
