#include "oci/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"

namespace sb::oci {
namespace {

using json = nlohmann::json;

// What the hook's process reports when it fails before its program runs.
struct ChildFailure {
  int step;  // one of kSteps
  int err;
};
constexpr const char* kSteps[] = {"can't execute it", "can't enter the container's user namespace",
                                  "can't enter the container's mount namespace",
                                  "can't chroot to the runtime's root in it",
                                  "can't set up its stdin"};

// The state for the hook's stdin: a pipe filled before the fork, so that a hook that never
// reads cannot block us; a memfd when it would not fit in the pipe.
UniqueFd state_input(const std::string& state) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe");
  UniqueFd r(p[0]), w(p[1]);
  int cap = ::fcntl(w.get(), F_GETPIPE_SZ);
  if (cap > 0 && state.size() <= static_cast<size_t>(cap)) {
    if (!io::write_all(w.get(), state)) throw_errno("Can't write the state for a hook");
    return r;
  }
  UniqueFd m(::memfd_create("oci-state", MFD_CLOEXEC));
  if (!m || !io::write_all(m.get(), state) || ::lseek(m.get(), 0, SEEK_SET) < 0)
    throw_errno("Can't write the state for a hook");
  return m;
}

// True when `ns` is the user namespace we are in already (setns to it is EINVAL).
bool same_userns(int ns) {
  struct stat a, b;
  return ::fstat(ns, &a) == 0 && ::stat("/proc/self/ns/user", &b) == 0 && a.st_ino == b.st_ino &&
         a.st_dev == b.st_dev;
}

// In the forked process: never returns.
[[noreturn]] void start_hook(const Hook& h, char* const* argv, char* const* envp, int in,
                             int report, const std::string& cwd, const HookEnter* enter,
                             bool enter_userns) {
  auto fail = [&](int step) {
    ChildFailure f{step, errno};
    (void)!::write(report, &f, sizeof f);
    ::_exit(127);
  };
  // Its own process group: a timeout kills what it started too.
  ::setpgid(0, 0);
  // What we blocked or ignored (the supervisor takes signals through a signalfd) is the
  // hook's to have by default.
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (enter) {
    // Security: non-dumpable until the exec (which resets it): between setns and execve
    // this is the runtime's image, with its descriptors still open, and a process of a
    // joined user namespace holding CAP_SYS_PTRACE there must not trace it or open its
    // /proc/PID/{fd,mem} (its mm stays the runtime's user namespace's).
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail(1);
    // The owner of the container's user namespace holds every capability in it, which
    // entering its mount namespace needs (as root without a user namespace: already held).
    if (enter_userns && ::setns(enter->userns, CLONE_NEWUSER) < 0) fail(1);
    if (::setns(enter->mntns, CLONE_NEWNS) < 0) fail(2);
    // Our root and cwd are now the namespace's root: the staging root, holding the
    // runtime's tree at enter->root (and the container's new root next to it).
    if (::chroot(enter->root.c_str()) < 0) fail(3);
  }
  if (::chdir(cwd.c_str()) < 0 && ::chdir("/") < 0) fail(3);
  if (in != STDIN_FILENO && ::dup2(in, STDIN_FILENO) < 0) fail(4);
  // Security: nothing of ours beyond 0-2 reaches the hook (the state directory's lock, the
  // container's fifo, namespace handles); `report` is close-on-exec, so its exec closes it.
  ::close_range(3, static_cast<unsigned>(report) - 1, 0);
  ::close_range(static_cast<unsigned>(report) + 1, ~0U, 0);
  ::execve(h.path.c_str(), argv, envp);
  fail(0);
  ::_exit(127);  // not reached
}

// Waits for `pid` up to `timeout_s` (none: for ever); kills its process group on expiry.
// Returns the wait status, or nullopt after a timeout.
std::optional<int> wait_hook(pid_t pid, std::optional<int> timeout_s) {
  int st = 0;
  if (timeout_s) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(*timeout_s);
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    for (;;) {
      pid_t r = ::waitpid(pid, &st, WNOHANG);
      if (r == pid) return st;
      if (r < 0 && errno != EINTR) throw_errno("waitpid");
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      if (pidfd) {
        pollfd p{pidfd.get(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 1000)));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no pidfd (Linux < 5.3)
      }
    }
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return std::nullopt;
  }
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) throw_errno("waitpid");
  return st;
}

}  // namespace

void run_hook(const Hook& h, const std::string& state, const std::string& cwd,
              const HookEnter* enter) {
  const std::string name = "config.json: " + h.where + " (" + h.path + ")";
  // Everything the forked process needs is made before the fork.
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  UniqueFd in = state_input(state);
  int rep[2];
  if (::pipe2(rep, O_CLOEXEC) < 0) throw_errno("pipe");
  UniqueFd rep_r(rep[0]), rep_w(rep[1]);
  const bool enter_userns = enter && !same_userns(enter->userns);

  pid_t pid = ::fork();
  if (pid < 0) throw_errno(name + ": fork");
  if (pid == 0) start_hook(h, argv.data(), envp.data(), in.get(), rep_w.get(), cwd, enter, enter_userns);
  rep_w.reset();
  in.reset();
  ChildFailure f{};
  ssize_t n;
  while ((n = ::read(rep_r.get(), &f, sizeof f)) < 0 && errno == EINTR) {
  }
  auto st = wait_hook(pid, h.timeout_s);
  if (n == static_cast<ssize_t>(sizeof f)) {
    const char* step = f.step >= 0 && f.step < 5 ? kSteps[f.step] : "failed";
    throw Error(name + ": " + step + ": " + std::strerror(f.err));
  }
  if (!st)
    throw Error(name + ": timed out after " + std::to_string(*h.timeout_s) + " s and was killed");
  if (WIFEXITED(*st) && WEXITSTATUS(*st) == 0) return;
  if (WIFEXITED(*st))
    throw Error(name + ": exited with status " + std::to_string(WEXITSTATUS(*st)));
  throw Error(name + ": killed by signal " + std::to_string(WTERMSIG(*st)) + " (" +
              ::sigabbrev_np(WTERMSIG(*st)) + ")");
}

void run_hooks(const std::vector<Hook>& list, const std::string& state, const std::string& cwd,
               const HookEnter* enter) {
  for (const auto& h : list) run_hook(h, state, cwd, enter);
}

json hooks_to_json(const std::vector<Hook>& list) {
  json a = json::array();
  for (const auto& h : list) {
    json o = {{"path", h.path}, {"args", h.args}, {"env", h.env}, {"where", h.where}};
    if (h.timeout_s) o["timeout"] = *h.timeout_s;
    a.push_back(o);
  }
  return a;
}

std::vector<Hook> hooks_from_json(const json& j) {
  std::vector<Hook> out;
  if (!j.is_array()) return out;
  for (const auto& o : j) {
    Hook h;
    h.path = o.at("path").get<std::string>();
    h.args = o.at("args").get<std::vector<std::string>>();
    h.env = o.at("env").get<std::vector<std::string>>();
    h.where = o.at("where").get<std::string>();
    if (o.contains("timeout")) h.timeout_s = o.at("timeout").get<int>();
    out.push_back(h);
  }
  return out;
}

}  // namespace sb::oci
