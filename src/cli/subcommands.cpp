#include "cli/subcommands.hpp"

#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "host/apparmor.hpp"
#include "doctor/doctor.hpp"
#include "security/caps.hpp"
#include "security/seccomp.hpp"
#include "util/log.hpp"

namespace sb::cli {
namespace {

void check_arch(const std::string& name) {
  if (!security::seccomp_arch_from_name(name))
    throw Error("unknown architecture '" + name + "'");
}

// seccomp-compile --cap-add: CAP_SYS_ADMIN, sys_admin or ALL (-1), as the main option takes it.
int cap_number(const std::string& v) {
  if (strcasecmp(v.c_str(), "ALL") == 0) return -1;
  std::string name = v;
  if (name.size() > 4 && strncasecmp(name.c_str(), "CAP_", 4) == 0) name = name.substr(4);
  int cap = security::capability_from_name(name);
  if (cap < 0 || cap > 63) throw Error("unknown capability '" + v + "'");
  return cap;
}

void check_cap(const std::string& v) { (void)cap_number(v); }

int run_doctor(const SubcommandTable& t, const std::vector<std::string>& args);
int run_seccomp_compile(const SubcommandTable& t, const std::vector<std::string>& args);

// Every subcommand takes --help (and -h), which prints subcommand_usage().
constexpr SubOptionDef kHelp = {.name = "--help", .help = "Show this help and exit",
                                .ends = true, .alias = "-h"};

const std::vector<SubcommandTable> kTables = {
    {
        .name = "doctor",
        .positional = std::nullopt,
        .usage_suffix = "",
        .description =
            "Check what this host lets you do, by trying each thing in a short-lived child:\n"
            "user namespaces, mount namespaces, overlayfs, the new mount API, cgroup2 delegation,\n"
            "the systemd manager, pasta/slirp4netns and /dev/net/tun, seccomp, Landlock, clone3,\n"
            "and Ubuntu's AppArmor restriction on user namespaces (with our profile's state).\n"
            "One line per check: OK, WARN (a feature that will not work, and the fix) or FAIL\n"
            "(sandboxes will not start). Exit status 0 unless something fails.\n",
        .options =
            {
                {.name = "--fake-root", .arg = "DIR", .kind = ArgKind::Dir,
                 .help = "(tests) read the AppArmor state under DIR/proc/sys, "
                         "DIR/sys/kernel/security and DIR/etc",
                 .internal = true},
                kHelp,
            },
        .notes = "",
        .run = run_doctor,
    },
    {
        .name = "seccomp-compile",
        .positional = PositionalDef{"PROFILE", ArgKind::SeccompProfile,
                                    "only one PROFILE can be compiled"},
        .usage_suffix = " > filter.bpf",
        .description =
            "Compile a seccomp profile (OCI / Docker JSON: a NAME from the installed profiles or a\n"
            "PATH containing '/') into the BPF program that --seccomp FD and --add-seccomp-fd FD\n"
            "load (an array of struct sock_filter), written to stdout.\n",
        .options =
            {
                {.name = "--arch", .arg = "ARCH", .kind = ArgKind::Name,
                 .help = "Architecture of the filter (x86_64, x86, x32, aarch64, arm...), "
                         "repeatable; default: this machine's plus the compat architectures "
                         "(x86, x32 on x86_64) the profile lists. Others are killed",
                 .values = security::seccomp_arch_names, .repeatable = true,
                 .check = check_arch},
                {.name = "--cap-add", .arg = "CAP", .kind = ArgKind::Cap,
                 .help = "Compile for a command holding CAP (CAP_SYS_ADMIN..., or ALL): the "
                         "profile's \"caps\" conditions see it; repeatable",
                 .repeatable = true, .check = check_cap},
                {.name = "--pfc", .help = "Write libseccomp's readable pseudo filter code instead"},
                {.name = "--list", .help = "List the installed profile NAMEs (what --seccomp-profile accepts) and exit",
                 .ends = true},
                kHelp,
            },
        .notes = "The compiled filter assumes the capabilities given with --cap-add, none by default\n"
                 "(profile \"caps\" conditions), and this kernel's version (\"minKernel\").\n",
        .run = run_seccomp_compile,
    },
};

// Appends `text` to `out` wrapped before `width` columns, continuation lines indented to
// `col` (where the first line's text starts too).
void wrap_at(std::string& out, std::string_view text, size_t col, size_t width = 88) {
  size_t line = col;
  bool first = true;
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view word = text.substr(i, j - i);
    if (!first && line + 1 + word.size() > width) {
      out += "\n" + std::string(col, ' ');
      line = col;
      first = true;
    }
    if (!first) {
      out += ' ';
      ++line;
    }
    out += word;
    line += word.size();
    first = false;
    i = j + 1;
  }
}

}  // namespace

