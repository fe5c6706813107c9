// Unit tests for limits/: option values (durations, --cpus, --rlimit), parsing of
// /proc/self/mountinfo, /proc/self/cgroup and the cgroup event files, and the cgroup
// decisions (delegation, controllers, no internal processes) on a fake cgroup tree in a
// temporary directory.
#include <linux/capability.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <string>

#include "limits/cgroup.hpp"
#include "limits/limits.hpp"
#include "plan/plan.hpp"
#include "util/error.hpp"
#include "util/mountinfo.hpp"
#include "temp_dir.hpp"

namespace sb::limits {
namespace {

namespace fs = std::filesystem;

// ---- Durations, --cpus -----------------------------------------------------------------

TEST(LimitsDuration, Suffixes) {
  EXPECT_EQ(parse_duration_ms("30s"), std::optional<uint64_t>(30000));
  EXPECT_EQ(parse_duration_ms("5m"), std::optional<uint64_t>(300000));
  EXPECT_EQ(parse_duration_ms("1.5h"), std::optional<uint64_t>(5400000));
  EXPECT_EQ(parse_duration_ms("2d"), std::optional<uint64_t>(172800000));
  EXPECT_EQ(parse_duration_ms("250ms"), std::optional<uint64_t>(250));
  EXPECT_EQ(parse_duration_ms("0.5s"), std::optional<uint64_t>(500));
  EXPECT_EQ(parse_duration_ms(".5s"), std::optional<uint64_t>(500));
}

TEST(LimitsDuration, BareNumberIsSeconds) {
  EXPECT_EQ(parse_duration_ms("10"), std::optional<uint64_t>(10000));
  EXPECT_EQ(parse_duration_ms("0.25"), std::optional<uint64_t>(250));
}

TEST(LimitsDuration, Rejects) {
  for (const char* bad : {"", "s", "ms", "0", "0s", "-1", "+1s", "1x", "1.", "1..5s", "1s ",
                          " 1s", "0.0001s", "1e3", "99999999999999999999d", "1sm"})
    EXPECT_EQ(parse_duration_ms(bad), std::nullopt) << bad;
}

// --timeout holds only where the command cannot reach the supervisor: in a PID namespace.
TEST(LimitsTimeout, NeedsAPidNamespace) {
  Spec spec;
  spec.limits.timeout_ms = 1000;
  spec.limits.timeout_text = "1s";
  HostFacts host;
  host.uid = 4242;  // not root: the capability rule does not apply
  Plan plan;
  try {
    limits::plan(spec, host, plan.userns, plan);
    ADD_FAILURE() << "--timeout without --unshare-pid was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--timeout 1s can't be enforced without --unshare-pid"),
              std::string::npos)
        << e.what();
  }
  spec.unshare_pid = true;
  EXPECT_NO_THROW(limits::plan(spec, host, plan.userns, plan));
  spec.unshare_pid = false;
  spec.limits.best_effort = true;  // warns instead
  EXPECT_NO_THROW(limits::plan(spec, host, plan.userns, plan));
}

// Root in the initial user namespace without capabilities is still uid 0: the limits hold
// only in a PID namespace of its own and with no host procfs in the new root.
namespace {
std::string same(const std::string& p) { return p; }
BindOp bind(const std::string& option, const std::string& src, const std::string& dest) {
  BindOp b;
  b.option = option;
  b.source = src;
  b.dest = dest;
  return b;
}
}  // namespace

TEST(LimitsRootReach, NeedsAPidNamespace) {
  Spec spec;
  const std::vector<std::string> procs = {"/proc"};
  std::string why = host_process_reach(spec, procs, same);
  EXPECT_NE(why.find("without a PID namespace (--unshare-pid or --pidns)"), std::string::npos) << why;
  spec.fs.push_back(ProcOp{"/proc"});
  why = host_process_reach(spec, procs, same);
  EXPECT_NE(why.find("--proc /proc without a PID namespace"), std::string::npos) << why;
  spec.unshare_pid = true;  // a procfs of its own now
  EXPECT_EQ(host_process_reach(spec, procs, same), "");
  spec.unshare_pid = false;
  spec.pidns_fd = 5;  // a joined one counts too
  EXPECT_EQ(host_process_reach(spec, procs, same), "");
}

