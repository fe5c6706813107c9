#include "cli/profile.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <set>

#include "cli/options.hpp"
#include "util/datadir.hpp"
#include "util/error.hpp"
#include "util/path.hpp"
#include "util/log.hpp"
#include "util/suggest.hpp"


namespace sb::cli {
namespace {

constexpr int kMaxIncludeDepth = 8;

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Splits a line into words: blanks separate, "double" and 'single' quotes group, a
// backslash escapes the next character (outside single quotes).
std::vector<std::string> split_words(const std::string& line, const std::string& where) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        cur += line[++i];
      } else {
        cur += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) throw Error(where + ": unterminated quote");
  if (in_word) words.push_back(std::move(cur));
  return words;
}

std::string expand(const std::string& word, const std::map<std::string, std::string>& vars,
                   const std::string& where) {
  std::string out;
  for (size_t i = 0; i < word.size(); ++i) {
    if (word[i] == '$' && i + 1 < word.size() && word[i + 1] == '{') {
      size_t end = word.find('}', i + 2);
      if (end == std::string::npos) throw Error(where + ": unterminated ${ in '" + word + "'");
      std::string name = word.substr(i + 2, end - i - 2);
      auto it = vars.find(name);
      if (it == vars.end())
        throw Error(where + ": unknown variable ${" + name +
                    "} (known: ${HOME}, ${PWD}, ${XDG_RUNTIME_DIR}, ${UID}, ${APP})");
      if (it->second.empty()) throw Error(where + ": ${" + name + "} is not set");
      out += it->second;
      i = end;
    } else {
      out += word[i];
    }
  }
  return out;
}

// "optional NAME WHAT...": lines of this file that use ${NAME} are skipped when NAME is
// unset, with one note saying what the sandbox runs without (e.g. the desktop profile
// without XDG_RUNTIME_DIR under `su -`, ssh without logind, CI).
struct LoadState {
  std::set<std::string> active;  // files being read (include cycles)
  std::set<std::string> noted;   // optional variables already reported
  std::function<void(const std::string&)> warn;
};

bool uses_var(const std::vector<std::string>& words, const std::string& name) {
  std::string ref = "${" + name + "}";
  return std::any_of(words.begin(), words.end(),
                     [&](const std::string& w) { return w.find(ref) != std::string::npos; });
}

// Without trailing slashes (but "/"), as path_at_or_below compares.
std::string_view without_trailing_slashes(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}

// "refuse-cwd-containing PATH...": a profile that makes the current directory writable
// (agent, build) must not be run from / or $HOME, where that would hand the whole tree over.
void refuse_cwd_containing(const std::vector<std::string>& words,
                           const std::map<std::string, std::string>& vars,
                           const std::string& where) {
  auto pwd = vars.find("PWD");
  if (pwd == vars.end() || pwd->second.empty() || pwd->second[0] != '/')
    throw Error(where + ": refuse-cwd-containing: the current directory is unknown");
  for (size_t k = 1; k < words.size(); ++k) {
    std::string p = expand(words[k], vars, where);
    if (p.empty() || p[0] != '/')
      throw Error(where + ": refuse-cwd-containing: '" + p + "' is not an absolute path");
    // The current directory is a real path (getcwd); so is `p` where it exists.
    char real[PATH_MAX];
    if (::realpath(p.c_str(), real)) p = real;
    // Security: a profile that binds ${PWD} writable would expose all of `p` from here.
    if (path_at_or_below(without_trailing_slashes(p), without_trailing_slashes(pwd->second)))
      throw Error(where + ": this profile makes the current directory writable, and " +
                  (pwd->second == p ? "it is " + p : "it (" + pwd->second + ") contains " + p) +
                  "; run it from the project's own directory");
  }
}

