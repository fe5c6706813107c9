#include "oci/runtime.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/close_range.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <functional>
#include <memory>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "host/probe.hpp"
#include "launch/launch.hpp"
#include "limits/cgroup.hpp"
#include "oci/config.hpp"
#include "oci/console.hpp"
#include "oci/hooks.hpp"
#include "oci/exec.hpp"
#include "oci/options.hpp"
#include "security/caps.hpp"
#include "plan/plan.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/nsfs.hpp"
#include "util/parse.hpp"
#include "util/pty.hpp"

namespace sb::oci {
namespace {

using json = nlohmann::json;
constexpr const char kOciVersion[] = "1.2.0";

struct Global {
  std::string prog;
  std::string root;
  std::string log_file;
  bool json_log = false;
};

// An error already reported (by the supervisor, on the shared stderr): only the status.
struct Reported {
  int status;
};

// Errors go to stderr and, with --log, to that file as well (what Podman's conmon reads
// back when the runtime fails), one JSON object per line with --log-format json.
void log_line(const Global& g, const char* level, const std::string& msg) {
  if (g.log_file.empty()) return;
  UniqueFd fd(::open(g.log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return;
  char when[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line = g.json_log ? json{{"level", level}, {"msg", msg}, {"time", when}}.dump()
                                : std::string("time=\"") + when + "\" level=" + level + " msg=" +
                                      json(msg).dump();
  io::write_all(fd.get(), line + "\n");
}

void report(const Global& g, const std::string& msg) {
  log::error(msg);
  log_line(g, "error", msg);
}

// What the runtime did differently from what an engine may assume, without failing: in
// --log (level info) and with --debug on stderr; never on stderr otherwise.
void note(const Global& g, const std::string& msg) {
  log::info(msg);
  log_line(g, "info", msg);
}

std::string default_root() {
  // Whether we are real root is decided from the kernel's uid_map, never from the
  // environment: uid 0 in a user namespace may not write /run.
  auto map = io::read_file("/proc/self/uid_map");
  std::string root = oci::default_root(::geteuid() == 0, map && initial_uid_map(*map),
                                       ::getenv("XDG_RUNTIME_DIR"));
  if (root.empty())
    throw Error(std::string("XDG_RUNTIME_DIR is not set") +
                (::geteuid() == 0 ? " (uid 0 in a user namespace)" : "") +
                ": give the state directory with --root DIR");
  return root;
}

// Field 22 of /proc/PID/stat (start time in clock ticks since boot): with the pid it names
// one process, never a later one that reuses the pid. nullopt when gone or a zombie.
std::optional<uint64_t> start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto stat = io::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string> fields;  // from field 3 (state) on
  size_t i = close + 2;
  while (i < stat->size()) {
    size_t j = stat->find(' ', i);
    if (j == std::string::npos) j = stat->size();
    fields.push_back(stat->substr(i, j - i));
    i = j + 1;
  }
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return std::nullopt;
  return parse::unsigned_dec(fields[19], ~0ULL);
}

std::string now_rfc3339() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09ldZ", ts.tv_nsec);
  return std::string(buf) + frac;
}

// What the state directory keeps about one container.
struct State {
  std::string id, bundle, created;
  pid_t pid = 0;  // the container's process (host pid)
  uint64_t pid_start = 0;
  pid_t supervisor = 0;  // what --pid-file names
  uint64_t supervisor_start = 0;
  bool started = false;
  // `start` waits on start.fifo: the container's process writes why a startContainer hook
  // failed there, or closes it by its exec (then poststart runs).
  bool start_sync = false;
  std::vector<Hook> poststart, poststop;

  json to_json() const {
    return {{"id", id},
            {"bundle", bundle},
            {"created", created},
            {"pid", pid},
            {"pid_start", pid_start},
            {"supervisor", supervisor},
            {"supervisor_start", supervisor_start},
            {"started", started},
            {"start_sync", start_sync},
            {"poststart", hooks_to_json(poststart)},
            {"poststop", hooks_to_json(poststop)}};
  }
  static State from_json(const json& j) {
    State s;
    s.id = j.at("id").get<std::string>();
    s.bundle = j.at("bundle").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.pid_start = j.at("pid_start").get<uint64_t>();
    s.supervisor = j.at("supervisor").get<pid_t>();
    s.supervisor_start = j.at("supervisor_start").get<uint64_t>();
    s.started = j.at("started").get<bool>();
    s.start_sync = j.value("start_sync", false);
    if (j.contains("poststart")) s.poststart = hooks_from_json(j.at("poststart"));
    if (j.contains("poststop")) s.poststop = hooks_from_json(j.at("poststop"));
    return s;
  }
  bool alive() const { return pid > 0 && start_time(pid) == pid_start; }
  bool supervisor_alive() const {
    return supervisor > 0 && start_time(supervisor) == supervisor_start;
  }
  std::string status() const { return !alive() ? "stopped" : started ? "running" : "created"; }
};

// Writes `data` to DIR/NAME through a temporary file and rename, so a reader never sees
// half of it.
void write_atomic(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) throw_errno("Can't create " + tmp);
  if (!io::write_all(fd.get(), data)) throw_errno("Can't write " + tmp);
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("Can't rename " + tmp);
}

// The container's directory under --root, locked (flock) against concurrent calls for
// the same id for as long as this object lives.
struct Container {
  std::string dir;
  UniqueFd fd;

  std::string path(const char* name) const { return dir + "/" + name; }
  std::optional<State> load() const {
    auto text = io::read_file(path("state.json"));
    if (!text) return std::nullopt;
    try {
      return State::from_json(json::parse(*text));
    } catch (const std::exception& e) {
      throw Error("Corrupt state file " + path("state.json") + ": " + e.what());
    }
  }
  void save(const State& s) const { write_atomic(path("state.json"), s.to_json().dump() + "\n", 0600); }
  // Removes the directory (holding only the files we wrote).
  void remove() const {
    for (const char* f : {"state.json", "state.json.tmp", "exec.fifo", "start.fifo", "seccomp.json", "config.json",
                          "config.json.tmp", "exec.json", "exec.json.tmp", "seccomp.bpf",
                          "seccomp.bpf.tmp"})
      ::unlinkat(fd.get(), f, 0);
    if (::rmdir(dir.c_str()) < 0 && errno != ENOENT) throw_errno("Can't remove " + dir);
  }
};

void lock(Container& c, const std::string& id) {
  // A container's commands wait for each other (create until the process is set up).
  while (::flock(c.fd.get(), LOCK_EX) < 0)
    if (errno != EINTR) throw_errno("Can't lock " + c.dir);
  // Deleted while we waited for the lock.
  struct stat st;
  if (::fstat(c.fd.get(), &st) < 0 || st.st_nlink == 0)
    throw Error("container " + id + " does not exist");
}

Container open_container(const Global& g, const std::string& id) {
  if (!valid_container_id(id)) throw Error("invalid container id '" + id + "'");
  Container c{g.root + "/" + id, {}};
  c.fd.reset(::open(c.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!c.fd) {
    if (errno == ENOENT) throw Error("container " + id + " does not exist");
    throw_errno("Can't open " + c.dir);
  }
  lock(c, id);
  return c;
}

// Signals `s`'s process, never a later one with its pid: a pidfd, then the start time.
void signal_container(const State& s, int sig) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0)));
  if (!pidfd || !s.alive()) throw Error("container " + s.id + " is not running");
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0)
    throw_errno("Can't send signal " + std::to_string(sig) + " to container " + s.id);
}

