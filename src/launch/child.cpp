// Setup stages inside the new namespaces, in the order security needs (see child_main).
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "fs/newroot.hpp"
#include "launch/channel.hpp"
#include "launch/launch.hpp"
#include "ns/net.hpp"
#include "ns/userns.hpp"
#include "security/caps.hpp"
#include "util/error.hpp"

extern char** environ;

namespace sb::launch {
namespace {

// The last stages of the process that becomes the command. Never returns.
[[noreturn]] void exec_command(const Spec& spec, const Plan& plan, const HostFacts& host,
                               const ChildContext& ctx, const std::string& cwd, mode_t umask_) {
  try {
    // Security: a new session has no controlling terminal, so the command cannot push
    // input into the caller's terminal with TIOCSTI.
    if (spec.new_session && ::setsid() < 0) throw_errno("setsid");

    std::vector<std::string> env_in;
    for (char** e = environ; *e; ++e) env_in.emplace_back(*e);
    std::vector<std::string> env = apply_env(env_in, spec.env);
    std::erase_if(env, [](const std::string& kv) { return kv.rfind("PWD=", 0) == 0; });
    env.push_back("PWD=" + cwd);

    // Capabilities: after every mount (they need CAP_SYS_ADMIN) and before exec.
    // A root caller with no --cap-add/--cap-drop keeps its set untouched (as bwrap does).
    if (!(host.is_root() && spec.caps.empty())) {
      security::CapSet caps = security::resolve_caps(spec.caps, host.is_root(),
                                                     security::current_caps(),
                                                     security::all_caps());
      security::apply_caps(caps, plan.sandbox_uid != 0);
    }
    // no_new_privs last among the privilege steps: seccomp (later) relies on it.
    security::set_no_new_privs();

    ::umask(umask_);
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_UNBLOCK, &all, nullptr);

    std::vector<char*> argv;
    for (size_t i = 0; i < spec.command.size(); ++i)
      argv.push_back(const_cast<char*>(i == 0 && spec.argv0 ? spec.argv0->c_str()
                                                            : spec.command[i].c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& kv : env) envp.push_back(kv.data());
    envp.push_back(nullptr);
    environ = envp.data();  // execvp searches the sandbox's PATH, not the caller's
    ::execvp(spec.command[0].c_str(), argv.data());
    throw_errno("Can't execute " + spec.command[0]);
  } catch (const std::exception& e) {
    send_message(ctx.channel, MsgType::Error, e.what());
  }
  ::_exit(1);
}

}  // namespace

void child_main(const Spec& spec, const Plan& plan, const HostFacts& host,
                const ChildContext& ctx) {
  try {
    // 1. Die with the supervisor if asked, and close the race where it is already gone
    //    (its end of the channel is then closed).
    if (spec.die_with_parent) {
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_PDEATHSIG)");
      pollfd p{ctx.channel, POLLRDHUP, 0};
      if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP))) ::_exit(1);
    }

    // 2. Identity first: until the maps exist, every id inside is the overflow id and
    //    files we create would be owned by nobody.
    if (plan.userns) ns::write_self_maps(plan.sandbox_uid, host.uid, plan.sandbox_gid, host.gid);

    // 3. Namespaces that need capabilities over themselves, while we hold them.
    if (spec.hostname && ::sethostname(spec.hostname->data(), spec.hostname->size()) < 0)
      throw_errno("Can't set hostname " + *spec.hostname);
    if (spec.unshare_net) ns::loopback_up();

    // 4. The new root. Modes we create are exactly those asked for.
    mode_t old_umask = ::umask(0);
    fs::RootResult root = fs::build_root(spec, ctx.host_tty, ctx.host_cwd);
    if (!root.lock_fds.empty()) {
      std::vector<int> fds;
      for (auto& f : root.lock_fds) fds.push_back(f.get());
      send_message(ctx.channel, MsgType::LockFds, "", fds);
      root.lock_fds.clear();
    }

    // 5. With a PID namespace we are pid 1: stay as init and let a child run the command.
    if (spec.unshare_pid && !spec.as_pid_1) {
      pid_t pid = ::fork();
      if (pid < 0) throw_errno("fork");
      if (pid > 0) init_main(pid, spec.new_session);
    }
    exec_command(spec, plan, host, ctx, root.cwd, old_umask);
  } catch (const std::exception& e) {
    send_message(ctx.channel, MsgType::Error, e.what());
  }
  ::_exit(1);
}

}  // namespace sb::launch
