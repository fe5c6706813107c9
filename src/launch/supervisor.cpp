// The supervisor: stays outside the sandbox, clones the child into its namespaces,
// forwards signals, collects setup errors and returns the command's exit status.
#include <dirent.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "host/probe.hpp"
#include "launch/channel.hpp"
#include "launch/exec_diag.hpp"
#include "security/bpf.hpp"
#include "security/seccomp.hpp"
#include "launch/launch.hpp"
#include "limits/cgroup.hpp"
#include "limits/limits.hpp"
#include "net/net.hpp"
#include "util/error.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/syscalls.hpp"

namespace sb::launch {
namespace {

struct Child {
  pid_t pid = -1;
  UniqueFd pidfd;
};

// clone3 with CLONE_PIDFD gives a handle that cannot be confused with a recycled pid;
// plain clone (+pidfd_open where it exists) on older kernels. With `cgroup_fd` the child
// is born in that cgroup (CLONE_INTO_CGROUP, Linux 5.7+), so it never runs outside it;
// without support the call fails (E2BIG, EINVAL or ENOSYS) and the caller places it.
Child clone_child(unsigned long flags, int cgroup_fd = -1) {
  Child c;
  int pidfd = -1;
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r < 0 && errno == ENOSYS && cgroup_fd < 0) {
    r = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (r > 0) pidfd = static_cast<int>(::syscall(SYS_pidfd_open, r, 0));
  }
  if (r < 0) return c;
  c.pid = static_cast<pid_t>(r);
  if (r > 0 && pidfd >= 0) {
    ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    c.pidfd.reset(pidfd);
  }
  return c;
}

// "user mnt pid ..." for --verbose.
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

std::string clone_error(int err, const Plan& plan, const HostFacts& host) {
  std::string msg = std::string("Creating new namespaces failed: ") + std::strerror(err);
  if (plan.userns && !host.is_root() && (err == EPERM || err == ENOSPC || err == EACCES))
    msg += " (can't create a user namespace: " +
           host::explain_userns_failure(err, host::self_exe()) + ")";
  return msg;
}

// The JSON object --info-fd and --json-status-fd carry: child-pid and the ids of the
// namespaces the sandbox created (the mount namespace always), as bwrap writes them.
struct InfoField {
  std::string key;
  unsigned long long value;
};

// child-pid, then the ids the child reported ("pid=4026531836 ...") of the namespaces the
// sandbox created (the mount namespace always), as bwrap writes them.
std::vector<InfoField> info_fields(pid_t pid, const std::string& reported, const Spec& spec,
                                   const Plan& plan) {
  std::vector<InfoField> f{{"child-pid", static_cast<unsigned long long>(pid)}};
  const struct {
    const char* name;
    bool created;
  } ns[] = {{"cgroup", plan.cgroupns},   {"ipc", spec.unshare_ipc}, {"mnt", true},
            {"net", spec.unshare_net},   {"pid", spec.unshare_pid}, {"uts", spec.unshare_uts}};
  std::istringstream in(reported);
  std::string item;
  std::map<std::string, unsigned long long> ids;
  while (in >> item) {
    auto eq = item.find('=');
    if (eq != std::string::npos) ids[item.substr(0, eq)] = std::stoull(item.substr(eq + 1));
  }
  for (const auto& n : ns)
    if (n.created && ids.count(n.name)) f.push_back({std::string(n.name) + "-namespace", ids[n.name]});
  return f;
}

// --info-fd gets bwrap's indented object; --json-status-fd one object per line.
std::string format_info(const std::vector<InfoField>& fields, bool one_line) {
  std::string out = one_line ? "{" : "{\n";
  for (size_t i = 0; i < fields.size(); ++i) {
    out += one_line ? (i ? ", " : "") : "    ";
    out += "\"" + fields[i].key + "\": " + std::to_string(fields[i].value);
    if (!one_line) out += i + 1 < fields.size() ? ",\n" : "\n";
  }
  out += one_line ? "}\n" : "}\n";
  return out;
}

// Status writes ignore errors: a reader that went away does not stop the sandbox.
using io::write_all;

void forward(const Child& c, int sig) {
  if (c.pidfd) {
    if (::syscall(SYS_pidfd_send_signal, c.pidfd.get(), sig, nullptr, 0) == 0) return;
    if (errno != ENOSYS) return;
  }
  ::kill(c.pid, sig);
}

// `pid` and every process below it, from /proc/PID/task/TID/children. Inside a PID
// namespace orphans are reparented to its init (our child), so the tree is complete there.
std::vector<pid_t> process_tree(pid_t pid) {
  std::vector<pid_t> all{pid};
  for (size_t i = 0; i < all.size() && all.size() < 100000; ++i) {
    std::string task_dir = "/proc/" + std::to_string(all[i]) + "/task";
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(task_dir.c_str()), ::closedir);
    if (!d) continue;
    while (dirent* e = ::readdir(d.get())) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(task_dir + "/" + e->d_name + "/children");
      for (pid_t c; in >> c;) all.push_back(c);
    }
  }
  return all;
}

