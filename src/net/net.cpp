#include "net/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "util/error.hpp"
#include "util/log.hpp"
#include "util/fd.hpp"
#include "util/parse.hpp"

namespace sb::net {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string require(const Helper& h, const std::string& why) {
  if (auto p = find_program(h.program)) return *p;
  throw Error(why + ": " + h.program + " was not found on PATH (install the Debian package " +
              h.package + ")");
}

uint16_t parse_port(const std::string& v, const std::string& s, const char* what) {
  auto n = parse::unsigned_dec(s, 65535);
  if (!n || *n == 0)
    throw Error("--publish: '" + v + "': " + what + " '" + s + "' is not a port number (1 to 65535)");
  return static_cast<uint16_t>(*n);
}

// The user-mode helpers create their tap device by opening /dev/net/tun as the caller, from
// inside the sandbox's user namespace, where root's files give no privilege: check it now, so
// the error says what to change instead of the helper's "Permission denied".
void check_tun(const std::string& mode) {
  const char* tun = "/dev/net/tun";
  struct stat st;
  if (::stat(tun, &st) < 0)
    throw Error("--net " + mode + ": " + tun + " is missing (" + std::strerror(errno) +
                "): " + tun_fix(ENOENT));
  if (!S_ISCHR(st.st_mode))
    throw Error("--net " + mode + ": " + tun + " is not a character device");
  if (::faccessat(AT_FDCWD, tun, R_OK | W_OK, AT_EACCESS) == 0) return;
  int err = errno;
  char m[8];
  std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  throw Error("--net " + mode + ": " + tun + " (mode " + m + ", owner uid " +
              std::to_string(st.st_uid) + ", gid " + std::to_string(st.st_gid) +
              ") can't be opened by uid " + std::to_string(::geteuid()) + ": " +
              std::strerror(err) + "; the helper needs it to create the sandbox's network "
              "device" + (tun_fix(err).empty() ? "" : ": " + tun_fix(err)) +
              ", or use --net none or --net host");
}

// The mode `m` resolves to (--net user: the first of its picks that is installed), with the
// path of its helper program in `helper`. Throws when the helper is missing or the mode
// needs root.
NetMode find_helper(NetMode m, const HostFacts& host, std::string& helper) {
  const ModeRow& row = mode_row(m);
  const std::string opt = std::string("--net ") + row.name;
  if (row.picks[0] != NetMode::Default) {
    std::string tried;
    for (NetMode p : row.picks) {
      if (p == NetMode::Default) continue;
      const Helper& h = mode_row(p).helper;
      if (auto path = find_program(h.program)) {
        helper = *path;
        return p;
      }
      tried += std::string(tried.empty() ? "neither " : " nor ") + h.program +
               " (Debian package " + h.package + ")";
    }
    throw Error(opt + ": " + tried + " was found on PATH");
  }
  if (row.root_only && !host.is_root()) throw Error(opt + " needs root: " + row.root_only);
  if (row.helper.program) helper = require(row.helper, opt);
  return m;
}

// --publish against the mode, and against each other (one host port, one forward).
void check_publish(const std::vector<PortForward>& publish, const ModeRow& row) {
  for (size_t i = 0; i < publish.size(); ++i) {
    const PortForward& p = publish[i];
    if (!row.publish)
      throw Error("--publish " + p.text + " requires --net " + modes_with(&ModeRow::publish) +
                  " (the network is '" + row.name + "')");
    if (p.host_addr.find(':') != std::string::npos && !row.publish_ipv6)
      throw Error("--publish " + p.text + ": IPv6 host addresses need --net " +
                  modes_with(&ModeRow::publish_ipv6));
    for (size_t j = 0; j < i; ++j) {
      const PortForward& q = publish[j];
      if (q.host_port == p.host_port && q.udp == p.udp &&
          (q.host_addr == p.host_addr || q.host_addr == "0.0.0.0" || p.host_addr == "0.0.0.0"))
        throw Error("--publish " + p.text + ": host port " + std::to_string(p.host_port) +
                    (p.udp ? "/udp" : "/tcp") + " is already published by --publish " + q.text);
    }
  }
}

}  // namespace