const std::vector<SubcommandTable>& subcommand_tables() { return kTables; }

const SubcommandTable* find_subcommand(std::string_view name) {
  for (const auto& t : kTables)
    if (t.name == name) return &t;
  return nullptr;
}

const SubOptionDef* find_sub_option(const SubcommandTable& t, std::string_view word) {
  for (const auto& o : t.options)
    if (o.name == word || (!o.alias.empty() && o.alias == word)) return &o;
  return nullptr;
}

bool SubcommandArgs::has(std::string_view name) const {
  return std::any_of(options.begin(), options.end(),
                     [&](const auto& o) { return o.first == name; });
}

std::vector<std::string> SubcommandArgs::values(std::string_view name) const {
  std::vector<std::string> v;
  for (const auto& [n, value] : options)
    if (n == name) v.push_back(value);
  return v;
}

SubcommandArgs parse_subcommand(const SubcommandTable& t, const std::vector<std::string>& args) {
  using Kind = SubcommandError::Kind;
  SubcommandArgs r;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const SubOptionDef* o = find_sub_option(t, a);
    if (o && o->ends) {
      r.ended_by = o->name;
      return r;
    }
    if (o) {
      std::string value;
      if (!o->arg.empty()) {
        if (i + 1 >= args.size())
          throw SubcommandError(Kind::MissingArgument, std::string(o->name),
                                std::string(o->name) + " takes an argument (" +
                                    std::string(o->arg) + ")");
        value = args[++i];
        try {
          if (o->check) o->check(value);
        } catch (const Error& e) {
          throw SubcommandError(Kind::BadValue, value, std::string(o->name) + ": " + e.what());
        }
      }
      r.options.emplace_back(o->name, std::move(value));
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      throw SubcommandError(Kind::UnknownOption, a, "unknown option " + a);
    } else if (!t.positional) {
      throw SubcommandError(Kind::UnexpectedArgument, a, "unexpected argument '" + a + "'");
    } else if (r.positional) {
      throw SubcommandError(Kind::TooMany, a,
                            std::string(t.positional->too_many) + " (got '" + *r.positional +
                                "' and '" + a + "')");
    } else {
      r.positional = a;
    }
  }
  return r;
}

std::string subcommand_synopsis(const SubcommandTable& t) {
  std::string s;
  if (t.positional) s += t.positional->name;
  for (const auto& o : t.options) {
    if (o.ends || o.internal) continue;
    if (!s.empty()) s += ' ';
    s += "[" + std::string(o.name) + (o.arg.empty() ? "" : " " + std::string(o.arg)) + "]";
    if (o.repeatable) s += "...";
  }
  return s;
}