// The one-line reasons a limit gave, most decisive first, and the limit's name and value
// for --json-status-fd.
struct LimitReport {
  std::vector<std::string> lines;
  std::string name;
  std::string value;
};
LimitReport limit_report(const Limits& l, bool timed_out, const limits::CgroupSet::Events& ev,
                         int status, bool has_init) {
  LimitReport r;
  auto add = [&](std::string line, const std::string& name, const std::string& value) {
    r.lines.push_back(std::move(line));
    if (r.name.empty()) {
      r.name = name;
      r.value = value;
    }
  };
  if (timed_out) add("killed: timed out after " + l.timeout_text, "timeout", l.timeout_text);
  if (ev.oom_kill) {
    // With a PID namespace the command's death reaches us as its init's exit status 137.
    bool killed = (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
                  (has_init && WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL);
    add(killed ? "killed: memory limit " + l.memory_text + " reached"
               : "memory limit " + l.memory_text + " reached: the kernel killed " +
                     std::to_string(ev.oom_kill) + " process(es) in the sandbox",
        "memory", l.memory_text);
  }
  if (ev.pids_max)
    add("pids limit " + l.pids_text + " reached: " + std::to_string(ev.pids_max) +
            " fork(s) failed",
        "pids", l.pids_text);
  return r;
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) continue;
    o += ch;
  }
  return o + "\"";
}

// "Can't execute CMD: strerror (why)" from the child's ExecFailed message: what the
// sandbox lacks, judged against the host's tree, which only the supervisor holds.
std::string exec_failure(const Message& m) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= m.text.size(); ++i)
    if (i == m.text.size() || m.text[i] == '\0') {
      parts.push_back(m.text.substr(start, i - start));
      start = i + 1;
    }
  if (parts.size() != 4) return "Can't execute the command (malformed report from the sandbox)";
  // Without a handle on the sandbox's mount namespace its mounts may be gone: the child's
  // own explanation (without the host's side) is the best there is.
  if (m.fds.size() != 3) return parts[3];
  int err = std::atoi(parts[0].c_str());
  std::string msg = "Can't execute " + parts[1] + ": " + std::strerror(err);
  UniqueFd host_root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string why = explain_exec_failure(err, parts[1], parts[2], m.fds[0].get(),
                                         host_root.get(), m.fds[1].get());
  return why.empty() ? msg : msg + " (" + why + ")";
}

}  // namespace

