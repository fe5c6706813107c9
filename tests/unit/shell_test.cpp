// Unit tests for util/shell.hpp: quoting that /bin/sh reads back as the same word.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "util/shell.hpp"

namespace sb::shell {
namespace {

TEST(ShellQuote, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(quote("/usr/lib"), "/usr/lib");
  EXPECT_EQ(quote("a b"), "'a b'");
  EXPECT_EQ(quote("it's"), "'it'\\''s'");
  EXPECT_EQ(quote(""), "''");
  EXPECT_EQ(quote("$HOME"), "'$HOME'");
  EXPECT_EQ(quote("--ro-bind=a,b:c@d%e+f"), "--ro-bind=a,b:c@d%e+f");
}

TEST(ShellSingleQuote, AlwaysQuotes) {
  EXPECT_EQ(single_quote("plain"), "'plain'");
  EXPECT_EQ(single_quote(""), "''");
  EXPECT_EQ(single_quote("'"), "''\\'''");
  EXPECT_EQ(single_quote("a\\b"), "'a\\b'");  // backslashes are literal in single quotes
}

// What `sh -c 'printf %s WORD'` prints for the quoted word.
std::string through_sh(const std::string& quoted) {
  std::string cmd = "/bin/sh -c " + single_quote("printf %s " + quoted);
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return "<popen failed>";
  std::string out;
  char buf[256];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  ::pclose(f);
  return out;
}

TEST(ShellQuote, TheShellReadsBackTheSameWord) {
  const std::vector<std::string> words = {
      "plain", "a b", "it's", "''", "$HOME", "`id`", "$(id)", "a\\b", "\\", "tab\there",
      "new\nline", "*", "~", "a;b|c&d", "\"dq\"", "-n", "%s"};
  for (const auto& w : words) {
    EXPECT_EQ(through_sh(quote(w)), w) << quote(w);
    EXPECT_EQ(through_sh(single_quote(w)), w) << single_quote(w);
  }
}

}  // namespace
}  // namespace sb::shell
