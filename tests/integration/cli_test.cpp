// Command line: help, version, diagnostics and option misuse, as a user sees them.
#include "harness.hpp"

namespace it {
namespace {

const std::string kUsageTail = " [OPTIONS...] [--] COMMAND [ARGS...]";

class CliTest : public SandboxTest {};

TEST_F(CliTest, HelpPrintsUsageWithInvokedName) {
  auto r = run({"--help"}, unpriv());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(first_line(r.out), "usage: " + invoked_name() + kUsageTail) << r;
}

TEST_F(CliTest, HelpThroughSymlinkNamedBwrapSaysBwrap) {
  RunOpts o = unpriv();
  o.exe = bwrap_alias_path();
  o.argv0 = "bwrap";
  auto r = run({"--help"}, o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(first_line(r.out), "usage: bwrap" + kUsageTail) << r;
}

// Invoked by its full path, the usage line shows that path, exactly as bwrap's does.
TEST_F(CliTest, HelpInvokedByFullPathShowsTheFullPath) {
  RunOpts o = unpriv();
  o.exe = bwrap_alias_path();
  o.argv0 = bwrap_alias_path();
  auto r = run({"--help"}, o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(first_line(r.out), "usage: " + bwrap_alias_path() + kUsageTail) << r;
}

TEST_F(CliTest, VersionPrintsOneLine) {
  auto r = run({"--version"}, unpriv());
  EXPECT_EQ(r.exit_code, 0) << r;
  ASSERT_FALSE(r.out.empty()) << r;
  EXPECT_EQ(lines(r.out).size(), 1u) << r;
  EXPECT_FALSE(trim(r.out).empty()) << r;
  EXPECT_EQ(r.out.back(), '\n') << r;
}

TEST_F(CliTest, UnknownOptionIsAnErrorNamingIt) {
  auto r = run(with_root({"--bogus-option", "--", "sh", "-c", "echo RAN"}), unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(first_line(r.err).rfind(invoked_name() + ": ", 0), 0u)
      << "diagnostic must start with '" << invoked_name() << ": '" << r;
  EXPECT_TRUE(contains(first_line(r.err), "--bogus-option")) << r;
  EXPECT_FALSE(contains(r.out, "RAN")) << r;
}

// The entry the sandbox's own init is exec'd through is not an option: run by hand (with
// anything but the exact arguments the setup passes), it says so and does nothing.
TEST_F(CliTest, InternalInitEntryRefusesAHandRun) {
  for (const Args& a : {Args{"--internal-exec-init"}, Args{"--internal-exec-init", "1", "3", "4",
                                                           "-", "-", "0", "end", "x"},
                        Args{"--internal-exec-init", "0", "3", "4", "-", "-", "0", "end"}}) {
    auto r = run(a, unpriv());
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_TRUE(contains(r.err, "--internal-exec-init is internal")) << r;
    EXPECT_EQ(r.out, "") << r;
  }
}

TEST_F(CliTest, DiagnosticsThroughSymlinkNamedBwrapSayBwrap) {
  RunOpts o = unpriv();
  o.exe = bwrap_alias_path();
  o.argv0 = "bwrap";
  auto r = run({"--bogus-option", "true"}, o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(first_line(r.err).rfind("bwrap: ", 0), 0u) << r;
  EXPECT_TRUE(contains(r.err, "--bogus-option")) << r;
}

TEST_F(CliTest, MissingArgumentNamesTheOption) {
  auto r = run(with_root({"--bind", "/usr"}), unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(r.err.rfind(invoked_name() + ": ", 0), 0u) << r;
  EXPECT_TRUE(contains(first_line(r.err), "--bind")) << r;
}

TEST_F(CliTest, MissingCommandIsAnError) {
  auto r = run(with_root({}), unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(r.out.empty()) << "nothing on stdout on error" << r;
  EXPECT_FALSE(r.err.empty()) << r;
}

TEST_F(CliTest, LevelPrefixOnParseErrors) {
  auto r = run({"--level-prefix", "--bogus-option", "true"}, unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_EQ(first_line(r.err).rfind("<3>" + invoked_name() + ": ", 0), 0u) << r;
  EXPECT_TRUE(contains(first_line(r.err), "--bogus-option")) << r;
}

TEST_F(CliTest, LevelPrefixOnSetupErrors) {
  std::string missing = "/nonexistent-" + unique_suffix();
  auto r = run(cat({{"--level-prefix"}, base_root(), {"--bind", missing, "/x"}, sh("echo RAN")}),
               unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.out, "RAN")) << r;
  bool found = false;
  for (const auto& l : lines(r.err))
    if (l.rfind("<3>" + invoked_name() + ": ", 0) == 0 && contains(l, missing)) found = true;
  EXPECT_TRUE(found) << "expected a '<3>" << invoked_name() << ": ...' line naming " << missing
                     << r;
}

TEST_F(CliTest, WithoutLevelPrefixNoLevel) {
  auto r = run({"--bogus-option", "true"}, unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.err, "<3>")) << r;
}

TEST_F(CliTest, DoubleDashEndsOptions) {
  auto r = run(with_root({"--", "--weird"}), unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "--weird")) << r;
  EXPECT_FALSE(contains(r.err, "Unknown option")) << "--weird must be the command" << r;
}

TEST_F(CliTest, DoubleDashMakesHelpACommand) {
  auto r = run(with_root({"--", "--help"}), unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.out, "usage:")) << "--help after -- is the command, not the option" << r;
  EXPECT_TRUE(contains(r.err, "--help")) << r;
}

TEST_F(CliTest, DoubleDashRunsCommand) {
  auto r = run(with_root({"--", "sh", "-c", "echo ran-$((6*7))"}), unpriv());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "ran-42\n") << r;
}

TEST_F(CliTest, ChdirTwiceWarnsAndLastWins) {
  auto r = run(with_root({"--tmpfs", "/tmp", "--chdir", "/usr", "--chdir", "/tmp", "--", "pwd"}),
               unpriv());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "/tmp\n") << r;
  EXPECT_TRUE(contains(r.err, "--chdir")) << r;
  EXPECT_EQ(r.err.rfind(invoked_name() + ": ", 0), 0u) << r;
}

// ---- --perms / --size misuse: refused before anything runs. ----

struct Misuse {
  const char* name;
  Args opts;
  const char* option;  // the option the message must name
};

void PrintTo(const Misuse& m, std::ostream* os) { *os << m.name; }

class CliMisuseTest : public SandboxTest, public ::testing::WithParamInterface<Misuse> {};

TEST_P(CliMisuseTest, RefusedBeforeTheCommandRuns) {
  const Misuse& m = GetParam();
  auto r = run(cat({base_root(), m.opts, sh("echo MARKER-RAN")}), unpriv());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.out, "MARKER-RAN")) << r;
  EXPECT_TRUE(contains(r.err, m.option)) << r;
  EXPECT_EQ(r.err.rfind(invoked_name() + ": ", 0), 0u) << r;
}

INSTANTIATE_TEST_SUITE_P(
    Options, CliMisuseTest,
    ::testing::Values(
        Misuse{"PermsNotOctal", {"--perms", "999", "--dir", "/x"}, "--perms"},
        Misuse{"PermsTwice", {"--perms", "0700", "--perms", "0700", "--dir", "/x"}, "--perms"},
        Misuse{"PermsBeforeBind", {"--perms", "0700", "--bind", "/usr", "/x"}, "--perms"},
        Misuse{"PermsAtEnd", {"--perms", "0700"}, "--perms"},
        Misuse{"SizeBeforeDir", {"--size", "10", "--dir", "/x"}, "--size"},
        Misuse{"SizeNotANumber", {"--size", "abc", "--tmpfs", "/x"}, "--size"},
        Misuse{"SizeZero", {"--size", "0", "--tmpfs", "/x"}, "--size"}),
    [](const ::testing::TestParamInfo<Misuse>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace it
