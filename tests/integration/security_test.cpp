// Capabilities, no_new_privs and file descriptors inside the sandbox.
#include <set>

#include "harness.hpp"

namespace it {
namespace {

constexpr int kCapNetAdmin = 12;
constexpr int kCapSysAdmin = 21;

std::string own_status() { return read_file("/proc/self/status"); }

class SecurityTest : public SandboxTest {
 protected:
  // /proc/self/status of the command inside.
  RunResult status_inside(const Args& flags, const RunOpts& o) {
    return run(with_root(cat({flags, {"--proc", "/proc", "--", "cat", "/proc/self/status"}})), o);
  }
};
class SecurityModeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, SecurityModeTest, ::testing::Bool(), mode_name);

TEST_F(SecurityTest, UnprivilegedHasNoCapabilities) {
  auto r = status_inside({}, unpriv());
  ASSERT_EQ(r.exit_code, 0) << r;
  for (const char* f : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    auto caps = status_caps(r.out, f);
    ASSERT_TRUE(caps.has_value()) << f << r;
    EXPECT_EQ(*caps, 0u) << f << " = " << *status_field(r.out, f);
  }
  EXPECT_EQ(status_field(r.out, "NoNewPrivs"), "1") << r;
}

TEST_F(SecurityTest, UnprivilegedUid0CapAddGivesExactlyThatCapability) {
  auto r = status_inside({"--uid", "0", "--cap-add", "CAP_NET_ADMIN"}, unpriv());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(status_field(r.out, "CapEff"), "0000000000001000") << r;
  EXPECT_EQ(status_caps(r.out, "CapEff"), uint64_t{1} << kCapNetAdmin) << r;
  EXPECT_EQ(status_field(r.out, "NoNewPrivs"), "1") << r;
}

TEST_F(SecurityTest, RootKeepsItsCapabilitiesByDefault) {
  IT_REQUIRE_ROOT();
  auto mine = status_caps(own_status(), "CapEff");
  ASSERT_TRUE(mine.has_value());
  auto r = status_inside({}, {});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(status_caps(r.out, "CapEff"), mine) << r;
}

TEST_F(SecurityTest, RootCapDropAll) {
  IT_REQUIRE_ROOT();
  auto r = status_inside({"--cap-drop", "ALL"}, {});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(status_caps(r.out, "CapEff"), uint64_t{0}) << r;
  EXPECT_EQ(status_caps(r.out, "CapPrm"), uint64_t{0}) << r;
}

TEST_F(SecurityTest, RootCapDropOne) {
  IT_REQUIRE_ROOT();
  auto mine = status_caps(own_status(), "CapEff");
  ASSERT_TRUE(mine.has_value());
  ASSERT_NE(*mine & (uint64_t{1} << kCapSysAdmin), 0u) << "test needs CAP_SYS_ADMIN";
  auto r = status_inside({"--cap-drop", "CAP_SYS_ADMIN"}, {});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(status_caps(r.out, "CapEff"), *mine & ~(uint64_t{1} << kCapSysAdmin)) << r;
}

TEST_P(SecurityModeTest, UnknownCapabilityIsAnError) {
  auto r = run(with_root(cat({{"--cap-add", "BOGUS"}, sh("echo MARKER-RAN")})), opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.out, "MARKER-RAN")) << r;
  EXPECT_TRUE(contains(r.err, "BOGUS")) << r;
}

TEST_P(SecurityModeTest, NoNewPrivsIsAlwaysSet) {
  for (const Args& flags : {Args{}, Args{"--unshare-pid"}, Args{"--unshare-all"}}) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    auto r =
        run(with_root(cat({flags, {"--proc", "/proc", "--", "cat", "/proc/self/status"}})), opts());
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(status_field(r.out, "NoNewPrivs"), "1") << r;
  }
}

// The caller's inherited descriptors reach the command; the sandbox's own do not.
TEST_P(SecurityModeTest, OnlyInheritedDescriptorsAreVisible) {
  for (const Args& flags : {Args{}, Args{"--unshare-pid"}}) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    RunOpts o = opts();
    o.leak_fds = {7};
    auto r = run(with_root(cat({flags, {"--proc", "/proc", "--", "ls", "/proc/self/fd"}})), o);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto fds = words(r.out);
    std::set<std::string> s(fds.begin(), fds.end());
    for (const char* fd : {"0", "1", "2", "7"}) EXPECT_EQ(s.count(fd), 1u) << fd << r;
    // 0, 1, 2, the inherited 7 and the directory ls itself has open.
    EXPECT_EQ(s.size(), 5u) << "unexpected descriptors inside" << r;
  }
}

}  // namespace
}  // namespace it
