#include "util/mountinfo.hpp"

#include "util/parse.hpp"

namespace sb::mountinfo {
namespace {

bool octal(char c) { return c >= '0' && c <= '7'; }

// Space-separated fields: the kernel escapes every space inside one.
std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::optional<int> id(std::string_view s) {
  auto v = parse::unsigned_dec(s, INT32_MAX);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

}  // namespace

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    // The first digit is at most 3: three octal digits of one byte (\000 to \377).
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
        octal(s[i + 2]) && octal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<Entry> parse_line(std::string_view line) {
  auto f = split(line);
  // Six fixed fields, optional fields ("shared:5"), "-", then type, source, options.
  size_t sep = 6;
  while (sep < f.size() && f[sep] != "-") ++sep;
  if (sep >= f.size() || f.size() - sep < 4) return std::nullopt;
  auto mount_id = id(f[0]);
  auto parent_id = id(f[1]);
  if (!mount_id || !parent_id) return std::nullopt;
  Entry e;
  e.mount_id = *mount_id;
  e.parent_id = *parent_id;
  e.root = unescape(f[3]);
  e.mountpoint = unescape(f[4]);
  e.mount_options = std::string(f[5]);
  e.fstype = unescape(f[sep + 1]);
  e.source = unescape(f[sep + 2]);
  e.super_options = std::string(f[sep + 3]);
  return e;
}

std::vector<Entry> parse(std::string_view text) {
  std::vector<Entry> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (auto e = parse_line(line)) out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace sb::mountinfo
