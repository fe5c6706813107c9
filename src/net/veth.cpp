// --net veth (root): a veth pair between the sandbox's network namespace ("eth0" inside) and
// the host bridge sandbox0, an address from --subnet, a default route through the bridge,
// and an nftables table of this sandbox's own ("ip sandbox-<supervisor pid>") for the
// masquerading NAT and --publish. Links, addresses and routes go through rtnetlink
// (net/rtnl); the rules through `nft -f -`, which keeps libnftables out of every sandbox
// start.
//
// Isolation on the bridge: each port is pinned to its sandbox's Ethernet address (set by
// sandbox, derived from the IPv4 address) and IPv4 address by a table "bridge sandbox-<pid>":
// frames with another source MAC, ARP with another sender, IPv4 from another source and
// anything but IPv4 and ARP (IPv6, VLAN tags...) are dropped as they enter the bridge, so no
// sandbox can speak for another one or for the host.
//
// Cleanup: the keeper process (spawn_keeper) deletes the host end of the veth, the tables
// and, when sandbox created the bridge (its alias says so) and no port is left, the bridge,
// once the sandbox ends or its supervisor dies. What a keeper that was itself killed leaves
// is collected by the next --net veth run: its tables once its veth is gone (never while
// the orphaned sandbox still runs: the pinning must hold), its address file, and the empty
// bridge when that run ends. Addresses are allocated with one flock'd file per address under
// /run/sandbox/veth, which names the veth that uses it: the kernel releases the lock
// whatever ends the process, so an address whose lock is free is still taken while that veth
// exists (a sandbox that outlived its supervisor and keeper). The keeper removes the file
// (only bridge.lock stays).
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "net/net.hpp"
#include "net/rtnl.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"
#include "util/log.hpp"

namespace sb::net {
namespace {

constexpr const char* kStateDir = "/run/sandbox/veth";
constexpr const char* kBridgeMarker = "sandbox: created by sandbox --net veth, removed when unused";
constexpr const char* kInnerIfname = "eth0";

// Serializes bridge creation/removal between concurrent sandboxes.
class BridgeLock {
 public:
  BridgeLock() {
    std::string path = std::string(kStateDir) + "/bridge.lock";
    fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd_) throw_errno("Can't open " + path);
    while (::flock(fd_.get(), LOCK_EX) < 0)
      if (errno != EINTR) throw_errno("Can't lock " + path);
  }

 private:
  UniqueFd fd_;
};

struct NftResult {
  int status = -1;
  std::string out;  // stdout and stderr
};

// Runs nft with `input` on its stdin; returns its exit status and output.
NftResult run_nft(const std::string& nft, const std::vector<std::string>& args,
                  const std::string& input = {}) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) throw_errno("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]), err_r(err[0]), err_w(err[1]);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("Can't fork " + nft);
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(err_w.get(), 1);
    ::dup2(err_w.get(), 2);
    ::close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv{const_cast<char*>(nft.c_str())};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(nft.c_str(), argv.data());
    ::_exit(127);
  }
  in_r.reset();
  err_w.reset();
  // The rule sets are small: they fit the pipe, so writing first cannot deadlock.
  if (!input.empty()) {
    ssize_t unused = ::write(in_w.get(), input.data(), input.size());
    (void)unused;
  }
  in_w.reset();
  NftResult r;
  (void)io::read_all(err_r.get(), r.out);  // nft's messages; its status tells failure
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r;
}

std::string addr_file(uint32_t addr) { return std::string(kStateDir) + "/addr-" + format_ipv4(addr); }

std::string table_name() { return "sandbox-" + std::to_string(::getpid()); }

// The sandbox's Ethernet address: locally administered, unicast, 02:73 ('s') and the four
// bytes of its IPv4 address, so that it is unique on the bridge as the address is.
std::string mac_bytes(uint32_t addr) {
  return std::string{'\x02', '\x73', static_cast<char>(addr >> 24), static_cast<char>(addr >> 16),
                     static_cast<char>(addr >> 8), static_cast<char>(addr)};
}
std::string mac_text(uint32_t addr) {
  std::string m = mac_bytes(addr), t;
  char buf[4];
  for (size_t i = 0; i < m.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(m[i]));
    t += (i ? ":" : "") + std::string(buf);
  }
  return t;
}

// Sets a sysctl; returns false when it had that value already.
bool write_sysctl(const std::string& path, const char* value) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  char cur[8] = {};
  if (fd && ::read(fd.get(), cur, sizeof cur - 1) > 0 && cur[0] == value[0]) return false;
  if (!fd || ::pwrite(fd.get(), value, std::strlen(value), 0) < 0)
    throw_errno("Can't set " + path);
  return true;
}

constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";
// Present while forwarding is on because of sandbox: the last sandbox turns it off again.
std::string forward_marker() { return std::string(kStateDir) + "/ip_forward-was-off"; }

