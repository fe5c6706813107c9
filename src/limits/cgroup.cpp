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

// ---- The limit files, per controller and hierarchy version -----------------------------
// Each function lists the writes for the limits that are set, in the order they must be
// made (cgroup v1's memory.memsw.limit_in_bytes may not go below memory.limit_in_bytes).

std::vector<CgroupWrite> memory_v2(const Limits& l) {
  if (!l.memory) return {};
  std::vector<CgroupWrite> w = {CgroupWrite::one("memory.max", std::to_string(*l.memory))};
  // Swap is 0 unless asked for: a hog must hit the limit, not the disk.
  if (l.memory_swap) w.push_back(CgroupWrite::one("memory.swap.max", std::to_string(*l.memory_swap)));
  else w.push_back(CgroupWrite::if_present("memory.swap.max", "0"));
  return w;
}

std::vector<CgroupWrite> memory_v1(const Limits& l) {
  if (!l.memory) return {};
  std::vector<CgroupWrite> w = {
      CgroupWrite::one("memory.limit_in_bytes", std::to_string(*l.memory))};
  if (l.memory_swap)
    w.push_back(CgroupWrite::one("memory.memsw.limit_in_bytes",
                                 std::to_string(*l.memory + *l.memory_swap)));
  else
    w.push_back(CgroupWrite::if_present("memory.memsw.limit_in_bytes", std::to_string(*l.memory)));
  return w;
}

std::vector<CgroupWrite> pids_any(const Limits& l) {
  if (!l.pids) return {};
  return {CgroupWrite::one("pids.max", std::to_string(*l.pids))};
}

std::vector<CgroupWrite> cpu_v2(const Limits& l) {
  std::vector<CgroupWrite> w;
  if (l.cpu_quota_us)
    w.push_back(CgroupWrite::one(
        "cpu.max", std::to_string(*l.cpu_quota_us) + " " + std::to_string(Limits::kCpuPeriodUs)));
  if (l.cpu_weight) w.push_back(CgroupWrite::one("cpu.weight", std::to_string(*l.cpu_weight)));
  return w;
}

// The weights map as systemd maps them: shares = weight * 1024 / 100, blkio weight =
// weight * 5 (default 100 -> 1024 shares, 500 blkio weight).
std::vector<CgroupWrite> cpu_v1(const Limits& l) {
  std::vector<CgroupWrite> w;
  if (l.cpu_quota_us) {
    w.push_back(CgroupWrite::one("cpu.cfs_period_us", std::to_string(Limits::kCpuPeriodUs)));
    w.push_back(CgroupWrite::one("cpu.cfs_quota_us", std::to_string(*l.cpu_quota_us)));
  }
  if (l.cpu_weight)
    w.push_back(CgroupWrite::one(
        "cpu.shares", std::to_string(std::clamp<uint64_t>(*l.cpu_weight * 1024 / 100, 2, 262144))));
  return w;
}

// The I/O scheduler decides which weight file exists: the generic one, else BFQ's.
std::vector<CgroupWrite> io_v2(const Limits& l) {
  if (!l.io_weight) return {};
  return {CgroupWrite::first_of({{"io.weight", "default " + std::to_string(*l.io_weight)},
                                 {"io.bfq.weight", std::to_string(*l.io_weight)}})};
}

std::vector<CgroupWrite> io_v1(const Limits& l) {
  if (!l.io_weight) return {};
  std::string w = std::to_string(std::clamp<uint64_t>(*l.io_weight * 5, 10, 1000));
  return {CgroupWrite::first_of({{"blkio.weight", w}, {"blkio.bfq.weight", w}})};
}

// The options that ask for a limit of the controller, for messages.
std::vector<std::string> memory_options(const Limits& l) {
  std::vector<std::string> o;
  if (l.memory) o.push_back("--memory " + l.memory_text);
  if (l.memory_swap) o.push_back("--memory-swap");
  return o;
}
std::vector<std::string> pids_options(const Limits& l) {
  if (!l.pids) return {};
  return {"--pids " + l.pids_text};
}
std::vector<std::string> cpu_options(const Limits& l) {
  std::vector<std::string> o;
  if (l.cpu_quota_us) o.push_back("--cpus " + l.cpus_text);
  if (l.cpu_weight) o.push_back("--cpu-weight");
  return o;
}
std::vector<std::string> io_options(const Limits& l) {
  if (!l.io_weight) return {};
  return {"--io-weight"};
}