// The pid namespace of `pid` (its nsfs inode and device); nullopt when gone or not ours to
// look at.
std::optional<std::pair<dev_t, ino_t>> pidns_of(const std::string& pid) {
  struct stat st;
  if (::stat(("/proc/" + pid + "/ns/pid").c_str(), &st) < 0) return std::nullopt;
  return std::pair{st.st_dev, st.st_ino};
}

// True when `pid` is pid 1 of its innermost pid namespace (the last NSpid field).
bool is_namespace_init(pid_t pid) {
  auto status = io::read_file("/proc/" + std::to_string(pid) + "/status");
  if (!status) return false;
  size_t at = status->find("\nNSpid:");
  if (at == std::string::npos) return false;
  size_t end = status->find('\n', at + 1);
  std::string line = status->substr(at + 7, end == std::string::npos ? std::string::npos : end - at - 7);
  size_t last = line.find_last_of(" \t");
  return last != std::string::npos && line.substr(last + 1) == "1";
}

// Sends `sig` through a pidfd opened for `pid` once `same` confirmed (after the open) that
// the pid still names the process meant; a pidfd cannot reach a later process that reused
// the pid, and the check after the open ensures the one it holds is the one we examined
// (a process still alive keeps its pid). False when it is gone or is not the one.
bool signal_checked(pid_t pid, int sig, const std::function<bool()>& same) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd || !same()) return false;
  if (::syscall(SYS_pidfd_send_signal, fd.get(), 0, nullptr, 0) < 0) return false;  // gone since
  return ::syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) == 0;
}

// kill --all: every process of the container. With a pid namespace of its own (its
// process is that namespace's pid 1): SIGKILL to pid 1, which makes the kernel kill every
// process in the namespace; any other signal to each process whose pid namespace is that
// one (found in /proc by the namespace's inode). Without one (the caller's or a joined pid
// namespace, shared with others): the container's process and its descendants
// (/proc/PID/task/TID/children), parents first; an orphan that left that tree is not found.
void signal_all(const State& s, int sig) {
  const std::string pid1 = std::to_string(s.pid);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0)));
  if (!pidfd || !s.alive()) return;  // stopped: nothing left to signal (as runc)
  auto ns = pidns_of(pid1);
  const bool own = ns && ns != pidns_of("self") && is_namespace_init(s.pid);
  // Checked after the pidfd was opened: still the container's process.
  if (!s.alive()) return;
  std::vector<pid_t> others;
  if (own && sig != SIGKILL) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir("/proc"), ::closedir);
    if (!d) throw_errno("Can't read /proc");
    while (dirent* e = ::readdir(d.get())) {
      auto pid = parse::unsigned_dec(e->d_name, INT_MAX);
      if (pid && static_cast<pid_t>(*pid) != s.pid) others.push_back(static_cast<pid_t>(*pid));
    }
  }
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0 && errno != ESRCH)
    throw_errno("Can't send signal " + std::to_string(sig) + " to container " + s.id);
  if (own) {
    for (pid_t p : others)
      signal_checked(p, sig, [&] { return pidns_of(std::to_string(p)) == ns; });
    return;
  }
  // The tree below the container's process, each checked against the parent it was found
  // under (stat field 4) once its pidfd is open.
  std::vector<pid_t> tree{s.pid};
  for (size_t i = 0; i < tree.size() && tree.size() < 100000; ++i) {
    const pid_t parent = tree[i];
    std::string task_dir = "/proc/" + std::to_string(parent) + "/task";
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(task_dir.c_str()), ::closedir);
    if (!d) continue;
    while (dirent* e = ::readdir(d.get())) {
      if (e->d_name[0] == '.') continue;
      auto text = io::read_file(task_dir + "/" + e->d_name + "/children");
      if (!text) continue;
      std::istringstream in(*text);
      for (pid_t c; in >> c;) {
        auto parent_of = [c]() -> pid_t {
          auto stat = io::read_file("/proc/" + std::to_string(c) + "/stat");
          if (!stat) return 0;
          size_t close = stat->rfind(')');
          if (close == std::string::npos) return 0;
          std::istringstream f(stat->substr(close + 2));
          std::string state;
          pid_t ppid = 0;
          f >> state >> ppid;
          return ppid;
        };
        if (signal_checked(c, sig, [&] { return parent_of() == parent; })) tree.push_back(c);
      }
    }
  }
}

// Waits up to `ms` for the supervisor to exit (it removes the cgroups it made).
void wait_supervisor(const State& s, int ms) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s.supervisor, 0)));
  if (!pidfd || !s.supervisor_alive()) return;
  pollfd p{pidfd.get(), POLLIN, 0};
  while (::poll(&p, 1, ms) < 0 && errno == EINTR) {
  }
}

// ---- Options of the commands ----------------------------------------------------------

struct Args {
  std::map<std::string, std::string> opts;  // canonical name -> value ("" for flags)
  std::vector<std::string> positional;
  bool has(const std::string& n) const { return opts.count(n) > 0; }
  std::string get(const std::string& n) const {
    auto it = opts.find(n);
    return it == opts.end() ? "" : it->second;
  }
};

Args parse_args(const std::string& cmd, const std::vector<std::string>& words, size_t from,
                std::initializer_list<OptDef> defs) {
  Args a;
  for (size_t i = from; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.size() > 1 && w[0] == '-' && a.positional.empty()) {
      OptWord o = read_option(cmd, words, i, std::span<const OptDef>(defs.begin(), defs.size()));
      a.opts[o.def->name] = o.value;
    } else {
      a.positional.push_back(w);
    }
  }
  return a;
}

std::string one_id(const std::string& cmd, const Args& a, size_t max_extra = 0) {
  if (a.positional.empty()) throw Error(cmd + ": missing the container ID");
  if (a.positional.size() > 1 + max_extra)
    throw Error(cmd + ": unexpected argument '" + a.positional.back() + "'");
  if (!valid_container_id(a.positional[0]))
    throw Error(cmd + ": invalid container id '" + a.positional[0] + "'");
  return a.positional[0];
}

// ---- create / run ---------------------------------------------------------------------

