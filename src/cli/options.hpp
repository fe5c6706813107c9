// The one option table. It drives parsing, --help, the man page's option list and the
// bash/zsh/fish completions (see docgen.hpp), so they cannot drift apart.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <optional>
#include <vector>

#include "spec/spec.hpp"

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

struct OptionDef {
  std::string_view name;  // "--ro-bind"
  std::vector<ArgSpec> args;
  Section section;
  std::string_view help;  // one sentence, no trailing period
  Handler handler;
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

// Parses argv (without argv[0]) in order. Throws sb::Error naming the option.
Spec parse(const std::vector<std::string>& args);

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
  Spec spec;
  std::optional<unsigned> next_perms;
  std::optional<uint64_t> next_size;
  std::string cwd;  // to make relative sources absolute
  std::vector<std::string> overlay_sources;  // pending --overlay-src layers

  // --args: the arguments read from the fd, spliced in by parse() after the option.
  static constexpr size_t kMaxArgsBytes = 16u << 20;
  static constexpr int kMaxArgsDepth = 8;
  std::vector<std::string> splice;
  bool spliced = false;
  void read_args_fd(int fd);

  std::string source_path(const std::string& p) const;  // host path, made absolute
  static std::string dest_path(const std::string& p);   // sandbox path, made absolute
  // Consume the pending --perms for an op that accepts it.
  std::optional<unsigned> take_perms() { return std::exchange(next_perms, std::nullopt); }
  std::optional<uint64_t> take_size() { return std::exchange(next_size, std::nullopt); }
};

}  // namespace sb::cli
