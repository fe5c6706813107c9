// Unit tests for ns/idmap.hpp: the uid_map/gid_map text we write and read back.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

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

}  // namespace
}  // namespace sb
