#include "util/datadir.hpp"

#include <climits>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

#ifndef SANDBOX_DATADIR_FROM_BIN
#define SANDBOX_DATADIR_FROM_BIN "../share/sandbox"
#endif
#ifndef SANDBOX_BUILD_DIR
#define SANDBOX_BUILD_DIR ""
#endif
#ifndef SANDBOX_SOURCE_DIR
#define SANDBOX_SOURCE_DIR ""
#endif

namespace sb::datadir {

namespace {
std::string canonical_or_empty(const std::string& p) {
  if (p.empty()) return {};
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}
}  // namespace

std::vector<std::string> dirs_for(const std::string& exe, std::string_view sub,
                                  const std::string& rel, const std::string& build_dir,
                                  const std::string& source_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  if (!exe.empty() && exe[0] == '/') {
    fs::path bin = fs::path(exe).parent_path();
    out.push_back((bin / rel / sub).lexically_normal().string());
    // The source tree only for the binary of that build tree: an installed binary must
    // never read profiles (seccomp filters among them) from wherever it was built, a path
    // that on another machine may belong to anyone.
    std::string b = build_dir;
    while (b.size() > 1 && b.back() == '/') b.pop_back();
    if (!b.empty() && !source_dir.empty() && exe.compare(0, b.size() + 1, b + "/") == 0) {
      std::string src = (fs::path(source_dir) / sub).lexically_normal().string();
      if (src != out.front()) out.push_back(src);
    }
  }
  return out;
}

std::vector<std::string> dirs(std::string_view sub) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string exe = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  // /proc/self/exe is already canonical; the configured build dir may not be.
  static const std::string build = canonical_or_empty(SANDBOX_BUILD_DIR);
  return dirs_for(exe, sub, SANDBOX_DATADIR_FROM_BIN, build, SANDBOX_SOURCE_DIR);
}

std::string join_or(const std::vector<std::string>& dirs) {
  std::string s;
  for (size_t i = 0; i < dirs.size(); ++i)
    s += (i == 0 ? "" : i + 1 == dirs.size() ? " or " : ", ") + dirs[i];
  return s.empty() ? "(no directory: the path of the running binary is unknown)" : s;
}

}  // namespace sb::datadir
