// The supervisor: stays outside the sandbox, clones the child into its namespaces,
// forwards signals, collects setup errors and returns the command's exit status.
//
// run() is the sequence: decide (launch_flags, pure) → prepare what must exist before the
// child (signals, channel, seccomp programs, joined namespaces, cgroups) → clone → release
// the child (cgroup placement, hard limits, network) → the event loop (Supervisor: one
// handler per event) → the exit status (status.hpp writes the status fds).
#include <dirent.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <memory>

#include "host/probe.hpp"
#include "launch/audit.hpp"
#include "launch/channel.hpp"
#include "launch/exec_diag.hpp"
#include "launch/flags.hpp"
#include "launch/launch.hpp"
#include "launch/status.hpp"
#include "limits/cgroup.hpp"
#include "limits/limits.hpp"
#include "net/dnsfilter.hpp"
#include "net/egress.hpp"
#include "net/net.hpp"
#include "ns/userns.hpp"
#include "security/bpf.hpp"
#include "security/seccomp.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/nsfs.hpp"
#include "util/syscalls.hpp"

namespace sb::launch {
namespace {

using Clock = std::chrono::steady_clock;

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

std::string clone_error(int err, const LaunchFlags& flags) {
  std::string msg = std::string("Creating new namespaces failed: ") + std::strerror(err);
  if (flags.explain_userns_failure && (err == EPERM || err == ENOSPC || err == EACCES))
    msg += " (can't create a user namespace: " +
           host::explain_userns_failure(err, host::self_exe()) + ")";
  return msg;
}

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

// Milliseconds until `at` (at least 0), +1 so that poll does not wake just before it.
int ms_until(Clock::time_point at) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - Clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX - 1)) + 1;
}

// Signals are taken synchronously through a signalfd; the blocked mask is inherited by the
// child (init relies on it) and reset right before exec.
struct Signals {
  sigset_t old_mask;
  UniqueFd fd;
};
Signals block_signals() {
  Signals s;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (int sig : kForwardedSignals) sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, &s.old_mask);
  s.fd.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!s.fd) throw_errno("signalfd");
  return s;
}

// The programs planning compiled and read, in command-line order.
std::vector<std::string> seccomp_programs(const Plan& plan, const LaunchFlags& flags) {
  auto programs = plan.seccomp_programs;
  // Security: init loads the same programs before the command runs; a program that denies
  // what init needs afterwards would leave a sandbox that cannot reap or pass on signals,
  // so refuse it before anything is created.
  if (flags.init_under_filters) {
    std::string denied = init_syscall_denied(programs);
    if (!denied.empty())
      throw Error("The seccomp filters deny " + denied +
                  ", which the sandbox's init (pid 1 with --unshare-pid) needs under the same "
                  "filters; allow it, or use --as-pid-1");
  }
  // --audit-fd: the command hands the listener over with sendmsg right after loading the
  // notify filter; if that filter notified the sendmsg itself, nobody could answer it.
  if (plan.seccomp_audit) {
    std::string denied = audit_handover_denied(programs.at(plan.seccomp_audit->index));
    if (!denied.empty())
      throw Error("--audit-fd: the --seccomp-profile denies " + denied +
                  ", which hands the seccomp listener to the supervisor; allow it");
  }
  return programs;
}

