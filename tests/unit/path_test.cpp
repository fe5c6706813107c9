// util/path: one component-wise "at or below" for limits, Landlock and profiles.
#include <gtest/gtest.h>

#include "util/path.hpp"

namespace {

TEST(PathAtOrBelow, ByComponentNotByPrefix) {
  EXPECT_TRUE(sb::path_at_or_below("/a", "/a"));
  EXPECT_TRUE(sb::path_at_or_below("/a/b", "/a"));
  EXPECT_TRUE(sb::path_at_or_below("/a/b/c", "/a/b"));
  EXPECT_FALSE(sb::path_at_or_below("/ab", "/a"));
  EXPECT_FALSE(sb::path_at_or_below("/a", "/a/b"));
  EXPECT_FALSE(sb::path_at_or_below("/b", "/a"));
  // Everything is below the root, the root below nothing else.
  EXPECT_TRUE(sb::path_at_or_below("/", "/"));
  EXPECT_TRUE(sb::path_at_or_below("/usr", "/"));
  EXPECT_FALSE(sb::path_at_or_below("/", "/usr"));
}

}  // namespace
