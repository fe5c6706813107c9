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

}  // namespace sb
