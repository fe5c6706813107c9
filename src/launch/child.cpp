// Setup stages inside the new namespaces, in the order security needs (see child_main).
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "fs/backend.hpp"
#include "fs/mountapi.hpp"
#include "fs/newroot.hpp"
#include "fs/roots.hpp"
#include "host/probe.hpp"
#include "launch/channel.hpp"
#include "launch/exec_diag.hpp"
#include "launch/launch.hpp"
#include "limits/limits.hpp"
#include "net/dnsfilter.hpp"
#include "net/egress.hpp"
#include "net/net.hpp"
#include "ns/net.hpp"
#include "ns/sysctl.hpp"
#include "ns/userns.hpp"
#include "security/bpf.hpp"
#include "security/caps.hpp"
#include "security/landlock.hpp"
#include "util/error.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/pty.hpp"
#include "util/syscalls.hpp"

extern char** environ;

namespace sb::launch {
namespace {

// ioctl on a pidfd: an nsfs descriptor of that process's mount namespace (Linux 6.11).
constexpr unsigned long kPidfdGetMntNamespace = _IO(0xFF, 3);

std::vector<std::string> current_env() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  return env;
}

// "name=inode ..." for the namespaces of the calling process, for --info-fd and
// --json-status-fd. Read before the pivot, through the caller's /proc still mounted there:
// no descriptor of it crosses into the sandbox.
std::string namespace_ids() {
  std::string out;
  for (const char* ns : {"cgroup", "ipc", "mnt", "net", "pid", "uts"}) {
    struct stat st;
    std::string path = std::string("/proc/self/ns/") + ns;
    if (::stat(path.c_str(), &st) == 0)
      out += std::string(out.empty() ? "" : " ") + ns + "=" + std::to_string(st.st_ino);
  }
  return out;
}

// Waits until `fd` has data or EOF (--block-fd, --userns-block-fd).
void wait_readable(int fd, const char* opt) {
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0) {
    if (errno != EINTR) throw_errno(std::string(opt) + ": poll");
  }
  char c;
  if (::read(fd, &c, 1) < 0 && errno != EAGAIN) throw_errno(std::string(opt) + ": read");
}

// Security: the setup child is non-dumpable (no ptrace, no /proc/PID/fd or /mem for a
// process of the same uid, e.g. one already in a joined --pidns) but while its own id maps
// are written: the kernel makes a non-dumpable process's /proc files root's, which only
// the host's root could then write. Holds the window to those few writes. (pasta and
// slirp4netns get our namespaces as descriptors, see send_netns, not through /proc/PID/ns.)
struct DumpableForMaps {
  DumpableForMaps() {
    if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_DUMPABLE)");
  }
  ~DumpableForMaps() {
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) ::_exit(1);  // never run on dumpable
  }
  DumpableForMaps(const DumpableForMaps&) = delete;
  DumpableForMaps& operator=(const DumpableForMaps&) = delete;
};

// --disable-userns, second half: the nested user namespace, under the limit of 1 set
// earlier, so that neither the command nor its children can create another one. Made
// before the pivot by a throwaway helper, which writes its own maps through the caller's
// /proc (still mounted here) and hands the namespace over as an nsfs descriptor; the
// command enters it with setns once every mount is done. Security: no descriptor of the
// caller's /proc crosses the pivot for it, and the only process ever dumpable for the map
// writes (the kernel hands a non-dumpable process's /proc files to root) is the helper,
// which holds nothing but its end of a socketpair.
UniqueFd make_nested_userns(uid_t uid, gid_t gid) {
  auto sock = make_channel();
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("--disable-userns: fork");
  if (pid == 0) {
    int fd = sock.second.get();
    try {
      if (fd > 0) ::close_range(0, static_cast<unsigned>(fd) - 1, 0);
      ::close_range(static_cast<unsigned>(fd) + 1, ~0U, 0);
      if (::unshare(CLONE_NEWUSER) < 0)
        throw_errno("--disable-userns: can't create the nested user namespace");
      if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_DUMPABLE)");
      ns::write_self_maps(uid, uid, gid, gid);
      UniqueFd ns(::open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC));
      if (!ns) throw_errno("--disable-userns: can't open the nested user namespace");
      send_message(fd, MsgType::Ready, "", {ns.get()});
    } catch (const std::exception& e) {
      send_message(fd, MsgType::Error, e.what());
    }
    ::_exit(0);
  }
  sock.second.reset();
  std::optional<Message> m;
  try {
    m = recv_message(sock.first.get());
  } catch (...) {
    ::waitpid(pid, nullptr, 0);
    throw;
  }
  ::waitpid(pid, nullptr, 0);
  if (m && m->type == MsgType::Error) throw Error(m->text);
  if (!m || m->type != MsgType::Ready || m->fds.size() != 1)
    throw Error("--disable-userns: the helper creating the nested user namespace failed");
  return std::move(m->fds[0]);
}