// Opens linux.namespaces[i].path (O_CLOEXEC: the supervisor enters it, the child closes its
// copy before exec) and names it in the Spec. Security: the file must be a namespace of
// the type it claims (NS_GET_NSTYPE), checked here, before anything runs: a path to another
// type, or to something else, is refused with its JSON path rather than joined as
// whatever it is. A network, ipc or uts namespace that is our own is refused when
// linux.sysctl would write to it (the host's settings, as runc refuses too).
UniqueFd open_join(const NsJoin& j, Spec& spec) {
  UniqueFd ns(::open(j.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!ns) throw_errno(j.where + ": can't open " + j.path);
  const int want = nsfs::clone_flag(j.type);
  const int got = nsfs::type_of(ns.get());
  if (got < 0)
    throw Error(j.where + ": " + j.path + " is not a namespace file (" +
                std::strerror(errno) + ")");
  if (got != want)
    throw Error(j.where + ": " + j.path + " is a " + nsfs::type_name(got) +
                " namespace, not a " + nsfs::type_name(want) + " namespace");
  if (j.type == "network" || j.type == "ipc" || j.type == "uts") {
    struct stat ours, theirs;
    const std::string self = std::string("/proc/self/ns/") + nsfs::type_name(want);
    const SysctlNs kind = j.type == "network" ? SysctlNs::Net
                          : j.type == "ipc"   ? SysctlNs::Ipc
                                              : SysctlNs::Uts;
    if (::stat(self.c_str(), &ours) == 0 && ::fstat(ns.get(), &theirs) == 0 &&
        ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev)
      for (const auto& [key, value] : spec.sysctls)
        if (valid_sysctl_key(key) && sysctl_namespace(key) == kind)
          throw Error("config.json: linux.sysctl[\"" + key + "\"]: " + j.where + " is the " +
                      "runtime's own " + nsfs::type_name(want) +
                      " namespace: the setting would change the host's");
  }
  if (j.type == "user") {
    spec.userns_fd = ns.get();
    spec.fds.push_back({ns.get(), j.where, FdRole::Userns});
  } else if (j.type == "pid") {
    spec.pidns_fd = ns.get();
    spec.fds.push_back({ns.get(), j.where, FdRole::Pidns});
  } else {
    spec.join_ns.push_back({ns.get(), want, j.where});
    spec.fds.push_back({ns.get(), j.where, FdRole::JoinNs});
  }
  return ns;
}

// What `exec` needs to confine its process as the container's command is: the plan's
// decisions (the capability set, the rlimits, the compiled seccomp programs exactly as the
// command loads them), saved in the state directory before the container is set up.
void save_confinement(const std::string& dir, const Spec& spec, const Plan& plan,
                      const HostFacts& host) {
  Confinement c;
  // The command's set (launch/child.cpp, settle_privileges): config.json always drops all
  // and lists what it keeps, so the set does not depend on what the caller held.
  c.caps = security::resolve_caps(spec.caps, host.is_root(), security::all_caps(),
                                  security::all_caps());
  c.rlimits = plan.rlimits;
  c.seccomp_programs = plan.seccomp_programs;
  c.landlock = spec.landlock.enabled;
  c.cgroup = !plan.cgroups.empty();
  c.exec_label = spec.exec_label.value_or("");
  write_atomic(dir + "/exec.json", confinement_json(c), 0600);
  write_atomic(dir + "/seccomp.bpf", launch::encode_programs(c.seccomp_programs), 0600);
}

// The container's supervisor (the forked process --pid-file names): the ordinary launch.
// Never returns: exits with the container's status, or dies of the signal that killed it.
[[noreturn]] void supervise(const Global& g, const Spec& spec, const std::string& dir) {
  int killed_by = 0;
  int status = 1;
  try {
    planning::Prepared prepared = planning::prepare(spec);
    HostFacts host = host::probe();
    Plan plan = planning::make_plan(spec, host, std::move(prepared));
    save_confinement(dir, spec, plan, host);
    status = launch::run(spec, plan, host, &killed_by);
  } catch (const std::exception& e) {
    report(g, e.what());
    status = 1;
  }
  std::fflush(nullptr);
  if (killed_by > 0) {
    // Die the same way, so that a waiting parent (conmon) sees the signal, not 128+N; no
    // core file of the supervisor for a core-dumping signal.
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::signal(killed_by, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, killed_by);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(killed_by);
    status = 128 + killed_by;  // a signal whose default is not to terminate
  }
  ::_exit(status);
}

// Reads the supervisor's --info-fd object ({"child-pid": N, ...}): written once the
// container's process is set up and waits on exec.fifo. The process keeps its copy of the
// pipe until exec, so the object's end, not EOF, says it is complete. 0 when setup failed.
pid_t read_child_pid(int fd) {
  std::string buf;
  char chunk[512];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    buf.append(chunk, static_cast<size_t>(n));
    if (buf.size() >= 2 && buf.compare(buf.size() - 2, 2, "}\n") == 0) break;
  }
  try {
    return json::parse(buf).at("child-pid").get<pid_t>();
  } catch (const std::exception&) {
    return 0;
  }
}

void no_inherited_fds() {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Before Linux 5.11: one descriptor at a time.
  std::vector<int> fds;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      if (auto n = parse::unsigned_dec(e->d_name, 1u << 30); n && *n > 2) fds.push_back(static_cast<int>(*n));
    ::closedir(d);
  } else {
    throw_errno("Can't list /proc/self/fd");
  }
  for (int fd : fds) ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // the directory's own one is gone
}

struct Created {
  State state;
  pid_t supervisor = 0;
  bool terminal = false;  // process.terminal
};

// The hooks of the points the launch reaches (oci/hooks.hpp says where each runs). Before
// the pivot, in the supervisor: prestart and createRuntime there, createContainer in the
// container's user and mount namespaces; the container's process waits meanwhile, and a
// failure fails its setup (create exits 1 with the supervisor's message). After `start`,
// in the container's process: startContainer, whose failure it also writes to
// `start_w` (start.fifo) for `start` to report.
void wire_hooks(const Global& g, Spec& spec, const Hooks& hooks, const std::string& id,
                const std::string& bundle, const std::string& created, int start_w) {
  if (hooks.prestart.empty() && hooks.create_runtime.empty() && hooks.create_container.empty() &&
      start_w < 0)
    return;
  spec.setup_hooks.before_pivot = [=](const SetupHooks::PivotPoint& p) {
    // From here on only the container's process holds start.fifo's write end: its exec
    // closes it, which is how `start` knows the process is running.
    if (start_w >= 0) ::close(start_w);
    const std::string state = state_json(id, "creating", p.child, bundle, created);
    try {
      run_hooks(hooks.prestart, state, bundle);
      run_hooks(hooks.create_runtime, state, bundle);
      HookEnter enter{p.userns, p.mntns, p.host_root};
      run_hooks(hooks.create_container, state, bundle, &enter);
    } catch (const std::exception& e) {
      log_line(g, "error", e.what());  // stderr gets it from the supervisor's setup error
      throw;
    }
    return std::to_string(p.child);
  };
  if (hooks.start_container.empty()) return;
  spec.setup_hooks.before_exec = [=](const std::string& pid) {
    const std::string state =
        state_json(id, "created", parse::unsigned_dec(pid, INT32_MAX).value_or(0), bundle, created);
    try {
      // Inside the container: the path resolves in its root; cwd its /.
      run_hooks(hooks.start_container, state, "/");
    } catch (const std::exception& e) {
      io::write_all(start_w, e.what());
      throw;
    }
  };
}

