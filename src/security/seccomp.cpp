// Seccomp profiles: reading and validating the OCI / Docker JSON format, finding a profile
// by name, and the glue to the option parser, the launch sequence and seccomp-compile.
// The translation to libseccomp rules and the compilation live in seccomp_compile.cpp.
#include "security/seccomp.hpp"

#include <dirent.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "security/bpf.hpp"
#include "security/caps.hpp"
#include "util/datadir.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/suggest.hpp"


namespace sb::security {
namespace {

using json = nlohmann::json;

// Walks the JSON document; every failure names the file, the JSON path and the reason.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& why) const {
    throw Error(file_ + ": " + (path.empty() ? "" : path + ": ") + why);
  }

  static std::string key_path(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string index_path(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  // Unknown fields are errors: a misspelt "args" would silently turn a conditional rule
  // into an unconditional one.
  void only_keys(const json& obj, const std::string& path,
                 std::initializer_list<const char*> known) const {
    for (const auto& item : obj.items()) {
      const std::string& k = item.key();  // (clang < 16 cannot capture structured bindings)
      bool ok = std::any_of(known.begin(), known.end(), [&](const char* n) { return k == n; });
      if (ok) continue;
      std::string list;
      for (const char* n : known) list += (list.empty() ? "" : ", ") + std::string(n);
      fail(key_path(path, k), "unknown field (known fields here: " + list + ")");
    }
  }

  const json& object(const json& j, const std::string& path) const {
    if (!j.is_object()) fail(path, std::string("must be an object, not ") + describe(j));
    return j;
  }
  std::string string(const json& j, const std::string& path) const {
    if (!j.is_string()) fail(path, std::string("must be a string, not ") + describe(j));
    return j.get<std::string>();
  }
  uint64_t unsigned_int(const json& j, const std::string& path) const {
    if (j.is_number_unsigned()) return j.get<uint64_t>();
    if (j.is_number_integer()) fail(path, "must not be negative (" + j.dump() + ")");
    fail(path, std::string("must be a non-negative integer, not ") + describe(j));
  }
  // An array, or null / absent (an empty list, as Go's encoding/json writes it).
  const json& array_or_null(const json& obj, const char* key, const std::string& path) const {
    static const json empty = json::array();
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return empty;
    if (!it->is_array())
      fail(key_path(path, key), std::string("must be an array, not ") + describe(*it));
    return *it;
  }
  std::vector<std::string> strings(const json& obj, const char* key,
                                   const std::string& path) const {
    std::vector<std::string> out;
    const json& a = array_or_null(obj, key, path);
    for (size_t i = 0; i < a.size(); ++i)
      out.push_back(string(a[i], index_path(key_path(path, key), i)));
    return out;
  }

 private:
  static std::string describe(const json& j) {
    if (j.is_null()) return "null";
    if (j.is_boolean()) return "a boolean";
    if (j.is_number_float()) return "a fractional number";
    if (j.is_number()) return "a number";
    if (j.is_string()) return "a string";
    if (j.is_array()) return "an array";
    return "an object";
  }
  std::string file_;
};

constexpr uint32_t kMaxErrno = 4095;

// SCMP_ACT_* name (+ errnoRet) -> libseccomp action.
uint32_t parse_action(const Reader& r, const std::string& name, const std::string& path,
                      std::optional<uint64_t> ret, const std::string& ret_path) {
  auto no_ret = [&] {
    if (ret)
      r.fail(ret_path, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a return value, not " + name);
  };
  if (name == "SCMP_ACT_ALLOW") return no_ret(), SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return no_ret(), SCMP_ACT_LOG;
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return no_ret(), SCMP_ACT_KILL;
  if (name == "SCMP_ACT_KILL_PROCESS") return no_ret(), SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return no_ret(), SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") {
    // Like runc and crun: EPERM unless the profile says otherwise.
    uint64_t e = ret.value_or(EPERM);
    if (e > kMaxErrno)
      r.fail(ret_path, "errno " + std::to_string(e) + " is out of range (0 to 4095)");
    return SCMP_ACT_ERRNO(static_cast<uint32_t>(e));
  }
  if (name == "SCMP_ACT_TRACE") {
    uint64_t d = ret.value_or(0);
    if (d > 0xffff) r.fail(ret_path, "trace data " + std::to_string(d) + " is out of range (0 to 65535)");
    return SCMP_ACT_TRACE(static_cast<uint32_t>(d));
  }
  if (name == "SCMP_ACT_NOTIFY")
    r.fail(path, "SCMP_ACT_NOTIFY needs a user-space notification listener, which sandbox does "
                 "not run");
  r.fail(path, "unknown action '" + name +
                   "' (known: SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, "
                   "SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE, "
                   "SCMP_ACT_LOG)");
}

std::optional<uint64_t> optional_uint(const Reader& r, const json& obj, const char* key,
                                      const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return r.unsigned_int(*it, Reader::key_path(path, key));
}

// containers/common (Podman) writes the errno twice: "errnoRet": 1 and "errno": "EPERM"
// (and "defaultErrnoRet" / "defaultErrno"). The name alone is its errno; with both they
// must agree, since runc reads one and containers/common the other: fail closed.
std::optional<uint64_t> optional_errno(const Reader& r, const json& obj, const char* ret_key,
                                       const char* name_key, const std::string& path) {
  std::optional<uint64_t> ret = optional_uint(r, obj, ret_key, path);
  auto it = obj.find(name_key);
  if (it == obj.end() || it->is_null()) return ret;
  const std::string npath = Reader::key_path(path, name_key);
  const std::string name = r.string(*it, npath);
  std::optional<uint64_t> named;
  for (int e = 1; e < 4096 && !named; ++e)
    if (const char* n = ::strerrorname_np(e); n && name == n) named = static_cast<uint64_t>(e);
  if (!named) r.fail(npath, "'" + name + "' is not an errno name like EPERM");
  if (ret && *ret != *named)
    r.fail(npath, "'" + name + "' is errno " + std::to_string(*named) + " but " + ret_key +
                      " says " + std::to_string(*ret));
  return named;
}

scmp_compare parse_op(const Reader& r, const std::string& op, const std::string& path) {
  static const std::pair<const char*, scmp_compare> ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (const auto& [n, v] : ops)
    if (op == n) return v;
  r.fail(path, "unknown comparison '" + op +
                   "' (known: SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, "
                   "SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)");
}

SeccompArg parse_arg(const Reader& r, const json& j, const std::string& path) {
  r.object(j, path);
  r.only_keys(j, path, {"index", "value", "valueTwo", "op"});
  SeccompArg a;
  for (const char* k : {"index", "value", "op"})
    if (!j.contains(k)) r.fail(path, std::string("missing \"") + k + "\"");
  uint64_t idx = r.unsigned_int(j["index"], Reader::key_path(path, "index"));
  // The kernel passes six arguments (seccomp_data.args[6]).
  if (idx > 5) r.fail(Reader::key_path(path, "index"), "argument index " + std::to_string(idx) + " is out of range (0 to 5)");
  a.index = static_cast<unsigned>(idx);
  a.value = r.unsigned_int(j["value"], Reader::key_path(path, "value"));
  a.value_two = optional_uint(r, j, "valueTwo", path).value_or(0);
  a.op = parse_op(r, r.string(j["op"], Reader::key_path(path, "op")), Reader::key_path(path, "op"));
  if (a.op != SCMP_CMP_MASKED_EQ && a.value_two != 0)
    r.fail(Reader::key_path(path, "valueTwo"), "only SCMP_CMP_MASKED_EQ uses valueTwo");
  return a;
}

int parse_cap_name(const Reader& r, const std::string& name, const std::string& path) {
  std::string n = name;
  if (n.rfind("CAP_", 0) == 0) n = n.substr(4);
  int cap = capability_from_name(n);
  if (cap < 0 || cap > 63) r.fail(path, "unknown capability '" + name + "'");
  return cap;
}

SeccompCondition parse_condition(const Reader& r, const json& obj, const char* key,
                                 const std::string& rule_path) {
  SeccompCondition c;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return c;
  std::string path = Reader::key_path(rule_path, key);
  r.object(*it, path);
  r.only_keys(*it, path, {"arches", "caps", "minKernel"});
  c.arches = r.strings(*it, "arches", path);
  auto caps = r.strings(*it, "caps", path);
  for (size_t i = 0; i < caps.size(); ++i)
    c.caps.push_back(parse_cap_name(r, caps[i], Reader::index_path(Reader::key_path(path, "caps"), i)));
  if (auto mk = it->find("minKernel"); mk != it->end() && !mk->is_null()) {
    std::string mpath = Reader::key_path(path, "minKernel");
    std::string v = r.string(*mk, mpath);
    std::array<int, 3> ver{0, 0, 0};
    int parts = 0;
    const char* s = v.c_str();
    bool ok = !v.empty();
    while (ok && *s) {
      if (parts == 3 || !std::isdigit(static_cast<unsigned char>(*s))) { ok = false; break; }
      char* end = nullptr;
      long n = std::strtol(s, &end, 10);
      if (n > 100000) { ok = false; break; }
      ver[static_cast<size_t>(parts++)] = static_cast<int>(n);
      s = end;
      if (*s == '.') {
        ++s;
        if (!*s) ok = false;
      } else if (*s) {
        ok = false;
      }
    }
    if (!ok || parts < 2) r.fail(mpath, "'" + v + "' is not a kernel version like \"4.8\"");
    c.min_kernel = ver;
  }
  return c;
}

bool looks_like_arch_token(const std::string& s) {
  if (s.rfind("SCMP_ARCH_", 0) != 0 || s.size() == 10) return false;
  return std::all_of(s.begin() + 10, s.end(), [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

uint32_t parse_arch(const Reader& r, const std::string& name, const std::string& path) {
  if (!looks_like_arch_token(name))
    r.fail(path, "'" + name + "' is not an architecture name like SCMP_ARCH_X86_64");
  return seccomp_arch_from_name(name);  // 0: unknown to libseccomp, cannot be this machine's
}

SeccompRule parse_rule(const Reader& r, const json& j, const std::string& path) {
  r.object(j, path);
  r.only_keys(j, path, {"names", "name", "action", "errnoRet", "errno", "args", "comment", "includes",
                        "excludes"});
  SeccompRule rule;
  rule.where = path;
  bool has_names = j.contains("names") && !j["names"].is_null();
  bool has_name = j.contains("name") && !j["name"].is_null();
  if (has_names && has_name) r.fail(path, "give either \"names\" or \"name\", not both");
  if (has_name) {
    rule.names.push_back(r.string(j["name"], Reader::key_path(path, "name")));
    rule.name_paths.push_back(Reader::key_path(path, "name"));
  } else {
    rule.names = r.strings(j, "names", path);
    for (size_t i = 0; i < rule.names.size(); ++i)
      rule.name_paths.push_back(Reader::index_path(Reader::key_path(path, "names"), i));
  }
  if (rule.names.empty()) r.fail(path, "no syscall names (\"names\" is missing or empty)");
  for (size_t i = 0; i < rule.names.size(); ++i)
    if (rule.names[i].empty()) r.fail(rule.name_paths[i], "empty syscall name");
  if (!j.contains("action")) r.fail(path, "missing \"action\"");
  std::string apath = Reader::key_path(path, "action");
  rule.action = parse_action(r, r.string(j["action"], apath), apath,
                             optional_errno(r, j, "errnoRet", "errno", path),
                             Reader::key_path(path, j.contains("errnoRet") ? "errnoRet" : "errno"));
  const json& args = r.array_or_null(j, "args", path);
  for (size_t i = 0; i < args.size(); ++i)
    rule.args.push_back(parse_arg(r, args[i], Reader::index_path(Reader::key_path(path, "args"), i)));
  if (j.contains("comment") && !j["comment"].is_null())
    r.string(j["comment"], Reader::key_path(path, "comment"));
  rule.includes = parse_condition(r, j, "includes", path);
  rule.excludes = parse_condition(r, j, "excludes", path);
  return rule;
}

// Line and column of a byte offset, for JSON syntax errors.
std::string position(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

}  // namespace

SeccompProfile parse_seccomp_profile(const std::string& text, const std::string& file) {
  Reader r(file);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // what(): "[json.exception.parse_error.101] parse error at line 3, column 5: syntax
    // error while parsing ..." -> keep the part after the position.
    std::string why = e.what();
    if (auto p = why.find(": "); p != std::string::npos) why = why.substr(p + 2);
    r.fail("", "invalid JSON at " + position(text, e.byte > 0 ? e.byte - 1 : 0) + ": " + why);
  } catch (const json::exception& e) {
    // The parser's other errors, e.g. out_of_range.406 for a number beyond a double
    // ("1e999"): "[json.exception.out_of_range.406] number overflow parsing '1e999'".
    std::string why = e.what();
    if (auto p = why.find("] "); p != std::string::npos) why = why.substr(p + 2);
    r.fail("", "invalid JSON: " + why);
  }
  r.object(doc, "(top level)");
  r.only_keys(doc, "", {"defaultAction", "defaultErrnoRet", "defaultErrno", "architectures", "archMap",
                        "syscalls", "comment", "flags", "listenerPath", "listenerMetadata"});
  SeccompProfile p;
  p.file = file;
  if (!doc.contains("defaultAction")) r.fail("", "missing \"defaultAction\"");
  p.default_action = parse_action(r, r.string(doc["defaultAction"], "defaultAction"),
                                  "defaultAction",
                                  optional_errno(r, doc, "defaultErrnoRet", "defaultErrno", ""),
                                  doc.contains("defaultErrnoRet") ? "defaultErrnoRet" : "defaultErrno");
  if (doc.contains("comment") && !doc["comment"].is_null()) r.string(doc["comment"], "comment");

  // Load flags and notification listeners act when the filter is loaded, not in the BPF
  // program: sandbox loads exactly the exported program, so it cannot honour them.
  if (!r.array_or_null(doc, "flags", "").empty())
    r.fail("flags", "filter flags (SECCOMP_FILTER_FLAG_*) are not supported: the exported BPF "
                    "program is loaded as it is");
  for (const char* k : {"listenerPath", "listenerMetadata"})
    if (doc.contains(k) && !doc[k].is_null() && r.string(doc[k], k) != "")
      r.fail(k, "user-space notification listeners are not supported");

  auto arches = r.strings(doc, "architectures", "");
  for (size_t i = 0; i < arches.size(); ++i)
    if (uint32_t a = parse_arch(r, arches[i], Reader::index_path("architectures", i)))
      p.arches.push_back(a);
  const json& amap = r.array_or_null(doc, "archMap", "");
  if (!arches.empty() && !amap.empty())
    r.fail("archMap", "give either \"architectures\" or \"archMap\", not both");
  for (size_t i = 0; i < amap.size(); ++i) {
    std::string path = Reader::index_path("archMap", i);
    r.object(amap[i], path);
    r.only_keys(amap[i], path, {"architecture", "subArchitectures"});
    if (!amap[i].contains("architecture")) r.fail(path, "missing \"architecture\"");
    SeccompProfile::ArchMapEntry e;
    e.arch = parse_arch(r, r.string(amap[i]["architecture"], Reader::key_path(path, "architecture")),
                        Reader::key_path(path, "architecture"));
    auto subs = r.strings(amap[i], "subArchitectures", path);
    for (size_t k = 0; k < subs.size(); ++k)
      if (uint32_t a = parse_arch(r, subs[k], Reader::index_path(Reader::key_path(path, "subArchitectures"), k)))
        e.sub_arches.push_back(a);
    if (e.arch) p.arch_map.push_back(std::move(e));
  }

  const json& calls = r.array_or_null(doc, "syscalls", "");
  for (size_t i = 0; i < calls.size(); ++i)
    p.rules.push_back(parse_rule(r, calls[i], Reader::index_path("syscalls", i)));
  return p;
}

SeccompProfile load_seccomp_profile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SysError("Can't open seccomp profile " + path, errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw SysError("Can't read seccomp profile " + path, errno);
  return parse_seccomp_profile(ss.str(), path);
}

std::vector<std::string> seccomp_profile_dirs() {
  return datadir::dirs("seccomp-profiles");
}

std::vector<std::string> seccomp_profile_names(const std::vector<std::string>& dirs) {
  const std::string ext = ".json";
  std::vector<std::string> names;
  for (const auto& d : dirs) {
    if (DIR* dir = ::opendir(d.c_str())) {
      while (dirent* e = ::readdir(dir)) {
        std::string n = e->d_name;
        if (n.size() > ext.size() && n.compare(n.size() - ext.size(), ext.size(), ext) == 0)
          names.push_back(n.substr(0, n.size() - ext.size()));
      }
      ::closedir(dir);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string find_seccomp_profile(const std::string& name_or_path,
                                 const std::vector<std::string>& dirs) {
  if (name_or_path.empty()) throw Error("empty profile name");
  struct stat st;
  if (name_or_path.find('/') != std::string::npos) {
    if (::stat(name_or_path.c_str(), &st) != 0) throw SysError("Can't open " + name_or_path, errno);
    if (!S_ISREG(st.st_mode)) throw Error(name_or_path + " is not a regular file");
    return name_or_path;
  }
  const std::string ext = ".json";
  bool has_ext = name_or_path.size() > ext.size() &&
                 name_or_path.compare(name_or_path.size() - ext.size(), ext.size(), ext) == 0;
  std::string file = has_ext ? name_or_path : name_or_path + ext;
  for (const auto& d : dirs) {
    std::string p = d + "/" + file;
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return p;
  }
  std::vector<std::string> names = seccomp_profile_names(dirs);
  std::string msg = "no profile named '" + name_or_path + "'" +
                    suggest::did_you_mean(file.substr(0, file.size() - ext.size()), names) +
                    " in ";
  for (size_t i = 0; i < dirs.size(); ++i) msg += (i ? " or " : "") + dirs[i];
  if (dirs.empty()) msg += "(no profile directory)";
  if (!names.empty()) {
    msg += " (available:";
    for (const auto& n : names) msg += " " + n;
    msg += ")";
  }
  msg += "; a path must contain a '/' (e.g. ./" + file + ")";
  throw Error(msg);
}

std::vector<std::string> compile_spec_seccomp(const Spec& spec, bool root, CapSet current) {
  if (spec.seccomp_log && spec.seccomp_profiles.empty())
    throw Error("--seccomp-log requires --seccomp-profile");
  std::vector<std::string> out;
  if (spec.seccomp_profiles.empty()) return out;
  SeccompCompileOptions o;
  o.log = spec.seccomp_log;
  // includes/excludes "caps" look at the capabilities the command will run with.
  o.caps = resolve_caps(spec.caps, root, current, all_caps());
  for (const auto& src : spec.seccomp_profiles) {
    std::string path;
    try {
      path = find_seccomp_profile(src.name, seccomp_profile_dirs());
    } catch (const Error& e) {
      throw Error(std::string("--seccomp-profile: ") + e.what());
    }
    SeccompProgram prog = compile_seccomp_profile(load_seccomp_profile(path), o);
    for (const auto& w : prog.warnings) log::warning(w);
    out.push_back(std::move(prog.bpf));
  }
  return out;
}

namespace {

// The kernel's own answer (SECCOMP_GET_ACTION_AVAIL, Linux 5.0+ for USER_NOTIF), not a
// guess from its version: 0 when it has SECCOMP_RET_USER_NOTIF, else the errno.
int user_notif_error() {
  uint32_t action = SECCOMP_RET_USER_NOTIF;
  return ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0 ? 0 : errno;
}

}  // namespace

std::optional<SeccompAudit> compile_spec_seccomp_audit(const Spec& spec, bool root, CapSet current,
                                                       const std::function<int()>& has_user_notif) {
  if (spec.seccomp_profiles.empty()) {
    // --allow-net alone: its refused DNS names (and rejected connections) are what is
    // reported; no seccomp listener.
    if (!spec.allow_net.empty()) return std::nullopt;
    throw Error("--audit-fd requires --seccomp-profile or --allow-net (the denials it reports "
                "are the profile's system calls and the allowlist's names and connections)");
  }
  // The kernel lets one filter of a process have a listener (EBUSY for a second), and a
  // notify filter without one answers ENOSYS: so exactly one profile can be audited.
  if (spec.seccomp_profiles.size() > 1)
    throw Error("--audit-fd: " + std::to_string(spec.seccomp_profiles.size()) +
                " --seccomp-profile given; it audits one (the kernel allows one listener)");
  if (spec.seccomp_log)
    throw Error("--audit-fd and --seccomp-log exclude each other (a logged call is allowed, "
                "so nothing is denied to report)");
  // Without user notification --audit-fd cannot see a denial: an error, unless asked
  // for best-effort (then the command runs with the plain profile, unreported).
  if (int err = has_user_notif ? has_user_notif() : user_notif_error()) {
    const std::string why = std::string("--audit-fd: this kernel has no seccomp user notification "
                                        "(SECCOMP_GET_ACTION_AVAIL SECCOMP_RET_USER_NOTIF: ") +
                            std::strerror(err) + ")";
    if (!spec.audit_best_effort) throw Error(why);
    log::warning(why + "; denied calls are not reported (--audit-mode best-effort)");
    return std::nullopt;
  }
  SeccompCompileOptions o;
  o.notify = true;
  o.caps = resolve_caps(spec.caps, root, current, all_caps());
  const auto& src = spec.seccomp_profiles.front();
  std::string path;
  try {
    path = find_seccomp_profile(src.name, seccomp_profile_dirs());
  } catch (const Error& e) {
    throw Error(std::string("--seccomp-profile: ") + e.what());
  }
  const SeccompProfile profile = load_seccomp_profile(path);
  SeccompProgram prog = compile_seccomp_profile(profile, o);
  SeccompAudit out{src.name, std::move(prog.bpf), {}};
  // Which rule denied a call, for its line: the errno rules as translated against an
  // allowing default, so that a rule with the default's own errno (which compiles to
  // nothing) is still named; the plain translation where that one cannot be made.
  o.notify = false;
  SeccompTranslation t;
  try {
    SeccompProfile named = profile;
    named.default_action = SCMP_ACT_ALLOW;
    t = translate_seccomp_profile(named, o);
  } catch (const Error&) {
    t = translate_seccomp_profile(profile, o);
  }
  for (auto& r : t.rules)
    if ((r.action & 0xffff0000U) == SCMP_ACT_ERRNO(0)) out.errno_rules.push_back(std::move(r));
  return out;
}

const SeccompLibRule* seccomp_matching_rule(const std::vector<SeccompLibRule>& rules,
                                            uint32_t arch, const std::string& name,
                                            const std::array<uint64_t, 6>& args) {
  auto holds = [&](const scmp_arg_cmp& c) {
    if (c.arg >= args.size()) return false;
    const uint64_t v = args[c.arg];
    switch (c.op) {
      case SCMP_CMP_NE: return v != c.datum_a;
      case SCMP_CMP_LT: return v < c.datum_a;
      case SCMP_CMP_LE: return v <= c.datum_a;
      case SCMP_CMP_EQ: return v == c.datum_a;
      case SCMP_CMP_GE: return v >= c.datum_a;
      case SCMP_CMP_GT: return v > c.datum_a;
      case SCMP_CMP_MASKED_EQ: return (v & c.datum_a) == c.datum_b;
      default: return false;
    }
  };
  for (const auto& r : rules)
    if (r.arch == arch && r.name == name && std::all_of(r.args.begin(), r.args.end(), holds))
      return &r;
  return nullptr;
}

std::vector<std::string> seccomp_programs_in_order(const Spec& spec,
                                                   const std::vector<std::string>& compiled) {
  if (compiled.size() != spec.seccomp_profiles.size())
    throw Error("internal error: " + std::to_string(spec.seccomp_profiles.size()) +
                " seccomp profiles but " + std::to_string(compiled.size()) + " compiled");
  std::vector<std::string> out;
  size_t next = 0;
  auto profiles_before = [&](size_t fd_index) {
    for (; next < spec.seccomp_profiles.size() &&
           spec.seccomp_profiles[next].after_fds <= fd_index;
         ++next) {
      out.push_back(compiled[next]);
    }
  };
  const std::string opt = spec.seccomp_fd_option ? "--seccomp" : "--add-seccomp-fd";
  std::vector<std::pair<int, size_t>> from_fds;  // fd, index in out
  for (size_t i = 0; i < spec.seccomp_fds.size(); ++i) {
    profiles_before(i);
    int fd = spec.seccomp_fds[i];
    // bwrap closes each descriptor once it has read it, so the same fd twice cannot work.
    for (const auto& [seen, index] : from_fds)
      if (seen == fd)
        throw Error("Can't read seccomp data: fd " + std::to_string(fd) +
                    " is given twice\n(each " + opt +
                    " program needs its own descriptor, which is closed once read)");
    from_fds.emplace_back(fd, out.size());
    out.push_back(read_bpf_program(fd, opt));
  }
  profiles_before(SIZE_MAX);
  for (const auto& [fd, index] : from_fds) check_bpf_program_not_empty(out[index], fd, opt);
  return out;
}

}  // namespace sb::security
