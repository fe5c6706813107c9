// RAII owner of a file descriptor.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

struct msghdr;

namespace sb {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Closes every descriptor but those in `keep` (negative entries ignored), with as few
// close_range calls as there are gaps (Linux 5.9).
inline void close_all_except(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned next = 0;
  for (int k : keep) {
    if (k < 0 || static_cast<unsigned>(k) < next) continue;
    if (static_cast<unsigned>(k) > next) ::close_range(next, static_cast<unsigned>(k) - 1, 0);
    next = static_cast<unsigned>(k) + 1;
  }
  ::close_range(next, ~0U, 0);
}

// The SCM_RIGHTS descriptors of a received message (recvmsg), in order, owned.
std::vector<UniqueFd> received_fds(msghdr& msg);

}  // namespace sb
