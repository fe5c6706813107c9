// Profiles: text files in the option language (one option with its arguments per line,
// `#` comments, `include OTHER`, ${HOME} ${PWD} ${XDG_RUNTIME_DIR} ${UID} expansions),
// spliced into the command line where --profile appears so that later options refine it.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace sb::cli {

// The directories searched for a profile NAME, in order: the user's
// ($XDG_CONFIG_HOME/sandbox/profiles or ~/.config/sandbox/profiles), the installed one,
// then the source tree's (when run from a build directory).
std::vector<std::string> profile_dirs();

// NAME (no '/') is looked up as NAME or NAME.profile in profile_dirs(); anything with a '/'
// is a path. Throws sb::Error when nothing is found.
std::string find_profile(const std::string& name_or_path);

// Names of the profiles found in profile_dirs() (for completion and --help).
std::vector<std::string> list_profiles();

// Reads a profile (and what it includes) into arguments. `vars` holds the expansion values;
// a missing one is an error. Errors are "FILE:LINE: reason".
std::vector<std::string> load_profile(const std::string& path,
                                      const std::map<std::string, std::string>& vars);

// The expansion values from the current process (HOME, PWD, XDG_RUNTIME_DIR, UID).
std::map<std::string, std::string> profile_vars(const std::string& cwd);

}  // namespace sb::cli