// --assert-userns-disabled: a throwaway child tries to create a user namespace.
void assert_userns_disabled() {
  long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) ::_exit(0);
  if (pid > 0) {
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    throw Error("--assert-userns-disabled: creating a new user namespace is still possible");
  }
  if (errno != ENOSPC && errno != EPERM && errno != EUSERS)
    throw_errno("--assert-userns-disabled: unexpected failure");
}

// --net pasta/slirp4netns: hands our network and user namespaces to the supervisor, for the
// helper it starts. Security: opened by ourselves (a process may always open its own
// /proc/self/ns/*), so nothing outside ever needs our /proc/PID/ns, and we can stay
// non-dumpable throughout. /proc is still the caller's here, before any pivot.
void send_netns(int channel, const Plan& plan) {
  UniqueFd net(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!net) throw_errno("--net: can't open /proc/self/ns/net");
  UniqueFd user(::open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC));
  if (!user) throw_errno("--net: can't open /proc/self/ns/user");
  std::vector<int> fds{net.get(), user.get()};
  // --allow-net NAME: the sandbox's DNS sockets (UDP, TCP) and a netfilter socket, made here while we
  // hold CAP_NET_ADMIN over the namespace: the supervisor answers the one and adds the
  // answers' addresses to the egress table through the other (net/dnsfilter.hpp).
  net::DnsFilterSockets dns;
  if (plan.egress_dns) {
    dns = net::open_dns_filter_sockets();
    fds.push_back(dns.udp.get());
    fds.push_back(dns.tcp.get());
    fds.push_back(dns.netlink.get());
  }
  if (!send_message(channel, MsgType::NetNs, "", fds))
    throw_errno("--net: can't hand the sandbox's namespaces to the supervisor");
}

// --allow-net: loads the egress table; with --audit-fd, its rejected packets go to an NFLOG
// group whose socket the supervisor reads. Security: the socket is bound here, where we
// hold CAP_NET_ADMIN; the command cannot bind the group (nfnetlink wants CAP_NET_ADMIN)
// and never holds this fd (O_CLOEXEC, closed once handed over).
void load_egress_rules(const Spec& spec, const Plan& plan, const ChildContext& ctx) {
  std::optional<uint16_t> log_group;
  if (spec.audit_fd) log_group = net::kEgressLogGroup;
  // Inbound connections (published ports, a veth peer) need conntrack for their replies.
  const bool inbound = !spec.publish.empty() || plan.net == NetMode::Veth;
  const net::EgressTable table = net::egress_table(spec.allow_net, log_group,
                                                   net::egress_needs_state(spec.allow_net, inbound));
  if (log::verbose()) log::step("--allow-net: the egress table\n" + net::egress_ruleset(table));
  UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!nl) throw_errno("--allow-net: can't open a netfilter netlink socket");
  net::load_egress(nl.get(), table);
  log::step("--allow-net: egress rules loaded");
  if (!log_group) return;
  UniqueFd nflog = net::open_egress_log(*log_group);
  if (!send_message(ctx.channel, MsgType::EgressLog, "", {nflog.get()}))
    throw_errno("--audit-fd: can't hand the rejected connections' socket to the supervisor");
}

// Waits for MsgType::NetReady from the supervisor (which gives up on the helper after 10 s
// and kills us; this timeout is only a backstop).
void wait_for_network(int channel, const Plan& plan) {
  const char* what = net::label(plan);
  pollfd p{channel, POLLIN, 0};
  int r;
  while ((r = ::poll(&p, 1, 30000)) < 0)
    if (errno != EINTR) throw_errno("poll");
  if (r == 0)
    throw Error(std::string("Timed out after 30 s waiting for ") + what + " to set up the network");
  auto m = recv_message(channel);
  if (!m) throw Error(std::string("The supervisor went away while ") + what + " was starting");
  if (m->type != MsgType::NetReady)
    throw Error("Unexpected message from the supervisor while waiting for the network");
}

// Waits for MsgType::Go: the supervisor has put us in our cgroups (and raised our hard
// limits). Nothing of the sandbox runs before that, so nothing escapes the limits.
void wait_for_go(int channel) {
  auto m = recv_message(channel);
  if (!m || m->type != MsgType::Go) ::_exit(1);  // the supervisor failed and reports why
}

// Forks: the parent stays behind as init (init_main, never returns), the child carries on
// and gets the read end of the pipe through which init releases it once confined.
int fork_init(const Spec& spec, const ChildContext& ctx) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0) throw_errno("pipe");
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid > 0) {
    ::close(ready[0]);
    InitParams p;
    p.command = pid;
    p.forward_terminal_signals = spec.new_session;
    p.keep_fd = spec.sync_fd.value_or(-1);
    p.channel = ctx.channel;
    p.ready_fd = ready[1];
    p.seccomp_programs = &ctx.init_seccomp_programs;
    init_main(p);
  }
  ::close(ready[1]);
  return ready[0];
}

