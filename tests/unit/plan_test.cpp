// Unit tests for plan/: the descriptors options name (plan/fds.hpp) and the planning steps
// around validate() (plan/plan.hpp). validate() itself is tested in spec_test.cpp.
#include <fcntl.h>
#include <sched.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "parse_env.hpp"
#include "plan/fds.hpp"
#include "plan/plan.hpp"
#include "util/error.hpp"

namespace sb::planning {
namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

int open_null() {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) std::abort();
  return fd;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// ---- which uses may share one descriptor ----

TEST(PlanFds, InfoAndJsonStatusMayNotShare) {
  std::vector<FdUse> u = {{5, "--info-fd", FdRole::Info}, {5, "--json-status-fd", FdRole::JsonStatus}};
  EXPECT_EQ(error_of([&] { check_fd_uses(u); }),
            "--info-fd and --json-status-fd name the same descriptor 5; give each its own");
  std::swap(u[0], u[1]);  // either order
  EXPECT_NE(error_of([&] { check_fd_uses(u); }), "");
}

TEST(PlanFds, OneSeccompDescriptorCannotBeReadTwice) {
  std::vector<FdUse> u = {{6, "--add-seccomp-fd", FdRole::Seccomp},
                          {6, "--add-seccomp-fd", FdRole::Seccomp}};
  EXPECT_EQ(error_of([&] { check_fd_uses(u); }),
            "Can't read seccomp data: fd 6 is given twice\n(each --add-seccomp-fd program needs "
            "its own descriptor, which is closed once read)");
}

TEST(PlanFds, OtherUsesShare) {
  // As with bwrap: --sync-fd on the --info-fd or --json-status-fd pipe, one --bind-fd twice,
  // a --file and a --block-fd on one descriptor, different descriptors for anything.
  EXPECT_NO_THROW(check_fd_uses({{5, "--info-fd", FdRole::Info}, {5, "--sync-fd", FdRole::Sync}}));
  EXPECT_NO_THROW(check_fd_uses({{5, "--json-status-fd", FdRole::JsonStatus},
                                 {5, "--sync-fd", FdRole::Sync}}));
  EXPECT_NO_THROW(check_fd_uses({{7, "--bind-fd", FdRole::BindSource},
                                 {7, "--ro-bind-fd", FdRole::BindSource}}));
  EXPECT_NO_THROW(check_fd_uses({{8, "--file", FdRole::Data}, {8, "--block-fd", FdRole::Block}}));
  EXPECT_NO_THROW(check_fd_uses({{5, "--info-fd", FdRole::Info},
                                 {6, "--json-status-fd", FdRole::JsonStatus},
                                 {7, "--seccomp", FdRole::Seccomp}}));
}

TEST(PlanFds, NotOpenIsBwrapsInvalidFdNamingTheOption) {
  std::vector<FdUse> u = {{3, "--file", FdRole::Data}, {4, "--block-fd", FdRole::Block}};
  EXPECT_EQ(error_of([&] { check_fds_open(u, [](int fd) { return fd == 3; }); }),
            "Invalid fd: 4\n--block-fd: 4 is not an open file descriptor");
  EXPECT_EQ(error_of([&] { check_fds_open(u, [](int) { return true; }); }), "");
}

// ---- ownership ----

TEST(PlanFds, OneOwnerPerDescriptorAndTheLastNamedWins) {
  int a = open_null(), b = open_null();
  {
    InheritedFds fds = InheritedFds::take({{a, "--info-fd", FdRole::Info},
                                           {a, "--sync-fd", FdRole::Sync},
                                           {b, "--info-fd", FdRole::Info}});
    EXPECT_EQ(fds.size(), 2u);
    EXPECT_EQ(fds.get(FdRole::Info), b);  // "Only the last --info-fd option will take effect"
    EXPECT_EQ(fds.get(FdRole::Sync), a);
    EXPECT_EQ(fds.get(FdRole::Block), -1);
  }
  EXPECT_FALSE(is_open(a));  // the owner closed each once
  EXPECT_FALSE(is_open(b));
}

TEST(PlanFds, TakeRefusesBeforeOwningAnything) {
  int a = open_null();
  EXPECT_THROW(InheritedFds::take({{a, "--info-fd", FdRole::Info},
                                   {a, "--json-status-fd", FdRole::JsonStatus}}),
               Error);
  EXPECT_TRUE(is_open(a));  // not ours: the caller still owns it
  ::close(a);
}

TEST(PlanFds, DoneClosesOnlyWhenNoOtherUseNeedsIt) {
  int shared = open_null(), info = open_null();
  InheritedFds fds = InheritedFds::take({{shared, "--json-status-fd", FdRole::JsonStatus},
                                         {shared, "--sync-fd", FdRole::Sync},
                                         {info, "--info-fd", FdRole::Info}});
  fds.done(FdRole::Info);
  EXPECT_FALSE(is_open(info));
  fds.done(FdRole::JsonStatus);
  EXPECT_TRUE(is_open(shared));  // still --sync-fd
  EXPECT_EQ(fds.get(FdRole::JsonStatus), -1);
  EXPECT_EQ(fds.get(FdRole::Sync), shared);
  fds.done(FdRole::Sync);
  EXPECT_FALSE(is_open(shared));
}

TEST(PlanFds, SupervisorKeepsWhatItWritesAndTheSyncFd) {
  int info = open_null(), json = open_null(), sync = open_null(), block = open_null(),
      data = open_null(), userns = open_null();
  InheritedFds fds = InheritedFds::take(
      {{info, "--info-fd", FdRole::Info}, {json, "--json-status-fd", FdRole::JsonStatus},
       {sync, "--sync-fd", FdRole::Sync}, {block, "--block-fd", FdRole::Block},
       {data, "--file", FdRole::Data}, {userns, "--userns", FdRole::Userns}});
  fds.keep_for_supervisor();
  EXPECT_TRUE(is_open(info));
  EXPECT_TRUE(is_open(json));
  EXPECT_TRUE(is_open(sync));
  EXPECT_FALSE(is_open(block));
  EXPECT_FALSE(is_open(data));
  EXPECT_FALSE(is_open(userns));
  EXPECT_EQ(fds.size(), 3u);
}

TEST(PlanFds, NothingReachesTheCommandButASyncFdWithAsPid1) {
  for (bool pass_sync : {false, true}) {
    SCOPED_TRACE(pass_sync);
    int sync = open_null(), data = open_null(), sync_and_info = open_null();
    InheritedFds fds = InheritedFds::take({{sync, "--sync-fd", FdRole::Sync},
                                           {data, "--file", FdRole::Data},
                                           {sync_and_info, "--info-fd", FdRole::Info},
                                           {sync_and_info, "--sync-fd", FdRole::Sync}});
    fds.close_before_exec(pass_sync);
    EXPECT_EQ(is_open(sync), pass_sync);
    EXPECT_FALSE(is_open(data));
    EXPECT_FALSE(is_open(sync_and_info));  // consumed by --info-fd: never the command's
    if (pass_sync) ::close(sync);
  }
}

// --audit-fd 2 is the command's stderr too (the agent profile's "audit to stderr"): kept;
// above 2 it is the supervisor's alone; bwrap's --info-fd/--json-status-fd 2 are closed as
// bwrap closes them.
TEST(PlanFds, AnAuditFdThatIsStdioStaysTheCommands) {
  using sb::planning::stays_for_command;
  for (int fd : {0, 1, 2}) {
    EXPECT_TRUE(stays_for_command(fd, {FdRole::Audit}, false)) << fd;
    EXPECT_TRUE(stays_for_command(fd, {FdRole::Audit, FdRole::Sync}, true)) << fd;
    EXPECT_FALSE(stays_for_command(fd, {FdRole::Audit, FdRole::Sync}, false)) << fd;
    EXPECT_FALSE(stays_for_command(fd, {FdRole::Audit, FdRole::JsonStatus}, false)) << fd;
    EXPECT_FALSE(stays_for_command(fd, {FdRole::JsonStatus}, false)) << fd;
    EXPECT_FALSE(stays_for_command(fd, {FdRole::Info}, false)) << fd;
  }
  EXPECT_FALSE(stays_for_command(3, {FdRole::Audit}, false));
  EXPECT_FALSE(stays_for_command(9, {FdRole::Audit}, true));
  EXPECT_FALSE(stays_for_command(2, {}, true));
  EXPECT_TRUE(stays_for_command(9, {FdRole::Sync}, true));
  EXPECT_FALSE(stays_for_command(9, {FdRole::Sync}, false));
}

// ---- the planning steps ----

// Every descriptor named, --args ones too, is owned and kept until the processes drop it
// (the supervisor after clone, the child before exec), as before planning owned them.
TEST(PlanPrepare, OwnsEveryDescriptorNamed) {
  int args = open_null(), file = open_null();
  Spec s;
  s.fds = {{args, "--args", FdRole::Args}, {file, "--file", FdRole::Data}};
  {
    Prepared p = prepare(s);
    EXPECT_TRUE(is_open(args));
    EXPECT_EQ(p.fds.get(FdRole::Args), args);
    EXPECT_EQ(p.fds.get(FdRole::Data), file);
    EXPECT_TRUE(p.compiled_profiles.empty());
    p.fds.keep_for_supervisor();
    EXPECT_FALSE(is_open(args));
    EXPECT_FALSE(is_open(file));
  }
}

TEST(PlanMakePlan, SeccompProgramsAreReadInOrder) {
  int p1[2], p2[2];
  ASSERT_EQ(::pipe2(p1, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(p2, O_CLOEXEC), 0);
  std::string a(8, 'a'), b(16, 'b');
  ASSERT_EQ(::write(p1[1], a.data(), a.size()), 8);
  ASSERT_EQ(::write(p2[1], b.data(), b.size()), 16);
  ::close(p1[1]);
  ::close(p2[1]);
  Spec s = test::parse_spec({"--add-seccomp-fd", std::to_string(p2[0]), "--add-seccomp-fd",
                             std::to_string(p1[0]), "--unshare-user", "true"});
  HostFacts host;
  host.uid = 1000;
  host.gid = 1000;
  Plan plan = make_plan(s, host, prepare(s));
  EXPECT_EQ(plan.seccomp_programs, (std::vector<std::string>{b, a}));
  EXPECT_EQ(plan.fds.get(FdRole::Seccomp), p1[0]);  // owned by the plan, closed with it
  EXPECT_TRUE(plan.userns);
}

TEST(PlanMakePlan, ValidateAloneOwnsNothing) {
  int fd = open_null();
  Spec s = test::parse_spec({"--file", std::to_string(fd), "/f", "true"});
  HostFacts host;
  host.uid = 1000;
  {
    Plan p = validate(s, host);
    EXPECT_EQ(p.fds.size(), 0u);
  }
  EXPECT_TRUE(is_open(fd));
  ::close(fd);
}

// A sysctl is written only into a namespace the sandbox creates (for a Spec made by other
// means than oci/config.cpp, which refuses the same with the JSON path).
TEST(PlanMakePlan, SysctlsOnlyInTheSandboxsOwnNamespaces) {
  HostFacts host;
  host.uid = 1000;
  auto with = [&](std::vector<std::string> args, const std::string& key) {
    args.push_back("true");
    Spec s = test::parse_spec(args);
    s.sysctls.emplace_back(key, "1");
    return error_of([&] { validate(s, host); });
  };
  EXPECT_EQ(with({"--unshare-user", "--unshare-net"}, "net.ipv4.ip_forward"), "");
  EXPECT_EQ(with({"--unshare-user", "--unshare-ipc"}, "kernel.msgmax"), "");
  EXPECT_EQ(with({"--unshare-user", "--unshare-uts"}, "kernel.hostname"), "");
  EXPECT_EQ(with({"--unshare-user"}, "net.ipv4.ip_forward"),
            "sysctl net.ipv4.ip_forward: not a setting of a namespace the sandbox creates");
  EXPECT_NE(with({"--unshare-user", "--unshare-net"}, "kernel.msgmax"), "");
  EXPECT_NE(with({"--unshare-all"}, "kernel.panic"), "");
  EXPECT_NE(with({"--unshare-all"}, "net/ipv4/ip_forward"), "");
}

// Id maps of several ranges (OCI's linux.uidMappings): written from outside, by the
// supervisor with CAP_SETUID/CAP_SETGID, else by newuidmap/newgidmap; supplementary
// groups only where the gid map is written from outside.
TEST(PlanValidate, IdMapsFromOutsideAndSupplementaryGroups) {
  HostFacts user;
  user.uid = 1000;
  user.gid = 1000;
  auto spec = [](std::vector<std::string> args) {
    args.push_back("true");
    return test::parse_spec(args);
  };
  Spec s = spec({"--unshare-user"});
  s.id_maps = {{{0, 1000, 1}, {1, 100000, 65536}}, {{0, 1000, 1}, {1, 100000, 65536}},
               "linux.uidMappings", "linux.gidMappings"};
  Plan p = validate(s, user);
  EXPECT_TRUE(p.maps_from_outside);
  EXPECT_TRUE(p.maps_by_helper);  // no CAP_SETUID/CAP_SETGID: newuidmap and newgidmap
  EXPECT_FALSE(p.write_maps);     // not the single-id maps of our own
  HostFacts capable = user;
  capable.can_write_id_maps = true;
  p = validate(s, capable);
  EXPECT_TRUE(p.maps_from_outside);
  EXPECT_FALSE(p.maps_by_helper);
  // Groups: accepted with maps from outside; refused with the maps we write ourselves.
  s.groups = std::vector<gid_t>{5};
  s.groups_origin = "process.user.additionalGids";
  EXPECT_EQ(error_of([&] { validate(s, user); }), "");
  Spec self = spec({"--unshare-user"});
  self.groups = s.groups;
  self.groups_origin = s.groups_origin;
  EXPECT_EQ(error_of([&] { validate(self, user); }).rfind("process.user.additionalGids: supplementary "
                                                          "groups need a gid map written from outside", 0),
            0u);
  // Both maps or neither.
  Spec half = s;
  half.id_maps.gids.clear();
  EXPECT_EQ(error_of([&] { validate(half, user); }),
            "linux.uidMappings: needs linux.gidMappings as well (both maps are written from "
            "outside, or neither)");
  // Never without a new user namespace of ours (root without --unshare-user has none).
  HostFacts root;
  Spec none = spec({});
  none.id_maps = s.id_maps;
  EXPECT_EQ(error_of([&] { validate(none, root); }),
            "linux.uidMappings: needs a new user namespace whose maps sandbox writes");
  // Nor with a network helper that the child would wait for on the same channel.
  Spec net = spec({"--unshare-user", "--unshare-net", "--net", "slirp4netns"});
  net.id_maps = s.id_maps;
  EXPECT_EQ(error_of([&] { validate(net, capable); }),
            "linux.uidMappings: maps written from outside cannot be combined with a network "
            "helper (--net) yet");
}

// Spec::set_ids_in_place (OCI process.user without a user namespace): the ids are the
// command's, switched by a caller with CAP_SETUID and CAP_SETGID; never with a user
// namespace, nor by a caller without them; without it, --uid still needs --unshare-user.
TEST(PlanValidate, IdsSwitchedInPlace) {
  HostFacts root;
  root.can_write_id_maps = true;
  Spec s = test::parse_spec({"true"});
  s.uid = 1000;
  s.gid = 1000;
  EXPECT_EQ(error_of([&] { validate(s, root); }), "Specifying --uid requires --unshare-user");
  s.set_ids_in_place = true;
  Plan p = validate(s, root);
  EXPECT_FALSE(p.userns);
  EXPECT_EQ(p.sandbox_uid, 1000u);
  EXPECT_EQ(p.sandbox_gid, 1000u);
  HostFacts without = root;
  without.can_write_id_maps = false;
  const std::string refused = "process.user: ids are switched in place only without a user "
                              "namespace, by a caller with CAP_SETUID and CAP_SETGID";
  EXPECT_EQ(error_of([&] { validate(s, without); }), refused);
  Spec userns = test::parse_spec({"--unshare-user", "true"});
  userns.uid = 1000;
  userns.set_ids_in_place = true;
  EXPECT_EQ(error_of([&] { validate(userns, root); }), refused);
}

// Joined namespaces (Spec::join_ns, the OCI runtime's paths): one per type, never with a
// new one of the same type or --net; their sysctls are the sandbox's own.
TEST(PlanMakePlan, JoinedNamespaces) {
  HostFacts host;
  host.uid = 1000;
  auto with = [&](std::vector<std::string> args, std::vector<Spec::NsJoin> joins,
                  const std::string& sysctl = "") {
    args.push_back("true");
    Spec s = test::parse_spec(args);
    s.join_ns = std::move(joins);
    if (!sysctl.empty()) s.sysctls.emplace_back(sysctl, "1");
    return error_of([&] { validate(s, host); });
  };
  const Spec::NsJoin net{5, CLONE_NEWNET, "linux.namespaces[1].path"};
  const Spec::NsJoin ipc{6, CLONE_NEWIPC, "linux.namespaces[2].path"};
  const Spec::NsJoin cg{7, CLONE_NEWCGROUP, "linux.namespaces[3].path"};
  EXPECT_EQ(with({"--unshare-user"}, {net, ipc, cg}), "");
  EXPECT_EQ(with({"--unshare-user", "--unshare-net"}, {net}),
            "linux.namespaces[1].path: joins a net namespace and a new one is asked for too");
  EXPECT_NE(with({"--unshare-user", "--unshare-cgroup-try"}, {cg}), "");
  EXPECT_EQ(with({"--unshare-user"}, {net, net}),
            "linux.namespaces[1].path: a second net namespace to join");
  EXPECT_NE(with({"--unshare-user", "--net", "none"}, {net}), "");  // a new one, too
  EXPECT_NE(with({"--unshare-user", "--net", "host"}, {net}), "");
  EXPECT_NE(with({"--unshare-user"}, {{5, CLONE_NEWNS, "x"}}), "");  // mount: never this way
  EXPECT_EQ(with({"--unshare-user"}, {net}, "net.ipv4.ip_forward"), "");
  EXPECT_EQ(with({"--unshare-user"}, {ipc}, "kernel.msgmax"), "");
  EXPECT_NE(with({"--unshare-user"}, {ipc}, "net.ipv4.ip_forward"), "");
}

// --net pasta's /etc/resolv.conf is an op of the Plan, after the Spec's, reading a memfd the
// Plan owns: the Spec stays as asked.
TEST(PlanMakePlan, ResolvConfIsADerivedOp) {
  HostFacts root;  // root: no /dev/net/tun check
  Spec none = test::parse_spec({"--net", "none", "true"});
  EXPECT_TRUE(make_plan(none, root, prepare(none)).derived_fs.empty());

  Spec s = test::parse_spec({"--dir", "/etc", "--net", "pasta", "true"});
  Plan plan;
  try {
    plan = make_plan(s, root, prepare(s));
  } catch (const Error& e) {
    GTEST_SKIP() << "no --net pasta here: " << e.what();
  }
  EXPECT_EQ(s.fs.size(), 1u);  // untouched
  ASSERT_EQ(plan.derived_fs.size(), 1u);
  const auto* op = std::get_if<DataOp>(&plan.derived_fs[0]);
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->dest, "/etc/resolv.conf");
  EXPECT_TRUE(op->best_effort);
  EXPECT_EQ(op->fd, plan.resolv_conf_data.get());
  char buf[256] = {};
  ASSERT_GT(::pread(op->fd, buf, sizeof buf - 1, 0), 0);
  EXPECT_NE(std::string(buf).find("nameserver 10.0.2.3"), std::string::npos) << buf;
}

}  // namespace
}  // namespace sb::planning
