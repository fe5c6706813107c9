// The runtime commands' options, as runc spells them: "--name value", "--name=value", a short
// alias ("-b value"), or a flag. One reader for every command (create, run, kill, exec...).
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace sb::oci {

struct OptDef {
  const char* name;
  const char* alias;  // nullptr: none
  bool takes_value;
};

struct OptWord {
  const OptDef* def;
  std::string value;  // "" for a flag
};

// Reads the option at words[i], moving `i` past a separate value. Errors name `cmd`: an
// unknown option, a missing value, a value given to a flag.
OptWord read_option(const std::string& cmd, const std::vector<std::string>& words, size_t& i,
                    std::span<const OptDef> defs);

}  // namespace sb::oci
