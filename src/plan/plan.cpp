#include "plan/plan.hpp"

#include <sched.h>
#include <unistd.h>

#include "security/caps.hpp"
#include "security/seccomp.hpp"
#include "util/error.hpp"
#include "util/nsfs.hpp"

namespace sb {

Plan validate(const Spec& spec, const HostFacts& host) {
  Plan plan;
  if (spec.command.empty()) throw Error("No command specified");

  // A non-root caller has no privilege outside, so it always needs a user namespace
  // to own the other namespaces and to mount anything.
  if (spec.userns_fd && spec.unshare_user)
    throw Error("--userns cannot be combined with --unshare-user");
  // Joining a user namespace (--userns) replaces creating one.
  bool want_userns = !spec.userns_fd &&
                     (spec.unshare_user || spec.unshare_user_try || !host.is_root());
  if (want_userns && !host.userns_available) {
    if (spec.unshare_user || !host.is_root())
      throw Error(host.is_root()
                      ? "Creating a new user namespace failed: not supported by this kernel"
                      : "No permissions to create a new user namespace (unprivileged user "
                        "namespaces are disabled on this host)");
    want_userns = false;  // --unshare-user-try as root: carry on without one
  }
  plan.userns = want_userns;

  if (spec.userns_fd && (spec.uid || spec.gid))
    throw Error("--uid and --gid cannot be combined with --userns: the joined namespace's "
                "maps decide the ids");
  if (spec.userns_block_fd) {
    if (!plan.userns) throw Error("--userns-block-fd requires --unshare-user");
    if (!spec.info_fd) throw Error("--userns-block-fd requires --info-fd");
  }
  plan.write_maps = plan.userns && !spec.userns_block_fd;
  if (!spec.id_maps.empty()) {
    const IdMapRequest& m = spec.id_maps;
    const std::string& origin = m.uids.empty() ? m.gid_origin : m.uid_origin;
    if (!plan.userns || spec.userns_block_fd)
      throw Error(origin + ": needs a new user namespace whose maps sandbox writes");
    if (m.uids.empty() || m.gids.empty())
      throw Error(origin + ": needs " + (m.uids.empty() ? m.uid_origin : m.gid_origin) +
                  " as well (both maps are written from outside, or neither)");
    plan.write_maps = false;
    plan.maps_from_outside = true;
    // Security: without CAP_SETUID/CAP_SETGID only the host's setuid helpers may write
    // maps of more than our own id, and only with the ranges /etc/subuid and /etc/subgid
    // give us.
    plan.maps_by_helper = !host.can_write_id_maps;
  }
  // Security: a user namespace whose gid map we write ourselves denies setgroups (the
  // caller could otherwise drop a group that denies it access on the host); supplementary
  // groups are refused there, never silently dropped.
  if (spec.groups && plan.userns && !plan.maps_from_outside)
    throw Error(spec.groups_origin + ": supplementary groups need a gid map written from "
                "outside (by root or newgidmap, which leave setgroups allowed); a single-id "
                "map that sandbox writes itself denies setgroups");
  if (spec.disable_userns && !plan.userns)
    throw Error("--disable-userns requires --unshare-user");
  if ((spec.exec_label || spec.file_label) && !host.selinux_enabled)
    throw Error(std::string(spec.exec_label ? "--exec-label" : "--file-label") +
                ": SELinux is not enabled on this host, so the label cannot be applied");
  if (spec.set_ids_in_place && (plan.userns || spec.userns_fd || !host.can_write_id_maps))
    throw Error("process.user: ids are switched in place only without a user namespace, by a "
                "caller with CAP_SETUID and CAP_SETGID");
  if (!plan.userns && !spec.userns_fd && !spec.set_ids_in_place) {
    if (spec.uid && *spec.uid != host.uid)
      throw Error("Specifying --uid requires --unshare-user");
    if (spec.gid && *spec.gid != host.gid)
      throw Error("Specifying --gid requires --unshare-user");
  }
  plan.sandbox_uid = spec.uid.value_or(host.uid);
  plan.sandbox_gid = spec.gid.value_or(host.gid);

  if (spec.hostname && !spec.unshare_uts)
    throw Error("Specifying --hostname requires --unshare-uts");
  // Joined namespaces (Spec::join_ns) replace creating one of the same type.
  for (size_t i = 0; i < spec.join_ns.size(); ++i) {
    const auto& j = spec.join_ns[i];
    const bool also_new = (j.type == CLONE_NEWNET && spec.unshare_net) ||
                          (j.type == CLONE_NEWIPC && spec.unshare_ipc) ||
                          (j.type == CLONE_NEWUTS && spec.unshare_uts) ||
                          (j.type == CLONE_NEWCGROUP &&
                           (spec.unshare_cgroup || spec.unshare_cgroup_try));
    if (j.type != CLONE_NEWNET && j.type != CLONE_NEWIPC && j.type != CLONE_NEWUTS &&
        j.type != CLONE_NEWCGROUP)
      throw Error(j.what + ": joining a " + nsfs::type_name(j.type) +
                  " namespace this way is not supported");
    if (also_new)
      throw Error(j.what + ": joins a " + std::string(nsfs::type_name(j.type)) +
                  " namespace and a new one is asked for too");
    for (size_t k = 0; k < i; ++k)
      if (spec.join_ns[k].type == j.type)
        throw Error(j.what + ": a second " + std::string(nsfs::type_name(j.type)) +
                    " namespace to join");
    // The network helpers (pasta, slirp4netns, veth) run for a network namespace the
    // sandbox creates; a joined one is already set up by whoever made it.
    if (j.type == CLONE_NEWNET && spec.net != NetMode::Default)
      throw Error(j.what + ": a joined network namespace cannot be combined with --net");
  }
  // Security: a sysctl is written only into a namespace of the sandbox's own (new, or
  // joined: the OCI runtime refuses to join its own); one without it would change the
  // host's (the caller's) setting.
  for (const auto& [key, value] : spec.sysctls) {
    SysctlNs ns = valid_sysctl_key(key) ? sysctl_namespace(key) : SysctlNs::None;
    bool own = (ns == SysctlNs::Net && (spec.unshare_net || spec.joins(CLONE_NEWNET))) ||
               (ns == SysctlNs::Ipc && (spec.unshare_ipc || spec.joins(CLONE_NEWIPC))) ||
               (ns == SysctlNs::Uts && (spec.unshare_uts || spec.joins(CLONE_NEWUTS)));
    if (!own) throw Error("sysctl " + key + ": not a setting of a namespace the sandbox creates");
  }
  if (spec.as_pid_1 && !spec.unshare_pid)
    throw Error("Specifying --as-pid-1 requires --unshare-pid");
  // One descriptor named by two options that cannot share it (plan/fds.hpp); checked here
  // too for a Plan made without prepare().
  planning::check_fd_uses(spec.fds);

  plan.cgroupns = spec.unshare_cgroup || (spec.unshare_cgroup_try && host.cgroupns_available);
  if (spec.unshare_cgroup && !host.cgroupns_available)
    throw Error("--unshare-cgroup: cgroup namespaces are not supported by this kernel");

  for (const auto& op : spec.fs) {
    const std::string& dest = fs_op_dest(op);
    if (dest.empty() || dest[0] != '/')
      throw Error("Destination path '" + dest + "' must be absolute");
  }
  if (spec.chdir && spec.chdir->empty()) throw Error("--chdir: empty path");
  net::plan(spec, host, plan);  // --net, --publish, --subnet; finds the helper program
  // The child waits for its maps, then for the network, each on the one channel.
  if (plan.maps_from_outside && net::needs_ready(plan))
    throw Error(spec.id_maps.uid_origin + ": maps written from outside cannot be combined "
                "with a network helper (--net) yet");
  // Last: a limit that cannot be enforced fails only once everything else is known valid.
  limits::plan(spec, host, plan.userns, plan);
  // The child is born in (or moved to) its cgroup leaf by the supervisor, which the kernel
  // allows only within the mover's cgroup namespace: a joined one need not contain it.
  if (spec.joins(CLONE_NEWCGROUP) && !plan.cgroups.empty())
    for (const auto& j : spec.join_ns)
      if (j.type == CLONE_NEWCGROUP)
        throw Error(j.what + ": joining a cgroup namespace together with cgroup limits "
                             "(memory, pids, cpu) is not supported yet");
  return plan;
}

namespace planning {

Prepared prepare(const Spec& spec) {
  Prepared p;
  // --args descriptors (read while parsing) and seccomp ones (read below) stay open like
  // the others until the supervisor and the child drop what they do not use: a low number
  // freed now could be reused by a descriptor of ours.
  p.fds = InheritedFds::take(spec.fds);
  // Profiles compile now, in the supervisor, so a bad one fails before anything runs.
  if (!spec.seccomp_profiles.empty() || spec.seccomp_log)
    p.compiled_profiles =
        security::compile_spec_seccomp(spec, ::getuid() == 0, security::current_caps());
  if (spec.audit_fd) {
    if (auto a = security::compile_spec_seccomp_audit(spec, ::getuid() == 0, security::current_caps()))
      p.seccomp_audit = Plan::SeccompAudit{0, std::move(a->notify_program), std::move(a->profile),
                                           std::move(a->errno_rules)};
  }
  return p;
}

Plan make_plan(const Spec& spec, const HostFacts& host, Prepared prepared) {
  Plan plan = validate(spec, host);
  plan.fds = std::move(prepared.fds);
  // Compiled programs are read now, so a bad one fails before anything is created; they
  // stack in command-line order with the --seccomp-profile programs.
  plan.seccomp_programs = security::seccomp_programs_in_order(spec, prepared.compiled_profiles);
  if (prepared.seccomp_audit) {
    // The one profile's place among the stacked programs: after the --seccomp/
    // --add-seccomp-fd programs given before it.
    plan.seccomp_audit = std::move(prepared.seccomp_audit);
    plan.seccomp_audit->index = spec.seccomp_profiles.front().after_fds;
  }
  // --net pasta/slirp4netns: /etc/resolv.conf names the DNS forwarder, an op after the
  // caller's so that it lands on whatever /etc they built (best effort: skipped when the
  // new root has no /etc).
  if (auto conf = net::resolv_conf(plan)) {
    plan.resolv_conf_data = net::resolv_conf_memfd(*conf);
    DataOp op{DataOp::Kind::RoBindData, plan.resolv_conf_data.get(), "/etc/resolv.conf", 0644};
    op.best_effort = true;
    plan.derived_fs.emplace_back(std::move(op));
  }
  return plan;
}

}  // namespace planning
}  // namespace sb