void load(const std::string& path, const std::map<std::string, std::string>& vars, int depth,
          LoadState& st, std::vector<std::string>& out) {
  auto& active = st.active;
  std::map<std::string, std::string> optional;  // NAME -> what is left out without it
  size_t last_start = out.size();  // where the last option line of this file starts in out
  std::string last_opt;
  if (depth > kMaxIncludeDepth)
    throw Error(path + ": includes nested more than " + std::to_string(kMaxIncludeDepth) +
                " levels deep");
  char real[PATH_MAX];
  std::string key = ::realpath(path.c_str(), real) ? real : path;
  if (active.count(key)) throw Error(path + ": includes itself");
  std::ifstream in(path);
  if (!in) throw Error("Can't read profile " + path);
  active.insert(key);
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    std::string where = path + ":" + std::to_string(lineno);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;  // blank or comment
    auto words = split_words(line, where);
    if (words.empty()) continue;
    if (words[0] == "optional") {
      if (words.size() < 3) throw Error(where + ": optional takes a variable name and what it gives");
      if (!vars.count(words[1]))
        throw Error(where + ": optional: unknown variable " + words[1]);
      std::string what;
      for (size_t k = 2; k < words.size(); ++k) what += (k > 2 ? " " : "") + words[k];
      optional[words[1]] = what;
      continue;
    }
    bool skip = false;
    for (const auto& [name, what] : optional) {
      auto it = vars.find(name);
      if ((it == vars.end() || it->second.empty()) && uses_var(words, name)) {
        skip = true;
        if (st.noted.insert(name).second)
          st.warn(name + " is not set: running without " + what + " (" + path + ")");
      }
    }
    if (skip) {
      // A --perms or --size just before belonged to the skipped operation.
      if (last_opt == "--perms" || last_opt == "--size") out.resize(last_start);
      last_opt.clear();
      continue;
    }
    if (words[0] == "refuse-cwd-containing") {
      if (words.size() < 2) throw Error(where + ": refuse-cwd-containing takes one or more paths");
      refuse_cwd_containing(words, vars, where);
      continue;
    }
    if (words[0] == "include") {
      if (words.size() != 2) throw Error(where + ": include takes one profile name or path");
      std::string target = expand(words[1], vars, where);
      std::string resolved;
      if (target.find('/') == std::string::npos) {
        // A bare name is looked up next to the including file first.
        std::string dir = path.substr(0, path.find_last_of('/') + 1);
        for (const auto& cand : {dir + target, dir + target + ".profile"})
          if (is_file(cand)) {
            resolved = cand;
            break;
          }
      }
      try {
        if (resolved.empty()) resolved = find_profile(target);
      } catch (const Error& e) {
        throw Error(where + ": " + e.what());
      }
      load(resolved, vars, depth + 1, st, out);
      last_opt.clear();
      continue;
    }
    const OptionDef* o = find_option(words[0]);
    if (!o) throw Error(where + ": unknown option " + words[0]);
    if (words.size() != o->args.size() + 1)
      throw Error(where + ": " + words[0] + " takes " + std::to_string(o->args.size()) +
                  (o->args.size() == 1 ? " argument" : " arguments") + ", got " +
                  std::to_string(words.size() - 1));
    last_start = out.size();
    last_opt = words[0];
    for (auto& w : words) out.push_back(expand(w, vars, where));
  }
  active.erase(key);
}

}  // namespace

std::vector<std::string> profile_dirs() {
  std::vector<std::string> dirs;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    dirs.push_back(std::string(x) + "/sandbox/profiles");
  else if (const char* h = std::getenv("HOME"); h && *h)
    dirs.push_back(std::string(h) + "/.config/sandbox/profiles");
  for (auto& d : datadir::dirs("profiles")) dirs.push_back(std::move(d));
  return dirs;
}

std::string find_profile(const std::string& name) {
  if (name.empty()) throw Error("--profile: empty profile name");
  if (name.find('/') != std::string::npos) {
    if (!is_file(name)) throw Error("--profile: no profile file " + name);
    return name;
  }
  auto dirs = profile_dirs();
  for (const auto& d : dirs) {
    for (const auto& cand : {d + "/" + name + ".profile", d + "/" + name})
      if (is_file(cand)) return cand;
  }
  auto names = list_profiles();
  std::string msg = "--profile: no profile named '" + name + "'" +
                    suggest::did_you_mean(name, names) + " in " + datadir::join_or(dirs);
  if (names.empty()) {
    msg += " (no profiles there at all)";
  } else {
    msg += " (available:";
    for (const auto& n : names) msg += " " + n;
    msg += ")";
  }
  throw Error(msg);
}

std::vector<std::string> list_profiles() {
  std::set<std::string> names;
  for (const auto& d : profile_dirs()) {
    DIR* dir = ::opendir(d.c_str());
    if (!dir) continue;
    while (dirent* e = ::readdir(dir)) {
      std::string n = e->d_name;
      if (n.size() > 8 && n.compare(n.size() - 8, 8, ".profile") == 0)
        names.insert(n.substr(0, n.size() - 8));
    }
    ::closedir(dir);
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> load_profile(const std::string& path,
                                      const std::map<std::string, std::string>& vars,
                                      const std::function<void(const std::string&)>& warn) {
  std::vector<std::string> out;
  LoadState st;
  st.warn = warn ? warn : [](const std::string& w) { log::warning(w); };
  load(path, vars, 0, st, out);
  return out;
}

std::map<std::string, std::string> profile_vars(const std::string& cwd) {
  auto env = [](const char* n) {
    const char* v = std::getenv(n);
    return std::string(v ? v : "");
  };
  std::string app = env("SANDBOX_APP");
  return {{"HOME", env("HOME")},
          {"PWD", cwd},
          {"APP", app.empty() ? "default" : app},
          {"XDG_RUNTIME_DIR", env("XDG_RUNTIME_DIR")},
          {"UID", std::to_string(::getuid())}};
}

}  // namespace sb::cli
