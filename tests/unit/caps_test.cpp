// Unit tests for security/caps.hpp: resolve_caps (pure) and the capability set helpers.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "parse_env.hpp"
#include "cli/options.hpp"
#include "security/caps.hpp"
#include "spec/spec.hpp"

namespace sb::security {
namespace {

constexpr CapSet bit(int c) { return CapSet{1} << c; }
// A kernel with caps 0..40 (cap_last_cap = 40).
constexpr CapSet kAll = (CapSet{1} << 41) - 1;

CapEdit add(int c) { return CapEdit{true, c}; }
CapEdit drop(int c) { return CapEdit{false, c}; }
constexpr int kAllCaps = -1;

TEST(ResolveCaps, NonRootStartsEmpty) {
  EXPECT_EQ(resolve_caps({}, false, kAll, kAll), 0u);
  EXPECT_EQ(resolve_caps({}, false, bit(CAP_SYS_ADMIN), kAll), 0u);
}

TEST(ResolveCaps, RootStartsFromCurrent) {
  EXPECT_EQ(resolve_caps({}, true, kAll, kAll), kAll);
  CapSet cur = bit(CAP_CHOWN) | bit(CAP_NET_ADMIN);
  EXPECT_EQ(resolve_caps({}, true, cur, kAll), cur);
  EXPECT_EQ(resolve_caps({}, true, 0, kAll), 0u);
}

TEST(ResolveCaps, NonRootAdd) {
  EXPECT_EQ(resolve_caps({add(CAP_SYS_ADMIN)}, false, kAll, kAll), bit(CAP_SYS_ADMIN));
  EXPECT_EQ(resolve_caps({add(CAP_CHOWN), add(CAP_NET_RAW)}, false, 0, kAll),
            bit(CAP_CHOWN) | bit(CAP_NET_RAW));
}

TEST(ResolveCaps, RootAddToPartialCurrent) {
  EXPECT_EQ(resolve_caps({add(CAP_SYS_ADMIN)}, true, bit(CAP_CHOWN), kAll),
            bit(CAP_CHOWN) | bit(CAP_SYS_ADMIN));
}

TEST(ResolveCaps, RootDrop) {
  EXPECT_EQ(resolve_caps({drop(CAP_SYS_ADMIN)}, true, kAll, kAll), kAll & ~bit(CAP_SYS_ADMIN));
}

TEST(ResolveCaps, NonRootDropOfUnheldCapIsNoop) {
  EXPECT_EQ(resolve_caps({drop(CAP_SYS_ADMIN)}, false, kAll, kAll), 0u);
}

TEST(ResolveCaps, AddAllThenDropOne) {
  EXPECT_EQ(resolve_caps({add(kAllCaps), drop(CAP_NET_RAW)}, false, 0, kAll),
            kAll & ~bit(CAP_NET_RAW));
}

TEST(ResolveCaps, DropAllThenAddOne) {
  EXPECT_EQ(resolve_caps({drop(kAllCaps), add(CAP_SYS_ADMIN)}, true, kAll, kAll),
            bit(CAP_SYS_ADMIN));
}

TEST(ResolveCaps, OrderMatters) {
  EXPECT_EQ(resolve_caps({add(CAP_SYS_ADMIN), drop(CAP_SYS_ADMIN)}, false, 0, kAll), 0u);
  EXPECT_EQ(resolve_caps({drop(CAP_SYS_ADMIN), add(CAP_SYS_ADMIN)}, false, 0, kAll),
            bit(CAP_SYS_ADMIN));
  EXPECT_EQ(resolve_caps({add(CAP_CHOWN), drop(kAllCaps)}, true, kAll, kAll), 0u);
  EXPECT_EQ(resolve_caps({drop(kAllCaps), add(CAP_CHOWN)}, true, kAll, kAll), bit(CAP_CHOWN));
}

TEST(ResolveCaps, ResultMaskedByAll) {
  const CapSet small = (CapSet{1} << 10) - 1;  // kernel knows caps 0..9 only
  // Root's current set may carry bits the kernel does not know: masked.
  EXPECT_EQ(resolve_caps({}, true, ~CapSet{0}, small), small);
  // Adding a cap above the kernel's last one yields nothing.
  EXPECT_EQ(resolve_caps({add(CAP_SYS_ADMIN)}, false, 0, small), 0u);
  // ALL means the kernel's set, not every bit.
  EXPECT_EQ(resolve_caps({add(kAllCaps)}, false, 0, small), small);
  EXPECT_EQ(resolve_caps({add(kAllCaps), drop(CAP_CHOWN)}, false, 0, small),
            small & ~bit(CAP_CHOWN));
}

TEST(ResolveCaps, FromParsedOptions) {
  Spec s = test::parse_spec({"--cap-add", "ALL", "--cap-drop", "sys_admin", "--cap-drop",
                       "CAP_NET_RAW", "true"});
  EXPECT_EQ(resolve_caps(s.caps, false, 0, kAll),
            kAll & ~bit(CAP_SYS_ADMIN) & ~bit(CAP_NET_RAW));
  Spec r = test::parse_spec({"--cap-drop", "ALL", "--cap-add", "CAP_CHOWN", "true"});
  EXPECT_EQ(resolve_caps(r.caps, true, kAll, kAll), bit(CAP_CHOWN));
}

TEST(AllCaps, ContainsChownAndNothingAboveLastCap) {
  int last = last_cap();
  ASSERT_GE(last, CAP_CHOWN);
  ASSERT_LE(last, 63);
  CapSet all = all_caps();
  EXPECT_NE(all & bit(CAP_CHOWN), 0u);
  for (int c = 0; c <= last; ++c) EXPECT_NE(all & bit(c), 0u) << "cap " << c;
  for (int c = last + 1; c < 64; ++c) EXPECT_EQ(all & bit(c), 0u) << "cap " << c;
}

TEST(AllCaps, LastCapMatchesKernel) {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int v = -1;
  if (!(in >> v)) GTEST_SKIP() << "/proc/sys/kernel/cap_last_cap not readable";
  EXPECT_EQ(last_cap(), v);
}

// The name table is indexed by capability number: spot checks against linux/capability.h
// at both ends and in the middle, every number the header knows has a name, and names
// round-trip in any case (--cap-add sys_admin, CAP_SYS_ADMIN in profiles).
TEST(CapNames, MatchTheKernelHeader) {
  EXPECT_EQ(capability_from_name("chown"), CAP_CHOWN);
  EXPECT_EQ(capability_from_name("SYS_ADMIN"), CAP_SYS_ADMIN);
  EXPECT_EQ(capability_from_name("Net_Raw"), CAP_NET_RAW);
  EXPECT_EQ(capability_from_name("setfcap"), CAP_SETFCAP);
  EXPECT_EQ(capability_from_name("audit_read"), CAP_AUDIT_READ);
#ifdef CAP_CHECKPOINT_RESTORE
  EXPECT_EQ(capability_from_name("checkpoint_restore"), CAP_CHECKPOINT_RESTORE);
#endif
  for (int c = 0; c <= CAP_LAST_CAP; ++c) {
    const char* n = capability_name(c);
    ASSERT_NE(n, nullptr) << "cap " << c;
    EXPECT_EQ(capability_from_name(n), c) << n;
  }
}

TEST(CapNames, UnknownNames) {
  EXPECT_EQ(capability_from_name(""), -1);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), -1);  // callers strip the prefix
  EXPECT_EQ(capability_from_name("sys_admin "), -1);
  EXPECT_EQ(capability_name(-1), nullptr);
  EXPECT_EQ(capability_name(64), nullptr);
}

// The process's own permitted set, read with capget, is what the kernel reports in
// /proc/self/status (CapPrm, hexadecimal).
TEST(CurrentCaps, MatchesProcStatus) {
  std::ifstream in("/proc/self/status");
  std::string line;
  std::optional<CapSet> prm;
  while (std::getline(in, line))
    if (line.rfind("CapPrm:", 0) == 0) prm = std::stoull(line.substr(7), nullptr, 16);
  if (!prm) GTEST_SKIP() << "no CapPrm in /proc/self/status";
  EXPECT_EQ(current_caps(), *prm & all_caps());
}

}  // namespace
}  // namespace sb::security