// Address, link and default route inside the sandbox: from a short-lived process that
// enters the sandbox's network namespace (the supervisor stays where it is).
void configure_inside(pid_t child, uint32_t addr, unsigned prefix, uint32_t gateway) {
  std::string path = "/proc/" + std::to_string(child) + "/ns/net";
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) throw_errno("Can't open " + path);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe");
  UniqueFd r(p[0]), w(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    try {
      if (::setns(ns.get(), CLONE_NEWNET) < 0) throw_errno("Can't enter the sandbox's network namespace");
      Rtnl nl;
      int idx = nl.link_index(kInnerIfname);
      if (!idx) throw Error(std::string(kInnerIfname) + " is missing in the sandbox");
      nl.add_address(idx, addr, prefix);
      nl.set_up(idx);
      nl.add_default_route(gateway);
      ::_exit(0);
    } catch (const std::exception& e) {
      ssize_t unused = ::write(w.get(), e.what(), std::strlen(e.what()));
      (void)unused;
    }
    ::_exit(1);
  }
  w.reset();
  std::string msg;
  (void)io::read_all(r.get(), msg);  // the helper's error, if any; its status tells failure
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("--net veth: can't configure " + std::string(kInnerIfname) + " in the sandbox: " +
                (msg.empty() ? "helper process failed" : msg));
}

struct Names {
  std::string nft;
  std::string table;
  std::string host_if;
  std::string addr_file;  // the lock file of this sandbox's address
};

// The last sandbox on the bridge removes the lock files that no process holds (left by
// sandboxes whose keeper was killed). Called with the bridge lock held.
void remove_unlocked_addr_files() {
  DIR* d = ::opendir(kStateDir);
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    if (std::strncmp(e->d_name, "addr-", 5) != 0) continue;
    std::string path = std::string(kStateDir) + "/" + e->d_name;
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0 && ::unlink(path.c_str()) < 0 &&
        errno != ENOENT)
      log::warning("--net veth: can't remove the stale address file " + path + ": " +
                   std::strerror(errno) + "; remove it with `rm " + path + "`");
  }
  ::closedir(d);
}

// Runs in the keeper, whose stderr is the caller's. Never silent: each piece of host state
// that stays behind is reported once, with what it is, why and how to remove it by hand.
void teardown(const Names& n) {
  auto report = [](const std::string& msg) { log::warning("--net veth: " + msg); };
  auto attempt = [&](const std::string& what, const std::string& fix, const auto& f) {
    try {
      f();
    } catch (const std::exception& e) {
      report("can't remove " + what + ": " + e.what() + "; remove it with `" + fix + "`");
    }
  };
  std::unique_ptr<Rtnl> nl;
  try {
    nl = std::make_unique<Rtnl>();
  } catch (const std::exception& e) {
    report(std::string("can't clean up the host's network state: ") + e.what() + "; remove " +
           n.host_if + " (`ip link delete " + n.host_if + "`) and the nftables tables ip and "
           "bridge " + n.table + " (`nft delete table ip " + n.table + "`) by hand");
    return;
  }
  // The port goes before its pinning rules, so it is never on the bridge without them.
  attempt("the host end of the veth " + n.host_if, "ip link delete " + n.host_if, [&] {
    if (int idx = nl->link_index(n.host_if)) nl->delete_link(idx);
  });
  for (const char* family : {"ip", "bridge"}) {
    std::string table = std::string(family) + " " + n.table;
    attempt("the nftables table " + table, "nft delete table " + table, [&] {
      NftResult r = run_nft(n.nft, {"delete", "table", family, n.table});
      if (r.status == 0) return;
      // A table that was never made (setup failed before the rules) or is gone already
      // leaves nothing behind; one that is still listed does.
      if (run_nft(n.nft, {"list", "table", family, n.table}).status != 0) return;
      throw Error(n.nft + " failed (" + std::to_string(r.status) + ")" +
                  (r.out.empty() ? "" : ": " + r.out));
    });
  }
  attempt("this sandbox's address file " + n.addr_file + " (and, if unused, the bridge " + kBridge + ")",
          "rm " + n.addr_file, [&] {
    BridgeLock lock;
    int br = nl->link_index(kBridge);
    // Our address is free again; its lock file goes (addresses are taken under the bridge
    // lock, so no one is between opening and locking it).
    if (::unlink(n.addr_file.c_str()) < 0 && errno != ENOENT)
      report("can't remove " + n.addr_file + ": " + std::strerror(errno) + "; remove it with `rm " +
             n.addr_file + "`");
    if (br && nl->ports_of(br).empty()) {
      if (nl->alias(br) == kBridgeMarker)
        attempt(std::string("the unused bridge ") + kBridge, std::string("ip link delete ") + kBridge,
                [&] { nl->delete_link(br); });
      remove_unlocked_addr_files();
      // The host routed nothing before the first sandbox: it routes nothing after the last.
      if (::unlink(forward_marker().c_str()) == 0)
        try {
          write_sysctl(kIpForward, "0");
        } catch (const std::exception& e) {
          report(std::string("can't turn IPv4 forwarding off again: ") + e.what() +
                 "; `sysctl net.ipv4.ip_forward=0` does it");
        }
    }
  });
}