TEST(LimitsRootReach, RefusesAHostProcfsInTheNewRoot) {
  const std::vector<std::string> procs = {"/proc", "/srv/chroot/proc"};
  auto reach = [&](BindOp b, const std::function<std::string(const std::string&)>& canon = same) {
    Spec spec;
    spec.unshare_pid = true;
    spec.fs.push_back(ProcOp{"/proc"});
    spec.fs.push_back(std::move(b));
    return host_process_reach(spec, procs, canon);
  };
  // / brings /proc (binds are recursive); /proc itself; anything inside it.
  std::string why = reach(bind("--ro-bind", "/", "/"));
  EXPECT_NE(why.find("--ro-bind / / brings the host's procfs (/proc)"), std::string::npos) << why;
  EXPECT_NE(reach(bind("--bind", "/proc", "/host-proc")).find("--bind /proc /host-proc"), std::string::npos);
  EXPECT_NE(reach(bind("--dev-bind", "/proc/1/root", "/r")).find("--dev-bind /proc/1/root /r"),
            std::string::npos);
  EXPECT_NE(reach(bind("--ro-bind", "/srv", "/srv")).find("(/srv/chroot/proc)"), std::string::npos);
  // A path that resolves into /proc (a symlink to it) is judged by where it leads.
  auto canon = [](const std::string& p) { return p == "/var/run/p" ? std::string("/proc/self") : p; };
  EXPECT_NE(reach(bind("--ro-bind", "/var/run/p", "/p"), canon), "");
  // --bind-fd: the descriptor's target.
  BindOp fd = bind("--bind-fd", "", "/x");
  fd.source_fd = 7;
  auto fd_canon = [](const std::string& p) { return p == "/proc/self/fd/7" ? std::string("/") : p; };
  EXPECT_NE(reach(fd, fd_canon).find("--bind-fd 7 /x"), std::string::npos);
  // Covered by a later mount where it lands (a procfs of its own over it): fine, the command
  // can't unmount the cover without CAP_SYS_ADMIN. A -try bind may not happen: no cover.
  {
    Spec spec;
    spec.unshare_pid = true;
    spec.fs.push_back(bind("--ro-bind", "/", "/"));
    spec.fs.push_back(ProcOp{"/proc"});
    EXPECT_EQ(host_process_reach(spec, {"/proc"}, same), "");
    spec.fs = {bind("--ro-bind", "/srv", "/x"), TmpfsOp{"/x/chroot"}};
    EXPECT_EQ(host_process_reach(spec, procs, same), "");
    spec.fs = {bind("--ro-bind", "/", "/")};
    BindOp maybe = bind("--ro-bind-try", "/nonexistent", "/proc");
    maybe.allow_missing = true;
    spec.fs.push_back(maybe);
    EXPECT_NE(host_process_reach(spec, {"/proc"}, same), "");
    spec.fs = {ProcOp{"/proc"}, bind("--ro-bind", "/", "/")};  // the cover comes first: none
    EXPECT_NE(host_process_reach(spec, {"/proc"}, same), "");
  }
  // Neighbours are fine: /usr, /sys, a name that only starts like /proc.
  EXPECT_EQ(reach(bind("--ro-bind", "/usr", "/usr")), "");
  EXPECT_EQ(reach(bind("--ro-bind", "/sys", "/sys")), "");
  EXPECT_EQ(reach(bind("--ro-bind", "/procedures", "/p")), "");
}

