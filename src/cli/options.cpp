#include "cli/options.hpp"

#include <cap-ng.h>
#include <linux/capability.h>
#include <strings.h>
#include <unistd.h>

#include <climits>

#include "util/error.hpp"
#include "util/log.hpp"
#include "util/parse.hpp"

namespace sb::cli {
namespace {

using Args = std::vector<std::string>;

// ---- handlers --------------------------------------------------------------------------

void bind_op(Parser& p, const Args& a, BindOp::Mode mode, bool try_, std::string_view opt) {
  p.spec.fs.emplace_back(BindOp{p.source_path(a[0]), Parser::dest_path(a[1]), mode, try_,
                                std::string(opt)});
}

uint32_t parse_id(const std::string& opt, const std::string& v) {
  // (uid_t)-1 is "no change" to the kernel; never accept it as an id.
  auto n = parse::unsigned_dec(v, UINT32_MAX - 1);
  if (!n) throw Error(opt + ": invalid id '" + v + "'");
  return static_cast<uint32_t>(*n);
}

int parse_cap(const std::string& opt, const std::string& v) {
  if (strcasecmp(v.c_str(), "ALL") == 0) return -1;
  std::string name = v;
  if (name.size() > 4 && strncasecmp(name.c_str(), "CAP_", 4) == 0) name = name.substr(4);
  int cap = capng_name_to_capability(name.c_str());
  if (cap < 0 || cap > CAP_LAST_CAP)
    throw Error(opt + ": unknown capability '" + v + "'");
  return cap;
}

void check_env_name(const std::string& opt, const std::string& name) {
  if (name.empty() || name.find('=') != std::string::npos)
    throw Error(opt + ": invalid variable name '" + name + "'");
}

#define H(body) [](Parser & p, const Args& a) { (void)p; (void)a; body; }

const std::vector<OptionDef> kTable = {
    // ---- General ----
    {"--help", {}, Section::General, "Print this help and exit", H(p.spec.show_help = true)},
    {"--version", {}, Section::General, "Print the version and exit",
     H(p.spec.show_version = true)},
    {"--level-prefix", {}, Section::General,
     "Prefix each diagnostic with a syslog level such as <3>",
     H(p.spec.level_prefix = true; log::set_level_prefix(true))},

    // ---- Namespaces ----
    {"--unshare-user", {}, Section::Namespaces,
     "Create a new user namespace (always done for a non-root caller)",
     H(p.spec.unshare_user = true)},
    {"--unshare-user-try", {}, Section::Namespaces,
     "Create a new user namespace if possible, else continue without",
     H(p.spec.unshare_user_try = true)},
    {"--unshare-ipc", {}, Section::Namespaces, "Create a new IPC namespace",
     H(p.spec.unshare_ipc = true)},
    {"--unshare-pid", {}, Section::Namespaces,
     "Create a new PID namespace (a small init becomes pid 1 unless --as-pid-1)",
     H(p.spec.unshare_pid = true)},
    {"--unshare-net", {}, Section::Namespaces,
     "Create a new network namespace with only the loopback interface, up",
     H(p.spec.unshare_net = true)},
    {"--unshare-uts", {}, Section::Namespaces, "Create a new UTS namespace (hostname)",
     H(p.spec.unshare_uts = true)},
    {"--unshare-cgroup", {}, Section::Namespaces, "Create a new cgroup namespace",
     H(p.spec.unshare_cgroup = true)},
    {"--unshare-cgroup-try", {}, Section::Namespaces,
     "Create a new cgroup namespace if the kernel supports it",
     H(p.spec.unshare_cgroup_try = true)},
    {"--unshare-all", {}, Section::Namespaces,
     "Unshare every namespace: user (try), ipc, pid, net, uts, cgroup (try)",
     H(p.spec.unshare_user_try = p.spec.unshare_ipc = p.spec.unshare_pid = p.spec.unshare_net =
           p.spec.unshare_uts = p.spec.unshare_cgroup_try = true)},
    {"--share-net", {}, Section::Namespaces, "Keep the host network namespace (after --unshare-all)",
     H(p.spec.unshare_net = false)},
    {"--uid", {{"UID", ArgKind::Number}}, Section::Namespaces,
     "User id inside the sandbox (default: the caller's)",
     H(p.spec.uid = parse_id("--uid", a[0]))},
    {"--gid", {{"GID", ArgKind::Number}}, Section::Namespaces,
     "Group id inside the sandbox (default: the caller's)",
     H(p.spec.gid = parse_id("--gid", a[0]))},
    {"--hostname", {{"NAME", ArgKind::Name}}, Section::Namespaces,
     "Hostname inside the sandbox (requires --unshare-uts)", H({
       if (a[0].empty() || a[0].size() > HOST_NAME_MAX)
         throw Error("--hostname: '" + a[0] + "' must be 1 to " +
                     std::to_string(HOST_NAME_MAX) + " characters");
       p.spec.hostname = a[0];
     })},

    // ---- Filesystem ----
    {"--bind", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Bind mount the host path SRC on DEST (submounts included, device nodes unusable)",
     H(bind_op(p, a, BindOp::Mode::ReadWrite, false, "--bind"))},
    {"--bind-try", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Like --bind, but skip it if SRC does not exist",
     H(bind_op(p, a, BindOp::Mode::ReadWrite, true, "--bind-try"))},
    {"--dev-bind", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Bind mount SRC on DEST, allowing device access",
     H(bind_op(p, a, BindOp::Mode::Devices, false, "--dev-bind"))},
    {"--dev-bind-try", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}},
     Section::Filesystem, "Like --dev-bind, but skip it if SRC does not exist",
     H(bind_op(p, a, BindOp::Mode::Devices, true, "--dev-bind-try"))},
    {"--ro-bind", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Bind mount SRC read-only on DEST, every submount read-only too",
     H(bind_op(p, a, BindOp::Mode::ReadOnly, false, "--ro-bind"))},
    {"--ro-bind-try", {{"SRC", ArgKind::HostPath}, {"DEST", ArgKind::Path}},
     Section::Filesystem, "Like --ro-bind, but skip it if SRC does not exist",
     H(bind_op(p, a, BindOp::Mode::ReadOnly, true, "--ro-bind-try"))},
    {"--remount-ro", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Make the mount at DEST read-only",
     H(p.spec.fs.emplace_back(RemountRoOp{Parser::dest_path(a[0])}))},
    {"--proc", {{"DEST", ArgKind::Path}}, Section::Filesystem, "Mount a new procfs on DEST",
     H(p.spec.fs.emplace_back(ProcOp{Parser::dest_path(a[0])}))},
    {"--dev", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Mount a minimal private /dev on DEST (null, zero, full, random, urandom, tty, pts, shm)",
     H(p.spec.fs.emplace_back(DevOp{Parser::dest_path(a[0])}))},
    {"--tmpfs", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Mount a new tmpfs on DEST (mode from --perms, size from --size)", H({
       p.spec.fs.emplace_back(TmpfsOp{Parser::dest_path(a[0]), p.take_perms(), p.take_size()});
     })},
    {"--mqueue", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Mount a new mqueue filesystem on DEST (use with --unshare-ipc)",
     H(p.spec.fs.emplace_back(MqueueOp{Parser::dest_path(a[0])}))},
    {"--dir", {{"DEST", ArgKind::Path}}, Section::Filesystem,
     "Create a directory at DEST (mode from --perms, default 0755)",
     H(p.spec.fs.emplace_back(DirOp{Parser::dest_path(a[0]), p.take_perms()}))},
    {"--symlink", {{"TARGET", ArgKind::Text}, {"DEST", ArgKind::Path}}, Section::Filesystem,
     "Create a symlink at DEST pointing to TARGET",
     H(p.spec.fs.emplace_back(SymlinkOp{a[0], Parser::dest_path(a[1])}))},
    {"--chmod", {{"OCTAL", ArgKind::Octal}, {"PATH", ArgKind::Path}}, Section::Filesystem,
     "Change the permissions of PATH inside the sandbox", H({
       auto m = parse::octal_mode(a[0]);
       if (!m) throw Error("--chmod: '" + a[0] + "' is not an octal mode (0000 to 7777)");
       p.spec.fs.emplace_back(ChmodOp{*m, Parser::dest_path(a[1])});
     })},
    {"--perms", {{"OCTAL", ArgKind::Octal}}, Section::Filesystem,
     "Permissions for the next --dir or --tmpfs", H({
       if (p.next_perms) throw Error("--perms given twice for the same operation");
       auto m = parse::octal_mode(a[0]);
       if (!m) throw Error("--perms: '" + a[0] + "' is not an octal mode (0000 to 7777)");
       p.next_perms = *m;
     })},
    {"--size", {{"BYTES", ArgKind::Bytes}}, Section::Filesystem,
     "Size limit of the next --tmpfs, in bytes (K, M, G suffixes allowed)", H({
       if (p.next_size) throw Error("--size given twice for the same operation");
       auto n = parse::byte_size(a[0]);
       if (!n) throw Error("--size: '" + a[0] + "' is not a positive size in bytes");
       p.next_size = *n;
     })},

    // ---- Process ----
    {"--chdir", {{"DIR", ArgKind::Path}}, Section::Process,
     "Working directory inside (default: the current one if it exists inside, else /)", H({
       if (p.spec.chdir)
         log::warning("Only the last --chdir option will take effect (" + a[0] + ")");
       p.spec.chdir = a[0];
     })},
    {"--setenv", {{"VAR", ArgKind::Text}, {"VALUE", ArgKind::Text}}, Section::Process,
     "Set an environment variable", H({
       check_env_name("--setenv", a[0]);
       p.spec.env.push_back({EnvEdit::Kind::Set, a[0], a[1]});
     })},
    {"--unsetenv", {{"VAR", ArgKind::Text}}, Section::Process, "Unset an environment variable",
     H({
       check_env_name("--unsetenv", a[0]);
       p.spec.env.push_back({EnvEdit::Kind::Unset, a[0], {}});
     })},
    {"--clearenv", {}, Section::Process,
     "Unset every environment variable except PWD and those set after it",
     H(p.spec.env.push_back({EnvEdit::Kind::Clear, {}, {}}))},
    {"--argv0", {{"VALUE", ArgKind::Text}}, Section::Process,
     "Set argv[0] of the command to VALUE", H(p.spec.argv0 = a[0])},
    {"--new-session", {}, Section::Process,
     "Run the command in a new terminal session (protects the caller's tty from TIOCSTI)",
     H(p.spec.new_session = true)},
    {"--die-with-parent", {}, Section::Process,
     "Kill the command when the process that started sandbox dies",
     H(p.spec.die_with_parent = true)},
    {"--as-pid-1", {}, Section::Process,
     "Run the command as pid 1 of the PID namespace, without an init (needs --unshare-pid)",
     H(p.spec.as_pid_1 = true)},
    {"--lock-file", {{"DEST", ArgKind::Path}}, Section::Process,
     "Hold a read lock on DEST (inside) while the sandbox runs",
     H(p.spec.lock_files.push_back(Parser::dest_path(a[0])))},
    {"--cap-add", {{"CAP", ArgKind::Cap}}, Section::Process,
     "Keep capability CAP (name or ALL) in the sandbox",
     H(p.spec.caps.push_back({true, parse_cap("--cap-add", a[0])}))},
    {"--cap-drop", {{"CAP", ArgKind::Cap}}, Section::Process,
     "Drop capability CAP (name or ALL) in the sandbox",
     H(p.spec.caps.push_back({false, parse_cap("--cap-drop", a[0])}))},
};
#undef H

