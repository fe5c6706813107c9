#include "oci/exec.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>

#include "launch/launch.hpp"
#include "limits/limits.hpp"
#include "ns/userns.hpp"
#include "oci/console.hpp"
#include "oci/options.hpp"
#include "security/bpf.hpp"
#include "security/caps.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"
#include "util/nsfs.hpp"
#include "util/parse.hpp"

extern char** environ;

namespace sb::oci {
namespace {

using json = nlohmann::json;

constexpr OptDef kExecOpts[] = {
    {"--process", "-p", true},      {"--detach", "-d", false},
    {"--pid-file", nullptr, true},  {"--env", "-e", true},
    {"--cwd", nullptr, true},       {"--user", "-u", true},
    {"--tty", "-t", false},         {"--console-socket", nullptr, true},
    {"--cap", "-c", true},          {"--no-new-privs", nullptr, false},
    {"--preserve-fds", nullptr, true}, {"--process-label", nullptr, true},
    {"--apparmor", nullptr, true},  {"--cgroup", nullptr, true},
    {"--additional-gids", "-g", true}, {"--ignore-paused", nullptr, false},
};

}  // namespace

ExecRequest parse_exec_args(const std::vector<std::string>& words, size_t from) {
  ExecRequest r;
  bool have_id = false;
  for (size_t i = from; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (have_id) {  // everything after the ID is the command
      r.args.push_back(w);
      continue;
    }
    if (w == "--") {
      if (++i >= words.size()) break;
      r.id = words[i];
      have_id = true;
      continue;
    }
    if (w.size() < 2 || w[0] != '-') {
      r.id = w;
      have_id = true;
      continue;
    }
    OptWord o = read_option("exec", words, i, kExecOpts);
    const std::string& value = o.value;
    const std::string n = o.def->name;
    if (n == "--process") r.process_file = value;
    else if (n == "--detach") r.detach = true;
    else if (n == "--pid-file") r.pid_file = value;
    else if (n == "--env") {
      if (value.find('=') == std::string::npos || value[0] == '=')
        throw Error("exec: --env '" + value + "': expected NAME=VALUE");
      r.env.push_back(value);
    } else if (n == "--cwd") {
      if (value.empty() || value[0] != '/') throw Error("exec: --cwd must be an absolute path");
      r.cwd = value;
    } else if (n == "--user") r.user = value;
    else if (n == "--tty") r.tty = true;
    else if (n == "--console-socket") r.console_socket = value;
    else if (n == "--cap") r.caps.push_back(value);
    else if (n == "--no-new-privs") r.no_new_privs = true;
    else if (n == "--preserve-fds") {
      auto v = parse::unsigned_dec(value, 1 << 20);
      if (!v) throw Error("exec: --preserve-fds '" + value + "': expected a number");
      r.preserve_fds = static_cast<unsigned>(*v);
    } else if (n == "--process-label") {
      throw Error("exec: --process-label is not supported (sandbox-runc sets no SELinux "
                  "label for exec)");
    } else if (n == "--apparmor") {
      throw Error("exec: --apparmor is not supported (sandbox-runc sets no AppArmor profile)");
    } else if (n == "--cgroup") {
      throw Error("exec: --cgroup is not supported (the process joins the container's own "
                  "cgroups)");
    } else if (n == "--additional-gids") {
      // runc's -g: repeatable, each a gid or a comma-separated list.
      for (size_t at = 0;;) {
        size_t comma = value.find(',', at);
        std::string one = value.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        auto g = parse::unsigned_dec(one, 0xfffffffeULL);
        if (!g) throw Error("exec: --additional-gids '" + value + "': expected GID[,GID...] as numbers");
        r.additional_gids.push_back(*g);
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
    }
    // --ignore-paused: sandbox-runc never pauses a container, so there is nothing to ignore.
  }
  if (!have_id) throw Error("exec: missing the container ID");
  if (r.process_file && !r.args.empty())
    throw Error("exec: give either --process FILE or the command after the ID, not both");
  if (!r.process_file && r.args.empty())
    throw Error("exec: missing the command (or --process FILE)");
  if (r.detach == false && !r.pid_file.empty()) {
    // runc writes the pid file either way; so do we (the process's host pid).
  }
  return r;
}

std::string exec_process(const std::string& config_json, const ExecRequest& r,
                         const std::optional<std::string>& process_json) {
  if (process_json) {
    // runc: process.json is the whole process; the command line's edits are not merged.
    if (!r.env.empty() || r.cwd || r.user || !r.caps.empty() || !r.additional_gids.empty())
      throw Error("exec: --env, --cwd, --user, --additional-gids and --cap do not combine with "
                  "--process (write them into the process file)");
    json p;
    try {
      p = json::parse(*process_json);
    } catch (const json::parse_error& e) {
      throw Error(std::string("exec: process.json: not valid JSON: ") + e.what());
    }
    if (!p.is_object()) throw Error("exec: process.json: must be an object");
    if (r.tty) p["terminal"] = true;
    if (r.no_new_privs) p["noNewPrivileges"] = true;
    return p.dump();
  }
  json cfg;
  try {
    cfg = json::parse(config_json);
  } catch (const json::parse_error& e) {
    throw Error(std::string("exec: the saved config.json is not valid JSON: ") + e.what());
  }
  json p = cfg.is_object() && cfg.contains("process") ? cfg["process"] : json::object();
  p["args"] = r.args;
  if (r.cwd) p["cwd"] = *r.cwd;
  if (!r.env.empty()) {
    json env = p.contains("env") && p["env"].is_array() ? p["env"] : json::array();
    for (const auto& kv : r.env) env.push_back(kv);
    p["env"] = env;
  }
  if (r.user) {
    const std::string& u = *r.user;
    size_t colon = u.find(':');
    auto uid = parse::unsigned_dec(u.substr(0, colon), 0xfffffffeULL);
    std::optional<uint64_t> gid;
    if (colon != std::string::npos) gid = parse::unsigned_dec(u.substr(colon + 1), 0xfffffffeULL);
    if (!uid || (colon != std::string::npos && !gid))
      throw Error("exec: --user '" + u + "': expected UID[:GID] as numbers (names are not "
                  "looked up in the container)");
    if (!p.contains("user") || !p["user"].is_object()) p["user"] = json::object();
    p["user"]["uid"] = *uid;
    if (gid) p["user"]["gid"] = *gid;
  }
  if (!r.additional_gids.empty()) {
    // runc: they replace the config's; checked against the gid map as config.json's are.
    if (!p.contains("user") || !p["user"].is_object()) p["user"] = json::object();
    p["user"]["additionalGids"] = r.additional_gids;
  }
  if (!r.caps.empty()) {
    if (!p.contains("capabilities") || !p["capabilities"].is_object())
      p["capabilities"] = json::object();
    json& c = p["capabilities"];
    // runc adds --cap to every set; sandbox's one-set rule wants inheritable and ambient
    // either empty or equal to bounding, so they get it where they are not empty.
    for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"}) {
      bool core = std::string(set) == "bounding" || std::string(set) == "effective" ||
                  std::string(set) == "permitted";
      if (!core && !(c.contains(set) && c[set].is_array() && !c[set].empty())) continue;
      json arr = c.contains(set) && c[set].is_array() ? c[set] : json::array();
      for (const auto& name : r.caps) arr.push_back(name);
      c[set] = arr;
    }
  }
  if (r.tty) p["terminal"] = true;
  if (r.no_new_privs) p["noNewPrivileges"] = true;
  return p.dump();
}

Config map_exec(const std::string& config_json, const std::string& process, const MapInput& in) {
  json cfg = json::parse(config_json);
  cfg["process"] = json::parse(process);
  try {
    return map_config(cfg.dump(), in);
  } catch (const ConfigError& e) {
    // The mapping names config.json; what it refused is the exec's process (or, rarely,
    // the container's config.json, which create accepted, so this is the process's).
    std::string what = e.what();
    const std::string prefix = "config.json: ";
    if (what.rfind(prefix, 0) == 0) what = what.substr(prefix.size());
    throw Error("exec: process.json: " + what);
  }
}

TerminalRequest take_terminal(std::string& process_json) {
  json p = json::parse(process_json);
  TerminalRequest t;
  if (p.contains("terminal")) {
    if (!p["terminal"].is_boolean()) throw Error("exec: process.json: process.terminal: must be a boolean");
    t.on = p["terminal"].get<bool>();
    p.erase("terminal");
  }
  if (p.contains("consoleSize")) {
    const json& c = p["consoleSize"];
    auto dim = [&](const char* k) -> unsigned {
      if (!c.is_object() || !c.contains(k)) return 0;
      if (!c[k].is_number_unsigned() || c[k].get<uint64_t>() > 65535)
        throw Error(std::string("exec: process.json: process.consoleSize.") + k +
                    ": must be a number up to 65535");
      return c[k].get<unsigned>();
    };
    t.rows = dim("height");
    t.cols = dim("width");
    p.erase("consoleSize");
  }
  process_json = p.dump();
  return t;
}

std::string confinement_json(const Confinement& c) {
  json rl = json::array();
  for (const auto& r : c.rlimits)
    rl.push_back({{"resource", r.resource}, {"name", r.name}, {"soft", r.soft}, {"hard", r.hard}});
  return json{{"caps", c.caps}, {"rlimits", rl}, {"landlock", c.landlock}, {"cgroup", c.cgroup},
              {"exec_label", c.exec_label}}
             .dump() +
         "\n";
}

Confinement parse_confinement(const std::string& json_text) {
  try {
    json j = json::parse(json_text);
    Confinement c;
    c.caps = j.at("caps").get<uint64_t>();
    for (const auto& r : j.at("rlimits")) {
      RlimitSetting s;
      s.resource = r.at("resource").get<int>();
      s.name = r.at("name").get<std::string>();
      s.soft = r.at("soft").get<uint64_t>();
      s.hard = r.at("hard").get<uint64_t>();
      s.text = s.name;
      c.rlimits.push_back(s);
    }
    c.landlock = j.at("landlock").get<bool>();
    c.cgroup = j.at("cgroup").get<bool>();
    c.exec_label = j.at("exec_label").get<std::string>();
    return c;
  } catch (const std::exception& e) {
    throw Error(std::string("malformed exec.json: ") + e.what());
  }
}

void check_exec_label(const std::string& container_label, const std::optional<std::string>& exec_label) {
  // Security: never silently without the label the container's command runs under.
  if (!container_label.empty() || (exec_label && !exec_label->empty()))
    throw Error("exec: process.selinuxLabel: an SELinux label for exec is not supported yet");
}

uint64_t exec_caps(uint64_t wanted, uint64_t container) {
  uint64_t extra = wanted & ~container;
  if (!extra) return wanted;
  std::string names;
  for (int c = 0; c < 64; ++c)
    if (extra & (1ULL << c)) names += (names.empty() ? "" : ", ") + security::capability_display_name(c);
  // Security: exec never holds more than the container's command was given.
  throw Error("exec: the process asks for capabilities the container was not given: " + names);
}

std::vector<RlimitSetting> exec_rlimits(const std::vector<RlimitSetting>& container,
                                        const std::vector<RlimitSetting>& wanted) {
  std::vector<RlimitSetting> out = container;
  for (const auto& w : wanted) {
    for (const auto& c : container)
      if (c.resource == w.resource && w.hard > c.hard)
        throw Error("exec: process.json: rlimit " + w.name + ": hard limit " +
                    (w.hard == Limits::kUnlimited ? std::string("unlimited") : std::to_string(w.hard)) +
                    " is above the container's (" +
                    (c.hard == Limits::kUnlimited ? std::string("unlimited") : std::to_string(c.hard)) +
                    ")");
    out.push_back(w);  // applied after the container's: the later one wins
  }
  return out;
}

namespace {

// The intermediate process, in the caller's namespaces still: joins the container's
// cgroups and namespaces. Only stdio, the preserved fds, `report` and the pidfd are open.
void enter(const ExecLaunch& l) {
  for (const auto& procs : l.cgroup_procs) {
    // The container's limits apply to the exec'd process too (writing 0 moves ourselves).
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || !io::write_all(fd.get(), "0"))
      throw_errno("exec: can't join the container's cgroup " + procs);
  }
  if (l.ns_flags == 0) return;
  // Newer kernels (5.8) take a pidfd and every namespace at once, atomically.
  if (::setns(l.pidfd, l.ns_flags) == 0) return;
  if (errno != EINVAL) throw_errno("exec: can't enter the container's namespaces");
  // Older kernels: one /proc/PID/ns file at a time; all opened first (the pidfd keeps the
  // pid from being reused meanwhile: checked once they are open), the user namespace
  // entered first (it owns the others), the mount namespace last.
  std::vector<std::pair<UniqueFd, int>> fds;
  for (int flag : nsfs::kJoinOrder) {
    if (!(l.ns_flags & flag)) continue;
    std::string path = "/proc/" + std::to_string(l.pid) + "/ns/" + nsfs::type_name(flag);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("exec: can't open " + path);
    fds.emplace_back(std::move(fd), flag);
  }
  if (::syscall(SYS_pidfd_send_signal, l.pidfd, 0, nullptr, 0) < 0)
    throw Error("exec: the container's process exited");
  for (auto& [fd, flag] : fds) {
    if (::setns(fd.get(), flag) < 0)
      throw_errno(std::string("exec: can't enter the container's ") + nsfs::type_name(flag) +
                  " namespace");
    fd.reset();
  }
}

// The process itself, in every namespace of the container: confined, then exec. The order
// is the container command's (launch/child.cpp's exec_command). Never returns.
[[noreturn]] void become_process(const ExecLaunch& l, int report) {
  try {
    // Ids: with maps written from outside (several ranges) the process takes its own ids
    // and supplementary groups, as the container's command did (joining the namespace gave
    // us CAP_SETUID/CAP_SETGID there; the capabilities below are then set for the new uid).
    // Otherwise the one the container's user namespace maps us to; another would need more
    // than the single id map sandbox writes (refused rather than half switched).
    if (l.switch_ids)
      ns::enter_mapped_ids(l.uid, l.gid, l.groups, "exec: process.user.additionalGids");
    else if (l.groups)
      // Security: groups asked for are set or the exec fails, never silently dropped
      // (mapping only lets them through for a container without a user namespace).
      ns::set_groups(*l.groups, "exec: process.user.additionalGids");
    if (::getuid() != l.uid || ::getgid() != l.gid)
      throw Error("exec: uid " + std::to_string(l.uid) + " / gid " + std::to_string(l.gid) +
                  ": in the container this runtime is uid " + std::to_string(::getuid()) +
                  " / gid " + std::to_string(::getgid()) + " and cannot switch ids");
    // The terminal: a pty of the container's own devpts, in its mount namespace (we are in
    // it now); the master goes to the engine, the slave becomes our stdio and controlling
    // terminal; the socket is closed before anything of the process runs.
    if (l.console >= 0) console_send_pty(l.console, l.rows, l.cols);
    if (::chdir(l.cwd.c_str()) < 0) throw_errno("exec: can't change to the directory " + l.cwd);
    // Capabilities: exactly the checked set (bounding too, so no exec regains others), then
    // no_new_privs (execve grants nothing more; needed for an unprivileged filter).
    security::apply_caps(l.caps, ::getuid() != 0);
    security::set_no_new_privs();
    ::umask(l.umask);
    // Security: only stdio and --preserve-fds reach the process; `report` is close-on-exec.
    for (unsigned i = 0; i < l.preserve_fds; ++i)
      if (::fcntl(3 + static_cast<int>(i), F_SETFD, 0) < 0)
        throw_errno("exec: --preserve-fds: fd " + std::to_string(3 + i));
    if (::close_range(3 + l.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
      throw_errno("exec: close_range");
    std::vector<char*> argv, envp;
    std::vector<std::string> args = l.argv, env = l.env;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    limits::apply_rlimits(l.rlimits);
    for (int sig : launch::kForwardedSignals) ::signal(sig, SIG_DFL);
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
    // Seccomp last (a profile may deny what the steps above use): the container's programs.
    security::load_bpf_programs(l.seccomp_programs);
    environ = envp.data();  // execvp searches the process's PATH
    ::execvp(argv[0], argv.data());
    throw_errno("exec: can't execute " + l.argv[0]);
  } catch (const std::exception& e) {
    io::write_all(report, e.what());
  }
  ::_exit(1);
}

pid_t g_exec_pid = 0;
void forward_to_exec(int sig) {
  if (g_exec_pid > 0) ::kill(g_exec_pid, sig);
}

}  // namespace

// Reads `fd` to EOF.
std::string read_all(int fd) {
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

int exec_in_container(const ExecLaunch& l) {
  // Security (runc's CVE-2016-9962 and CVE-2019-5736): non-dumpable before any setns, so
  // that no container process can ptrace us or reach our /proc/PID/{exe,fd,mem} while we
  // are in its namespaces (our mm stays the host user namespace's: the container holds no
  // CAP_SYS_PTRACE there). Inherited by both children; exec makes the process dumpable.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_DUMPABLE)");
  // Without --detach we wait for the process, a grandchild: as a subreaper it becomes our
  // child once the intermediate exits. With --detach it goes to the caller's subreaper.
  if (!l.detach && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    throw_errno("prctl(PR_SET_CHILD_SUBREAPER)");
  // Two close-on-exec pipes: the intermediate reports the process's pid (or its own
  // failure) on one, the process its failure on the other, which reaches EOF when it execs.
  int a[2], b[2];
  if (::pipe2(a, O_CLOEXEC) < 0) throw_errno("pipe");
  UniqueFd mid_r(a[0]), mid_w(a[1]);
  if (::pipe2(b, O_CLOEXEC) < 0) throw_errno("pipe");
  UniqueFd proc_r(b[0]), proc_w(b[1]);
  if (!l.detach) {
    // What the runtime is sent, the process is (as `run` does for the container).
    struct sigaction sa{};
    sa.sa_handler = forward_to_exec;
    ::sigemptyset(&sa.sa_mask);
    for (int sig : launch::kForwardedSignals) ::sigaction(sig, &sa, nullptr);
  }
  std::fflush(nullptr);
  pid_t mid = ::fork();
  if (mid < 0) throw_errno("fork");
  if (mid == 0) {
    // The intermediate: a PID namespace applies to its children only.
    try {
      mid_r.reset();
      proc_r.reset();
      // Security: no descriptor of the runtime (state directory, lock, log) enters the
      // container: only stdio, the caller's --preserve-fds, the two pipes and the pidfd.
      std::vector<int> keep = {0, 1, 2, mid_w.get(), proc_w.get(), l.pidfd, l.console};
      for (unsigned i = 0; i < l.preserve_fds; ++i) keep.push_back(3 + static_cast<int>(i));
      close_all_except(keep);
      enter(l);
      ::close(l.pidfd);
      pid_t pid = ::fork();
      // The console socket is the process's alone (it closes it once the master is sent).
      if (pid > 0 && l.console >= 0) ::close(l.console);
      if (pid < 0) throw_errno("exec: fork");
      if (pid == 0) {
        mid_w.reset();
        become_process(l, proc_w.get());
      }
      io::write_all(mid_w.get(), "pid " + std::to_string(pid));
      ::_exit(0);
    } catch (const std::exception& e) {
      io::write_all(mid_w.get(), std::string("err ") + e.what());
    }
    ::_exit(1);
  }
  mid_w.reset();
  proc_w.reset();
  const std::string mid_says = read_all(mid_r.get());
  while (::waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (mid_says.rfind("pid ", 0) != 0)
    throw Error(mid_says.rfind("err ", 0) == 0 ? mid_says.substr(4)
                                               : "exec: the process could not be started");
  const pid_t pid = static_cast<pid_t>(std::stol(mid_says.substr(4)));
  g_exec_pid = l.detach ? 0 : pid;
  const std::string failed = read_all(proc_r.get());
  if (!failed.empty()) {
    if (!l.detach)
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    throw Error(failed);
  }
  if (!l.pid_file.empty()) {
    // The process's host pid, what a subreaper (conmon) waits for.
    std::string tmp = l.pid_file + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd || !io::write_all(fd.get(), std::to_string(pid))) throw_errno("Can't write " + tmp);
    fd.reset();
    if (::rename(tmp.c_str(), l.pid_file.c_str()) < 0) throw_errno("Can't rename " + tmp);
  }
  if (l.detach) return 0;
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) throw_errno("exec: waitpid");
  g_exec_pid = 0;
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

}  // namespace sb::oci