// plan(): root in the initial user namespace with --cap-drop ALL and --timeout, but no PID
// namespace: refused naming the option and the fix; best-effort runs (with a warning).
TEST(LimitsRootReach, PlanRefusesAndBestEffortWarns) {
  Spec spec;
  spec.limits.timeout_ms = 1000;
  spec.limits.timeout_text = "1s";
  spec.caps.push_back(CapEdit{false, -1});  // --cap-drop ALL
  HostFacts host;
  host.uid = 0;
  Plan plan;
  try {
    limits::plan(spec, host, plan.userns, plan);
    ADD_FAILURE() << "root without a PID namespace was accepted";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("--timeout 1s can't be enforced: the command runs as root in the initial "
                     "user namespace"), std::string::npos) << m;
    EXPECT_NE(m.find("Add --unshare-pid"), std::string::npos) << m;
    EXPECT_NE(m.find("--unshare-user"), std::string::npos) << m;
  }
  spec.unshare_pid = true;
  EXPECT_NO_THROW(limits::plan(spec, host, plan.userns, plan));
  spec.fs.push_back(bind("--ro-bind", "/", "/"));  // brings the host's /proc
  EXPECT_THROW(limits::plan(spec, host, plan.userns, plan), Error);
  plan.userns = true;  // --unshare-user: the kernel stops all of it
  EXPECT_NO_THROW(limits::plan(spec, host, plan.userns, plan));
  plan.userns = false;
  spec.limits.best_effort = true;
  EXPECT_NO_THROW(limits::plan(spec, host, plan.userns, plan));
}

// plan(): root in the initial user namespace keeping Podman's default capability set (as a
// root `podman run` asks of the OCI runtime) has its limits, in a PID namespace of its own;
// one capability beyond that set (CAP_SYS_PTRACE walks into host processes) is refused,
// named in the error.
TEST(LimitsRootReach, PodmansDefaultCapabilitiesKeepTheLimits) {
  Spec spec;
  spec.limits.timeout_ms = 1000;
  spec.limits.timeout_text = "1s";
  spec.unshare_pid = true;
  spec.caps.push_back(CapEdit{false, -1});  // --cap-drop ALL
  for (int c : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_NET_BIND_SERVICE,
                CAP_SETFCAP, CAP_SETGID, CAP_SETPCAP, CAP_SETUID, CAP_SYS_CHROOT})
    spec.caps.push_back(CapEdit{true, c});
  HostFacts host;
  host.uid = 0;
  Plan plan;
  EXPECT_NO_THROW(limits::plan(spec, host, plan.userns, plan));
  spec.unshare_pid = false;  // still uid 0: the host's processes are in reach
  EXPECT_THROW(limits::plan(spec, host, plan.userns, plan), Error);
  spec.unshare_pid = true;
  for (int extra : {CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_DAC_READ_SEARCH}) {
    Spec more = spec;
    more.caps.push_back(CapEdit{true, extra});
    try {
      limits::plan(more, host, plan.userns, plan);
      ADD_FAILURE() << "capability " << extra << " was accepted with limits";
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("with capabilities (CAP_"), std::string::npos) << m;
      EXPECT_NE(m.find(std::string("CAP_") +
                       (extra == CAP_SYS_PTRACE  ? "SYS_PTRACE"
                        : extra == CAP_SYS_ADMIN ? "SYS_ADMIN"
                        : extra == CAP_SYS_MODULE ? "SYS_MODULE"
                                                  : "DAC_READ_SEARCH")),
                std::string::npos)
          << m;
    }
  }
}

TEST(LimitsCpus, QuotaPerPeriod) {
  EXPECT_EQ(parse_cpus_quota_us("0.5"), std::optional<uint64_t>(50000));
  EXPECT_EQ(parse_cpus_quota_us("2"), std::optional<uint64_t>(200000));
  EXPECT_EQ(parse_cpus_quota_us("1.25"), std::optional<uint64_t>(125000));
  EXPECT_EQ(parse_cpus_quota_us("0.01"), std::optional<uint64_t>(1000));  // the 1 ms minimum
  for (const char* bad : {"", "0", "0.001", "-1", "x", "1,5", "1.5.1", "100001"})
    EXPECT_EQ(parse_cpus_quota_us(bad), std::nullopt) << bad;
}

// ---- --rlimit ---------------------------------------------------------------------------

