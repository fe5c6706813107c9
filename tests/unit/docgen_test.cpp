// The man page, README and completions are generated from the option table: every option
// must appear in each of them, nothing else may, and the generated scripts must be valid
// for their shells and complete what they should.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <linux/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/docgen.hpp"
#include "cli/options.hpp"
#include "cli/subcommands.hpp"
#include "limits/limits.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

namespace docgen = sb::cli::docgen;
namespace fs = std::filesystem;

namespace {

bool option_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-';
}

// `name` occurs in `text` as a whole option token (not as a prefix of a longer one).
bool has_token(const std::string& text, const std::string& name) {
  for (size_t pos = text.find(name); pos != std::string::npos;
       pos = text.find(name, pos + 1)) {
    bool left = pos == 0 || !option_char(text[pos - 1]);
    size_t end = pos + name.size();
    bool right = end == text.size() || !option_char(text[end]);
    if (left && right) return true;
  }
  return false;
}

// Every "--word" token of `text`.
std::set<std::string> option_tokens(const std::string& text) {
  std::set<std::string> out;
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    if (text.compare(i, 2, "--") != 0 || (i > 0 && option_char(text[i - 1]))) continue;
    size_t j = i + 2;
    if (!std::isalnum(static_cast<unsigned char>(text[j]))) continue;
    while (j < text.size() && option_char(text[j])) ++j;
    out.insert(text.substr(i, j - i));
    i = j;
  }
  return out;
}

struct Generated {
  std::string what, text;
};

std::vector<Generated> all_generated() {
  std::vector<Generated> v = {{"man_options", docgen::man_options()},
          {"readme_options", docgen::readme_options()},
          {"bash_completion", docgen::bash_completion()},
          {"zsh_completion", docgen::zsh_completion()},
          {"fish_completion", docgen::fish_completion()},
          {"usage_text", sb::cli::usage_text("sandbox")}};
  for (const auto& t : sb::cli::subcommand_tables()) {
    v.push_back({"man_subcommand_options " + std::string(t.name),
                 docgen::man_subcommand_options(t.name)});
    v.push_back({"subcommand_usage " + std::string(t.name),
                 sb::cli::subcommand_usage(t, "sandbox")});
  }
  return v;
}

// A checker program the test needs: a skip with the reason locally, a failure under
// CI=true, where scripts/deps.sh installs it.
#define DOCGEN_REQUIRE(prog, why)                                                  \
  do {                                                                             \
    const char* ci_ = std::getenv("CI");                                           \
    if ((prog).empty()) {                                                          \
      if (ci_ && std::string(ci_) == "true") FAIL() << why << " (CI=true must run it)"; \
      GTEST_SKIP() << why;                                                         \
    }                                                                              \
  } while (0)

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return {};
}

using sb::test::TempDir;

