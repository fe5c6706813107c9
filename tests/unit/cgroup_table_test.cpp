// Unit tests for the cgroup limit table (limits/cgroup.cpp): which files each controller
// writes on cgroup v1 and v2, writing them through the leaf's directory descriptor, and
// the pure pieces of decide() (the v2 base cgroup, why v2 can't serve a controller, the
// stale-leaf directories, merging v1 leaves).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "limits/cgroup.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "temp_dir.hpp"

namespace sb::limits {

// Readable failures: the writes as text.
void PrintTo(const CgroupWrite& w, std::ostream* os) {
  *os << (w.optional ? "if_present(" : "(");
  for (const auto& c : w.choices) *os << c.file << "=" << c.value << (&c == &w.choices.back() ? "" : " | ");
  *os << ")";
}

namespace {

using W = CgroupWrite;

Limits all_limits() {
  Limits l;
  l.memory = 64 << 20;
  l.memory_text = "64M";
  l.pids = 10;
  l.pids_text = "10";
  l.cpu_quota_us = 50000;
  l.cpus_text = "0.5";
  l.cpu_weight = 200;
  l.io_weight = 300;
  return l;
}

CgroupLeafPlan leaf(bool v2, std::vector<std::string> controllers) {
  CgroupLeafPlan p;
  p.v2 = v2;
  p.controllers = std::move(controllers);
  return p;
}

TEST(CgroupTable, V2Files) {
  Limits l = all_limits();
  std::vector<W> want = {W::one("memory.max", "67108864"), W::if_present("memory.swap.max", "0"),
                         W::one("pids.max", "10"), W::one("cpu.max", "50000 100000"),
                         W::one("cpu.weight", "200"),
                         W::first_of({{"io.weight", "default 300"}, {"io.bfq.weight", "300"}})};
  // The leaf's order of controllers does not matter: the table's order does.
  EXPECT_EQ(leaf_writes(leaf(true, {"io", "cpu", "pids", "memory"}), l), want);
  l.memory_swap = 1 << 20;
  EXPECT_EQ(leaf_writes(leaf(true, {"memory"}), l),
            (std::vector<W>{W::one("memory.max", "67108864"), W::one("memory.swap.max", "1048576")}));
}

TEST(CgroupTable, V1Files) {
  Limits l = all_limits();
  std::vector<W> want = {W::one("memory.limit_in_bytes", "67108864"),
                         W::if_present("memory.memsw.limit_in_bytes", "67108864"),
                         W::one("pids.max", "10"), W::one("cpu.cfs_period_us", "100000"),
                         W::one("cpu.cfs_quota_us", "50000"), W::one("cpu.shares", "2048"),
                         W::first_of({{"blkio.weight", "1000"}, {"blkio.bfq.weight", "1000"}})};
  EXPECT_EQ(leaf_writes(leaf(false, {"memory", "pids", "cpu", "blkio"}), l), want);
  l.memory_swap = 1 << 20;
  l.cpu_weight = 1;  // 1 * 1024 / 100 shares
  l.io_weight = 1;   // blkio weight clamps at 10
  EXPECT_EQ(leaf_writes(leaf(false, {"memory", "cpu", "blkio"}), l),
            (std::vector<W>{W::one("memory.limit_in_bytes", "67108864"),
                            W::one("memory.memsw.limit_in_bytes", "68157440"),
                            W::one("cpu.cfs_period_us", "100000"),
                            W::one("cpu.cfs_quota_us", "50000"), W::one("cpu.shares", "10"),
                            W::first_of({{"blkio.weight", "10"}, {"blkio.bfq.weight", "10"}})}));
}

TEST(CgroupTable, OnlyTheLeafsControllersAndTheLimitsSet) {
  Limits l;
  l.pids = 5;
  EXPECT_EQ(leaf_writes(leaf(true, {"memory", "pids", "cpu", "io"}), l),
            std::vector<W>{W::one("pids.max", "5")});
  EXPECT_TRUE(leaf_writes(leaf(true, {"memory"}), all_limits()).size() == 2);
  EXPECT_TRUE(leaf_writes(leaf(false, {"io"}), all_limits()).empty());  // v1 calls it blkio
  EXPECT_TRUE(leaf_writes(leaf(true, {}), all_limits()).empty());
}

TEST(CgroupTable, Needs) {
  auto n = needs(all_limits());
  ASSERT_EQ(n.size(), 4u);
  EXPECT_EQ(n[0].controller, "memory");
  EXPECT_EQ(n[0].options, (std::vector<std::string>{"--memory 64M"}));
  EXPECT_EQ(n[1].controller, "pids");
  EXPECT_EQ(n[2].controller, "cpu");
  EXPECT_EQ(n[2].options, (std::vector<std::string>{"--cpus 0.5", "--cpu-weight"}));
  EXPECT_EQ(n[3].controller, "io");
  EXPECT_EQ(n[3].v1_name, "blkio");
  Limits swap_only;
  swap_only.memory_swap = 1;
  ASSERT_EQ(needs(swap_only).size(), 1u);
  EXPECT_EQ(needs(swap_only)[0].options, (std::vector<std::string>{"--memory-swap"}));
  EXPECT_TRUE(needs(Limits{}).empty());
}

// ---- Writing through the leaf's descriptor ------------------------------------------------

class LeafDir : public ::testing::Test {
 protected:
  std::string read(const std::string& name) {
    std::ifstream in(dir_.path() + "/" + name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void write(const std::vector<W>& w) {
    UniqueFd fd(::open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(fd);
    write_limits(fd.get(), dir_.path(), w);
  }
  sb::test::TempDir dir_;
};

// (Plain files stand in for cgroup files, which take each write whole: empty ones here.)
TEST_F(LeafDir, WritesEachValue) {
  dir_.write("memory.max", "");
  dir_.write("pids.max", "");
  write({W::one("memory.max", "1024"), W::one("pids.max", "7")});
  EXPECT_EQ(read("memory.max"), "1024");
  EXPECT_EQ(read("pids.max"), "7");
}

TEST_F(LeafDir, FirstChoiceThatExists) {
  dir_.write("io.bfq.weight", "");
  write({W::first_of({{"io.weight", "default 300"}, {"io.bfq.weight", "300"}})});
  EXPECT_EQ(read("io.bfq.weight"), "300");
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/io.weight"));  // never created
  dir_.write("io.weight", "");
  write({W::first_of({{"io.weight", "default 300"}, {"io.bfq.weight", "1"}})});
  EXPECT_EQ(read("io.weight"), "default 300");
  EXPECT_EQ(read("io.bfq.weight"), "300");  // untouched
}

TEST_F(LeafDir, OptionalFileMayBeMissingRequiredMayNot) {
  write({W::if_present("memory.swap.max", "0")});
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/memory.swap.max"));
  try {
    write({W::first_of({{"io.weight", "default 3"}, {"io.bfq.weight", "3"}})});
    FAIL() << "no error";
  } catch (const SysError& e) {
    EXPECT_EQ(e.err(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("Can't open " + dir_.path() + "/io.bfq.weight"),
              std::string::npos)
        << e.what();
  }
}

// ---- The pure pieces of decide() ----------------------------------------------------------

Hierarchy v2_at(const std::string& mount, std::optional<std::string> caller) {
  Hierarchy h;
  h.v2 = true;
  h.mountpoint = mount;
  h.caller_dir = std::move(caller);
  return h;
}

TEST(CgroupDecide, V2BaseDir) {
  Limits l;
  Hierarchy h = v2_at("/sys/fs/cgroup", "/sys/fs/cgroup/user/app.scope");
  EXPECT_EQ(v2_base_dir(l, h), "/sys/fs/cgroup/user/app.scope");
  h.caller_dir = "/sys/fs/cgroup/user/app.scope/sandbox-caller";
  EXPECT_EQ(v2_base_dir(l, h), "/sys/fs/cgroup/user/app.scope");
  h.caller_dir.reset();
  EXPECT_EQ(v2_base_dir(l, h), std::nullopt);
  l.cgroup_parent = "/box";
  EXPECT_EQ(v2_base_dir(l, h), "/sys/fs/cgroup/box");
  l.cgroup_parent = "/sys/fs/cgroup/box/sandbox-caller";  // named: used as is
  EXPECT_EQ(v2_base_dir(l, h), "/sys/fs/cgroup/box/sandbox-caller");
  l.cgroup_parent = "/";
  EXPECT_EQ(v2_base_dir(l, h), "/sys/fs/cgroup");
}

TEST(CgroupDecide, WhyNotV2) {
  Limits l;
  V2Base b;
  EXPECT_EQ(why_not_v2(b, "memory", l),
            "no cgroup2 filesystem is mounted (none in /proc/self/mountinfo)");
  b.mountpoint = "/cg";
  EXPECT_EQ(why_not_v2(b, "memory", l),
            "the caller's cgroup is not visible under the cgroup2 mount /cg");
  l.cgroup_parent = "/x";
  EXPECT_EQ(why_not_v2(b, "memory", l), "--cgroup-parent /x is not a cgroup2 cgroup");
  b.dir = "/cg/x";
  EXPECT_EQ(why_not_v2(b, "memory", l), "the cgroup /cg/x does not exist");
  b.exists = true;
  EXPECT_EQ(why_not_v2(b, "memory", l),
            "the memory controller is not enabled for /cg/x (its cgroup.controllers offers: "
            "none; the cgroup above it must enable and delegate it)");
  b.offered = {"cpu", "pids"};
  b.dir = "/cg";
  EXPECT_EQ(why_not_v2(b, "io", l),
            "the io controller is not available in the cgroup2 hierarchy /cg (it offers: cpu "
            "pids; the controller is bound to a cgroup v1 hierarchy or not built in)");
}

TEST(CgroupDecide, StaleDirCandidates) {
  Hierarchy v2 = v2_at("/cg2", "/cg2/me");
  Hierarchy mem;
  mem.mountpoint = "/v1/memory";
  mem.controllers = {"memory"};
  mem.caller_dir = "/v1/memory/me";
  Hierarchy freezer;  // no controller the limits use
  freezer.mountpoint = "/v1/freezer";
  freezer.controllers = {"freezer"};
  freezer.caller_dir = "/v1/freezer/me";
  Limits l;
  EXPECT_EQ(stale_dir_candidates(l, {v2, mem, freezer}, std::string("/cg2/me")),
            (std::vector<std::string>{"/cg2/me", "/v1/memory/me"}));
  EXPECT_EQ(stale_dir_candidates(l, {v2, mem}, std::nullopt),
            (std::vector<std::string>{"/v1/memory/me"}));
  l.cgroup_parent = "/box";
  EXPECT_EQ(stale_dir_candidates(l, {v2, mem}, std::string("/cg2/box")),
            (std::vector<std::string>{"/cg2/box", "/v1/memory/box"}));
}

TEST(CgroupDecide, V1LeavesMergePerParent) {
  std::vector<CgroupLeafPlan> leaves;
  add_v1_leaf(leaves, "/v1/cpu,cpuacct/me", "cpu");
  add_v1_leaf(leaves, "/v1/memory/me", "memory");
  add_v1_leaf(leaves, "/v1/cpu,cpuacct/me", "blkio");  // mounted together with cpu here
  ASSERT_EQ(leaves.size(), 2u);
  EXPECT_FALSE(leaves[0].v2);
  EXPECT_EQ(leaves[0].controllers, (std::vector<std::string>{"cpu", "blkio"}));
  EXPECT_EQ(leaves[1].parent, "/v1/memory/me");
}

}  // namespace
}  // namespace sb::limits
