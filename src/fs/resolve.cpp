#include "fs/resolve.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <deque>

#include "fs/mountapi.hpp"
#include "util/fd.hpp"

namespace sb::fs {
namespace {

bool same_inode(int a, int b) {
  struct stat sa, sb_;
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb_) == 0 && sa.st_dev == sb_.st_dev &&
         sa.st_ino == sb_.st_ino;
}

}  // namespace

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : p) {
    if (c == '/') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string parent_of(const std::string& p) {
  auto pos = p.find_last_of('/');
  if (pos == std::string::npos || pos == 0) return "/";
  return p.substr(0, pos);
}

std::string base_of(const std::string& p) {
  auto pos = p.find_last_of('/');
  return pos == std::string::npos ? p : p.substr(pos + 1);
}

std::string lexically_normal(const std::string& p) {
  std::vector<std::string> parts;
  for (auto& part : split_path(p)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(std::move(part));
    }
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out;
}

namespace {

// User-space equivalent of openat2(RESOLVE_IN_ROOT) for kernels older than 5.6.
int walk_in_root(int root, const std::string& path, int flags) {
  UniqueFd cur(::fcntl(root, F_DUPFD_CLOEXEC, 3));
  if (!cur) return -1;
  std::deque<std::string> comps;
  for (auto& c : split_path(path)) comps.push_back(c);
  int links = 0;
  while (!comps.empty()) {
    std::string c = std::move(comps.front());
    comps.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!same_inode(cur.get(), root)) {  // ".." never climbs above the root
        UniqueFd up(::openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!up) return -1;
        cur = std::move(up);
      }
      continue;
    }
    UniqueFd next(::openat(cur.get(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return -1;
    struct stat st;
    if (::fstat(next.get(), &st) < 0) return -1;
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) {
        errno = ELOOP;
        return -1;
      }
      char buf[PATH_MAX];
      ssize_t n = ::readlinkat(next.get(), "", buf, sizeof buf - 1);
      if (n < 0) return -1;
      std::string target(buf, static_cast<size_t>(n));
      auto parts = split_path(target);
      comps.insert(comps.begin(), parts.begin(), parts.end());
      if (!target.empty() && target[0] == '/') {
        UniqueFd r(::fcntl(root, F_DUPFD_CLOEXEC, 3));
        if (!r) return -1;
        cur = std::move(r);
      }
      continue;
    }
    if (comps.empty() && (flags & O_PATH) == 0)
      return ::openat(cur.get(), c.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
    if ((flags & O_DIRECTORY) && comps.empty() && !S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      return -1;
    }
    cur = std::move(next);
  }
  if ((flags & O_PATH) == 0) {
    return ::openat(cur.get(), ".", flags | O_CLOEXEC);
  }
  return cur.release();
}

}  // namespace

int Resolver::open(int root, const std::string& path, int flags) const {
  if (openat2_) {
    // RESOLVE_IN_ROOT: symlinks and ".." resolve as if `root` were "/", so a path can
    // never leave the tree it is meant for.
    return sys_openat2(root, path.c_str(), static_cast<uint64_t>(flags) | O_CLOEXEC, 0,
                       RESOLVE_IN_ROOT);
  }
  return walk_in_root(root, path, flags);
}

}  // namespace sb::fs
