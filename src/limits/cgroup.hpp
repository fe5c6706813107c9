// Cgroups for the limits: finding the hierarchies (/proc/self/mountinfo, /proc/self/cgroup;
// never assuming where cgroup2 is mounted), deciding where a leaf can go (delegated cgroup
// v2, or cgroup v1 as root), creating `sandbox-<pid>` leaves, reading back why a process
// died, and removing the leaves (also the stale ones a killed supervisor left behind).
//
// Every function takes absolute paths, so the unit tests run them on a fake cgroup tree
// in a temporary directory.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"
#include "util/fd.hpp"

namespace sb::limits {

// ---- Parsing ----------------------------------------------------------------------------
// (/proc/self/mountinfo: util/mountinfo.hpp.)
struct ProcCgroup {
  std::string id;                        // hierarchy id; "0" with no controllers is cgroup2
  std::vector<std::string> controllers;  // v1: "cpu", "cpuacct"; "name=systemd" is dropped
  std::string path;                      // relative to the cgroup namespace root
};
std::vector<ProcCgroup> parse_proc_cgroup(std::string_view text);

// "key value" lines (memory.events, pids.events, cpu.stat, memory.oom_control).
std::map<std::string, uint64_t> parse_keyed(std::string_view text);
// Whitespace-separated words (cgroup.controllers, cgroup.subtree_control).
std::vector<std::string> words(std::string_view text);

// ---- Discovery ----------------------------------------------------------------------------
struct Hierarchy {
  bool v2 = false;
  std::string mountpoint;
  std::vector<std::string> controllers;  // v1 only: from the mount options
  std::optional<std::string> caller_dir; // the caller's cgroup in it, when visible
};
// The mounted hierarchies (the first mount of each) and where the caller sits in them.
std::vector<Hierarchy> find_hierarchies(std::string_view mountinfo, std::string_view proc_cgroup);
// find_hierarchies() for the calling process (/proc/self/mountinfo, /proc/self/cgroup).
std::vector<Hierarchy> caller_hierarchies();

// ---- Controllers and their files -----------------------------------------------------------
// The controllers the limits need (in the order their limits are written), each with the
// options that need it.
struct Need {
  std::string controller;  // v2 name
  std::string v1_name;
  std::vector<std::string> options;  // "--memory 64M"
};
std::vector<Need> needs(const Limits& limits);

// One limit written into a leaf: the first of `choices` whose file exists there gets its
// value; when none does, the write fails naming the last one, unless `optional` (a file
// only some kernels have, like memory.swap.max without swap accounting).
struct CgroupWrite {
  struct Choice {
    std::string file;  // relative to the leaf
    std::string value;
    bool operator==(const Choice&) const = default;
  };
  std::vector<Choice> choices;
  bool optional = false;
  static CgroupWrite one(std::string file, std::string value) {
    return {{{std::move(file), std::move(value)}}, false};
  }
  static CgroupWrite if_present(std::string file, std::string value) {
    return {{{std::move(file), std::move(value)}}, true};
  }
  static CgroupWrite first_of(std::vector<Choice> choices) { return {std::move(choices), false}; }
  bool operator==(const CgroupWrite&) const = default;
};
// The writes for one leaf: those of its controllers for its hierarchy version (v1 or v2),
// in order. Pure.
std::vector<CgroupWrite> leaf_writes(const CgroupLeafPlan& leaf, const Limits& limits);
// Makes `writes` in the cgroup directory `dirfd` (`dir` names it in errors). Throws
// sb::SysError naming the file.
void write_limits(int dirfd, const std::string& dir, const std::vector<CgroupWrite>& writes);

// ---- Decision -----------------------------------------------------------------------------
// A cgroup limit that cannot be enforced: which options, and why.
struct Problem {
  std::string controller;
  std::vector<std::string> options;  // "--memory 64M"
  std::string reason;
};
struct Decision {
  std::vector<CgroupLeafPlan> leaves;
  std::vector<Problem> problems;
  // Every cgroup a sandbox of this caller could have made leaves in (the base cgroup in each
  // hierarchy with a controller the limits use), to remove stale leaves from.
  std::vector<std::string> stale_dirs;
};
// Where each controller the limits need can be used: the v2 hierarchy when it offers the
// controller in the base cgroup (--cgroup-parent or the caller's) and that cgroup is
// delegated to `uid`; else a v1 hierarchy with that controller, as root only.
// `self` is the supervisor's pid. A caller in `<cgroup>/sandbox-caller` uses `<cgroup>`.
Decision decide(const Limits& limits, const std::vector<Hierarchy>& hierarchies, uid_t uid,
                pid_t self);

// The pieces of decide() that take no decision from the filesystem (pure, unit-tested):
// What decide() knows about the cgroup v2 base: the cgroup the v2 leaf would go in.
struct V2Base {
  std::optional<std::string> mountpoint;  // the cgroup2 mount; none when there is none
  std::optional<std::string> dir;         // the base cgroup, when it can be named
  bool exists = false;                    // it exists
  std::vector<std::string> offered;       // its cgroup.controllers
};
// The base cgroup: --cgroup-parent (a cgroup path, or a path under the mount) or the
// caller's own; a caller in `<cgroup>/sandbox-caller` uses `<cgroup>`.
std::optional<std::string> v2_base_dir(const Limits& limits, const Hierarchy& v2);
// Why `controller` can't be used in cgroup v2 here.
std::string why_not_v2(const V2Base& base, const std::string& controller, const Limits& limits);
// Decision::stale_dirs: the base cgroup in each hierarchy with a controller the limits use.
std::vector<std::string> stale_dir_candidates(const Limits& limits,
                                              const std::vector<Hierarchy>& hierarchies,
                                              const std::optional<std::string>& v2_base);
// A v1 leaf for `controller` in `parent`: joins the leaf there already (controllers
// mounted together), else a new one.
void add_v1_leaf(std::vector<CgroupLeafPlan>& leaves, const std::string& parent,
                 const std::string& controller);

// What would let the caller enforce the limits, for the error message: what works on this
// host (systemd-run --user only where a user manager answers).
struct FixContext {
  bool root = false;
  bool user_manager = false;    // $XDG_RUNTIME_DIR/systemd/private answers
  bool system_manager = false;  // /run/systemd/private answers
};
std::string how_to_fix(const FixContext& c);
std::string how_to_fix();  // for this caller on this host

// ---- Leaves at run time -------------------------------------------------------------------
// The cgroups `sandbox-<self>` of one sandbox, which hold the limits, each with the child
// `command` (kCommandLeaf) that holds the sandbox's processes and is the root of its cgroup
// namespace. The destructor kills what is left in them and removes them.
class CgroupSet {
 public:
  // Removes stale leaves in `stale_dirs` and each parent, creates the leaves (moving the caller's processes first
  // where the plan says so) and writes the limits. Throws sb::Error naming the file; what
  // was created is removed again.
  CgroupSet(const std::vector<CgroupLeafPlan>& leaves, const std::vector<std::string>& stale_dirs,
            const Limits& limits, pid_t self);
  ~CgroupSet();
  CgroupSet(const CgroupSet&) = delete;
  CgroupSet& operator=(const CgroupSet&) = delete;