bool takes_perms(std::string_view n) { return n == "--dir" || n == "--tmpfs"; }
bool takes_size(std::string_view n) { return n == "--tmpfs"; }

std::string arg_list(const OptionDef& o) {
  std::string s;
  for (const auto& a : o.args) {
    if (!s.empty()) s += ' ';
    s += a.name;
  }
  return s;
}

}  // namespace

std::string_view section_title(Section s) {
  switch (s) {
    case Section::General: return "General";
    case Section::Namespaces: return "Namespaces";
    case Section::Filesystem: return "Filesystem (applied in command-line order)";
    case Section::Process: return "Process";
  }
  return "";
}

const std::vector<OptionDef>& option_table() { return kTable; }

const OptionDef* find_option(std::string_view name) {
  for (const auto& o : kTable)
    if (o.name == name) return &o;
  return nullptr;
}

std::string Parser::source_path(const std::string& p) const {
  if (p.empty()) throw Error("Empty source path");
  if (p[0] == '/') return p;
  return (cwd == "/" ? std::string() : cwd) + "/" + p;
}

std::string Parser::dest_path(const std::string& p) {
  if (p.empty()) throw Error("Empty destination path");
  // Like bwrap, destinations are always relative to the new root.
  return p[0] == '/' ? p : "/" + p;
}

