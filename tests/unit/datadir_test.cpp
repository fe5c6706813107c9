// Where the data is found (util/datadir) and the "did you mean" of typos (util/suggest).
#include <gtest/gtest.h>

#include "util/datadir.hpp"
#include "util/suggest.hpp"

namespace {

using sb::datadir::dirs_for;
using V = std::vector<std::string>;

TEST(DataDir, RelativeToTheBinaryForAnyPrefix) {
  EXPECT_EQ(dirs_for("/usr/bin/sandbox", "profiles", "../share/sandbox", "/b", "/s"),
            V{"/usr/share/sandbox/profiles"});
  EXPECT_EQ(dirs_for("/home/u/.local/bin/sandbox", "seccomp-profiles", "../share/sandbox", "/b",
                     "/s"),
            V{"/home/u/.local/share/sandbox/seccomp-profiles"});
  // A custom datadir relation from the configure step.
  EXPECT_EQ(dirs_for("/opt/x/bin/sandbox", "profiles", "../data/sandbox", "", ""),
            V{"/opt/x/data/sandbox/profiles"});
}

TEST(DataDir, SourceTreeOnlyForABinaryInsideTheBuildTree) {
  EXPECT_EQ(dirs_for("/src/sb/build/sandbox", "profiles", "../share/sandbox", "/src/sb/build",
                     "/src/sb"),
            (V{"/src/sb/share/sandbox/profiles", "/src/sb/profiles"}));
  EXPECT_EQ(dirs_for("/src/sb/build/tests/unit_tests", "profiles", "../share/sandbox",
                     "/src/sb/build/", "/src/sb"),
            (V{"/src/sb/build/share/sandbox/profiles", "/src/sb/profiles"}));
  // Installed elsewhere, or a sibling directory whose name merely starts like the build dir.
  EXPECT_EQ(dirs_for("/usr/bin/sandbox", "profiles", "../share/sandbox", "/src/sb/build",
                     "/src/sb"),
            V{"/usr/share/sandbox/profiles"});
  EXPECT_EQ(dirs_for("/src/sb/build2/sandbox", "profiles", "../share/sandbox", "/src/sb/build",
                     "/src/sb"),
            V{"/src/sb/share/sandbox/profiles"});
}

TEST(DataDir, UnknownBinaryPathGivesNothingAndSaysSo) {
  EXPECT_TRUE(dirs_for("", "profiles", "../share/sandbox", "/b", "/s").empty());
  EXPECT_NE(sb::datadir::join_or({}).find("unknown"), std::string::npos);
  EXPECT_EQ(sb::datadir::join_or({"/a", "/b", "/c"}), "/a, /b or /c");
}

TEST(Suggest, CloseTyposOnly) {
  V opts = {"--ro-bind", "--bind", "--unshare-all", "--tmpfs", "--die-with-parent"};
  EXPECT_EQ(sb::suggest::closest("--unshare-al", opts), "--unshare-all");
  EXPECT_EQ(sb::suggest::closest("--rob-ind", opts), "--ro-bind");   // swapped letters
  EXPECT_EQ(sb::suggest::closest("--tmfps", opts), "--tmpfs");
  EXPECT_EQ(sb::suggest::closest("--frobnicate", opts), "");
  EXPECT_EQ(sb::suggest::did_you_mean("biuld", {"build", "desktop", "minimal"}),
            " (did you mean build?)");
  EXPECT_EQ(sb::suggest::did_you_mean("zzz", {"build", "desktop", "minimal"}), "");
}

}  // namespace