std::string tun_fix(int err) {
  if (err == ENOENT) return "load the tun kernel module (modprobe tun)";
  if (err == EACCES || err == EPERM)
    return "make it usable by everyone, as Debian does (chmod 0666 /dev/net/tun, or a udev rule "
           "KERNEL==\"tun\", MODE=\"0666\")";
  return "";
}

NetMode parse_mode(const std::string& v) {
  for (const ModeRow& r : mode_rows())
    if (r.selectable && v == r.name) return r.mode;
  throw Error("--net: unknown mode '" + v + "' (" + modes_with(&ModeRow::selectable) + ")");
}

PortForward parse_publish(const std::string& v) {
  const std::string usage = " (expected [HOSTADDR:]HOSTPORT:SANDBOXPORT[/tcp|/udp])";
  PortForward pf;
  pf.text = v;
  std::string rest = v;
  if (auto slash = rest.rfind('/'); slash != std::string::npos) {
    std::string proto = rest.substr(slash + 1);
    if (proto == "udp") pf.udp = true;
    else if (proto != "tcp")
      throw Error("--publish: '" + v + "': unknown protocol '" + proto + "' (tcp or udp)");
    rest.resize(slash);
  }
  if (!rest.empty() && rest[0] == '[') {  // [IPv6]:HOSTPORT:SANDBOXPORT
    auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      throw Error("--publish: '" + v + "': unterminated [IPv6 address]" + usage);
    pf.host_addr = rest.substr(1, close - 1);
    in6_addr a6;
    if (::inet_pton(AF_INET6, pf.host_addr.c_str(), &a6) != 1)
      throw Error("--publish: '" + v + "': '" + pf.host_addr + "' is not an IPv6 address");
    rest.erase(0, close + 2);
    if (std::count(rest.begin(), rest.end(), ':') != 1)
      throw Error("--publish: '" + v + "': expected HOSTPORT:SANDBOXPORT after the address" + usage);
  } else {
    auto colons = std::count(rest.begin(), rest.end(), ':');
    if (colons == 2) {
      auto c = rest.find(':');
      pf.host_addr = rest.substr(0, c);
      rest.erase(0, c + 1);
      in_addr a4;
      if (::inet_pton(AF_INET, pf.host_addr.c_str(), &a4) != 1)
        throw Error("--publish: '" + v + "': '" + pf.host_addr +
                    "' is not an IPv4 address (write IPv6 addresses in brackets)");
    } else if (colons != 1) {
      throw Error("--publish: '" + v + "': wrong number of fields" + usage);
    }
  }
  auto c = rest.find(':');
  pf.host_port = parse_port(v, rest.substr(0, c), "host port");
  pf.sandbox_port = parse_port(v, rest.substr(c + 1), "sandbox port");
  return pf;
}

Ipv4Subnet parse_subnet(const std::string& v) {
  auto slash = v.find('/');
  if (slash == std::string::npos)
    throw Error("--subnet: '" + v + "' is not an IPv4 network in CIDR form (e.g. " +
                kDefaultSubnet + ")");
  in_addr a;
  if (::inet_pton(AF_INET, v.substr(0, slash).c_str(), &a) != 1)
    throw Error("--subnet: '" + v.substr(0, slash) + "' is not an IPv4 address");
  auto prefix = parse::unsigned_dec(v.substr(slash + 1), 32);
  if (!prefix || *prefix < 8 || *prefix > 30)
    throw Error("--subnet: prefix length '" + v.substr(slash + 1) +
                "' must be 8 to 30 (room for the bridge and at least one sandbox)");
  Ipv4Subnet s;
  s.prefix = static_cast<unsigned>(*prefix);
  uint32_t addr = ntohl(a.s_addr);
  uint32_t mask = 0xffffffffu << (32 - s.prefix);
  s.network = addr & mask;
  if (addr != s.network)
    throw Error("--subnet: '" + v + "' has host bits set (the network is " +
                format_ipv4(s.network) + "/" + std::to_string(s.prefix) + ")");
  return s;
}

