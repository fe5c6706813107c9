// ParseEnv for the unit tests: a fake (profiles and --args data from maps, warnings
// recorded) and parse_spec(), the real environment for tests about real descriptors and
// profile files.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "util/error.hpp"

namespace sb::test {

class FakeParseEnv : public cli::ParseEnv {
 public:
  std::string dir = "/work";
  std::map<int, std::string> args_data;                      // --args FD
  std::map<std::string, std::vector<std::string>> profiles;  // --profile NAME
  std::map<std::string, std::vector<std::string>> profile_notes;
  struct Warning {
    std::string text;
    bool level_prefix;
  };
  std::vector<Warning> warnings;

  std::string cwd() override { return dir; }
  std::string read_args_fd(int fd) override {
    auto it = args_data.find(fd);
    if (it == args_data.end()) throw Error("fake: no --args data for fd " + std::to_string(fd));
    return it->second;
  }
  std::vector<std::string> profile_args(
      const std::string& name, const std::string&,
      const std::function<void(const std::string&)>& warn) override {
    auto it = profiles.find(name);
    if (it == profiles.end()) throw Error("fake: no profile " + name);
    for (const auto& n : profile_notes[name]) warn(n);
    return it->second;
  }
  void warning(const std::string& msg, bool level_prefix) override {
    warnings.push_back({msg, level_prefix});
  }
};

// parse() with the real environment (getcwd, real descriptors, profile files, log).
inline cli::ParseResult parse_real(const std::vector<std::string>& args) {
  cli::SystemParseEnv env;
  return cli::parse(args, env);
}
inline Spec parse_spec(const std::vector<std::string>& args) { return parse_real(args).spec; }

}  // namespace sb::test