Spec parse(const std::vector<std::string>& args) {
  Parser p;
  if (char buf[PATH_MAX]; ::getcwd(buf, sizeof buf)) p.cwd = buf;
  else p.cwd = "/";

  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || arg[0] != '-') break;  // the command starts here
    const OptionDef* o = find_option(arg);
    if (!o) throw Error("Unknown option " + arg);
    if (args.size() - i - 1 < o->args.size())
      throw Error(std::string(o->name) + " takes " + std::to_string(o->args.size()) +
                  (o->args.size() == 1 ? " argument" : " arguments") + " (" + arg_list(*o) +
                  ")");
    std::vector<std::string> vals(args.begin() + static_cast<long>(i) + 1,
                                  args.begin() + static_cast<long>(i + 1 + o->args.size()));
    bool modifier = o->name == "--perms" || o->name == "--size";
    if (!modifier) {
      if (p.next_perms && !takes_perms(o->name))
        throw Error("--perms must be followed by --dir or --tmpfs, not " + arg);
      if (p.next_size && !takes_size(o->name))
        throw Error("--size must be followed by --tmpfs, not " + arg);
    }
    o->handler(p, vals);
    if (p.spec.show_help || p.spec.show_version) return std::move(p.spec);
    i += o->args.size();
  }
  if (p.next_perms) throw Error("--perms must be followed by --dir or --tmpfs");
  if (p.next_size) throw Error("--size must be followed by --tmpfs");
  p.spec.command.assign(args.begin() + static_cast<long>(std::min(i, args.size())), args.end());
  return std::move(p.spec);
}

std::string usage_text(std::string_view prog) {
  std::string s = "usage: " + std::string(prog) + " [OPTIONS...] [--] COMMAND [ARGS...]\n";
  s += "\nRun COMMAND in a new root built from the filesystem options, in new namespaces,\n"
       "with no capabilities and no_new_privs. Works without root.\n";
  for (Section sec : {Section::General, Section::Namespaces, Section::Filesystem,
                      Section::Process}) {
    s += "\n";
    s += section_title(sec);
    s += ":\n";
    for (const auto& o : kTable) {
      if (o.section != sec) continue;
      std::string left = "  " + std::string(o.name);
      if (!o.args.empty()) left += " " + arg_list(o);
      if (left.size() < 30) left.resize(30, ' ');
      else left += "\n" + std::string(30, ' ');
      s += left;
      s += o.help;
      s += "\n";
    }
  }
  return s;
}

}  // namespace sb::cli