// Runs a shell command line; returns its exit status and its output (stdout + stderr).
int run(const std::string& cmd, std::string& output) {
  output.clear();
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) output.append(buf.data(), n);
  int status = ::pclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string sh_quote(const std::string& s) {
  std::string r = "'";
  for (char c : s) {
    if (c == '\'') r += "'\\''";
    else r += c;
  }
  return r + "'";
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    v.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return v;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

// ---- the table is the single source ----------------------------------------------

TEST(DocgenTest, EveryOptionAppearsInEveryDocumentAndCompletion) {
  const std::string man = docgen::man_options();
  const std::string readme = docgen::readme_options();
  const std::string bash = docgen::bash_completion();
  const std::string zsh = docgen::zsh_completion();
  const std::string fish = docgen::fish_completion();
  const std::string usage = sb::cli::usage_text("sandbox");
  ASSERT_FALSE(sb::cli::option_table().empty());
  for (const auto& o : sb::cli::option_table()) {
    const std::string name(o.name);
    SCOPED_TRACE(name);
    EXPECT_NE(man.find("\n*" + name + "*"), std::string::npos) << "man page entry";
    EXPECT_NE(readme.find("| `" + name), std::string::npos) << "README row";
    EXPECT_TRUE(has_token(usage, name)) << "--help";
    EXPECT_TRUE(has_token(bash, name)) << "bash";
    EXPECT_NE(zsh.find("'*" + name + "["), std::string::npos) << "zsh";
    EXPECT_NE(fish.find(" -l " + name.substr(2) + " -d "), std::string::npos) << "fish";
    std::string synopsis = "*" + name + "*";
    for (const auto& a : o.args) synopsis += " _" + std::string(a.name) + "_";
    EXPECT_NE(man.find(synopsis + "\n\t"), std::string::npos) << "man synopsis " << synopsis;
  }
}

TEST(DocgenTest, UsageListsEveryOptionWithItsArguments) {
  const std::string usage = sb::cli::usage_text("sandbox");
  for (const auto& o : sb::cli::option_table()) {
    std::string line = "  " + std::string(o.name);
    for (const auto& a : o.args) line += " " + std::string(a.name);
    EXPECT_NE(usage.find(line), std::string::npos) << line;
  }
}

TEST(DocgenTest, NothingOutsideTheTableIsDocumented) {
  // Scripts use a few options of the shells' own commands, and their header comment says
  // to run `cmake --build build --target update-docs`.
  // The subcommands' options are in their own tables (cli/subcommands.hpp).
  const std::set<std::string> shell_words = {"--fcs-skip", "--argument-names", "--build",
                                             "--target"};
  auto in_a_subcommand_table = [](const std::string& tok) {
    for (const auto& t : sb::cli::subcommand_tables())
      if (sb::cli::find_sub_option(t, tok)) return true;
    return false;
  };
  for (const auto& g : all_generated()) {
    for (const auto& tok : option_tokens(g.text)) {
      if (shell_words.count(tok) || in_a_subcommand_table(tok)) continue;
      EXPECT_NE(sb::cli::find_option(tok), nullptr) << g.what << " mentions " << tok;
    }
  }
}

TEST(DocgenTest, AbsentOptionsAppearNowhere) {
  std::vector<std::string> absent = docgen::bwrap_options_not_in_table();
  for (std::string n : {"--seccomp", "--socket", "--no-such-option", "--bind-dir"})
    if (!sb::cli::find_option(n)) absent.push_back(n);
  ASSERT_FALSE(absent.empty());
  for (const auto& g : all_generated())
    for (const auto& n : absent) EXPECT_FALSE(has_token(g.text, n)) << g.what << ": " << n;
}

TEST(DocgenTest, UnsupportedParagraphMatchesTheTable) {
  const std::string s = docgen::man_unsupported();
  auto missing = docgen::bwrap_options_not_in_table();
  for (const auto& n : missing) EXPECT_TRUE(has_token(s, n)) << n;
  if (missing.empty()) {
    EXPECT_NE(s.find("Every option of bwrap"), std::string::npos);
  }
  for (const auto& o : sb::cli::option_table())
    EXPECT_FALSE(has_token(s, std::string(o.name))) << o.name;
}

TEST(DocgenTest, CapabilityNames) {
  auto caps = docgen::capability_names();
  ASSERT_FALSE(caps.empty());
  EXPECT_EQ(caps.front(), "ALL");
  EXPECT_TRUE(contains(caps, "CAP_SYS_ADMIN"));
  EXPECT_TRUE(contains(caps, "CAP_CHOWN"));
  EXPECT_TRUE(contains(caps, "CAP_NET_BIND_SERVICE"));
  EXPECT_LE(caps.size(), static_cast<size_t>(CAP_LAST_CAP) + 2);
  for (size_t i = 1; i < caps.size(); ++i) {
    EXPECT_EQ(caps[i].rfind("CAP_", 0), 0u) << caps[i];
    for (char c : caps[i]) EXPECT_TRUE(std::isupper(c) || std::isdigit(c) || c == '_') << caps[i];
  }
}

// ---- markup ------------------------------------------------------------------------

TEST(DocgenTest, ManMarkupEscapesScdocSpecials) {
  const std::string man = docgen::man_options();
  // Every help line is one tab-indented sentence; '*' and '_' are either markup pairs
  // or escaped.
  for (const auto& line : lines(man)) {
    if (line.empty() || line[0] != '\t') continue;
    EXPECT_EQ(line.back(), '.') << line;
    size_t stars = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\') {
        ++i;
        continue;
      }
      if (line[i] == '*') ++stars;
    }
    EXPECT_EQ(stars % 2, 0u) << line;
  }
  // Section headings are scdoc subsections.
  EXPECT_NE(man.find("## " + std::string(sb::cli::section_title(sb::cli::Section::General))),
            std::string::npos);
}

