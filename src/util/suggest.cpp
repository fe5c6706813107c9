#include "util/suggest.hpp"

#include <algorithm>
#include <cstdint>

namespace sb::suggest {

namespace {
size_t distance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}
}  // namespace

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty()) return {};
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t dist = distance(word, c);
    if (dist < best_d) {
      best_d = dist;
      best = c;
    }
  }
  // Up to a third of the word (at least 1, at most 3) may be wrong.
  size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  return best_d <= limit ? best : std::string();
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string c = closest(word, candidates);
  return c.empty() ? std::string() : " (did you mean " + c + "?)";
}

}  // namespace sb::suggest
