#include "spec/spec.hpp"

#include "limits/limits.hpp"
#include "net/net.hpp"
#include "util/error.hpp"

namespace sb {

const std::string& fs_op_dest(const FsOp& op) {
  return std::visit(
      [](const auto& o) -> const std::string& {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, ChmodOp>)
          return o.path;
        else
          return o.dest;
      },
      op);
}

std::vector<std::string> apply_env(const std::vector<std::string>& environ_in,
                                   const std::vector<EnvEdit>& edits) {
  std::vector<std::string> env = environ_in;
  auto erase = [&env](const std::string& name) {
    std::erase_if(env, [&](const std::string& kv) {
      return kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 &&
             kv[name.size()] == '=';
    });
  };
  for (const auto& e : edits) {
    switch (e.kind) {
      case EnvEdit::Kind::Set:
        erase(e.name);
        env.push_back(e.name + "=" + e.value);
        break;
      case EnvEdit::Kind::Unset:
        erase(e.name);
        break;
      case EnvEdit::Kind::Clear:
        // bwrap keeps PWD across --clearenv (it is set again after chdir anyway).
        std::erase_if(env, [](const std::string& kv) { return kv.rfind("PWD=", 0) != 0; });
        break;
    }
  }
  return env;
}

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
  if (spec.disable_userns && !plan.userns)
    throw Error("--disable-userns requires --unshare-user");
  if ((spec.exec_label || spec.file_label) && !host.selinux_enabled)
    throw Error(std::string(spec.exec_label ? "--exec-label" : "--file-label") +
                ": SELinux is not enabled on this host, so the label cannot be applied");
  if (!plan.userns && !spec.userns_fd) {
    if (spec.uid && *spec.uid != host.uid)
      throw Error("Specifying --uid requires --unshare-user");
    if (spec.gid && *spec.gid != host.gid)
      throw Error("Specifying --gid requires --unshare-user");
  }
  plan.sandbox_uid = spec.uid.value_or(host.uid);
  plan.sandbox_gid = spec.gid.value_or(host.gid);

  if (spec.hostname && !spec.unshare_uts)
    throw Error("Specifying --hostname requires --unshare-uts");
  if (spec.as_pid_1 && !spec.unshare_pid)
    throw Error("Specifying --as-pid-1 requires --unshare-pid");
  // --info-fd is closed once written, which would silently lose every --json-status-fd
  // line after it. (--sync-fd may share a descriptor with either, as with bwrap.)
  if (spec.info_fd && spec.info_fd == spec.json_status_fd)
    throw Error("--info-fd and --json-status-fd name the same descriptor " +
                std::to_string(*spec.info_fd) + "; give each its own");

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
  // Last: a limit that cannot be enforced fails only once everything else is known valid.
  limits::plan(spec, host, plan);
  return plan;
}

}  // namespace sb
