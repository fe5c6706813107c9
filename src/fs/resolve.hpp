// Path resolution for the new-root builder: opening a path below a directory fd as if that
// directory were "/" (openat2 RESOLVE_IN_ROOT, or an equivalent user-space walk on kernels
// before 5.6), and the lexical path pieces the builder needs.
#pragma once
#include <string>
#include <vector>

namespace sb::fs {

// The non-empty components of `p` ("/a//b/" -> {"a", "b"}); "." and ".." are kept.
std::vector<std::string> split_path(const std::string& p);

// "/a/b" -> "/a"; "/a" and "a" -> "/". Lexical only.
std::string parent_of(const std::string& p);
// "/a/b" -> "b"; "a" -> "a".
std::string base_of(const std::string& p);

// `p` with "." dropped and ".." taking off the previous component (never climbing above
// "/"), as an absolute path; "" when nothing is left (it names "/"). Lexical only.
std::string lexically_normal(const std::string& p);

// Opens paths below a root fd. Symlinks and ".." resolve as if the root were "/", so a path
// can never leave the tree it is meant for; every fd it returns is O_CLOEXEC.
class Resolver {
 public:
  explicit Resolver(bool use_openat2) : openat2_(use_openat2) {}
  bool uses_openat2() const { return openat2_; }
  // An fd or -1 with errno set, as openat(2). Without openat2 (Linux < 5.6, or the tests'
  // SANDBOX_TEST_LEGACY_MOUNT=1): a user-space walk, one component at a time with
  // O_NOFOLLOW, that restarts absolute symlinks at the root and never lets ".." above it.
  int open(int root, const std::string& path, int flags) const;

 private:
  bool openat2_;
};

}  // namespace sb::fs