std::string nft_ruleset(const Names& n, const Spec& spec, const Ipv4Subnet& subnet,
                        uint32_t addr) {
  std::string sb = format_ipv4(addr);
  std::string port = "iifname \"" + n.host_if + "\" ";
  std::string mac = mac_text(addr);
  // Security: the sandbox's port speaks only with its own addresses (see the top of the
  // file). prerouting sees every frame entering the bridge from the port, before it is
  // forwarded to another port or delivered to the host; ARP is checked field by field after
  // its header is known to be Ethernet/IPv4, so odd lengths cannot shift the fields.
  std::string pin = "table bridge " + n.table + " {\n"
      "  chain pin {\n    type filter hook prerouting priority -300; policy accept;\n" +
      "    " + port + "ether saddr != " + mac + " drop\n" +
      "    " + port + "ether type != { ip, arp } drop\n" +
      "    " + port + "ether type arp arp htype != 1 drop\n" +
      "    " + port + "ether type arp arp ptype != ip drop\n" +
      "    " + port + "ether type arp arp hlen != 6 drop\n" +
      "    " + port + "ether type arp arp plen != 4 drop\n" +
      "    " + port + "ether type arp arp saddr ether != " + mac + " drop\n" +
      "    " + port + "ether type arp arp saddr ip != " + sb + " drop\n" +
      "    " + port + "ether type ip ip saddr != " + sb + " drop\n" +
      "  }\n}\n";
  std::string net = format_ipv4(subnet.network) + "/" + std::to_string(subnet.prefix);
  std::string br = std::string("\"") + kBridge + "\"";
  std::string dnat;
  bool loopback = false;
  for (const auto& p : spec.publish) {
    std::string proto = p.udp ? "udp" : "tcp";
    std::string match = p.host_addr == "0.0.0.0" ? "fib daddr type local" : "ip daddr " + p.host_addr;
    dnat += "    " + match + " " + proto + " dport " + std::to_string(p.host_port) + " dnat to " +
            sb + ":" + std::to_string(p.sandbox_port) + "\n";
    if (p.host_addr == "0.0.0.0" || p.host_addr.rfind("127.", 0) == 0) loopback = true;
  }
  std::string t = "table ip " + n.table + " {\n";
  // Security: route_localnet (needed to publish on 127.0.0.1) would let a sandbox reach the
  // host's loopback services through the bridge; nothing from the bridge may go to 127/8.
  t += "  chain guard {\n    type filter hook prerouting priority raw; policy accept;\n"
       "    iifname " + br + " ip daddr 127.0.0.0/8 drop\n  }\n";
  if (!dnat.empty()) {
    t += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n" +
         dnat + "  }\n";
    // -100 is dstnat: nft 1.0.6 accepts that name in prerouting only.
    t += "  chain output {\n    type nat hook output priority -100; policy accept;\n" + dnat +
         "  }\n";
  }
  t += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
       "    ip saddr " + net + " oifname != " + br + " masquerade\n";
  if (loopback) t += "    ip saddr 127.0.0.0/8 ip daddr " + sb + " masquerade\n";
  t += "  }\n}\n";
  return pin + t;
}

