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
#include <tuple>

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

// ---- Several rules for one syscall -------------------------------------------------------
//
// The OCI format orders no rule before another, and libseccomp keeps one unconditional action
// per syscall (2.5.4: the FIRST unconditional rule added stays, later ones are ignored) and
// lets an unconditional rule swallow every conditional rule of the syscall, whatever their
// order; runc and crun add the rules in order and take what libseccomp makes of it. Profiles
// that engines resolve (Podman's: `setns` in the general allow list and again, with EPERM,
// for commands without CAP_SYS_ADMIN) mean the later, narrower rule. sandbox gives every
// call the MORE RESTRICTIVE of the actions of the rules that match it, in the kernel's own
// precedence (KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW;
// between two errnos or two trace codes, the later rule's): fail closed, and the meaning the
// kernel gives two stacked filters. Each syscall's rules are resolved here into rules that
// libseccomp cannot reduce (one unconditional rule, or conditional rules that never give
// one call two actions); what cannot be expressed that way is refused, naming the rules.

// The kernel's precedence between filter results (seccomp(2), "multiple filters").
int severity(uint32_t a) {
  if (a == SCMP_ACT_KILL_PROCESS) return 7;
  if (a == SCMP_ACT_KILL_THREAD) return 6;
  if (a == SCMP_ACT_TRAP) return 5;
  if ((a & 0xffff0000U) == SCMP_ACT_ERRNO(0)) return 4;
  if (a == SCMP_ACT_NOTIFY) return 3;
  if ((a & 0xffff0000U) == SCMP_ACT_TRACE(0)) return 2;
  if (a == SCMP_ACT_LOG) return 1;
  if (a == SCMP_ACT_ALLOW) return 0;
  return 8;  // unknown: the parser makes none; treated as the strongest (fail closed)
}

// Whether `later` (a rule after `earlier` in the profile) decides a call both match.
bool overrides(uint32_t later, uint32_t earlier) {
  if (later == earlier) return false;  // the same action: the first rule stays (its name)
  return severity(later) >= severity(earlier);
}

// One comparison's set of 64-bit argument values, for disjointness: a union of closed
// intervals (every op but MASKED_EQ).
using Intervals = std::vector<std::pair<uint64_t, uint64_t>>;
constexpr uint64_t kMax = ~uint64_t{0};

// (MASKED_EQ: not an interval list; callers handle it first.)
Intervals intervals(const scmp_arg_cmp& c) {
  const uint64_t v = c.datum_a;
  switch (c.op) {
    case SCMP_CMP_EQ: return Intervals{{v, v}};
    case SCMP_CMP_NE: {
      Intervals r;
      if (v > 0) r.push_back({0, v - 1});
      if (v < kMax) r.push_back({v + 1, kMax});
      return r;
    }
    case SCMP_CMP_LT: return v == 0 ? Intervals{} : Intervals{{0, v - 1}};
    case SCMP_CMP_LE: return Intervals{{0, v}};
    case SCMP_CMP_GT: return v == kMax ? Intervals{} : Intervals{{v + 1, kMax}};
    case SCMP_CMP_GE: return Intervals{{v, kMax}};
    default: return Intervals{{0, kMax}};
  }
}

// MASKED_EQ (arg & mask) == value never holds when value has bits outside the mask.
bool never(const scmp_arg_cmp& c) {
  if (c.op == SCMP_CMP_MASKED_EQ) return (c.datum_b & ~c.datum_a) != 0;
  return intervals(c).empty();
}