std::string subcommand_usage(const SubcommandTable& t, std::string_view prog) {
  std::string head = std::string(prog) + " " + std::string(t.name);
  // The synopsis wrapped before 88 columns between its items ("[--arch ARCH]..." stays
  // whole), continuation lines under the first item.
  std::vector<std::string> items;
  if (t.positional) items.emplace_back(t.positional->name);
  for (const auto& o : t.options) {
    if (o.ends || o.internal) continue;
    items.push_back("[" + std::string(o.name) + (o.arg.empty() ? "" : " " + std::string(o.arg)) +
                    "]" + (o.repeatable ? "..." : ""));
  }
  if (std::string_view suffix = t.usage_suffix; !suffix.empty()) {
    if (suffix.front() == ' ') suffix.remove_prefix(1);
    if (!items.empty()) items.back() += " " + std::string(suffix);  // "[--pfc] > filter.bpf"
    else items.emplace_back(suffix);
  }
  std::string s = "usage: " + head;
  const size_t indent = s.size() + 1;
  size_t line = s.size();
  for (const auto& item : items) {
    if (line >= indent && line + 1 + item.size() > 88) {
      s += "\n" + std::string(indent, ' ');
      line = indent;
    } else {
      s += ' ';
      ++line;
    }
    s += item;
    line += item.size();
  }
  s += "\n";
  // An option that ends the parsing and is not --help is a way of its own to call it.
  for (const auto& o : t.options)
    if (o.ends && o.name != kHelp.name) s += "       " + head + " " + std::string(o.name) + "\n";
  s += "\n" + std::string(t.description) + "\n";
  size_t col = 0;
  for (const auto& o : t.options)
    col = std::max(col, 2 + o.name.size() + (o.arg.empty() ? 0 : 1 + o.arg.size()) + 2);
  for (const auto& o : t.options) {
    std::string left = "  " + std::string(o.name) + (o.arg.empty() ? "" : " " + std::string(o.arg));
    left.resize(col, ' ');
    s += left;
    wrap_at(s, o.help, col);
    s += "\n";
  }
  if (!t.notes.empty()) s += "\n" + std::string(t.notes);
  return s;
}

namespace {

int run_doctor(const SubcommandTable& t, const std::vector<std::string>& args) {
  SubcommandArgs a;
  try {
    a = parse_subcommand(t, args);
  } catch (const SubcommandError& e) {
    log::error("doctor: unknown argument '" + e.word() + "' (see " + log::program_name() +
               " doctor --help)");
    return 1;
  }
  host::HostRoots roots;
  for (const auto& d : a.values("--fake-root"))
    roots = {d + "/proc/sys", d + "/sys/kernel/security", d + "/etc"};
  return host::doctor_main(roots);
}

int run_seccomp_compile(const SubcommandTable& t, const std::vector<std::string>& args) {
  try {
    SubcommandArgs a = parse_subcommand(t, args);
    security::SeccompCompileRequest req;
    req.list = a.ended_by == "--list";
    if (!req.list && !a.positional) {
      std::fputs(subcommand_usage(t, log::program_name()).c_str(), stderr);
      return 1;
    }
    req.profile = a.positional.value_or("");
    req.pfc = a.has("--pfc");
    for (const auto& name : a.values("--arch"))
      req.options.arches.push_back(security::seccomp_arch_from_name(name));
    for (const auto& name : a.values("--cap-add")) {
      const int cap = cap_number(name);
      req.options.caps |= cap < 0 ? security::all_caps() : security::CapSet{1} << cap;
    }
    return security::seccomp_compile_main(req);
  } catch (const std::exception& e) {
    log::error(std::string("seccomp-compile: ") + e.what());
    return 1;
  }
}

}  // namespace

int run_subcommand(const SubcommandTable& t, const std::vector<std::string>& args) {
  // --help first: it is the same for every subcommand.
  try {
    if (parse_subcommand(t, args).ended_by == kHelp.name) {
      std::fputs(subcommand_usage(t, log::program_name()).c_str(), stdout);
      return 0;
    }
  } catch (const SubcommandError&) {
    // Reported below, in the subcommand's own words.
  }
  return t.run(t, args);
}

}  // namespace sb::cli