// One row per controller the limits use, in the order the limits are written.
struct Controller {
  const char* v2_name;
  const char* v1_name;
  std::vector<std::string> (*options)(const Limits&);
  std::vector<CgroupWrite> (*v2)(const Limits&);
  std::vector<CgroupWrite> (*v1)(const Limits&);
};
const Controller kControllers[] = {
    {"memory", "memory", memory_options, memory_v2, memory_v1},
    {"pids", "pids", pids_options, pids_any, pids_any},
    {"cpu", "cpu", cpu_options, cpu_v2, cpu_v1},
    {"io", "blkio", io_options, io_v2, io_v1},
};

}  // namespace

std::vector<Need> needs(const Limits& l) {
  std::vector<Need> n;
  for (const auto& c : kControllers)
    if (auto o = c.options(l); !o.empty()) n.push_back({c.v2_name, c.v1_name, std::move(o)});
  return n;
}

std::vector<CgroupWrite> leaf_writes(const CgroupLeafPlan& leaf, const Limits& l) {
  std::vector<CgroupWrite> out;
  for (const auto& c : kControllers) {
    if (!has(leaf.controllers, leaf.v2 ? c.v2_name : c.v1_name)) continue;
    auto w = (leaf.v2 ? c.v2 : c.v1)(l);
    out.insert(out.end(), w.begin(), w.end());
  }
  return out;
}

void write_limits(int dirfd, const std::string& dir, const std::vector<CgroupWrite>& writes) {
  for (const auto& w : writes)
    for (size_t i = 0; i < w.choices.size(); ++i) {
      const bool last = i + 1 == w.choices.size();
      const auto& [file, value] = w.choices[i];
      const std::string shown = dir + "/" + file;
      // A file this kernel or I/O scheduler lacks: the next choice, or none when optional.
      if (!last || w.optional) {
        if (io::write_kernel_file_if_present_at(dirfd, file, value, shown)) break;
      } else {
        io::write_kernel_file_at(dirfd, file, value, shown);
      }
    }
}

