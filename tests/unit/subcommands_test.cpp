// The subcommands' option tables (cli/subcommands.hpp): parsing, --help and synopsis.
#include "cli/subcommands.hpp"

#include <gtest/gtest.h>

#include "cli/options.hpp"

namespace {

using sb::cli::SubcommandError;
using Kind = SubcommandError::Kind;

const sb::cli::SubcommandTable& table(std::string_view name) {
  const auto* t = sb::cli::find_subcommand(name);
  EXPECT_NE(t, nullptr) << name;
  return *t;
}

sb::cli::SubcommandArgs parse(std::string_view name, const std::vector<std::string>& args) {
  return sb::cli::parse_subcommand(table(name), args);
}

// The error parse() throws: its kind, word and message.
struct Failure {
  Kind kind;
  std::string word, message;
};
Failure failure(std::string_view name, const std::vector<std::string>& args) {
  try {
    parse(name, args);
  } catch (const SubcommandError& e) {
    return {e.kind(), e.word(), e.what()};
  }
  ADD_FAILURE() << "no error";
  return {};
}

TEST(Subcommands, OneTablePerSubcommandInTheSameOrder) {
  const auto& subs = sb::cli::subcommands();
  const auto& tables = sb::cli::subcommand_tables();
  ASSERT_EQ(subs.size(), tables.size());
  for (size_t i = 0; i < subs.size(); ++i) {
    EXPECT_EQ(subs[i].name, tables[i].name);
    // The synopsis in `sandbox --help` is the table's.
    EXPECT_EQ(subs[i].synopsis, sb::cli::subcommand_synopsis(tables[i])) << subs[i].name;
    EXPECT_NE(tables[i].run, nullptr) << subs[i].name;
  }
  EXPECT_EQ(sb::cli::find_subcommand("bogus"), nullptr);
}

TEST(Subcommands, SeccompCompileOptionsInOrder) {
  auto a = parse("seccomp-compile", {"default", "--arch", "x86_64", "--pfc", "--arch", "x86"});
  EXPECT_EQ(a.positional, "default");
  EXPECT_TRUE(a.ended_by.empty());
  EXPECT_TRUE(a.has("--pfc"));
  EXPECT_FALSE(a.has("--list"));
  EXPECT_EQ(a.values("--arch"), (std::vector<std::string>{"x86_64", "x86"}));
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(a.options, (std::vector<P>{{"--arch", "x86_64"}, {"--pfc", ""}, {"--arch", "x86"}}));
  // "-" is a PROFILE (a path), not an option.
  EXPECT_EQ(parse("seccomp-compile", {"-"}).positional, "-");
  // Nothing: no PROFILE (run_subcommand prints the usage).
  EXPECT_FALSE(parse("seccomp-compile", {}).positional);
}

TEST(Subcommands, EndingOptionsStopTheParsing) {
  // What follows --help, -h or --list is not looked at, not even a bad word.
  EXPECT_EQ(parse("seccomp-compile", {"--help", "--bogus"}).ended_by, "--help");
  EXPECT_EQ(parse("seccomp-compile", {"-h"}).ended_by, "--help");
  auto l = parse("seccomp-compile", {"--pfc", "--list", "a", "b"});
  EXPECT_EQ(l.ended_by, "--list");
  EXPECT_FALSE(l.positional);
  EXPECT_EQ(parse("doctor", {"--help", "x"}).ended_by, "--help");
  EXPECT_EQ(parse("doctor", {"-h"}).ended_by, "--help");
  // ... but what comes before them is.
  EXPECT_EQ(failure("seccomp-compile", {"--bogus", "--help"}).word, "--bogus");
}

TEST(Subcommands, UnknownOption) {
  auto f = failure("seccomp-compile", {"default", "--bogus"});
  EXPECT_EQ(f.kind, Kind::UnknownOption);
  EXPECT_EQ(f.word, "--bogus");
  EXPECT_EQ(f.message, "unknown option --bogus");
  f = failure("doctor", {"--bogus"});
  EXPECT_EQ(f.kind, Kind::UnknownOption);
  EXPECT_EQ(f.word, "--bogus");
  // An option of another subcommand is unknown here.
  EXPECT_EQ(failure("doctor", {"--pfc"}).word, "--pfc");
  EXPECT_EQ(failure("seccomp-compile", {"--fake-root", "/x"}).word, "--fake-root");
}

TEST(Subcommands, MissingArgument) {
  auto f = failure("seccomp-compile", {"default", "--arch"});
  EXPECT_EQ(f.kind, Kind::MissingArgument);
  EXPECT_EQ(f.word, "--arch");
  EXPECT_EQ(f.message, "--arch takes an argument (ARCH)");
  f = failure("doctor", {"--fake-root"});
  EXPECT_EQ(f.kind, Kind::MissingArgument);
  EXPECT_EQ(f.word, "--fake-root");
}

TEST(Subcommands, BadValueIsCheckedWhereItIsParsed) {
  auto f = failure("seccomp-compile", {"default", "--arch", "vax", "--bogus"});
  EXPECT_EQ(f.kind, Kind::BadValue);
  EXPECT_EQ(f.word, "vax");
  EXPECT_EQ(f.message, "--arch: unknown architecture 'vax'");
  // Every architecture the completions offer is accepted.
  const auto* arch = sb::cli::find_sub_option(table("seccomp-compile"), "--arch");
  ASSERT_NE(arch, nullptr);
  ASSERT_NE(arch->values, nullptr);
  for (const auto& a : arch->values())
    EXPECT_EQ(parse("seccomp-compile", {"p", "--arch", a}).values("--arch"),
              std::vector<std::string>{a});
}

TEST(Subcommands, Positionals) {
  auto f = failure("seccomp-compile", {"a", "--pfc", "b"});
  EXPECT_EQ(f.kind, Kind::TooMany);
  EXPECT_EQ(f.word, "b");
  EXPECT_EQ(f.message, "only one PROFILE can be compiled (got 'a' and 'b')");
  // doctor takes none.
  f = failure("doctor", {"extra"});
  EXPECT_EQ(f.kind, Kind::UnexpectedArgument);
  EXPECT_EQ(f.word, "extra");
}

TEST(Subcommands, DoctorFakeRoot) {
  auto a = parse("doctor", {"--fake-root", "/tmp/x"});
  EXPECT_EQ(a.values("--fake-root"), std::vector<std::string>{"/tmp/x"});
  EXPECT_TRUE(parse("doctor", {}).options.empty());
}

TEST(Subcommands, SynopsisLeavesOutEndingAndInternalOptions) {
  EXPECT_EQ(sb::cli::subcommand_synopsis(table("seccomp-compile")),
            "PROFILE [--arch ARCH]... [--cap-add CAP]... [--pfc]");
  EXPECT_EQ(sb::cli::subcommand_synopsis(table("doctor")), "");
}

TEST(Subcommands, UsageListsEveryOption) {
  std::string u = sb::cli::subcommand_usage(table("seccomp-compile"), "sandbox");
  // Wrapped between items, under the first one.
  EXPECT_EQ(u.rfind("usage: sandbox seccomp-compile PROFILE [--arch ARCH]... [--cap-add CAP]...\n"
                    "                               [--pfc] > filter.bpf\n"
                    "       sandbox seccomp-compile --list\n\n",
                    0),
            0u)
      << u;
  for (const auto& t : sb::cli::subcommand_tables()) {
    std::string text = sb::cli::subcommand_usage(t, "sandbox");
    EXPECT_EQ(text.rfind("usage: sandbox " + std::string(t.name), 0), 0u) << text;
    for (const auto& o : t.options) {
      std::string left = "\n  " + std::string(o.name) + (o.arg.empty() ? "" : " ") +
                         std::string(o.arg) + "  ";
      EXPECT_NE(text.find(left), std::string::npos) << o.name << "\n" << text;
    }
    // No line is wider than a terminal.
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
      EXPECT_LE(nl - start, 88u) << text.substr(start, nl - start);
  }
}

}  // namespace
