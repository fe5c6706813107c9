#include "oci/options.hpp"

#include "util/error.hpp"

namespace sb::oci {

OptWord read_option(const std::string& cmd, const std::vector<std::string>& words, size_t& i,
                    std::span<const OptDef> defs) {
  std::string w = words[i];
  std::string value;
  bool inline_value = false;
  if (size_t eq = w.find('='); eq != std::string::npos && w.rfind("--", 0) == 0) {
    value = w.substr(eq + 1);
    w = w.substr(0, eq);
    inline_value = true;
  }
  const OptDef* d = nullptr;
  for (const auto& o : defs)
    if (w == o.name || (o.alias && w == o.alias)) d = &o;
  if (!d) throw Error(cmd + ": unknown option " + w);
  if (d->takes_value && !inline_value) {
    if (i + 1 >= words.size()) throw Error(cmd + ": " + w + " takes an argument");
    value = words[++i];
  } else if (!d->takes_value && inline_value) {
    throw Error(cmd + ": " + w + " takes no argument");
  }
  return {d, value};
}

}  // namespace sb::oci