TEST(DocgenTest, ScdocAcceptsTheManOptions) {
  std::string scdoc = find_program("scdoc");
  DOCGEN_REQUIRE(scdoc, "scdoc is not installed");
  TempDir dir;
  std::string page = "sandbox(1)\n\n# NAME\n\nsandbox - test\n\n# OPTIONS\n\n" +
                     docgen::man_options() + "\n# DIFFERENCES\n\n" +
                     docgen::man_unsupported();
  std::string in = dir.write("t.scd", page);
  std::string out;
  EXPECT_EQ(run(scdoc + " < " + sh_quote(in), out), 0) << out;
  EXPECT_NE(out.find("\\fB--bind\\fR \\fISRC\\fR \\fIDEST\\fR"), std::string::npos);
}

TEST(DocgenTest, ReadmeIsOneTablePerSection) {
  const std::string md = docgen::readme_options();
  for (auto s : {sb::cli::Section::General, sb::cli::Section::Namespaces,
                 sb::cli::Section::Filesystem, sb::cli::Section::Process})
    EXPECT_NE(md.find("### " + std::string(sb::cli::section_title(s)) + "\n\n| Option |"),
              std::string::npos);
  // A table row has exactly three unescaped '|' (no '|' inside a cell).
  for (const auto& line : lines(md)) {
    if (line.empty() || line[0] != '|') continue;
    size_t bars = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\') ++i;
      else if (line[i] == '|') ++bars;
    }
    EXPECT_EQ(bars, 3u) << line;
  }
}

// ---- markers -----------------------------------------------------------------------

TEST(DocgenTest, ReplaceBetweenMarkers) {
  const std::string b = "<!-- BEGIN -->", e = "<!-- END -->";
  const std::string text = "# t\n\nintro\n" + b + "\nold 1\nold 2\n" + e + "\ntail\n";
  std::string r = docgen::replace_between_markers(text, b, e, "new\n");
  EXPECT_EQ(r, "# t\n\nintro\n" + b + "\nnew\n" + e + "\ntail\n");
  // Idempotent, and a missing final newline is added.
  EXPECT_EQ(docgen::replace_between_markers(r, b, e, "new"), r);
  // Empty region, markers right after each other.
  EXPECT_EQ(docgen::replace_between_markers(b + "\n" + e + "\n", b, e, "x\n"),
            b + "\nx\n" + e + "\n");
  // Trailing blanks after a marker are tolerated; the end marker may end the file.
  EXPECT_EQ(docgen::replace_between_markers(b + "  \nold\n" + e, b, e, "x\n"),
            b + "  \nx\n" + e);
  // Clearing the region.
  EXPECT_EQ(docgen::replace_between_markers(text, b, e, ""),
            "# t\n\nintro\n" + b + "\n" + e + "\ntail\n");
}

