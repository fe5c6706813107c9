// uid_map / gid_map contents. We write single-id maps ourselves (no setuid helper): the
// caller's id outside maps to exactly one id inside. Maps of several ranges (OCI's
// linux.uidMappings) are checked here against the kernel's rules and written from outside
// (ns/userns.hpp): by us with CAP_SETUID/CAP_SETGID, else by newuidmap/newgidmap.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spec/spec.hpp"

namespace sb {

// "<inside> <outside> 1\n", the only map an unprivileged process may write for itself.
std::string single_id_map(uint32_t inside, uint32_t outside);

// True when `map` (uid_map/gid_map text) maps `inside` to `outside`.
bool map_contains(const std::string& map, uint32_t inside, uint32_t outside);

// The kernel's limit on the lines of one map (Linux 4.15+; 5 before).
inline constexpr size_t kMaxIdMapRanges = 340;

// Why the kernel would refuse these ranges as one map, or nullopt when it would take them:
// a size of 0, a range that runs past the last id (4294967294), one whose ids inside or
// outside overlap another's, more than kMaxIdMapRanges. `index` is the range at fault (-1:
// the map as a whole).
struct RangeProblem {
  int index = -1;
  std::string why;
};
std::optional<RangeProblem> check_ranges(const std::vector<IdRange>& ranges);

// True when `inside` is in one of the ranges.
bool ranges_map(const std::vector<IdRange>& ranges, uint32_t inside);

// The map file's text: one "<inside> <outside> <count>" line per range, in order.
std::string format_map(const std::vector<IdRange>& ranges);

// argv for newuidmap/newgidmap: HELPER PID inside outside count [...].
std::vector<std::string> newidmap_argv(const std::string& helper, pid_t pid,
                                       const std::vector<IdRange>& ranges);

}  // namespace sb