// A caller told the child pid (--info-fd, --json-status-fd) opens /proc/PID/ns/* of it, as
// bwrap's callers do (flatpak enter, --userns/--pidns of a second sandbox). The kernel lets
// it open a non-dumpable process's files only with CAP_SYS_PTRACE in the user namespace of
// that process's mm: for a forked init the host's, where an unprivileged caller has none.
// So in a user namespace we made, init is exec'd in it (start_exec_init).
bool init_execs(const Spec& spec, const Plan& plan) {
  return (spec.info_fd || spec.json_status_fd) && plan.userns && !spec.userns_fd &&
         !spec.pidns_fd && spec.unshare_pid && !spec.as_pid_1;
}

// The sealed memfd the exec'd init reads its seccomp programs from; -1 when there are none.
// Not close-on-exec: it is made for the exec.
int programs_memfd(const std::vector<std::string>& programs) {
  if (programs.empty()) return -1;
  const std::string data = encode_programs(programs);
  UniqueFd fd(::memfd_create("sandbox-init-seccomp", MFD_ALLOW_SEALING));
  if (!fd) throw_errno("init: memfd_create");
  if (!io::write_all(fd.get(), data)) throw_errno("init: can't write the seccomp programs");
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    throw_errno("init: can't seal the seccomp programs");
  return fd.release();
}

// In pid 1, after the fork in start_exec_init: exec this binary as init (init_exec_main).
[[noreturn]] void exec_init(const Spec& spec, const ChildContext& ctx, pid_t command,
                            int ready_w) {
  const int programs = programs_memfd(ctx.init_seccomp_programs);
  // Security: our cwd may be a host directory that no pivot moves; "/" (the old root)
  // follows both pivots (pivot_root moves every process's root and cwd that are the old
  // root), so nothing of the host stays reachable through init.
  if (::chdir("/") < 0) throw_errno("init: chdir /");
  // Security: an empty bounding set while we hold CAP_SETPCAP, and no_new_privs, so the
  // exec grants init no capability, not even as uid 0 inside.
  security::restrict_bounding_set(0);
  security::set_no_new_privs();
  // Only init's own descriptors cross the exec (the caller's others are the command's).
  const int keep_fd = spec.sync_fd.value_or(-1);
  for (int k : {ctx.channel, ready_w, programs, keep_fd})
    if (k >= 0 && ::fcntl(k, F_SETFD, 0) < 0) throw_errno("init: fcntl(F_SETFD)");
  close_all_except({ctx.channel, ready_w, programs, keep_fd, STDERR_FILENO});
  auto num = [](int v) { return v < 0 ? std::string("-") : std::to_string(v); };
  // argv[0] is our comm, which the exec'd init takes again (not "exe"), as ps shows it.
  char comm[17] = {};
  if (::prctl(PR_GET_NAME, comm, 0, 0, 0) < 0) throw_errno("init: prctl(PR_GET_NAME)");
  const std::string self = comm;
  std::vector<std::string> args = {
      self, kInitExecArg, num(command), num(ctx.channel), num(ready_w), num(programs), num(keep_fd),
      std::to_string((spec.new_session ? 1 : 0) | (spec.die_with_parent ? 2 : 0)), "end"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execve("/proc/self/exe", argv.data(), environ);
  throw_errno("init: can't execute /proc/self/exe");
}

// Forks: pid 1 execs this binary as init, inside the sandbox's user namespace, so that its
// mm belongs to it: the caller (its owner, holding every capability there) may open
// /proc/PID/ns/* although init is non-dumpable; the capability-less command may not touch
// it. Done before the new root exists: the image loads its libraries from the host's tree,
// and the child waits until init is confined, so no pivot happens under the loader. Returns
// in the child, which carries on with setup and becomes the command.
void start_exec_init(const Spec& spec, const ChildContext& ctx) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0) throw_errno("pipe");
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    ::close(ready[1]);
    wait_for_init(ready[0]);
    return;
  }
  ::close(ready[0]);
  try {
    exec_init(spec, ctx, pid, ready[1]);
  } catch (const std::exception& e) {
    std::string text = std::string("Can't start the sandbox's init (pid 1): ") + e.what();
    if (!send_message(ctx.channel, MsgType::Error, text)) log::error(text);
  }
  ::_exit(1);
}