TEST(DocgenTest, ReplaceBetweenMarkersNeedsWholeMarkerLines) {
  const std::string b = "; BEGIN GENERATED OPTIONS", e = "; END GENERATED OPTIONS";
  // A marker quoted inside a line is not a marker.
  EXPECT_THROW(docgen::replace_between_markers("text " + b + "\n" + e + "\n", b, e, "x"),
               sb::Error);
  EXPECT_THROW(docgen::replace_between_markers("no markers\n", b, e, "x"), sb::Error);
  EXPECT_THROW(docgen::replace_between_markers(b + "\nno end\n", b, e, "x"), sb::Error);
  EXPECT_THROW(docgen::replace_between_markers("no begin\n" + e + "\n", b, e, "x"), sb::Error);
  EXPECT_THROW(docgen::replace_between_markers(e + "\n" + b + "\n", b, e, "x"), sb::Error);
  EXPECT_THROW(docgen::replace_between_markers(b + "\n" + e + "\n" + b + "\n" + e + "\n", b, e,
                                               "x"),
               sb::Error);
  try {
    docgen::replace_between_markers("x\n", b, e, "y");
    FAIL() << "no exception";
  } catch (const sb::Error& err) {
    EXPECT_NE(std::string(err.what()).find(b), std::string::npos) << err.what();
  }
}

// ---- shells ------------------------------------------------------------------------

TEST(DocgenTest, BashCompletionSyntax) {
  std::string bash = find_program("bash");
  DOCGEN_REQUIRE(bash, "bash is not installed");
  TempDir dir;
  std::string f = dir.write("sandbox.bash", docgen::bash_completion());
  std::string out;
  EXPECT_EQ(run(bash + " -n " + sh_quote(f), out), 0) << out;
}

TEST(DocgenTest, ZshCompletionSyntax) {
  std::string zsh = find_program("zsh");
  DOCGEN_REQUIRE(zsh, "zsh is not installed, its completion is not checked");
  TempDir dir;
  std::string f = dir.write("_sandbox", docgen::zsh_completion());
  std::string out;
  EXPECT_EQ(run(zsh + " -n " + sh_quote(f), out), 0) << out;
}

// After `sandbox NAME`, the subcommand's specs go to _arguments with "sandbox" dropped,
// so that NAME is the command it skips (else doctor, taking no argument, completes
// nothing). _arguments is stubbed to print what it gets.
TEST(DocgenTest, ZshSubcommandsGetTheirOwnWords) {
  std::string zsh = find_program("zsh");
  DOCGEN_REQUIRE(zsh, "zsh is not installed, its completion is not checked");
  TempDir dir;
  std::string f = dir.write("_sandbox", docgen::zsh_completion());
  auto arguments_for = [&](const std::string& words, int current) {
    std::string script = "compdef() { :; }\n"
                         "_arguments() { print -r -- \"$CURRENT:${words[*]}\"; print -rl -- \"$@\"; }\n"
                         "source " + sh_quote(f) + "\n"
                         "words=(" + words + "); CURRENT=" + std::to_string(current) + "\n"
                         "_sandbox\n";
    std::string out;
    EXPECT_EQ(run(zsh + " -f -c " + sh_quote(script), out), 0) << out;
    return lines(out);
  };
  auto d = arguments_for("sandbox doctor --", 3);
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0], "2:doctor --");
  EXPECT_TRUE(contains(d, "--help[Show this help and exit]")) << ::testing::PrintToString(d);
  EXPECT_FALSE(contains(d, "--fake-root")) << "only for tests";
  auto s = arguments_for("sandbox seccomp-compile default --p", 4);
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s[0], "3:seccomp-compile default --p");
  EXPECT_TRUE(std::any_of(s.begin(), s.end(), [](const std::string& l) {
    return l.rfind("*--arch[", 0) == 0 && l.find(":arch:(") != std::string::npos &&
           l.find("x86_64") != std::string::npos;
  })) << ::testing::PrintToString(s);
  EXPECT_TRUE(contains(s, "--pfc[Write libseccomp's readable pseudo filter code instead]"))
      << ::testing::PrintToString(s);
  EXPECT_TRUE(std::any_of(s.begin(), s.end(), [](const std::string& l) {
    return l.rfind("1:profile:", 0) == 0;
  })) << ::testing::PrintToString(s);
}

