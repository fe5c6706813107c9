// Where the installed data (profiles, seccomp profiles) is: found from the running binary,
// so that any install prefix works and a moved install still finds its own files.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sb::datadir {

// The directories that may hold the data SUB ("profiles", "seccomp-profiles"), in order:
// BIN/../share/sandbox/SUB next to the running binary, then the source tree's SUB only when
// the running binary lies inside the build tree it was built in.
std::vector<std::string> dirs(std::string_view sub);

// The same for an explicit binary path and build/source trees (unit tests).
// `rel` is the data directory relative to the binary's directory ("../share/sandbox").
std::vector<std::string> dirs_for(const std::string& exe, std::string_view sub,
                                  const std::string& rel, const std::string& build_dir,
                                  const std::string& source_dir);

// "A, B or C" for messages.
std::string join_or(const std::vector<std::string>& dirs);

}  // namespace sb::datadir