// True when no argument value satisfies both comparisons (of the same argument). False
// when they may share one (MASKED_EQ against a range is not worked out: assumed to).
bool disjoint(const scmp_arg_cmp& a, const scmp_arg_cmp& b) {
  if (never(a) || never(b)) return true;
  if (a.op == SCMP_CMP_MASKED_EQ && b.op == SCMP_CMP_MASKED_EQ)
    return ((a.datum_b ^ b.datum_b) & a.datum_a & b.datum_a) != 0;
  if (a.op == SCMP_CMP_MASKED_EQ || b.op == SCMP_CMP_MASKED_EQ) {
    const scmp_arg_cmp& m = a.op == SCMP_CMP_MASKED_EQ ? a : b;
    const scmp_arg_cmp& o = a.op == SCMP_CMP_MASKED_EQ ? b : a;
    if (o.op == SCMP_CMP_EQ) return (o.datum_a & m.datum_a) != m.datum_b;
    return false;
  }
  const Intervals ia = intervals(a), ib = intervals(b);
  for (const auto& [lo1, hi1] : ia)
    for (const auto& [lo2, hi2] : ib)
      if (lo1 <= hi2 && lo2 <= hi1) return false;
  return true;
}

// Two conjunctions of comparisons (one per argument at most, see arg_groups) select no call
// in common when some argument's comparisons are disjoint.
bool groups_disjoint(const std::vector<scmp_arg_cmp>& a, const std::vector<scmp_arg_cmp>& b) {
  for (const auto& x : a) {
    if (never(x)) return true;
    for (const auto& y : b)
      if (x.arg == y.arg && disjoint(x, y)) return true;
  }
  return std::any_of(b.begin(), b.end(), never);
}

bool same_group(std::vector<scmp_arg_cmp> a, std::vector<scmp_arg_cmp> b) {
  auto key = [](const scmp_arg_cmp& c) { return std::tuple(c.arg, c.op, c.datum_a, c.datum_b); };
  auto less = [&](const scmp_arg_cmp& x, const scmp_arg_cmp& y) { return key(x) < key(y); };
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const scmp_arg_cmp& x, const scmp_arg_cmp& y) { return key(x) == key(y); });
}

// The calls a conjunction does NOT select, as a union of single comparisons (exact:
// EQ<->NE, LT<->GE, LE<->GT; (arg & m) != v as "some bit of m differs from v's").
std::vector<std::vector<scmp_arg_cmp>> complement(const std::vector<scmp_arg_cmp>& group) {
  std::vector<std::vector<scmp_arg_cmp>> out;
  auto add = [&](scmp_arg_cmp c) {
    if (!never(c)) out.push_back({c});
  };
  for (const auto& c : group) {
    scmp_arg_cmp n = c;
    switch (c.op) {
      case SCMP_CMP_EQ: n.op = SCMP_CMP_NE; add(n); break;
      case SCMP_CMP_NE: n.op = SCMP_CMP_EQ; add(n); break;
      case SCMP_CMP_LT: n.op = SCMP_CMP_GE; add(n); break;
      case SCMP_CMP_GE: n.op = SCMP_CMP_LT; add(n); break;
      case SCMP_CMP_LE: n.op = SCMP_CMP_GT; add(n); break;
      case SCMP_CMP_GT: n.op = SCMP_CMP_LE; add(n); break;
      case SCMP_CMP_MASKED_EQ:
        for (int bit = 0; bit < 64; ++bit) {
          const uint64_t b = uint64_t{1} << bit;
          if (c.datum_a & b) add(scmp_arg_cmp{c.arg, SCMP_CMP_MASKED_EQ, b, ~c.datum_b & b});
        }
        break;
      default: break;
    }
  }
  return out;
}

// A rule of one syscall on one architecture, in profile order.
struct Candidate {
  uint32_t action = 0;
  std::vector<scmp_arg_cmp> args;  // empty: unconditional
  std::string where;
  size_t seq = 0;  // position in the profile (rule, name, argument group)
};