TEST(DocgenTest, FishCompletionSyntax) {
  std::string fish = find_program("fish");
  DOCGEN_REQUIRE(fish, "fish is not installed, its completion is not checked");
  TempDir dir;
  std::string f = dir.write("sandbox.fish", docgen::fish_completion());
  std::string out;
  EXPECT_EQ(run(fish + " --no-execute " + sh_quote(f), out), 0) << out;
}

namespace {

// What the generated bash completion proposes for the command line `words` (the last
// word is the one being completed), with bash-completion's helpers loaded if installed.
std::vector<std::string> bash_complete(const std::string& bash, const TempDir& dir,
                                       const std::vector<std::string>& words,
                                       const std::string& path_prefix = "") {
  std::string f = dir.write("sandbox.bash", docgen::bash_completion());
  std::string line;
  std::string comp_words;
  for (const auto& w : words) {
    if (!line.empty()) line += ' ';
    line += w;
    comp_words += ' ' + sh_quote(w);
  }
  // bash-completion's helpers (_init_completion, _filedir, _command_offset) when installed
  // (SANDBOX_TEST_BASH_COMPLETION names another copy); the script must work either way.
  const char* helpers = std::getenv("SANDBOX_TEST_BASH_COMPLETION");
  std::string script =
      "f=" + sh_quote(helpers ? helpers : "/usr/share/bash-completion/bash_completion") + "\n"
      "if [[ -r $f ]]; then source \"$f\"; fi\n" +
      (path_prefix.empty() ? "" : "PATH=" + sh_quote(path_prefix) + ":$PATH\n") +
      "source " + sh_quote(f) + "\n"
      "COMP_WORDS=(" + comp_words + " )\n"
      "COMP_CWORD=" + std::to_string(words.size() - 1) + "\n"
      "COMP_LINE=" + sh_quote(line) + "\n"
      "COMP_POINT=${#COMP_LINE}\n"
      "COMP_TYPE=9 COMP_KEY=9\n"
      "_sandbox sandbox \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
      "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
  std::string s = dir.write("run.bash", script);
  std::string out;
  int rc = run(bash + " --norc --noprofile " + sh_quote(s), out);
  EXPECT_EQ(rc, 0) << out;
  std::vector<std::string> v;
  for (auto& l : lines(out)) {
    // bash-completion's helpers call compopt, which complains outside a real completion.
    if (l.empty() || l.find("compopt: not currently executing") != std::string::npos) continue;
    v.push_back(l);
  }
  return v;
}

}  // namespace

