#include "util/parse.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <climits>

namespace sb::parse {

std::optional<uint64_t> unsigned_dec(std::string_view s, uint64_t max) {
  if (s.empty()) return std::nullopt;
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);  // leading zeros, as strtoul
  if (s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    unsigned d = static_cast<unsigned>(c - '0');
    if (d > max || v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<unsigned> octal_mode(std::string_view s) {
  if (s.empty()) return std::nullopt;
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);  // "000755" is 0755
  if (s.size() > 4) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return std::nullopt;
    v = v * 8 + static_cast<unsigned>(c - '0');
  }
  if (v > 07777) return std::nullopt;
  return v;
}

std::optional<uint64_t> byte_size(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t mult = 1;
  switch (s.back()) {
    case 'k': case 'K': mult = 1ULL << 10; break;
    case 'm': case 'M': mult = 1ULL << 20; break;
    case 'g': case 'G': mult = 1ULL << 30; break;
    case 't': case 'T': mult = 1ULL << 40; break;
    default: break;
  }
  if (mult != 1) s.remove_suffix(1);
  auto v = unsigned_dec(s, UINT64_MAX / mult);
  if (!v || *v == 0) return std::nullopt;
  return *v * mult;
}

std::optional<int> fd_number(std::string_view s) {
  auto v = unsigned_dec(s, INT_MAX);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

std::optional<uint64_t> number_file(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[32];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0 || n == static_cast<ssize_t>(sizeof buf)) return std::nullopt;
  std::string_view v(buf, static_cast<size_t>(n));
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  return unsigned_dec(v, UINT64_MAX);
}

}  // namespace sb::parse
