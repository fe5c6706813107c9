#include "doctor/doctor.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "fs/mountapi.hpp"
#include "host/apparmor.hpp"
#include "host/probe.hpp"
#include "limits/cgroup.hpp"
#include "net/net.hpp"
#include "ns/userns.hpp"
#include "net/egress.hpp"
#include "security/landlock.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/syscalls.hpp"

#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef FSCONFIG_CMD_CREATE
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif

namespace sb::host {
namespace {

enum class Verdict { Ok, Warn, Fail };

struct Line {
  Verdict verdict;
  std::string check;
  std::string text;
};

// What a probe in a child found.
struct Outcome {
  bool ok = false;
  int err = 0;
  std::string detail;  // what failed ("unshare(CLONE_NEWUSER)"), or what worked
};

Outcome fail_errno(const std::string& what) { return {false, errno, what}; }

// Runs `probe` in a forked child that first enters a new user namespace with its own ids
// mapped (when `userns`), as the sandbox does for a non-root caller; nothing it does
// reaches this process or the host's namespaces. Gives up after 10 s.
Outcome in_child(bool userns, const std::function<Outcome()>& probe) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return fail_errno("fork");
  }
  if (pid == 0) {
    ::close(p[0]);
    Outcome o;
    try {
      if (userns && ::unshare(CLONE_NEWUSER) < 0) {
        o = fail_errno("unshare(CLONE_NEWUSER)");
      } else {
        if (userns) ns::write_self_maps(uid, uid, gid, gid);
        o = probe();
      }
    } catch (const SysError& e) {
      o = {false, e.err(), e.what()};
    } catch (const std::exception& e) {
      o = {false, 0, e.what()};
    }
    std::string msg = std::string(o.ok ? "1" : "0") + std::to_string(o.err) + " " + o.detail;
    ssize_t unused = ::write(p[1], msg.data(), msg.size());
    (void)unused;
    ::_exit(0);
  }
  ::close(p[1]);
  std::string data;
  pollfd pfd{p[0], POLLIN, 0};
  char buf[4096];
  for (;;) {
    int r = ::poll(&pfd, 1, 10000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(p[0]);
  ::waitpid(pid, nullptr, 0);
  Outcome o;
  if (data.empty()) return {false, 0, "the probe process died or timed out"};
  o.ok = data[0] == '1';
  size_t sp = data.find(' ');
  o.err = std::atoi(data.substr(1, sp - 1).c_str());
  o.detail = sp == std::string::npos ? "" : data.substr(sp + 1);
  return o;
}

std::string err_text(const Outcome& o) {
  return o.err ? o.detail + ": " + std::strerror(o.err) : o.detail;
}

// A private mount namespace with a tmpfs on the directory the sandbox stages on.
Outcome private_tmpfs(std::string& dir) {
  if (::unshare(CLONE_NEWNS) < 0) return fail_errno("unshare(CLONE_NEWNS)");
  // Nothing mounted below may propagate back to the host's namespace.
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    return fail_errno("making / a slave mount");
  for (const char* c : {"/tmp", "/run", "/var/tmp", "/mnt"}) {
    struct stat st;
    if (::stat(c, &st) == 0 && S_ISDIR(st.st_mode)) {
      dir = c;
      break;
    }
  }
  if (dir.empty()) return {false, 0, "no /tmp, /run, /var/tmp or /mnt to stage on"};
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755") < 0)
    return fail_errno("mounting a tmpfs on " + dir);
  return {true, 0, ""};
}

// What a probe returns when everything it tried worked.
const Outcome kWorks{true, 0, ""};

// A check made by a probe in a child (see in_child): `works` when the probe does, else
// `verdict` with what failed and why, then `consequence`.
Line probe_check(const char* check, bool userns, const std::function<Outcome()>& probe,
                 const std::string& works, Verdict verdict, const std::string& consequence) {
  Outcome o = in_child(userns, probe);
  if (o.ok) return {Verdict::Ok, check, works};
  return {verdict, check, err_text(o) + consequence};
}

// Runs `probe` with a private tmpfs (see private_tmpfs) at the path it is given.
std::function<Outcome()> on_private_tmpfs(Outcome (*probe)(const std::string& dir)) {
  return [probe] {
    std::string dir;
    Outcome t = private_tmpfs(dir);
    return t.ok ? probe(dir) : t;
  };
}

// ---- the checks ------------------------------------------------------------------------

// "name=value, ..." of the user namespace sysctls this kernel has.
std::string userns_sysctls() {
  std::string s;
  for (const char* n : {"kernel.unprivileged_userns_clone", "user.max_user_namespaces",
                        "kernel.apparmor_restrict_unprivileged_userns"}) {
    std::string path = "/proc/sys/" + std::string(n);
    for (char& c : path)
      if (c == '.') c = '/';
    if (auto v = read_sysctl(path.c_str()))
      s += std::string(s.empty() ? "" : ", ") + n + "=" + std::to_string(*v);
  }
  return s.empty() ? "" : " (" + s + ")";
}

Line check_userns(bool root, const std::string& exe) {
  Outcome o = in_child(true, [] { return kWorks; });
  if (o.ok)
    return {Verdict::Ok, "userns",
            (root ? "creating a user namespace works as root" + userns_sysctls() +
                        "; run `" + log::program_name() +
                        " doctor` as your own user to check rootless use"
                  : "an unprivileged user namespace with this uid and gid mapped works" +
                        userns_sysctls())};
  std::string why = err_text(o) + ": " + explain_userns_failure(o.err, exe, true);
  if (root)
    return {Verdict::Warn, "userns",
            err_text(o) + " (root runs sandboxes without one; --unshare-user and non-root "
                          "callers need it)"};
  return {Verdict::Fail, "userns", why};
}

// Ubuntu 23.10+: the AppArmor restriction on unprivileged user namespaces and our profile.
Line check_apparmor(bool root, bool userns_ok, const std::string& exe, const HostRoots& roots) {
  AppArmorUserns a = apparmor_userns(roots);
  if (!a.restricted())
    return {Verdict::Ok, "apparmor",
            a.restrict_userns ? "kernel.apparmor_restrict_unprivileged_userns is 0: no "
                                "AppArmor restriction on user namespaces"
                              : "no AppArmor user namespace restriction on this kernel"};
  std::string loaded = a.profile_loaded
                           ? "profile 'sandbox' loaded (" + a.profile_mode + ")" +
                                 (a.attach.empty() ? "" : " for " + a.attach)
                           : "no profile 'sandbox' loaded";
  if (a.covers(exe))
    return {Verdict::Ok, "apparmor",
            "kernel.apparmor_restrict_unprivileged_userns is 1 and " + loaded +
                ": user namespaces are allowed for " + exe};
  std::string problem = apparmor_problem(a, exe, roots);
  if (root)
    return {Verdict::Warn, "apparmor",
            "root is not restricted, but users of this binary are: " + problem};
  // A profile this process can't see may still be in force: the userns check decides.
  if (userns_ok && !a.profiles_readable)
    return {Verdict::Ok, "apparmor",
            "kernel.apparmor_restrict_unprivileged_userns is 1, and user namespaces work for " +
                exe + " (a profile allows it)"};
  return {userns_ok ? Verdict::Warn : Verdict::Fail, "apparmor", problem};
}

// What `--ro-bind / /` does: a recursive bind of the host's root, then read-only.
Outcome probe_ro_bind_root(const std::string& dir) {
  std::string target = dir + "/root";
  if (::mkdir(target.c_str(), 0755) < 0) return fail_errno("mkdir " + target);
  if (::mount("/", target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    return fail_errno("bind mounting / on " + target);
  if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) < 0)
    return fail_errno("remounting " + target + " read-only");
  return kWorks;
}

Line check_mountns(bool root, bool userns_ok) {
  if (!root && !userns_ok)
    return {Verdict::Fail, "mountns", "needs a user namespace first (see userns)"};
  return probe_check("mountns", !root, on_private_tmpfs(probe_ro_bind_root),
                     "a mount namespace with a tmpfs and a read-only recursive bind of / works",
                     Verdict::Fail, "");
}

// The options --tmp-overlay uses: the host's /usr as the lower layer, writes to tmpfs.
Outcome probe_overlay(const std::string& dir) {
  for (const char* d : {"u", "w", "m"})
    if (::mkdir((dir + "/" + d).c_str(), 0755) < 0) return fail_errno("mkdir");
  std::string opts = "lowerdir=/usr,upperdir=" + dir + "/u,workdir=" + dir + "/w,userxattr";
  if (::mount("overlay", (dir + "/m").c_str(), "overlay", MS_NOSUID | MS_NODEV,
              opts.c_str()) < 0)
    return fail_errno("mounting an overlay of /usr");
  std::string f = dir + "/m/.sandbox-doctor";
  UniqueFd fd(::open(f.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("writing into the overlay");
  return kWorks;
}

Line check_overlay(bool root) {
  return probe_check(
      "overlay", !root, on_private_tmpfs(probe_overlay),
      std::string("overlayfs") + (root ? "" : " in a user namespace") +
          " works (--overlay, --tmp-overlay, --ro-overlay)",
      Verdict::Warn,
      std::string(": --overlay, --tmp-overlay and --ro-overlay will fail") +
          (root ? " (is the overlay module available? modprobe overlay)"
                : " (overlayfs in a user namespace needs Linux 5.11 or later)"));
}

// Each call of the new mount API the sandbox uses, once.
Outcome probe_mount_api() {
  if (::unshare(CLONE_NEWNS) < 0) return fail_errno("unshare(CLONE_NEWNS)");
  UniqueFd fs(fs::sys_fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) return fail_errno("fsopen");
  if (fs::sys_fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return fail_errno("fsconfig");
  UniqueFd mnt(fs::sys_fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt) return fail_errno("fsmount");
  UniqueFd tree(fs::sys_open_tree(AT_FDCWD, "/usr",
                                  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (!tree) return fail_errno("open_tree");
  fs::MountAttr attr{MOUNT_ATTR_RDONLY, 0, 0, 0};
  if (fs::sys_mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
    return fail_errno("mount_setattr");
  UniqueFd dir(fs::sys_openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT));
  if (!dir) return fail_errno("openat2");
  return kWorks;
}

Line check_mount_api(bool root) {
  return probe_check(
      "mount-api", !root, probe_mount_api,
      "fsopen, fsmount, open_tree, mount_setattr and openat2 work (used for every mount)",
      Verdict::Warn,
      ": sandbox falls back to mount(2) and a path walk in user space (the new mount API "
      "needs Linux 5.12 or later)");
}

// ---- cgroups ---------------------------------------------------------------------------

std::set<std::string> read_words(const std::string& path) {
  auto words = limits::words(io::read_file(path).value_or(""));
  return {words.begin(), words.end()};
}

// The cgroup v1 hierarchy that holds controller `c`, or "".
std::string v1_holder(const std::vector<limits::Hierarchy>& hierarchies, const std::string& c) {
  for (const auto& h : hierarchies)
    for (const auto& hc : h.controllers)
      if (hc == c || (c == "io" && hc == "blkio")) return h.mountpoint;
  return "";
}

// Delegation, tried: what the caller's cgroup2 cgroup offers, and whether this caller can
// create (and remove) a child cgroup in it and enable controllers for its children.
struct Delegation {
  std::set<std::string> available;   // cgroup.controllers
  std::set<std::string> child_gets;  // a child's cgroup.controllers
  bool can_create = false;
  int create_err = 0;
  bool can_enable = false;
};

Delegation try_delegation(const std::string& dir) {
  Delegation d;
  d.available = read_words(dir + "/cgroup.controllers");
  std::string child = dir + "/sandbox-doctor-" + std::to_string(::getpid());
  d.can_create = ::mkdir(child.c_str(), 0755) == 0;
  d.create_err = errno;
  if (d.can_create) {
    d.child_gets = read_words(child + "/cgroup.controllers");
    ::rmdir(child.c_str());
  }
  d.can_enable = ::access((dir + "/cgroup.subtree_control").c_str(), W_OK) == 0;
  return d;
}

Line controller_line(const char* c, const std::string& dir, const Delegation& d,
                     const std::vector<limits::Hierarchy>& hierarchies) {
  std::string id = std::string("cgroup2.") + c;
  if (!d.available.count(c)) {
    std::string v1 = v1_holder(hierarchies, c);
    return {Verdict::Warn, id,
            v1.empty() ? std::string("not available to your cgroup (its parent does not "
                                     "enable it)")
                       : "not in cgroup2: the cgroup v1 hierarchy at " + v1 +
                             " holds it (a pure cgroup2 host, "
                             "systemd.unified_cgroup_hierarchy=1, avoids this)"};
  }
  if (!d.can_create)
    return {Verdict::Warn, id, "available in " + dir + " but not delegated to you"};
  if (d.child_gets.count(c))
    return {Verdict::Ok, id, "delegated: enabled for child cgroups of " + dir};
  if (d.can_enable)
    return {Verdict::Ok, id,
            "available; you may enable it for child cgroups (cgroup.subtree_control is "
            "writable)"};
  return {Verdict::Warn, id,
          "available in " + dir + " but not enabled for its children, and you can't enable it"};
}

std::vector<Line> check_cgroup2(bool root) {
  // The hierarchies exactly as --memory/--pids/--cpus find them.
  auto hierarchies = limits::caller_hierarchies();
  const limits::Hierarchy* v2 = nullptr;
  bool hybrid = false;
  for (const auto& h : hierarchies) {
    if (h.v2) v2 = &h;
    hybrid |= !h.v2;
  }
  if (!v2 || !v2->caller_dir)
    return {{Verdict::Warn, "cgroup2",
             !v2 ? "no cgroup2 filesystem is mounted here (it is usually at /sys/fs/cgroup; "
                   "boot with systemd.unified_cgroup_hierarchy=1)"
                 : "this process is in no cgroup2 cgroup"}};
  const std::string& dir = *v2->caller_dir;
  // Our cgroup as seen under the mount point ("/" for the mount's root).
  std::string path = dir.size() > v2->mountpoint.size() ? dir.substr(v2->mountpoint.size()) : "/";
  Delegation d = try_delegation(dir);
  std::string where = "cgroup2 at " + v2->mountpoint +
                      (hybrid ? " (hybrid: cgroup v1 hierarchies beside it)" : "") +
                      ", your cgroup " + path;
  std::vector<Line> out;
  if (d.can_create)
    out.push_back({Verdict::Ok, "cgroup2", where + ": you can create child cgroups in it"});
  else
    out.push_back({Verdict::Warn, "cgroup2",
                   where + ": can't create a child cgroup (" + std::strerror(d.create_err) +
                       ")" +
                       (root ? "" : "; it is not delegated to you: run under `systemd-run "
                                    "--user --scope -p Delegate=yes`")});
  for (const char* c : {"cpu", "memory", "pids", "io"})
    out.push_back(controller_line(c, dir, d, hierarchies));
  return out;
}

// ---- services and helpers --------------------------------------------------------------

bool can_connect(const std::string& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (!s || path.size() >= sizeof a.sun_path) return false;
  std::memcpy(a.sun_path, path.c_str(), path.size());
  return ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

Line check_systemd(bool root) {
  if (root) {
    if (can_connect("/run/systemd/private"))
      return {Verdict::Ok, "systemd", "the system manager answers at /run/systemd/private"};
    return {Verdict::Warn, "systemd",
            "no systemd manager answers at /run/systemd/private (systemd is not PID 1 here)"};
  }
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (!xdg || !*xdg)
    return {Verdict::Warn, "systemd",
            "XDG_RUNTIME_DIR is not set, so no systemd user manager can be found (log in "
            "through a PAM session, or `sudo loginctl enable-linger $USER`)"};
  std::string priv = std::string(xdg) + "/systemd/private";
  if (can_connect(priv)) return {Verdict::Ok, "systemd", "the user manager answers at " + priv};
  std::string bus = std::string(xdg) + "/bus";
  if (can_connect(bus))
    return {Verdict::Ok, "systemd", "the session bus answers at " + bus};
  return {Verdict::Warn, "systemd",
          "no systemd user manager answers at " + priv + " or " + bus +
              " (`sudo loginctl enable-linger $USER` starts one)"};
}

Line check_net_helper() {
  auto pasta = net::find_program("pasta");
  auto slirp = net::find_program("slirp4netns");
  if (!pasta && !slirp)
    return {Verdict::Warn, "net-helper",
            "neither pasta nor slirp4netns is on PATH: --net user/pasta/slirp4netns will fail "
            "(apt install passt, or slirp4netns)"};
  std::string s;
  if (pasta) s += "pasta at " + *pasta;
  if (slirp) s += std::string(s.empty() ? "" : ", ") + "slirp4netns at " + *slirp;
  return {Verdict::Ok, "net-helper",
          s + " (--net user uses " + (pasta ? "pasta" : "slirp4netns") + ")"};
}

Line check_tun(bool root) {
  Outcome o = in_child(!root, [] {
    if (::unshare(CLONE_NEWNET) < 0) return fail_errno("unshare(CLONE_NEWNET)");
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd) return fail_errno("opening /dev/net/tun");
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "tap0");
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) return fail_errno("creating a tap device");
    return kWorks;
  });
  if (o.ok)
    return {Verdict::Ok, "tun",
            "/dev/net/tun makes a tap device in a new network namespace (pasta, slirp4netns)"};
  std::string fix;
  struct stat st;
  if (o.err == EACCES && ::stat("/dev/net/tun", &st) == 0 && (st.st_mode & 06) != 06)
    fix = " (/dev/net/tun is mode " + std::to_string((st.st_mode >> 6) & 7) +
          std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + ": " +
          net::tun_fix(EACCES) + ")";
  else if (o.err == ENOENT)
    fix = " (" + net::tun_fix(ENOENT) + ")";
  return {Verdict::Warn, "tun", err_text(o) + ": --net pasta/slirp4netns/user will fail" + fix};
}

// --allow-net: decided by loading the real egress table (every expression kind it uses:
// ct, reject, log...) into a fresh network namespace, as the setup child will, and binding
// its NFLOG group (--audit-fd). Not a version guess: a kernel without nf_tables, or one that
// refuses it in an unprivileged user namespace, says so here.
Line check_allow_net(bool root) {
  Outcome table = in_child(!root, [] {
    if (::unshare(CLONE_NEWNET) < 0) return fail_errno("unshare(CLONE_NEWNET)");
    UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
    if (!nl) return fail_errno("socket(NETLINK_NETFILTER)");
    net::load_egress(nl.get(), net::egress_table({net::parse_allow_net("192.0.2.1:443"),
                                                  net::parse_allow_net("198.51.100.0/24")},
                                                 net::kEgressLogGroup));
    return kWorks;
  });
  if (!table.ok)
    return {Verdict::Warn, "allow-net",
            err_text(table) + ": --allow-net will fail (it needs nf_tables in the sandbox's "
            "network namespace: CONFIG_NF_TABLES_INET, nft_ct, nft_reject_inet)"};
  Outcome log = in_child(!root, [] {
    if (::unshare(CLONE_NEWNET) < 0) return fail_errno("unshare(CLONE_NEWNET)");
    UniqueFd fd = net::open_egress_log(net::kEgressLogGroup);
    return kWorks;
  });
  if (!log.ok)
    return {Verdict::Warn, "allow-net",
            "nf_tables takes the egress table in a new network namespace, but NFLOG does not (" +
                err_text(log) + "): --allow-net with --audit-fd will fail (nfnetlink_log)"};
  return {Verdict::Ok, "allow-net",
          "nf_tables takes the egress table in a new network namespace (--allow-net), and "
          "NFLOG reports rejected connections (--audit-fd)"};
}

Line check_seccomp() {
  int mode = ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
  if (mode < 0)
    return {Verdict::Warn, "seccomp",
            std::string("prctl(PR_GET_SECCOMP): ") + std::strerror(errno) +
                ": this kernel has no seccomp; --seccomp, --add-seccomp-fd and "
                "--seccomp-profile will fail"};
  Outcome o = in_child(false, [] {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail_errno("PR_SET_NO_NEW_PRIVS");
    sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    sock_fprog prog{1, &allow};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
      return fail_errno("loading a filter");
    return kWorks;
  });
  if (!o.ok)
    return {Verdict::Warn, "seccomp", err_text(o) + ": seccomp options will fail"};
  std::string s = "filters load";
  if (mode == 2) s += " (this process is already filtered; the sandbox's filters stack on it)";
  uint32_t log_action = SECCOMP_RET_LOG;
  if (::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &log_action) < 0)
    return {Verdict::Warn, "seccomp",
            s + ", but SECCOMP_RET_LOG is not available: --seccomp-log will fail"};
  return {Verdict::Ok, "seccomp", s + "; SECCOMP_RET_LOG available (--seccomp-log)"};
}

Line check_landlock() {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi >= 0)
    return {abi >= security::kLandlockRequiredAbi ? Verdict::Ok : Verdict::Warn, "landlock",
            security::landlock_summary(static_cast<int>(abi))};
  if (errno == EOPNOTSUPP)
    return {Verdict::Warn, "landlock",
            "Landlock is built in but disabled: add landlock to the lsm= kernel parameter"};
  return {Verdict::Warn, "landlock",
          std::string("landlock_create_ruleset: ") + std::strerror(errno) +
              " (Landlock needs Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK)"};
}

Line check_clone3() {
  int pidfd = -1;
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r == 0) ::_exit(0);
  if (r < 0)
    return {Verdict::Warn, "clone3",
            std::string("clone3(CLONE_PIDFD): ") + std::strerror(errno) +
                ": sandbox falls back to clone and signals by pid (Linux 5.3+ has clone3)"};
  UniqueFd fd(pidfd);
  bool signal_ok = ::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0;
  int err = errno;
  ::waitpid(static_cast<pid_t>(r), nullptr, 0);
  if (!signal_ok && err != ESRCH)
    return {Verdict::Warn, "clone3",
            std::string("clone3 works but pidfd_send_signal: ") + std::strerror(err)};
  return {Verdict::Ok, "clone3", "clone3 with CLONE_PIDFD and pidfd_send_signal work"};
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Ok: return "OK";
    case Verdict::Warn: return "WARN";
    case Verdict::Fail: return "FAIL";
  }
  return "?";
}

}  // namespace