// poststop: once the container is gone; failures are logged, never the command's.
void run_poststop(const Global& g, const State& s) {
  run_hooks_logged(s.poststop, state_json(s.id, "stopped", s.pid, s.bundle, s.created), s.bundle,
                   [&](const std::string& why) {
                     log::warning(why);
                     log_line(g, "warning", why);
                   });
}

// `relay_console`: `run` in the foreground with a terminal passes its own end of a socket
// pair, in place of --console-socket, and relays the pty itself.
Created create(const Global& g, const Args& a, const std::string& id, int relay_console = -1) {
  // Security: the container gets stdio and nothing else the engine left open (as runc:
  // --preserve-fds is 0): every inherited descriptor above 2 becomes close-on-exec before
  // anything is opened (what the runtime opens is O_CLOEXEC, handed over by the Spec).
  no_inherited_fds();
  if (a.has("--preserve-fds") && a.get("--preserve-fds") != "0")
    throw Error("create: --preserve-fds is not supported yet");
  if (a.has("--no-pivot")) throw Error("create: --no-pivot is not supported (sandbox always pivots)");
  std::string bundle_arg = a.has("--bundle") ? a.get("--bundle") : ".";
  char real[PATH_MAX];
  if (!::realpath(bundle_arg.c_str(), real)) throw_errno("Can't find the bundle " + bundle_arg);
  const std::string bundle = real;
  auto text = io::read_file(bundle + "/config.json");
  if (!text) throw_errno("Can't read " + bundle + "/config.json");
  Config cfg = map_config(*text, {bundle, ::getuid(), ::getgid(), security::can_set_ids()});
  // runc's rules (and its words): a detached container with a terminal needs somewhere to
  // send it; a console socket without a terminal (or with `run` relaying) is a mistake.
  if (cfg.terminal && relay_console < 0 && !a.has("--console-socket"))
    throw Error("cannot allocate tty if " + g.prog +
                " will detach without setting console socket (process.terminal is true: "
                "give --console-socket)");
  if (a.has("--console-socket") && (!cfg.terminal || relay_console >= 0))
    throw Error("cannot use console socket if " + g.prog +
                " will not detach or allocate tty (process.terminal is false, or `run` "
                "without --detach)");
  // Security: the engine's socket is connected here, before any namespace and with the
  // caller's view of the host; the container gets only the connected descriptor
  // (CLOEXEC, never a path it could resolve in its own tree), used once by the process
  // that becomes the command and closed before the command runs.
  UniqueFd console;
  if (cfg.terminal)
    console.reset(relay_console >= 0 ? ::fcntl(relay_console, F_DUPFD_CLOEXEC, 3)
                                     : console_connect(a.get("--console-socket")));
  if (cfg.terminal && !console) throw_errno("--console-socket: fcntl(F_DUPFD_CLOEXEC)");
  if (!cfg.bounding_narrowed.empty()) {
    std::string names;
    for (const auto& n : cfg.bounding_narrowed) names += (names.empty() ? "" : " ") + n;
    note(g, "config.json: process.capabilities.bounding: " + names +
                " not kept (beyond permitted; with no_new_privs, always set, no execve could "
                "have added them)");
  }
  if (cfg.cgroups_path)
    note(g, "config.json: linux.cgroupsPath " + *cfg.cgroups_path +
                ": not used to place the container; " +
                (cfg.spec.limits.wants_cgroup()
                     ? "the limits of linux.resources apply in sandbox's own cgroup under the "
                       "caller's"
                     : "linux.resources sets no cgroup limit, so no cgroup is made"));

  io::make_dirs(g.root, 0700);
  Container c{g.root + "/" + id, {}};
  // The directory is the claim on the id: mkdir either creates it or fails.
  if (::mkdir(c.dir.c_str(), 0700) < 0) {
    if (errno == EEXIST) throw Error("container " + id + " already exists");
    throw_errno("Can't create " + c.dir);
  }
  c.fd.reset(::open(c.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!c.fd) throw_errno("Can't open " + c.dir);
  pid_t sup = 0, child = 0;  // once started: stopped again if create fails after all
  uint64_t child_start = 0;
  const std::string created = now_rfc3339();
  bool sup_started = false;
  try {
    lock(c, id);
    Spec& spec = cfg.spec;
    // `exec` maps its process against the config as created, not as the bundle may say later.
    write_atomic(c.path("config.json"), *text, 0600);
    if (cfg.seccomp_json) {
      write_atomic(c.path("seccomp.json"), *cfg.seccomp_json, 0600);
      spec.seccomp_profiles.push_back({c.path("seccomp.json"), 0});
    }
    std::vector<UniqueFd> held;
    for (const auto& j : cfg.joins) held.push_back(open_join(j, spec));
    if (console) {
      spec.console_fd = console.get();
      spec.fds.push_back({console.get(), "--console-socket", FdRole::Console});
      held.push_back(std::move(console));
    }
    // exec.fifo: the process waits on it (--block-fd) once set up; `start` writes a byte.
    // Opened read-write so that it never sees EOF before `start`.
    if (::mkfifo(c.path("exec.fifo").c_str(), 0600) < 0) throw_errno("Can't create " + c.path("exec.fifo"));
    UniqueFd fifo(::open(c.path("exec.fifo").c_str(), O_RDWR | O_CLOEXEC));
    if (!fifo) throw_errno("Can't open " + c.path("exec.fifo"));
    spec.block_fd = fifo.get();
    spec.fds.push_back({fifo.get(), "exec.fifo", FdRole::Block});
    // A missing or non-executable command fails `create` (Podman then exits 127 / 126, as
    // with runc), not the container after `start` (exit 1).
    spec.resolve_command_before_block = true;
    int info[2];
    if (::pipe2(info, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd info_r(info[0]), info_w(info[1]);
    spec.info_fd = info_w.get();
    spec.fds.push_back({info_w.get(), "create", FdRole::Info});
    // start.fifo (startContainer, poststart): `start` learns from it that the process ran.
    // Read-write, so that opening it never waits for a reader.
    UniqueFd start_sync;
    if (!cfg.hooks.start_container.empty() || !cfg.hooks.poststart.empty()) {
      if (::mkfifo(c.path("start.fifo").c_str(), 0600) < 0)
        throw_errno("Can't create " + c.path("start.fifo"));
      start_sync.reset(::open(c.path("start.fifo").c_str(), O_RDWR | O_CLOEXEC));
      if (!start_sync) throw_errno("Can't open " + c.path("start.fifo"));
    }
    wire_hooks(g, spec, cfg.hooks, id, bundle, created, start_sync.get());

    std::fflush(nullptr);
    sup = ::fork();
    if (sup < 0) throw_errno("fork");
    sup_started = true;
    if (sup == 0) {
      // The lock stays with `create` (flock belongs to the open file, shared until every
      // copy is closed: this one must not outlive create).
      c.fd.reset();
      info_r.reset();
      // The supervisor takes over the descriptors the Spec names (prepare owns them).
      fifo.release();
      info_w.release();
      start_sync.release();  // closed by the before_pivot hook
      for (auto& h : held) h.release();
      supervise(g, spec, c.dir);
    }
    info_w.reset();
    fifo.reset();
    start_sync.reset();
    held.clear();
    Created out;
    out.supervisor = sup;
    out.terminal = cfg.terminal;
    child = read_child_pid(info_r.get());
    if (child <= 0) {
      int st = 0;
      child = 0;
      while (::waitpid(sup, &st, 0) < 0 && errno == EINTR) {
      }
      sup = 0;  // reaped
      throw Reported{WIFEXITED(st) && WEXITSTATUS(st) != 0 ? WEXITSTATUS(st) : 1};
    }
    State& s = out.state;
    s.id = id;
    s.bundle = bundle;
    s.created = created;
    s.start_sync = !cfg.hooks.start_container.empty() || !cfg.hooks.poststart.empty();
    s.poststart = cfg.hooks.poststart;
    s.poststop = cfg.hooks.poststop;
    s.pid = child;
    s.pid_start = start_time(child).value_or(0);
    child_start = s.pid_start;
    s.supervisor = sup;
    s.supervisor_start = start_time(sup).value_or(0);
    c.save(s);
    if (a.has("--pid-file")) {
      std::string pf = a.get("--pid-file");
      // What a subreaper waits for: the supervisor, which exits as the container does.
      write_atomic(pf, std::to_string(sup), 0644);
    }
    return out;
  } catch (...) {
    // Nothing half made stays: the container's process (through a pidfd, checked against
    // its start time: never a process that reused its pid), then its supervisor.
    if (child > 0 && child_start > 0) {
      State s;
      s.id = id;
      s.pid = child;
      s.pid_start = child_start;
      try {
        signal_container(s, SIGKILL);
      } catch (const Error&) {
        // Already gone.
      }
    }
    if (sup > 0) {
      ::kill(sup, SIGKILL);
      while (::waitpid(sup, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    c.remove();
    // The container was being made (its hooks may have run): it is destroyed, so poststop.
    if (sup_started && !cfg.hooks.poststop.empty()) {
      State s;
      s.id = id;
      s.bundle = bundle;
      s.created = created;
      s.pid = child;
      s.poststop = cfg.hooks.poststop;
      run_poststop(g, s);
    }
    throw;
  }
}

void start(const Global& g, const std::string& id) {
  Container c = open_container(g, id);
  auto s = c.load();
  if (!s) throw Error("container " + id + " has no state (a create failed?)");
  std::string st = s->status();
  if (st != "created") throw Error("container " + id + " is " + st + ", not created");
  // Opened before the release: while the container's process holds its write end, EOF
  // comes only from its exec (or its death).
  UniqueFd sync;
  if (s->start_sync) {
    sync.reset(::open(c.path("start.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!sync) throw_errno("container " + id + ": can't open " + c.path("start.fifo"));
  }
  UniqueFd fifo(::open(c.path("exec.fifo").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) throw_errno("container " + id + ": can't open " + c.path("exec.fifo"));
  if (::write(fifo.get(), "0", 1) != 1) throw_errno("container " + id + ": can't start it");
  s->started = true;
  c.save(*s);
  ::unlink(c.path("exec.fifo").c_str());
  if (!sync) return;
  // The startContainer hooks run in the container's process now: its message (a hook
  // failed), or EOF once it exec'd the user's process; its pidfd in case it died at once.
  std::string failure;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s->pid, 0)));
  for (;;) {
    pollfd p[2] = {{sync.get(), POLLIN, 0}, {pidfd ? pidfd.get() : -1, POLLIN, 0}};
    if (::poll(p, 2, pidfd ? -1 : 100) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    char buf[4096];
    ssize_t n = ::read(sync.get(), buf, sizeof buf);
    if (n > 0) {
      failure.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 && (p[0].revents & POLLHUP)) break;  // every writer gone: exec'd (or died)
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw_errno("read " + c.path("start.fifo"));
    if (p[1].revents || (!pidfd && !s->alive())) break;  // gone without a word
  }
  ::unlink(c.path("start.fifo").c_str());
  if (!failure.empty()) {
    // Torn down: what is left of it goes (its supervisor exits with it).
    try {
      signal_container(*s, SIGKILL);
    } catch (const Error&) {
    }
    wait_supervisor(*s, 10000);
    throw Error(failure);
  }
  run_hooks_logged(s->poststart, state_json(id, "running", s->pid, s->bundle, s->created),
                   s->bundle, [&](const std::string& why) {
                     log::warning(why);
                     log_line(g, "warning", why);
                   });
}

pid_t g_run_supervisor = 0;
void forward_to_supervisor(int sig) {
  if (g_run_supervisor > 0) ::kill(g_run_supervisor, sig);
}

int g_winch_pipe = -1;
void on_winch(int) {
  const int saved = errno;
  char c = 0;
  if (g_winch_pipe >= 0) [[maybe_unused]] ssize_t n = ::write(g_winch_pipe, &c, 1);
  errno = saved;
}

// `run` in the foreground with process.terminal: the runtime is the engine. It copies its
// stdin to the pty's master and the master to its stdout until the container's supervisor
// exits, with its own terminal (when stdin is one) in raw mode and its window size
// following (SIGWINCH) on the pty.
void relay_terminal(int master, pid_t supervisor) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, supervisor, 0)));
  if (!pidfd) throw_errno("run: pidfd_open");
  int wp[2];
  if (::pipe2(wp, O_CLOEXEC | O_NONBLOCK) < 0) throw_errno("pipe");
  UniqueFd winch_r(wp[0]), winch_w(wp[1]);
  const bool tty = ::isatty(STDIN_FILENO);
  auto resize = [&] {
    winsize ws{};
    if (tty && ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
      ::ioctl(master, TIOCSWINSZ, &ws);
  };
  termios saved{};
  bool raw = false;
  if (tty && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    termios r = saved;
    ::cfmakeraw(&r);
    raw = ::tcsetattr(STDIN_FILENO, TCSANOW, &r) == 0;
  }
  g_winch_pipe = winch_w.get();
  struct sigaction sa{};
  sa.sa_handler = on_winch;
  sa.sa_flags = SA_RESTART;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGWINCH, &sa, nullptr);
  resize();
  bool in_open = true;
  char buf[8192];
  auto drain = [&](bool all) {  // false: one read; true: until nothing is left
    for (;;) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // EIO: every slave descriptor is closed
      if (!io::write_all(STDOUT_FILENO, std::string(buf, static_cast<size_t>(n)))) return false;
      if (!all) return true;
    }
  };
  for (;;) {
    pollfd p[4] = {{master, POLLIN, 0}, {winch_r.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0},
                   {in_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(p, 4, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents && !drain(false)) break;
    if (p[1].revents) {
      while (::read(winch_r.get(), buf, sizeof buf) > 0) {
      }
      resize();
    }
    if (p[2].revents) {
      // The container is gone: what it wrote last, then stop.
      ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
      drain(true);
      break;
    }
    if (p[3].revents) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || !io::write_all(master, std::string(buf, static_cast<size_t>(n))))
        in_open = false;
    }
  }
  ::signal(SIGWINCH, SIG_DFL);
  g_winch_pipe = -1;
  if (raw) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}

int cmd_run(const Global& g, const Args& a, const std::string& id) {
  // In the foreground a terminal is relayed by the runtime itself, through the same
  // console socket path an engine uses (one end of a pair: nothing on the host's tree).
  UniqueFd relay_mine, relay_theirs;
  if (!a.has("--detach")) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
    relay_mine.reset(sv[0]);
    relay_theirs.reset(sv[1]);
  }
  Created cr = create(g, a, id, relay_theirs.get());
  relay_theirs.reset();
  UniqueFd master;
  if (cr.terminal && relay_mine) master.reset(pty::receive_fd(relay_mine.get()));
  relay_mine.reset();
  g_run_supervisor = cr.supervisor;
  if (!a.has("--detach")) {
    // `run` in the foreground stands for the container: what it is sent, the container is.
    struct sigaction sa{};
    sa.sa_handler = forward_to_supervisor;
    ::sigemptyset(&sa.sa_mask);
    for (int sig : launch::kForwardedSignals) ::sigaction(sig, &sa, nullptr);
  }
  start(g, id);
  if (a.has("--detach")) return 0;
  if (master) relay_terminal(master.get(), cr.supervisor);
  master.reset();
  int st = 0;
  while (::waitpid(cr.supervisor, &st, 0) < 0)
    if (errno != EINTR) break;
  {
    Container c = open_container(g, id);
    auto s = c.load();
    c.remove();
    if (s) run_poststop(g, *s);
  }
  if (WIFSIGNALED(st)) {
    std::fflush(nullptr);
    ::signal(WTERMSIG(st), SIG_DFL);
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, WTERMSIG(st));
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(WTERMSIG(st));
    return 128 + WTERMSIG(st);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int cmd_state(const Global& g, const std::string& id) {
  Container c = open_container(g, id);
  auto s = c.load();
  if (!s) throw Error("container " + id + " has no state (a create failed?)");
  std::string st = s->status();
  std::printf("%s", state_json(id, st, st == "stopped" ? 0 : s->pid, s->bundle, s->created).c_str());
  return 0;
}

int cmd_kill(const Global& g, const Args& a, const std::string& id) {
  int sig = SIGTERM;
  if (a.positional.size() > 1) {
    sig = signal_from_name(a.positional[1]);
    if (sig <= 0) throw Error("kill: unknown signal '" + a.positional[1] + "'");
  }
  Container c = open_container(g, id);
  auto s = c.load();
  if (!s) throw Error("container " + id + " has no state (a create failed?)");
  if (a.has("--all"))
    signal_all(*s, sig);
  else
    signal_container(*s, sig);
  return 0;
}

int cmd_delete(const Global& g, const Args& a, const std::string& id) {
  Container c = open_container(g, id);
  auto s = c.load();
  if (s && s->alive()) {
    if (!a.has("--force"))
      throw Error("container " + id + " is " + s->status() +
                  ": kill it first, or delete --force");
    signal_container(*s, SIGKILL);
  }
  if (s) wait_supervisor(*s, 10000);
  c.remove();
  if (s) run_poststop(g, *s);
  return 0;
}

int cmd_list(const Global& g, const Args& a) {
  std::string format = a.has("--format") ? a.get("--format") : "table";
  if (format != "table" && format != "json") throw Error("list: --format is table or json");
  std::vector<State> all;
  if (DIR* d = ::opendir(g.root.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (!valid_container_id(name)) continue;
      auto text = io::read_file(g.root + "/" + name + "/state.json");
      if (!text) continue;
      try {
        all.push_back(State::from_json(json::parse(*text)));
      } catch (const std::exception&) {
      }
    }
    ::closedir(d);
  }
  std::sort(all.begin(), all.end(), [](const State& x, const State& y) { return x.id < y.id; });
  if (format == "json") {
    json arr = json::array();
    for (const auto& s : all) {
      std::string st = s.status();
      arr.push_back({{"ociVersion", kOciVersion}, {"id", s.id}, {"pid", st == "stopped" ? 0 : s.pid},
                     {"status", st}, {"bundle", s.bundle}, {"created", s.created}});
    }
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  if (a.has("--quiet")) {
    for (const auto& s : all) std::printf("%s\n", s.id.c_str());
    return 0;
  }
  std::printf("%-24s %-8s %-8s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
  for (const auto& s : all) {
    std::string st = s.status();
    std::printf("%-24s %-8d %-8s %-40s %s\n", s.id.c_str(), st == "stopped" ? 0 : s.pid,
                st.c_str(), s.bundle.c_str(), s.created.c_str());
  }
  return 0;
}

// ---- exec ------------------------------------------------------------------------------

// The cgroup.procs files of the hierarchies where `pid` sits elsewhere than we do.
std::vector<std::string> cgroups_to_join(pid_t pid) {
  auto mountinfo = io::read_file("/proc/self/mountinfo");
  auto theirs = io::read_file("/proc/" + std::to_string(pid) + "/cgroup");
  auto ours = io::read_file("/proc/self/cgroup");
  if (!mountinfo || !theirs || !ours)
    throw_errno("exec: can't read the container's cgroups (/proc/" + std::to_string(pid) + "/cgroup)");
  auto target = limits::find_hierarchies(*mountinfo, *theirs);
  auto self = limits::find_hierarchies(*mountinfo, *ours);
  std::vector<std::string> out;
  for (const auto& h : target) {
    if (h.v2 != true && h.controllers.empty()) continue;  // a named (controller-less) v1 hierarchy
    std::optional<std::string> mine;
    for (const auto& m : self)
      if (m.mountpoint == h.mountpoint) mine = m.caller_dir;
    if (!h.caller_dir)
      throw Error("exec: the container's cgroup under " + h.mountpoint + " is not visible here");
    if (h.caller_dir != mine) out.push_back(*h.caller_dir + "/cgroup.procs");
  }
  return out;
}

// CLONE_NEW* of the namespaces of `pid` that are not ours (those exec joins).
int namespaces_to_join(pid_t pid) {
  int flags = 0;
  for (int flag : nsfs::kJoinOrder) {
    const std::string name = nsfs::type_name(flag);
    std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + name;
    struct stat a, b;
    if (::stat(theirs.c_str(), &a) < 0) throw_errno("exec: can't read " + theirs);
    if (::stat((std::string("/proc/self/ns/") + name).c_str(), &b) < 0)
      throw_errno(std::string("exec: can't read /proc/self/ns/") + name);
    if (a.st_ino != b.st_ino || a.st_dev != b.st_dev) flags |= flag;
  }
  // Security: a container always has its own mount namespace; the same one as ours would
  // mean the pid is not the container's process.
  if (!(flags & CLONE_NEWNS)) throw Error("exec: the container's process shares our mount namespace");
  return flags;
}

int cmd_exec(const Global& g, const std::vector<std::string>& args, size_t from) {
  ExecRequest r = parse_exec_args(args, from);
  // The caller's descriptors the process keeps must be open now, before we open any of
  // our own (which would otherwise take a free number in that range and be passed on).
  for (unsigned i = 0; i < r.preserve_fds; ++i)
    if (::fcntl(3 + static_cast<int>(i), F_GETFD) < 0)
      throw Error("exec: --preserve-fds " + std::to_string(r.preserve_fds) + ": fd " +
                  std::to_string(3 + i) + " is not open");
  std::optional<std::string> process_text;
  if (r.process_file) {
    process_text = io::read_file(*r.process_file);
    if (!process_text) throw_errno("exec: can't read " + *r.process_file);
  }
  Container c = open_container(g, r.id);
  auto s = c.load();
  if (!s) throw Error("container " + r.id + " has no state (a create failed?)");
  if (!s->alive()) throw Error("container " + r.id + " is stopped: cannot exec in it");
  auto config_text = io::read_file(c.path("config.json"));
  auto conf_text = io::read_file(c.path("exec.json"));
  auto bpf = io::read_file(c.path("seccomp.bpf"));
  if (!config_text || !conf_text || !bpf)
    throw Error("container " + r.id + ": its state directory lacks what exec needs "
                "(config.json, exec.json, seccomp.bpf): was it created by an older sandbox-runc?");
  Confinement conf = parse_confinement(*conf_text);
  auto programs = launch::decode_programs(*bpf);
  if (!programs) throw Error("container " + r.id + ": malformed " + c.path("seccomp.bpf"));
  if (conf.landlock)
    throw Error("exec: the container's command is under Landlock, which exec cannot carry "
                "over yet");

  std::string process = exec_process(*config_text, r, process_text);
  const TerminalRequest term = take_terminal(process);
  if (term.on && !r.console_socket)
    throw Error("exec: a terminal (--tty or process.terminal) needs --console-socket (sandbox-runc "
                "does not relay a terminal itself)");
  if (!term.on && r.console_socket)
    throw Error("exec: --console-socket without a terminal (--tty or process.terminal)");
  Config ec = map_exec(*config_text, process, {s->bundle, ::getuid(), ::getgid(), security::can_set_ids()});
  const Spec& spec = ec.spec;
  check_exec_label(conf.exec_label, spec.exec_label);

  ExecLaunch l;
  // The container's process, never a later one with its pid: the pidfd first, then its
  // start time (as kill does).
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s->pid, 0)));
  if (!pidfd || !s->alive()) throw Error("container " + r.id + " is not running");
  l.pidfd = pidfd.get();
  l.pid = s->pid;
  l.ns_flags = namespaces_to_join(s->pid);
  // Security: the container's cgroups (its memory and pids limits) hold the process too.
  if (conf.cgroup) l.cgroup_procs = cgroups_to_join(s->pid);
  l.argv = spec.command;
  l.env = apply_env({}, spec.env);
  std::erase_if(l.env, [](const std::string& kv) { return kv.rfind("PWD=", 0) == 0; });
  l.env.push_back("PWD=" + spec.chdir.value_or("/"));
  l.cwd = spec.chdir.value_or("/");
  l.uid = spec.uid.value_or(0);
  l.gid = spec.gid.value_or(0);
  l.switch_ids = !spec.id_maps.empty() || spec.set_ids_in_place;
  l.groups = spec.groups;
  l.umask = spec.umask.value_or(022);
  l.caps = exec_caps(security::resolve_caps(spec.caps, ::getuid() == 0, security::all_caps(),
                                            security::all_caps()),
                     conf.caps);
  l.rlimits = exec_rlimits(conf.rlimits, spec.limits.rlimits);
  l.seccomp_programs = std::move(*programs);
  l.preserve_fds = r.preserve_fds;
  UniqueFd console;
  if (term.on) {
    // Connected here, with the caller's view of the file system, before any namespace.
    console.reset(console_connect(*r.console_socket));
    l.console = console.get();
    l.rows = term.rows;
    l.cols = term.cols;
  }
  l.detach = r.detach;
  l.pid_file = r.pid_file;
  // The lock is for state changes; a long exec must not hold off kill or delete.
  c.fd.reset();
  return exec_in_container(l);
}

const std::initializer_list<OptDef> kCreateOpts = {
    {"--bundle", "-b", true},       {"--pid-file", nullptr, true},
    {"--console-socket", nullptr, true}, {"--no-new-keyring", nullptr, false},
    {"--preserve-fds", nullptr, true}, {"--no-pivot", nullptr, false},
};

}  // namespace

bool valid_container_id(const std::string& id) {
  if (id.empty() || id.size() > 1024 || !std::isalnum(static_cast<unsigned char>(id[0])))
    return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '+' ||
           ch == '-';
  });
}

