// "did you mean" for mistyped option and profile names.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sb::suggest {

// The candidate closest to `word` by edit distance (Damerau: a swap of two neighbours
// costs 1), if it is close enough to be a likely typo; empty otherwise.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean X?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace sb::suggest