// Capabilities and no_new_privs for the command, once every mount is done.
void settle_privileges(const Spec& spec, const HostFacts& host) {
  // OCI process.user without a user namespace: the ids switch now, every mount made, with
  // the capabilities kept across the switch so that the command's set is applied below
  // (ambient for a uid other than 0). Groups are the spec's, or none.
  if (spec.set_ids_in_place) {
    ns::enter_mapped_ids(spec.uid.value_or(::getuid()), spec.gid.value_or(::getgid()),
                         spec.groups, spec.groups_origin);
    log::step("uid " + std::to_string(::getuid()) + " and gid " + std::to_string(::getgid()) +
              " taken");
  }
  // Capabilities: after every mount (they need CAP_SYS_ADMIN) and before exec.
  // A root caller with no --cap-add/--cap-drop keeps its set untouched (as bwrap does).
  // Security (--allow-net): the command never holds CAP_NET_ADMIN (it could flush the
  // egress table) or CAP_NET_RAW (packet sockets skip netfilter) over the network: asked
  // for by --cap-add it is an error, kept by a root caller it is dropped.
  const security::CapSet egress_denied =
      spec.allow_net.empty() ? 0 : (security::CapSet{1} << CAP_NET_ADMIN) |
                                       (security::CapSet{1} << CAP_NET_RAW);
  if (!(host.is_root() && spec.caps.empty() && !spec.userns_fd && !spec.disable_userns) ||
      egress_denied) {
    security::CapSet caps = security::resolve_caps(spec.caps, host.is_root(),
                                                   security::current_caps(),
                                                   security::all_caps());
    for (const CapEdit& e : spec.caps)
      if (e.add && (e.cap < 0 || (egress_denied & (security::CapSet{1} << e.cap))))
        if (caps & egress_denied)
          throw Error("--allow-net: --cap-add would give the command CAP_NET_ADMIN or "
                      "CAP_NET_RAW, with which it could remove or bypass the egress rules");
    caps &= ~egress_denied;
    security::apply_caps(caps, ::getuid() != 0);  // ambient only matters for non-root
    log::step("capabilities set");
  } else {
    // Root keeps its capabilities, but (as bwrap) the command's bounding set holds no more
    // than what root holds: nothing dropped from it comes back across an execve. A root
    // without CAP_SETPCAP cannot drop bits; like bwrap, that alone is not an error.
    security::restrict_bounding_set(security::current_caps(), /*eperm_ok=*/true);
  }
  // no_new_privs before seccomp: the kernel requires it for an unprivileged filter, and
  // execve can never grant more privilege (setuid bits, file capabilities).
  security::set_no_new_privs();
  log::step("no_new_privs set");
}

// What execvp(`cmd`) would fail with for want of the file or of execute permission (0
// when it would find one): an absolute name as it is, a bare one in each directory of
// `path` (empty entries and relative names are left to execvp itself).
int command_lookup_error(const std::string& cmd, const std::string& path) {
  auto check = [](const std::string& f) {
    struct stat st;
    if (::stat(f.c_str(), &st) < 0) return errno;
    if (!S_ISREG(st.st_mode)) return EACCES;
    return ::access(f.c_str(), X_OK) == 0 ? 0 : errno;
  };
  if (cmd.empty()) return ENOENT;
  if (cmd.find('/') != std::string::npos) return cmd[0] == '/' ? check(cmd) : 0;
  int err = ENOENT;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = path.substr(start, end - start);
    start = end + 1;
    if (dir.empty() || dir[0] != '/') return 0;
    int e = check(dir + "/" + cmd);
    if (e == 0) return 0;
    if (e == EACCES) err = EACCES;  // as execvp: a later one may still be found
  }
  return err;
}

// OCI process.terminal: /dev/console is the container's terminal, as runc makes it: the
// pty's slave bound over it, created as an empty file where the container's /dev has
// none. Runs in the final root, before the master is sent (a failure fails `create`
// before the engine holds anything) and before the command's privileges are settled.
void bind_console_to_terminal(int slave) {
  const char* what = "process.terminal: can't bind the terminal on /dev/console";
  // Security: O_NOFOLLOW, and a mount point given as a descriptor: nothing at /dev/console
  // is followed. (A terminal needs the container's devpts, which needs its own /dev tmpfs,
  // so today only a config bind can be there, a file or a device; this holds if that changes.)
  UniqueFd mp(::open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!mp && errno == ENOENT) {
    UniqueFd made(::open("/dev/console", O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600));
    if (!made) throw_errno("process.terminal: can't create /dev/console");
    mp.reset(::open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!mp) throw_errno("process.terminal: can't open /dev/console");
  struct stat st{};
  if (::fstat(mp.get(), &st) < 0) throw_errno(what);
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
    throw Error("process.terminal: /dev/console in the container is neither a file nor a "
                "device (a link or a directory); it is not replaced");
  fs::make_mount_backend(fs::select_mount_api(fs::have_new_mount_api()), "/proc")
      ->bind(slave, mp.get(), false, 0, what);
}

// After a failed execvp. Never returns.
[[noreturn]] void report_exec_failure(const Spec& spec, const ChildContext& ctx, int err) {
  // The supervisor, outside, explains what is missing against the host's tree, which
  // nothing in the sandbox may hold. It gets the errno, the command, PATH, our own
  // explanation without the host (used if it cannot do better), the sandbox's root and
  // working directory, and a handle on our mount namespace, which keeps its mounts in
  // place after we exit (PIDFD_GET_MNT_NAMESPACE, Linux 6.11; else the sandbox's /proc).
  const char* path = ::getenv("PATH");
  const std::string path_env = path ? path : "/bin:/usr/bin";
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd cwd_fd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string msg = "Can't execute " + spec.command[0] + ": " + std::strerror(err);
  std::string why = explain_exec_failure(err, spec.command[0], path_env, root.get(), -1);
  if (!why.empty()) msg += " (" + why + ")";
  UniqueFd mntns;
  if (UniqueFd self(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0))); self)
    mntns.reset(::ioctl(self.get(), kPidfdGetMntNamespace, 0));
  if (!mntns) mntns.reset(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
  std::string text = std::to_string(err);
  text += '\0' + spec.command[0] + '\0' + path_env + '\0' + msg;
  std::vector<int> fds;
  if (root && cwd_fd && mntns) fds = {root.get(), cwd_fd.get(), mntns.get()};
  if (!send_message(ctx.channel, MsgType::ExecFailed, text, fds)) log::error(msg);
  ::_exit(1);
}