std::string state_json(const std::string& id, const std::string& status, long pid,
                       const std::string& bundle, const std::string& created) {
  json j = {{"ociVersion", kOciVersion}, {"id", id},         {"status", status},
            {"pid", pid},                {"bundle", bundle}, {"created", created}};
  return j.dump(2) + "\n";
}

bool initial_uid_map(const std::string& uid_map) {
  std::istringstream in(uid_map);
  std::string inside, outside, count, extra;
  if (!(in >> inside >> outside >> count) || in >> extra) return false;
  return inside == "0" && outside == "0" && count == "4294967295";
}

std::string default_root(bool euid0, bool initial_userns, const char* xdg) {
  if (euid0 && initial_userns) return "/run/sandbox-oci";
  if (!xdg || xdg[0] != '/') return "";
  return std::string(xdg) + "/sandbox-oci";
}

std::string runtime_usage(const std::string& prog) {
  return "usage: " + prog + " [GLOBAL OPTIONS] COMMAND [OPTIONS] ID\n"
         "\n"
         "An OCI runtime (runc's command line) that runs each container as a sandbox: the\n"
         "bundle's config.json is mapped onto sandbox's options; a member it cannot honour is an\n"
         "error naming its JSON path.\n"
         "\n"
         "Global options:\n"
         "  --root DIR           State directory (default /run/sandbox-oci as root in the\n"
         "                       initial user namespace, else $XDG_RUNTIME_DIR/sandbox-oci,\n"
         "                       also for uid 0 in a user namespace, e.g. rootless Podman's)\n"
         "  --log FILE           Also append errors to FILE\n"
         "  --log-format FORMAT  text (default) or json, for --log\n"
         "  --systemd-cgroup     Accepted for compatibility; no effect (linux.cgroupsPath is\n"
         "                       accepted and not used: limits apply in sandbox's own cgroup)\n"
         "  --debug              Verbose: sandbox's setup steps on stderr\n"
         "\n"
         "Commands:\n"
         "  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] ID\n"
         "                       Set the container up; its process waits until start. FILE\n"
         "                       gets the pid of the container's supervisor, which exits with\n"
         "                       the container's status. With process.terminal, the master of\n"
         "                       a pty on the container's devpts is sent over SOCKET. A\n"
         "                       command missing or not executable there fails create\n"
         "  start ID             Let the created container's process run\n"
         "  state ID             The container's state (JSON: status created, running, stopped)\n"
         "  kill [--all] ID [SIGNAL]\n"
         "                       Send SIGNAL (default TERM) to the container's process;\n"
         "                       --all: to every process in its pid namespace (or, without\n"
         "                       one of its own, to its process and their descendants)\n"
         "  delete [--force] ID  Remove a stopped container (--force: kill it first)\n"
         "  run [--bundle DIR] [--pid-file FILE] [--detach] ID\n"
         "                       create and start; without --detach wait, delete, and exit\n"
         "                       with the container's status (and relay its terminal)\n"
         "  exec [OPTIONS] ID COMMAND [ARG...] | exec [OPTIONS] --process FILE ID\n"
         "                       Run a process in the running container: its namespaces,\n"
         "                       cgroups, capabilities (at most the container's), rlimits,\n"
         "                       no_new_privs and seccomp programs. Options: --detach/-d,\n"
         "                       --pid-file FILE (the process's pid), --env/-e K=V, --cwd DIR,\n"
         "                       --user/-u UID[:GID], --additional-gids/-g GID[,GID...],\n"
         "                       --cap CAP, --no-new-privs,\n"
         "                       --preserve-fds N, --tty/-t (needs --console-socket SOCKET).\n"
         "                       Exits with the process's status (128+N for signal N); with\n"
         "                       --detach, 0 once it runs\n"
         "  list [--format table|json] [--quiet]\n"
         "                       The containers under --root\n"
         "  features             What this runtime supports (the spec's features JSON)\n"
         "\n"
         "Engines run it by path: podman --runtime /usr/local/bin/sandbox-runc run ...\n"
         "(or runtime in containers.conf); CRI-O and containerd: see sandbox(1), README.md.\n";
}