TEST(LimitsRlimit, SoftAloneSetsBoth) {
  auto r = parse_rlimit("nofile=1024");
  EXPECT_EQ(r.resource, RLIMIT_NOFILE);
  EXPECT_EQ(r.name, "nofile");
  EXPECT_EQ(r.soft, 1024u);
  EXPECT_EQ(r.hard, 1024u);
}

TEST(LimitsRlimit, SoftAndHard) {
  auto r = parse_rlimit("core=0:unlimited");
  EXPECT_EQ(r.resource, RLIMIT_CORE);
  EXPECT_EQ(r.soft, 0u);
  EXPECT_EQ(r.hard, Limits::kUnlimited);
  EXPECT_EQ(parse_rlimit("as=infinity").soft, Limits::kUnlimited);
}

TEST(LimitsRlimit, EveryPrlimitName) {
  const std::pair<const char*, int> names[] = {
      {"as", RLIMIT_AS},         {"core", RLIMIT_CORE},   {"cpu", RLIMIT_CPU},
      {"data", RLIMIT_DATA},     {"fsize", RLIMIT_FSIZE}, {"memlock", RLIMIT_MEMLOCK},
      {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}, {"stack", RLIMIT_STACK}};
  for (auto [n, res] : names)
    EXPECT_EQ(parse_rlimit(std::string(n) + "=1").resource, res) << n;
  EXPECT_EQ(rlimit_names().size(), 16u);
}

TEST(LimitsRlimit, Errors) {
  auto fails = [](const std::string& v, const std::string& needle) {
    try {
      parse_rlimit(v);
    } catch (const Error& e) {
      std::string m = e.what();
      return m.find("--rlimit") != std::string::npos && m.find(needle) != std::string::npos;
    }
    return false;
  };
  EXPECT_TRUE(fails("nofile", "NAME=SOFT[:HARD]"));
  EXPECT_TRUE(fails("NOFILE=1", "unknown limit"));
  EXPECT_TRUE(fails("nofile=", "not a number"));
  EXPECT_TRUE(fails("nofile=-1", "not a number"));
  EXPECT_TRUE(fails("nofile=1:", "not a number"));
  EXPECT_TRUE(fails("nofile=20:10", "above the hard limit"));
  EXPECT_TRUE(fails("nofile=unlimited:10", "above the hard limit"));
}

TEST(LimitsRlimit, RaisingTheHardLimitNeedsPrivilege) {
  rlimit cur;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &cur), 0);
  if (cur.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "RLIMIT_NOFILE is unlimited here";
  RlimitSetting above = parse_rlimit("nofile=1:" + std::to_string(cur.rlim_max + 1));
  RlimitSetting same = parse_rlimit("nofile=1:" + std::to_string(cur.rlim_max));
  EXPECT_THROW(check_rlimits({above}, false), Error);
  EXPECT_NO_THROW(check_rlimits({above}, true));
  EXPECT_NO_THROW(check_rlimits({same}, false));
  try {
    check_rlimits({above}, false);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("raising it needs CAP_SYS_RESOURCE"), std::string::npos) << e.what();
  }
}

// ---- Parsing the /proc files and the event files ----------------------------------------

constexpr const char* kHybridMountinfo =
    "23 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "42 31 0:32 / /mnt/memory\\040again rw,relatime - cgroup cgroup rw,memory\n";
constexpr const char* kHybridCgroup =
    "9:name=systemd:/user.slice\n"
    "8:pids:/user.slice/u\n"
    "4:memory:/process_api/abc\n"
    "2:cpu,cpuacct:/\n"
    "0::/user.slice/u\n";

