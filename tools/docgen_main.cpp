// sandbox-docgen: writes (--update) or verifies (--check) the documentation generated from
// the option table, or prints one piece of it (--print).
//
//   sandbox-docgen --update DIR   rewrite DIR/completions/* and the generated parts of
//                                 DIR/man/sandbox.1.scd and DIR/README.md
//   sandbox-docgen --check DIR    exit 1, naming each stale file, unless all are in sync
//   sandbox-docgen --print man|man-unsupported|readme|bash|zsh|fish|SUBCOMMAND
//                                 (SUBCOMMAND: its man page options, `--print doctor`)
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/docgen.hpp"
#include "cli/subcommands.hpp"
#include "util/error.hpp"

namespace docgen = sb::cli::docgen;

namespace {

struct Region {
  std::string begin, end;
  std::function<std::string()> generate;
};

// One file of the source tree and how to produce its up-to-date content.
struct Target {
  std::string rel;              // path relative to the source directory
  std::vector<Region> regions;  // empty: the whole file is generated
  std::function<std::string()> whole;
};

// The man page's regions: the option list, each subcommand's options, the bwrap options
// we lack.
std::vector<Region> man_regions() {
  std::vector<Region> r = {
      {std::string(docgen::kManBegin), std::string(docgen::kManEnd), docgen::man_options}};
  for (const auto& t : sb::cli::subcommand_tables()) {
    std::string name(t.name);
    r.push_back({docgen::man_subcommand_begin(name), docgen::man_subcommand_end(name),
                 [name] { return docgen::man_subcommand_options(name); }});
  }
  r.push_back({std::string(docgen::kManUnsupportedBegin),
               std::string(docgen::kManUnsupportedEnd), docgen::man_unsupported});
  return r;
}

std::vector<Target> targets() {
  return {
      {"completions/sandbox.bash", {}, docgen::bash_completion},
      {"completions/_sandbox", {}, docgen::zsh_completion},
      {"completions/sandbox.fish", {}, docgen::fish_completion},
      {"man/sandbox.1.scd", man_regions(), {}},
      {"README.md",
       {{std::string(docgen::kReadmeBegin), std::string(docgen::kReadmeEnd),
         docgen::readme_options}},
       {}},
  };
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

void write_file(const std::string& path, const std::string& content) {
  std::string tmp = path + ".docgen-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw sb::Error("can't write " + tmp);
    out << content;
    out.close();
    if (!out) throw sb::Error("can't write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw sb::Error("can't replace " + path);
  }
}

// The content `t` should have, given its current content (for marker regions).
std::string expected(const Target& t, const std::string& path, bool exists,
                     const std::string& current) {
  if (t.whole) return t.whole();
  if (!exists) throw sb::Error(path + ": no such file (it must contain the marker lines)");
  std::string text = current;
  for (const auto& r : t.regions) {
    try {
      text = docgen::replace_between_markers(text, r.begin, r.end, r.generate());
    } catch (const sb::Error& e) {
      throw sb::Error(path + ": " + e.what());
    }
  }
  return text;
}

// First differing line, to show what is stale.
std::string first_difference(const std::string& have, const std::string& want) {
  std::istringstream a(have), b(want);
  std::string la, lb;
  for (int line = 1;; ++line) {
    bool ga = static_cast<bool>(std::getline(a, la));
    bool gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) return "line endings differ";
    if (!ga || !gb || la != lb) {
      std::string s = "first difference at line " + std::to_string(line) + ":\n";
      s += "      - " + (ga ? la : std::string("(end of file)")) + "\n";
      s += "      + " + (gb ? lb : std::string("(end of file)"));
      return s;
    }
  }
}

int usage(int code) {
  std::fputs(
      "usage: sandbox-docgen --update DIR | --check DIR |\n"
      "                      --print man|man-unsupported|readme|bash|zsh|fish|SUBCOMMAND\n"
      "Generates the man page option list, the README option list and the shell\n"
      "completions from sandbox's option table.\n",
      code ? stderr : stdout);
  return code;
}

int run(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h"))
    return usage(0);
  if (argc != 3) return usage(2);
  std::string mode = argv[1], arg = argv[2];

  if (mode == "--print") {
    std::string s;
    if (arg == "man") s = docgen::man_options();
    else if (sb::cli::find_subcommand(arg)) s = docgen::man_subcommand_options(arg);
    else if (arg == "man-unsupported") s = docgen::man_unsupported();
    else if (arg == "readme") s = docgen::readme_options();
    else if (arg == "bash") s = docgen::bash_completion();
    else if (arg == "zsh") s = docgen::zsh_completion();
    else if (arg == "fish") s = docgen::fish_completion();
    else return usage(2);
    std::fputs(s.c_str(), stdout);
    return 0;
  }
  if (mode != "--update" && mode != "--check") return usage(2);

  const std::string dir = arg;
  int stale = 0, errors = 0;
  for (const Target& t : targets()) {
    const std::string path = dir + "/" + t.rel;
    std::string current;
    bool exists = read_file(path, current);
    std::string want;
    try {
      want = expected(t, path, exists, current);
    } catch (const sb::Error& e) {
      std::fprintf(stderr, "sandbox-docgen: %s\n", e.what());
      ++errors;
      continue;
    }
    if (exists && want == current) continue;
    if (mode == "--update") {
      write_file(path, want);
      std::printf("sandbox-docgen: updated %s\n", path.c_str());
    } else {
      ++stale;
      std::fprintf(stderr, "sandbox-docgen: %s is out of date with the option table; %s\n",
                   path.c_str(), exists ? first_difference(current, want).c_str() : "missing");
    }
  }
  if (stale)
    std::fprintf(stderr,
                 "sandbox-docgen: %d file%s out of date; run "
                 "`cmake --build build --target update-docs` and commit the result\n",
                 stale, stale == 1 ? " is" : "s are");
  return stale || errors ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sandbox-docgen: %s\n", e.what());
    return 1;
  }
}