// Joined namespaces: entered by the supervisor itself, so that the child's new namespaces
// are owned by (--userns) or nested in (--pidns) them, and the child is in the others
// (Spec::join_ns) from its birth. The supervisor stays in them: it only waits, signals and
// reads /proc and the cgroup files from now on, none of which those namespaces change
// (validate() refuses --net helpers and a cgroup leaf with them).
void enter_joined_namespaces(const LaunchFlags& flags) {
  // Security/order: setns needs CAP_SYS_ADMIN over the namespace's owning user namespace
  // (and in our own). A namespace owned by the caller's user namespace can only be joined
  // before we enter a joined one (or clone a new one: the child's would hold no privilege
  // over it), and one owned by the joined user namespace only after entering it. So, as
  // nsenter: every one that can be joined now, then the user namespace, then the rest;
  // one that still fails is an error naming it. Never a fallback to a new namespace.
  std::vector<const Spec::NsJoin*> later;
  for (const auto& j : flags.enter_ns) {
    if (::setns(j.fd, j.type) == 0) continue;
    if (errno == EPERM && flags.enter_userns) {
      later.push_back(&j);
      continue;
    }
    throw_errno(j.what + ": can't join the " + nsfs::type_name(j.type) + " namespace");
  }
  // Security: in a joined user namespace its other processes may hold CAP_SYS_PTRACE over
  // our credentials; non-dumpable, our mm (the caller's user namespace) keeps them from
  // tracing us or opening /proc/PID/{fd,mem}, from where the caller's mount namespace and
  // descriptors are. The child inherits it and sets its own as its steps need.
  if (flags.enter_userns && ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    throw_errno("--userns: prctl(PR_SET_DUMPABLE)");
  if (flags.enter_userns && ::setns(*flags.enter_userns, CLONE_NEWUSER) < 0)
    throw_errno("--userns: can't enter the user namespace");
  for (const auto* j : later)
    if (::setns(j->fd, j->type) < 0)
      throw_errno(j->what + ": can't join the " + nsfs::type_name(j->type) + " namespace");
  if (flags.enter_pidns && ::setns(*flags.enter_pidns, CLONE_NEWPID) < 0)
    throw_errno("--pidns: can't enter the PID namespace");
}

// Security: the child gets no descriptor of the caller's / or /proc: it crosses
// pivot_root, and in a joined namespace (--userns, --pidns) other processes may already
// wait for one. A failed exec is explained here, outside (ExecFailed).
ChildContext child_context(int channel, const LaunchFlags& flags,
                           std::vector<std::string> programs, const Plan& plan) {
  ChildContext ctx;
  ctx.init_seccomp_programs = programs;
  ctx.seccomp_programs = std::move(programs);
  if (plan.seccomp_audit && plan.seccomp_audit->index < ctx.seccomp_programs.size()) {
    ctx.seccomp_programs[plan.seccomp_audit->index] = plan.seccomp_audit->notify_program;
    ctx.audit_listener = static_cast<int>(plan.seccomp_audit->index);
  }
  ctx.channel = channel;
  ctx.supervisor = ::getpid();
  if (::isatty(STDOUT_FILENO)) {
    if (char* t = ::ttyname(STDOUT_FILENO)) ctx.host_tty = t;
  }
  if (char buf[PATH_MAX]; ::getcwd(buf, sizeof buf)) ctx.host_cwd = buf;
  ctx.unshare_pid_late = flags.unshare_pid_late;
  return ctx;
}

// Limits: the leaves exist and hold their limits before the child does.
std::unique_ptr<limits::CgroupSet> make_cgroups(const Spec& spec, const Plan& plan) {
  if (plan.cgroups.empty()) return nullptr;
  try {
    return std::make_unique<limits::CgroupSet>(plan.cgroups, plan.cgroup_stale_dirs,
                                               spec.limits, ::getpid());
  } catch (const Error& e) {
    if (!spec.limits.best_effort) throw;
    log::warning(std::string(e.what()) + "; running without the cgroup limits (--limits best-effort)");
  }
  return nullptr;
}

// A root caller may raise hard limits, which only the supervisor still can once the child
// is in its own user namespace.
bool must_raise_hard_limits(const Plan& plan) {
  return raises_hard_limits(plan.rlimits, [](int resource) -> std::optional<uint64_t> {
    rlimit cur;
    if (::getrlimit(resource, &cur) != 0) return std::nullopt;
    return cur.rlim_max;
  });
}

// The clone, into the v2 leaf where the kernel can; the child runs child_main and never
// returns. `into_cgroup` says on return whether the child was born in its v2 leaf.
Child start_child(const Spec& spec, Plan& plan, const HostFacts& host,
                  const LaunchFlags& flags, ChildContext& ctx, PlacementInput& place,
                  const limits::CgroupSet* cgroups, UniqueFd& parent_end, UniqueFd& sigfd) {
  int cgroup_fd = place.into_cgroup ? cgroups->v2_fd() : -1;
  auto prepare = [&] {
    Placement p = placement(flags.namespaces, place);
    ctx.await_go = p.await_go;
    ctx.unshare_cgroup_late = p.unshare_cgroup_late;
    return p.clone_flags;
  };
  unsigned long clone_flags = prepare();
  if (log::verbose()) log::step("clone: new " + namespace_names(clone_flags));
  Child child = clone_child(clone_flags, cgroup_fd);
  if (child.pid < 0 && place.into_cgroup && (errno == E2BIG || errno == EINVAL || errno == ENOSYS)) {
    place.into_cgroup = false;  // a kernel without CLONE_INTO_CGROUP: placed after the clone
    child = clone_child(prepare());
  }
  if (child.pid < 0 && place.into_cgroup && (errno == EACCES || errno == EPERM || errno == EBUSY))
    throw_errno("Can't start the sandbox in cgroup " + cgroups->dirs().front());
  if (child.pid < 0) throw Error(clone_error(errno, flags));
  if (child.pid == 0) {
    parent_end.reset();
    sigfd.reset();
    child_main(spec, plan, host, ctx);
  }
  if (log::verbose()) log::step("clone: child pid " + std::to_string(child.pid));
  return child;
}

// --timeout: SIGTERM to the whole sandbox, SIGKILL after the grace period.
struct Deadline {
  std::optional<Clock::time_point> term_at, kill_at;
  bool timed_out = false;
};

// The supervisor's state once the child exists; one handler per event.
struct Supervisor {
  const Spec& spec;
  const Plan& plan;
  Child child;
  UniqueFd channel;  // the parent's end of the handshake
  int sigfd;
  bool watch_channel;
  std::unique_ptr<limits::CgroupSet> cgroups;
  StatusWriter status;

  bool channel_open = true;
  std::optional<std::string> setup_error;  // the first reason setup failed
  std::vector<UniqueFd> held;              // lock-file descriptors, held for the sandbox's lifetime
  std::unique_ptr<net::Session> network;
  std::unique_ptr<net::DnsFilter> dns;  // --allow-net NAME
  bool net_pending = false;  // the child waits for NetReady
  Deadline deadline;
  // --audit-fd: the writer (every kind) and the command's seccomp listener, once handed over.
  std::unique_ptr<AuditWriter> audit;
  std::unique_ptr<SeccompAuditor> seccomp_audit;
  UniqueFd egress_log;  // --audit-fd with --allow-net: NFLOG socket of rejected connections
  bool egress_log_overrun = false;
  int wait_status = 0;
  bool exited = false;

  // Setup failed: the first reason is kept, and the sandbox never runs its command.
  void fail(const std::string& why) {
    if (!setup_error) setup_error = why;
    forward(child, SIGKILL);
  }
  void release(bool into_cgroup, bool raise_rlimits, const std::vector<RlimitSetting>& rl);
  void start_network();
  void kill_sandbox(int sig);
  int poll_timeout() const;

  void on_channel(bool nonblocking = false);
  void on_signal();
  void on_network();
  void on_deadline();
  void on_child_exit();
  void on_audit_listener(std::vector<UniqueFd>& fds);
  void on_maps_wanted();
  void on_egress_log();
  void on_before_pivot(const std::string& host_root, std::vector<UniqueFd>& fds);
  void loop();
  int finish(int* killed_by);
};

// The child waits for Go when the supervisor must first move it into its cgroups (cgroup
// v1, or no CLONE_INTO_CGROUP) or raise its hard limits.
void Supervisor::release(bool into_cgroup, bool raise_rlimits, const std::vector<RlimitSetting>& rl) {
  try {
    if (cgroups) cgroups->place(child.pid, into_cgroup);
    if (raise_rlimits) limits::raise_hard_limits(child.pid, rl);
    if (!send_message(channel.get(), MsgType::Go, ""))
      throw_errno("Can't release the sandbox's setup");
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

// Networking from outside (--net pasta, slirp4netns, veth): started now that the child's
// namespaces exist; the child waits for NetReady right before it runs the command.
void Supervisor::start_network() {
  try {
    // --net pasta/slirp4netns: the child's first message carries its namespaces (O_CLOEXEC
    // here; only the helper's process gets them, at fixed numbers). Security: not opened
    // through /proc/CHILD/ns, which would need the setup child dumpable.
    std::vector<UniqueFd> ns_fds;
    if (net::needs_ns_fds(plan) && !setup_error) {
      auto m = recv_message(channel.get());
      if (m && m->type == MsgType::Error) throw Error(m->text);
      const size_t expected = plan.egress_dns ? 5 : 2;
      if (!m || m->type != MsgType::NetNs || m->fds.size() != expected)
        throw Error("--net: the sandbox did not hand over its namespaces");
      ns_fds = std::move(m->fds);
      if (plan.egress_dns) {
        dns = net::start_dns_filter(
            spec.allow_net, {std::move(ns_fds[2]), std::move(ns_fds[3]), std::move(ns_fds[4])});
        // --audit-fd: one line per refused query (bounded by the writer's rate limit).
        if (audit)
          dns->on_refused = [w = audit.get()](const net::dns::Question& q, uint8_t rcode) {
            w->record("dns", [&] { return audit_dns_line(q.name, q.qtype, rcode); });
          };
        ns_fds.resize(2);
      }
    }
    net::SandboxNs ns;
    if (ns_fds.size() == 2) ns = {ns_fds[0].get(), ns_fds[1].get()};
    if (!setup_error) network = net::start(spec, plan, child.pid, ns);
    net_pending = network != nullptr;
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

void Supervisor::kill_sandbox(int sig) {
  // Parents before their children: a shell whose child died first could run its next
  // command before its own SIGTERM arrived.
  auto tree = process_tree(child.pid);
  forward(child, sig);
  for (pid_t p : tree)
    if (p != child.pid) ::kill(p, sig);
  if (cgroups) cgroups->signal_all(sig);  // what left the tree is still in the cgroup
}

// The next wake-up: the network helper's deadline while it is pending, --timeout.
int Supervisor::poll_timeout() const {
  int timeout = -1;
  if (net_pending) timeout = ms_until(network->deadline);
  for (const auto& at : {deadline.term_at, deadline.kill_at})
    if (at) timeout = timeout < 0 ? ms_until(*at) : std::min(timeout, ms_until(*at));
  if (int t = dns ? dns->timeout_ms() : -1; t >= 0) timeout = timeout < 0 ? t : std::min(timeout, t);
  return timeout;
}

// A message from the child: its setup error, its namespace ids (the status fds are
// written now), lock-file descriptors to hold; EOF once the command's exec closed it.
void Supervisor::on_channel(bool nonblocking) {
  std::optional<Message> m;
  try {
    m = recv_message(channel.get(), nonblocking);
  } catch (const std::exception& e) {
    // A lost message may have been the reason setup failed, or a lock: stop here.
    fail(e.what());
    channel_open = false;
    return;
  }
  if (!m) {
    channel_open = false;
    return;
  }
  if (m->type == MsgType::Error && !setup_error) setup_error = m->text;
  if (m->type == MsgType::ExecFailed && !setup_error)
    setup_error = exec_failure_message(m->text, m->fds);
  if ((m->type == MsgType::EarlyInfo || m->type == MsgType::Ready) && !status.start_written())
    status.started(info_object(child.pid, m->text, spec, plan));
  if (m->type == MsgType::LockFds)
    for (auto& f : m->fds) held.push_back(std::move(f));
  if (m->type == MsgType::MapsWanted) on_maps_wanted();
  if (m->type == MsgType::AuditListener) on_audit_listener(m->fds);
  if (m->type == MsgType::BeforePivot) on_before_pivot(m->text, m->fds);
  if (m->type == MsgType::EgressLog) {
    if (!audit || m->fds.size() != 1 || egress_log)
      fail("--audit-fd: the sandbox handed over an unexpected NFLOG socket");
    else
      egress_log = std::move(m->fds[0]);
  }
}

// --audit-fd with --allow-net: one "connect" line per connection the egress rules
// rejected. Bounded: at most 64 datagrams a turn (the loop stays fair); what the kernel
// could not queue while we lagged is lost there (packets are never held up for it), which
// is said once.
void Supervisor::on_egress_log() {
  if (!egress_log || !audit) return;
  for (const auto& p : net::read_egress_log(egress_log.get(), 64, egress_log_overrun))
    audit->record("connect", [&] { return net::egress_audit_line(p); });
  if (egress_log_overrun) {
    log::warning("--audit-fd: some rejected connections were not reported (the kernel's "
                 "NFLOG queue was full)");
    egress_log_overrun = false;
  }
}

// The child waits in its new user namespace for maps it cannot write itself
// (Plan::maps_from_outside): written from here, the parent namespace, then it carries on.
// A map refused (by the kernel or newuidmap) ends the sandbox before anything ran.
void Supervisor::on_maps_wanted() {
  if (!plan.maps_from_outside) {
    fail("The sandbox asked for id maps it was not to get");
    return;
  }
  try {
    ns::write_maps_from_outside(child.pid, spec.id_maps, plan.maps_by_helper);
    if (log::verbose()) log::step("id maps written for pid " + std::to_string(child.pid));
    if (!send_message(channel.get(), MsgType::MapsWritten, ""))
      throw_errno("Can't tell the sandbox that its id maps are written");
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

// --audit-fd: the command's listener, answered from now on. Its notifications wait in the
// kernel until then (the child sends it right after loading the filter).
void Supervisor::on_audit_listener(std::vector<UniqueFd>& fds) {
  if (!audit || !plan.seccomp_audit || fds.size() != 1 || seccomp_audit) {
    fail("--audit-fd: the sandbox handed over an unexpected seccomp listener");
    return;
  }
  seccomp_audit = std::make_unique<SeccompAuditor>(
      std::move(fds[0]), plan.seccomp_programs.at(plan.seccomp_audit->index),
      plan.seccomp_audit->profile, plan.seccomp_audit->errno_rules, *audit);
}

// Spec::setup_hooks: the child's mounts are made and it waits before its pivot_root; the
// embedder's before_pivot runs here, outside (the OCI runtime's createRuntime and
// createContainer hooks), and its answer releases the child. Signals wait meanwhile.
void Supervisor::on_before_pivot(const std::string& host_root, std::vector<UniqueFd>& fds) {
  if (!spec.setup_hooks.before_pivot || fds.size() != 2) {
    fail("The sandbox asked for a pivot_root hook nobody set");
    return;
  }
  try {
    std::string text =
        spec.setup_hooks.before_pivot({child.pid, fds[0].get(), fds[1].get(), host_root});
    fds.clear();
    if (!send_message(channel.get(), MsgType::PivotGo, text))
      throw_errno("Can't release the sandbox before its pivot_root");
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

// Signals for the command are passed on; SIGCHLD only wakes the loop (on_child_exit).
void Supervisor::on_signal() {
  signalfd_siginfo si;
  while (::read(sigfd, &si, sizeof si) == sizeof si) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) continue;
    if (should_forward(si.ssi_code, spec.new_session)) forward(child, sig);
  }
}

// Non-blocking: helper output, readiness, the keeper's exit (SIGCHLD), its deadline.
void Supervisor::on_network() {
  if (!network) return;
  std::string err;
  auto st = network->step(err);
  if (st == net::Session::State::Ready && net_pending) {
    net_pending = false;
    log::step("network helper ready");
    if (!send_message(channel.get(), MsgType::NetReady, ""))
      fail("Can't tell the sandbox that its network is ready");
  } else if (st == net::Session::State::Failed && !err.empty()) {
    if (!net_pending) {
      log::warning(err);
      return;
    }
    net_pending = false;
    fail(err);  // the command must not run without its network
  }
}

void Supervisor::on_deadline() {
  if (deadline.term_at && Clock::now() >= *deadline.term_at) {
    deadline.term_at.reset();
    deadline.timed_out = true;
    kill_sandbox(SIGTERM);
    deadline.kill_at = Clock::now() + std::chrono::milliseconds(limits::kTimeoutGraceMs);
  }
  if (deadline.kill_at && Clock::now() >= *deadline.kill_at) {
    deadline.kill_at.reset();
    kill_sandbox(SIGKILL);
  }
}

void Supervisor::on_child_exit() {
  if (::waitpid(child.pid, &wait_status, WNOHANG) == child.pid) exited = true;
}

void Supervisor::loop() {
  if (spec.limits.timeout_ms)
    deadline.term_at = Clock::now() + std::chrono::milliseconds(*spec.limits.timeout_ms);
  while (!exited) {
    std::vector<pollfd> fds = {{sigfd, POLLIN, 0},
                               {channel_open && watch_channel ? channel.get() : -1, POLLIN, 0}};
    fds.push_back({seccomp_audit ? seccomp_audit->fd() : -1, POLLIN, 0});
    fds.push_back({egress_log ? egress_log.get() : -1, POLLIN, 0});
    if (network)
      for (int fd : network->fds()) fds.push_back({fd, POLLIN, 0});
    const size_t dns_at = fds.size();
    if (dns)
      for (const pollfd& p : dns->poll_fds()) fds.push_back(p);
    if (::poll(fds.data(), fds.size(), poll_timeout()) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    // Notifications first: a denied call waits for its answer.
    if (fds[2].revents && !seccomp_audit->on_ready()) seccomp_audit.reset();
    if (fds[1].revents) on_channel();
    if (fds[3].revents) on_egress_log();
    if (fds[0].revents & POLLIN) on_signal();
    on_network();
    bool dns_ready = false;
    for (size_t i = dns_at; i < fds.size(); ++i) dns_ready |= fds[i].revents != 0;
    // Its connections' deadlines too (an idle DNS-over-TCP client is closed on time).
    if (dns && (dns_ready || dns->timeout_ms() == 0)) dns->step();
    on_deadline();
    on_child_exit();
  }
  // Anything the child said before it died (its error, at the latest) is already queued;
  // never block here: a process the command left behind may still hold the channel.
  while (channel_open) on_channel(true);
  // Connections rejected right before the command ended: their reports are queued.
  for (int i = 0; i < 16 && egress_log; ++i) on_egress_log();
  // What is still pending is answered; a process left behind that calls later gets
  // ENOSYS from the kernel once the listener is closed (still denied).
  if (seccomp_audit) seccomp_audit->on_ready();
  seccomp_audit.reset();
  network.reset();  // stops the helper / removes the veth and NAT rules, and waits for that
}

// The exit status for `sandbox` itself, after the reasons a limit gave.
int Supervisor::finish(int* killed_by) {
  if (killed_by) *killed_by = 0;
  if (audit) audit->finish();  // the summary line, also when the command never ran
  if (setup_error) {
    log::error(*setup_error);
    return 1;  // no exit-code: the command never ran
  }
  // Why a limit ended it: read before the leaves go (which kills what is left in them).
  auto report = limit_report(spec.limits, deadline.timed_out,
                             cgroups ? cgroups->events() : limits::CgroupSet::Events{},
                             wait_status, spec.unshare_pid && !spec.as_pid_1);
  cgroups.reset();
  for (const auto& line : report.lines) log::error(line);
  int code = WIFEXITED(wait_status)     ? WEXITSTATUS(wait_status)
             : WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status)
                                        : 1;
  if (deadline.timed_out) code = limits::kTimeoutExitCode;
  else if (killed_by && WIFSIGNALED(wait_status)) *killed_by = WTERMSIG(wait_status);
  if (log::verbose()) log::step("command finished, exit status " + std::to_string(code));
  status.finished(exit_object(code, report));
  return code;
}

}  // namespace

int run(const Spec& spec, Plan& plan, const HostFacts& host, int* killed_by) {
  if (spec.die_with_parent) {
    pid_t original_parent = ::getppid();
    // The supervisor dies with its own parent too, which takes the sandbox with it.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_PDEATHSIG)");
    if (::getppid() != original_parent) return 1;
  }
  // Before anything exists: signals arrive through the signalfd from now on (the child
  // inherits the mask), and a bad seccomp program fails here, with nothing to undo.
  Signals signals = block_signals();
  auto channel = make_channel();
  const LaunchFlags flags = launch_flags(spec, plan, host);
  auto programs = seccomp_programs(plan, flags);
  // Hard limits above ours need CAP_SYS_RESOURCE in the initial user namespace: once the
  // supervisor has entered a joined user namespace (--userns, OCI's user path) it has lost
  // that, so it raises its own now and the child inherits them (without one, it raises the
  // child's after the clone, release() below).
  if (flags.enter_userns && must_raise_hard_limits(plan)) limits::raise_hard_limits(0, plan.rlimits);
  // Joined namespaces before the clone: the child's new ones are owned by / nested in them.
  enter_joined_namespaces(flags);
  ChildContext ctx = child_context(channel.second.get(), flags, std::move(programs), plan);

  // Cgroup leaves with their limits before the child, which is born in the v2 one where
  // the kernel can (otherwise it waits for Go until it has been moved).
  auto cgroups = make_cgroups(spec, plan);
  PlacementInput place;
  place.cgroups = cgroups != nullptr;
  place.has_v1 = cgroups && cgroups->has_v1();
  place.into_cgroup = cgroups && cgroups->v2_fd() >= 0;
  place.raise_rlimits = must_raise_hard_limits(plan);
  place.cgroupns = plan.cgroupns;
  Child child = start_child(spec, plan, host, flags, ctx, place, cgroups.get(), channel.first,
                            signals.fd);
  channel.second.reset();
  plan.fds.keep_for_supervisor();  // closes flags.close_after_clone, through their owner

  // The child is set up while the supervisor places it, starts its network and waits.
  Supervisor sup{spec, plan, std::move(child), std::move(channel.first), signals.fd.get(),
                 flags.watch_channel, std::move(cgroups),
                 StatusWriter(plan.fds)};
  if (int fd = plan.fds.get(FdRole::Audit); fd >= 0) sup.audit = std::make_unique<AuditWriter>(fd);
  if (ctx.await_go) sup.release(place.into_cgroup, place.raise_rlimits, plan.rlimits);
  sup.start_network();
  sup.on_network();
  sup.loop();
  ::sigprocmask(SIG_SETMASK, &signals.old_mask, nullptr);
  return sup.finish(killed_by);
}

}  // namespace sb::launch
