// Cost of --allow-net (issue 17), measured in one run against its peers:
//
//  1. Loading the egress table: 10 and 1,000 rules, as sandbox loads it (one nfnetlink
//     batch, net::load_egress) and as `nft -f -` loads the same table's text (the way it
//     was loaded before), each in a fresh user + network namespace; no rules costs nothing
//     (no table).
//  2. End to end: `sandbox --ro-bind / / --net user [--allow-net ...] true` with 0, 10 and
//     1,000 rules, interleaved rounds (the user-mode network helper dominates; the
//     difference is the table).
//  3. Per connection: connect + close loops from a network namespace to a server in
//     another one (a veth pair between them), without a table, and through the table
//     with 10 and 1,000 rules (the server's address in the last port set: every SYN
//     walks the chain and its set lookups; later packets match conntrack).
//
//   build/egress_bench [--runs N] [--conns N] [--sandbox PATH] [--nft PATH|none]
//
// Needs unprivileged user namespaces (or root) and `ip` (iproute2) for part 3.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "net/egress.hpp"
#include "net/nfnl.hpp"
#include "util/fd.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The rules: even ones a /24 on port 443, odd ones an address on any port (none adjacent:
// nothing merges); the last one
// (when `server` is set) allows the server's address on its port.
// With `addresses`, every rule is a single address on any port (none adjacent).
std::vector<sb::NetAllow> make_rules(int n, const std::string& server = {}, bool addresses = false) {
  std::vector<sb::NetAllow> out;
  for (int i = 0; i < n; ++i) {
    char v[64];
    if (addresses)
      std::snprintf(v, sizeof v, "192.168.%d.%d", i / 125, (i % 125) * 2 + 1);
    else if (i % 2 == 0)
      std::snprintf(v, sizeof v, "10.%d.%d.0/24:443", i / 250, i % 250);
    else
      std::snprintf(v, sizeof v, "172.16.%d.%d", i / 250, i % 250 + 1);
    out.push_back(sb::net::parse_allow_net(v));
  }
  if (!server.empty()) out.back() = sb::net::parse_allow_net(server);
  return out;
}

bool put(const char* path, const std::string& s) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
  if (fd >= 0) ::close(fd);
  return ok;
}

// In a forked child: a new user + network namespace, mapped to root inside.
bool enter_fresh_netns() {
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) return false;
  return put("/proc/self/setgroups", "deny") &&
         put("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") &&
         put("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n");
}

// Runs `body` in a forked child in a fresh namespace; returns what it wrote (a double),
// or a negative number on failure.
double in_child(const std::function<double()>& body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    double r = enter_fresh_netns() ? body() : -2;
    (void)!::write(p[1], &r, sizeof r);
    ::_exit(0);
  }
  ::close(p[1]);
  double r = -1;
  if (::read(p[0], &r, sizeof r) != sizeof r) r = -1;
  ::close(p[0]);
  ::waitpid(pid, nullptr, 0);
  return r;
}

