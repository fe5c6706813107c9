// Errors that carry what failed, on which path and why, so that every diagnostic
// names the operation and the path ("Can't bind mount /x on /y: No such file or directory").
#pragma once
#include <cerrno>
#include <stdexcept>
#include <string>

namespace sb {

// A user-facing error without errno (bad option, bad value).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A failed system call: message is "<what>: <strerror(err)>".
class SysError : public Error {
 public:
  SysError(const std::string& what, int err);
  int err() const { return err_; }

 private:
  int err_;
};

// Throws SysError with the current errno.
[[noreturn]] void throw_errno(const std::string& what);

// Returns the value or throws SysError(what) when it is negative.
template <typename T>
T check(T ret, const std::string& what) {
  if (ret < 0) throw_errno(what);
  return ret;
}

}  // namespace sb
