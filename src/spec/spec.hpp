// Spec: what the caller asked for, as plain data. The parser (cli/) fills it from argv in
// command-line order; planning (plan/) turns it into a Plan; launch/ only reads it. It owns
// nothing: descriptors appear as numbers, owned by the Plan (plan/fds.hpp).
// Depends on util/ only.
#pragma once
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace sb {

// ---- Filesystem operations, applied in command-line order into the new root. ----
struct BindOp {
  enum class Mode { ReadWrite, ReadOnly, Devices };
  std::string source;  // absolute host path (relative paths are made absolute at parse time)
  std::string dest;    // absolute path inside the sandbox
  Mode mode = Mode::ReadWrite;
  bool allow_missing = false;  // the -try variants
  std::string option;          // the option that asked for it, for diagnostics
  int source_fd = -1;          // --bind-fd/--ro-bind-fd: bind exactly this inode, never a path
  bool noexec = false;         // OCI mounts' "noexec" (no option of ours sets it)
};
// --file / --bind-data / --ro-bind-data: the content of FD becomes a file at DEST.
struct DataOp {
  enum class Kind { File, BindData, RoBindData } kind = Kind::File;
  int fd = -1;
  std::string dest;
  std::optional<unsigned> perms;  // default 0666 for --file, 0600 for the bind variants
  // Internal (--net's /etc/resolv.conf): skipped when DEST's parent does not exist in the
  // new root; a failure to mount it is a warning, not an error.
  bool best_effort = false;
};
// --overlay, --tmp-overlay, --ro-overlay with the --overlay-src layers before them.
struct OverlayOp {
  enum class Kind { ReadWrite, Tmp, ReadOnly } kind = Kind::ReadWrite;
  std::vector<std::string> lowers;  // host paths, top layer last (as given)
  std::string upper;                // host path (ReadWrite only)
  std::string work;                 // host path (ReadWrite only)
  std::string dest;
};
struct RemountRoOp { std::string dest; };
struct ProcOp { std::string dest; };
struct DevOp {
  std::string dest;
  std::optional<uint64_t> size;  // OCI's size= on a /dev tmpfs (no option of ours sets it)
  bool noexec = false;           // OCI's noexec on it
};
struct MqueueOp { std::string dest; };
struct TmpfsOp {
  std::string dest;
  std::optional<unsigned> perms;  // default 0755
  std::optional<uint64_t> size;   // bytes; default: tmpfs default
  bool noexec = false;            // OCI mounts' "noexec" (no option of ours sets it)
  // OCI's "tmpcopyup" (runc/crun): what the directory held is copied into the new tmpfs,
  // whose root takes the directory's owner (and mode, unless perms is given).
  bool copy_up = false;
};
struct DirOp {
  std::string dest;
  std::optional<unsigned> perms;  // default 0755
};
struct SymlinkOp {
  std::string target;
  std::string dest;
};
struct ChmodOp {
  unsigned mode = 0;
  std::string path;
};
// OCI's linux.readonlyPaths / maskedPaths (no option of ours): DEST, where it exists in the
// new root, is bound onto itself read-only, or hidden (an empty read-only tmpfs on a
// directory, /dev/null on anything else). Skipped when DEST does not exist.
struct CoverOp {
  enum class Kind { ReadOnly, Mask } kind = Kind::ReadOnly;
  std::string dest;
};
using FsOp = std::variant<BindOp, RemountRoOp, ProcOp, DevOp, MqueueOp, TmpfsOp, DirOp, SymlinkOp,
                          ChmodOp, DataOp, OverlayOp, CoverOp>;

// Destination of any op (for diagnostics and validation).
const std::string& fs_op_dest(const FsOp& op);

// ---- Environment edits, applied in order to a copy of the caller's environment. ----
struct EnvEdit {
  enum class Kind { Set, Unset, Clear } kind;
  std::string name;
  std::string value;
};
// The namespace a sysctl belongs to (by the kernel's rules: the settings it keeps per
// namespace), None for one that is system-wide and so never to be set for a sandbox.
enum class SysctlNs { None, Net, Ipc, Uts };
SysctlNs sysctl_namespace(const std::string& key);
// True for a key that names a file under /proc/sys and nothing else: dot-separated
// components of [A-Za-z0-9_-] (no '/', no "..", no empty component).
bool valid_sysctl_key(const std::string& key);

std::vector<std::string> apply_env(const std::vector<std::string>& environ_in,
                                   const std::vector<EnvEdit>& edits);

// ---- Capability edits (--cap-add / --cap-drop), in order; cap == -1 means ALL. ----
struct CapEdit {
  bool add = false;
  int cap = -1;
};

// ---- A seccomp profile (--seccomp-profile), found and compiled by planning. ----
struct SeccompProfileSource {
  std::string name;      // NAME or PATH as given
  size_t after_fds = 0;  // --seccomp/--add-seccomp-fd programs before it: programs stack in
                         // command-line order
};

// ---- Descriptors named by number on the command line. ----
// What an option does with the descriptor it names. Planning takes each one over
// (plan/fds.hpp) and decides which process keeps it.
enum class FdRole {
  Args,         // --args: read while parsing
  Info,         // --info-fd: written by the supervisor once
  JsonStatus,   // --json-status-fd: written by the supervisor
  Audit,        // --audit-fd: JSON lines written by the supervisor
  Sync,         // --sync-fd: held open for the sandbox's lifetime, never read
  Block,        // --block-fd: waited on by the child
  UsernsBlock,  // --userns-block-fd: waited on by the child
  Userns,       // --userns: entered by the supervisor
  Userns2,      // --userns2: entered by the child
  Pidns,        // --pidns: entered by the supervisor
  JoinNs,       // Spec::join_ns (the OCI runtime): entered by the supervisor
  Seccomp,      // --seccomp / --add-seccomp-fd: read by planning
  Data,         // --file / --bind-data / --ro-bind-data: copied by the child
  BindSource,   // --bind-fd / --ro-bind-fd: mounted by the child
  Console,      // the OCI runtime's --console-socket: the child sends its pty's master on it
};
struct FdUse {
  int fd = -1;
  std::string option;  // "--info-fd", for diagnostics
  FdRole role = FdRole::Data;
  bool operator==(const FdUse&) const = default;
};

// ---- Networking (--net, --publish, --subnet; src/net/). ----
// Default: the host's network, or loopback only when a network namespace is requested.
// User: pasta if installed, else slirp4netns (resolved by validate()).
enum class NetMode { Default, None, Host, Pasta, Slirp4netns, Veth, User };
// --publish [HOSTADDR:]HOSTPORT:SANDBOXPORT[/tcp|/udp]
struct PortForward {
  std::string host_addr = "127.0.0.1";  // IPv4 dotted quad or IPv6 (no brackets)
  uint16_t host_port = 0;
  uint16_t sandbox_port = 0;
  bool udp = false;
  std::string text;  // as given, for diagnostics
};
// --subnet CIDR (IPv4), host byte order, host bits zero.
struct Ipv4Subnet {
  uint32_t network = 0;
  unsigned prefix = 0;
};

// --allow-net HOST[:PORT[-PORT]] (src/net/egress): one destination the sandbox may reach.
struct NetAllow {
  // None: "--allow-net none", the policy on with nothing allowed (later rules add to it).
  enum class Kind { Name, Ipv4, Ipv6, None };
  Kind kind = Kind::Ipv4;
  std::string name;                 // Name: lower case, no trailing dot
  bool wildcard = false;            // Name given as "*.NAME": NAME's subdomains (not NAME)
  std::array<uint8_t, 16> addr{};   // Ipv4/Ipv6: network byte order (Ipv4: first 4 bytes)
  unsigned prefix = 0;              // Ipv4/Ipv6: prefix length (32/128: one address)
  uint16_t port_lo = 0, port_hi = 0;  // 0, 0: every port
  std::string text;                 // as given, for diagnostics
  bool any_port() const { return port_lo == 0; }
};

// ---- Resource limits (--memory, --pids, --cpus, --rlimit, --timeout...; src/limits/). ----
// --rlimit NAME=SOFT[:HARD]; kUnlimited stands for "unlimited" (RLIM_INFINITY).
struct RlimitSetting {
  int resource = -1;  // RLIMIT_*
  std::string name;   // as prlimit(1) spells it: "nofile"
  uint64_t soft = 0;
  uint64_t hard = 0;
  std::string text;   // as given, for diagnostics
};
struct Limits {
  static constexpr uint64_t kUnlimited = ~0ULL;
  static constexpr uint64_t kCpuPeriodUs = 100000;  // cpu.max period for --cpus
  std::optional<uint64_t> memory;       // bytes: memory.max / memory.limit_in_bytes
  std::optional<uint64_t> memory_swap;  // bytes of swap on top of --memory (default 0 with it)
  std::optional<uint64_t> pids;         // pids.max
  std::optional<uint64_t> cpu_quota_us; // per kCpuPeriodUs, from --cpus
  std::optional<uint64_t> cpu_weight;   // 1..10000 (cpu.weight; cpu.shares on v1)
  std::optional<uint64_t> io_weight;    // 1..10000 (io.weight; blkio.weight on v1)
  std::optional<std::string> cgroup_parent;  // --cgroup-parent, as given
  std::vector<RlimitSetting> rlimits;   // in command-line order (a later one for the same
                                        // resource replaces the earlier)
  std::optional<uint64_t> timeout_ms;
  bool best_effort = false;             // --limits best-effort
  // Values as the user wrote them, for messages ("memory limit 64M reached").
  std::string memory_text, pids_text, cpus_text, timeout_text;
  // True when any limit needs a cgroup.
  bool wants_cgroup() const {
    return memory || memory_swap || pids || cpu_quota_us || cpu_weight || io_weight;
  }
};

// ---- Landlock (--landlock, --landlock-mode, --landlock-scope; src/security/landlock). ----
struct LandlockRequest {
  bool enabled = false;
  bool best_effort = false;        // --landlock-mode best-effort
  bool scopes_given = false;       // --landlock-scope given: the scopes were asked for by name
  bool scope_signal = true;        // LANDLOCK_SCOPE_SIGNAL
  bool scope_abstract_unix = true; // LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
};

// ---- Id maps the sandbox cannot write for itself (OCI's linux.uidMappings/gidMappings with
// more than the caller's own id): written from outside by the supervisor where it holds
// CAP_SETUID/CAP_SETGID, else by Debian's newuidmap/newgidmap (ns/userns.hpp). ----
struct IdRange {
  uint32_t inside = 0;   // first id in the sandbox (OCI's containerID)
  uint32_t outside = 0;  // first id outside (hostID)
  uint32_t count = 0;    // how many (size)
  bool operator==(const IdRange&) const = default;
};
struct IdMapRequest {
  std::vector<IdRange> uids, gids;  // both or neither (planning checks)
  std::string uid_origin = "uid map", gid_origin = "gid map";  // for errors: "linux.uidMappings"
  bool empty() const { return uids.empty() && gids.empty(); }
};

// Synchronisation points for a program that embeds the launch (the OCI runtime's hooks,
// src/oci/hooks.hpp); the command line sets none. Unset, setup runs straight through.
struct SetupHooks {
  // What before_pivot is given: the child's pid (host's), descriptors of its user and mount
  // namespaces (the supervisor's, closed after the call) and where the caller's root is in
  // that mount namespace at this point (the staging root holds it below the new root).
  struct PivotPoint {
    pid_t child = -1;
    int userns = -1;
    int mntns = -1;
    std::string host_root;
  };
  // In the supervisor, once the child's namespaces exist and every mount of its new root is
  // made, right before its pivot_root (the child waits for the answer). Returns text that
  // before_exec receives; throws to fail setup (the error is the sandbox's).
  std::function<std::string(const PivotPoint&)> before_pivot;
  // In the child, inside the new root, after --block-fd released it and before its
  // privileges are settled for the command; throws to fail setup.
  std::function<void(const std::string& from_before_pivot)> before_exec;
};

struct Spec {
  // Namespaces.
  bool unshare_user = false;
  bool unshare_user_try = false;
  bool unshare_ipc = false;
  bool unshare_pid = false;
  bool unshare_net = false;
  bool unshare_uts = false;
  bool unshare_cgroup = false;
  bool unshare_cgroup_try = false;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  IdMapRequest id_maps;  // non-empty: written from outside, replacing the single-id maps
  // uid/gid (and groups) taken by the command without a new user namespace, by a caller
  // with CAP_SETUID and CAP_SETGID (root, or uid 0 of an engine's user namespace: OCI's
  // process.user for a container in the caller's user namespace). Switched after the
  // root is built, right before the command's capabilities are set (as runc does).
  bool set_ids_in_place = false;
  // Supplementary groups inside (OCI's process.user.additionalGids): set with setgroups,
  // which a user namespace allows only when its gid map was written from outside.
  std::optional<std::vector<gid_t>> groups;
  std::string groups_origin = "supplementary groups";
  std::optional<std::string> hostname;
  // Namespaced sysctls (OCI's linux.sysctl), "net.ipv4.ping_group_range" -> "0 0", in
  // order: written in the new namespaces before the command runs (ns/sysctl.hpp).
  std::vector<std::pair<std::string, std::string>> sysctls;
  NetMode net = NetMode::Default;     // --net (unshare_net says whether a namespace is made)
  std::vector<PortForward> publish;   // --publish, in order
  std::optional<Ipv4Subnet> subnet;   // --subnet (veth)
  bool net_host_loopback = false;     // --net-host-loopback (pasta, slirp4netns)
  std::vector<NetAllow> allow_net;    // --allow-net, in order (any: outbound is denied but these)

  // New root.
  std::vector<FsOp> fs;

  // Process.
  std::vector<EnvEdit> env;
  std::optional<std::string> chdir;
  std::optional<mode_t> umask;  // OCI's process.user.umask; default: the caller's
  std::optional<std::string> argv0;
  bool new_session = false;
  bool die_with_parent = false;
  bool as_pid_1 = false;
  std::vector<std::string> lock_files;
  std::vector<CapEdit> caps;
  Limits limits;
  LandlockRequest landlock;

  // Descriptors (the desktop-sandbox protocol): the number each option named (the last
  // one, for options that hold one value). Every use of a descriptor, in command-line
  // order, is in `fds`, from which planning takes them over.
  std::optional<int> info_fd;
  std::optional<int> json_status_fd;
  std::optional<int> audit_fd;  // --audit-fd: one JSON line per denied action
  bool audit_best_effort = false;  // --audit-mode best-effort
  std::optional<int> sync_fd;
  std::optional<int> block_fd;
  // With block_fd (OCI `create`): the command is looked up (PATH of its environment) before
  // waiting, and one that is missing or not executable fails the setup there, as runc and
  // crun fail `create`, rather than after the release.
  bool resolve_command_before_block = false;
  std::optional<int> userns_block_fd;
  std::optional<int> userns_fd;
  std::optional<int> userns2_fd;
  std::optional<int> pidns_fd;
  // A terminal for the command (OCI process.terminal): a connected unix socket over which
  // the process that becomes the command, in its final mount namespace, sends the master
  // of a pty it opens on the sandbox's own devpts; the slave becomes its controlling
  // terminal and stdio. The window size applies when both are non-zero.
  std::optional<int> console_fd;
  unsigned console_rows = 0;
  unsigned console_cols = 0;
  // Namespaces joined by descriptor besides --userns/--pidns: the OCI runtime's
  // linux.namespaces[i].path for network, ipc, uts and cgroup. Entered by the supervisor
  // before the clone, so that the command is in them and the clone creates none of these
  // types; the runtime checked each descriptor's type (NS_GET_NSTYPE).
  struct NsJoin {
    int fd = -1;
    int type = 0;      // CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS or CLONE_NEWCGROUP
    std::string what;  // for errors: "linux.namespaces[1].path"
    bool operator==(const NsJoin&) const = default;
  };
  std::vector<NsJoin> join_ns;
  bool joins(int type) const {
    for (const auto& j : join_ns)
      if (j.type == type) return true;
    return false;
  }
  bool disable_userns = false;
  bool assert_userns_disabled = false;
  std::vector<int> seccomp_fds;  // --seccomp / --add-seccomp-fd, in order
  bool seccomp_fd_option = false;  // --seccomp (not repeatable, not with --add-seccomp-fd)
  std::vector<SeccompProfileSource> seccomp_profiles;  // --seccomp-profile (at most one)
  bool seccomp_log = false;  // --seccomp-log: denials become SCMP_ACT_LOG
  std::optional<std::string> exec_label;
  std::optional<std::string> file_label;
  std::vector<FdUse> fds;

  std::vector<std::string> command;  // argv of the command; [0] is what is executed

  SetupHooks setup_hooks;  // embedders only (the OCI runtime)
};

}  // namespace sb