TEST(LimitsParse, Mountinfo) {
  auto m = mountinfo::parse(kHybridMountinfo);
  ASSERT_EQ(m.size(), 8u);
  EXPECT_EQ(m[2].mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(m[2].fstype, "cgroup");
  EXPECT_EQ(m[2].super_options, "rw,cpu,cpuacct");
  EXPECT_EQ(m[6].fstype, "cgroup2");
  EXPECT_EQ(m[7].mountpoint, "/mnt/memory again");  // octal escapes decoded
  // Optional fields before the separator do not shift the fields after it.
  auto o = mountinfo::parse("50 1 0:40 /sub /sys/fs/cgroup rw shared:5 master:1 - cgroup2 none rw,nsdelegate\n");
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].root, "/sub");
  EXPECT_EQ(o[0].fstype, "cgroup2");
  EXPECT_EQ(o[0].super_options, "rw,nsdelegate");
  EXPECT_TRUE(mountinfo::parse("garbage\n\n1 2 3\n").empty());
}

TEST(LimitsParse, ProcCgroup) {
  auto c = parse_proc_cgroup(kHybridCgroup);
  ASSERT_EQ(c.size(), 4u);  // name=systemd has no controller
  EXPECT_EQ(c[0].controllers, std::vector<std::string>{"pids"});
  EXPECT_EQ(c[0].path, "/user.slice/u");
  EXPECT_EQ(c[2].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(c[3].id, "0");
  EXPECT_TRUE(c[3].controllers.empty());
  EXPECT_EQ(c[3].path, "/user.slice/u");
  // A path with ':' in it stays whole.
  EXPECT_EQ(parse_proc_cgroup("0::/a:b\n")[0].path, "/a:b");
}

TEST(LimitsParse, KeyedFiles) {
  auto m = parse_keyed("low 0\nhigh 3\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n");
  EXPECT_EQ(m["oom_kill"], 1u);
  EXPECT_EQ(m["max"], 7u);
  auto v1 = parse_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 4\n");
  EXPECT_EQ(v1["oom_kill"], 4u);
  EXPECT_EQ(parse_keyed("max 12\n")["max"], 12u);
  EXPECT_EQ(parse_keyed("bad\nx y\n").count("x"), 0u);
  EXPECT_EQ(words(" cpu  memory\npids\n"), (std::vector<std::string>{"cpu", "memory", "pids"}));
}

TEST(LimitsDiscovery, HybridHost) {
  auto h = find_hierarchies(kHybridMountinfo, kHybridCgroup);
  ASSERT_EQ(h.size(), 4u);  // the second memory mount is the same hierarchy
  EXPECT_EQ(h[0].mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(h[0].caller_dir, std::optional<std::string>("/sys/fs/cgroup/cpu,cpuacct"));
  EXPECT_EQ(h[1].caller_dir, std::optional<std::string>("/sys/fs/cgroup/memory/process_api/abc"));
  EXPECT_EQ(h[2].caller_dir, std::optional<std::string>("/sys/fs/cgroup/pids/user.slice/u"));
  EXPECT_TRUE(h[3].v2);
  EXPECT_EQ(h[3].mountpoint, "/sys/fs/cgroup/unified");
  EXPECT_EQ(h[3].caller_dir, std::optional<std::string>("/sys/fs/cgroup/unified/user.slice/u"));
}

TEST(LimitsDiscovery, Cgroup2AnywhereAndMountRoots) {
  // cgroup2 is wherever mountinfo says, and a mount of a subtree maps paths below its root.
  auto h = find_hierarchies("60 1 0:40 /user.slice /run/cg rw - cgroup2 cgroup2 rw\n",
                            "0::/user.slice/user-1000.slice/app.scope\n");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].caller_dir,
            std::optional<std::string>("/run/cg/user-1000.slice/app.scope"));
  auto outside = find_hierarchies("60 1 0:40 /other /run/cg rw - cgroup2 cgroup2 rw\n",
                                  "0::/user.slice/x\n");
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_EQ(outside[0].caller_dir, std::nullopt);
  EXPECT_TRUE(find_hierarchies("1 0 8:1 / / rw - ext4 /dev/sda rw\n", "0::/\n").empty());
}

