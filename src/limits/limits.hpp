// Resource limits: option values (sizes, durations, --cpus, --rlimit), rlimits, and the
// plan for cgroups (cgroup.hpp). The supervisor creates the cgroups and enforces --timeout;
// the child sets the rlimits right before exec.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/facts.hpp"
#include "limits/cgroup.hpp"
#include "spec/spec.hpp"

namespace sb::limits {

// Grace period between SIGTERM and SIGKILL when --timeout expires.
inline constexpr uint64_t kTimeoutGraceMs = 2000;
// Exit status of `sandbox` when --timeout expired (as timeout(1)).
inline constexpr int kTimeoutExitCode = 124;

// "30s", "5m", "1.5h", "250ms", "2d"; a bare number is seconds (as timeout(1)). > 0.
std::optional<uint64_t> parse_duration_ms(std::string_view s);
// --cpus FLOAT ("0.5", "2") as a quota in microseconds per Limits::kCpuPeriodUs (>= 1 ms).
std::optional<uint64_t> parse_cpus_quota_us(std::string_view s);
// --rlimit NAME=SOFT[:HARD]: names as prlimit(1) spells them, values decimal or
// "unlimited"/"infinity"; SOFT alone sets both. Throws sb::Error naming the option.
RlimitSetting parse_rlimit(const std::string& v);
// The prlimit(1) names --rlimit accepts, for help and errors.
std::vector<std::string> rlimit_names();

// Throws when an --rlimit asks for a hard limit above the caller's and the caller may not
// raise it (`privileged`: it holds CAP_SYS_RESOURCE).
void check_rlimits(const std::vector<RlimitSetting>& rl, bool privileged);
// The caller holds CAP_SYS_RESOURCE (root usually does; not in every container).
bool may_raise_hard_limits();

// Supervisor, right after clone: raises the child's hard limits where the plan asks for more
// than it inherited (needs CAP_SYS_RESOURCE in the initial user namespace, which the
// child no longer has once it is in a new user namespace). `child` 0: the caller's own
// (the supervisor, before it enters a joined user namespace).
void raise_hard_limits(pid_t child, const std::vector<RlimitSetting>& rl);
// The child, right before exec: sets each limit. Throws naming the limit.
void apply_rlimits(const std::vector<RlimitSetting>& rl);

// Root in the initial user namespace (no --unshare-user) without capabilities: what would
// still let the command reach processes outside its sandbox, and through them a writable
// cgroup filesystem (/proc/PID/root of another capability-less root process) or the
// processes themselves (ptrace, kill). Returns "" when nothing does, else the reason, naming
// the option (no PID namespace; --proc without one; a bind whose source is, holds or lies in
// a host procfs). `proc_mounts`: mount points of procfs in the caller's mount namespace;
// `canonical`: a host path with symlinks resolved (the path itself when it can't be).
std::string host_process_reach(const Spec& spec, const std::vector<std::string>& proc_mounts,
                               const std::function<std::string(const std::string&)>& canonical);

// The limits part of the Plan (plan/plan.hpp): the cgroups to create and the rlimits the
// command gets (--rlimit, plus RLIMIT_NPROC standing in for --pids with --limits
// best-effort).
struct LimitsPlan {
  std::vector<CgroupLeafPlan> cgroups;
  std::vector<std::string> cgroup_stale_dirs;  // where to look for leaves of dead supervisors
  bool cgroupns = false;  // a cgroup namespace (asked for, or to hide the limits' cgroup)
  // Cgroup limits apply: host cgroup filesystems in the new root are made read-only; when
  // this is not empty (the command keeps CAP_SYS_ADMIN and could undo that), finding one
  // is an error with this text.
  bool cgroupfs_read_only = false;
  std::string cgroupfs_refuse;
  std::vector<RlimitSetting> rlimits;
};

// Resolves the limits part of the plan: which cgroups to create, which rlimits to set
// (with --limits best-effort, RLIMIT_NPROC stands in for --pids). `userns`: the sandbox
// gets a new user namespace. Reads /proc/self/mountinfo and /proc/self/cgroup only when a
// cgroup limit is asked for. Throws sb::Error when a limit cannot be enforced and --limits
// is required; prints warnings for best-effort. Called by planning (plan/plan.cpp).
void plan(const Spec& spec, const HostFacts& host, bool userns, LimitsPlan& plan);

}  // namespace sb::limits
