#include "util/path.hpp"

namespace sb {

bool path_at_or_below(std::string_view p, std::string_view dir) {
  if (dir == "/") return true;
  return p == dir || (p.size() > dir.size() && p.substr(0, dir.size()) == dir && p[dir.size()] == '/');
}

}  // namespace sb