TEST(LimitsLeaves, Owner) {
  EXPECT_EQ(leaf_owner("sandbox-123"), std::optional<pid_t>(123));
  for (const char* bad : {"sandbox-", "sandbox-0", "sandbox-012", "sandbox-12a", "sandbox--1",
                          "sandbox-caller", "sandbox-123-supervisor", "other-12", "sandbox-99999999999"})
    EXPECT_EQ(leaf_owner(bad), std::nullopt) << bad;
}

// ---- Decisions on a fake cgroup tree --------------------------------------------------------

class FakeCgroups : public ::testing::Test {
 protected:

  // A cgroup directory with the interface files a decision reads.
  std::string cgroup(const std::string& rel, const std::string& controllers,
                     const std::string& subtree = "", const std::string& procs = "") {
    std::string d = root_ + rel;
    fs::create_directories(d);
    write(d + "/cgroup.controllers", controllers);
    write(d + "/cgroup.subtree_control", subtree);
    write(d + "/cgroup.procs", procs);
    return d;
  }
  static void write(const std::string& p, const std::string& s) { std::ofstream(p) << s; }
  // A non-root uid that owns the fake tree (chowned to 23456 when the tests run as root).
  uid_t owned_by_non_root() {
    if (me_ != 0) return me_;
    for (const auto& e : fs::recursive_directory_iterator(root_))
      EXPECT_EQ(::lchown(e.path().c_str(), 23456, 23456), 0) << e.path();
    return 23456;
  }

  // A v2-only host: cgroup2 mounted at ROOT/cg, the caller in /user/app.scope.
  std::vector<Hierarchy> v2_host(const std::string& caller = "/user/app.scope") {
    return find_hierarchies("60 1 0:40 / " + root_ + "/cg rw - cgroup2 cgroup2 rw\n",
                            "0::" + caller + "\n");
  }
  static Limits mem_pids() {
    Limits l;
    l.memory = 64 << 20;
    l.memory_text = "64M";
    l.pids = 10;
    l.pids_text = "10";
    return l;
  }
  static std::string reasons(const Decision& d) {
    std::string s;
    for (const auto& p : d.problems) s += p.reason + "\n";
    return s;
  }

  sb::test::TempDir tmp_;
  std::string root_ = tmp_.path();
  uid_t me_ = ::getuid();
  pid_t self_ = ::getpid();
};

TEST_F(FakeCgroups, DelegatedScopeHoldingOnlyTheSupervisor) {
  cgroup("/cg", "cpu memory pids io", "memory pids");
  std::string scope = cgroup("/cg/user/app.scope", "memory pids", "", std::to_string(self_) + "\n");
  Decision d = decide(mem_pids(), v2_host(), me_, self_);
  EXPECT_TRUE(d.problems.empty()) << reasons(d);
  ASSERT_EQ(d.leaves.size(), 1u);
  EXPECT_TRUE(d.leaves[0].v2);
  EXPECT_EQ(d.leaves[0].parent, scope);
  EXPECT_EQ(d.leaves[0].controllers, (std::vector<std::string>{"memory", "pids"}));
  EXPECT_TRUE(d.leaves[0].enable_controllers);
  EXPECT_TRUE(d.leaves[0].move_processes);  // no internal processes once enabled
  EXPECT_EQ(d.stale_dirs, std::vector<std::string>{scope});
}

TEST_F(FakeCgroups, ControllersAlreadyEnabled) {
  cgroup("/cg", "memory pids", "memory pids");
  cgroup("/cg/user/app.scope", "memory pids", "memory pids");
  Decision d = decide(mem_pids(), v2_host(), me_, self_);
  ASSERT_EQ(d.leaves.size(), 1u) << reasons(d);
  EXPECT_FALSE(d.leaves[0].enable_controllers);
  EXPECT_FALSE(d.leaves[0].move_processes);
}