namespace {

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

std::optional<std::string> v2_base_dir(const Limits& limits, const Hierarchy& v2) {
  if (limits.cgroup_parent) return with_parent(v2.mountpoint, *limits.cgroup_parent);
  std::optional<std::string> base = v2.caller_dir;
  // A caller an earlier sandbox moved to sandbox-caller makes its leaves beside it.
  const std::string moved = "/" + std::string(kCallerLeaf);
  if (base && base->size() > moved.size() && base->ends_with(moved)) base = dirname_of(*base);
  return base;
}

std::vector<std::string> stale_dir_candidates(const Limits& limits,
                                              const std::vector<Hierarchy>& hierarchies,
                                              const std::optional<std::string>& v2_base) {
  std::vector<std::string> out;
  for (const auto& h : hierarchies) {
    bool used = h.v2;
    for (const auto& c : kControllers) used |= has(h.controllers, c.v1_name);
    std::optional<std::string> dir =
        h.v2 ? v2_base
             : limits.cgroup_parent ? std::optional(with_parent(h.mountpoint, *limits.cgroup_parent))
                                    : h.caller_dir;
    if (used && dir && !has(out, *dir)) out.push_back(*dir);
  }
  return out;
}

std::string why_not_v2(const V2Base& b, const std::string& controller, const Limits& limits) {
  if (!b.mountpoint) return "no cgroup2 filesystem is mounted (none in /proc/self/mountinfo)";
  if (!b.dir) {
    if (limits.cgroup_parent)
      return "--cgroup-parent " + *limits.cgroup_parent + " is not a cgroup2 cgroup";
    return "the caller's cgroup is not visible under the cgroup2 mount " + *b.mountpoint;
  }
  if (!b.exists) return "the cgroup " + *b.dir + " does not exist";
  const std::string offered = b.offered.empty() ? "none" : join(b.offered, " ");
  if (*b.dir == *b.mountpoint)
    return "the " + controller + " controller is not available in the cgroup2 hierarchy " +
           *b.dir + " (it offers: " + offered +
           "; the controller is bound to a cgroup v1 hierarchy or not built in)";
  return "the " + controller + " controller is not enabled for " + *b.dir +
         " (its cgroup.controllers offers: " + offered +
         "; the cgroup above it must enable and delegate it)";
}

void add_v1_leaf(std::vector<CgroupLeafPlan>& leaves, const std::string& parent,
                 const std::string& controller) {
  auto same = std::find_if(leaves.begin(), leaves.end(),
                           [&](const CgroupLeafPlan& l) { return !l.v2 && l.parent == parent; });
  if (same != leaves.end()) {
    same->controllers.push_back(controller);
    return;
  }
  CgroupLeafPlan l;
  l.parent = parent;
  l.controllers = {controller};
  leaves.push_back(l);
}

namespace {

// What decide() reads about the v2 base cgroup.
V2Base v2_base(const Limits& limits, const std::vector<Hierarchy>& hierarchies) {
  V2Base b;
  const Hierarchy* v2 = nullptr;
  for (const auto& h : hierarchies)
    if (h.v2) v2 = &h;
  if (!v2) return b;
  b.mountpoint = v2->mountpoint;
  b.dir = v2_base_dir(limits, *v2);
  if (b.dir) {
    b.exists = exists(*b.dir);
    if (auto t = io::read_file(*b.dir + "/cgroup.controllers")) b.offered = words(*t);
  }
  return b;
}

// Need `n`, which cgroup v2 can't serve (`why_not_v2`), in a cgroup v1 hierarchy with its
// controller: root only. A leaf in `d`, or the problem.
void place_v1(const Need& n, const std::vector<Hierarchy>& hierarchies, const Limits& limits,
              uid_t uid, const std::string& why_not_v2, Decision& d) {
  const Hierarchy* v1 = nullptr;
  for (const auto& h : hierarchies)
    if (!h.v2 && has(h.controllers, n.v1_name)) v1 = &h;
  auto problem = [&](const std::string& why) { d.problems.push_back({n.controller, n.options, why}); };
  if (!v1) return problem(why_not_v2);
  if (uid != 0)
    return problem(why_not_v2 + ", and the cgroup v1 " + n.v1_name + " hierarchy (" +
                   v1->mountpoint + ") can only be used by root");
  std::string parent = limits.cgroup_parent ? with_parent(v1->mountpoint, *limits.cgroup_parent)
                                            : v1->caller_dir.value_or("");
  if (parent.empty() || !exists(parent))
    return problem("no cgroup " + (parent.empty() ? std::string("of the caller") : parent) +
                   " in the cgroup v1 " + n.v1_name + " hierarchy " + v1->mountpoint);
  if (n.controller == "io" && !exists(parent + "/blkio.weight") &&
      !exists(parent + "/blkio.bfq.weight"))
    return problem("the cgroup v1 blkio hierarchy has no blkio.weight here (the I/O scheduler "
                   "does not support weights)");
  add_v1_leaf(d.leaves, parent, n.v1_name);
}

// Delegated means the cgroup, its cgroup.procs and cgroup.subtree_control belong to `uid`
// (systemd chowns them for Delegate=yes); root may use any cgroup. "" when it is.
std::string not_delegated(const std::string& base, uid_t uid) {
  for (const char* f : {"", "/cgroup.procs", "/cgroup.subtree_control"}) {
    struct stat st;
    std::string p = base + f;
    if (::stat(p.c_str(), &st) < 0) return p + " is missing";
    if (uid != 0 && st.st_uid != uid)
      return "it is not delegated to uid " + std::to_string(uid) + " (" + p + " belongs to uid " +
             std::to_string(st.st_uid) + ")";
  }
  return "";
}

// No internal processes: a non-root cgroup can enable controllers for its children only
// while no process lives in it. The caller's own processes (the supervisor, the shell that
// started it) move to the sibling leaf sandbox-caller (`leaf.move_processes`); another
// user's processes are not ours to move. "" when the leaf can go there.
std::string internal_processes(CgroupLeafPlan& leaf, const std::string& base, uid_t uid,
                               pid_t self) {
  auto in_base = procs(base);
  size_t foreign = 0;
  for (pid_t p : in_base) {
    struct stat st;
    std::string proc = "/proc/" + std::to_string(p);
    if (p != self && uid != 0 && (::stat(proc.c_str(), &st) < 0 || st.st_uid != uid)) ++foreign;
  }
  if (foreign)
    return "the controllers are not enabled in its cgroup.subtree_control and it holds other "
           "processes (" + std::to_string(foreign) + " not owned by uid " + std::to_string(uid) +
           "), so the kernel's no-internal-processes rule forbids enabling them";
  leaf.move_processes = !in_base.empty();
  return "";
}

// The v2 leaf with the controllers cgroup v2 offers, in the base cgroup: first in `d`, or a
// problem for each of its controllers.
void place_v2(CgroupLeafPlan leaf, const V2Base& b, const Limits& limits, uid_t uid, pid_t self,
              Decision& d) {
  const std::string& base = *b.dir;
  leaf.parent = base;
  std::string why = not_delegated(base, uid);
  std::vector<std::string> enabled;
  if (auto t = io::read_file(base + "/cgroup.subtree_control")) enabled = words(*t);
  for (const auto& c : leaf.controllers)
    if (!has(enabled, c)) leaf.enable_controllers = true;
  if (why.empty() && leaf.enable_controllers && base != *b.mountpoint)
    why = internal_processes(leaf, base, uid, self);
  if (why.empty()) {
    d.leaves.insert(d.leaves.begin(), leaf);
    return;
  }
  for (const auto& n : needs(limits))
    if (has(leaf.controllers, n.controller))
      d.problems.push_back({n.controller, n.options, "the cgroup " + base + " can't be used: " + why});
}

}  // namespace

Decision decide(const Limits& limits, const std::vector<Hierarchy>& hierarchies, uid_t uid,
                pid_t self) {
  Decision d;
  const V2Base b = v2_base(limits, hierarchies);
  d.stale_dirs = stale_dir_candidates(limits, hierarchies, b.dir);
  CgroupLeafPlan v2leaf;
  v2leaf.v2 = true;
  for (const auto& n : needs(limits)) {
    if (b.dir && has(b.offered, n.controller)) v2leaf.controllers.push_back(n.controller);
    else place_v1(n, hierarchies, limits, uid, why_not_v2(b, n.controller, limits), d);
  }
  if (!v2leaf.controllers.empty()) place_v2(v2leaf, b, limits, uid, self, d);
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
      prepare_parent(p);
      create_leaf(p, l, self);
    }
  } catch (...) {
    remove_all();
    throw;
  }
}

