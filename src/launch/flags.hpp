// What the supervisor will do, decided before anything is created: which namespaces the
// clone creates and which the child creates later, which joined namespaces the supervisor
// enters, which descriptors it keeps and which it leaves to the child. Pure: derived from
// Spec + Plan + HostFacts (and, for the placement, what the cgroup setup reported), so
// that it can be tested without cloning.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "spec/spec.hpp"

namespace sb::launch {

struct LaunchFlags {
  // CLONE_NEW* for the clone (before the cgroup placement is known: see placement()).
  unsigned long namespaces = 0;
  // --pidns with --unshare-pid: the child unshares its PID namespace itself, then forks,
  // so that the new namespace is nested in the joined one.
  bool unshare_pid_late = false;
  // An init (pid 1 with --unshare-pid, or the --pidns relay) runs under the command's
  // seccomp programs: they must leave it what it needs.
  bool init_under_filters = false;
  // Joined namespaces, entered by the supervisor itself before the clone (--userns, --pidns).
  std::optional<int> enter_userns;
  std::optional<int> enter_pidns;
  // Other joined namespaces (Spec::join_ns: network, ipc, uts, cgroup), entered by the
  // supervisor before the clone, around --userns (see enter_joined_namespaces).
  std::vector<Spec::NsJoin> enter_ns;
  // Descriptors consumed by options that only the child needs: the supervisor closes its
  // copies right after the clone. It keeps --info-fd, --json-status-fd and --sync-fd.
  std::vector<int> close_after_clone;
  // The channel is read while the sandbox runs (status fds to write as soon as the child
  // reports, lock-file descriptors to take over); otherwise only once the child is gone.
  bool watch_channel = false;
  // A failed clone is explained with why this user can't create a user namespace.
  bool explain_userns_failure = false;
};

LaunchFlags launch_flags(const Spec& spec, const Plan& plan, const HostFacts& host);

// How the child gets into its cgroups, and what follows for the clone.
struct PlacementInput {
  bool cgroups = false;        // leaves were created
  bool has_v1 = false;         // among them cgroup v1 leaves (never CLONE_INTO_CGROUP)
  bool into_cgroup = false;    // clone3 with CLONE_INTO_CGROUP into the v2 leaf
  bool raise_rlimits = false;  // the supervisor raises hard limits after the clone
  bool cgroupns = false;       // Plan::cgroupns
};
struct Placement {
  unsigned long clone_flags = 0;
  // The child waits for MsgType::Go: the supervisor places it or raises its limits first.
  bool await_go = false;
  // The child unshares its cgroup namespace once moved, so that it is rooted at the leaf.
  bool unshare_cgroup_late = false;
};
Placement placement(unsigned long namespaces, const PlacementInput& in);

// True when one of `wanted` raises a hard limit above the current one (the supervisor,
// still in the caller's user namespace, must do that with prlimit after the clone).
// `current_hard` returns the current hard limit of a resource, nullopt when unknown.
bool raises_hard_limits(const std::vector<RlimitSetting>& wanted,
                        const std::function<std::optional<uint64_t>(int)>& current_hard);

// "user mnt pid namespaces", for --verbose.
std::string namespace_names(unsigned long flags);

}  // namespace sb::launch