int runtime_main(const std::vector<std::string>& args) {
  Global g;
  g.prog = log::program_name() == "sandbox" ? "sandbox oci" : log::program_name();
  try {
    size_t i = 0;
    std::string root;
    for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
      std::string w = args[i], value;
      bool has_inline = false;
      if (size_t eq = w.find('='); eq != std::string::npos && w.rfind("--", 0) == 0) {
        value = w.substr(eq + 1);
        w = w.substr(0, eq);
        has_inline = true;
      }
      auto take = [&]() {
        if (has_inline) return value;
        if (i + 1 >= args.size()) throw Error(w + " takes an argument");
        return args[++i];
      };
      if (w == "--help" || w == "-h") {
        std::fputs(runtime_usage(g.prog).c_str(), stdout);
        return 0;
      } else if (w == "--version" || w == "-v") {
        std::printf("%s version %s\nspec: %s\n", g.prog.c_str(), SANDBOX_VERSION, kOciVersion);
        return 0;
      } else if (w == "--root") {
        root = take();
      } else if (w == "--log") {
        g.log_file = take();
      } else if (w == "--log-format") {
        std::string f = take();
        if (f != "text" && f != "json") throw Error("--log-format is text or json");
        g.json_log = f == "json";
      } else if (w == "--systemd-cgroup") {
        // Accepted: engines pass it with systemd hosts; sandbox places nothing by
        // linux.cgroupsPath (accepted and not used), so there is nothing to do.
      } else if (w == "--debug") {
        log::set_verbose(true);
      } else {
        throw Error("unknown global option " + w + " (see " + g.prog + " --help)");
      }
    }
    if (i >= args.size()) {
      std::fputs(runtime_usage(g.prog).c_str(), stderr);
      return 1;
    }
    const std::string cmd = args[i];
    if (cmd == "features") {
      std::fputs(features_json().c_str(), stdout);
      return 0;
    }
    g.root = root.empty() ? default_root() : root;
    if (g.root[0] != '/') {
      char cwd[PATH_MAX];
      if (::getcwd(cwd, sizeof cwd)) g.root = std::string(cwd) + "/" + g.root;
    }
    ++i;
    if (cmd == "create") {
      Args a = parse_args(cmd, args, i, kCreateOpts);
      create(g, a, one_id(cmd, a));
      return 0;
    }
    if (cmd == "run") {
      Args a = parse_args(cmd, args, i,
                          {{"--bundle", "-b", true}, {"--pid-file", nullptr, true},
                           {"--console-socket", nullptr, true}, {"--no-new-keyring", nullptr, false},
                           {"--preserve-fds", nullptr, true}, {"--no-pivot", nullptr, false},
                           {"--detach", "-d", false}});
      return cmd_run(g, a, one_id(cmd, a));
    }
    if (cmd == "start") {
      Args a = parse_args(cmd, args, i, {});
      start(g, one_id(cmd, a));
      return 0;
    }
    if (cmd == "state") {
      Args a = parse_args(cmd, args, i, {});
      return cmd_state(g, one_id(cmd, a));
    }
    if (cmd == "kill") {
      Args a = parse_args(cmd, args, i, {{"--all", "-a", false}});
      return cmd_kill(g, a, one_id(cmd, a, 1));
    }
    if (cmd == "delete") {
      Args a = parse_args(cmd, args, i, {{"--force", "-f", false}});
      return cmd_delete(g, a, one_id(cmd, a));
    }
    if (cmd == "list") {
      Args a = parse_args(cmd, args, i, {{"--format", "-f", true}, {"--quiet", "-q", false}});
      if (!a.positional.empty()) throw Error("list: unexpected argument '" + a.positional[0] + "'");
      return cmd_list(g, a);
    }
    if (cmd == "exec") return cmd_exec(g, args, i);
    if (cmd == "pause" || cmd == "resume" || cmd == "update" ||
        cmd == "checkpoint" || cmd == "restore" || cmd == "ps" || cmd == "events")
      throw Error(cmd + " is not supported yet");
    throw Error("unknown command '" + cmd + "' (see " + g.prog + " --help)");
  } catch (const Reported& r) {
    return r.status;
  } catch (const std::exception& e) {
    report(g, e.what());
    return 1;
  }
}

}  // namespace sb::oci
