#include "ns/idmap.hpp"

#include <sstream>

namespace sb {

std::string single_id_map(uint32_t inside, uint32_t outside) {
  return std::to_string(inside) + " " + std::to_string(outside) + " 1\n";
}

bool map_contains(const std::string& map, uint32_t inside, uint32_t outside) {
  std::istringstream in(map);
  uint64_t first, lower, count;
  while (in >> first >> lower >> count) {
    if (inside >= first && inside - first < count && lower + (inside - first) == outside)
      return true;
  }
  return false;
}

std::optional<RangeProblem> check_ranges(const std::vector<IdRange>& ranges) {
  if (ranges.size() > kMaxIdMapRanges)
    return RangeProblem{-1, std::to_string(ranges.size()) + " ranges, more than the kernel's " +
                                std::to_string(kMaxIdMapRanges)};
  // The kernel's rules (kernel/user_namespace.c, map_write): ids run to 4294967294
  // (4294967295 is the invalid id), first + count must not wrap, and no two ranges may
  // share an id inside or outside.
  constexpr uint64_t kEnd = 0xffffffffULL;  // one past the last valid id
  for (size_t i = 0; i < ranges.size(); ++i) {
    const IdRange& r = ranges[i];
    int idx = static_cast<int>(i);
    if (r.count == 0) return RangeProblem{idx, "size 0"};
    if (uint64_t{r.inside} + r.count > kEnd)
      return RangeProblem{idx, "containerID " + std::to_string(r.inside) + " + size " +
                                   std::to_string(r.count) + " runs past the last id 4294967294"};
    if (uint64_t{r.outside} + r.count > kEnd)
      return RangeProblem{idx, "hostID " + std::to_string(r.outside) + " + size " +
                                   std::to_string(r.count) + " runs past the last id 4294967294"};
    for (size_t j = 0; j < i; ++j) {
      const IdRange& o = ranges[j];
      auto overlap = [](uint64_t a, uint64_t n, uint64_t b, uint64_t m) { return a < b + m && b < a + n; };
      if (overlap(r.inside, r.count, o.inside, o.count))
        return RangeProblem{idx, "its containerIDs overlap those of range " + std::to_string(j)};
      if (overlap(r.outside, r.count, o.outside, o.count))
        return RangeProblem{idx, "its hostIDs overlap those of range " + std::to_string(j)};
    }
  }
  return std::nullopt;
}

bool ranges_map(const std::vector<IdRange>& ranges, uint32_t inside) {
  for (const IdRange& r : ranges)
    if (inside >= r.inside && uint64_t{inside} - r.inside < r.count) return true;
  return false;
}

std::string format_map(const std::vector<IdRange>& ranges) {
  std::string out;
  for (const IdRange& r : ranges)
    out += std::to_string(r.inside) + " " + std::to_string(r.outside) + " " +
           std::to_string(r.count) + "\n";
  return out;
}

std::vector<std::string> newidmap_argv(const std::string& helper, pid_t pid,
                                       const std::vector<IdRange>& ranges) {
  std::vector<std::string> argv = {helper, std::to_string(pid)};
  for (const IdRange& r : ranges)
    for (uint32_t v : {r.inside, r.outside, r.count}) argv.push_back(std::to_string(v));
  return argv;
}

}  // namespace sb
