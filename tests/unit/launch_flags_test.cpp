// Unit tests for launch/flags: the clone flags, joined namespaces, the descriptors the
// supervisor keeps and the cgroup placement, decided from Spec + Plan + HostFacts without
// cloning.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>

#include <map>

#include "launch/flags.hpp"

namespace sb::launch {
namespace {

HostFacts user_host() {
  HostFacts h;
  h.uid = 1000;
  h.gid = 1000;
  return h;
}

Plan userns_plan() {
  Plan p;
  p.userns = true;
  return p;
}

TEST(LaunchFlags, MountNamespaceAlwaysUserNamespaceWhenPlanned) {
  Spec s;
  auto f = launch_flags(s, Plan{}, HostFacts{});
  EXPECT_EQ(f.namespaces, static_cast<unsigned long>(CLONE_NEWNS));
  f = launch_flags(s, userns_plan(), user_host());
  EXPECT_EQ(f.namespaces, static_cast<unsigned long>(CLONE_NEWNS | CLONE_NEWUSER));
  EXPECT_FALSE(f.unshare_pid_late);
  EXPECT_FALSE(f.init_under_filters);
  EXPECT_FALSE(f.watch_channel);
  EXPECT_TRUE(f.close_after_clone.empty());
}

TEST(LaunchFlags, EachUnshareOptionIsOneCloneFlag) {
  struct Case {
    bool Spec::*field;
    unsigned long flag;
  } cases[] = {{&Spec::unshare_pid, CLONE_NEWPID},
               {&Spec::unshare_net, CLONE_NEWNET},
               {&Spec::unshare_ipc, CLONE_NEWIPC},
               {&Spec::unshare_uts, CLONE_NEWUTS}};
  for (const auto& c : cases) {
    Spec s;
    s.*c.field = true;
    auto f = launch_flags(s, Plan{}, HostFacts{});
    EXPECT_EQ(f.namespaces, CLONE_NEWNS | c.flag) << c.flag;
  }
  Plan p;
  p.cgroupns = true;  // the plan decides (--unshare-cgroup-try may not get one)
  EXPECT_EQ(launch_flags(Spec{}, p, HostFacts{}).namespaces,
            static_cast<unsigned long>(CLONE_NEWNS | CLONE_NEWCGROUP));
}

TEST(LaunchFlags, JoinedPidNamespaceIsUnsharedByTheChildLater) {
  Spec s;
  s.unshare_pid = true;
  s.pidns_fd = 7;
  s.userns_fd = 8;
  auto f = launch_flags(s, Plan{}, HostFacts{});
  EXPECT_FALSE(f.namespaces & CLONE_NEWPID) << "nested in the joined one: not at clone";
  EXPECT_TRUE(f.unshare_pid_late);
  EXPECT_EQ(f.enter_pidns, std::optional<int>(7));
  EXPECT_EQ(f.enter_userns, std::optional<int>(8));
  s.unshare_pid = false;
  f = launch_flags(s, Plan{}, HostFacts{});
  EXPECT_FALSE(f.unshare_pid_late);
  EXPECT_EQ(f.enter_pidns, std::optional<int>(7));
}

// OCI's network/ipc/uts/cgroup paths: entered by the supervisor, never cloned new, and the
// descriptors closed by the supervisor after the clone.
TEST(LaunchFlags, JoinedNamespacesAreEnteredNotCloned) {
  Spec s;
  s.join_ns = {{5, CLONE_NEWNET, "linux.namespaces[1].path"},
               {6, CLONE_NEWUTS, "linux.namespaces[2].path"}};
  s.fds = {{5, "linux.namespaces[1].path", FdRole::JoinNs},
           {6, "linux.namespaces[2].path", FdRole::JoinNs}};
  s.unshare_ipc = true;
  auto f = launch_flags(s, userns_plan(), user_host());
  EXPECT_EQ(f.namespaces, static_cast<unsigned long>(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWIPC));
  ASSERT_EQ(f.enter_ns.size(), 2u);
  EXPECT_EQ(f.enter_ns[0].type, CLONE_NEWNET);
  EXPECT_EQ(f.enter_ns[1].fd, 6);
  EXPECT_EQ(f.close_after_clone, (std::vector<int>{5, 6}));
}

TEST(LaunchFlags, InitRunsUnderTheFiltersUnlessTheCommandIsPid1) {
  Spec s;
  EXPECT_FALSE(launch_flags(s, Plan{}, HostFacts{}).init_under_filters) << "no PID namespace";
  s.unshare_pid = true;
  EXPECT_TRUE(launch_flags(s, Plan{}, HostFacts{}).init_under_filters);
  s.as_pid_1 = true;
  EXPECT_FALSE(launch_flags(s, Plan{}, HostFacts{}).init_under_filters);
  s.pidns_fd = 5;  // --as-pid-1 with --pidns still has the relay
  EXPECT_TRUE(launch_flags(s, Plan{}, HostFacts{}).init_under_filters);
}

TEST(LaunchFlags, SupervisorKeepsOnlyStatusAndSyncFds) {
  Spec s;
  s.info_fd = 5;
  s.json_status_fd = 6;
  s.sync_fd = 7;
  s.fds = {{3, "--file", FdRole::Data},
           {5, "--info-fd", FdRole::Info},
           {6, "--json-status-fd", FdRole::JsonStatus},
           {7, "--sync-fd", FdRole::Sync},
           {8, "--block-fd", FdRole::Block}};
  auto f = launch_flags(s, Plan{}, HostFacts{});
  EXPECT_EQ(f.close_after_clone, (std::vector<int>{3, 8}));
}

TEST(LaunchFlags, ChannelIsWatchedForStatusFdsAndLocks) {
  Spec s;
  EXPECT_FALSE(launch_flags(s, Plan{}, HostFacts{}).watch_channel);
  s.info_fd = 5;
  EXPECT_TRUE(launch_flags(s, Plan{}, HostFacts{}).watch_channel);
  s = Spec{};
  s.json_status_fd = 5;
  EXPECT_TRUE(launch_flags(s, Plan{}, HostFacts{}).watch_channel);
  s = Spec{};
  s.lock_files = {"/tmp/lock"};
  EXPECT_TRUE(launch_flags(s, Plan{}, HostFacts{}).watch_channel);
  // Maps written from outside: the child asks for them on the channel.
  Plan outside;
  outside.maps_from_outside = true;
  EXPECT_TRUE(launch_flags(Spec{}, outside, HostFacts{}).watch_channel);
}

TEST(LaunchFlags, UserNamespaceFailureExplainedOnlyForAnUnprivilegedCaller) {
  EXPECT_TRUE(launch_flags(Spec{}, userns_plan(), user_host()).explain_userns_failure);
  EXPECT_FALSE(launch_flags(Spec{}, userns_plan(), HostFacts{}).explain_userns_failure) << "root";
  EXPECT_FALSE(launch_flags(Spec{}, Plan{}, user_host()).explain_userns_failure) << "no userns";
}

// ---- placement --------------------------------------------------------------------------

constexpr unsigned long kNs = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWCGROUP;

TEST(LaunchPlacement, NoCgroupsNoWait) {
  PlacementInput in;
  in.cgroupns = true;
  auto p = placement(kNs, in);
  EXPECT_EQ(p.clone_flags, kNs);
  EXPECT_FALSE(p.await_go);
  EXPECT_FALSE(p.unshare_cgroup_late);
}

TEST(LaunchPlacement, BornInTheV2LeafNeedsNoGo) {
  PlacementInput in;
  in.cgroups = true;
  in.into_cgroup = true;
  in.cgroupns = true;
  auto p = placement(kNs, in);
  EXPECT_EQ(p.clone_flags, kNs) << "the cgroup namespace is rooted at the leaf already";
  EXPECT_FALSE(p.await_go);
  EXPECT_FALSE(p.unshare_cgroup_late);
}

TEST(LaunchPlacement, MovedAfterTheCloneUnsharesCgroupNamespaceLate) {
  for (bool v1 : {false, true}) {
    PlacementInput in;
    in.cgroups = true;
    in.has_v1 = v1;
    in.into_cgroup = v1;  // v1 leaves need the move even when the v2 one was born into
    in.cgroupns = true;
    auto p = placement(kNs, in);
    EXPECT_EQ(p.clone_flags, kNs & ~static_cast<unsigned long>(CLONE_NEWCGROUP)) << v1;
    EXPECT_TRUE(p.await_go) << v1;
    EXPECT_TRUE(p.unshare_cgroup_late) << v1;
    in.cgroupns = false;
    p = placement(CLONE_NEWNS, in);
    EXPECT_EQ(p.clone_flags, static_cast<unsigned long>(CLONE_NEWNS)) << v1;
    EXPECT_TRUE(p.await_go) << v1;
    EXPECT_FALSE(p.unshare_cgroup_late) << v1;
  }
}

TEST(LaunchPlacement, RaisingHardLimitsWaitsForGoOnly) {
  PlacementInput in;
  in.raise_rlimits = true;
  in.cgroupns = true;
  auto p = placement(kNs, in);
  EXPECT_TRUE(p.await_go);
  EXPECT_FALSE(p.unshare_cgroup_late);
  EXPECT_EQ(p.clone_flags, kNs);
}

TEST(LaunchRlimits, RaiseOnlyAboveAKnownFiniteHardLimit) {
  std::map<int, std::optional<uint64_t>> current = {
      {RLIMIT_NOFILE, 1024}, {RLIMIT_CORE, RLIM_INFINITY}, {RLIMIT_NPROC, std::nullopt}};
  auto cur = [&](int r) { return current.at(r); };
  auto wanted = [](int resource, uint64_t hard) {
    RlimitSetting s;
    s.resource = resource;
    s.hard = hard;
    return std::vector<RlimitSetting>{s};
  };
  EXPECT_FALSE(raises_hard_limits({}, cur));
  EXPECT_TRUE(raises_hard_limits(wanted(RLIMIT_NOFILE, 4096), cur));
  EXPECT_FALSE(raises_hard_limits(wanted(RLIMIT_NOFILE, 1024), cur));
  EXPECT_FALSE(raises_hard_limits(wanted(RLIMIT_NOFILE, 10), cur));
  EXPECT_FALSE(raises_hard_limits(wanted(RLIMIT_CORE, 1ULL << 40), cur)) << "unlimited already";
  EXPECT_FALSE(raises_hard_limits(wanted(RLIMIT_NPROC, 1ULL << 40), cur)) << "unknown";
}

TEST(LaunchFlags, NamespaceNamesForVerbose) {
  EXPECT_EQ(namespace_names(CLONE_NEWNS), "mnt namespaces");
  EXPECT_EQ(namespace_names(CLONE_NEWCGROUP | CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWNS),
            "user mnt pid cgroup namespaces");
}

}  // namespace
}  // namespace sb::launch
