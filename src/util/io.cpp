#include "util/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace sb::io {

int read_all(int fd, std::string& out, size_t max) {
  char buf[65536];
  while (out.size() <= max) {
    // Never more than one byte past the limit: enough to show it was exceeded.
    size_t room = max - out.size();
    size_t want = room < sizeof buf ? room + 1 : sizeof buf;
    ssize_t n = ::read(fd, buf, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return 0;
}

std::optional<std::string> read_file(const std::string& path, size_t max) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string s;
  if (int err = read_all(fd.get(), s, max)) {
    fd.reset();
    errno = err;
    return std::nullopt;
  }
  return s;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {

bool write_kernel(int dirfd, const std::string& name, std::string_view data,
                  const std::string& shown, bool missing_ok) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd && missing_ok && errno == ENOENT) return false;
  if (!fd) throw_errno("Can't open " + shown);
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n == static_cast<ssize_t>(data.size())) return true;
  std::string value(data);
  while (!value.empty() && value.back() == '\n') value.pop_back();
  // A kernel file that took part of the value took none of it as meant.
  throw SysError("Can't write '" + value + "' to " + shown, n < 0 ? errno : EIO);
}

}  // namespace

void write_kernel_file_at(int dirfd, const std::string& name, std::string_view data,
                          const std::string& shown) {
  write_kernel(dirfd, name, data, shown, false);
}

bool write_kernel_file_if_present_at(int dirfd, const std::string& name, std::string_view data,
                                     const std::string& shown) {
  return write_kernel(dirfd, name, data, shown, true);
}

void write_kernel_file(const std::string& path, std::string_view data) {
  write_kernel_file_at(AT_FDCWD, path, data, path);
}

void make_dirs(const std::string& path, mode_t mode) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos < path.size() && path[pos] != '/') continue;
    std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), mode) < 0 && errno != EEXIST) throw_errno("Can't create " + part);
  }
}

}  // namespace sb::io