int doctor_main(const HostRoots& roots) {
  bool root = ::getuid() == 0;
  std::string exe = self_exe();
  std::vector<Line> lines;
  lines.push_back(check_userns(root, exe));
  bool userns_ok = lines.back().verdict == Verdict::Ok;
  lines.push_back(check_apparmor(root, userns_ok, exe, roots));
  // A non-root caller's probes run in a user namespace, as its sandboxes would.
  auto needs_userns = [&](const char* check, const std::function<Line()>& f) {
    if (root || userns_ok) return f();
    return Line{Verdict::Warn, check, "not checked: needs a user namespace (see userns)"};
  };
  lines.push_back(check_mountns(root, userns_ok));
  lines.push_back(needs_userns("overlay", [&] { return check_overlay(root); }));
  lines.push_back(needs_userns("mount-api", [&] { return check_mount_api(root); }));
  for (auto& l : check_cgroup2(root)) lines.push_back(std::move(l));
  lines.push_back(check_systemd(root));
  lines.push_back(check_net_helper());
  lines.push_back(needs_userns("tun", [&] { return check_tun(root); }));
  lines.push_back(needs_userns("allow-net", [&] { return check_allow_net(root); }));
  lines.push_back(check_seccomp());
  lines.push_back(check_landlock());
  lines.push_back(check_clone3());
  int status = 0;
  for (const auto& l : lines) {
    std::printf("%-4s %s: %s\n", verdict_name(l.verdict), l.check.c_str(), l.text.c_str());
    if (l.verdict == Verdict::Fail) status = 1;
  }
  std::fflush(stdout);
  return status;
}

}  // namespace sb::host
