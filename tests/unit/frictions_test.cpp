// What a new user trips over in the first hour (issue 15), each pinned here: sizes with
// suffixes in --rlimit, the unit of --timeout in reports, "did you mean" for typos.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <map>
#include <string>

#include "parse_env.hpp"
#include "cli/options.hpp"
#include "cli/profile.hpp"
#include "temp_dir.hpp"
#include "limits/cgroup.hpp"
#include "limits/limits.hpp"
#include "plan/plan.hpp"
#include "util/error.hpp"

namespace {

// The error `sandbox ARGS` reports before anything runs: parsing, then what planning
// prepares first (descriptors, seccomp profiles).
std::string error_of(const std::vector<std::string>& args) {
  try {
    (void)sb::planning::prepare(sb::test::parse_spec(args));
  } catch (const sb::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Frictions, RlimitByteLimitsTakeTheSuffixesMemoryTakes) {
  using sb::limits::parse_rlimit;
  EXPECT_EQ(parse_rlimit("fsize=1M").soft, 1u << 20);
  EXPECT_EQ(parse_rlimit("as=2G").soft, 2ull << 30);
  EXPECT_EQ(parse_rlimit("data=512k").hard, 512u << 10);
  EXPECT_EQ(parse_rlimit("stack=8M:16M").hard, 16u << 20);
  EXPECT_EQ(parse_rlimit("memlock=64K").soft, 64u << 10);
  EXPECT_EQ(parse_rlimit("rss=1T").soft, 1ull << 40);
  EXPECT_EQ(parse_rlimit("fsize=0").soft, 0u);
  EXPECT_EQ(parse_rlimit("fsize=1M:unlimited").hard, sb::Limits::kUnlimited);
  // Counts are not sizes: a suffix there is a mistake.
  EXPECT_THROW(parse_rlimit("nofile=1K"), sb::Error);
  EXPECT_THROW(parse_rlimit("nproc=1M"), sb::Error);
  EXPECT_THROW(parse_rlimit("fsize=1X"), sb::Error);
  try {
    parse_rlimit("fsize=1Q");
    ADD_FAILURE();
  } catch (const sb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("K, M, G, T suffixes"), std::string::npos) << e.what();
  }
  // The --memory sizes and the --rlimit sizes agree.
  auto spec = sb::test::parse_spec({"--memory", "1M", "--rlimit", "fsize=1M", "true"});
  EXPECT_EQ(spec.limits.memory, spec.limits.rlimits.at(0).soft);
}

TEST(Frictions, TimeoutTextCarriesItsUnit) {
  EXPECT_EQ(sb::test::parse_spec({"--timeout", "1", "true"}).limits.timeout_text, "1s");
  EXPECT_EQ(sb::test::parse_spec({"--timeout", "1.5", "true"}).limits.timeout_text, "1.5s");
  EXPECT_EQ(sb::test::parse_spec({"--timeout", "500ms", "true"}).limits.timeout_text, "500ms");
  EXPECT_EQ(sb::test::parse_spec({"--timeout", "2m", "true"}).limits.timeout_text, "2m");
}

TEST(Frictions, UnknownOptionSuggestsTheClosestOne) {
  EXPECT_NE(error_of({"--unshare-al", "true"}).find("Unknown option --unshare-al (did you mean "
                                                    "--unshare-all?)"),
            std::string::npos);
  EXPECT_NE(error_of({"--ro-bnid", "/", "/", "true"}).find("did you mean --ro-bind?"),
            std::string::npos);
  std::string far = error_of({"--frobnicate-everything", "true"});
  EXPECT_NE(far.find("Unknown option --frobnicate-everything"), std::string::npos) << far;
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
}

TEST(Frictions, ProfileTypoSuggestsAndListsTheNamesFound) {
  // The unit tests run from the build tree, so the source tree's profiles are found.
  std::string e = error_of({"--profile", "biuld", "true"});
  EXPECT_NE(e.find("no profile named 'biuld' (did you mean build?)"), std::string::npos) << e;
  EXPECT_NE(e.find("available:"), std::string::npos) << e;
  for (const char* n : {"build", "desktop", "dbus", "minimal"})
    EXPECT_NE(e.find(std::string(" ") + n), std::string::npos) << n << ": " << e;
  std::string s = error_of({"--seccomp-profile", "defualt", "true"});
  EXPECT_NE(s.find("did you mean default?"), std::string::npos) << s;
}

}  // namespace

namespace {

// The limits error offers what works on the host: `systemd-run --user` only where a user
// manager answers, `systemd-run --scope` for root under systemd, --cgroup-parent otherwise.
TEST(Frictions, LimitsFixOffersWhatWorksHere) {
  using sb::limits::how_to_fix;
  std::string with_user = how_to_fix({false, true, false});
  EXPECT_NE(with_user.find("systemd-run --user --scope"), std::string::npos) << with_user;
  std::string no_user = how_to_fix({false, false, false});
  EXPECT_EQ(no_user.find("`systemd-run --user --scope"), std::string::npos) << no_user;
  EXPECT_NE(no_user.find("no systemd user manager runs for you"), std::string::npos) << no_user;
  EXPECT_NE(no_user.find("--cgroup-parent"), std::string::npos) << no_user;
  std::string root_sd = how_to_fix({true, false, true});
  EXPECT_NE(root_sd.find("systemd-run --scope -p Delegate=yes"), std::string::npos) << root_sd;
  EXPECT_EQ(root_sd.find("--user"), std::string::npos) << root_sd;
  std::string root_plain = how_to_fix({true, false, false});
  EXPECT_EQ(root_plain.find("systemd-run"), std::string::npos) << root_plain;
  EXPECT_NE(root_plain.find("--cgroup-parent /sandbox"), std::string::npos) << root_plain;
  for (const auto& t : {with_user, no_user, root_sd, root_plain})
    EXPECT_NE(t.find("--limits best-effort"), std::string::npos) << t;
}

}  // namespace

namespace {

// `optional NAME WHAT`: lines using ${NAME} drop out when it is unset, with the --perms or
// --size that belonged to them; with it set, everything stays.
TEST(Frictions, OptionalVariableDropsItsLinesAndTheirModifiers) {
  sb::test::TempDir d;
  std::string p = d.write("o.profile",
                          "optional XDG_RUNTIME_DIR the runtime sockets\n"
                          "--tmpfs /tmp\n"
                          "--perms 0700\n"
                          "--dir ${XDG_RUNTIME_DIR}\n"
                          "--bind-try ${XDG_RUNTIME_DIR}/wayland-0 ${XDG_RUNTIME_DIR}/wayland-0\n"
                          "--setenv A b\n");
  std::map<std::string, std::string> vars = {{"HOME", "/h"}, {"PWD", "/"}, {"APP", "default"},
                                             {"XDG_RUNTIME_DIR", ""}, {"UID", "1"}};
  auto without = sb::cli::load_profile(p, vars);
  EXPECT_EQ(without, (std::vector<std::string>{"--tmpfs", "/tmp", "--setenv", "A", "b"}));
  vars["XDG_RUNTIME_DIR"] = "/run/user/1";
  auto with = sb::cli::load_profile(p, vars);
  EXPECT_EQ(with.size(), 12u);
  EXPECT_EQ(with[2], "--perms");
  // Without the directive an unset variable is still an error.
  std::string q = d.write("q.profile", "--dir ${XDG_RUNTIME_DIR}\n");
  vars["XDG_RUNTIME_DIR"] = "";
  EXPECT_THROW(sb::cli::load_profile(q, vars), sb::Error);
}

}  // namespace
