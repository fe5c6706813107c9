// Unit tests for security/landlock.hpp: the rules derived from the fs op list, and the
// required/best-effort decision from the kernel's ABI answer (both pure, no kernel).
#include "security/landlock.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "parse_env.hpp"
#include "util/error.hpp"

namespace sb::security {
namespace {

using Rules = std::vector<LandlockRule>;
using Args = std::vector<std::string>;
constexpr uint64_t R = ll::kRead;
constexpr uint64_t RW = ll::kRead | ll::kWrite;
// A rule for a mount.
LandlockRule m(const std::string& path, uint64_t access) { return {path, access, true}; }
// A rule made by --dir or --file (not a mount of its own).
LandlockRule made(const std::string& path, uint64_t access) { return {path, access, false}; }

Rules rules_of(const Args& args) {
  Args a = args;
  a.push_back("true");
  return landlock_rules(test::parse_spec(a).fs);
}

std::string describe(const Rules& rs) {
  std::string s;
  for (const auto& r : rs)
    s += r.path + "=" + std::to_string(r.access) + (r.mount_root ? "(mount) " : " ");
  return s;
}

TEST(LandlockRules, RootTmpfsIsReadOnlyAndOpsGetTheirAccess) {
  Rules rs = rules_of({"--ro-bind", "/usr", "/usr", "--bind", "/srv", "/work", "--tmpfs", "/tmp",
                       "--proc", "/proc", "--dev", "/dev", "--dev-bind", "/dev/dri", "/dri",
                       "--mqueue", "/dev/mqueue"});
  Rules want = {m("/", R),
                m("/usr", R),
                m("/work", RW),
                m("/tmp", RW),
                m("/proc", ll::kProc),
                m("/dev", RW | ll::kIoctlDev),
                m("/dri", RW | ll::kIoctlDev),
                m("/dev/mqueue", RW)};
  EXPECT_EQ(rs, want) << describe(rs);
}

TEST(LandlockRules, ProcIsNeitherExecutableNorCreatable) {
  EXPECT_EQ(ll::kProc & (ll::kExecute | ll::kMakeReg | ll::kMakeDir | ll::kRemoveFile), 0u);
}

TEST(LandlockRules, LaterMountAtSamePathReplacesEarlier) {
  Rules rs = rules_of({"--bind", "/srv", "/x", "--ro-bind", "/usr", "/x"});
  EXPECT_EQ(rs, (Rules{m("/", R), m("/x", R)})) << describe(rs);
  rs = rules_of({"--ro-bind", "/usr", "/x", "--bind", "/srv", "/x"});
  EXPECT_EQ(rs, (Rules{m("/", R), m("/x", RW)})) << describe(rs);
}

TEST(LandlockRules, LaterMountAtParentHidesEverythingBelow) {
  Rules rs = rules_of({"--bind", "/srv", "/a/b/c", "--dir", "/a/d", "--ro-bind", "/usr", "/a"});
  EXPECT_EQ(rs, (Rules{m("/", R), m("/a", R)})) << describe(rs);
  // A sibling with a common prefix is not below: /ab stays.
  rs = rules_of({"--bind", "/srv", "/ab", "--ro-bind", "/usr", "/a"});
  EXPECT_EQ(rs, (Rules{m("/", R), m("/ab", RW), m("/a", R)})) << describe(rs);
}

TEST(LandlockRules, BindOfRootReplacesTheRootTmpfs) {
  Rules rs = rules_of({"--tmpfs", "/tmp", "--bind", "/", "/"});
  EXPECT_EQ(rs, (Rules{m("/", RW)})) << describe(rs);
}

TEST(LandlockRules, RemountRoTakesWriteAtAndBelowOnlyFromEarlierOps) {
  Rules rs = rules_of({"--bind", "/srv", "/w", "--tmpfs", "/w/t", "--bind", "/var", "/v",
                       "--remount-ro", "/w", "--bind", "/home", "/w/later"});
  EXPECT_EQ(rs, (Rules{m("/", R), m("/w", R), m("/w/t", R), m("/v", RW), m("/w/later", RW)}))
      << describe(rs);
}

TEST(LandlockRules, DirAndFileAreWritableOnlyOnTheRootTmpfs) {
  Rules rs = rules_of({"--dir", "/scratch", "--ro-bind", "/usr", "/usr", "--dir", "/usr/local",
                       "--tmpfs", "/t", "--dir", "/t/sub", "--file", "0", "/note"});
  // /usr/local inherits /usr's read-only access; /t/sub inherits /t's write.
  EXPECT_EQ(rs, (Rules{m("/", R), made("/scratch", RW), m("/usr", R), m("/t", RW), made("/note", RW)}))
      << describe(rs);
}

TEST(LandlockRules, DataBindsAndOverlays) {
  Rules rs = rules_of({"--ro-bind-data", "0", "/etc/a", "--bind-data", "0", "/etc/b",
                       "--overlay-src", "/usr", "--tmp-overlay", "/o1", "--overlay-src", "/usr",
                       "--overlay-src", "/srv", "--ro-overlay", "/o2"});
  EXPECT_EQ(rs, (Rules{m("/", R), m("/etc/a", R), m("/etc/b", RW), m("/o1", RW), m("/o2", R)}))
      << describe(rs);
}

TEST(LandlockRules, SymlinkAndChmodGiveNothing) {
  Rules rs = rules_of({"--symlink", "usr/bin", "/bin", "--chmod", "0700", "/"});
  EXPECT_EQ(rs, (Rules{m("/", R)})) << describe(rs);
}

TEST(LandlockRules, DestinationsAreNormalized) {
  Rules rs = rules_of({"--bind", "/srv", "/a//b/", "--ro-bind", "/usr", "/a/./b/../b"});
  EXPECT_EQ(rs, (Rules{m("/", R), m("/a/b", R)})) << describe(rs);
}

TEST(LandlockRules, SkippedTryBindGivesNothingAndHidesNothing) {
  auto spec = test::parse_spec({"--ro-bind", "/usr", "/x", "--bind-try", "/nonexistent", "/x", "true"});
  Rules rs = landlock_rules(spec.fs, [](size_t i) { return i == 1; });
  EXPECT_EQ(rs, (Rules{m("/", R), m("/x", R)})) << describe(rs);
  rs = landlock_rules(spec.fs);
  EXPECT_EQ(rs, (Rules{m("/", R), m("/x", RW)})) << describe(rs);
}

// ---- The decision, from a faked ABI answer. ----

LandlockRequest req(bool best_effort = false) {
  LandlockRequest r;
  r.enabled = true;
  r.best_effort = best_effort;
  return r;
}

::testing::AssertionResult throws_naming(const LandlockRequest& r, int abi, const std::string& n) {
  try {
    (void)landlock_decide(r, abi);
  } catch (const Error& e) {
    if (std::string(e.what()).find(n) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "message: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

TEST(LandlockDecide, NotAskedEnforcesNothing) {
  LandlockPlan p = landlock_decide(LandlockRequest{}, -ENOSYS);
  EXPECT_FALSE(p.enforce);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(LandlockDecide, NoLandlockIsAnErrorUnlessBestEffort) {
  EXPECT_TRUE(throws_naming(req(), -ENOSYS, "--landlock"));
  EXPECT_TRUE(throws_naming(req(), -ENOSYS, "Linux 5.13"));
  EXPECT_TRUE(throws_naming(req(), -EOPNOTSUPP, "lsm="));
  LandlockPlan p = landlock_decide(req(true), -EOPNOTSUPP);
  EXPECT_FALSE(p.enforce);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("--landlock"), std::string::npos);
}

TEST(LandlockDecide, BelowAbi3RequiredRefusesBestEffortEnforcesWhatThereIs) {
  EXPECT_TRUE(throws_naming(req(), 1, "truncate"));
  EXPECT_TRUE(throws_naming(req(), 2, "ABI 2"));
  LandlockPlan p = landlock_decide(req(true), 1);
  EXPECT_TRUE(p.enforce);
  EXPECT_EQ(p.handled_fs, (1ULL << 13) - 1);  // no REFER, no TRUNCATE
  EXPECT_EQ(p.scopes, 0u);
  EXPECT_EQ(p.warnings.size(), 1u);
}

TEST(LandlockDecide, HandlesEveryRightOfTheAbi) {
  EXPECT_EQ(landlock_decide(req(), 3).handled_fs, ((1ULL << 13) - 1) | ll::kRefer | ll::kTruncate);
  EXPECT_EQ(landlock_decide(req(), 4).handled_fs, landlock_decide(req(), 3).handled_fs);
  EXPECT_EQ(landlock_decide(req(), 5).handled_fs, (1ULL << 16) - 1);
  EXPECT_EQ(landlock_decide(req(), 7).handled_fs, (1ULL << 16) - 1);
  EXPECT_EQ(landlock_decide(req(), 9).handled_fs, (1ULL << 16) - 1);  // a newer kernel
}

TEST(LandlockDecide, DefaultScopesAreTheBestUseOfTheAbi) {
  LandlockPlan p5 = landlock_decide(req(), 5);
  EXPECT_TRUE(p5.enforce);
  EXPECT_EQ(p5.scopes, 0u);
  EXPECT_TRUE(p5.warnings.empty());
  EXPECT_EQ(landlock_decide(req(), 6).scopes, ll::kScopeSignal | ll::kScopeAbstractUnix);
}

TEST(LandlockDecide, ScopesNamedAreRequired) {
  LandlockRequest r = req();
  r.scopes_given = true;
  r.scope_abstract_unix = false;
  EXPECT_TRUE(throws_naming(r, 5, "--landlock-scope"));
  EXPECT_EQ(landlock_decide(r, 6).scopes, ll::kScopeSignal);
  r.best_effort = true;
  LandlockPlan p = landlock_decide(r, 5);
  EXPECT_EQ(p.scopes, 0u);
  EXPECT_EQ(p.warnings.size(), 1u);
  LandlockRequest none = req();
  none.scopes_given = true;
  none.scope_signal = none.scope_abstract_unix = false;
  EXPECT_EQ(landlock_decide(none, 7).scopes, 0u);
  EXPECT_NO_THROW(landlock_decide(none, 3));
}

TEST(LandlockCli, OptionsFillTheRequest) {
  auto s = test::parse_spec({"--landlock", "true"});
  EXPECT_TRUE(s.landlock.enabled);
  EXPECT_FALSE(s.landlock.best_effort);
  EXPECT_FALSE(s.landlock.scopes_given);
  s = test::parse_spec({"--landlock-mode", "best-effort", "true"});
  EXPECT_TRUE(s.landlock.enabled);
  EXPECT_TRUE(s.landlock.best_effort);
  s = test::parse_spec({"--landlock-scope", "abstract-socket", "true"});
  EXPECT_TRUE(s.landlock.scopes_given);
  EXPECT_FALSE(s.landlock.scope_signal);
  EXPECT_TRUE(s.landlock.scope_abstract_unix);
  s = test::parse_spec({"--landlock-scope", "signal,abstract-socket", "true"});
  EXPECT_TRUE(s.landlock.scope_signal && s.landlock.scope_abstract_unix);
  s = test::parse_spec({"--landlock-scope", "none", "true"});
  EXPECT_FALSE(s.landlock.scope_signal || s.landlock.scope_abstract_unix);
  EXPECT_THROW(test::parse_spec({"--landlock-mode", "maybe", "true"}), Error);
  EXPECT_THROW(test::parse_spec({"--landlock-scope", "signal,ptrace", "true"}), Error);
  EXPECT_FALSE(test::parse_spec({"true"}).landlock.enabled);
}

TEST(LandlockSummary, NamesWhatTheAbiGives) {
  EXPECT_NE(landlock_summary(7).find("device ioctls"), std::string::npos);
  EXPECT_NE(landlock_summary(7).find("signals"), std::string::npos);
  EXPECT_EQ(landlock_summary(5).find("signals"), std::string::npos);
  EXPECT_NE(landlock_summary(2).find("best-effort"), std::string::npos);
  EXPECT_NE(landlock_summary(-ENOSYS).find("5.13"), std::string::npos);
}

}  // namespace
}  // namespace sb::security

#include "net/egress.hpp"

namespace sb::security {
namespace {

std::vector<NetAllow> allows(std::initializer_list<const char*> v) {
  std::vector<NetAllow> out;
  for (const char* s : v) out.push_back(net::parse_allow_net(s));
  return out;
}

// --landlock with --allow-net: TCP connect limited to the rules' ports and 53.
TEST(LandlockNet, ConnectPortsFollowTheAllowlist) {
  EXPECT_EQ(landlock_connect_ports(allows({"10.0.0.1:443", "pypi.org:80-82", "[::1]:443"})),
            (std::vector<uint16_t>{53, 80, 81, 82, 443}));
  // A rule on every port (address or name): Landlock does not restrict connect.
  EXPECT_FALSE(landlock_connect_ports(allows({"10.0.0.1:443", "192.0.2.1"})));
  EXPECT_FALSE(landlock_connect_ports(allows({"10.0.0.1:443", "example.com"})));
  // No --allow-net: no restriction either.
  EXPECT_FALSE(landlock_connect_ports({}));
  // Wide ranges are left to the egress table.
  EXPECT_EQ(landlock_connect_ports(allows({"10.0.0.1:1-1023"}))->size(), 1023u);
  EXPECT_FALSE(landlock_connect_ports(allows({"10.0.0.1:1-1024", "10.0.0.2:2000"})));
  EXPECT_FALSE(landlock_connect_ports(allows({"10.0.0.1:1000-65535"})));
}

}  // namespace
}  // namespace sb::security
