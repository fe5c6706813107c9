#include "oci/runtime.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "host/probe.hpp"
#include "launch/launch.hpp"
#include "oci/config.hpp"
#include "plan/plan.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/parse.hpp"

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
  if (::getuid() == 0) return "/run/sandbox-oci";
  const char* xdg = ::getenv("XDG_RUNTIME_DIR");
  if (!xdg || !*xdg || xdg[0] != '/')
    throw Error("XDG_RUNTIME_DIR is not set: give the state directory with --root DIR");
  return std::string(xdg) + "/sandbox-oci";
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

  json to_json() const {
    return {{"id", id},
            {"bundle", bundle},
            {"created", created},
            {"pid", pid},
            {"pid_start", pid_start},
            {"supervisor", supervisor},
            {"supervisor_start", supervisor_start},
            {"started", started}};
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
    for (const char* f : {"state.json", "state.json.tmp", "exec.fifo", "seccomp.json"})
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

struct OptDef {
  const char* name;
  const char* alias;
  bool takes_value;
};

Args parse_args(const std::string& cmd, const std::vector<std::string>& words, size_t from,
                std::initializer_list<OptDef> defs) {
  Args a;
  for (size_t i = from; i < words.size(); ++i) {
    std::string w = words[i];
    if (w.size() > 1 && w[0] == '-' && a.positional.empty()) {
      std::string value;
      bool inline_value = false;
      if (size_t eq = w.find('='); eq != std::string::npos && w.rfind("--", 0) == 0) {
        value = w.substr(eq + 1);
        w = w.substr(0, eq);
        inline_value = true;
      }
      const OptDef* d = nullptr;
      for (const auto& o : defs)
        if (w == o.name || (o.alias && w == o.alias)) d = &o;
      if (!d) throw Error(cmd + ": unknown option " + w);
      if (d->takes_value && !inline_value) {
        if (i + 1 >= words.size()) throw Error(cmd + ": " + w + " takes an argument");
        value = words[++i];
      } else if (!d->takes_value && inline_value) {
        throw Error(cmd + ": " + w + " takes no argument");
      }
      a.opts[d->name] = value;
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

// The container's supervisor (the forked process --pid-file names): the ordinary launch.
// Never returns: exits with the container's status, or dies of the signal that killed it.
[[noreturn]] void supervise(const Global& g, const Spec& spec) {
  int killed_by = 0;
  int status = 1;
  try {
    planning::Prepared prepared = planning::prepare(spec);
    HostFacts host = host::probe();
    Plan plan = planning::make_plan(spec, host, std::move(prepared));
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

struct Created {
  State state;
  pid_t supervisor = 0;
};

Created create(const Global& g, const Args& a, const std::string& id) {
  if (a.has("--console-socket"))
    throw Error("create: --console-socket is not supported yet (process.terminal is refused)");
  if (a.has("--preserve-fds") && a.get("--preserve-fds") != "0")
    throw Error("create: --preserve-fds is not supported yet");
  if (a.has("--no-pivot")) throw Error("create: --no-pivot is not supported (sandbox always pivots)");
  std::string bundle_arg = a.has("--bundle") ? a.get("--bundle") : ".";
  char real[PATH_MAX];
  if (!::realpath(bundle_arg.c_str(), real)) throw_errno("Can't find the bundle " + bundle_arg);
  const std::string bundle = real;
  auto text = io::read_file(bundle + "/config.json");
  if (!text) throw_errno("Can't read " + bundle + "/config.json");
  Config cfg = map_config(*text, {bundle, ::getuid(), ::getgid()});
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
  try {
    lock(c, id);
    Spec& spec = cfg.spec;
    if (cfg.seccomp_json) {
      write_atomic(c.path("seccomp.json"), *cfg.seccomp_json, 0600);
      spec.seccomp_profiles.push_back({c.path("seccomp.json"), 0});
    }
    std::vector<UniqueFd> held;
    for (const auto& j : cfg.joins) {
      UniqueFd ns(::open(j.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns) throw_errno(j.where + ": can't open " + j.path);
      const bool user = j.type == "user";
      (user ? spec.userns_fd : spec.pidns_fd) = ns.get();
      spec.fds.push_back({ns.get(), j.where, user ? FdRole::Userns : FdRole::Pidns});
      held.push_back(std::move(ns));
    }
    // exec.fifo: the process waits on it (--block-fd) once set up; `start` writes a byte.
    // Opened read-write so that it never sees EOF before `start`.
    if (::mkfifo(c.path("exec.fifo").c_str(), 0600) < 0) throw_errno("Can't create " + c.path("exec.fifo"));
    UniqueFd fifo(::open(c.path("exec.fifo").c_str(), O_RDWR | O_CLOEXEC));
    if (!fifo) throw_errno("Can't open " + c.path("exec.fifo"));
    spec.block_fd = fifo.get();
    spec.fds.push_back({fifo.get(), "exec.fifo", FdRole::Block});
    int info[2];
    if (::pipe2(info, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd info_r(info[0]), info_w(info[1]);
    spec.info_fd = info_w.get();
    spec.fds.push_back({info_w.get(), "create", FdRole::Info});

    std::fflush(nullptr);
    sup = ::fork();
    if (sup < 0) throw_errno("fork");
    if (sup == 0) {
      // The lock stays with `create` (flock belongs to the open file, shared until every
      // copy is closed: this one must not outlive create).
      c.fd.reset();
      info_r.reset();
      // The supervisor takes over the descriptors the Spec names (prepare owns them).
      fifo.release();
      info_w.release();
      for (auto& h : held) h.release();
      supervise(g, spec);
    }
    info_w.reset();
    fifo.reset();
    held.clear();
    Created out;
    out.supervisor = sup;
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
    s.created = now_rfc3339();
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
    throw;
  }
}

void start(const Global& g, const std::string& id) {
  Container c = open_container(g, id);
  auto s = c.load();
  if (!s) throw Error("container " + id + " has no state (a create failed?)");
  std::string st = s->status();
  if (st != "created") throw Error("container " + id + " is " + st + ", not created");
  UniqueFd fifo(::open(c.path("exec.fifo").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) throw_errno("container " + id + ": can't open " + c.path("exec.fifo"));
  if (::write(fifo.get(), "0", 1) != 1) throw_errno("container " + id + ": can't start it");
  s->started = true;
  c.save(*s);
  ::unlink(c.path("exec.fifo").c_str());
}

pid_t g_run_supervisor = 0;
void forward_to_supervisor(int sig) {
  if (g_run_supervisor > 0) ::kill(g_run_supervisor, sig);
}

int cmd_run(const Global& g, const Args& a, const std::string& id) {
  Created cr = create(g, a, id);
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
  int st = 0;
  while (::waitpid(cr.supervisor, &st, 0) < 0)
    if (errno != EINTR) break;
  {
    Container c = open_container(g, id);
    c.remove();
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
  if (a.has("--all"))
    throw Error("kill: --all is not supported yet (the container's process is signalled)");
  int sig = SIGTERM;
  if (a.positional.size() > 1) {
    sig = signal_from_name(a.positional[1]);
    if (sig <= 0) throw Error("kill: unknown signal '" + a.positional[1] + "'");
  }
  Container c = open_container(g, id);
  auto s = c.load();
  if (!s) throw Error("container " + id + " has no state (a create failed?)");
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

std::string runtime_usage(const std::string& prog) {
  return "usage: " + prog + " [GLOBAL OPTIONS] COMMAND [OPTIONS] ID\n"
         "\n"
         "An OCI runtime (runc's command line) that runs each container as a sandbox: the\n"
         "bundle's config.json is mapped onto sandbox's options; a member it cannot honour is an\n"
         "error naming its JSON path.\n"
         "\n"
         "Global options:\n"
         "  --root DIR           State directory (default $XDG_RUNTIME_DIR/sandbox-oci, or\n"
         "                       /run/sandbox-oci as root)\n"
         "  --log FILE           Also append errors to FILE\n"
         "  --log-format FORMAT  text (default) or json, for --log\n"
         "  --systemd-cgroup     Accepted for compatibility; no effect (linux.cgroupsPath is\n"
         "                       accepted and not used: limits apply in sandbox's own cgroup)\n"
         "  --debug              Verbose: sandbox's setup steps on stderr\n"
         "\n"
         "Commands:\n"
         "  create [--bundle DIR] [--pid-file FILE] ID\n"
         "                       Set the container up; its process waits until start. FILE\n"
         "                       gets the pid of the container's supervisor, which exits with\n"
         "                       the container's status\n"
         "  start ID             Let the created container's process run\n"
         "  state ID             The container's state (JSON: status created, running, stopped)\n"
         "  kill ID [SIGNAL]     Send SIGNAL (default TERM) to the container's process\n"
         "  delete [--force] ID  Remove a stopped container (--force: kill it first)\n"
         "  run [--bundle DIR] [--pid-file FILE] [--detach] ID\n"
         "                       create and start; without --detach wait, delete, and exit\n"
         "                       with the container's status\n"
         "  list [--format table|json] [--quiet]\n"
         "                       The containers under --root\n"
         "  features             What this runtime supports (the spec's features JSON)\n";
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
    if (cmd == "exec" || cmd == "pause" || cmd == "resume" || cmd == "update" ||
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