TEST(DocgenTest, BashCompletionProposals) {
  std::string bash = find_program("bash");
  DOCGEN_REQUIRE(bash, "bash is not installed");
  TempDir dir;

  auto r = bash_complete(bash, dir, {"sandbox", "--cap-a"});
  EXPECT_TRUE(contains(r, "--cap-add")) << ::testing::PrintToString(r);

  r = bash_complete(bash, dir, {"sandbox", "--cap-add", "CAP_SYS_AD"});
  EXPECT_EQ(r, std::vector<std::string>{"CAP_SYS_ADMIN"});
  r = bash_complete(bash, dir, {"sandbox", "--cap-drop", ""});
  EXPECT_TRUE(contains(r, "ALL"));
  EXPECT_TRUE(contains(r, "CAP_NET_RAW"));

  r = bash_complete(bash, dir, {"sandbox", "--bind", "/us"});
  EXPECT_TRUE(contains(r, "/usr")) << ::testing::PrintToString(r);
  // The second argument of a two-argument option.
  r = bash_complete(bash, dir, {"sandbox", "--ro-bind", "/usr", "/us"});
  EXPECT_TRUE(contains(r, "/usr")) << ::testing::PrintToString(r);

  // Two arguments are skipped: the word after them is an option again.
  r = bash_complete(bash, dir, {"sandbox", "--bind", "/usr", "/usr", "--unshare-p"});
  EXPECT_EQ(r, std::vector<std::string>{"--unshare-pid"});
  r = bash_complete(bash, dir,
                    {"sandbox", "--setenv", "A", "B", "--chdir", "/tmp", "--cap-add", "CAP_CHO"});
  EXPECT_EQ(r, std::vector<std::string>{"CAP_CHOWN"});
  // Arguments of kind Text/Number get nothing, not file names.
  r = bash_complete(bash, dir, {"sandbox", "--setenv", "A", "/us"});
  EXPECT_TRUE(r.empty()) << ::testing::PrintToString(r);
  r = bash_complete(bash, dir, {"sandbox", "--uid", ""});
  EXPECT_TRUE(r.empty()) << ::testing::PrintToString(r);

  // The command: after "--" or as the first word that is not an option.
  std::string sh = find_program("sh");
  if (!sh.empty()) {
    r = bash_complete(bash, dir, {"sandbox", "--ro-bind", "/usr", "/usr", "--", "sh"});
    EXPECT_TRUE(contains(r, "sh")) << ::testing::PrintToString(r);
    r = bash_complete(bash, dir, {"sandbox", "--unshare-all", "sh"});
    EXPECT_TRUE(contains(r, "sh")) << ::testing::PrintToString(r);
  }
  // An argument of the command is completed as the command's, never as sandbox's.
  r = bash_complete(bash, dir, {"sandbox", "--", "ls", "--cap-a"});
  EXPECT_FALSE(contains(r, "--cap-add")) << ::testing::PrintToString(r);

  // Subcommands: only as the first word, then with their own arguments.
  r = bash_complete(bash, dir, {"sandbox", "doc"});
  EXPECT_TRUE(contains(r, "doctor")) << ::testing::PrintToString(r);
  r = bash_complete(bash, dir, {"sandbox", "seccomp-c"});
  EXPECT_TRUE(contains(r, "seccomp-compile")) << ::testing::PrintToString(r);
  r = bash_complete(bash, dir, {"sandbox", "--unshare-all", "doc"});
  EXPECT_FALSE(contains(r, "doctor")) << ::testing::PrintToString(r);
  r = bash_complete(bash, dir, {"sandbox", "doctor", ""});
  EXPECT_EQ(r, std::vector<std::string>{"--help"});
  r = bash_complete(bash, dir, {"sandbox", "seccomp-compile", "--arch", "x86_"});
  EXPECT_EQ(r, std::vector<std::string>{"x86_64"});
  r = bash_complete(bash, dir, {"sandbox", "seccomp-compile", "--p"});
  EXPECT_EQ(r, std::vector<std::string>{"--pfc"});
  r = bash_complete(bash, dir, {"sandbox", "seccomp-compile", "/us"});
  EXPECT_TRUE(contains(r, "/usr")) << ::testing::PrintToString(r);
}

// Profile names come from the installed program (`sandbox --list-profiles`, `sandbox
// seccomp-compile --list`); a stand-in on PATH answers here.
// Option values from the table's completion hints: --net modes, --limits, --rlimit names.
TEST(DocgenTest, BashCompletesOptionValues) {
  std::string bash = find_program("bash");
  if (bash.empty()) GTEST_SKIP() << "bash is not installed";
  TempDir dir;
  auto r = bash_complete(bash, dir, {"sandbox", "--net", ""});
  for (const char* m : {"none", "host", "pasta", "slirp4netns", "user", "veth"})
    EXPECT_TRUE(contains(r, m)) << m << " " << ::testing::PrintToString(r);
  r = bash_complete(bash, dir, {"sandbox", "--net", "sl"});
  EXPECT_EQ(r, std::vector<std::string>{"slirp4netns"});
  r = bash_complete(bash, dir, {"sandbox", "--limits", "b"});
  EXPECT_EQ(r, std::vector<std::string>{"best-effort"});
  r = bash_complete(bash, dir, {"sandbox", "--rlimit", "fs"});
  EXPECT_EQ(r, std::vector<std::string>{"fsize="});
  r = bash_complete(bash, dir, {"sandbox", "--unshare-all", "--rlimit", "no"});
  EXPECT_EQ(r, std::vector<std::string>{"nofile="});
  // After the value, options again.
  r = bash_complete(bash, dir, {"sandbox", "--net", "pasta", "--publ"});
  EXPECT_EQ(r, std::vector<std::string>{"--publish"});
}