void CgroupSet::prepare_parent(const CgroupLeafPlan& p) {
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
}

void CgroupSet::create_leaf(const CgroupLeafPlan& p, const Limits& l, pid_t self) {
  // Security: the limits are written to sandbox-<pid>, and the command lives in its child
  // cgroup `command`, the root of its cgroup namespace: what it can see of the hierarchy (a
  // cgroup filesystem it mounts) starts below the limits, so it can neither raise them nor
  // move itself above them.
  std::string dir = p.parent + "/" + leaf_name(self);
  if (::mkdir(dir.c_str(), 0755) < 0) throw_errno("Can't create cgroup " + dir);
  leaves_.push_back({p, dir});
  // The leaf is opened once, right after it is made, and every file in it is reached
  // through that descriptor (as crun does): no path is resolved again per limit.
  UniqueFd leaf(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!leaf) throw_errno("Can't open cgroup " + dir);
  write_limits(leaf.get(), dir, leaf_writes(p, l));
  std::string inner = command_dir(dir);
  if (::mkdirat(leaf.get(), std::string(kCommandLeaf).c_str(), 0755) < 0)
    throw_errno("Can't create cgroup " + inner);
  if (p.v2) {
    v2_fd_.reset(::openat(leaf.get(), std::string(kCommandLeaf).c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!v2_fd_) throw_errno("Can't open cgroup " + inner);
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
