// Pure path predicates on absolute, normalized paths (no "." or ".." components, no
// trailing slash but on "/"), compared by component, never by string prefix alone.
#pragma once
#include <string_view>

namespace sb {

// `p` is `dir` or lies below it ("/a/b" is below "/a"; "/ab" is not).
bool path_at_or_below(std::string_view p, std::string_view dir);

}  // namespace sb