// The last stages of the process that becomes the command. Never returns.
[[noreturn]] void exec_command(const Spec& spec, Plan& plan, const HostFacts& host,
                               const ChildContext& ctx, const std::string& cwd, mode_t umask_,
                               int proc_self, int nested_userns, int init_ready,
                               const std::string& ns_ids,
                               const security::LandlockPlan& landlock,
                               const std::string& hook_text) {
  try {
    std::vector<std::string> env = apply_env(current_env(), spec.env);
    std::erase_if(env, [](const std::string& kv) { return kv.rfind("PWD=", 0) == 0; });
    env.push_back("PWD=" + cwd);

    // Nested user namespace after every mount (they need the outer namespace's
    // capabilities) and before capabilities are settled for the command.
    if (nested_userns >= 0) {
      if (::setns(nested_userns, CLONE_NEWUSER) < 0)
        throw_errno("--disable-userns: can't enter the nested user namespace");
      ::close(nested_userns);
    }

    // The terminal (OCI process.terminal) before `create` returns, as runc: the engine
    // holds the master before `start`. Here /dev is the sandbox's own, so the pty is on
    // its devpts instance. The socket is used once and closed before the command runs.
    if (int console = plan.fds.get(FdRole::Console); console >= 0) {
      UniqueFd sock(::fcntl(console, F_DUPFD_CLOEXEC, 3));
      if (!sock) throw_errno("--console-socket: fcntl(F_DUPFD_CLOEXEC)");
      plan.fds.done(FdRole::Console);
      pty::send_pty_master(sock.release(), spec.console_rows, spec.console_cols,
                           bind_console_to_terminal);
    }

    // Before `create` learns the pid (Ready): a command that cannot run fails it.
    if (spec.resolve_command_before_block) {
      std::string path = "/bin:/usr/bin";  // execvp's default
      for (const std::string& kv : env)
        if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
      if (int err = command_lookup_error(spec.command[0], path)) {
        ::setenv("PATH", path.c_str(), 1);  // the explanation searches the command's PATH
        report_exec_failure(spec, ctx, err);
      }
    }
    // Tell the supervisor (--info-fd, --json-status-fd) before waiting on --block-fd, so a
    // caller can read the child's pid and then release it. Without those options nobody
    // reads the namespace ids: skipping them saves six nsfs lookups and a wake-up of the
    // supervisor on every launch.
    if (spec.info_fd || spec.json_status_fd)
      if (!send_message(ctx.channel, MsgType::Ready, ns_ids))
        throw_errno("Can't tell the supervisor that the sandbox is ready");
    if (spec.block_fd) wait_readable(*spec.block_fd, "--block-fd");
    // An embedder's hooks (OCI startContainer): inside the new root, released, and still
    // before the command's privileges, filters and exec.
    if (spec.setup_hooks.before_exec) spec.setup_hooks.before_exec(hook_text);

    if (spec.assert_userns_disabled) assert_userns_disabled();

    settle_privileges(spec, host);

    if (spec.exec_label)
      io::write_kernel_file_at(proc_self, "thread-self/attr/exec", *spec.exec_label,
                               "/proc/thread-self/attr/exec");
    if (proc_self >= 0) ::close(proc_self);

    // Landlock once nothing of setup needs the caller's tree any more (the --exec-label
    // write above goes through the caller's /proc) and after no_new_privs, which it needs;
    // before exec, so the command and all it starts are inside the fence.
    security::landlock_enforce(landlock);

    // Descriptors the options consumed do not reach the command. Nor does --sync-fd, held
    // by init and the supervisor for the sandbox's lifetime (bwrap passes it on only with
    // --as-pid-1, where no init holds it).
    plan.fds.close_before_exec(/*pass_sync=*/spec.as_pid_1);

    ::umask(umask_);
    std::vector<char*> argv;
    for (size_t i = 0; i < spec.command.size(); ++i)
      argv.push_back(const_cast<char*>(i == 0 && spec.argv0 ? spec.argv0->c_str()
                                                            : spec.command[i].c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& kv : env) envp.push_back(kv.data());
    envp.push_back(nullptr);

    // Security: the command runs only once its init is confined (see init_main).
    if (init_ready >= 0) wait_for_init(init_ready);

    // Rlimits last but for seccomp: a low RLIMIT_NOFILE or RLIMIT_AS must not break setup,
    // and init (pid 1 with --unshare-pid) is not bound by them.
    limits::apply_rlimits(plan.rlimits);

    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
    // Seccomp last: every earlier step (the unblock above too: a profile may deny
    // rt_sigprocmask) may use syscalls the filters deny. The programs are loaded exactly
    // as compiled, in command-line order.
    // --audit-fd: the listener goes to the supervisor at once (before a later program,
    // whose load the audited one may notify) and is closed here: the command never holds it.
    security::load_bpf_programs(ctx.seccomp_programs, ctx.audit_listener, [&](int listener) {
      UniqueFd owned(listener);
      if (!send_message(ctx.channel, MsgType::AuditListener, "", {listener}))
        throw_errno("--audit-fd: can't hand the seccomp listener to the supervisor");
    });
    if (!ctx.seccomp_programs.empty() && log::verbose())
      log::step("seccomp: " + std::to_string(ctx.seccomp_programs.size()) + " program(s) loaded");
    if (log::verbose()) log::step("exec " + spec.command[0]);
    environ = envp.data();  // execvp searches the sandbox's PATH, not the caller's
    ::execvp(spec.command[0].c_str(), argv.data());
    report_exec_failure(spec, ctx, errno);
  } catch (const std::exception& e) {
    // Never silent: if the supervisor cannot be told, the caller's stderr is.
    if (!send_message(ctx.channel, MsgType::Error, e.what())) log::error(e.what());
  }
  ::_exit(1);
}

// Steps 0 and 1 of child_main: what must hold before anything else runs.
void enter_early_stages(const Spec& spec, const Plan& plan, const ChildContext& ctx) {
  // Security: non-dumpable from the start, so that no process of the same uid (one in a
  // joined --pidns, say) can trace this setup child or open what it holds through
  // /proc/PID/fd. The command's execve makes it dumpable again, as bwrap's command is.
  // With --userns-block-fd the caller writes our maps first (see step 2).
  if (!spec.userns_block_fd && ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    throw_errno("prctl(PR_SET_DUMPABLE)");
  // The supervisor waits for this first message before it starts the network helper.
  if (net::needs_ns_fds(plan)) send_netns(ctx.channel, plan);

  // 0. Limits first: until the supervisor has placed us in the sandbox's cgroups we run
  //    nothing, then the cgroup namespace (--unshare-cgroup) is rooted at our own leaf.
  if (ctx.await_go) wait_for_go(ctx.channel);
  if (ctx.unshare_cgroup_late && ::unshare(CLONE_NEWCGROUP) < 0)
    throw_errno("Can't create a new cgroup namespace");

  // Security: a new session has no controlling terminal, so no process of the sandbox
  // (the command, and the init it could ptrace) can push input into the caller's
  // terminal with TIOCSTI. Done before any fork so that init is in it too.
  if (spec.new_session && ::setsid() < 0) throw_errno("setsid");

  // 0b. --pidns with --unshare-pid: the kernel creates a PID namespace only from a process
  //    living in the namespace it nests under, so this child (born in the joined one)
  //    unshares, stays behind as a relay, and its child carries on as pid 1.
  if (ctx.unshare_pid_late) {
    if (spec.die_with_parent && ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
      throw_errno("prctl(PR_SET_PDEATHSIG)");
    if (::unshare(CLONE_NEWPID) < 0) throw_errno("--pidns: can't create a nested PID namespace");
    // The relay stays in the joined namespace, confined as pid 1 is.
    wait_for_init(fork_init(spec, ctx));
  }

  // 1. Die with the supervisor if asked, and close the race where it is already gone
  //    (its end of the channel is then closed).
  if (spec.die_with_parent) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_PDEATHSIG)");
    pollfd p{ctx.channel, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP))) ::_exit(1);
  }
}

