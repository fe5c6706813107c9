// The subcommands' option tables (`sandbox doctor`, `sandbox seccomp-compile`): as
// option_table() does for the sandbox options, one row per option drives the
// subcommand's parsing, its --help text, its part of the man page and the bash/zsh/fish
// completions (docgen.cpp), so that no subcommand option is written twice.
//
// Parsing is pure: cli::run_subcommand turns the parsed words into the request the
// subcommand's module acts on (host::doctor_main, security::seccomp_compile_main), which
// therefore never sees argv.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/options.hpp"
#include "util/error.hpp"

namespace sb::cli {

struct SubOptionDef {
  std::string_view name;           // "--arch"
  std::string_view arg = {};       // metavariable shown in help ("ARCH"); empty: a flag
  ArgKind kind = ArgKind::Text;    // what the argument is, for completion
  std::string_view help = {};      // one sentence, no trailing period
  // Completion hint: the values the shells offer for the argument.
  std::vector<std::string> (*values)() = nullptr;
  bool repeatable = false;         // may be given more than once
  bool ends = false;               // parsing stops here, later words are ignored (--help)
  bool internal = false;           // for tests: in --help and the man page only
  std::string_view alias = {};     // another spelling ("-h"), never offered
  // Checks the argument when it is parsed; throws sb::Error (prefixed with the name).
  void (*check)(const std::string& value) = nullptr;
};

// The one word that is not an option (seccomp-compile's PROFILE).
struct PositionalDef {
  std::string_view name;      // "PROFILE"
  ArgKind kind;
  std::string_view too_many;  // error when a second one comes: "only one PROFILE can be compiled"
};

struct SubcommandTable {
  std::string_view name;                    // "seccomp-compile"
  std::optional<PositionalDef> positional;  // required when present
  std::string_view usage_suffix;            // after the synopsis in --help: " > filter.bpf"
  std::string_view description;             // --help paragraph(s), already wrapped
  std::vector<SubOptionDef> options;
  std::string_view notes;                   // --help paragraph after the options, wrapped
  // Parses the words after the name (but --help) and calls the subcommand; reports a
  // bad word in the subcommand's own words. Returns the exit status.
  int (*run)(const SubcommandTable& t, const std::vector<std::string>& args) = nullptr;
};

// doctor, then seccomp-compile (the order of subcommands()).
const std::vector<SubcommandTable>& subcommand_tables();
const SubcommandTable* find_subcommand(std::string_view name);
const SubOptionDef* find_sub_option(const SubcommandTable& t, std::string_view word);

// What the words after the subcommand's name asked for, in command-line order.
struct SubcommandArgs {
  std::string ended_by;  // the `ends` option that stopped parsing ("--help"), or empty
  std::vector<std::pair<std::string, std::string>> options;  // (name, argument or "")
  std::optional<std::string> positional;

  bool has(std::string_view name) const;
  std::vector<std::string> values(std::string_view name) const;
};

// A word the table does not accept. `word` is the offending word (for a missing
// argument, the option's name); what() is the message.
class SubcommandError : public Error {
 public:
  enum class Kind { UnknownOption, UnexpectedArgument, MissingArgument, TooMany, BadValue };
  SubcommandError(Kind kind, std::string word, const std::string& message)
      : Error(message), kind_(kind), word_(std::move(word)) {}
  Kind kind() const { return kind_; }
  const std::string& word() const { return word_; }

 private:
  Kind kind_;
  std::string word_;
};

// Parses `args` (the words after the subcommand's name) in order. Stops at an `ends`
// option. Throws SubcommandError; does not check that a required positional is there.
SubcommandArgs parse_subcommand(const SubcommandTable& t, const std::vector<std::string>& args);

// "PROFILE [--arch ARCH]... [--pfc]": the positional, then each option that is neither
// `ends` nor `internal`.
std::string subcommand_synopsis(const SubcommandTable& t);

// The subcommand's --help text; `prog` is the program name.
std::string subcommand_usage(const SubcommandTable& t, std::string_view prog);

// Runs `sandbox NAME ARGS...` for a subcommand of subcommand_tables(): parses ARGS,
// prints the help or the error, else calls the subcommand. Returns the exit status.
int run_subcommand(const SubcommandTable& t, const std::vector<std::string>& args);

}  // namespace sb::cli
