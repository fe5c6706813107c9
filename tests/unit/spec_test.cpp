// Unit tests for spec/spec.hpp (apply_env, fs_op_dest) and plan/plan.hpp (validate()).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "spec/spec.hpp"
#include "util/error.hpp"

namespace sb {
namespace {

using Env = std::vector<std::string>;

EnvEdit set(std::string n, std::string v) { return {EnvEdit::Kind::Set, std::move(n), std::move(v)}; }
EnvEdit unset(std::string n) { return {EnvEdit::Kind::Unset, std::move(n), {}}; }
EnvEdit clear() { return {EnvEdit::Kind::Clear, {}, {}}; }

// ---- apply_env --------------------------------------------------------------------------

TEST(ApplyEnv, NoEditsIsIdentity) {
  Env in{"A=1", "B=2"};
  EXPECT_EQ(apply_env(in, {}), in);
}

TEST(ApplyEnv, SetAddsNewVariable) {
  EXPECT_EQ(apply_env({"A=1"}, {set("B", "2")}), (Env{"A=1", "B=2"}));
}

TEST(ApplyEnv, SetOverridesExistingOnce) {
  Env out = apply_env({"A=1", "B=2", "C=3"}, {set("B", "new")});
  EXPECT_EQ(out, (Env{"A=1", "C=3", "B=new"}));
}

TEST(ApplyEnv, SetEmptyValue) {
  EXPECT_EQ(apply_env({"A=1"}, {set("A", "")}), (Env{"A="}));
}

TEST(ApplyEnv, SetValueMayContainEquals) {
  EXPECT_EQ(apply_env({}, {set("A", "x=y")}), (Env{"A=x=y"}));
}

TEST(ApplyEnv, NamesArePrefixSafe) {
  // Setting/unsetting FOO must not touch FOOBAR or FO.
  Env in{"FOOBAR=1", "FO=2", "FOO=3"};
  EXPECT_EQ(apply_env(in, {unset("FOO")}), (Env{"FOOBAR=1", "FO=2"}));
  EXPECT_EQ(apply_env(in, {set("FOO", "x")}), (Env{"FOOBAR=1", "FO=2", "FOO=x"}));
}

TEST(ApplyEnv, UnsetRemoves) {
  EXPECT_EQ(apply_env({"A=1", "B=2"}, {unset("A")}), (Env{"B=2"}));
}

TEST(ApplyEnv, UnsetMissingIsNoop) {
  EXPECT_EQ(apply_env({"A=1"}, {unset("Z")}), (Env{"A=1"}));
}

TEST(ApplyEnv, ClearKeepsOnlyPwd) {
  Env out = apply_env({"A=1", "PWD=/home/x", "PWDX=1", "HOME=/root"}, {clear()});
  EXPECT_EQ(out, (Env{"PWD=/home/x"}));
}

TEST(ApplyEnv, ClearWithoutPwdLeavesEmpty) {
  EXPECT_TRUE(apply_env({"A=1", "B=2"}, {clear()}).empty());
}

TEST(ApplyEnv, SetAfterClearApplies) {
  Env out = apply_env({"A=1", "PWD=/w"}, {clear(), set("B", "2")});
  EXPECT_EQ(out, (Env{"PWD=/w", "B=2"}));
}

TEST(ApplyEnv, SetBeforeClearIsLost) {
  Env out = apply_env({"PWD=/w"}, {set("B", "2"), clear()});
  EXPECT_EQ(out, (Env{"PWD=/w"}));
}

TEST(ApplyEnv, OrderOfSetAndUnsetMatters) {
  EXPECT_EQ(apply_env({}, {set("A", "1"), unset("A")}), Env{});
  EXPECT_EQ(apply_env({}, {unset("A"), set("A", "1")}), (Env{"A=1"}));
  EXPECT_EQ(apply_env({}, {set("A", "1"), set("A", "2")}), (Env{"A=2"}));
}

TEST(ApplyEnv, UnsetPwdAfterClear) {
  EXPECT_EQ(apply_env({"PWD=/w", "A=1"}, {clear(), unset("PWD")}), Env{});
}

TEST(ApplyEnv, InputIsNotModified) {
  const Env in{"A=1"};
  (void)apply_env(in, {unset("A")});
  EXPECT_EQ(in, (Env{"A=1"}));
}

// ---- fs_op_dest -------------------------------------------------------------------------

TEST(FsOpDest, EveryVariant) {
  EXPECT_EQ(fs_op_dest(FsOp{BindOp{"/src", "/bind", BindOp::Mode::ReadOnly, false, "--ro-bind"}}),
            "/bind");
  EXPECT_EQ(fs_op_dest(FsOp{RemountRoOp{"/remount"}}), "/remount");
  EXPECT_EQ(fs_op_dest(FsOp{ProcOp{"/proc"}}), "/proc");
  EXPECT_EQ(fs_op_dest(FsOp{DevOp{"/dev"}}), "/dev");
  EXPECT_EQ(fs_op_dest(FsOp{MqueueOp{"/mq"}}), "/mq");
  EXPECT_EQ(fs_op_dest(FsOp{TmpfsOp{"/tmp", 0700u, 4096u}}), "/tmp");
  EXPECT_EQ(fs_op_dest(FsOp{DirOp{"/dir", std::nullopt}}), "/dir");
  EXPECT_EQ(fs_op_dest(FsOp{SymlinkOp{"target", "/link"}}), "/link");
  EXPECT_EQ(fs_op_dest(FsOp{ChmodOp{0700, "/chmodded"}}), "/chmodded");
  EXPECT_EQ(fs_op_dest(FsOp{DataOp{DataOp::Kind::File, 3, "/data", std::nullopt}}), "/data");
  OverlayOp ov;
  ov.lowers = {"/l1", "/l2"};
  ov.upper = "/upper";
  ov.work = "/work";
  ov.dest = "/overlay";
  EXPECT_EQ(fs_op_dest(FsOp{ov}), "/overlay");
}

TEST(FsOpDest, SymlinkIsDestNotTarget) {
  EXPECT_EQ(fs_op_dest(FsOp{SymlinkOp{"/target", "/dest"}}), "/dest");
}

// ---- validate ---------------------------------------------------------------------------

Spec cmd_spec() {
  Spec s;
  s.command = {"/bin/true"};
  return s;
}
HostFacts root_host() {
  HostFacts h;
  h.uid = 0;
  h.gid = 0;
  return h;
}
HostFacts user_host() {
  HostFacts h;
  h.uid = 1000;
  h.gid = 1000;
  return h;
}

// Runs validate and returns the error message, or nullopt if it did not throw.
std::optional<std::string> validate_error(const Spec& s, const HostFacts& h) {
  try {
    (void)validate(s, h);
  } catch (const Error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

#define EXPECT_VALIDATE_ERROR(spec, host, needle)                                    \
  do {                                                                               \
    auto msg_ = validate_error(spec, host);                                          \
    ASSERT_TRUE(msg_.has_value()) << "validate() did not throw";                     \
    EXPECT_NE(msg_->find(needle), std::string::npos) << "message: " << *msg_;        \
  } while (0)

TEST(Validate, EmptyCommandIsError) {
  Spec s;
  EXPECT_THROW(validate(s, root_host()), Error);
  EXPECT_THROW(validate(s, user_host()), Error);
}

TEST(Validate, NonRootAlwaysGetsUserns) {
  Plan p = validate(cmd_spec(), user_host());
  EXPECT_TRUE(p.userns);
  EXPECT_TRUE(p.write_maps);

  Spec s = cmd_spec();
  s.unshare_user = true;
  EXPECT_TRUE(validate(s, user_host()).userns);

  Spec t = cmd_spec();
  t.unshare_user_try = true;
  EXPECT_TRUE(validate(t, user_host()).userns);
}

TEST(Validate, RootWithoutUnshareUserHasNoUserns) {
  Plan p = validate(cmd_spec(), root_host());
  EXPECT_FALSE(p.userns);
  EXPECT_FALSE(p.write_maps);
}

TEST(Validate, RootWithUnshareUserGetsUserns) {
  Spec s = cmd_spec();
  s.unshare_user = true;
  Plan p = validate(s, root_host());
  EXPECT_TRUE(p.userns);
  EXPECT_TRUE(p.write_maps);

  Spec t = cmd_spec();
  t.unshare_user_try = true;
  EXPECT_TRUE(validate(t, root_host()).userns);
}

TEST(Validate, RootUidWithoutUserNsNeedsUnshareUser) {
  Spec s = cmd_spec();
  s.uid = 1000;
  EXPECT_VALIDATE_ERROR(s, root_host(), "--unshare-user");
  EXPECT_VALIDATE_ERROR(s, root_host(), "--uid");
}

TEST(Validate, RootGidWithoutUserNsNeedsUnshareUser) {
  Spec s = cmd_spec();
  s.gid = 5;
  EXPECT_VALIDATE_ERROR(s, root_host(), "--unshare-user");
  EXPECT_VALIDATE_ERROR(s, root_host(), "--gid");
}

TEST(Validate, RootUidZeroWithoutUserNsIsFine) {
  Spec s = cmd_spec();
  s.uid = 0;
  s.gid = 0;
  Plan p = validate(s, root_host());
  EXPECT_FALSE(p.userns);
  EXPECT_EQ(p.sandbox_uid, 0u);
  EXPECT_EQ(p.sandbox_gid, 0u);
}

TEST(Validate, RootUidWithUnshareUserIsFine) {
  Spec s = cmd_spec();
  s.unshare_user = true;
  s.uid = 1000;
  s.gid = 2000;
  Plan p = validate(s, root_host());
  EXPECT_TRUE(p.userns);
  EXPECT_EQ(p.sandbox_uid, 1000u);
  EXPECT_EQ(p.sandbox_gid, 2000u);
}

TEST(Validate, RootUnshareUserTryFallsBackWhenUnavailable) {
  Spec s = cmd_spec();
  s.unshare_user_try = true;
  HostFacts h = root_host();
  h.userns_available = false;
  Plan p;
  ASSERT_NO_THROW(p = validate(s, h));
  EXPECT_FALSE(p.userns);
  EXPECT_FALSE(p.write_maps);
}

TEST(Validate, RootUnshareUserUnavailableIsError) {
  Spec s = cmd_spec();
  s.unshare_user = true;
  HostFacts h = root_host();
  h.userns_available = false;
  EXPECT_THROW(validate(s, h), Error);
}

TEST(Validate, NonRootUserNsUnavailableIsError) {
  HostFacts h = user_host();
  h.userns_available = false;
  EXPECT_THROW(validate(cmd_spec(), h), Error);
  Spec t = cmd_spec();
  t.unshare_user_try = true;  // -try does not help a non-root caller
  EXPECT_THROW(validate(t, h), Error);
}

TEST(Validate, RootWithoutUserNsDoesNotCareAboutAvailability) {
  HostFacts h = root_host();
  h.userns_available = false;
  EXPECT_FALSE(validate(cmd_spec(), h).userns);
}

TEST(Validate, SandboxIdsDefaultToCaller) {
  HostFacts h;
  h.uid = 1000;
  h.gid = 1001;
  Plan p = validate(cmd_spec(), h);
  EXPECT_EQ(p.sandbox_uid, 1000u);
  EXPECT_EQ(p.sandbox_gid, 1001u);
}

TEST(Validate, SandboxIdsFollowUidGid) {
  Spec s = cmd_spec();
  s.uid = 0;
  s.gid = 0;
  Plan p = validate(s, user_host());
  EXPECT_EQ(p.sandbox_uid, 0u);
  EXPECT_EQ(p.sandbox_gid, 0u);

  Spec t = cmd_spec();
  t.uid = 4242;
  Plan q = validate(t, user_host());
  EXPECT_EQ(q.sandbox_uid, 4242u);
  EXPECT_EQ(q.sandbox_gid, 1000u);  // gid still the caller's
}

TEST(Validate, HostnameRequiresUnshareUts) {
  Spec s = cmd_spec();
  s.hostname = "box";
  EXPECT_VALIDATE_ERROR(s, user_host(), "--hostname");
  EXPECT_VALIDATE_ERROR(s, user_host(), "--unshare-uts");
  s.unshare_uts = true;
  EXPECT_NO_THROW(validate(s, user_host()));
}

TEST(Validate, AsPid1RequiresUnsharePid) {
  Spec s = cmd_spec();
  s.as_pid_1 = true;
  EXPECT_VALIDATE_ERROR(s, user_host(), "--as-pid-1");
  EXPECT_VALIDATE_ERROR(s, user_host(), "--unshare-pid");
  s.unshare_pid = true;
  EXPECT_NO_THROW(validate(s, user_host()));
}

TEST(Validate, CgroupNamespace) {
  HostFacts avail = user_host();
  HostFacts unavail = user_host();
  unavail.cgroupns_available = false;

  EXPECT_FALSE(validate(cmd_spec(), avail).cgroupns);

  Spec t = cmd_spec();
  t.unshare_cgroup_try = true;
  EXPECT_TRUE(validate(t, avail).cgroupns);
  Plan p;
  ASSERT_NO_THROW(p = validate(t, unavail));
  EXPECT_FALSE(p.cgroupns);

  Spec c = cmd_spec();
  c.unshare_cgroup = true;
  EXPECT_TRUE(validate(c, avail).cgroupns);
  EXPECT_VALIDATE_ERROR(c, unavail, "--unshare-cgroup");
}

TEST(Validate, RelativeFsDestinationIsError) {
  Spec s = cmd_spec();
  s.fs.emplace_back(DirOp{"relative", std::nullopt});
  EXPECT_THROW(validate(s, user_host()), Error);
  Spec t = cmd_spec();
  t.fs.emplace_back(DirOp{"/absolute", std::nullopt});
  EXPECT_NO_THROW(validate(t, user_host()));
}

TEST(Validate, EmptyChdirIsError) {
  Spec s = cmd_spec();
  s.chdir = "";
  EXPECT_VALIDATE_ERROR(s, user_host(), "--chdir");
  s.chdir = "/tmp";
  EXPECT_NO_THROW(validate(s, user_host()));
}

// ---- validate: descriptor-protocol rules ----

TEST(Validate, UsernsFdReplacesCreatingOne) {
  Spec s = cmd_spec();
  s.userns_fd = 3;
  Plan p = validate(s, user_host());
  EXPECT_FALSE(p.userns);
  EXPECT_FALSE(p.write_maps);
}

TEST(Validate, UsernsFdWithUnshareUserIsError) {
  Spec s = cmd_spec();
  s.userns_fd = 3;
  s.unshare_user = true;
  EXPECT_VALIDATE_ERROR(s, user_host(), "--userns");
}

TEST(Validate, UsernsFdWithUidIsError) {
  Spec s = cmd_spec();
  s.userns_fd = 3;
  s.uid = 0;
  EXPECT_VALIDATE_ERROR(s, user_host(), "--uid");
}

TEST(Validate, UsernsBlockFdRules) {
  Spec s = cmd_spec();
  s.userns_block_fd = 4;
  EXPECT_VALIDATE_ERROR(s, user_host(), "--info-fd");
  s.info_fd = 5;
  Plan p = validate(s, user_host());
  EXPECT_TRUE(p.userns);
  EXPECT_FALSE(p.write_maps);  // someone else writes the maps
  EXPECT_VALIDATE_ERROR(s, root_host(), "--unshare-user");  // root without a userns
}

TEST(Validate, DisableUsernsRequiresUserns) {
  Spec s = cmd_spec();
  s.disable_userns = true;
  EXPECT_NO_THROW(validate(s, user_host()));
  EXPECT_VALIDATE_ERROR(s, root_host(), "--disable-userns");
}

TEST(Validate, SelinuxLabelsNeedSelinux) {
  Spec s = cmd_spec();
  s.exec_label = "system_u:system_r:container_t:s0";
  EXPECT_VALIDATE_ERROR(s, user_host(), "--exec-label");
  HostFacts h = user_host();
  h.selinux_enabled = true;
  EXPECT_NO_THROW(validate(s, h));

  Spec f = cmd_spec();
  f.file_label = "system_u:object_r:container_file_t:s0";
  EXPECT_VALIDATE_ERROR(f, user_host(), "--file-label");
}

}  // namespace
}  // namespace sb