// The rules that give each call of `name` the most restrictive action of the candidates
// matching it. Rules with the default action are left out afterwards (the default gives it).
std::vector<Candidate> resolve(const std::string& file, const std::string& name,
                               const std::vector<Candidate>& cands, uint32_t default_action) {
  std::optional<Candidate> uncond;
  std::vector<Candidate> conds;
  for (const auto& c : cands) {
    // A condition no call meets (MASKED_EQ with a value outside its mask) selects nothing.
    if (std::any_of(c.args.begin(), c.args.end(), never)) continue;
    if (c.args.empty()) {
      if (!uncond || overrides(c.action, uncond->action)) uncond = c;
      continue;
    }
    // The same conditions twice: one rule, the stronger (or later) action.
    auto same = std::find_if(conds.begin(), conds.end(),
                             [&](const Candidate& d) { return same_group(d.args, c.args); });
    if (same == conds.end()) conds.push_back(c);
    else if (overrides(c.action, same->action)) *same = c;
  }
  auto named = [&](const Candidate& c) { return action_name(c.action) + " (" + c.where + ")"; };
  std::vector<Candidate> out;
  if (uncond) {
    // Conditional rules that the unconditional one does not override decide their calls.
    std::vector<Candidate> winners;
    for (const auto& c : conds) {
      bool c_later = c.seq > uncond->seq;
      bool wins = c.action != uncond->action &&
                  (severity(c.action) > severity(uncond->action) ||
                   (severity(c.action) == severity(uncond->action) && c_later));
      if (wins) winners.push_back(c);
    }
    if (winners.empty()) return {*uncond};
    if (winners.size() > 1)
      throw Error(file + ": " + winners[1].where + ": '" + name + "' has an unconditional " +
                  named(*uncond) + " rule and more than one conditional rule that is more "
                  "restrictive (" + named(winners[0]) + ", " + named(winners[1]) +
                  "); sandbox expresses one such exception per syscall (libseccomp lets an "
                  "unconditional rule swallow the conditional ones), so this has no filter");
    // Security: the unconditional rule's action only for the calls the stronger
    // conditional rule does not select (libseccomp would otherwise drop the latter).
    out.push_back(winners[0]);
    for (auto& g : complement(winners[0].args)) out.push_back({uncond->action, g, uncond->where, uncond->seq});
    return out;
  }
  // Only conditional rules: libseccomp tests them in its own order, not the profile's, so
  // two that can match one call with different actions must not both reach it; fine when
  // the weaker one has the default action (it is left out, the stronger one decides).
  for (size_t i = 0; i < conds.size(); ++i)
    for (size_t j = i + 1; j < conds.size(); ++j) {
      const Candidate& a = conds[i];
      const Candidate& b = conds[j];
      if (a.action == b.action || groups_disjoint(a.args, b.args)) continue;
      const Candidate& loser = overrides(b.action, a.action) ? a : b;
      if (loser.action == default_action) continue;
      throw Error(file + ": " + b.where + ": '" + name + "' has conditional rules " + named(a) +
                  " and " + named(b) + " that can both match one call; libseccomp would "
                  "pick one by its own order, not the more restrictive one, so this has no "
                  "filter (make the conditions exclusive)");
    }
  return conds;
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
  UnknownNames unknown(profile.file, t.default_action);
  for (uint32_t arch : t.arches) {
    // Each syscall's applicable rules in profile order, syscalls in order of appearance.
    std::vector<std::pair<std::string, int>> order;
    std::map<int, std::vector<Candidate>> cands;
    size_t seq = 0;
    for (const auto& rule : profile.rules) {
      if (!applies(rule, arch, opts.caps, kernel)) continue;
      uint32_t action = effective(rule.action, opts);
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
        if (!cands.count(nr)) order.emplace_back(name, nr);
        for (const auto& g : groups) cands[nr].push_back({action, g, where, seq++});
      }
    }
    for (const auto& [name, nr] : order)
      for (auto& c : resolve(profile.file, name, cands[nr], t.default_action))
        // libseccomp refuses rules with the default action; they change nothing anyway.
        if (c.action != t.default_action)
          t.rules.push_back({arch, name, nr, c.action, std::move(c.args), std::move(c.where)});
  }
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
