#include "launch/flags.hpp"

#include <sched.h>
#include <algorithm>
#include <sys/resource.h>

namespace sb::launch {

LaunchFlags launch_flags(const Spec& spec, const Plan& plan, const HostFacts& host) {
  LaunchFlags f;
  f.namespaces = CLONE_NEWNS;
  if (plan.userns) f.namespaces |= CLONE_NEWUSER;  // created first by the kernel; owns the others
  if (spec.unshare_pid) f.namespaces |= CLONE_NEWPID;
  if (spec.unshare_net) f.namespaces |= CLONE_NEWNET;
  if (spec.unshare_ipc) f.namespaces |= CLONE_NEWIPC;
  if (spec.unshare_uts) f.namespaces |= CLONE_NEWUTS;
  if (plan.cgroupns) f.namespaces |= CLONE_NEWCGROUP;
  if (spec.pidns_fd && spec.unshare_pid) {
    f.namespaces &= ~static_cast<unsigned long>(CLONE_NEWPID);  // the child unshares it (see child_main)
    f.unshare_pid_late = true;
  }
  // Security: init (pid 1 with --unshare-pid) or the --pidns relay loads the command's
  // programs before the command runs, and must still reap and pass on signals under them.
  f.init_under_filters = spec.unshare_pid && (!spec.as_pid_1 || spec.pidns_fd);
  // Entered by the supervisor, so that the child's new namespaces are owned by (--userns)
  // or nested in (--pidns) them.
  f.enter_userns = spec.userns_fd;
  f.enter_pidns = spec.pidns_fd;
  f.enter_ns = spec.join_ns;
  // The child has its own copies; the supervisor keeps only what it writes to, and
  // --sync-fd, which stays open until the sandbox is gone (bwrap's outer process holds it
  // too; without a PID namespace there is no init to hold it).
  // (Closed by InheritedFds::keep_for_supervisor, which owns them: the same rule.)
  for (const auto& u : spec.fds) {
    bool kept = false;
    for (const auto& v : spec.fds)
      kept |= v.fd == u.fd && (v.role == FdRole::Info || v.role == FdRole::JsonStatus ||
                               v.role == FdRole::Audit ||
                               v.role == FdRole::Sync);
    if (!kept && std::find(f.close_after_clone.begin(), f.close_after_clone.end(), u.fd) ==
                     f.close_after_clone.end())
      f.close_after_clone.push_back(u.fd);
  }
  // Without a status fd or a lock file the messages (a setup error) wait in the socket until
  // the child exits, and the supervisor is not woken when the command's exec closes the
  // channel: one wake-up per launch instead of two.
  f.watch_channel = spec.info_fd || spec.json_status_fd || spec.audit_fd || !spec.lock_files.empty() ||
                    static_cast<bool>(spec.setup_hooks.before_pivot) ||
                    plan.maps_from_outside;  // the child asks for its maps
  f.explain_userns_failure = plan.userns && !host.is_root();
  return f;
}

Placement placement(unsigned long namespaces, const PlacementInput& in) {
  Placement p;
  bool place = in.cgroups && (in.has_v1 || !in.into_cgroup);
  p.await_go = place || in.raise_rlimits;
  // Born into the v2 leaf, the child's new cgroup namespace is rooted there already; moved
  // there later, it must create the namespace itself once moved.
  p.unshare_cgroup_late = place && in.cgroupns;
  p.clone_flags = p.unshare_cgroup_late ? namespaces & ~static_cast<unsigned long>(CLONE_NEWCGROUP)
                                        : namespaces;
  return p;
}

bool raises_hard_limits(const std::vector<RlimitSetting>& wanted,
                        const std::function<std::optional<uint64_t>(int)>& current_hard) {
  for (const auto& r : wanted) {
    auto cur = current_hard(r.resource);
    if (cur && *cur != RLIM_INFINITY && r.hard > *cur) return true;  // validate() checked that we may
  }
  return false;
}

std::string namespace_names(unsigned long flags) {
  std::string s;
  const struct {
    unsigned long flag;
    const char* name;
  } ns[] = {{CLONE_NEWUSER, "user"}, {CLONE_NEWNS, "mnt"},   {CLONE_NEWPID, "pid"},
            {CLONE_NEWNET, "net"},   {CLONE_NEWIPC, "ipc"},  {CLONE_NEWUTS, "uts"},
            {CLONE_NEWCGROUP, "cgroup"}};
  for (const auto& n : ns)
    if (flags & n.flag) s += std::string(s.empty() ? "" : " ") + n.name;
  return s + " namespaces";
}

}  // namespace sb::launch