// The hints name exactly what the parser accepts.
TEST(DocgenTest, CompletionHintsMatchTheParser) {
  auto values_of = [](std::string_view opt) {
    const sb::cli::OptionDef* o = sb::cli::find_option(opt);
    EXPECT_NE(o, nullptr) << opt;
    std::vector<std::string> v;
    std::istringstream in(std::string(o ? o->args.at(0).values : ""));
    for (std::string w; in >> w;) v.push_back(w);
    return v;
  };
  for (const auto& m : values_of("--net"))
    EXPECT_NO_THROW(sb::cli::parse({"--net", m, "true"})) << m;
  for (const auto& m : values_of("--limits"))
    EXPECT_NO_THROW(sb::cli::parse({"--limits", m, "true"})) << m;
  std::vector<std::string> names;
  for (auto n : values_of("--rlimit")) names.push_back(n.substr(0, n.size() - 1));
  EXPECT_EQ(names, sb::limits::rlimit_names());
}

TEST(DocgenTest, ZshAndFishOfferOptionValues) {
  std::string z = docgen::zsh_completion(), f = docgen::fish_completion();
  EXPECT_NE(z.find("(none host pasta slirp4netns user veth)"), std::string::npos);
  // Shell-quoted in the _arguments spec: '' is written '\'''\''.
  EXPECT_NE(z.find(R"(:name=soft[\:hard]:{compadd -S '\'''\'' -- as= core=)"), std::string::npos)
      << z;
  EXPECT_NE(f.find("__sandbox_expect values--net' -x -a 'none host pasta"), std::string::npos);
  EXPECT_NE(f.find("__sandbox_expect values--limits' -x -a 'required best-effort'"),
            std::string::npos);
}

TEST(DocgenTest, BashCompletesProfileNames) {
  std::string bash = find_program("bash");
  DOCGEN_REQUIRE(bash, "bash is not installed");
  TempDir dir;
  TempDir bin;
  std::string fake = bin.write("sandbox",
                               "#!/bin/sh\n"
                               "case \"$*\" in\n"
                               "  '--list-profiles') printf 'build\\nminimal\\n' ;;\n"
                               "  'seccomp-compile --list') printf 'default\\nflatpak-like\\n' ;;\n"
                               "esac\n");
  ASSERT_EQ(::chmod(fake.c_str(), 0755), 0);
  auto r = bash_complete(bash, dir, {"sandbox", "--seccomp-profile", "fl"}, bin.path());
  EXPECT_EQ(r, std::vector<std::string>{"flatpak-like"});
  r = bash_complete(bash, dir, {"sandbox", "--seccomp-profile", "/us"}, bin.path());
  EXPECT_TRUE(contains(r, "/usr")) << ::testing::PrintToString(r);
  r = bash_complete(bash, dir, {"sandbox", "seccomp-compile", "de"}, bin.path());
  EXPECT_EQ(r, std::vector<std::string>{"default"});
  r = bash_complete(bash, dir, {"sandbox", "--profile", "mi"}, bin.path());
  EXPECT_EQ(r, std::vector<std::string>{"minimal"});
}

