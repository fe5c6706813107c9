#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "parse_env.hpp"
#include "cli/options.hpp"
#include "cli/profile.hpp"
#include "util/error.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using sb::cli::load_profile;

namespace {

class ProfileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    return tmp_.write(name, text);
  }
  std::map<std::string, std::string> vars() {
    return {{"HOME", "/home/u"}, {"PWD", "/src/p"}, {"XDG_RUNTIME_DIR", "/run/user/7"},
            {"UID", "7"}, {"APP", "app"}};
  }
  std::string error_of(const std::string& path) {
    try {
      load_profile(path, vars());
    } catch (const sb::Error& e) {
      return e.what();
    }
    return "";
  }
  sb::test::TempDir tmp_;
  std::string dir_ = tmp_.path();
};

TEST_F(ProfileTest, OneOptionPerLineWithCommentsBlanksAndQuotes) {
  auto p = write("a.profile",
                 "# a comment with a quote ' in it\n"
                 "\n"
                 "   --ro-bind /usr /usr\n"
                 "--setenv GREETING \"hello world\"\n"
                 "--setenv SINGLE 'it''s'\n"
                 "--symlink usr/lib /lib\n");
  std::vector<std::string> want = {"--ro-bind", "/usr", "/usr", "--setenv", "GREETING",
                                   "hello world", "--setenv", "SINGLE", "its",
                                   "--symlink", "usr/lib", "/lib"};
  EXPECT_EQ(load_profile(p, vars()), want);
}

TEST_F(ProfileTest, ExpandsTheKnownVariables) {
  auto p = write("v.profile",
                 "--bind ${PWD} ${PWD}\n--dir ${HOME}/x\n--dir ${XDG_RUNTIME_DIR}/${UID}-${APP}\n");
  std::vector<std::string> want = {"--bind", "/src/p", "/src/p", "--dir", "/home/u/x",
                                   "--dir",  "/run/user/7/7-app"};
  EXPECT_EQ(load_profile(p, vars()), want);
}

TEST_F(ProfileTest, ErrorsNameTheFileAndLine) {
  auto unknown_var = write("e1.profile", "--dir /a\n--dir ${NOPE}\n");
  EXPECT_EQ(error_of(unknown_var).rfind(unknown_var + ":2: unknown variable ${NOPE}", 0), 0u)
      << error_of(unknown_var);
  auto unknown_opt = write("e2.profile", "\n\n--frobnicate\n");
  EXPECT_EQ(error_of(unknown_opt), unknown_opt + ":3: unknown option --frobnicate");
  auto arity = write("e3.profile", "--bind /a\n");
  EXPECT_EQ(error_of(arity), arity + ":1: --bind takes 2 arguments, got 1");
  auto two_opts = write("e4.profile", "--perms 0700 --dir /x\n");
  EXPECT_EQ(error_of(two_opts), two_opts + ":1: --perms takes 1 argument, got 3");
  auto quote = write("e5.profile", "--dir \"/x\n");
  EXPECT_EQ(error_of(quote), quote + ":1: unterminated quote");
}

TEST_F(ProfileTest, UnsetVariableIsAnError) {
  auto p = write("u.profile", "--dir ${XDG_RUNTIME_DIR}\n");
  auto v = vars();
  v["XDG_RUNTIME_DIR"] = "";
  try {
    load_profile(p, v);
    FAIL() << "expected an error";
  } catch (const sb::Error& e) {
    EXPECT_EQ(std::string(e.what()), p + ":1: ${XDG_RUNTIME_DIR} is not set");
  }
}

TEST_F(ProfileTest, IncludeByNameNextToTheFileAndCycles) {
  write("base.profile", "--tmpfs /tmp\n");
  auto top = write("top.profile", "--dir /a\ninclude base\n--dir /b\n");
  std::vector<std::string> want = {"--dir", "/a", "--tmpfs", "/tmp", "--dir", "/b"};
  EXPECT_EQ(load_profile(top, vars()), want);

  auto loop_a = write("loopa.profile", "include loopb\n");
  write("loopb.profile", "include loopa\n");
  EXPECT_NE(error_of(loop_a).find("includes itself"), std::string::npos) << error_of(loop_a);

  auto missing = write("m.profile", "include does-not-exist\n");
  EXPECT_NE(error_of(missing).find(missing + ":1: --profile: no profile named 'does-not-exist'"),
            std::string::npos)
      << error_of(missing);
}

TEST_F(ProfileTest, ProfileIsSplicedWhereItAppearsAndLaterOptionsRefineIt) {
  auto p = write("s.profile", "--dir /a/b\n--setenv MODE profile\n");
  sb::cli::ParseResult r = sb::test::parse_real({"--tmpfs", "/a", "--profile", p, "--setenv",
                                                 "MODE", "cli", "--dir", "/c", "true"});
  const sb::Spec& spec = r.spec;
  ASSERT_EQ(spec.fs.size(), 3u);
  EXPECT_EQ(sb::fs_op_dest(spec.fs[0]), "/a");
  EXPECT_EQ(sb::fs_op_dest(spec.fs[1]), "/a/b");
  EXPECT_EQ(sb::fs_op_dest(spec.fs[2]), "/c");
  auto env = sb::apply_env({}, spec.env);
  EXPECT_EQ(env, std::vector<std::string>{"MODE=cli"});
  std::vector<std::string> expanded = {"--tmpfs", "/a", "--dir", "/a/b", "--setenv", "MODE",
                                       "profile", "--setenv", "MODE", "cli", "--dir", "/c"};
  EXPECT_EQ(r.expanded_args, expanded);
  EXPECT_EQ(spec.command, std::vector<std::string>{"true"});
}

