#include "util/shell.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace sb::shell {

std::string single_quote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string quote(std::string_view word) {
  bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) {
    return std::isalnum(c) || (c != '\0' && std::strchr("-_./:=@%+,", c));
  });
  return plain ? std::string(word) : single_quote(word);
}

}  // namespace sb::shell