int run(const Spec& spec, const Plan& plan, const HostFacts& host) {
  pid_t original_parent = ::getppid();
  if (spec.die_with_parent) {
    // The supervisor dies with its own parent too, which takes the sandbox with it.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_PDEATHSIG)");
    if (::getppid() != original_parent) return 1;
  }

  // Signals are taken synchronously through a signalfd; the blocked mask is inherited by
  // the child (init relies on it) and reset right before exec.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (int s : kForwardedSignals) sigaddset(&set, s);
  sigset_t old_mask;
  ::sigprocmask(SIG_BLOCK, &set, &old_mask);
  UniqueFd sigfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) throw_errno("signalfd");

  auto channel = make_channel();  // (no structured binding: clang < 16 can't capture one)
  UniqueFd& parent_end = channel.first;
  UniqueFd& child_end = channel.second;

  ChildContext ctx;
  // Compiled programs are read now, so a bad one fails before anything is created; they
  // stack in command-line order with the --seccomp-profile programs compiled while parsing.
  ctx.seccomp_programs = security::seccomp_programs_in_order(spec);
  // Security: init (pid 1 with --unshare-pid) loads the same programs before the command
  // runs; a program that denies what init needs afterwards would leave a sandbox that
  // cannot reap or pass on signals, so refuse it before anything is created.
  if (spec.unshare_pid && (!spec.as_pid_1 || spec.pidns_fd)) {  // init, or the --pidns relay
    std::string denied = init_syscall_denied(ctx.seccomp_programs);
    if (!denied.empty())
      throw Error("The seccomp filters deny " + denied +
                  ", which the sandbox's init (pid 1 with --unshare-pid) needs under the same "
                  "filters; allow it, or use --as-pid-1");
  }

  // Joined namespaces: entered by the supervisor itself, so that the child's new
  // namespaces are owned by (--userns) or nested in (--pidns) them.
  if (spec.userns_fd && ::setns(*spec.userns_fd, CLONE_NEWUSER) < 0)
    throw_errno("--userns: can't enter the user namespace");
  if (spec.pidns_fd && ::setns(*spec.pidns_fd, CLONE_NEWPID) < 0)
    throw_errno("--pidns: can't enter the PID namespace");

  ctx.channel = child_end.get();
  ctx.supervisor = ::getpid();
  if (::isatty(STDOUT_FILENO)) {
    if (char* t = ::ttyname(STDOUT_FILENO)) ctx.host_tty = t;
  }
  if (char buf[PATH_MAX]; ::getcwd(buf, sizeof buf)) ctx.host_cwd = buf;

  unsigned long flags = CLONE_NEWNS;
  if (plan.userns) flags |= CLONE_NEWUSER;  // created first by the kernel; owns the others
  if (spec.unshare_pid) flags |= CLONE_NEWPID;
  if (spec.unshare_net) flags |= CLONE_NEWNET;
  if (spec.unshare_ipc) flags |= CLONE_NEWIPC;
  if (spec.unshare_uts) flags |= CLONE_NEWUTS;
  if (plan.cgroupns) flags |= CLONE_NEWCGROUP;

  // Security: the child gets no descriptor of the caller's / or /proc: it crosses
  // pivot_root, and in a joined namespace (--userns, --pidns) other processes may already
  // wait for one. A failed exec is explained here, outside (ExecFailed).
  if (spec.pidns_fd && spec.unshare_pid) {
    flags &= ~static_cast<unsigned long>(CLONE_NEWPID);  // the child unshares it (see child_main)
    ctx.unshare_pid_late = true;
  }

  // Limits: the leaves exist and hold their limits before the child does. A root caller may
  // raise hard limits, which only the supervisor still can once the child is in its own
  // user namespace.
  std::unique_ptr<limits::CgroupSet> cgroups;
  if (!plan.cgroups.empty()) {
    try {
      cgroups = std::make_unique<limits::CgroupSet>(plan.cgroups, plan.cgroup_stale_dirs,
                                                    spec.limits, ::getpid());
    } catch (const Error& e) {
      if (!spec.limits.best_effort) throw;
      log::warning(std::string(e.what()) + "; running without the cgroup limits (--limits best-effort)");
    }
  }
  bool raise_rlimits = false;
  for (const auto& r : plan.rlimits) {
    rlimit cur;
    if (::getrlimit(r.resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && r.hard > cur.rlim_max)
      raise_rlimits = true;  // validate() checked that we may
  }
  int cgroup_fd = cgroups ? cgroups->v2_fd() : -1;
  bool into_cgroup = cgroup_fd >= 0;
  auto prepare = [&] {
    bool place = cgroups && (cgroups->has_v1() || !into_cgroup);
    ctx.await_go = place || raise_rlimits;
    // Born into the v2 leaf, the child's new cgroup namespace is rooted there already;
    // moved there later, it must create the namespace itself once moved.
    ctx.unshare_cgroup_late = place && plan.cgroupns;
    return ctx.unshare_cgroup_late ? flags & ~static_cast<unsigned long>(CLONE_NEWCGROUP) : flags;
  };
  unsigned long clone_flags = prepare();
  if (log::verbose()) log::step("clone: new " + namespace_names(clone_flags));
  Child child = clone_child(clone_flags, cgroup_fd);
  if (child.pid < 0 && into_cgroup && (errno == E2BIG || errno == EINVAL || errno == ENOSYS)) {
    into_cgroup = false;  // a kernel without CLONE_INTO_CGROUP: placed after the clone
    child = clone_child(prepare());
  }
  if (child.pid < 0 && into_cgroup && (errno == EACCES || errno == EPERM || errno == EBUSY)) {
    std::string dir = cgroups->dirs().front();
    throw_errno("Can't start the sandbox in cgroup " + dir);
  }
  if (child.pid < 0) throw Error(clone_error(errno, plan, host));
  if (child.pid > 0 && log::verbose()) log::step("clone: child pid " + std::to_string(child.pid));
  if (child.pid == 0) {
    parent_end.reset();
    sigfd.reset();
    child_main(spec, plan, host, ctx);
  }
  child_end.reset();
  // The child has its own copies; the supervisor keeps only what it writes to, and
  // --sync-fd, which stays open until the sandbox is gone (bwrap's outer process holds it
  // too; without a PID namespace there is no init to hold it).
  for (int fd : spec.consumed_fds)
    if (fd != spec.info_fd && fd != spec.json_status_fd && fd != spec.sync_fd) ::close(fd);

  std::optional<std::string> setup_error;
  if (ctx.await_go) {
    try {
      if (cgroups) cgroups->place(child.pid, into_cgroup);
      if (raise_rlimits) limits::raise_hard_limits(child.pid, plan.rlimits);
      if (!send_message(parent_end.get(), MsgType::Go, ""))
        throw_errno("Can't release the sandbox's setup");
    } catch (const std::exception& e) {
      setup_error = e.what();
      forward(child, SIGKILL);
    }
  }
  std::vector<UniqueFd> held;  // lock-file descriptors, held for the sandbox's lifetime
  bool channel_open = true;
  // The channel is read while the sandbox runs only when something must happen right away:
  // --info-fd/--json-status-fd are written as soon as the child reports, --lock-file
  // descriptors are taken over. Otherwise the messages (a setup error) wait in the socket
  // until the child exits, and the supervisor is not woken when the command's exec closes
  // the channel: one wake-up per launch instead of two.
  const bool watch_channel = spec.info_fd || spec.json_status_fd || !spec.lock_files.empty();
  int status = 0;
  bool exited = false;

  bool info_written = false;
  auto write_info = [&](const std::string& reported) {
    if (info_written) return;
    info_written = true;
    auto info = info_fields(child.pid, reported, spec, plan);
    if (spec.info_fd) {
      write_all(*spec.info_fd, format_info(info, false));
      if (spec.info_fd != spec.sync_fd) ::close(*spec.info_fd);  // one pipe for both: as bwrap
    }
    if (spec.json_status_fd) write_all(*spec.json_status_fd, format_info(info, true));
  };

  auto read_channel = [&](bool nonblocking = false) {
    std::optional<Message> m;
    try {
      m = recv_message(parent_end.get(), nonblocking);
    } catch (const std::exception& e) {
      // A lost message may have been the reason setup failed, or a lock: stop here.
      if (!setup_error) setup_error = e.what();
      forward(child, SIGKILL);
      channel_open = false;
      return;
    }
    if (!m) {
      channel_open = false;
      return;
    }
    if (m->type == MsgType::Error && !setup_error) setup_error = m->text;
    if (m->type == MsgType::ExecFailed && !setup_error) setup_error = exec_failure(*m);
    if (m->type == MsgType::EarlyInfo || m->type == MsgType::Ready) write_info(m->text);
    if (m->type == MsgType::LockFds)
      for (auto& f : m->fds) held.push_back(std::move(f));
  };

  // Networking from outside (--net pasta, slirp4netns, veth): started now that the child's
  // namespaces exist; the child waits for NetReady right before it runs the command.
  std::unique_ptr<net::Session> network;
  bool net_pending = false;
  try {
    // --net pasta/slirp4netns: the child's first message carries its namespaces (O_CLOEXEC
    // here; only the helper's process gets them, at fixed numbers). Security: not opened
    // through /proc/CHILD/ns, which would need the setup child dumpable.
    std::vector<UniqueFd> ns_fds;
    if (net::needs_ns_fds(plan) && !setup_error) {
      auto m = recv_message(parent_end.get());
      if (m && m->type == MsgType::Error) throw Error(m->text);
      if (!m || m->type != MsgType::NetNs || m->fds.size() != 2)
        throw Error("--net: the sandbox did not hand over its namespaces");
      ns_fds = std::move(m->fds);
    }
    net::SandboxNs ns;
    if (ns_fds.size() == 2) ns = {ns_fds[0].get(), ns_fds[1].get()};
    if (!setup_error) network = net::start(spec, plan, child.pid, ns);
    net_pending = network != nullptr;
  } catch (const std::exception& e) {
    if (!setup_error) setup_error = e.what();
    forward(child, SIGKILL);
  }
  auto net_step = [&] {
    if (!network) return;
    std::string err;
    auto st = network->step(err);
    if (st == net::Session::State::Ready && net_pending) {
      net_pending = false;
      log::step("network helper ready");
      if (!send_message(parent_end.get(), MsgType::NetReady, "")) {
        if (!setup_error) setup_error = "Can't tell the sandbox that its network is ready";
        forward(child, SIGKILL);
      }
    } else if (st == net::Session::State::Failed && !err.empty()) {
      if (!net_pending) {
        log::warning(err);
        return;
      }
      net_pending = false;
      if (!setup_error) setup_error = err;
      forward(child, SIGKILL);  // the command must not run without its network
    }
  };
  net_step();

  // --timeout: SIGTERM to the whole sandbox, SIGKILL after the grace period.
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> term_at, kill_at;
  if (spec.limits.timeout_ms) term_at = Clock::now() + std::chrono::milliseconds(*spec.limits.timeout_ms);
  bool timed_out = false;
  auto kill_sandbox = [&](int sig) {
    // Parents before their children: a shell whose child died first could run its next
    // command before its own SIGTERM arrived.
    auto tree = process_tree(child.pid);
    forward(child, sig);
    for (pid_t p : tree)
      if (p != child.pid) ::kill(p, sig);
    if (cgroups) cgroups->signal_all(sig);  // what left the tree is still in the cgroup
  };

  while (!exited) {
    std::vector<pollfd> fds = {{sigfd.get(), POLLIN, 0},
                               {channel_open && watch_channel ? parent_end.get() : -1, POLLIN, 0}};
    if (network)
      for (int fd : network->fds()) fds.push_back({fd, POLLIN, 0});
    int timeout = -1;
    if (net_pending) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          network->deadline - std::chrono::steady_clock::now());
      timeout = static_cast<int>(std::max<long long>(left.count(), 0)) + 1;
    }
    for (const auto& at : {term_at, kill_at}) {
      if (!at) continue;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*at - Clock::now());
      int t = static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX - 1)) + 1;
      timeout = timeout < 0 ? t : std::min(timeout, t);
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[1].revents) read_channel();
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) continue;
        if (should_forward(si.ssi_code, spec.new_session)) forward(child, sig);
      }
    }
    net_step();  // non-blocking: helper output, readiness, the keeper's exit (SIGCHLD)
    if (term_at && Clock::now() >= *term_at) {
      term_at.reset();
      timed_out = true;
      kill_sandbox(SIGTERM);
      kill_at = Clock::now() + std::chrono::milliseconds(limits::kTimeoutGraceMs);
    }
    if (kill_at && Clock::now() >= *kill_at) {
      kill_at.reset();
      kill_sandbox(SIGKILL);
    }
    pid_t p = ::waitpid(child.pid, &status, WNOHANG);
    if (p == child.pid) exited = true;
  }
  // Anything the child said before it died (its error, at the latest) is already queued;
  // never block here: a process the command left behind may still hold the channel.
  while (channel_open) read_channel(true);
  network.reset();  // stops the helper / removes the veth and NAT rules, and waits for that
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);

  if (setup_error) {
    log::error(*setup_error);
    return 1;  // no exit-code: the command never ran
  }
  // Why a limit ended it: read before the leaves go (which kills what is left in them).
  auto report = limit_report(spec.limits, timed_out,
                             cgroups ? cgroups->events() : limits::CgroupSet::Events{}, status,
                             spec.unshare_pid && !spec.as_pid_1);
  cgroups.reset();
  for (const auto& line : report.lines) log::error(line);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
  if (timed_out) code = limits::kTimeoutExitCode;
  if (log::verbose()) log::step("command finished, exit status " + std::to_string(code));
  if (spec.json_status_fd) {
    std::string line = "{\"exit-code\": " + std::to_string(code);
    if (!report.name.empty())
      line += ", \"limit\": " + json_string(report.name) + ", \"limit-value\": " +
              json_string(report.value);
    write_all(*spec.json_status_fd, line + "}\n");
    ::close(*spec.json_status_fd);
  }
  return code;
}

}  // namespace sb::launch