TEST_F(FakeCgroups, OtherUsersProcessesBlockEnablingControllers) {
  cgroup("/cg", "memory pids", "memory pids");
  cgroup("/cg/user/app.scope", "memory pids", "", std::to_string(self_) + "\n1\n");
  uid_t uid = owned_by_non_root();  // pid 1 belongs to root, not to it
  Decision d = decide(mem_pids(), v2_host(), uid, self_);
  EXPECT_TRUE(d.leaves.empty());
  ASSERT_EQ(d.problems.size(), 2u);
  EXPECT_NE(d.problems[0].reason.find("other processes (1 not owned by uid"), std::string::npos)
      << reasons(d);
  EXPECT_EQ(d.problems[0].options, std::vector<std::string>{"--memory 64M"});
  EXPECT_EQ(d.problems[1].options, std::vector<std::string>{"--pids 10"});
}

TEST_F(FakeCgroups, CallersOwnProcessesMoveAside) {
  cgroup("/cg", "memory pids", "memory pids");
  // The supervisor and the shell that started it (here: our parent, same owner).
  cgroup("/cg/user/app.scope", "memory pids", "",
         std::to_string(::getppid()) + "\n" + std::to_string(self_) + "\n");
  struct stat st;
  ASSERT_EQ(::stat(("/proc/" + std::to_string(::getppid())).c_str(), &st), 0);
  if (st.st_uid != me_) GTEST_SKIP() << "the test's parent process belongs to another user";
  Decision d = decide(mem_pids(), v2_host(), me_, self_);
  ASSERT_EQ(d.leaves.size(), 1u) << reasons(d);
  EXPECT_TRUE(d.leaves[0].move_processes);
}

TEST_F(FakeCgroups, CallerMovedAsideEarlierUsesTheCgroupAbove) {
  cgroup("/cg", "memory pids", "memory pids");
  std::string scope = cgroup("/cg/user/app.scope", "memory pids", "memory pids");
  cgroup("/cg/user/app.scope/sandbox-caller", "", "", std::to_string(self_) + "\n");
  Decision d = decide(mem_pids(), v2_host("/user/app.scope/sandbox-caller"), me_, self_);
  ASSERT_EQ(d.leaves.size(), 1u) << reasons(d);
  EXPECT_EQ(d.leaves[0].parent, scope);
  EXPECT_FALSE(d.leaves[0].enable_controllers);
  EXPECT_FALSE(d.leaves[0].move_processes);
}

TEST_F(FakeCgroups, NotDelegatedToTheCaller) {
  cgroup("/cg", "memory pids", "memory pids");
  cgroup("/cg/user/app.scope", "memory pids");
  Decision d = decide(mem_pids(), v2_host(), me_ + 1, self_);
  EXPECT_TRUE(d.leaves.empty());
  ASSERT_FALSE(d.problems.empty());
  EXPECT_NE(d.problems[0].reason.find("not delegated to uid " + std::to_string(me_ + 1)),
            std::string::npos)
      << reasons(d);
}

TEST_F(FakeCgroups, ControllerNotEnabledAbove) {
  cgroup("/cg", "cpu memory pids", "pids");
  cgroup("/cg/user/app.scope", "pids");
  Limits l = mem_pids();
  l.cpu_quota_us = 50000;
  l.cpus_text = "0.5";
  Decision d = decide(l, v2_host(), me_, self_);
  ASSERT_EQ(d.leaves.size(), 1u);
  EXPECT_EQ(d.leaves[0].controllers, std::vector<std::string>{"pids"});
  ASSERT_EQ(d.problems.size(), 2u);
  EXPECT_EQ(d.problems[0].controller, "memory");
  EXPECT_NE(d.problems[0].reason.find("memory controller is not enabled for"), std::string::npos)
      << reasons(d);
  EXPECT_EQ(d.problems[1].options, std::vector<std::string>{"--cpus 0.5"});
}

TEST_F(FakeCgroups, NoCgroup2Mount) {
  Decision d = decide(mem_pids(), {}, me_, self_);
  ASSERT_EQ(d.problems.size(), 2u);
  EXPECT_NE(d.problems[0].reason.find("no cgroup2 filesystem is mounted"), std::string::npos);
  EXPECT_NE(how_to_fix({false, true, false}).find("systemd-run --user --scope -p Delegate=yes"),
            std::string::npos);
}

