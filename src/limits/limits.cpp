#include "limits/limits.hpp"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "limits/cgroup.hpp"
#include "security/caps.hpp"
#include "util/error.hpp"
#include "util/path.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/mountinfo.hpp"
#include "util/parse.hpp"

namespace sb::limits {
namespace {

struct RlimitName {
  const char* name;
  int resource;
};
// The names prlimit(1) uses.
constexpr RlimitName kRlimits[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

// A decimal number with an optional fraction: "1.5" -> {1, 500000} as micro-units.
std::optional<uint64_t> decimal_micro(std::string_view s) {
  auto dot = s.find('.');
  std::string_view ip = s.substr(0, dot), fp = dot == s.npos ? "" : s.substr(dot + 1);
  if (ip.empty() && fp.empty()) return std::nullopt;
  if (dot != s.npos && fp.empty()) return std::nullopt;
  if (fp.size() > 6) return std::nullopt;
  auto i = ip.empty() ? std::optional<uint64_t>(0) : parse::unsigned_dec(ip, UINT64_MAX / 1000000 / 1000);
  if (!i) return std::nullopt;
  uint64_t frac = 0;
  if (!fp.empty()) {
    auto f = parse::unsigned_dec(fp, 999999);
    if (!f) return std::nullopt;
    frac = *f;
    for (size_t k = fp.size(); k < 6; ++k) frac *= 10;
  }
  return *i * 1000000 + frac;
}

std::string rlim_text(uint64_t v) {
  return v == Limits::kUnlimited ? "unlimited" : std::to_string(v);
}

uint64_t from_rlim(rlim_t v) { return v == RLIM_INFINITY ? Limits::kUnlimited : v; }
rlim_t to_rlim(uint64_t v) { return v == Limits::kUnlimited ? RLIM_INFINITY : v; }

}  // namespace

std::optional<uint64_t> parse_duration_ms(std::string_view s) {
  uint64_t unit_ms = 1000;
  struct Suffix {
    std::string_view text;
    uint64_t ms;
  };
  for (auto [text, ms] : {Suffix{"ms", 1}, Suffix{"s", 1000}, Suffix{"m", 60000},
                          Suffix{"h", 3600000}, Suffix{"d", 86400000}}) {
    if (s.size() > text.size() && s.substr(s.size() - text.size()) == text) {
      unit_ms = ms;
      s.remove_suffix(text.size());
      break;
    }
  }
  auto micro = decimal_micro(s);
  if (!micro || *micro == 0) return std::nullopt;
  if (*micro > UINT64_MAX / unit_ms) return std::nullopt;
  uint64_t ms = *micro * unit_ms / 1000000;
  if (ms == 0) return std::nullopt;  // below a millisecond
  return ms;
}

std::optional<uint64_t> parse_cpus_quota_us(std::string_view s) {
  auto micro = decimal_micro(s);
  if (!micro) return std::nullopt;
  if (*micro > 1000000ULL * 100000) return std::nullopt;  // 100000 CPUs is plenty
  uint64_t quota = *micro * Limits::kCpuPeriodUs / 1000000;
  if (quota < 1000) return std::nullopt;  // the kernel's minimum quota is 1 ms
  return quota;
}

std::vector<std::string> rlimit_names() {
  std::vector<std::string> n;
  for (const auto& r : kRlimits) n.push_back(r.name);
  return n;
}

RlimitSetting parse_rlimit(const std::string& v) {
  auto fail = [&](const std::string& why) -> RlimitSetting {
    throw Error("--rlimit: '" + v + "': " + why);
  };
  auto eq = v.find('=');
  if (eq == std::string::npos) return fail("expected NAME=SOFT[:HARD]");
  RlimitSetting r;
  r.name = v.substr(0, eq);
  r.text = v;
  for (const auto& k : kRlimits)
    if (r.name == k.name) r.resource = k.resource;
  if (r.resource < 0) {
    std::string names;
    for (const auto& k : kRlimits) names += std::string(names.empty() ? "" : ", ") + k.name;
    return fail("unknown limit '" + r.name + "' (one of " + names + ")");
  }
  // The limits counted in bytes take the K, M, G, T suffixes --memory takes.
  bool bytes = r.resource == RLIMIT_AS || r.resource == RLIMIT_DATA ||
               r.resource == RLIMIT_FSIZE || r.resource == RLIMIT_STACK ||
               r.resource == RLIMIT_MEMLOCK || r.resource == RLIMIT_RSS ||
               r.resource == RLIMIT_CORE || r.resource == RLIMIT_MSGQUEUE;
  auto value = [&](std::string_view t) -> uint64_t {
    if (t == "unlimited" || t == "infinity") return Limits::kUnlimited;
    auto n = parse::unsigned_dec(t, Limits::kUnlimited - 1);
    if (!n && bytes) n = parse::byte_size(t);
    if (!n || *n >= Limits::kUnlimited)
      fail("'" + std::string(t) + "' is not a number" +
           (bytes ? " of bytes (K, M, G, T suffixes allowed)" : "") + " or 'unlimited'");
    return *n;
  };
  std::string vals = v.substr(eq + 1);
  auto colon = vals.find(':');
  r.soft = value(vals.substr(0, colon));
  r.hard = colon == std::string::npos ? r.soft : value(vals.substr(colon + 1));
  if (r.soft > r.hard)
    fail("the soft limit " + rlim_text(r.soft) + " is above the hard limit " + rlim_text(r.hard));
  return r;
}

void check_rlimits(const std::vector<RlimitSetting>& rl, bool privileged) {
  for (const auto& r : rl) {
    rlimit cur;
    if (::getrlimit(r.resource, &cur) < 0) throw_errno("getrlimit(" + r.name + ")");
    if (!privileged && r.hard > from_rlim(cur.rlim_max))
      throw Error("--rlimit " + r.text + ": the hard limit " + rlim_text(r.hard) +
                  " is above yours (" + rlim_text(from_rlim(cur.rlim_max)) +
                  "); raising it needs CAP_SYS_RESOURCE (root)");
  }
}

bool may_raise_hard_limits() {
  return security::effective_caps() & (security::CapSet{1} << CAP_SYS_RESOURCE);
}

void raise_hard_limits(pid_t child, const std::vector<RlimitSetting>& rl) {
  for (const auto& r : rl) {
    rlimit cur;
    if (::prlimit(child, static_cast<__rlimit_resource>(r.resource), nullptr, &cur) < 0)
      throw_errno("--rlimit " + r.text + ": prlimit");
    if (r.hard <= from_rlim(cur.rlim_max)) continue;
    rlimit want{std::min(cur.rlim_cur, to_rlim(r.hard)), to_rlim(r.hard)};
    if (::prlimit(child, static_cast<__rlimit_resource>(r.resource), &want, nullptr) < 0)
      throw_errno("--rlimit " + r.text + ": can't raise the hard limit");
  }
}

void apply_rlimits(const std::vector<RlimitSetting>& rl) {
  for (const auto& r : rl) {
    rlimit want{to_rlim(r.soft), to_rlim(r.hard)};
    if (::setrlimit(r.resource, &want) < 0) throw_errno("--rlimit " + r.text + ": setrlimit");
  }
}

namespace {

// The options that ask for a limit the command could lift with CAP_SYS_ADMIN.
std::string guarded_options(const Limits& l) {
  std::vector<std::string> o;
  if (l.memory) o.push_back("--memory " + l.memory_text);
  if (l.pids) o.push_back("--pids " + l.pids_text);
  if (l.cpu_quota_us) o.push_back("--cpus " + l.cpus_text);
  if (l.cpu_weight) o.push_back("--cpu-weight");
  if (l.io_weight) o.push_back("--io-weight");
  if (l.timeout_ms) o.push_back("--timeout " + l.timeout_text);
  std::string s;
  for (const auto& x : o) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// A limit that cannot hold: an error, or with --limits best-effort a warning.
void unenforceable(const Limits& l, const std::string& what) {
  if (!l.best_effort) throw Error(what);
  log::warning(what + " (--limits best-effort: running anyway)");
}

std::vector<std::string> caller_proc_mounts() {
  std::vector<std::string> out;
  for (const auto& m : mountinfo::parse(io::read_file("/proc/self/mountinfo").value_or("")))
    if (m.fstype == "proc") out.push_back(m.mountpoint);
  return out;
}

std::string canonical_path(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

}  // namespace

std::string host_process_reach(const Spec& spec, const std::vector<std::string>& proc_mounts,
                               const std::function<std::string(const std::string&)>& canonical) {
  const bool pidns = spec.unshare_pid || spec.pidns_fd;
  if (!pidns) {
    for (const auto& op : spec.fs)
      if (auto* p = std::get_if<ProcOp>(&op))
        return "--proc " + p->dest + " without a PID namespace mounts the host's procfs, "
               "through which the command reaches the root directory of other root "
               "processes (/proc/PID/root) and a writable cgroup filesystem there";
    return "without a PID namespace (--unshare-pid or --pidns) the command sees and reaches "
           "the host's other processes as root (ptrace, signals, /proc/PID/root of other "
           "capability-less root processes, with a writable cgroup filesystem there)";
  }
  // A later mount at (or above) where the procfs lands covers it; without CAP_SYS_ADMIN
  // (root keeping capabilities is refused before this) the command cannot unmount the cover,
  // so `--ro-bind / / --proc /proc` in a PID namespace shows only its own processes.
  auto covered = [&](size_t after, const std::string& path) {
    for (size_t j = after + 1; j < spec.fs.size(); ++j) {
      const FsOp& op = spec.fs[j];
      bool mount = std::holds_alternative<BindOp>(op) || std::holds_alternative<ProcOp>(op) ||
                   std::holds_alternative<TmpfsOp>(op) || std::holds_alternative<DevOp>(op) ||
                   std::holds_alternative<MqueueOp>(op) || std::holds_alternative<OverlayOp>(op);
      if (auto* c = std::get_if<BindOp>(&op); c && c->allow_missing) mount = false;  // maybe none
      if (mount && path_at_or_below(path, fs_op_dest(op))) return true;
    }
    return false;
  };
  for (size_t i = 0; i < spec.fs.size(); ++i) {
    auto* b = std::get_if<BindOp>(&spec.fs[i]);
    if (!b) continue;
    // --bind-fd: the inode the descriptor names.
    std::string src = canonical(b->source_fd >= 0 ? "/proc/self/fd/" + std::to_string(b->source_fd)
                                                  : b->source);
    for (const auto& m : proc_mounts) {
      // Binds are recursive: a procfs at or below the source comes along (at `lands`); a
      // source inside one is part of it.
      std::string lands;
      if (path_at_or_below(m, src))
        lands = (b->dest == "/" ? "" : b->dest) + m.substr(src == "/" ? 0 : src.size());
      else if (path_at_or_below(src, m))
        lands = b->dest;
      else
        continue;
      if (lands.empty()) lands = "/";
      if (!covered(i, lands))
        return b->option + " " + (b->source_fd >= 0 ? std::to_string(b->source_fd) : b->source) +
               " " + b->dest + " brings the host's procfs (" + m +
               ") into the new root, through which the command reaches the root directory of "
               "other root processes (/proc/PID/root) and a writable cgroup filesystem there";
    }
  }
  return "";
}

namespace {

// Root in the initial user namespace: what would let the command leave its cgroup and PID
// namespace, which no cgroup limit or deadline holds against.
void check_root_reach(const Spec& spec, const HostFacts& host, bool userns,
                      security::CapSet caps) {
  const Limits& l = spec.limits;
  if (!(l.wants_cgroup() || l.timeout_ms) || !host.is_root() || userns || spec.userns_fd)
    return;
  // Capabilities that give root nothing against its cgroup or PID namespace once it is in
  // one of its own, without the host's procfs: the default set of Podman's containers.conf for a
  // container (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, NET_BIND_SERVICE, SETFCAP, SETGID,
  // SETPCAP, SETUID, SYS_CHROOT, plus NET_RAW and AUDIT_WRITE). None mounts, enters a
  // namespace, traces, loads code, or writes a read-only mount: uid 0 already owns the
  // cgroup files, so DAC_OVERRIDE/FOWNER add nothing a capability-less root lacks there.
  // Not MKNOD (Docker's and Podman 4.3's compiled-in default): a node of the host's disk
  // opened writable is the whole host, cgroups included.
  const security::CapSet kHeld = [] {
    security::CapSet s = 0;
    for (int c : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL,
                  CAP_NET_BIND_SERVICE, CAP_SETFCAP, CAP_SETGID, CAP_SETPCAP, CAP_SETUID,
                  CAP_SYS_CHROOT, CAP_NET_RAW, CAP_AUDIT_WRITE})
      s |= security::CapSet{1} << c;
    return s;
  }();
  if (const security::CapSet beyond = caps & ~kHeld; beyond != 0) {
    std::string names;
    for (int c = 0; c < 64; ++c)
      if (beyond & (security::CapSet{1} << c))
        names += (names.empty() ? "" : ", ") + security::capability_display_name(c);
    // Security: root in the initial user namespace with any other capability (bwrap keeps
    // them all for a root caller) leaves its cgroup and PID namespace at will: CAP_SYS_ADMIN
    // joins the host's cgroup namespace (setns through /proc) or remounts a cgroup
    // filesystem writable, CAP_SYS_PTRACE walks into a host process's root
    // (/proc/PID/root/sys/fs/cgroup), CAP_SYS_MODULE loads anything. No cgroup limit or
    // deadline holds against it; without them, or inside a user namespace, the kernel
    // stops all of these.
    return unenforceable(l, guarded_options(l) +
                                " can't be enforced: the command runs as root in the initial user "
                                "namespace with capabilities (" + names + "), with which it can "
                                "leave its cgroup and PID namespace (setns, /proc/PID/root of host "
                                "processes, remounts). Add --cap-drop ALL, or --unshare-user");
  }
  // Security: root without capabilities (or with only those above) is still uid 0: it may ptrace, signal and open
  // /proc/PID/root of every other capability-less root process (another sandbox's
  // command, a daemon that dropped its capabilities), and find a writable cgroup
  // filesystem, a writable host root and unconfined processes there. A PID namespace of
  // its own and no host procfs in its new root keep it away from them all.
  std::string why = host_process_reach(spec, caller_proc_mounts(), canonical_path);
  if (!why.empty())
    unenforceable(l, guarded_options(l) + " can't be enforced: the command runs as root in the "
                         "initial user namespace, and " + why +
                         ". Add --unshare-pid (with --proc /proc for a procfs of its own) and "
                         "leave the host's /proc out of the new root, or add --unshare-user");
}

// The cgroup namespace and the host cgroup filesystems in the new root, once leaves are
// planned; a problem when the kernel has no cgroup namespaces.
void plan_cgroup_view(const Limits& l, const HostFacts& host, bool sys_admin, LimitsPlan& plan,
                      std::vector<Problem>& problems) {
  // Security: the command's cgroup namespace is rooted at its own cgroup, below the one
  // that holds the limits, so a cgroup filesystem it mounts shows neither the limits nor
  // anywhere to move to (see CgroupSet).
  if (!host.cgroupns_available)
    problems.push_back({"cgroup", {guarded_options(l)},
                        "cgroup namespaces are not supported by this kernel, so the "
                        "command could see and raise its own limits"});
  else
    plan.cgroupns = true;
  // Host cgroup filesystems bound into the new root are made read-only: through them the
  // command could write the limits or its pid into another cgroup.procs. A command that
  // keeps CAP_SYS_ADMIN (in its user namespace) could make them writable again.
  plan.cgroupfs_read_only = true;
  // (--limits best-effort: read-only all the same, and no refusal.)
  if (sys_admin && !l.best_effort)
    plan.cgroupfs_refuse =
        guarded_options(l) + " can't be enforced: the new root contains the host's cgroup "
        "filesystem at {}, and the command keeps CAP_SYS_ADMIN, with which it could make it "
        "writable and raise its limits or leave its cgroup. Add --cap-drop CAP_SYS_ADMIN, or "
        "leave it out of the new root (bind what the command needs rather than / or /sys: "
        "a mount over it can be unmounted with that capability)";
}

// --limits best-effort without a pids controller: RLIMIT_NPROC stands in for --pids, unless
// an --rlimit nproc was given.
void nproc_instead_of_pids(const Limits& l, const HostFacts& host, bool userns,
                           LimitsPlan& plan) {
  for (const auto& r : plan.rlimits)
    if (r.resource == RLIMIT_NPROC) return;
  RlimitSetting r{RLIMIT_NPROC, "nproc", *l.pids, *l.pids, "nproc=" + l.pids_text};
  rlimit cur;
  if (::getrlimit(RLIMIT_NPROC, &cur) == 0 && r.hard > from_rlim(cur.rlim_max) && !host.is_root())
    r.soft = r.hard = from_rlim(cur.rlim_max);
  plan.rlimits.push_back(r);
  log::warning("--pids " + l.pids_text + ": setting RLIMIT_NPROC=" + rlim_text(r.soft) +
               " instead; it is per user, not per sandbox: it counts every process of the "
               "sandbox's uid in its user namespace" +
               (host.is_root() && !userns ? ", and it does not bind root" : ""));
}

// Limits that can't be enforced: one error naming them all and the way out, or with
// --limits best-effort a warning each (and RLIMIT_NPROC for --pids).
void report_problems(const std::vector<Problem>& problems, const Limits& l,
                     const HostFacts& host, bool userns, LimitsPlan& plan) {
  std::string all;
  for (const auto& p : problems) {
    std::string opts;
    for (const auto& o : p.options) opts += (opts.empty() ? "" : ", ") + o;
    std::string line = opts + " can't be enforced: " + p.reason;
    if (!l.best_effort) {
      all += (all.empty() ? "" : "; ") + line;
      continue;
    }
    log::warning(line + " (--limits best-effort: running without it)");
    if (p.controller == "pids" && l.pids) nproc_instead_of_pids(l, host, userns, plan);
  }
  if (!all.empty()) throw Error(all + ". To enforce it, " + how_to_fix());
}

}  // namespace

void plan(const Spec& spec, const HostFacts& host, bool userns, LimitsPlan& plan) {
  const Limits& l = spec.limits;
  if (l.memory_swap && !l.memory) throw Error("--memory-swap requires --memory");
  plan.rlimits = l.rlimits;
  check_rlimits(plan.rlimits, may_raise_hard_limits());

  const security::CapSet caps = security::resolve_caps(
      spec.caps, host.is_root(), security::current_caps(), security::all_caps());
  const bool sys_admin = caps & (security::CapSet{1} << CAP_SYS_ADMIN);
  check_root_reach(spec, host, userns, caps);
  if (l.timeout_ms && !spec.unshare_pid && !spec.pidns_fd)
    // Security: without a PID namespace the command sees the supervisor that enforces the
    // deadline and, as the same user, can kill it (or clear its own parent-death signal)
    // and run on; in one, the supervisor is out of its reach, and SIGKILL to the
    // namespace's init ends every process in it.
    unenforceable(l, "--timeout " + l.timeout_text +
                         " can't be enforced without --unshare-pid: in the caller's PID "
                         "namespace the command can kill the sandbox process that enforces it");
  if (!l.wants_cgroup()) {
    if (l.cgroup_parent) throw Error("--cgroup-parent needs a cgroup limit (--memory, --pids, --cpus...)");
    return;
  }
  Decision d = decide(l, caller_hierarchies(), host.uid, ::getpid());
  plan.cgroups = d.leaves;
  plan.cgroup_stale_dirs = d.stale_dirs;
  if (!plan.cgroups.empty()) plan_cgroup_view(l, host, sys_admin, plan, d.problems);
  report_problems(d.problems, l, host, userns, plan);
}

}  // namespace sb::limits
