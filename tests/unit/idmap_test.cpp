// Unit tests for ns/idmap.hpp: the uid_map/gid_map text we write and read back.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ns/idmap.hpp"

namespace sb {
namespace {

TEST(SingleIdMap, Format) {
  EXPECT_EQ(single_id_map(1000, 23456), "1000 23456 1\n");
  EXPECT_EQ(single_id_map(0, 1000), "0 1000 1\n");
  EXPECT_EQ(single_id_map(0, 0), "0 0 1\n");
  EXPECT_EQ(single_id_map(4294967294u, 4294967294u), "4294967294 4294967294 1\n");
}

TEST(SingleIdMap, RoundTripsThroughMapContains) {
  std::string m = single_id_map(1000, 23456);
  EXPECT_TRUE(map_contains(m, 1000, 23456));
  EXPECT_FALSE(map_contains(m, 23456, 1000));  // direction matters
  EXPECT_FALSE(map_contains(m, 1001, 23457));  // count is exactly 1
  EXPECT_FALSE(map_contains(m, 999, 23455));
}

TEST(MapContains, SingleLineExactMatch) {
  EXPECT_TRUE(map_contains("0 1000 1\n", 0, 1000));
  EXPECT_FALSE(map_contains("0 1000 1\n", 0, 1001));
  EXPECT_FALSE(map_contains("0 1000 1\n", 1, 1000));
  EXPECT_FALSE(map_contains("0 1000 1\n", 1000, 0));
}

TEST(MapContains, KernelPaddedFormat) {
  // /proc/PID/uid_map pads columns with spaces.
  const std::string m = "         0       1000          1\n";
  EXPECT_TRUE(map_contains(m, 0, 1000));
  EXPECT_FALSE(map_contains(m, 0, 0));
}

TEST(MapContains, RangeBoundaries) {
  const std::string m = "0 100000 65536\n";
  EXPECT_TRUE(map_contains(m, 0, 100000));
  EXPECT_TRUE(map_contains(m, 1000, 101000));
  EXPECT_TRUE(map_contains(m, 65535, 165535));
  EXPECT_FALSE(map_contains(m, 65536, 165536));  // one past the range
  EXPECT_FALSE(map_contains(m, 1000, 101001));   // inside the range but wrong offset
  EXPECT_FALSE(map_contains(m, 1000, 1000));
}

TEST(MapContains, RangeNotStartingAtZero) {
  const std::string m = "1000 2000 10\n";
  EXPECT_TRUE(map_contains(m, 1000, 2000));
  EXPECT_TRUE(map_contains(m, 1009, 2009));
  EXPECT_FALSE(map_contains(m, 999, 1999));  // below the first id
  EXPECT_FALSE(map_contains(m, 1010, 2010));
}

TEST(MapContains, MultiLine) {
  const std::string m = "0 1000 1\n1 100000 65536\n";
  EXPECT_TRUE(map_contains(m, 0, 1000));
  EXPECT_TRUE(map_contains(m, 1, 100000));
  EXPECT_TRUE(map_contains(m, 5, 100004));
  EXPECT_TRUE(map_contains(m, 65536, 165535));
  EXPECT_FALSE(map_contains(m, 0, 100000));
  EXPECT_FALSE(map_contains(m, 1, 1001));
  EXPECT_FALSE(map_contains(m, 65537, 165536));
}

TEST(MapContains, MatchOnLaterLineOnly) {
  const std::string m = "0 0 1\n10 20 1\n500 600 5\n";
  EXPECT_TRUE(map_contains(m, 502, 602));
  EXPECT_FALSE(map_contains(m, 505, 605));
  EXPECT_TRUE(map_contains(m, 10, 20));
}

TEST(MapContains, EmptyAndZeroCountMatchNothing) {
  EXPECT_FALSE(map_contains("", 0, 0));
  EXPECT_FALSE(map_contains("\n", 0, 0));
  EXPECT_FALSE(map_contains("0 0 0\n", 0, 0));
}

TEST(MapContains, FullRangeIdentity) {
  const std::string m = "0 0 4294967295\n";
  EXPECT_TRUE(map_contains(m, 0, 0));
  EXPECT_TRUE(map_contains(m, 4294967294u, 4294967294u));
  EXPECT_FALSE(map_contains(m, 4294967295u, 4294967295u));  // past count
  EXPECT_FALSE(map_contains(m, 5, 6));
}

TEST(MapContains, NoTrailingNewline) {
  EXPECT_TRUE(map_contains("7 8 1", 7, 8));
}

// ---- Maps of several ranges, checked as the kernel's map_write does ----

std::string problem(const std::vector<IdRange>& r) {
  auto p = check_ranges(r);
  return p ? std::to_string(p->index) + ": " + p->why : "";
}

TEST(CheckRanges, AcceptsWhatTheKernelTakes) {
  EXPECT_EQ(problem({}), "");
  EXPECT_EQ(problem({{0, 1000, 1}, {1, 100000, 65536}}), "");
  // Adjacent ranges touch without sharing an id, inside and outside.
  EXPECT_EQ(problem({{0, 100000, 10}, {10, 100010, 10}}), "");
  // The last valid id is 4294967294: first + size may reach 4294967295.
  EXPECT_EQ(problem({{0, 0, 4294967295u}}), "");
  EXPECT_EQ(problem({{4294967294u, 5, 1}}), "");
}

TEST(CheckRanges, RefusesSizeZeroAndRangesPastTheLastId) {
  EXPECT_EQ(problem({{0, 1000, 1}, {1, 2000, 0}}), "1: size 0");
  EXPECT_EQ(problem({{4294967295u, 5, 1}}),
            "0: containerID 4294967295 + size 1 runs past the last id 4294967294");
  EXPECT_EQ(problem({{0, 4294967290u, 6}}),
            "0: hostID 4294967290 + size 6 runs past the last id 4294967294");
  EXPECT_EQ(problem({{1, 0, 4294967295u}}),
            "0: containerID 1 + size 4294967295 runs past the last id 4294967294");
}

TEST(CheckRanges, RefusesOverlapInsideOrOutside) {
  EXPECT_EQ(problem({{0, 100000, 10}, {20, 200000, 5}, {9, 300000, 1}}),
            "2: its containerIDs overlap those of range 0");
  EXPECT_EQ(problem({{0, 100000, 10}, {20, 100009, 5}}), "1: its hostIDs overlap those of range 0");
  EXPECT_EQ(problem({{0, 100000, 10}, {0, 200000, 10}}), "1: its containerIDs overlap those of range 0");
  // One range wholly inside another.
  EXPECT_EQ(problem({{0, 100000, 100}, {200, 100050, 1}}), "1: its hostIDs overlap those of range 0");
}

TEST(CheckRanges, AtMostTheKernelsLimitOfLines) {
  std::vector<IdRange> r;
  for (uint32_t i = 0; i < kMaxIdMapRanges; ++i) r.push_back({i, 100000 + i, 1});
  EXPECT_EQ(problem(r), "");
  r.push_back({1000, 200000, 1});
  EXPECT_EQ(problem(r), "-1: 341 ranges, more than the kernel's 340");
}

TEST(RangesMap, EachIdOfEachRange) {
  std::vector<IdRange> r = {{0, 100000, 1000}, {1000, 200000, 10}, {2000, 300000, 5}};
  for (uint32_t id : {0u, 999u, 1000u, 1009u, 2000u, 2004u}) EXPECT_TRUE(ranges_map(r, id)) << id;
  for (uint32_t id : {1010u, 1999u, 2005u, 100000u, 4294967294u}) EXPECT_FALSE(ranges_map(r, id)) << id;
  EXPECT_FALSE(ranges_map({}, 0));
  EXPECT_TRUE(ranges_map({{0, 0, 4294967295u}}, 4294967294u));
}

TEST(FormatMap, OneLinePerRangeThatMapContainsReadsBack) {
  std::vector<IdRange> r = {{0, 100000, 1000}, {1000, 200000, 10}, {2000, 300000, 5}};
  std::string m = format_map(r);
  EXPECT_EQ(m, "0 100000 1000\n1000 200000 10\n2000 300000 5\n");
  EXPECT_TRUE(map_contains(m, 1005, 200005));
  EXPECT_TRUE(map_contains(m, 2004, 300004));
  EXPECT_FALSE(map_contains(m, 2005, 300005));
  EXPECT_EQ(format_map({}), "");
}

TEST(NewidmapArgv, HelperPidThenTriples) {
  EXPECT_EQ(newidmap_argv("/usr/bin/newuidmap", 4321, {{0, 1000, 1}, {1, 100000, 65536}}),
            (std::vector<std::string>{"/usr/bin/newuidmap", "4321", "0", "1000", "1", "1",
                                      "100000", "65536"}));
  EXPECT_EQ(newidmap_argv("/usr/bin/newgidmap", 7, {}),
            (std::vector<std::string>{"/usr/bin/newgidmap", "7"}));
}

}  // namespace
}  // namespace sb