// Step 2 of child_main: our uid/gid maps. Returns the namespace ids for --info-fd and
// --json-status-fd ("" when neither was asked for).
std::string settle_identity(const Spec& spec, const Plan& plan, const HostFacts& host,
                            const ChildContext& ctx) {
  // 2. Identity first: until the maps exist, every id inside is the overflow id and
  //    files we create would be owned by nobody.
  // Namespaces are all in place (a late cgroup or PID one included): their ids for
  // --info-fd and --json-status-fd are read now, while the caller's /proc is reachable.
  const std::string ns_ids = spec.info_fd || spec.json_status_fd ? namespace_ids() : "";
  if (spec.userns_block_fd) {
    // The caller writes our maps through /proc/PID: dumpable until it is done.
    if (!send_message(ctx.channel, MsgType::EarlyInfo, ns_ids))
      throw_errno("--userns-block-fd: can't tell the supervisor the namespaces exist");
    wait_readable(*spec.userns_block_fd, "--userns-block-fd");
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_DUMPABLE)");
  } else if (plan.maps_from_outside) {
    {
      // Dumpable while they are written: newuidmap writes only for a process whose /proc
      // entry is its caller's, and the kernel gives a non-dumpable process's to root.
      DumpableForMaps dumpable;
      if (!send_message(ctx.channel, MsgType::MapsWanted, ""))
        throw_errno("Can't ask the supervisor for the id maps");
      auto m = recv_message(ctx.channel);
      if (!m || m->type != MsgType::MapsWritten) ::_exit(1);  // the supervisor reports why
    }
    ns::enter_mapped_ids(plan.sandbox_uid, plan.sandbox_gid, spec.groups, spec.groups_origin);
    log::step(std::string("uid and gid maps written by ") +
              (plan.maps_by_helper ? "newuidmap and newgidmap" : "the supervisor"));
  } else if (plan.write_maps) {
    try {
      DumpableForMaps dumpable;
      ns::write_self_maps(plan.sandbox_uid, host.uid, plan.sandbox_gid, host.gid);
      log::step("uid and gid maps written");
    } catch (const SysError& e) {
      // Ubuntu's AppArmor restriction lets the namespace be created but takes the
      // capabilities that writing the maps needs: say so rather than "EPERM".
      if (host.is_root() || (e.err() != EPERM && e.err() != EACCES)) throw;
      throw Error(std::string(e.what()) + " (" +
                  host::explain_userns_failure(e.err(), host::self_exe()) + ")");
    }
  }
  // Without a user namespace, supplementary groups are set here (as root's), or with the
  // ids in settle_privileges.
  if (!plan.userns && spec.groups && !spec.set_ids_in_place)
    ns::set_groups(*spec.groups, spec.groups_origin);
  return ns_ids;
}