std::string format_ipv4(uint32_t addr) {
  in_addr a{htonl(addr)};
  char s[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, s, sizeof s);
  return s;
}

std::optional<std::string> find_program(std::string_view name, std::string_view fallback_dirs) {
  const char* env = std::getenv("PATH");
  std::string path = env ? env : kDefaultPath;
  if (!fallback_dirs.empty()) path += ":" + std::string(fallback_dirs);
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    start = end + 1;
    if (dir.empty() || dir[0] != '/') continue;  // never run a helper relative to the cwd
    std::string candidate = dir + "/" + std::string(name);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return std::nullopt;
}

NetMode effective_mode(NetMode net, bool unshare_net) {
  // --net X sets unshare_net with it; a later --share-net / --unshare-net(-all) wins.
  if (net == NetMode::Default) return unshare_net ? NetMode::None : NetMode::Host;
  if (net == NetMode::Host) return unshare_net ? NetMode::None : NetMode::Host;
  return unshare_net ? net : NetMode::Host;
}

std::string modes_with(bool ModeRow::*feature) {
  std::vector<std::string> names;
  for (const ModeRow& r : mode_rows()) {
    if (!r.selectable) continue;
    // A mode that resolves to another one has the feature when each of its picks has it.
    bool has = r.picks[0] == NetMode::Default ? r.*feature : true;
    for (NetMode p : r.picks)
      if (p != NetMode::Default) has &= mode_row(p).*feature;
    if (has) names.push_back(r.name);
  }
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return s;
}

void plan(const Spec& spec, const HostFacts& host, NetPlan& out) {
  const NetMode asked = effective_mode(spec.net, spec.unshare_net);
  out.net = find_helper(asked, host, out.net_helper);
  const ModeRow& row = mode_row(out.net);
  if (row.tun && !host.is_root())
    check_tun(asked == out.net ? std::string(row.name)
                               : std::string(mode_row(asked).name) + " (" + row.name + ")");
  check_publish(spec.publish, row);
  if (spec.subnet && !row.subnet)
    throw Error("--subnet requires --net " + modes_with(&ModeRow::subnet));
  if (spec.net_host_loopback && !row.host_loopback)
    throw Error("--net-host-loopback requires --net " + modes_with(&ModeRow::host_loopback) +
                " (the network is '" + row.name + "')");
  if (!spec.allow_net.empty()) {
    // Fail closed: an allowlist on a network we do not route (the host's, or none) would
    // be silently meaningless.
    if (!row.allow_net)
      throw Error("--allow-net requires --net " + modes_with(&ModeRow::allow_net) +
                  " (the network is '" + row.name + "')");
    for (const NetAllow& a : spec.allow_net) {
      if (a.kind != NetAllow::Kind::Name) continue;
      // The DNS filter's sockets travel with the namespaces the child hands over.
      if (!row.ns_fds || !row.resolv_conf)
        throw Error("--allow-net: '" + a.text + "' names a DNS name, which needs --net " +
                    modes_with(&ModeRow::ns_fds) + " (the network is '" + row.name + "')");
      out.egress_dns = true;
    }
    // The setup child loads the table itself over nfnetlink (egress.hpp): no nft needed.
    out.egress = true;
  }
}

std::optional<std::string> resolv_conf(const NetPlan& plan) {
  if (!mode_row(plan.net).resolv_conf) return std::nullopt;
  if (plan.egress_dns)
    return std::string("# Written by sandbox --allow-net: its DNS filter, which answers only the\n"
                       "# allowed names.\nnameserver 127.0.0.1\n");
  return std::string("# Written by sandbox --net: the DNS forwarder of the user-mode network,\n"
                     "# which asks the host's resolver.\nnameserver ") +
         kUserModeDns + "\n";
}

UniqueFd resolv_conf_memfd(const std::string& content) {
  UniqueFd fd(::memfd_create("resolv.conf", MFD_CLOEXEC));
  if (!fd) throw_errno("Can't create the resolv.conf for the sandbox");
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()) ||
      ::lseek(fd.get(), 0, SEEK_SET) != 0)
    throw_errno("Can't write the resolv.conf for the sandbox");
  return fd;
}