  // The v2 `command` cgroup (O_DIRECTORY) for clone3's CLONE_INTO_CGROUP, or -1.
  int v2_fd() const { return v2_fd_.get(); }
  bool has_v1() const;
  // Moves `pid` into every `command` cgroup (those of v1; v2 too unless `v2_done`).
  void place(pid_t pid, bool v2_done);
  // Sends `sig` to every process in the cgroups and below; true if there was any.
  bool signal_all(int sig);

  struct Events {
    uint64_t oom_kill = 0;  // memory.events / memory.oom_control
    uint64_t pids_max = 0;  // pids.events: forks refused at pids.max
  };
  Events events() const;
  std::vector<std::string> dirs() const;

 private:
  struct Leaf {
    CgroupLeafPlan plan;
    std::string dir;
  };
  // Moves the caller's processes aside and enables the controllers, as the plan says.
  static void prepare_parent(const CgroupLeafPlan& p);
  // Creates sandbox-<self> with its limits and its `command` child.
  void create_leaf(const CgroupLeafPlan& p, const Limits& l, pid_t self);
  void remove_all();
  std::vector<Leaf> leaves_;
  UniqueFd v2_fd_;
};

// The leaf the caller's processes move to when its cgroup must enable controllers; never
// removed by sandbox (it may hold the caller's shell).
inline constexpr std::string_view kCallerLeaf = "sandbox-caller";
// The child of `sandbox-<pid>` where the sandbox's processes live.
inline constexpr std::string_view kCommandLeaf = "command";
inline std::string command_dir(const std::string& leaf) { return leaf + "/" + std::string(kCommandLeaf); }
// "sandbox-<pid>": the pid, else nullopt.
std::optional<pid_t> leaf_owner(std::string_view name);
// Kills what is left in a leaf and every cgroup below it (cgroup.kill where it exists),
// waits briefly and removes them, deepest first. Returns false (errno set, `failed_at` the
// cgroup that could not be removed) when it could not be removed.
bool remove_leaf(const std::string& dir, std::string* failed_at = nullptr);
// The warning for a leaf remove_leaf() could not remove: what stays, why, what to do.
std::string removal_failure(const std::string& leaf, const std::string& failed_at, int err);
// remove_leaf() for one cgroup without children.
bool remove_one(const std::string& dir);
// Leaves in `parent` made by a supervisor that is gone, owned by `uid` (any for root):
// their processes are killed and they are removed. Returns the directories removed.
std::vector<std::string> remove_stale_leaves(const std::string& parent, uid_t uid, pid_t self);

}  // namespace sb::limits