// What is prepared while the caller's /proc is still reachable, before the new root.
struct BeforeRoot {
  int proc_self = -1;       // --exec-label
  UniqueFd nested_userns;   // --disable-userns
  security::LandlockPlan landlock;  // --landlock: decided (and refused) before any mount
};
BeforeRoot prepare_before_root(const Spec& spec, const Plan& plan, const HostFacts& host) {
  BeforeRoot b;
  b.landlock = security::landlock_prepare(spec, host.landlock_abi);
  // --exec-label: the caller's /proc stays reachable through this fd after the pivot, to
  // write the label of the process that will exec ("thread-self" resolves to whichever
  // process uses it). Security: we are non-dumpable by now, so no other process can
  // borrow it, and it is closed before exec.
  if (spec.exec_label) {
    b.proc_self = ::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (b.proc_self < 0) throw_errno("Can't open /proc");
  }
  if (spec.disable_userns) {
    // Security: the limit is per user namespace; with 1, only the nested namespace
    // entered before exec fits, so the sandbox can never make another.
    try {
      io::write_kernel_file("/proc/sys/user/max_user_namespaces", "1");
    } catch (const SysError& e) {
      throw SysError("--disable-userns: can't set user.max_user_namespaces", e.err());
    }
  }
  if (spec.disable_userns) b.nested_userns = make_nested_userns(plan.sandbox_uid, plan.sandbox_gid);

  // Security: a fresh anonymous session keyring, so the command cannot read or link the
  // keys in the caller's session keyring (bwrap leaves it shared).
  if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 && errno != ENOSYS)
    throw_errno("Can't create a new session keyring");
  return b;
}

// Step 4 of child_main: the new root, and the pivot. Returns the umask the command gets
// back (we create modes exactly as asked) and the sandbox's working directory.
std::pair<mode_t, std::string> build_new_root(const Spec& spec, const Plan& plan,
                                              const ChildContext& ctx,
                                              const std::function<void()>& before_pivot) {
  // 4. The new root. Modes we create are exactly those asked for.
  mode_t old_umask = ::umask(0);
  std::string home;
  for (const auto& kv : apply_env(current_env(), spec.env))
    if (kv.rfind("HOME=", 0) == 0) home = kv.substr(5);
  // The Spec's ops, then the plan's (--net pasta/slirp4netns: /etc/resolv.conf).
  double fs_start = log::verbose() ? log::ms_since_start() : 0;
  fs::RootResult root = fs::build_root(spec, ctx.host_tty, ctx.host_cwd, home,
                                       {plan.cgroupfs_read_only, plan.cgroupfs_refuse},
                                       plan.derived_fs, before_pivot);
  if (log::verbose()) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.3f", log::ms_since_start() - fs_start);
    log::step("new root: " + std::to_string(spec.fs.size() + plan.derived_fs.size()) +
              " filesystem operations and the pivot in " + ms + " ms, cwd " + root.cwd);
  }
  if (!root.lock_fds.empty()) {
    std::vector<int> fds;
    for (auto& f : root.lock_fds) fds.push_back(f.get());
    if (!send_message(ctx.channel, MsgType::LockFds, "", fds))
      throw_errno("--lock-file: can't hand the locks to the supervisor");
    root.lock_fds.clear();
  }
  return {old_umask, root.cwd};
}

}  // namespace

