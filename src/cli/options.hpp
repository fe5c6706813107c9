// The one option table. It drives parsing, --help, the man page's option list and the
// bash/zsh/fish completions (see docgen.hpp), so they cannot drift apart.
//
// Parsing is pure: parse() turns argv into a ParseResult (what was asked: run a Spec, or
// help / version / list-profiles / print-args) and touches nothing outside. What it needs
// from outside (the arguments behind --args FD and --profile NAME, the working directory,
// where warnings go) comes through a ParseEnv: main passes SystemParseEnv, the tests a
// fake. Descriptors are recorded by number (Spec::fds); planning (plan/) checks and owns
// them, finds and compiles seccomp profiles.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <optional>
#include <vector>

#include "spec/spec.hpp"
#include "util/error.hpp"

namespace sb::cli {

// What an option argument is, for help text and shell completion.
enum class ArgKind { Path, Dir, File, HostPath, Octal, Bytes, Number, Cap, Name, Text, Command, Profile, SeccompProfile };

struct ArgSpec {
  std::string_view name;  // metavariable shown in help: SRC, DEST, OCTAL...
  ArgKind kind;
  // Completion hint: the values the shells offer, blank-separated; a value ending in '='
  // is a prefix to complete further (--rlimit NAME=).
  std::string_view values = {};
};

enum class Section { General, Namespaces, Filesystem, Process, Limits };
std::string_view section_title(Section s);

class Parser;
using Handler = void (*)(Parser&, const std::vector<std::string>& args);

// Options whose arguments are replaced by others at this point.
enum class Splice { None, ArgsFd, Profile };

// How an option relates to its neighbours on the command line (order-sensitive rules).
struct OptionTraits {
  bool takes_perms = false;  // consumes a pending --perms
  bool takes_size = false;   // consumes a pending --size
  bool modifier = false;     // --perms/--size: applies to the next operation
  bool overlay = false;      // may follow --overlay-src (a layer, or the overlay itself)
  Splice splice = Splice::None;
  bool recorded = true;      // part of the sandbox's command line (--print-args shows it)
};

struct OptionDef {
  std::string_view name;  // "--ro-bind"
  std::vector<ArgSpec> args;
  Section section;
  std::string_view help;  // one sentence, no trailing period
  Handler handler;
  OptionTraits traits = {};
};

const std::vector<OptionDef>& option_table();

// `sandbox NAME ...` commands other than running a sandbox (dispatched in main.cpp), for
// --help and the completions.
struct SubcommandDef {
  std::string_view name;      // "doctor"
  std::string_view synopsis;  // arguments after the name, for the usage line
  std::string_view help;      // one sentence, no trailing period
};
const std::vector<SubcommandDef>& subcommands();
const OptionDef* find_option(std::string_view name);

// What the command line asks for.
enum class Action { Run, Help, Version, ListProfiles, PrintArgs };

struct ParseResult {
  Action action = Action::Run;
  Spec spec;                               // complete for Run and PrintArgs
  bool verbose = false;                    // --verbose: main turns on log::step
  bool level_prefix = false;               // --level-prefix: main turns on "<N>" prefixes
  std::vector<std::string> expanded_args;  // every option as parsed, profiles/--args resolved
};

// A parse error, with the --level-prefix seen before it (main prints the error with it).
class ParseError : public Error {
 public:
  ParseError(const std::string& what, bool level_prefix)
      : Error(what), level_prefix_(level_prefix) {}
  bool level_prefix() const { return level_prefix_; }

 private:
  bool level_prefix_;
};

// What parse() may ask of the world outside. Methods throw sb::Error for the user.
class ParseEnv {
 public:
  virtual ~ParseEnv() = default;
  // The working directory, to make relative sources absolute.
  virtual std::string cwd() = 0;
  // --args FD: everything readable from FD (at most Parser::kMaxArgsBytes).
  virtual std::string read_args_fd(int fd) = 0;
  // --profile NAME|PATH: its arguments (profile.hpp), reporting notes through `warn`.
  virtual std::vector<std::string> profile_args(
      const std::string& name_or_path, const std::string& cwd,
      const std::function<void(const std::string&)>& warn) = 0;
  // A warning for the user; `level_prefix`: --level-prefix was given before it.
  virtual void warning(const std::string& msg, bool level_prefix) = 0;
};

// The real world: getcwd, read(2) on the descriptor, profile files, log::warning.
class SystemParseEnv : public ParseEnv {
 public:
  std::string cwd() override;
  std::string read_args_fd(int fd) override;
  std::vector<std::string> profile_args(
      const std::string& name_or_path, const std::string& cwd,
      const std::function<void(const std::string&)>& warn) override;
  void warning(const std::string& msg, bool level_prefix) override;
};

// Parses argv (without argv[0]) in order. Pure but for `env`. Throws ParseError naming the
// option.
ParseResult parse(const std::vector<std::string>& args, ParseEnv& env);

// The full --help text; `prog` is argv[0] as invoked.
std::string usage_text(std::string_view prog);

// The bubblewrap release whose command line, messages and test suite we follow.
inline constexpr std::string_view kBwrapCompatVersion = "0.11.1";

// --version: "sandbox X.Y.Z"; invoked as `bwrap`, first bwrap's own line
// ("bubblewrap 0.11.1", for callers that parse it), then ours on a line of its own.
std::string version_text(std::string_view program_name);

// Holds the order-sensitive state while parsing (pending --perms/--size).
class Parser {
 public:
  explicit Parser(ParseEnv& e) : env(e) {}
  ParseEnv& env;
  Spec spec;
  Action action = Action::Run;
  bool verbose = false;
  bool level_prefix = false;
  std::optional<unsigned> next_perms;
  std::optional<uint64_t> next_size;
  std::string cwd;  // to make relative sources absolute
  std::vector<std::string> overlay_sources;  // pending --overlay-src layers

  // --args / --profile: the arguments spliced in by parse() after the option.
  static constexpr size_t kMaxArgsBytes = 16u << 20;
  static constexpr int kMaxArgsDepth = 8;
  std::vector<std::string> splice;
  bool spliced = false;
  // --args: splits NUL-terminated arguments read from `fd`. Throws naming the option.
  static std::vector<std::string> split_args(const std::string& data, int fd);

  void warn(const std::string& msg) { env.warning(msg, level_prefix); }

  std::string source_path(const std::string& p) const;  // host path, made absolute
  static std::string dest_path(const std::string& p);   // sandbox path, made absolute
  // Consume the pending --perms for an op that accepts it.
  std::optional<unsigned> take_perms() { return std::exchange(next_perms, std::nullopt); }
  std::optional<uint64_t> take_size() { return std::exchange(next_size, std::nullopt); }
};

}  // namespace sb::cli