// Each subcommand option is written once, in its table, and shows up everywhere: the man
// page and --help always, the completions unless it is only for tests.
TEST(DocgenTest, SubcommandOptionsFromTheirTables) {
  const std::string bash = docgen::bash_completion(), zsh = docgen::zsh_completion(),
                    fish = docgen::fish_completion();
  for (const auto& t : sb::cli::subcommand_tables()) {
    const std::string man = docgen::man_subcommand_options(t.name);
    const std::string usage = sb::cli::subcommand_usage(t, "sandbox");
    const std::string fish_cond = "'__sandbox_expect sub-" + std::string(t.name) + "'";
    for (const auto& o : t.options) {
      const std::string name(o.name);
      SCOPED_TRACE(std::string(t.name) + " " + name);
      std::string synopsis =
          "\t*" + name + "*" + (o.arg.empty() ? "" : " _" + std::string(o.arg) + "_");
      EXPECT_NE(man.find(synopsis + "\n\t\t"), std::string::npos) << man;
      EXPECT_TRUE(has_token(usage, name));
      EXPECT_EQ(has_token(bash, name), !o.internal);
      const std::string zsh_spec = "'" + std::string(o.repeatable ? "*" : "") + name + "[";
      EXPECT_EQ(zsh.find(zsh_spec) != std::string::npos, !o.internal);
      EXPECT_EQ(fish.find(fish_cond + " -l " + name.substr(2)) != std::string::npos, !o.internal);
      if (!o.alias.empty()) {
        EXPECT_FALSE(has_token(bash, std::string(o.alias)));
      }
    }
  }
  EXPECT_THROW(docgen::man_subcommand_options("bogus"), sb::Error);
}

TEST(DocgenTest, SubcommandsInEveryCompletionAndUsage) {
  for (const auto& c : sb::cli::subcommands()) {
    std::string n(c.name);
    EXPECT_NE(docgen::bash_completion().find(n), std::string::npos) << n;
    EXPECT_NE(docgen::zsh_completion().find(n), std::string::npos) << n;
    EXPECT_NE(docgen::fish_completion().find(n), std::string::npos) << n;
    EXPECT_NE(sb::cli::usage_text("sandbox").find("sandbox " + n), std::string::npos) << n;
  }
}

TEST(DocgenTest, FishCompletionProposals) {
  std::string fish = find_program("fish");
  DOCGEN_REQUIRE(fish, "fish is not installed, its completion is not checked");
  TempDir dir;
  std::string f = dir.write("sandbox.fish", docgen::fish_completion());
  auto complete = [&](const std::string& line) {
    std::string out;
    // A private configuration directory: the user's config.fish could print anything.
    run("env XDG_CONFIG_HOME=" + sh_quote(dir.path()) + " " + fish + " -c " +
            sh_quote("source " + sh_quote(f) + "; complete -C " + sh_quote(line)),
        out);
    std::vector<std::string> v;
    for (auto& l : lines(out)) v.push_back(l.substr(0, l.find('\t')));
    return v;
  };
  auto r = complete("sandbox --cap-a");
  EXPECT_TRUE(contains(r, "--cap-add")) << ::testing::PrintToString(r);
  r = complete("sandbox --cap-add CAP_SYS_AD");
  EXPECT_TRUE(contains(r, "CAP_SYS_ADMIN")) << ::testing::PrintToString(r);
  r = complete("sandbox --bind /usr /usr --unshare-p");
  EXPECT_TRUE(contains(r, "--unshare-pid")) << ::testing::PrintToString(r);
  r = complete("sandbox doc");
  EXPECT_TRUE(contains(r, "doctor")) << ::testing::PrintToString(r);
  r = complete("sandbox --unshare-all doc");
  EXPECT_FALSE(contains(r, "doctor")) << ::testing::PrintToString(r);
  r = complete("sandbox doctor --");
  EXPECT_EQ(r, std::vector<std::string>{"--help"});
  r = complete("sandbox seccomp-compile --arch x86_");
  EXPECT_EQ(r, std::vector<std::string>{"x86_64"});
}