void child_main(const Spec& spec, Plan& plan, const HostFacts& host,
                const ChildContext& ctx) {
  try {
    enter_early_stages(spec, plan, ctx);
    const std::string ns_ids = settle_identity(spec, plan, host, ctx);
    BeforeRoot before = prepare_before_root(spec, plan, host);

    // 2b. A caller that opens our namespaces by pid: pid 1 becomes init now, exec'd in our
    //     user namespace while the host's tree still holds its libraries (start_exec_init);
    //     we carry on as its child once it is confined.
    const bool init_started = init_execs(spec, plan);
    if (init_started) start_exec_init(spec, ctx);

    // 3. Namespaces that need capabilities over themselves, while we hold them.
    if (spec.hostname && ::sethostname(spec.hostname->data(), spec.hostname->size()) < 0)
      throw_errno("Can't set hostname " + *spec.hostname);
    // Namespaced sysctls (linux.sysctl), now that we are in the new namespaces and hold
    //    the capabilities over them, and before the new root: its readonlyPaths may cover
    //    /proc/sys. The files show the writer's namespaces (plan.cpp checked each is new).
    if (!spec.sysctls.empty()) {
      UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!proc) throw_errno("linux.sysctl: can't open /proc");
      ns::write_sysctls(proc.get(), spec.sysctls);
    }
    if (spec.unshare_net) {
      ns::loopback_up();
      ns::allow_unprivileged_low_ports();
    }
    // --allow-net: the egress table, loaded while we hold CAP_NET_ADMIN over our network
    //    namespace: before the network is up and before the command, which runs without
    //    the capability and so can never flush or change it. One nfnetlink batch, sent by
    //    ourselves (net/egress.hpp: why not nft).
    if (plan.egress) load_egress_rules(spec, plan, ctx);

    // An embedder's hooks (OCI createRuntime/createContainer) run in the supervisor once
    //    every mount is made, before the pivot: it gets our user and mount namespaces
    //    (opened now, through the caller's /proc; nsfs handles, not directories, and closed
    //    once sent) and answers with text for before_exec. We wait for that answer.
    std::string hook_text;
    std::function<void()> before_pivot;
    UniqueFd hook_userns, hook_mntns;
    if (spec.setup_hooks.before_pivot) {
      hook_userns.reset(::open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC));
      hook_mntns.reset(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
      if (!hook_userns || !hook_mntns) throw_errno("Can't open our namespaces for the hooks");
      before_pivot = [&] {
        if (!send_message(ctx.channel, MsgType::BeforePivot, fs::kOldRoot,
                          {hook_userns.get(), hook_mntns.get()}))
          throw_errno("Can't tell the supervisor that the new root is ready");
        hook_userns.reset();
        hook_mntns.reset();
        auto m = recv_message(ctx.channel);
        if (!m) ::_exit(1);  // the supervisor failed (a hook did) and says why
        if (m->type != MsgType::PivotGo)
          throw Error("Unexpected message from the supervisor before the pivot");
        hook_text = m->text;
      };
    }
    auto [old_umask, cwd] = build_new_root(spec, plan, ctx, before_pivot);

    // --net pasta/slirp4netns/veth: the supervisor configures the network from outside
    // while we set up; the command never runs before it is there. Waited for here, before
    // init is forked.
    if (net::needs_ready(plan)) {
      wait_for_network(ctx.channel, plan);
      log::step("network ready");
    }

    // 5. --userns2: the namespace the command lives in, entered once setup is done.
    if (spec.userns2_fd && ::setns(*spec.userns2_fd, CLONE_NEWUSER) < 0)
      throw_errno("--userns2: can't enter the user namespace");

    // 6. With a PID namespace we are pid 1: stay as init and let a child run the command.
    int init_ready = -1;
    if (spec.unshare_pid && !spec.as_pid_1 && !init_started) init_ready = fork_init(spec, ctx);
    exec_command(spec, plan, host, ctx, cwd, spec.umask.value_or(old_umask), before.proc_self, before.nested_userns.release(),
                 init_ready, ns_ids, before.landlock, hook_text);
  } catch (const std::exception& e) {
    // Never silent: if the supervisor cannot be told, the caller's stderr is.
    if (!send_message(ctx.channel, MsgType::Error, e.what())) log::error(e.what());
  }
  ::_exit(1);
}

}  // namespace sb::launch
