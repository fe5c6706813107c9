#include "limits/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include "util/error.hpp"
#include "util/io.hpp"
#include "util/log.hpp"
#include "util/mountinfo.hpp"
#include "util/parse.hpp"

namespace sb::limits {
namespace {

constexpr std::string_view kV1Controllers[] = {"cpu",     "cpuacct", "cpuset",     "memory",
                                               "devices", "freezer", "net_cls",    "blkio",
                                               "perf_event", "net_prio", "hugetlb", "pids",
                                               "rdma",    "misc"};

bool has(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : std::string(sep)) + x;
  return s;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<pid_t> procs(const std::string& dir) {
  std::vector<pid_t> out;
  auto text = io::read_file(dir + "/cgroup.procs");
  if (!text) return out;
  for (const auto& w : words(*text))
    if (auto n = parse::unsigned_dec(w, INT32_MAX)) out.push_back(static_cast<pid_t>(*n));
  return out;
}

// The cgroups below `dir` (not `dir` itself), deepest first.
std::vector<std::string> subcgroups(const std::string& dir, int depth = 0) {
  std::vector<std::string> out;
  if (depth > 64) return out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  std::vector<std::string> subs;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    std::string path = dir + "/" + e->d_name;
    struct stat st;
    if (e->d_type == DT_DIR ||
        (e->d_type == DT_UNKNOWN && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
      subs.push_back(path);
  }
  ::closedir(d);
  for (const auto& s : subs) {
    auto below = subcgroups(s, depth + 1);
    out.insert(out.end(), below.begin(), below.end());
    out.push_back(s);
  }
  return out;
}

// The processes in `dir` and every cgroup below it.
std::vector<pid_t> procs_tree(const std::string& dir) {
  std::vector<pid_t> out = procs(dir);
  for (const auto& s : subcgroups(dir)) {
    auto p = procs(s);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// "/a" + "/b/c" with the mount's root ("/" or "/b") stripped from the path.
std::optional<std::string> dir_in_mount(const std::string& mountpoint, const std::string& root,
                                        const std::string& path) {
  std::string rel;
  if (root == "/") rel = path;
  else if (path == root) rel = "";
  else if (path.rfind(root + "/", 0) == 0) rel = path.substr(root.size());
  else return std::nullopt;  // the caller's cgroup is outside what this mount shows
  if (rel == "/") rel = "";
  return mountpoint + rel;
}

std::string with_parent(const std::string& mountpoint, const std::string& cgroup_parent) {
  // A path under the mount point is used as is; anything else is a cgroup path like those
  // in /proc/self/cgroup.
  if (cgroup_parent == mountpoint || cgroup_parent.rfind(mountpoint + "/", 0) == 0)
    return cgroup_parent;
  return mountpoint + (cgroup_parent == "/" ? "" : cgroup_parent);
}

// The controllers the limits need, each with the options that need it.
struct Need {
  std::string controller;  // v2 name
  std::string v1_name;
  std::vector<std::string> options;
};
std::vector<Need> needs(const Limits& l) {
  std::vector<Need> n;
  std::vector<std::string> mem, cpu;
  if (l.memory) mem.push_back("--memory " + l.memory_text);
  if (l.memory_swap) mem.push_back("--memory-swap");
  if (!mem.empty()) n.push_back({"memory", "memory", mem});
  if (l.pids) n.push_back({"pids", "pids", {"--pids " + l.pids_text}});
  if (l.cpu_quota_us) cpu.push_back("--cpus " + l.cpus_text);
  if (l.cpu_weight) cpu.push_back("--cpu-weight");
  if (!cpu.empty()) n.push_back({"cpu", "cpu", cpu});
  if (l.io_weight) n.push_back({"io", "blkio", {"--io-weight"}});
  return n;
}

std::string leaf_name(pid_t self) { return "sandbox-" + std::to_string(self); }

std::string dirname_of(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
}

}  // namespace

// ---- Parsing ----------------------------------------------------------------------------

std::vector<ProcCgroup> parse_proc_cgroup(std::string_view text) {
  std::vector<ProcCgroup> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    ProcCgroup c;
    c.id = line.substr(0, a);
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::istringstream cs(ctrls);
    for (std::string x; std::getline(cs, x, ',');)
      if (!x.empty() && x.rfind("name=", 0) != 0) c.controllers.push_back(x);
    c.path = line.substr(b + 1);
    if (c.path.empty()) c.path = "/";
    if (c.controllers.empty() && !(c.id == "0" && ctrls.empty())) continue;  // named v1 only
    out.push_back(std::move(c));
  }
  return out;
}

std::map<std::string, uint64_t> parse_keyed(std::string_view text) {
  std::map<std::string, uint64_t> m;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string k, v;
    if (!(f >> k >> v)) continue;
    if (auto n = parse::unsigned_dec(v, UINT64_MAX)) m[k] = *n;
  }
  return m;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> w;
  std::istringstream in{std::string(text)};
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

// ---- Discovery ----------------------------------------------------------------------------

std::vector<Hierarchy> find_hierarchies(std::string_view mountinfo, std::string_view proc_cgroup) {
  auto mine = parse_proc_cgroup(proc_cgroup);
  std::vector<Hierarchy> out;
  bool have_v2 = false;
  std::set<std::string> v1_seen;
  for (const auto& m : sb::mountinfo::parse(mountinfo)) {
    Hierarchy h;
    if (m.fstype == "cgroup2") {
      if (have_v2) continue;  // the first mount of the hierarchy
      have_v2 = true;
      h.v2 = true;
      h.mountpoint = m.mountpoint;
      for (const auto& c : mine)
        if (c.id == "0" && c.controllers.empty())
          h.caller_dir = dir_in_mount(m.mountpoint, m.root, c.path);
    } else if (m.fstype == "cgroup") {
      std::istringstream os(m.super_options);
      for (std::string o; std::getline(os, o, ',');)
        for (auto k : kV1Controllers)
          if (o == k) h.controllers.push_back(o);
      if (h.controllers.empty() || v1_seen.count(join(h.controllers, ","))) continue;
      v1_seen.insert(join(h.controllers, ","));
      h.mountpoint = m.mountpoint;
      for (const auto& c : mine) {
        auto a = c.controllers, b = h.controllers;
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        if (a == b) h.caller_dir = dir_in_mount(m.mountpoint, m.root, c.path);
      }
    } else {
      continue;
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<Hierarchy> caller_hierarchies() {
  return find_hierarchies(io::read_file("/proc/self/mountinfo").value_or(""),
                          io::read_file("/proc/self/cgroup").value_or(""));
}

// ---- Decision -----------------------------------------------------------------------------

std::string how_to_fix(const FixContext& c) {
  const std::string prog = log::program_name();
  const std::string tail = "; or pass --limits best-effort to run without the cgroup limits";
  if (c.root) {
    if (c.system_manager)
      return "run " + prog + " in a delegated scope, e.g. `systemd-run --scope -p Delegate=yes " +
             prog + " ...`, or name a cgroup with --cgroup-parent" + tail;
    return "create a cgroup for it under the cgroup2 mount (e.g. `mkdir /sys/fs/cgroup/sandbox` "
           "and enable the controllers in /sys/fs/cgroup/cgroup.subtree_control) and pass "
           "--cgroup-parent /sandbox" + tail;
  }
  if (c.user_manager)
    return "run " + prog + " in a cgroup delegated to you, e.g. `systemd-run --user --scope -p "
           "Delegate=yes " + prog + " ...`, or name one with --cgroup-parent" + tail;
  // `systemd-run --user` needs a user manager, which this session does not have.
  return "have a cgroup delegated to you: no systemd user manager runs for you here "
         "(XDG_RUNTIME_DIR unset, or nothing answers at $XDG_RUNTIME_DIR/systemd/private), so "
         "`systemd-run --user` cannot make one; log in through a PAM session or run `sudo "
         "loginctl enable-linger $USER`, or ask root to create a cgroup you own (`sudo mkdir "
         "/sys/fs/cgroup/u$UID && sudo chown -R $USER /sys/fs/cgroup/u$UID`) and pass "
         "--cgroup-parent /u$UID" + tail;
}

std::string how_to_fix() {
  auto answers = [](const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    bool ok = path.size() < sizeof a.sun_path;
    if (ok) {
      std::memcpy(a.sun_path, path.c_str(), path.size());
      ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ::close(fd);
    return ok;
  };
  FixContext c;
  c.root = ::geteuid() == 0;
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  c.user_manager = xdg && *xdg && answers(std::string(xdg) + "/systemd/private");
  c.system_manager = c.root && answers("/run/systemd/private");
  return how_to_fix(c);
}

Decision decide(const Limits& limits, const std::vector<Hierarchy>& hierarchies, uid_t uid,
                pid_t self) {
  Decision d;
  const Hierarchy* v2 = nullptr;
  for (const auto& h : hierarchies)
    if (h.v2) v2 = &h;

  // The v2 base cgroup: --cgroup-parent or the caller's own.
  std::optional<std::string> base;
  std::vector<std::string> offered;
  if (v2) {
    base = limits.cgroup_parent ? with_parent(v2->mountpoint, *limits.cgroup_parent)
                                : v2->caller_dir;
    // A caller an earlier sandbox moved to sandbox-caller makes its leaves beside it.
    if (!limits.cgroup_parent && base && base->size() > kCallerLeaf.size() &&
        base->substr(base->size() - kCallerLeaf.size() - 1) == "/" + std::string(kCallerLeaf))
      base = dirname_of(*base);
    if (base)
      if (auto t = io::read_file(*base + "/cgroup.controllers")) offered = words(*t);
  }

  for (const auto& h : hierarchies) {
    bool used = h.v2;
    for (const char* c : {"memory", "pids", "cpu", "blkio"}) used |= has(h.controllers, c);
    std::optional<std::string> dir = h.v2 ? base
                                   : limits.cgroup_parent
                                       ? std::optional(with_parent(h.mountpoint, *limits.cgroup_parent))
                                       : h.caller_dir;
    if (used && dir && !has(d.stale_dirs, *dir)) d.stale_dirs.push_back(*dir);
  }

  CgroupLeafPlan v2leaf;
  v2leaf.v2 = true;
  std::vector<Problem> v2_problems;  // delegation problems apply to every v2 controller
  for (const auto& n : needs(limits)) {
    if (v2 && base && has(offered, n.controller)) {
      v2leaf.controllers.push_back(n.controller);
      continue;
    }
    const Hierarchy* v1 = nullptr;
    for (const auto& h : hierarchies)
      if (!h.v2 && has(h.controllers, n.v1_name)) v1 = &h;
    std::string why_not_v2 =
        !v2 ? "no cgroup2 filesystem is mounted (none in /proc/self/mountinfo)"
        : !base ? (limits.cgroup_parent ? "--cgroup-parent " + *limits.cgroup_parent +
                                              " is not a cgroup2 cgroup"
                                        : "the caller's cgroup is not visible under the "
                                          "cgroup2 mount " + v2->mountpoint)
        : !exists(*base) ? "the cgroup " + *base + " does not exist"
        : *base == v2->mountpoint
            ? "the " + n.controller + " controller is not available in the cgroup2 hierarchy " +
                  *base + " (it offers: " + (offered.empty() ? "none" : join(offered, " ")) +
                  "; the controller is bound to a cgroup v1 hierarchy or not built in)"
            : "the " + n.controller + " controller is not enabled for " + *base +
                  " (its cgroup.controllers offers: " +
                  (offered.empty() ? "none" : join(offered, " ")) +
                  "; the cgroup above it must enable and delegate it)";
    if (!v1) {
      d.problems.push_back({n.controller, n.options, why_not_v2});
      continue;
    }
    if (uid != 0) {
      d.problems.push_back({n.controller, n.options,
                            why_not_v2 + ", and the cgroup v1 " + n.v1_name + " hierarchy (" +
                                v1->mountpoint + ") can only be used by root"});
      continue;
    }
    std::string parent = limits.cgroup_parent ? with_parent(v1->mountpoint, *limits.cgroup_parent)
                                              : v1->caller_dir.value_or("");
    if (parent.empty() || !exists(parent)) {
      d.problems.push_back({n.controller, n.options,
                            "no cgroup " + (parent.empty() ? std::string("of the caller") : parent) +
                                " in the cgroup v1 " + n.v1_name + " hierarchy " +
                                v1->mountpoint});
      continue;
    }
    if (n.controller == "io" && !exists(parent + "/blkio.weight") &&
        !exists(parent + "/blkio.bfq.weight")) {
      d.problems.push_back({n.controller, n.options,
                            "the cgroup v1 blkio hierarchy has no blkio.weight here (the I/O "
                            "scheduler does not support weights)"});
      continue;
    }
    auto same = std::find_if(d.leaves.begin(), d.leaves.end(),
                             [&](const CgroupLeafPlan& l) { return l.parent == parent; });
    if (same != d.leaves.end()) {
      same->controllers.push_back(n.v1_name);
    } else {
      CgroupLeafPlan l;
      l.parent = parent;
      l.controllers = {n.v1_name};
      d.leaves.push_back(l);
    }
  }

  if (!v2leaf.controllers.empty()) {
    v2leaf.parent = *base;
    // Delegated means the cgroup, its cgroup.procs and cgroup.subtree_control belong to us
    // (systemd chowns them for Delegate=yes); root may use any cgroup.
    std::string why;
    for (const char* f : {"", "/cgroup.procs", "/cgroup.subtree_control"}) {
      struct stat st;
      std::string p = *base + f;
      if (::stat(p.c_str(), &st) < 0) {
        why = p + " is missing";
        break;
      }
      if (uid != 0 && st.st_uid != uid) {
        why = "it is not delegated to uid " + std::to_string(uid) + " (" + p +
              " belongs to uid " + std::to_string(st.st_uid) + ")";
        break;
      }
    }
    std::vector<std::string> enabled;
    if (auto t = io::read_file(*base + "/cgroup.subtree_control")) enabled = words(*t);
    for (const auto& c : v2leaf.controllers)
      if (!has(enabled, c)) v2leaf.enable_controllers = true;
    // No internal processes: a non-root cgroup can enable controllers for its children
    // only while no process lives in it. The caller's own processes (the supervisor, the
    // shell that started it) move to the sibling leaf sandbox-caller; another user's
    // processes are not ours to move.
    if (why.empty() && v2leaf.enable_controllers && *base != v2->mountpoint) {
      auto in_base = procs(*base);
      size_t foreign = 0;
      for (pid_t p : in_base) {
        struct stat st;
        std::string proc = "/proc/" + std::to_string(p);
        if (p != self && uid != 0 && (::stat(proc.c_str(), &st) < 0 || st.st_uid != uid)) ++foreign;
      }
      if (foreign)
        why = "the controllers are not enabled in its cgroup.subtree_control and it holds "
              "other processes (" + std::to_string(foreign) +
              " not owned by uid " + std::to_string(uid) +
              "), so the kernel's no-internal-processes rule forbids enabling them";
      else
        v2leaf.move_processes = !in_base.empty();
    }
    if (why.empty()) {
      d.leaves.insert(d.leaves.begin(), v2leaf);
    } else {
      for (const auto& n : needs(limits))
        if (has(v2leaf.controllers, n.controller))
          d.problems.push_back({n.controller, n.options, "the cgroup " + *base + " can't be used: " + why});
    }
  }
  return d;
}

// ---- Leaves at run time -------------------------------------------------------------------

std::optional<pid_t> leaf_owner(std::string_view name) {
  constexpr std::string_view prefix = "sandbox-";
  if (name.rfind(prefix, 0) != 0) return std::nullopt;
  name.remove_prefix(prefix.size());
  if (name.empty() || name[0] == '0') return std::nullopt;
  auto n = parse::unsigned_dec(name, INT32_MAX);
  if (!n) return std::nullopt;
  return static_cast<pid_t>(*n);
}

bool remove_leaf(const std::string& dir, std::string* failed_at) {
  // The command's leaf (and whatever it made below it) first: a cgroup with children can't
  // be removed. Killing through `dir` reaches the whole subtree.
  for (const auto& sub : subcgroups(dir))
    if (!remove_one(sub)) {
      // The deepest cgroup that stays is the cause; the ones above it stay because of it.
      int err = errno;
      if (failed_at) *failed_at = sub;
      errno = err;
      return false;
    }
  if (remove_one(dir)) return true;
  if (failed_at) *failed_at = dir;
  return false;
}

std::string removal_failure(const std::string& leaf, const std::string& failed_at, int err) {
  std::string msg = "can't remove the cgroup " + failed_at + ": " + std::strerror(err);
  if (err == EBUSY) {
    auto left = procs_tree(failed_at);
    msg += left.empty() ? " (no process is left in it: is something mounted on it?)"
                        : " (" + std::to_string(left.size()) + " process(es) still in it)";
  }
  if (failed_at != leaf) msg += ", so " + leaf + " stays too";
  return msg + ". The limits no longer apply to anything in it; remove it with `rmdir` once "
               "it is empty (the next sandbox with a cgroup limit also tries)";
}

bool remove_one(const std::string& dir) {
  using namespace std::chrono;
  auto deadline = steady_clock::now() + seconds(2);
  bool killed_v2 = false;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY || steady_clock::now() > deadline) return false;
    // cgroup.kill (v2, Linux 5.14+) kills every process at once, forks included; else the
    // listed processes, again on every round until none is left.
    if (!killed_v2 && exists(dir + "/cgroup.kill")) {
      try {
        io::write_kernel_file(dir + "/cgroup.kill", "1");
        killed_v2 = true;
      } catch (const Error&) {
      }
    }
    for (pid_t p : procs_tree(dir)) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(milliseconds(5));
  }
}

std::vector<std::string> remove_stale_leaves(const std::string& parent, uid_t uid, pid_t self) {
  std::vector<std::string> removed;
  DIR* d = ::opendir(parent.c_str());
  if (!d) return removed;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    auto owner = leaf_owner(e->d_name);
    if (!owner || *owner == self) continue;
    std::string dir = parent + "/" + e->d_name;
    struct stat st;
    if (::lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    if (uid != 0 && st.st_uid != uid) continue;  // someone else's
    // A living supervisor (or a process that got its pid) keeps its leaf.
    if (::kill(*owner, 0) == 0 || errno != ESRCH) continue;
    stale.push_back(dir);
  }
  ::closedir(d);
  for (const auto& dir : stale) {
    std::string at;
    if (remove_leaf(dir, &at)) removed.push_back(dir);
    else log::warning("a stale cgroup of an ended sandbox: " + removal_failure(dir, at, errno));
  }
  return removed;
}

CgroupSet::CgroupSet(const std::vector<CgroupLeafPlan>& leaves,
                     const std::vector<std::string>& stale_dirs, const Limits& l, pid_t self) {
  // A supervisor killed with SIGKILL could not remove its leaves (nor stop what runs in
  // them); the next sandbox does.
  for (const auto& dir : stale_dirs) remove_stale_leaves(dir, ::geteuid(), self);
  try {
    for (const auto& p : leaves) {
      remove_stale_leaves(p.parent, ::geteuid(), self);
      if (p.v2 && p.move_processes) {
        std::string caller = p.parent + "/" + std::string(kCallerLeaf);
        if (::mkdir(caller.c_str(), 0755) < 0 && errno != EEXIST)
          throw_errno("Can't create cgroup " + caller);
        // Processes may fork meanwhile: a few rounds until the parent is empty.
        for (int round = 0; round < 10 && !procs(p.parent).empty(); ++round)
          for (pid_t pid : procs(p.parent)) {
            try {
              io::write_kernel_file(caller + "/cgroup.procs", std::to_string(pid));
            } catch (const SysError& e) {
              if (e.err() != ESRCH) throw;  // it exited meanwhile
            }
          }
      }
      if (p.v2 && p.enable_controllers) {
        std::string on;
        for (const auto& c : p.controllers) on += (on.empty() ? "+" : " +") + c;
        io::write_kernel_file(p.parent + "/cgroup.subtree_control", on);
      }
      // Security: the limits are written to sandbox-<pid>, and the command lives in its
      // child cgroup `command`, the root of its cgroup namespace: what it can see of the
      // hierarchy (a cgroup filesystem it mounts) starts below the limits, so it can
      // neither raise them nor move itself above them.
      std::string dir = p.parent + "/" + leaf_name(self);
      if (::mkdir(dir.c_str(), 0755) < 0) throw_errno("Can't create cgroup " + dir);
      leaves_.push_back({p, dir});
      auto set = [&](const char* file, const std::string& v) {
        io::write_kernel_file(dir + "/" + file, v);
      };
      auto optional_set = [&](const char* file, const std::string& v) {
        if (exists(dir + "/" + file)) set(file, v);
      };
      auto has_c = [&](const char* c) { return has(p.controllers, c); };
      if (p.v2) {
        if (has_c("memory") && l.memory) set("memory.max", std::to_string(*l.memory));
        // Swap is 0 unless asked for: a hog must hit the limit, not the disk.
        if (has_c("memory") && l.memory) {
          if (l.memory_swap) set("memory.swap.max", std::to_string(*l.memory_swap));
          else optional_set("memory.swap.max", "0");
        }
        if (has_c("pids") && l.pids) set("pids.max", std::to_string(*l.pids));
        if (has_c("cpu") && l.cpu_quota_us)
          set("cpu.max", std::to_string(*l.cpu_quota_us) + " " + std::to_string(Limits::kCpuPeriodUs));
        if (has_c("cpu") && l.cpu_weight) set("cpu.weight", std::to_string(*l.cpu_weight));
        if (has_c("io") && l.io_weight) {
          if (exists(dir + "/io.weight")) set("io.weight", "default " + std::to_string(*l.io_weight));
          else set("io.bfq.weight", std::to_string(*l.io_weight));
        }
      } else {
        if (has_c("memory") && l.memory) {
          set("memory.limit_in_bytes", std::to_string(*l.memory));
          uint64_t swap = l.memory_swap.value_or(0);
          if (l.memory_swap) set("memory.memsw.limit_in_bytes", std::to_string(*l.memory + swap));
          else optional_set("memory.memsw.limit_in_bytes", std::to_string(*l.memory));
        }
        if (has_c("pids") && l.pids) set("pids.max", std::to_string(*l.pids));
        if (has_c("cpu") && l.cpu_quota_us) {
          set("cpu.cfs_period_us", std::to_string(Limits::kCpuPeriodUs));
          set("cpu.cfs_quota_us", std::to_string(*l.cpu_quota_us));
        }
        // The weights map as systemd maps them: shares = weight * 1024 / 100, blkio weight
        // = weight * 5 (default 100 -> 1024 shares, 500 blkio weight).
        if (has_c("cpu") && l.cpu_weight)
          set("cpu.shares", std::to_string(std::clamp<uint64_t>(*l.cpu_weight * 1024 / 100, 2, 262144)));
        if (has_c("blkio") && l.io_weight) {
          std::string w = std::to_string(std::clamp<uint64_t>(*l.io_weight * 5, 10, 1000));
          if (exists(dir + "/blkio.weight")) set("blkio.weight", w);
          else set("blkio.bfq.weight", w);
        }
      }
      std::string inner = command_dir(dir);
      if (::mkdir(inner.c_str(), 0755) < 0) throw_errno("Can't create cgroup " + inner);
      if (p.v2) {
        v2_fd_.reset(::open(inner.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!v2_fd_) throw_errno("Can't open cgroup " + inner);
      }
    }
  } catch (...) {
    remove_all();
    throw;
  }
}

CgroupSet::~CgroupSet() { remove_all(); }

void CgroupSet::remove_all() {
  v2_fd_.reset();
  for (auto it = leaves_.rbegin(); it != leaves_.rend(); ++it) {
    std::string at;
    // Never silent: a cgroup left behind on the host is reported once, with the way out.
    if (!remove_leaf(it->dir, &at)) log::warning(removal_failure(it->dir, at, errno));
  }
  leaves_.clear();
}

bool CgroupSet::has_v1() const {
  return std::any_of(leaves_.begin(), leaves_.end(), [](const Leaf& l) { return !l.plan.v2; });
}

std::vector<std::string> CgroupSet::dirs() const {
  std::vector<std::string> d;
  for (const auto& l : leaves_) d.push_back(l.dir);
  return d;
}

void CgroupSet::place(pid_t pid, bool v2_done) {
  for (const auto& l : leaves_)
    if (!(l.plan.v2 && v2_done))
      io::write_kernel_file(command_dir(l.dir) + "/cgroup.procs", std::to_string(pid));
}

bool CgroupSet::signal_all(int sig) {
  bool any = false;
  for (const auto& l : leaves_)
    for (pid_t p : procs_tree(l.dir)) any |= ::kill(p, sig) == 0;
  return any;
}

CgroupSet::Events CgroupSet::events() const {
  Events e;
  // cgroup v1 counts OOM kills and refused forks in the cgroup of the process concerned
  // (`command`), v2 also in every cgroup above it up to the one whose limit was hit.
  for (const auto& l : leaves_)
    for (const auto& dir : {l.dir, command_dir(l.dir)}) {
      if (has(l.plan.controllers, "memory")) {
        auto t = io::read_file(dir + (l.plan.v2 ? "/memory.events" : "/memory.oom_control"));
        if (t) e.oom_kill = std::max(e.oom_kill, parse_keyed(*t)["oom_kill"]);
      }
      if (has(l.plan.controllers, "pids"))
        if (auto t = io::read_file(dir + "/pids.events")) e.pids_max = std::max(e.pids_max, parse_keyed(*t)["max"]);
    }
  return e;
}

}  // namespace sb::limits