TEST_F(ProfileTest, PrintArgsAndListProfilesAreFlags) {
  auto p = write("q.profile", "--tmpfs /tmp\n");
  sb::cli::ParseResult r = sb::test::parse_real({"--profile", p, "--print-args", "--", "sh", "-c", "x y"});
  EXPECT_EQ(r.action, sb::cli::Action::PrintArgs);
  EXPECT_EQ(r.expanded_args, (std::vector<std::string>{"--tmpfs", "/tmp"}));
  EXPECT_EQ(sb::test::parse_real({"--list-profiles"}).action, sb::cli::Action::ListProfiles);
}

TEST_F(ProfileTest, FindProfileByNameInTheUserDirAndByPath) {
  fs::create_directories(dir_ + "/cfg/sandbox/profiles");
  write("cfg/sandbox/profiles/mine.profile", "--tmpfs /tmp\n");
  const char* old = std::getenv("XDG_CONFIG_HOME");
  std::string saved = old ? old : "";
  ::setenv("XDG_CONFIG_HOME", (dir_ + "/cfg").c_str(), 1);
  EXPECT_EQ(sb::cli::find_profile("mine"), dir_ + "/cfg/sandbox/profiles/mine.profile");
  auto names = sb::cli::list_profiles();
  EXPECT_NE(std::find(names.begin(), names.end(), "mine"), names.end());
  try {
    sb::cli::find_profile("nope-nope");
    ADD_FAILURE() << "expected an error";
  } catch (const sb::Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir_ + "/cfg/sandbox/profiles"), std::string::npos);
  }
  if (old) ::setenv("XDG_CONFIG_HOME", saved.c_str(), 1);
  else ::unsetenv("XDG_CONFIG_HOME");
  auto path = write("direct.profile", "--tmpfs /x\n");
  EXPECT_EQ(sb::cli::find_profile(path), path);
  EXPECT_THROW(sb::cli::find_profile(dir_ + "/missing.profile"), sb::Error);
}

// refuse-cwd-containing: the current directory may not be one of the paths or a parent of
// one (by path components, not string prefixes).
TEST_F(ProfileTest, RefuseCwdContainingStopsAtTheListedTreesAndTheirParents) {
  auto p = write("r.profile", "refuse-cwd-containing ${HOME} /usr\n--bind ${PWD} ${PWD}\n");
  auto with_pwd = [&](const std::string& pwd) -> std::string {
    auto v = vars();
    v["PWD"] = pwd;
    try {
      load_profile(p, v);
    } catch (const sb::Error& e) {
      return e.what();
    }
    return "";
  };
  for (const char* refused : {"/home/u", "/home/u/", "/home", "/", "/usr"}) {
    std::string err = with_pwd(refused);
    EXPECT_NE(err.find(p + ":1: this profile makes the current directory writable"),
              std::string::npos) << refused << ": " << err;
  }
  EXPECT_NE(with_pwd("/home").find("it (/home) contains /home/u;"), std::string::npos);
  EXPECT_NE(with_pwd("/home/u").find("writable, and it is /home/u;"), std::string::npos);
  for (const char* fine : {"/src/p", "/home/u/project", "/home/u2", "/home/user", "/usr2",
                           "/usr/src/x"})
    EXPECT_EQ(with_pwd(fine), "") << fine;
  std::vector<std::string> want = {"--bind", "/src/p", "/src/p"};
  EXPECT_EQ(load_profile(p, vars()), want);  // the directive itself adds no argument

  EXPECT_NE(error_of(write("e.profile", "refuse-cwd-containing\n"))
                .find("refuse-cwd-containing takes one or more paths"),
            std::string::npos);
  EXPECT_NE(error_of(write("rel.profile", "refuse-cwd-containing home\n"))
                .find("'home' is not an absolute path"),
            std::string::npos);
}

// agent: never run from the home directory (it would become writable and readable).
TEST_F(ProfileTest, AgentProfileRefusesTheHomeDirectory) {
  auto v = vars();
  v["PWD"] = "/home/u";
  EXPECT_THROW(load_profile(sb::cli::find_profile("agent"), v), sb::Error);
  v["PWD"] = "/";
  EXPECT_THROW(load_profile(sb::cli::find_profile("agent"), v), sb::Error);
  auto args = load_profile(sb::cli::find_profile("agent"), vars());
  std::string joined;
  for (auto& a : args) joined += a + " ";
  for (const char* want : {"--tmpfs /home/u ", "--bind /src/p /src/p ", "--landlock ",
                           "--seccomp-profile default ", "--unshare-all ", "--net user "})
    EXPECT_NE(joined.find(want), std::string::npos) << want << "\n" << joined;
}

TEST_F(ProfileTest, ShippedProfilesLoad) {
  auto names = sb::cli::list_profiles();
  for (const char* want : {"minimal", "desktop", "dbus", "build", "agent"}) {
    ASSERT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
    auto args = load_profile(sb::cli::find_profile(want), vars());
    EXPECT_FALSE(args.empty()) << want;
    // Each expands to options the parser accepts.
    std::vector<std::string> argv = args;
    argv.push_back("true");
    EXPECT_NO_THROW(sb::test::parse_spec(argv)) << want;
  }
}

}  // namespace
