// --net pasta / --net slirp4netns: a user-mode TCP/IP stack outside the sandbox, attached to
// a tap device in the sandbox's network namespace.
//
// Both run in the foreground as the child of a keeper process (spawn_keeper), never as a
// daemon: sandbox can then always stop them, and the keeper stops them when the supervisor
// dies, even by SIGKILL (pasta of this vintage does not notice its target namespace
// going away, and as root it drops to "nobody", which clears a PR_SET_PDEATHSIG of its own).
// Readiness: pasta writes its PID file once the namespace is configured; the PID file is a
// FIFO sandbox reads. slirp4netns writes to --ready-fd. Ports are published by pasta's
// -t/-u and by slirp4netns' API socket (add_hostfwd) before the command runs.
//
// Namespaces: the helper gets the sandbox's network (and user) namespace as descriptors it
// inherits, named /proc/self/fd/N on its command line. Security: never /proc/CHILD/ns/*,
// which needs the setup child dumpable (traceable, its /proc/PID/fd open to any process of
// the caller's uid) for as long as the helper starts; the child opened its own and sent them
// (MsgType::NetNs). A process's own /proc/self/fd is open to it whatever its capabilities,
// so pasta as root (three capabilities left) reaches them too.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

#include "net/net.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"

namespace sb::net {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStartTimeout = std::chrono::seconds(10);

// The private directory (0700) for pasta's PID FIFO and slirp4netns' API socket, named
// BASE/sandbox-net-XXXXXX. Nothing of it should outlive the setup: the supervisor removes it
// as soon as the helper has reported ready (and the ports are published), the keeper removes
// it if the setup ends early. What only SIGKILL of both (a cgroup or OOM kill, kill -9 of
// everything named sandbox) can leave, the next run sweeps: every process that uses such a
// directory holds an flock on it for its whole life, so a directory of the caller's uid that
// is unlocked and older than kStaleAfter has no owner left.
constexpr const char* kPrivatePrefix = "sandbox-net-";
constexpr auto kStaleAfter = std::chrono::seconds(30);  // > kStartTimeout: an old build's setup

struct PrivateDir {
  UniqueFd base;  // BASE, where the directory's entry lives
  UniqueFd fd;    // the directory itself, flocked (shared with the keeper, never the helper)
  std::string name;
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
};

std::string private_dir_base() {
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && x[0] == '/') {
    struct stat st;
    if (::stat(x, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::getuid() &&
        ::access(x, W_OK) == 0)
      return x;
  }
  return "/tmp";
}

// Removes the entries the helpers make (never anything else: a file of unknown origin keeps
// the directory, and is reported by the keeper) and then the directory, through descriptors.
// Returns "" or what failed.
std::string remove_dir_at(int base, int dir, const std::string& name, dev_t dev, ino_t ino,
                          const std::string& path) {
  std::string failed;
  for (const char* f : {"pid", "api.sock"}) {
    // Security: relative to the directory's own descriptor, never a path through BASE that
    // another process could have replaced since; unlinkat never follows a final symlink.
    if (::unlinkat(dir, f, 0) < 0 && errno != ENOENT && failed.empty())
      failed = "can't remove " + path + "/" + f + ": " + std::strerror(errno);
  }
  struct stat st;
  // Security: only the entry that still is our directory goes (AT_SYMLINK_NOFOLLOW: a symlink
  // of that name is another inode). In a sticky BASE nobody else can rename or replace our
  // entry between this check and the unlinkat; the sweep holds the flock meanwhile.
  if (::fstatat(base, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != ENOENT && failed.empty())
      failed = "can't check the directory " + path + ": " + std::strerror(errno);
    return failed;
  }
  if (st.st_dev != dev || st.st_ino != ino) return failed;  // already gone, the name reused
  // Security: AT_REMOVEDIR removes an empty directory only, never follows a symlink.
  if (::unlinkat(base, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT && failed.empty())
    failed = "can't remove the directory " + path + ": " + std::strerror(errno);
  return failed;
}

// Never silent when `report`: a directory left behind is reported once (from the keeper,
// whose stderr is the caller's), with what and why.
void report_left(const std::string& failed, const std::string& path) {
  if (!failed.empty())
    log::warning("network clean-up: " + failed + "; remove it with `rm -r " + path + "`");
}

void remove_private_dir(const PrivateDir& d, bool report) {
  if (!d.fd) return;
  std::string failed = remove_dir_at(d.base.get(), d.fd.get(), d.name, d.dev, d.ino, d.path);
  if (report) report_left(failed, d.path);
}

// Removes the caller's own directories that a SIGKILLed sandbox left in `base`.
void sweep_stale_dirs(int base) {
  int scan = ::openat(base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (scan < 0) return;
  DIR* d = ::fdopendir(scan);
  if (!d) {
    ::close(scan);
    return;
  }
  const time_t now = ::time(nullptr);
  while (dirent* e = ::readdir(d)) {
    if (!is_private_dir_name(e->d_name)) continue;
    // Security: O_NOFOLLOW|O_DIRECTORY: a symlink (or anything but a directory) named like
    // ours is never followed, so its target is never touched.
    UniqueFd fd(::openat(base, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) continue;
    struct stat st;
    // Security: only the caller's own directories; root's sweep skips every other user's.
    if (::fstat(fd.get(), &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
      continue;
    // A directory just made by mkdtemp is not locked yet: only old ones are candidates.
    if (now - st.st_mtime < kStaleAfter.count()) continue;
    // Security: a running sandbox (supervisor or keeper) holds the lock; held, it stays.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue;
    std::string failed = remove_dir_at(base, fd.get(), e->d_name, st.st_dev, st.st_ino, e->d_name);
    if (!failed.empty()) log::info("stale network directory left: " + failed);
  }
  ::closedir(d);
}

PrivateDir make_private_dir() {
  PrivateDir d;
  std::string base = private_dir_base();
  d.base.reset(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.base) throw_errno("Can't open " + base);
  std::string tmpl = base + "/" + kPrivatePrefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw_errno("Can't create a directory in " + base);
  d.path = tmpl;
  d.name = tmpl.substr(base.size() + 1);
  // Security: O_NOFOLLOW and the owner check: the descriptor is the directory mkdtemp made
  // (in a sticky /tmp nobody else can have replaced it).
  d.fd.reset(::openat(d.base.get(), d.name.c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!d.fd || ::fstat(d.fd.get(), &st) < 0 || st.st_uid != ::geteuid()) {
    int err = errno;
    ::rmdir(d.path.c_str());
    errno = err;
    throw_errno("Can't open " + d.path);
  }
  d.dev = st.st_dev;
  d.ino = st.st_ino;
  // Held for the directory's whole life (by the supervisor and the keeper, which share this
  // open file): the sweep of another run leaves a locked directory alone.
  if (::flock(d.fd.get(), LOCK_EX | LOCK_NB) < 0) {
    int err = errno;
    ::rmdir(d.path.c_str());
    errno = err;
    throw_errno("Can't lock " + d.path);
  }
  return d;
}

// The name of the helper's inherited descriptor `fd`.
std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// True when the nsfs descriptor `userns` is another user namespace than ours.
bool other_userns(int userns) {
  struct stat a, b;
  if (::stat("/proc/self/ns/user", &a) < 0) throw_errno("Can't stat /proc/self/ns/user");
  if (::fstat(userns, &b) < 0) throw_errno("Can't stat the sandbox's user namespace");
  return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

std::string publish_addr(const PortForward& p) {
  return p.host_addr == "0.0.0.0" ? "" : p.host_addr + "/";
}

// Where pasta finds the sandbox's namespaces: its inherited descriptors (see the top).
struct PastaTarget {
  std::string netns;
  std::string userns;  // empty: the sandbox shares our user namespace
  bool runas_root = false;
};

std::vector<std::string> pasta_argv(const Spec& spec, const NetPlan& plan, const PastaTarget& t,
                                    const std::string& pidfile) {
  std::vector<std::string> a = {plan.net_helper, "--foreground", "--quiet", "--config-net",
                                "--ns-ifname", kUserModeIfname, "--address", kUserModeAddress,
                                "--netmask", "24", "--gateway", kUserModeGateway,
                                // DNS sent to 10.0.2.3 goes to the host's resolver.
                                "--dns-forward", kUserModeDns,
                                // Nothing bound on the host's loopback shows up inside by
                                // itself; only --publish opens ports from outside in.
                                "-T", "none", "-U", "none", "--pid", pidfile};
  // Security: as root pasta would switch to "nobody", which cannot enter a namespace root
  // owns. It stays uid 0 instead, but still drops all capabilities but CAP_NET_BIND_SERVICE,
  // CAP_NET_ADMIN and CAP_SYS_ADMIN, pivots into an empty root and confines itself with
  // seccomp before it handles any packet.
  if (t.runas_root) a.insert(a.end(), {"--runas", "0:0"});
  // Security: pasta maps the gateway address to the host's loopback unless told not to;
  // services on the host's 127.0.0.1 (databases, debuggers, admin APIs) are reachable
  // only when the caller asks for it with --net-host-loopback.
  if (!spec.net_host_loopback) a.push_back("--no-map-gw");
  bool tcp = false, udp = false;
  for (const auto& p : spec.publish) {
    (p.udp ? udp : tcp) = true;
    a.push_back(p.udp ? "-u" : "-t");
    a.push_back(publish_addr(p) + std::to_string(p.host_port) + ":" +
                std::to_string(p.sandbox_port));
  }
  // Without a port of its kind, pasta's default would forward every port bound inside.
  if (!tcp) a.insert(a.end(), {"-t", "none"});
  if (!udp) a.insert(a.end(), {"-u", "none"});
  if (!t.userns.empty()) {
    a.insert(a.end(), {"--userns", t.userns});
  } else {
    a.push_back("--netns-only");
  }
  a.insert(a.end(), {"--netns", t.netns});
  return a;
}

std::vector<std::string> slirp_argv(const Spec& spec, const NetPlan& plan, int netns_fd,
                                    int userns_fd, const std::string& api_socket) {
  // Security: slirp4netns confines itself before it handles the sandbox's packets: a
  // seccomp filter always; as root also --enable-sandbox (a mount namespace with an empty
  // root, capabilities dropped). Unprivileged, slirp4netns can only build that sandbox by
  // joining the sandbox's user namespace as its uid 0, which it does not have (our maps
  // give the caller's uid alone) and which would put it beside the command; it stays in
  // the caller's user namespace, out of the command's reach, with the filter.
  std::vector<std::string> a = {plan.net_helper, "--configure", "--mtu=65520",
                                "--ready-fd=3", "--exit-fd=4", "--enable-seccomp"};
  if (::geteuid() == 0) a.push_back("--enable-sandbox");
  // Security: 10.0.2.2 reaches the host's 127.0.0.1 only when asked (--net-host-loopback).
  if (!spec.net_host_loopback) a.push_back("--disable-host-loopback");
  if (!spec.publish.empty()) a.push_back("--api-socket=" + api_socket);
  if (userns_fd >= 0) a.push_back("--userns-path=" + fd_path(userns_fd));
  a.insert(a.end(), {"--netns-type=path", fd_path(netns_fd), kUserModeIfname});
  return a;
}

class UserModeSession : public Session {
 public:
  UserModeSession(const Spec& spec, const NetPlan& plan, const SandboxNs& ns) : plan_(plan) {
    name_ = mode_row(plan.net).name;
    publish_ = spec.publish;
    deadline = Clock::now() + kStartTimeout;
    // Every run sweeps what SIGKILLed runs left, whether it needs a directory or not.
    if (UniqueFd base{::open(private_dir_base().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)})
      sweep_stale_dirs(base.get());
    // slirp4netns needs a directory for its API socket only (--publish).
    if (plan.net == NetMode::Pasta || !spec.publish.empty()) dir_ = make_private_dir();
    try {
      launch(spec, ns);
    } catch (...) {
      remove_private_dir(dir_, true);
      throw;
    }
  }

  ~UserModeSession() override {
    stop_keeper(keeper_);
  }

  std::vector<int> fds() const override {
    std::vector<int> v;
    if (err_) v.push_back(err_.get());
    if (state_ == State::Pending && ready_) v.push_back(ready_.get());
    return v;
  }

  State step(std::string& error) override {
    drain_stderr();
    if (state_ == State::Failed) return state_;
    if (keeper_ > 0 && ::waitpid(keeper_, nullptr, WNOHANG) == keeper_) {
      keeper_ = -1;
      drain_stderr();
      error = name_ + (state_ == State::Pending ? " failed to set up the network"
                                                : " exited: the sandbox has no network now");
      if (!last_words().empty()) error += ": " + last_words();
      return fail();
    }
    if (state_ != State::Pending) return state_;
    if (is_ready()) {
      try {
        for (const auto& p : publish_)
          if (plan_.net == NetMode::Slirp4netns) add_hostfwd(p);
      } catch (const Error& e) {
        error = e.what();
        return fail();
      }
      ready_.reset();
      // The helper has written its PID file, its API socket has served: nothing of the
      // directory is needed any more, and nothing is left if everything is SIGKILLed later.
      // Quietly: what cannot go now, the keeper retries and reports at the end.
      remove_private_dir(dir_, false);
      return state_ = State::Ready;
    }
    if (Clock::now() >= deadline) {
      error = name_ + " did not set up the network within " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kStartTimeout).count()) +
              " s";
      if (!last_words().empty()) error += ": " + last_words();
      return fail();
    }
    return state_;
  }

 private:
  void launch(const Spec& spec, const SandboxNs& ns) {
    if (ns.net < 0 || ns.user < 0) throw Error("The sandbox did not hand over its namespaces");
    // The sandbox shares our user namespace (root without one): only the network's joined.
    const bool userns = other_userns(ns.user);
    UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull) throw_errno("Can't open /dev/null");
    int errp[2];
    if (::pipe2(errp, O_CLOEXEC | O_NONBLOCK) < 0) throw_errno("pipe");
    err_.reset(errp[0]);
    UniqueFd err_w(errp[1]);
    std::vector<int> fds = {devnull.get(), err_w.get(), err_w.get()};
    std::vector<std::string> argv;
    UniqueFd ready_w, exit_r;
    if (plan_.net == NetMode::Pasta) {
      std::string fifo = dir_.path + "/pid";
      if (::mkfifoat(dir_.fd.get(), "pid", 0600) < 0) throw_errno("Can't create " + fifo);
      // Read-write: opening never blocks, and pasta's open for writing never waits either.
      ready_.reset(::openat(dir_.fd.get(), "pid", O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
      if (!ready_) throw_errno("Can't open " + fifo);
      // spawn_keeper dups them to these numbers in pasta's process only (O_CLOEXEC here).
      fds.push_back(ns.net);  // 3
      if (userns) fds.push_back(ns.user);  // 4
      PastaTarget t{fd_path(3), userns ? fd_path(4) : "", ::geteuid() == 0};
      argv = pasta_argv(spec, plan_, t, fifo);
    } else {
      int rp[2], ep[2];
      if (::pipe2(rp, O_CLOEXEC) < 0 || ::pipe2(ep, O_CLOEXEC) < 0) throw_errno("pipe");
      ready_.reset(rp[0]);
      ready_w.reset(rp[1]);
      exit_r.reset(ep[0]);
      // slirp4netns exits when this closes: with the supervisor, whatever kills it.
      exit_w_.reset(ep[1]);
      ::fcntl(ready_.get(), F_SETFL, O_NONBLOCK);
      fds.push_back(ready_w.get());  // 3: --ready-fd
      fds.push_back(exit_r.get());   // 4: --exit-fd
      fds.push_back(ns.net);         // 5
      if (userns) fds.push_back(ns.user);  // 6
      argv = slirp_argv(spec, plan_, 5, userns ? 6 : -1, dir_.path + "/api.sock");
    }
    // The keeper keeps the directory's descriptors (and so its lock) until its teardown.
    std::vector<int> keeper_fds;
    if (dir_.fd) keeper_fds = {dir_.base.get(), dir_.fd.get()};
    keeper_ = spawn_keeper(
        argv, fds,
        [base = dir_.base.get(), fd = dir_.fd.get(), name = dir_.name, dev = dir_.dev,
         ino = dir_.ino, path = dir_.path] {
          if (fd >= 0) report_left(remove_dir_at(base, fd, name, dev, ino, path), path);
        },
        {}, keeper_fds);
  }

  bool is_ready() {
    char buf[64];
    ssize_t n = ::read(ready_.get(), buf, sizeof buf);
    // pasta writes "PID\n" to the FIFO, slirp4netns "1" to the pipe.
    return n > 0;
  }

  State fail() {
    if (keeper_ > 0) ::kill(keeper_, SIGTERM);
    ready_.reset();
    return state_ = State::Failed;
  }

  void drain_stderr() {
    if (!err_) return;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(err_.get(), buf, sizeof buf);
      if (n > 0) {
        output_.append(buf, static_cast<size_t>(n));
        if (output_.size() > 16384) output_.erase(0, output_.size() - 8192);
        continue;
      }
      if (n == 0) err_.reset();  // every writer is gone
      return;
    }
  }

  // The helper's last meaningful lines (pasta complains about a missing syslog on each).
  std::string last_words() const {
    std::string out;
    size_t start = 0;
    while (start < output_.size()) {
      size_t end = output_.find('\n', start);
      if (end == std::string::npos) end = output_.size();
      std::string line = output_.substr(start, end - start);
      start = end + 1;
      if (line.empty() || line.find("to syslog") != std::string::npos) continue;
      if (!out.empty()) out += "; ";
      out += line;
    }
    if (out.size() > 600) out = "..." + out.substr(out.size() - 600);
    return out;
  }

  // slirp4netns' API: one JSON request per connection, answered with one JSON object.
  void add_hostfwd(const PortForward& p) {
    std::string path = dir_.path + "/api.sock";
    std::string req = std::string("{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"") +
                      (p.udp ? "udp" : "tcp") + "\", \"host_addr\": \"" + p.host_addr +
                      "\", \"host_port\": " + std::to_string(p.host_port) +
                      ", \"guest_port\": " + std::to_string(p.sandbox_port) + "}}";
    std::string what = "--publish " + p.text + ": slirp4netns";
    UniqueFd s;
    for (;;) {  // the socket appears right after slirp4netns reports ready
      s.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!s) throw_errno(what + ": socket");
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
      if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
      if ((errno != ENOENT && errno != ECONNREFUSED) || Clock::now() >= deadline)
        throw_errno(what + ": can't connect to the API socket " + path);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (::write(s.get(), req.data(), req.size()) != static_cast<ssize_t>(req.size()))
      throw_errno(what + ": can't send the request");
    ::shutdown(s.get(), SHUT_WR);
    std::string reply;
    for (;;) {
      pollfd pfd{s.get(), POLLIN, 0};
      int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - Clock::now()).count());
      if (::poll(&pfd, 1, std::max(ms, 1)) <= 0) throw Error(what + ": no answer from the API");
      char buf[1024];
      ssize_t n = ::read(s.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      reply.append(buf, static_cast<size_t>(n));
    }
    if (reply.find("\"return\"") == std::string::npos) {
      while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
      throw Error(what + " refused to forward the port: " + (reply.empty() ? "no answer" : reply) +
                  " (is host port " + std::to_string(p.host_port) + " in use already?)");
    }
  }

  NetPlan plan_;
  std::string name_;
  std::vector<PortForward> publish_;
  PrivateDir dir_;
  pid_t keeper_ = -1;
  UniqueFd ready_;
  UniqueFd err_;
  UniqueFd exit_w_;
  std::string output_;
  State state_ = State::Pending;
};

}  // namespace

bool is_private_dir_name(std::string_view name) {
  const std::string_view prefix = kPrivatePrefix;
  if (name.size() != prefix.size() + 6 || name.substr(0, prefix.size()) != prefix) return false;
  for (char c : name.substr(prefix.size()))
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

std::unique_ptr<Session> start_user_mode(const Spec& spec, const NetPlan& plan, pid_t,
                                         const SandboxNs& ns) {
  return std::make_unique<UserModeSession>(spec, plan, ns);
}

}  // namespace sb::net