namespace {

// In the helper's process (the keeper's child): `fds` at 0, 1, 2, 3..., then `argv`. Never
// returns.
[[noreturn]] void exec_helper(const std::vector<std::string>& child_argv,
                              const std::vector<int>& fds, pid_t keeper,
                              const std::function<void()>& before_exec) {
  // fds[i] becomes descriptor i: first out of the way, then into place.
  std::vector<int> tmp;
  for (int fd : fds) tmp.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 64));
  for (size_t i = 0; i < tmp.size(); ++i) ::dup2(tmp[i], static_cast<int>(i));
  ::close_range(static_cast<unsigned>(tmp.size()), ~0U, 0);
  // The helper dies with its keeper, whatever happens to the keeper.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != keeper) ::_exit(1);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::string msg;
  try {
    if (before_exec) before_exec();
    std::vector<char*> argv;
    for (auto& a : child_argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    msg = "Can't execute " + child_argv[0] + ": " + std::strerror(errno) + "\n";
  } catch (const std::exception& e) {
    msg = std::string(e.what()) + "\n";
  }
  ssize_t unused = ::write(2, msg.data(), msg.size());
  (void)unused;
  ::_exit(127);
}

// Stops the helper: SIGTERM, up to a second to exit cleanly, then SIGKILL.
void stop_helper(pid_t helper, const sigset_t& set) {
  ::kill(helper, SIGTERM);
  timespec step{0, 20 * 1000 * 1000};
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(helper, nullptr, WNOHANG) == helper) return;
    ::sigtimedwait(&set, nullptr, &step);
  }
  ::kill(helper, SIGKILL);
  ::waitpid(helper, nullptr, 0);
}

// The keeper's stderr is the caller's: a clean-up that fails says so there.
void run_teardown(const std::function<void()>& teardown) {
  try {
    if (teardown) teardown();
  } catch (const std::exception& e) {
    log::warning(std::string("network clean-up failed: ") + e.what());
  } catch (...) {
    log::warning("network clean-up failed");
  }
}

}  // namespace

pid_t spawn_keeper(const std::vector<std::string>& child_argv, const std::vector<int>& fds,
                   const std::function<void()>& teardown,
                   const std::function<void()>& before_exec,
                   const std::vector<int>& keeper_fds) {
  pid_t supervisor = ::getpid();
  pid_t keeper = ::fork();
  if (keeper < 0) throw_errno("Can't fork the network keeper");
  if (keeper > 0) return keeper;

  // The keeper. Own process group: a ^C meant for the command does not stop the network.
  ::setpgid(0, 0);
  ::prctl(PR_SET_NAME, "sandbox-net", 0, 0, 0);
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  // Parent death (the supervisor SIGKILLed) arrives as SIGTERM, handled like a request.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  bool stop = ::getppid() != supervisor;
  // Only the descriptors meant for the helper (and the keeper's own stdio) stay: the
  // supervisor's setup channel, signalfd and locks must not outlive it here.
  std::vector<int> keep = fds;
  keep.insert(keep.end(), {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO});
  keep.insert(keep.end(), keeper_fds.begin(), keeper_fds.end());
  close_all_except(keep);

  pid_t helper = -1;
  if (!stop && !child_argv.empty()) {
    pid_t keeper_pid = ::getpid();
    helper = ::fork();
    if (helper == 0) exec_helper(child_argv, fds, keeper_pid, before_exec);
    if (helper < 0) stop = true;
  }
  // The helper has its descriptors; without one, the keeper holds them (veth: the address
  // lock) until it exits.
  if (!child_argv.empty())
    for (int fd : fds) ::close(fd);

  while (!stop) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) break;
    if (helper > 0 && ::waitpid(helper, nullptr, WNOHANG) == helper) {
      helper = -1;
      break;  // the helper is gone: nothing to keep
    }
  }
  if (helper > 0) stop_helper(helper, set);
  run_teardown(teardown);
  ::_exit(0);
}

void stop_keeper(pid_t keeper) {
  if (keeper <= 0) return;
  ::kill(keeper, SIGTERM);
  while (::waitpid(keeper, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace sb::net
