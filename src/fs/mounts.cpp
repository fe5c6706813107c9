#include "fs/mounts.hpp"

#include <sstream>

namespace sb::fs {
namespace {

// Decodes the octal escapes mountinfo uses for spaces and the like.
std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '7') ok = false;
        else v = v * 8 + (c - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::vector<MountPoint> parse_mount_points(std::istream& mountinfo) {
  std::vector<MountPoint> out;
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mp, rest, fstype;
    ls >> id >> parent >> devno >> root >> mp;
    while (ls >> rest && rest != "-") {
    }
    ls >> fstype;
    out.push_back({unescape_mountinfo(mp), fstype});
  }
  return out;
}

}  // namespace sb::fs