double load_batch(const sb::net::EgressTable& t) {
  try {
    auto t0 = Clock::now();
    sb::UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
    sb::net::load_egress(nl.get(), t);
    return ms_since(t0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_egress: %s\n", e.what());
    return -3;
  }
}

// `nft -f -` on `text`, from the memfd (as the earlier implementation ran it): fork+exec
// to exit.
double load_nft(const std::string& nft, const std::string& text) {
  int in = ::memfd_create("egress.nft", MFD_CLOEXEC);
  if (in < 0 || ::write(in, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::lseek(in, 0, SEEK_SET) != 0)
    return -4;
  auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in, 0);
    const char* argv[] = {nft.c_str(), "-f", "-", nullptr};
    ::execv(nft.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  double ms = ms_since(t0);
  ::close(in);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ms : -5;
}

double run_wall(const std::vector<std::string>& argv) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  double ms = ms_since(t0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ms : -1;
}

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// Part 3, in the client's namespace (root in its user namespace): a server namespace
// (a child that unshares its network namespace) on the other end of a veth pair.
void per_connection(int conns, int rounds) {
  int go[2], ready[2];
  if (::pipe2(go, O_CLOEXEC) < 0 || ::pipe2(ready, O_CLOEXEC) < 0) return;
  pid_t server = ::fork();
  if (server == 0) {
    if (::unshare(CLONE_NEWNET) < 0) ::_exit(1);
    char c;
    (void)!::write(ready[1], "u", 1);
    if (::read(go[0], &c, 1) != 1) ::_exit(1);
    if (sh("ip link set lo up && ip addr add 10.99.0.2/24 dev v1 && ip link set v1 up") != 0) ::_exit(1);
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(8443);
    a.sin_addr.s_addr = inet_addr("10.99.0.2");
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || ::listen(s, 4096) < 0) ::_exit(1);
    (void)!::write(ready[1], "s", 1);
    while (true) {
      int c2 = ::accept4(s, nullptr, nullptr, SOCK_CLOEXEC);
      if (c2 >= 0) ::close(c2);
    }
  }
  char c;
  if (::read(ready[0], &c, 1) != 1) return;
  if (sh("ip link set lo up && ip link add v0 type veth peer name v1 netns " + std::to_string(server) +
         " && ip addr add 10.99.0.1/24 dev v0 && ip link set v0 up") != 0) {
    std::printf("  per-connection: SKIP (ip could not make the veth pair)\n");
    ::kill(server, SIGKILL);
    ::waitpid(server, nullptr, 0);
    return;
  }
  (void)!::write(go[1], "g", 1);
  if (::read(ready[0], &c, 1) != 1) return;
  ::usleep(200000);  // the veth carrier
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(8443);
  a.sin_addr.s_addr = inet_addr("10.99.0.2");
  // One connect + close (RST: no TIME_WAIT piling up over the loops); µs per connection.
  auto loop = [&](int n) {
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      linger l{1, 0};
      ::setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        ::close(s);
        return -1.0;
      }
      ::close(s);
    }
    return ms_since(t0) * 1000.0 / n;
  };
  // Tables are loaded in turn into this namespace: none, 10 rules, 1,000 rules; each
  // measured in `rounds` interleaved batches (the table is swapped by reloading: deleting
  // the table is one more batch, not measured).
  // "stateful": the table with its `ct state` rule (names, --publish, veth), which turns
  // conntrack on; "stateless": addresses only, as the sandbox loads it when nothing needs
  // conntrack (net::egress_needs_state).
  const char* names[] = {"no policy", "10 rules, stateful", "1,000 rules, stateful",
                         "10 rules, stateless", "1,000 rules, stateless"};
  const int sizes[] = {0, 10, 1000, 10, 1000};
  const bool stateful[] = {false, true, true, false, false};
  constexpr int kContestants = 5;
  std::vector<double> us[kContestants];
  bool loaded = false;
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < kContestants; ++k) {
      sb::UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
      if (loaded) {
        sb::net::nfnl::Builder b;
        size_t m = b.begin_msg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE, NLM_F_REQUEST,
                               NFPROTO_INET, 0, 0);
        b.str(NFTA_TABLE_NAME, sb::net::kEgressTable);
        b.end_msg(m);
        sb::net::nfnl::send_batches(nl.get(), {{b.buf, "delete the table"}}, "egress_bench");
        loaded = false;
      }
      if (sizes[k]) {
        sb::net::load_egress(nl.get(), sb::net::egress_table(make_rules(sizes[k], "10.99.0.2:8443"),
                                                             std::nullopt, stateful[k]));
        loaded = true;
      }
      double v = loop(conns / rounds);
      if (v < 0) {
        std::printf("  per-connection: connect failed with %s (%s)\n", names[k], std::strerror(errno));
        ::kill(server, SIGKILL);
        ::waitpid(server, nullptr, 0);
        return;
      }
      us[k].push_back(v);
    }
  }
  for (int k = 0; k < kContestants; ++k)
    std::printf("  %-24s %8.2f us/connection   x%.3f\n", names[k], median(us[k]),
                median(us[k]) / median(us[0]));
  ::kill(server, SIGKILL);
  ::waitpid(server, nullptr, 0);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 30, conns = 20000;
  std::string sandbox, nft = "/usr/sbin/nft";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string o = argv[i];
    if (o == "--runs") runs = std::atoi(argv[i + 1]);
    else if (o == "--conns") conns = std::atoi(argv[i + 1]);
    else if (o == "--sandbox") sandbox = argv[i + 1];
    else if (o == "--nft") nft = argv[i + 1];
  }
  if (sandbox.empty()) {
    std::string self = argv[0];
    sandbox = self.substr(0, self.rfind('/') + 1) + "sandbox";
  }
  if (nft != "none" && ::access(nft.c_str(), X_OK) != 0) nft = "none";
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // nothing buffered is duplicated by fork
  std::printf("egress_bench: %d runs; uid %d\n", runs, static_cast<int>(::getuid()));

  // 1. Loading the table, fresh namespace each time, interleaved.
  std::printf("\n1. Loading the egress table (median ms, fresh user+net namespace each run)\n");
  for (int n : {10, 1000, -1000}) {
    const bool addresses = n < 0;
    n = std::abs(n);
    const auto table = sb::net::egress_table(make_rules(n, {}, addresses));
    const std::string text = sb::net::egress_ruleset(table);
    std::vector<double> batch, tool;
    for (int r = 0; r < runs; ++r) {
      double b = in_child([&] { return load_batch(table); });
      if (b < 0) {
        std::printf("  SKIP: no user+net namespace here, or the kernel refused (%g)\n", b);
        return 1;
      }
      batch.push_back(b);
      if (nft != "none") tool.push_back(in_child([&] { return load_nft(nft, text); }));
    }
    std::printf("  %5d %-9s: nfnetlink batch %.3f ms", n, addresses ? "addresses" : "rules", median(batch));
    if (!tool.empty() && *std::min_element(tool.begin(), tool.end()) >= 0)
      std::printf("   nft -f - %.3f ms   (nft / batch: x%.1f)", median(tool),
                  median(tool) / median(batch));
    std::printf("\n");
  }

  // 2. End to end.
  std::printf("\n2. sandbox --ro-bind / / --net user [--allow-net x N] true (median ms, interleaved)\n");
  if (::access(sandbox.c_str(), X_OK) != 0) {
    std::printf("  SKIP: %s not found (--sandbox PATH)\n", sandbox.c_str());
  } else {
    std::vector<std::string> base{sandbox, "--ro-bind", "/", "/", "--net", "user"};
    std::vector<std::vector<std::string>> cmds;
    for (int n : {0, 10, 1000}) {
      auto c = base;
      for (const auto& r : make_rules(n)) {
        c.push_back("--allow-net");
        c.push_back(r.text);
      }
      c.push_back("--");
      c.push_back("/bin/true");
      cmds.push_back(c);
    }
    std::vector<double> t[3];
    for (int r = 0; r < runs; ++r)
      for (int k = 0; k < 3; ++k) {
        int j = (k + r) % 3;  // rotate who starts the round
        double v = run_wall(cmds[j]);
        if (v < 0) {
          std::printf("  FAIL: %s ... exited non-zero (try it by hand)\n", sandbox.c_str());
          return 1;
        }
        t[j].push_back(v);
      }
    const char* names[] = {"no rules", "10 rules", "1,000 rules"};
    for (int k = 0; k < 3; ++k)
      std::printf("  %-12s %8.2f ms   %+.2f ms   x%.3f\n", names[k], median(t[k]),
                  median(t[k]) - median(t[0]), median(t[k]) / median(t[0]));
  }

  // 3. Per connection.
  std::printf("\n3. connect + close through the table (median of %d rounds, %d connections in all)\n",
              10, conns);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!enter_fresh_netns()) {
      std::printf("  SKIP: no user+net namespace\n");
      ::_exit(0);
    }
    std::fflush(stdout);
    per_connection(conns, 10);
    std::fflush(stdout);
    ::_exit(0);
  }
  ::waitpid(pid, nullptr, 0);
  return 0;
}
