#include "cli/options.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <strings.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <cstdint>

#include "cli/profile.hpp"
#include "limits/limits.hpp"
#include "net/egress.hpp"
#include "net/net.hpp"
#include "security/caps.hpp"
#include "util/error.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/parse.hpp"
#include "util/suggest.hpp"

namespace sb::cli {
namespace {

using Args = std::vector<std::string>;

// ---- handlers --------------------------------------------------------------------------

void bind_op(Parser& p, const Args& a, BindOp::Mode mode, bool try_, std::string_view opt) {
  p.spec.fs.emplace_back(BindOp{p.source_path(a[0]), Parser::dest_path(a[1]), mode, try_,
                                std::string(opt)});
}

uint32_t parse_id(const std::string& opt, const std::string& v) {
  // (uid_t)-1 is "no change" to the kernel; never accept it as an id.
  auto n = parse::unsigned_dec(v, UINT32_MAX - 1);
  if (!n) throw Error(opt + ": invalid id '" + v + "'");
  return static_cast<uint32_t>(*n);
}

int parse_cap(const std::string& opt, const std::string& v) {
  if (strcasecmp(v.c_str(), "ALL") == 0) return -1;
  std::string name = v;
  if (name.size() > 4 && strncasecmp(name.c_str(), "CAP_", 4) == 0) name = name.substr(4);
  int cap = security::capability_from_name(name);
  if (cap < 0 || cap > CAP_LAST_CAP)
    throw Error(opt + ": unknown capability '" + v + "'");
  return cap;
}

void check_env_name(const std::string& opt, const std::string& name) {
  if (name.empty() || name.find('=') != std::string::npos)
    throw Error(opt + ": invalid variable name '" + name + "'");
}

// An fd argument is a descriptor number. The first line is bwrap's ("Invalid fd: X", which
// its callers and tests match), the second names the option. Whether it is open is
// planning's question (plan/fds.hpp), in the same words.
int parse_fd(const std::string& opt, const std::string& v) {
  auto fd = parse::fd_number(v);
  if (!fd)
    throw Error("Invalid fd: " + v + "\n" + opt + " takes a file descriptor number (0 or more)");
  return *fd;
}

// bwrap's warning when an option that holds one value is given again.
void warn_only_last(Parser& p, const std::string& opt) {
  p.warn("Only the last " + opt + " option will take effect");
}

// An fd named by an option, recorded with what it is for (planning takes it over).
int use_fd(Parser& p, const std::string& opt, const std::string& v, FdRole role) {
  int fd = parse_fd(opt, v);
  p.spec.fds.push_back({fd, opt, role});
  return fd;
}

void overlay_op(Parser& p, OverlayOp op, size_t min_sources, const std::string& opt) {
  if (p.overlay_sources.size() < min_sources)  // bwrap's words
    throw Error(opt + " requires at least " + (min_sources == 1 ? "one" : "two") +
                " --overlay-src\n(each --overlay-src names a lower layer and comes right "
                "before " + opt + ")");
  op.lowers = std::exchange(p.overlay_sources, {});
  p.spec.fs.emplace_back(std::move(op));
}

void data_op(Parser& p, const Args& a, DataOp::Kind kind, const std::string& opt) {
  int fd = use_fd(p, opt, a[0], FdRole::Data);
  p.spec.fs.emplace_back(DataOp{kind, fd, Parser::dest_path(a[1]), p.take_perms()});
}

void bind_fd_op(Parser& p, const Args& a, BindOp::Mode mode, const std::string& opt) {
  int fd = use_fd(p, opt, a[0], FdRole::BindSource);
  BindOp b{"fd " + a[0], Parser::dest_path(a[1]), mode, false, opt};
  b.source_fd = fd;
  p.spec.fs.emplace_back(std::move(b));
}

void set_once(std::optional<int>& slot, Parser& p, const std::string& opt, const std::string& v,
              FdRole role) {
  int fd = use_fd(p, opt, v, role);
  if (slot) warn_only_last(p, opt);
  slot = fd;  // like bwrap, a repeated option replaces the earlier one
}

uint64_t parse_weight(const std::string& opt, const std::string& v) {
  auto n = parse::unsigned_dec(v, 10000);
  if (!n || *n == 0) throw Error(opt + ": '" + v + "' is not a weight from 1 to 10000");
  return *n;
}

#define H(body) [](Parser & p, const Args& a) { (void)p; (void)a; body; }

const std::vector<OptionDef> kTable = {
    // ---- General ----
    {"--help", {}, Section::General, "Print this help and exit", H(p.action = Action::Help)},
    {"--version", {}, Section::General,
     "Print the version and exit (invoked as bwrap: first a line 'bubblewrap 0.11.1', the bwrap release it follows)",
     H(p.action = Action::Version)},
    {"--args", {{"FD", ArgKind::Number}}, Section::General,
     "Parse NUL-separated arguments from FD at this point (repeatable, nestable)",
     H({
       int fd = use_fd(p, "--args", a[0], FdRole::Args);
       p.splice = Parser::split_args(p.env.read_args_fd(fd), fd);
       p.spliced = true;
     }),
     {.splice = Splice::ArgsFd}},
    {"--profile", {{"NAME", ArgKind::Profile}}, Section::General,
     "Apply the options of profile NAME (or a file PATH) at this point; later options refine it",
     H({
       p.splice = p.env.profile_args(a[0], p.cwd, [&p](const std::string& w) { p.warn(w); });
       p.spliced = true;
     }),
     {.splice = Splice::Profile}},
    {"--list-profiles", {}, Section::General, "List the names of the installed profiles and exit",
     H(p.action = Action::ListProfiles)},
    {"--print-args", {}, Section::General,
     "Print the fully expanded argument list (profiles and --args resolved) and exit",
     H(p.action = Action::PrintArgs), {.recorded = false}},
    {"--verbose", {}, Section::General,
     "Log each setup step to stderr with the milliseconds since start (clone, maps, mounts, pivot, caps, seccomp, exec)",
     H(p.verbose = true)},
    {"--level-prefix", {}, Section::General,
     "Prefix each diagnostic with a syslog level such as <3>",
     H(p.level_prefix = true)},

    // ---- Namespaces ----
    {"--unshare-user", {}, Section::Namespaces,
     "Create a new user namespace (always done for a non-root caller)",
     H(p.spec.unshare_user = true)},
    {"--unshare-user-try", {}, Section::Namespaces,
     "Create a new user namespace if possible, else continue without",
     H(p.spec.unshare_user_try = true)},
    {"--unshare-ipc", {}, Section::Namespaces, "Create a new IPC namespace",
     H(p.spec.unshare_ipc = true)},
    {"--unshare-pid", {}, Section::Namespaces,
     "Create a new PID namespace (a small init becomes pid 1 unless --as-pid-1)",
     H(p.spec.unshare_pid = true)},
    {"--unshare-net", {}, Section::Namespaces,
     "Create a new network namespace with only the loopback interface, up",
     H(p.spec.unshare_net = true)},
    {"--unshare-uts", {}, Section::Namespaces, "Create a new UTS namespace (hostname)",
     H(p.spec.unshare_uts = true)},
    {"--unshare-cgroup", {}, Section::Namespaces, "Create a new cgroup namespace",
     H(p.spec.unshare_cgroup = true)},
    {"--unshare-cgroup-try", {}, Section::Namespaces,
     "Create a new cgroup namespace if the kernel supports it",
     H(p.spec.unshare_cgroup_try = true)},
    {"--unshare-all", {}, Section::Namespaces,
     "Unshare every namespace: user (try), ipc, pid, net, uts, cgroup (try)",
     H(p.spec.unshare_user_try = p.spec.unshare_ipc = p.spec.unshare_pid = p.spec.unshare_net =
           p.spec.unshare_uts = p.spec.unshare_cgroup_try = true)},
    {"--share-net", {}, Section::Namespaces, "Keep the host network namespace (after --unshare-all)",
     H(p.spec.unshare_net = false)},
    {"--net", {{"MODE", ArgKind::Name, "none host pasta slirp4netns user veth"}}, Section::Namespaces,
     "Network: none (loopback only), host, pasta or slirp4netns (a user-mode stack run outside, gateway 10.0.2.2), user (pasta, else slirp4netns), veth (root: bridge sandbox0 with NAT)",
     H({
       p.spec.net = net::parse_mode(a[0]);
       p.spec.unshare_net = p.spec.net != NetMode::Host;
     })},
    {"--publish", {{"SPEC", ArgKind::Text}}, Section::Namespaces,
     "Forward a host port into the sandbox: SPEC is [HOSTADDR:]HOSTPORT:SANDBOXPORT[/tcp|/udp], HOSTADDR 127.0.0.1 unless given (repeatable; --net pasta, slirp4netns, user or veth)",
     H(p.spec.publish.push_back(net::parse_publish(a[0])))},
    {"--net-host-loopback", {}, Section::Namespaces,
     "Let the gateway 10.0.2.2 reach services listening on the host's 127.0.0.1 (--net pasta, slirp4netns or user; off by default)",
     H(p.spec.net_host_loopback = true)},
    {"--allow-net", {{"HOST[:PORT[-PORT]]", ArgKind::Text}}, Section::Namespaces,
     "Deny outbound traffic except to HOST (an IPv4/IPv6 address or CIDR network, IPv6 with a port as [ADDR]:PORT; or a DNS name, *.NAME for its subdomains: the sandbox then resolves only allowed names and may reach what they resolve to), on PORT or a PORT-PORT range if given; 'none' denies everything until another --allow-net; denied connections fail at once (repeatable; --net pasta, slirp4netns, user or veth)",
     H(p.spec.allow_net.push_back(net::parse_allow_net(a[0])))},
    {"--subnet", {{"CIDR", ArgKind::Text}}, Section::Namespaces,
     "IPv4 network of --net veth (default 10.231.0.0/24; the bridge takes its first address)",
     H(p.spec.subnet = net::parse_subnet(a[0]))},
    {"--uid", {{"UID", ArgKind::Number}}, Section::Namespaces,
     "User id inside the sandbox (default: the caller's)",
     H({
       if (p.spec.uid) warn_only_last(p, "--uid");
       p.spec.uid = parse_id("--uid", a[0]);
     })},
    {"--gid", {{"GID", ArgKind::Number}}, Section::Namespaces,
     "Group id inside the sandbox (default: the caller's)",
     H({
       if (p.spec.gid) warn_only_last(p, "--gid");
       p.spec.gid = parse_id("--gid", a[0]);
     })},
    {"--userns", {{"FD", ArgKind::Number}}, Section::Namespaces,
     "Use the existing user namespace FD instead of creating one",
     H(set_once(p.spec.userns_fd, p, "--userns", a[0], FdRole::Userns))},
    {"--userns2", {{"FD", ArgKind::Number}}, Section::Namespaces,
     "After setup, switch into user namespace FD (a descendant of the one used for setup)",
     H(set_once(p.spec.userns2_fd, p, "--userns2", a[0], FdRole::Userns2))},
    {"--pidns", {{"FD", ArgKind::Number}}, Section::Namespaces,
     "Use the existing PID namespace FD (with --unshare-pid: as parent of a new one)",
     H(set_once(p.spec.pidns_fd, p, "--pidns", a[0], FdRole::Pidns))},
    {"--userns-block-fd", {{"FD", ArgKind::Number}}, Section::Namespaces,
     "Do not write the id maps; wait for data on FD once the user namespace exists (needs --info-fd)",
     H(set_once(p.spec.userns_block_fd, p, "--userns-block-fd", a[0], FdRole::UsernsBlock))},
    {"--disable-userns", {}, Section::Namespaces,
     "Prevent the sandbox from creating further user namespaces",
     H(p.spec.disable_userns = true)},
    {"--assert-userns-disabled", {}, Section::Namespaces,
     "Fail unless creating further user namespaces is already impossible (e.g. with --userns)",
     H(p.spec.assert_userns_disabled = true)},
    {"--hostname", {{"NAME", ArgKind::Name}}, Section::Namespaces,
     "Hostname inside the sandbox (requires --unshare-uts)", H({
       if (a[0].empty() || a[0].size() > HOST_NAME_MAX)
         throw Error("--hostname: '" + a[0] + "' must be 1 to " +
                     std::to_string(HOST_NAME_MAX) + " characters");
       if (p.spec.hostname) warn_only_last(p, "--hostname");
       p.spec.hostname = a[0];
     })},

    // ---- Filesystem ----
    {"--bind", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Bind mount the host path SRC on DEST (submounts included, device nodes unusable)",
     H(bind_op(p, a, BindOp::Mode::ReadWrite, false, "--bind"))},
    {"--bind-try", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Like --bind, but skip it if SRC does not exist",
     H(bind_op(p, a, BindOp::Mode::ReadWrite, true, "--bind-try"))},
    {"--dev-bind", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Bind mount SRC on DEST, allowing device access",
     H(bind_op(p, a, BindOp::Mode::Devices, false, "--dev-bind"))},
    {"--dev-bind-try", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}},
     Section::Filesystem, "Like --dev-bind, but skip it if SRC does not exist",
     H(bind_op(p, a, BindOp::Mode::Devices, true, "--dev-bind-try"))},
    {"--ro-bind", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Bind mount SRC read-only on DEST, every submount read-only too",
     H(bind_op(p, a, BindOp::Mode::ReadOnly, false, "--ro-bind"))},
    {"--ro-bind-try", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}},
     Section::Filesystem, "Like --ro-bind, but skip it if SRC does not exist",
     H(bind_op(p, a, BindOp::Mode::ReadOnly, true, "--ro-bind-try"))},
    {"--remount-ro", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Make the mount at DEST read-only",
     H(p.spec.fs.emplace_back(RemountRoOp{Parser::dest_path(a[0])}))},
    {"--proc", {{"DEST", ArgKind::Path}}, Section::Filesystem, "Mount a new procfs on DEST",
     H(p.spec.fs.emplace_back(ProcOp{Parser::dest_path(a[0])}))},
    {"--dev", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Mount a minimal private /dev on DEST (null, zero, full, random, urandom, tty, pts, shm)",
     H(p.spec.fs.emplace_back(DevOp{Parser::dest_path(a[0])}))},
    {"--tmpfs", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Mount a new tmpfs on DEST (mode from --perms, size from --size)", H({
       p.spec.fs.emplace_back(TmpfsOp{Parser::dest_path(a[0]), p.take_perms(), p.take_size()});
     }), {.takes_perms = true, .takes_size = true}},
    {"--mqueue", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Mount a new mqueue filesystem on DEST (use with --unshare-ipc)",
     H(p.spec.fs.emplace_back(MqueueOp{Parser::dest_path(a[0])}))},
    {"--dir", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Create a directory at DEST (mode from --perms, default 0755)",
     H(p.spec.fs.emplace_back(DirOp{Parser::dest_path(a[0]), p.take_perms()})), {.takes_perms = true}},
    {"--symlink", {{"TARGET", ArgKind::Text}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Create a symlink at DEST pointing to TARGET",
     H(p.spec.fs.emplace_back(SymlinkOp{a[0], Parser::dest_path(a[1])}))},
    {"--chmod", {{"OCTAL", ArgKind::Octal}, {"PATH", ArgKind::Path}}, Section::Filesystem,
     "Change the permissions of PATH inside the sandbox", H({
       auto m = parse::octal_mode(a[0]);
       if (!m) throw Error("--chmod: '" + a[0] + "' is not an octal mode (0000 to 7777)");
       p.spec.fs.emplace_back(ChmodOp{*m, Parser::dest_path(a[1])});
     })},
    {"--file", {{"FD", ArgKind::Number}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Copy the content of FD to a new file DEST (mode 0666 or --perms)",
     H(data_op(p, a, DataOp::Kind::File, "--file")), {.takes_perms = true}},
    {"--bind-data", {{"FD", ArgKind::Number}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Copy the content of FD to a file bind mounted on DEST (mode 0600 or --perms)",
     H(data_op(p, a, DataOp::Kind::BindData, "--bind-data")), {.takes_perms = true}},
    {"--ro-bind-data", {{"FD", ArgKind::Number}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Like --bind-data, mounted read-only",
     H(data_op(p, a, DataOp::Kind::RoBindData, "--ro-bind-data")), {.takes_perms = true}},
    {"--bind-fd", {{"FD", ArgKind::Number}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Bind mount the file or directory open as FD (e.g. O_PATH) on DEST",
     H(bind_fd_op(p, a, BindOp::Mode::ReadWrite, "--bind-fd"))},
    {"--ro-bind-fd", {{"FD", ArgKind::Number}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Like --bind-fd, read-only including every submount",
     H(bind_fd_op(p, a, BindOp::Mode::ReadOnly, "--ro-bind-fd"))},
    {"--overlay-src", {{"SRC", ArgKind::HostPath}}, Section::Filesystem,
     "Add a lower layer for the next --overlay, --tmp-overlay or --ro-overlay",
     H(p.overlay_sources.push_back(p.source_path(a[0]))), {.overlay = true}},
    {"--overlay", {{"RWSRC", ArgKind::HostPath}, {"WORKDIR", ArgKind::HostPath}, {"DEST", ArgKind::Path}},
     Section::Filesystem,
     "Mount an overlay of the --overlay-src layers on DEST; writes go to RWSRC (WORKDIR: an empty dir on the same filesystem)",
     H(overlay_op(p, OverlayOp{OverlayOp::Kind::ReadWrite, {}, p.source_path(a[0]),
                               p.source_path(a[1]), Parser::dest_path(a[2])},
                  1, "--overlay")), {.overlay = true}},
    {"--tmp-overlay", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Mount an overlay of the --overlay-src layers on DEST; writes go to an invisible tmpfs",
     H(overlay_op(p, OverlayOp{OverlayOp::Kind::Tmp, {}, {}, {}, Parser::dest_path(a[0])}, 1,
                  "--tmp-overlay")), {.overlay = true}},
    {"--ro-overlay", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Mount a read-only overlay of the --overlay-src layers (at least two) on DEST",
     H(overlay_op(p, OverlayOp{OverlayOp::Kind::ReadOnly, {}, {}, {}, Parser::dest_path(a[0])}, 2,
                  "--ro-overlay")), {.overlay = true}},
    {"--perms", {{"OCTAL", ArgKind::Octal}}, Section::Filesystem,
     "Permissions for the next --dir, --tmpfs, --file, --bind-data or --ro-bind-data", H({
       if (p.next_perms) throw Error("--perms given twice for the same operation");
       auto m = parse::octal_mode(a[0]);
       if (!m) throw Error("--perms: '" + a[0] + "' is not an octal mode (0000 to 7777)");
       p.next_perms = *m;
     }), {.modifier = true}},
    {"--size", {{"BYTES", ArgKind::Bytes}}, Section::Filesystem,
     "Size limit of the next --tmpfs, in bytes (K, M, G, T suffixes allowed)", H({
       if (p.next_size) throw Error("--size given twice for the same operation");
       auto n = parse::byte_size(a[0]);
       if (!n) throw Error("--size: '" + a[0] + "' is not a positive size in bytes");
       // bwrap's limit and words: tmpfs sizes are a size_t, and the kernel's own
       // arithmetic on them must not overflow.
       if (*n > SIZE_MAX / 2)
         throw Error("--size (for tmpfs) is limited to " + std::to_string(SIZE_MAX / 2));
       p.next_size = *n;
     }), {.modifier = true}},

    // ---- Process ----
    {"--chdir", {{"DIR", ArgKind::Dir}}, Section::Process,
     "Working directory inside (default: the current one if it exists inside, else $HOME, else /)", H({
       if (p.spec.chdir) warn_only_last(p, "--chdir");
       p.spec.chdir = a[0];
     })},
    {"--setenv", {{"VAR", ArgKind::Text}, {"VALUE", ArgKind::Text}}, Section::Process,
     "Set an environment variable", H({
       check_env_name("--setenv", a[0]);
       p.spec.env.push_back({EnvEdit::Kind::Set, a[0], a[1]});
     })},
    {"--unsetenv", {{"VAR", ArgKind::Text}}, Section::Process, "Unset an environment variable",
     H({
       check_env_name("--unsetenv", a[0]);
       p.spec.env.push_back({EnvEdit::Kind::Unset, a[0], {}});
     })},
    {"--clearenv", {}, Section::Process,
     "Unset every environment variable except PWD and those set after it",
     H(p.spec.env.push_back({EnvEdit::Kind::Clear, {}, {}}))},
    {"--argv0", {{"VALUE", ArgKind::Text}}, Section::Process,
     "Set argv[0] of the command to VALUE", H(p.spec.argv0 = a[0])},
    {"--new-session", {}, Section::Process,
     "Run the command in a new terminal session (protects the caller's tty from TIOCSTI)",
     H(p.spec.new_session = true)},
    {"--die-with-parent", {}, Section::Process,
     "Kill the command when the process that started sandbox dies",
     H(p.spec.die_with_parent = true)},
    {"--as-pid-1", {}, Section::Process,
     "Run the command as pid 1 of the PID namespace, without an init (needs --unshare-pid)",
     H(p.spec.as_pid_1 = true)},
    {"--lock-file", {{"DEST", ArgKind::Path}}, Section::Process,
     "Hold a read lock on DEST (inside) while the sandbox runs",
     H(p.spec.lock_files.push_back(Parser::dest_path(a[0])))},
    {"--sync-fd", {{"FD", ArgKind::Number}}, Section::Process,
     "Keep FD open for as long as the sandbox runs",
     H(set_once(p.spec.sync_fd, p, "--sync-fd", a[0], FdRole::Sync))},
    {"--block-fd", {{"FD", ArgKind::Number}}, Section::Process,
     "Wait until data (or EOF) can be read from FD before running the command",
     H(set_once(p.spec.block_fd, p, "--block-fd", a[0], FdRole::Block))},
    {"--info-fd", {{"FD", ArgKind::Number}}, Section::Process,
     "Write a JSON object with child-pid and the namespace ids to FD when the command starts",
     H(set_once(p.spec.info_fd, p, "--info-fd", a[0], FdRole::Info))},
    {"--json-status-fd", {{"FD", ArgKind::Number}}, Section::Process,
     "Write JSON lines to FD: child-pid and namespace ids at start, exit-code (and the limit that ended it) at the end",
     H(set_once(p.spec.json_status_fd, p, "--json-status-fd", a[0], FdRole::JsonStatus))},
    {"--audit-fd", {{"FD", ArgKind::Number}}, Section::Process,
     "Write a JSON line to FD for each call the --seccomp-profile denies (seccomp user notification: name, number, arguments, pid, errno), each DNS name --allow-net refuses (name, type, answer) and each connection it rejects (address, port, protocol), rate-limited, and a summary line at the end; needs --seccomp-profile or --allow-net",
     H(set_once(p.spec.audit_fd, p, "--audit-fd", a[0], FdRole::Audit))},
    {"--audit-mode", {{"required|best-effort", ArgKind::Name, "required best-effort"}}, Section::Process,
     "Whether a kernel without seccomp user notification makes --audit-fd an error before anything runs (required, the default) or a warning, the profile then denying without reporting", H({
       if (a[0] == "required") p.spec.audit_best_effort = false;
       else if (a[0] == "best-effort") p.spec.audit_best_effort = true;
       else throw Error("--audit-mode: '" + a[0] + "' is neither 'required' nor 'best-effort'");
     })},
    {"--seccomp", {{"FD", ArgKind::Number}}, Section::Process,
     "Load the compiled seccomp BPF program read from FD (once; not with --add-seccomp-fd)", H({
       if (p.spec.seccomp_fd_option) throw Error("--seccomp given twice; use --add-seccomp-fd");
       if (!p.spec.seccomp_fds.empty())
         throw Error("--seccomp cannot be combined with --add-seccomp-fd");
       p.spec.seccomp_fd_option = true;
       p.spec.seccomp_fds.push_back(use_fd(p, "--seccomp", a[0], FdRole::Seccomp));
     })},
    {"--add-seccomp-fd", {{"FD", ArgKind::Number}}, Section::Process,
     "Load another compiled seccomp BPF program from FD; programs stack in order", H({
       if (p.spec.seccomp_fd_option)
         throw Error("--add-seccomp-fd cannot be combined with --seccomp");
       p.spec.seccomp_fds.push_back(use_fd(p, "--add-seccomp-fd", a[0], FdRole::Seccomp));
     })},
    {"--exec-label", {{"LABEL", ArgKind::Text}}, Section::Process,
     "SELinux context for the command (an error on hosts without SELinux)",
     H({
       if (p.spec.exec_label) warn_only_last(p, "--exec-label");
       p.spec.exec_label = a[0];
     })},
    {"--file-label", {{"LABEL", ArgKind::Text}}, Section::Process,
     "SELinux context for files the sandbox creates (an error on hosts without SELinux)",
     H({
       if (p.spec.file_label) warn_only_last(p, "--file-label");
       p.spec.file_label = a[0];
     })},
    {"--cap-add", {{"CAP", ArgKind::Cap}}, Section::Process,
     "Keep capability CAP (name or ALL) in the sandbox",
     H(p.spec.caps.push_back({true, parse_cap("--cap-add", a[0])}))},
    {"--cap-drop", {{"CAP", ArgKind::Cap}}, Section::Process,
     "Drop capability CAP (name or ALL) in the sandbox",
     H(p.spec.caps.push_back({false, parse_cap("--cap-drop", a[0])}))},
    {"--seccomp-profile", {{"NAME|PATH", ArgKind::SeccompProfile}}, Section::Process,
     "Filter syscalls with an OCI/Docker JSON seccomp profile: an installed NAME (default, build, flatpak-like) or a PATH containing '/' (once)",
     H({
       // One profile, like bwrap's --seccomp: further programs stack with --add-seccomp-fd.
       if (!p.spec.seccomp_profiles.empty())
         throw Error("--seccomp-profile given twice (one profile per sandbox; stack compiled "
                     "programs with --add-seccomp-fd)");
       if (a[0].empty()) throw Error("--seccomp-profile: empty profile name");
       p.spec.seccomp_profiles.push_back({a[0], p.spec.seccomp_fds.size()});
     })},
    {"--seccomp-log", {}, Section::Process,
     "Log the calls the --seccomp-profile denies (SCMP_ACT_LOG) instead of denying them, to write profiles",
     H(p.spec.seccomp_log = true)},
    {"--landlock", {}, Section::Process,
     "Confine the command with Landlock to the tree it was given: read where bound read-only, write where bound writable, nothing elsewhere, whatever the path or inherited descriptor; also scopes signals and abstract unix sockets (see --landlock-scope); with --allow-net (ABI 4), TCP connect only to the ports its rules allow and 53",
     H(p.spec.landlock.enabled = true)},
    {"--landlock-mode", {{"required|best-effort", ArgKind::Name, "required best-effort"}}, Section::Process,
     "Implies --landlock. Whether a kernel without Landlock (or below ABI 3, which cannot stop truncate(2) outside the tree) is an error before anything runs (required, the default) or a warning", H({
       p.spec.landlock.enabled = true;
       if (a[0] == "required") p.spec.landlock.best_effort = false;
       else if (a[0] == "best-effort") p.spec.landlock.best_effort = true;
       else throw Error("--landlock-mode: '" + a[0] + "' is neither 'required' nor 'best-effort'");
     })},
    {"--landlock-scope", {{"LIST", ArgKind::Name, "signal abstract-socket signal,abstract-socket none"}}, Section::Process,
     "Implies --landlock. What the command may not reach outside its Landlock domain (ABI 6): signal, abstract-socket (comma-separated) or none; default both where the kernel has them. Without --unshare-net, abstract-socket cuts off the host's abstract sockets (X11, D-Bus) that bwrap leaves reachable", H({
       p.spec.landlock.enabled = true;
       p.spec.landlock.scopes_given = true;
       p.spec.landlock.scope_signal = p.spec.landlock.scope_abstract_unix = false;
       if (a[0] == "none") return;
       size_t i = 0;
       while (i <= a[0].size()) {
         size_t j = a[0].find(',', i);
         if (j == std::string::npos) j = a[0].size();
         std::string w = a[0].substr(i, j - i);
         if (w == "signal") p.spec.landlock.scope_signal = true;
         else if (w == "abstract-socket") p.spec.landlock.scope_abstract_unix = true;
         else throw Error("--landlock-scope: '" + w + "' is not signal, abstract-socket or none");
         i = j + 1;
       }
     })},

    // ---- Resource limits ----
    {"--memory", {{"SIZE", ArgKind::Bytes}}, Section::Limits,
     "Memory limit of the whole sandbox (cgroup memory.max; K, M, G, T suffixes); swap is 0 unless --memory-swap", H({
       auto n = parse::byte_size(a[0]);
       if (!n) throw Error("--memory: '" + a[0] + "' is not a positive size in bytes");
       p.spec.limits.memory = *n;
       p.spec.limits.memory_text = a[0];
     })},
    {"--memory-swap", {{"SIZE", ArgKind::Bytes}}, Section::Limits,
     "Swap the sandbox may use on top of --memory (cgroup memory.swap.max; 0 allowed)", H({
       auto n = a[0] == "0" ? std::optional<uint64_t>(0) : parse::byte_size(a[0]);
       if (!n) throw Error("--memory-swap: '" + a[0] + "' is not a size in bytes");
       p.spec.limits.memory_swap = *n;
     })},
    {"--pids", {{"N", ArgKind::Number}}, Section::Limits,
     "Maximum number of processes and threads in the sandbox (cgroup pids.max)", H({
       auto n = parse::unsigned_dec(a[0], UINT32_MAX);
       if (!n || *n == 0) throw Error("--pids: '" + a[0] + "' is not a positive number");
       p.spec.limits.pids = *n;
       p.spec.limits.pids_text = a[0];
     })},
    {"--cpus", {{"FLOAT", ArgKind::Text}}, Section::Limits,
     "CPU time the sandbox may use, in CPUs (e.g. 0.5; cgroup cpu.max quota per 100 ms)", H({
       auto q = limits::parse_cpus_quota_us(a[0]);
       if (!q) throw Error("--cpus: '" + a[0] + "' is not a number of CPUs (0.01 or more)");
       p.spec.limits.cpu_quota_us = *q;
       p.spec.limits.cpus_text = a[0];
     })},
    {"--cpu-weight", {{"N", ArgKind::Number}}, Section::Limits,
     "Relative CPU share, 1 to 10000, default 100 (cgroup cpu.weight; cpu.shares on v1)",
     H(p.spec.limits.cpu_weight = parse_weight("--cpu-weight", a[0]))},
    {"--io-weight", {{"N", ArgKind::Number}}, Section::Limits,
     "Relative I/O share, 1 to 10000, default 100 (cgroup io.weight; blkio.weight on v1)",
     H(p.spec.limits.io_weight = parse_weight("--io-weight", a[0]))},
    {"--cgroup-parent", {{"PATH", ArgKind::Path}}, Section::Limits,
     "Create the sandbox's cgroup under this cgroup (a path as in /proc/self/cgroup, or under the cgroup mount) instead of the caller's", H({
       if (a[0].empty() || a[0][0] != '/')
         throw Error("--cgroup-parent: '" + a[0] + "' must be an absolute path");
       if (a[0].find("/..") != std::string::npos || a[0].find("/./") != std::string::npos)
         throw Error("--cgroup-parent: '" + a[0] + "' must not contain . or .. components");
       p.spec.limits.cgroup_parent = a[0];
     })},
    {"--rlimit", {{"NAME=SOFT[:HARD]", ArgKind::Text,
                   "as= core= cpu= data= fsize= locks= memlock= msgqueue= nice= nofile= nproc= "
                   "rss= rtprio= rttime= sigpending= stack="}}, Section::Limits,
     "Set a resource limit for the command (prlimit(1) names: nofile, nproc, core, as, cpu...; the byte limits take K, M, G, T suffixes; 'unlimited' allowed; SOFT alone sets both)", H({
       RlimitSetting r = limits::parse_rlimit(a[0]);
       auto& rl = p.spec.limits.rlimits;
       std::erase_if(rl, [&](const RlimitSetting& o) { return o.resource == r.resource; });
       rl.push_back(r);
     })},
    {"--timeout", {{"DURATION", ArgKind::Text}}, Section::Limits,
     "Kill the whole sandbox after DURATION (e.g. 30s, 5m, 1.5h; a bare number is seconds): SIGTERM, SIGKILL 2 s later; exit status 124. Needs --unshare-pid", H({
       auto ms = limits::parse_duration_ms(a[0]);
       if (!ms) throw Error("--timeout: '" + a[0] + "' is not a duration (e.g. 30s, 5m, 1h, 500ms)");
       p.spec.limits.timeout_ms = *ms;
       // A bare number is seconds: say so wherever the value is reported back.
       p.spec.limits.timeout_text =
           std::isdigit(static_cast<unsigned char>(a[0].back())) ? a[0] + "s" : a[0];
     })},
    {"--limits", {{"required|best-effort", ArgKind::Name, "required best-effort"}}, Section::Limits,
     "Whether a cgroup limit that cannot be enforced here is an error before anything runs (required, the default) or a warning. As root without --unshare-user, limits and --timeout need --cap-drop ALL, --unshare-pid and no host /proc in the new root", H({
       if (a[0] == "required") p.spec.limits.best_effort = false;
       else if (a[0] == "best-effort") p.spec.limits.best_effort = true;
       else throw Error("--limits: '" + a[0] + "' is neither 'required' nor 'best-effort'");
     })},
};
#undef H

// bwrap's words, which its callers and tests match.
constexpr const char* kOverlaySrcFollow =
    "--overlay-src must be followed by another --overlay-src or one of --overlay, "
    "--tmp-overlay, or --ro-overlay";

std::string arg_list(const OptionDef& o) {
  std::string s;
  for (const auto& a : o.args) {
    if (!s.empty()) s += ' ';
    s += a.name;
  }
  return s;
}

}  // namespace

std::string_view section_title(Section s) {
  switch (s) {
    case Section::General: return "General";
    case Section::Namespaces: return "Namespaces";
    case Section::Filesystem: return "Filesystem (applied in command-line order)";
    case Section::Process: return "Process";
    case Section::Limits: return "Resource limits";
  }
  return "";
}

const std::vector<OptionDef>& option_table() { return kTable; }

const std::vector<SubcommandDef>& subcommands() {
  static const std::vector<SubcommandDef> s = {
      {"doctor", "", "Check what this host allows, one line each, and how to fix it"},
      {"seccomp-compile", "PROFILE [--arch ARCH]... [--cap-add CAP]... [--pfc]",
       "Compile a seccomp profile to BPF for --seccomp FD"},
  };
  return s;
}

const OptionDef* find_option(std::string_view name) {
  for (const auto& o : kTable)
    if (o.name == name) return &o;
  return nullptr;
}

std::string Parser::source_path(const std::string& p) const {
  if (p.empty()) throw Error("Empty source path");
  if (p[0] == '/') return p;
  return (cwd == "/" ? std::string() : cwd) + "/" + p;
}

std::string Parser::dest_path(const std::string& p) {
  if (p.empty()) throw Error("Empty destination path");
  // Like bwrap, destinations are always relative to the new root.
  return p[0] == '/' ? p : "/" + p;
}

std::vector<std::string> Parser::split_args(const std::string& data, int fd) {
  if (!data.empty() && data.back() != '\0')
    throw Error("--args: the data on fd " + std::to_string(fd) +
                " does not end with a NUL byte");
  std::vector<std::string> out;
  size_t start = 0;
  while (start < data.size()) {
    size_t end = data.find('\0', start);
    out.emplace_back(data, start, end - start);
    start = end + 1;
  }
  return out;
}

std::string SystemParseEnv::cwd() {
  if (char buf[PATH_MAX]; ::getcwd(buf, sizeof buf)) return buf;
  return "/";
}

std::string SystemParseEnv::read_args_fd(int fd) {
  // Same words as planning's check of the other descriptors (plan/fds.hpp).
  if (::fcntl(fd, F_GETFD) < 0)
    throw Error("Invalid fd: " + std::to_string(fd) + "\n--args: " + std::to_string(fd) +
                " is not an open file descriptor");
  std::string data;
  if (int err = io::read_all(fd, data, Parser::kMaxArgsBytes))
    throw SysError("--args: can't read fd " + std::to_string(fd), err);
  if (data.size() > Parser::kMaxArgsBytes)
    throw Error("--args: more than " + std::to_string(Parser::kMaxArgsBytes >> 20) +
                " MiB of arguments on fd " + std::to_string(fd));
  return data;
}

std::vector<std::string> SystemParseEnv::profile_args(
    const std::string& name_or_path, const std::string& cwd,
    const std::function<void(const std::string&)>& warn) {
  return load_profile(find_profile(name_or_path), profile_vars(cwd), warn);
}

void SystemParseEnv::warning(const std::string& msg, bool level_prefix) {
  log::set_level_prefix(level_prefix);  // as given so far on the command line
  log::warning(msg);
}

namespace {

ParseResult parse_args(const std::vector<std::string>& argv, Parser& p) {
  ParseResult r;
  p.cwd = p.env.cwd();

  // --args splices arguments in place; depth[i] counts how many --args produced args[i].
  std::vector<std::string> args = argv;
  std::vector<int> depth(args.size(), 0);
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || arg[0] != '-') break;  // the command starts here
    const OptionDef* o = find_option(arg);
    if (!o) {
      std::vector<std::string> names;
      for (const auto& d : kTable) names.emplace_back(d.name);
      throw Error("Unknown option " + arg + suggest::did_you_mean(arg, names));
    }
    if (args.size() - i - 1 < o->args.size())
      throw Error(std::string(o->name) + " takes " + std::to_string(o->args.size()) +
                  (o->args.size() == 1 ? " argument" : " arguments") + " (" + arg_list(*o) +
                  ")");
    std::vector<std::string> vals(args.begin() + static_cast<long>(i) + 1,
                                  args.begin() + static_cast<long>(i + 1 + o->args.size()));
    const OptionTraits& t = o->traits;
    const bool splice = t.splice != Splice::None;
    // A pending --perms/--size waits for the operation it modifies; options that are not
    // operations of the sandbox (splices, --print-args) do not take it.
    if (!t.modifier && !splice && t.recorded) {
      if (p.next_perms && !t.takes_perms)
        throw Error("--perms must be followed by --dir, --tmpfs, --file, --bind-data or "
                    "--ro-bind-data, not " + arg);
      if (p.next_size && !t.takes_size)
        throw Error("--size must be followed by --tmpfs, not " + arg);
    }
    if (!p.overlay_sources.empty() && !t.overlay && !splice)
      throw Error(std::string(kOverlaySrcFollow) + "\n(not by " + arg + ")");
    if (splice && depth[i] >= Parser::kMaxArgsDepth)
      throw Error(std::string(o->name) + " nested more than " +
                  std::to_string(Parser::kMaxArgsDepth) + " levels deep");
    o->handler(p, vals);
    if (p.action == Action::Help || p.action == Action::Version ||
        p.action == Action::ListProfiles)
      break;  // the rest of the command line is not looked at, as with bwrap
    if (!splice && t.recorded) {
      r.expanded_args.push_back(arg);
      r.expanded_args.insert(r.expanded_args.end(), vals.begin(), vals.end());
    }
    size_t next = i + 1 + o->args.size();
    if (p.spliced) {
      p.spliced = false;
      int d = depth[i] + 1;
      args.insert(args.begin() + static_cast<long>(next), p.splice.begin(), p.splice.end());
      depth.insert(depth.begin() + static_cast<long>(next), p.splice.size(), d);
      p.splice.clear();
    }
    i = next - 1;
  }
  r.action = p.action;
  r.verbose = p.verbose;
  r.level_prefix = p.level_prefix;
  if (r.action == Action::Help || r.action == Action::Version ||
      r.action == Action::ListProfiles) {
    r.spec = std::move(p.spec);
    return r;
  }
  if (p.next_perms)
    throw Error("--perms must be followed by --dir, --tmpfs, --file, --bind-data or --ro-bind-data");
  if (p.next_size) throw Error("--size must be followed by --tmpfs");
  if (!p.overlay_sources.empty())
    throw Error(kOverlaySrcFollow);
  p.spec.command.assign(args.begin() + static_cast<long>(std::min(i, args.size())), args.end());
  r.spec = std::move(p.spec);
  return r;
}

}  // namespace

ParseResult parse(const std::vector<std::string>& argv, ParseEnv& env) {
  Parser p(env);
  try {
    return parse_args(argv, p);
  } catch (const ParseError&) {
    throw;
  } catch (const Error& e) {
    throw ParseError(e.what(), p.level_prefix);
  }
}

std::string version_text(std::string_view program_name) {
  std::string ours = std::string("sandbox ") + SANDBOX_VERSION + "\n";
  if (program_name != "bwrap") return ours;
  return "bubblewrap " + std::string(kBwrapCompatVersion) + "\n" + ours;
}

std::string usage_text(std::string_view prog) {
  std::string s = "usage: " + std::string(prog) + " [OPTIONS...] [--] COMMAND [ARGS...]\n";
  for (const auto& c : subcommands()) {
    std::string line = "       " + std::string(prog) + " " + std::string(c.name);
    if (!c.synopsis.empty()) line += " " + std::string(c.synopsis);
    s += line + "\n";
  }
  s += "\nRun COMMAND in a new root built from the filesystem options, in new namespaces,\n"
       "with no_new_privs and no capabilities (a root caller keeps its own unless\n"
       "--cap-drop ALL, as with bwrap). Works without root.\n";
  s += "\nCommands (each has --help):\n";
  for (const auto& c : subcommands()) {
    std::string left = "  " + std::string(c.name);
    left.resize(30, ' ');
    s += left + std::string(c.help) + "\n";
  }
  for (Section sec : {Section::General, Section::Namespaces, Section::Filesystem,
                      Section::Process, Section::Limits}) {
    s += "\n";
    s += section_title(sec);
    s += ":\n";
    for (const auto& o : kTable) {
      if (o.section != sec) continue;
      std::string left = "  " + std::string(o.name);
      if (!o.args.empty()) left += " " + arg_list(o);
      if (left.size() < 30) left.resize(30, ' ');
      else left += "\n" + std::string(30, ' ');
      s += left;
      s += o.help;
      s += "\n";
    }
  }
  return s;
}

}  // namespace sb::cli
