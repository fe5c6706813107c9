// Documentation and shell completions generated from the one option table
// (cli::option_table()) and the subcommands' tables (cli::subcommand_tables()), so that
// the man page, the README and the bash/zsh/fish completions can never drift from what
// the parsers accept.
//
// tools/docgen_main.cpp writes these into the source tree (`update-docs` target) and the
// `docs.in_sync` test fails when the committed files differ from what is generated here.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sb::cli::docgen {

// Marker lines delimiting the generated parts of the hand-written documents.
inline constexpr std::string_view kManBegin = "; BEGIN GENERATED OPTIONS";
inline constexpr std::string_view kManEnd = "; END GENERATED OPTIONS";
inline constexpr std::string_view kManUnsupportedBegin = "; BEGIN GENERATED UNSUPPORTED";
inline constexpr std::string_view kManUnsupportedEnd = "; END GENERATED UNSUPPORTED";
inline constexpr std::string_view kReadmeBegin = "<!-- BEGIN GENERATED OPTIONS -->";
inline constexpr std::string_view kReadmeEnd = "<!-- END GENERATED OPTIONS -->";

// scdoc markup for the man page's OPTIONS section: one subsection per Section, each
// option as `*--name* _ARG_ _ARG_` followed by its tab-indented help.
std::string man_options();

// scdoc paragraph for DIFFERENCES FROM BWRAP: which bwrap 0.11 options are not in the
// table (and so are rejected as unknown), or that every bwrap option is accepted.
std::string man_unsupported();

// scdoc for a subcommand's entry under COMMANDS: its options from its table
// (cli/subcommands.hpp), each `*--name* _ARG_` with its help indented below. It goes
// between the marker lines man_subcommand_begin(name) and man_subcommand_end(name).
// Throws sb::Error for a name that is not a subcommand.
std::string man_subcommand_options(std::string_view name);
std::string man_subcommand_begin(std::string_view name);
std::string man_subcommand_end(std::string_view name);

// Markdown for the README: one table per Section.
std::string readme_options();

// Complete completion scripts, ready to be installed.
std::string bash_completion();
std::string zsh_completion();
std::string fish_completion();

// The capability names offered for --cap-add/--cap-drop: ALL, then CAP_* for
// 0..CAP_LAST_CAP as libcap-ng names them.
std::vector<std::string> capability_names();

// The options bwrap 0.11 accepts that are not in the option table.
std::vector<std::string> bwrap_options_not_in_table();

// Returns `text` with the lines strictly between the marker line `begin` and the next
// marker line `end` replaced by `generated` (a newline is added if it lacks one). A
// marker must be a whole line (trailing blanks ignored). Throws sb::Error when a marker
// is missing, `begin` occurs more than once, or `end` comes first.
std::string replace_between_markers(const std::string& text, const std::string& begin,
                                    const std::string& end, const std::string& generated);

}  // namespace sb::cli::docgen