TEST_F(FakeCgroups, CgroupParentAsCgroupPathOrMountPath) {
  cgroup("/cg", "memory pids", "memory pids");
  std::string del = cgroup("/cg/delegated", "memory pids", "memory pids");
  Limits l = mem_pids();
  for (std::string p : {std::string("/delegated"), del}) {
    l.cgroup_parent = p;
    Decision d = decide(l, v2_host("/elsewhere"), me_, self_);
    ASSERT_EQ(d.leaves.size(), 1u) << p << "\n" << reasons(d);
    EXPECT_EQ(d.leaves[0].parent, del);
  }
  l.cgroup_parent = "/missing";
  Decision d = decide(l, v2_host(), me_, self_);
  ASSERT_FALSE(d.problems.empty());
  EXPECT_NE(d.problems[0].reason.find("does not exist"), std::string::npos) << reasons(d);
}

TEST_F(FakeCgroups, CgroupV1OnlyForRoot) {
  cgroup("/cg", "hugetlb");
  std::string mem = root_ + "/memory/caller";
  fs::create_directories(mem);
  fs::create_directories(root_ + "/pids");
  auto h = find_hierarchies("60 1 0:40 / " + root_ + "/cg rw - cgroup2 cgroup2 rw\n"
                            "61 1 0:41 / " + root_ + "/memory rw - cgroup cgroup rw,memory\n"
                            "62 1 0:42 / " + root_ + "/pids rw - cgroup cgroup rw,pids\n",
                            "0::/\n5:memory:/caller\n6:pids:/\n");
  Decision user = decide(mem_pids(), h, 23456, self_);
  EXPECT_TRUE(user.leaves.empty());
  ASSERT_EQ(user.problems.size(), 2u);
  EXPECT_NE(user.problems[0].reason.find("not available in the cgroup2 hierarchy"), std::string::npos)
      << reasons(user);
  EXPECT_NE(user.problems[0].reason.find("can only be used by root"), std::string::npos);

  Decision root = decide(mem_pids(), h, 0, self_);
  EXPECT_TRUE(root.problems.empty()) << reasons(root);
  ASSERT_EQ(root.leaves.size(), 2u);
  EXPECT_FALSE(root.leaves[0].v2);
  EXPECT_EQ(root.leaves[0].parent, mem);
  EXPECT_EQ(root.leaves[0].controllers, std::vector<std::string>{"memory"});
  EXPECT_EQ(root.leaves[1].parent, root_ + "/pids");
  EXPECT_EQ(root.stale_dirs.size(), 3u);  // v2 base, memory, pids
}

TEST_F(FakeCgroups, StaleLeavesOfDeadSupervisorsAreRemoved) {
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ::waitpid(dead, nullptr, 0);
  std::string parent = cgroup("/cg", "memory");
  for (std::string n : {"sandbox-" + std::to_string(dead), std::string("sandbox-caller"),
                        "sandbox-" + std::to_string(self_), std::string("sandbox-1"), std::string("unrelated")})
    fs::create_directory(parent + "/" + n);
  auto removed = remove_stale_leaves(parent, me_, self_);
  EXPECT_EQ(removed.size(), 1u);
  EXPECT_FALSE(fs::exists(parent + "/sandbox-" + std::to_string(dead)));
  EXPECT_TRUE(fs::exists(parent + "/sandbox-caller"));  // may hold the caller's shell
  EXPECT_TRUE(fs::exists(parent + "/sandbox-" + std::to_string(self_)));  // ours
  EXPECT_TRUE(fs::exists(parent + "/sandbox-1"));                         // alive
  EXPECT_TRUE(fs::exists(parent + "/unrelated"));
  // Someone else's stale leaf stays (a non-root caller only removes its own).
  fs::create_directory(parent + "/sandbox-" + std::to_string(dead));
  if (me_ != 0) {
    EXPECT_TRUE(remove_stale_leaves(parent, me_ + 1, self_).empty());
  }
}

}  // namespace
}  // namespace sb::limits