class VethSession : public Session {
 public:
  VethSession(const Spec& spec, const NetPlan& plan, pid_t child) {
    names_ = {plan.net_helper, table_name(), "sbv" + std::to_string(::getpid())};
    Ipv4Subnet subnet = spec.subnet ? *spec.subnet : parse_subnet(kDefaultSubnet);
    uint32_t gateway = subnet.network + 1;
    io::make_dirs(kStateDir, 0700);
    uint32_t addr;
    {
      BridgeLock lock;  // see teardown(): lock files are removed under it
      addr = allocate(subnet, names_.host_if);
    }
    names_.addr_file = addr_file(addr);
    Names n = names_;
    keeper_ = spawn_keeper({}, {addr_lock_.get()}, [n] { teardown(n); });
    try {
      collect_stale(plan.net_helper);
      {
        BridgeLock lock;
        Rtnl nl;
        int br = nl.link_index(kBridge);
        if (!br && nl.create_bridge(kBridge)) {
          br = nl.link_index(kBridge);
          nl.set_alias(br, kBridgeMarker);
        }
        if (!br) br = nl.link_index(kBridge);
        if (!br) throw Error(std::string("Can't find bridge ") + kBridge);
        nl.add_address(br, gateway, subnet.prefix);
        nl.set_up(br);
        nl.create_veth(names_.host_if, br, kInnerIfname, child, mac_bytes(addr));
        nl.set_up(nl.link_index(names_.host_if));
      }
      configure_inside(child, addr, subnet.prefix, gateway);
      {
        // Outbound traffic is routed from the bridge to the host's uplinks.
        BridgeLock lock;
        if (write_sysctl(kIpForward, "1"))
          UniqueFd(::open(forward_marker().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
      }
      bool loopback = false;
      for (const auto& p : spec.publish)
        loopback |= p.host_addr == "0.0.0.0" || p.host_addr.rfind("127.", 0) == 0;
      if (loopback)  // DNAT from 127.0.0.1 to the bridge (see the guard chain)
        write_sysctl(std::string("/proc/sys/net/ipv4/conf/") + kBridge + "/route_localnet", "1");
      NftResult r = run_nft(names_.nft, {"-f", "-"}, nft_ruleset(names_, spec, subnet, addr));
      if (r.status != 0) throw Error("--net veth: nft refused the NAT rules: " + r.out);
      state_ = State::Ready;
    } catch (const Error& e) {
      error_ = e.what();
      state_ = State::Failed;
    }
    log::info("--net veth: " + format_ipv4(addr) + "/" + std::to_string(subnet.prefix) + " on " +
              kBridge);
  }

  ~VethSession() override {
    stop_keeper(keeper_);
  }

  std::vector<int> fds() const override { return {}; }

  State step(std::string& error) override {
    if (state_ == State::Failed && !reported_) {
      reported_ = true;
      error = error_;
      return state_;
    }
    return state_ == State::Failed ? State::Ready : state_;  // reported once
  }

 private:
  // Called with the bridge lock held. `host_if`: the veth that will use the address.
  uint32_t allocate(const Ipv4Subnet& s, const std::string& host_if) {
    uint32_t hosts = (s.prefix >= 31 ? 0 : (1u << (32 - s.prefix)) - 2);
    Rtnl nl;
    for (uint32_t h = 2; h <= hosts; ++h) {
      uint32_t a = s.network + h;
      std::string path = addr_file(a);
      UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!fd) throw_errno("Can't open " + path);
      if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
      // Security: a free lock whose veth still exists belongs to a sandbox that outlived its
      // supervisor and keeper; giving its address out again would let two sandboxes share it.
      char buf[64] = {};
      ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
      std::string user = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
      if (!user.empty() && user.rfind("sbv", 0) == 0 && nl.link_index(user)) continue;
      if (::ftruncate(fd.get(), 0) < 0 ||
          ::pwrite(fd.get(), host_if.data(), host_if.size(), 0) != static_cast<ssize_t>(host_if.size()))
        throw_errno("Can't write " + path);
      addr_lock_ = std::move(fd);
      return a;
    }
    throw Error("--net veth: no free address left in " + format_ipv4(s.network) + "/" +
                std::to_string(s.prefix));
  }

  // Tables of sandboxes whose supervisor and keeper were both killed outright, once their
  // veth is gone too (while the orphaned sandbox runs, its port stays pinned).
  static void collect_stale(const std::string& nft) {
    NftResult r = run_nft(nft, {"list", "tables"});
    if (r.status != 0) return;
    Rtnl nl;
    size_t start = 0;
    while (start < r.out.size()) {
      size_t end = r.out.find('\n', start);
      if (end == std::string::npos) end = r.out.size();
      std::string line = r.out.substr(start, end - start);
      start = end + 1;
      std::string family;
      for (const char* f : {"ip", "bridge"})
        if (line.rfind(std::string("table ") + f + " sandbox-", 0) == 0) family = f;
      if (family.empty()) continue;
      std::string pid = line.substr(std::string("table  sandbox-").size() + family.size());
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos ||
          pid.size() > 9)
        continue;
      if (::kill(std::stoi(pid), 0) < 0 && errno == ESRCH && !nl.link_index("sbv" + pid))
        if (NftResult d = run_nft(nft, {"delete", "table", family, "sandbox-" + pid}); d.status != 0)
          log::warning("--net veth: can't remove the stale nftables table " + family +
                       " sandbox-" + pid + " of an ended sandbox: " + d.out +
                       "; remove it with `nft delete table " + family + " sandbox-" + pid + "`");
    }
  }

  Names names_;
  UniqueFd addr_lock_;
  pid_t keeper_ = -1;
  State state_ = State::Pending;
  std::string error_;
  bool reported_ = false;
};

}  // namespace

std::unique_ptr<Session> start_veth(const Spec& spec, const NetPlan& plan, pid_t child,
                                    const SandboxNs&) {
  return std::make_unique<VethSession>(spec, plan, child);
}

}  // namespace sb::net
