#include "oci/config.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>

#include "limits/limits.hpp"
#include "ns/idmap.hpp"
#include "security/caps.hpp"
#include "util/parse.hpp"

namespace sb::oci {
namespace {

using json = nlohmann::json;

std::string key_path(const std::string& base, const std::string& key) {
  return base.empty() ? key : base + "." + key;
}
std::string index_path(const std::string& base, size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

// Typed readers: a wrong type is an error naming the member.
const json& object(const json& j, const std::string& path) {
  if (!j.is_object()) throw ConfigError(path, "must be an object");
  return j;
}
const json& array(const json& j, const std::string& path) {
  if (!j.is_array()) throw ConfigError(path, "must be an array");
  return j;
}
std::string string(const json& j, const std::string& path) {
  if (!j.is_string()) throw ConfigError(path, "must be a string");
  return j.get<std::string>();
}
bool boolean(const json& j, const std::string& path) {
  if (!j.is_boolean()) throw ConfigError(path, "must be true or false");
  return j.get<bool>();
}
uint64_t unsigned_int(const json& j, const std::string& path) {
  if (!j.is_number_unsigned()) throw ConfigError(path, "must be a non-negative integer");
  return j.get<uint64_t>();
}
int64_t signed_int(const json& j, const std::string& path) {
  if (!j.is_number_integer()) throw ConfigError(path, "must be an integer");
  return j.get<int64_t>();
}

// Every member of `obj` must be one of `known`; the first other one is an error naming it,
// so that a setting sandbox does not implement is never silently dropped.
void only_known(const json& obj, const std::string& path, std::initializer_list<const char*> known) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return it.key() == k; }))
      throw ConfigError(key_path(path, it.key()), "not supported yet");
  }
}

// A member that sandbox does not implement but that may be present when it asks for
// nothing (null, empty string, array or object, false, 0).
void must_be_empty(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return;
  bool empty = (it->is_string() || it->is_array() || it->is_object()) ? it->empty()
               : it->is_boolean()                                    ? !it->get<bool>()
               : it->is_number()                                     ? *it == 0
                                                                     : false;
  if (!empty) throw ConfigError(key_path(path, key), "not supported yet");
}

const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string absolute_in(const std::string& dir, const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  return dir + "/" + p;
}

// hooks.KIND[i]: path absolute, args and env strings ("NAME=value"), timeout > 0 seconds.
Hook hook(const json& j, const std::string& path) {
  object(j, path);
  only_known(j, path, {"path", "args", "env", "timeout"});
  Hook h;
  h.where = path;
  const json* p = member(j, "path");
  if (!p) throw ConfigError(key_path(path, "path"), "missing");
  h.path = string(*p, key_path(path, "path"));
  // The runtime's cwd and PATH are no business of the engine's: only an absolute path says
  // which program runs.
  if (h.path.empty() || h.path[0] != '/')
    throw ConfigError(key_path(path, "path"), "must be an absolute path");
  for (const char* list : {"args", "env"}) {
    const json* a = member(j, list);
    if (!a) continue;
    array(*a, key_path(path, list));
    for (size_t i = 0; i < a->size(); ++i) {
      std::string where = index_path(key_path(path, list), i);
      std::string v = string((*a)[i], where);
      if (std::string(list) == "env") {
        if (v.find('=') == std::string::npos || v[0] == '=')
          throw ConfigError(where, "must be NAME=value");
        h.env.push_back(v);
      } else {
        h.args.push_back(v);
      }
    }
  }
  if (const json* t = member(j, "timeout")) {
    int64_t s = signed_int(*t, key_path(path, "timeout"));
    if (s <= 0) throw ConfigError(key_path(path, "timeout"), "must be greater than zero (seconds)");
    if (s > 86400) throw ConfigError(key_path(path, "timeout"), "more than a day (86400 s)");
    h.timeout_s = static_cast<int>(s);
  }
  return h;
}

Hooks hooks(const json& j) {
  object(j, "hooks");
  only_known(j, "hooks", {"prestart", "createRuntime", "createContainer", "startContainer",
                          "poststart", "poststop"});
  Hooks out;
  auto list = [&](const char* kind, std::vector<Hook>& to) {
    const json* a = member(j, kind);
    if (!a) return;
    std::string path = key_path("hooks", kind);
    array(*a, path);
    for (size_t i = 0; i < a->size(); ++i) to.push_back(hook((*a)[i], index_path(path, i)));
  };
  list("prestart", out.prestart);
  list("createRuntime", out.create_runtime);
  list("createContainer", out.create_container);
  list("startContainer", out.start_container);
  list("poststart", out.poststart);
  list("poststop", out.poststop);
  return out;
}

struct Mapper {
  const MapInput& in;
  Config out;
  // Namespaces asked for without a path, and with one.
  std::set<std::string> ns_new, ns_joined;
  bool userns = false;
  std::optional<uid_t> mapped_uid;  // containerID of the single uid map
  std::optional<gid_t> mapped_gid;
  std::optional<uint64_t> user_uid;  // process.user.uid
  std::vector<gid_t> groups;         // process.user.additionalGids

  void root(const json& j) {
    object(j, "root");
    only_known(j, "root", {"path", "readonly"});
    const json* p = member(j, "path");
    if (!p) throw ConfigError("root.path", "missing");
    std::string path = string(*p, "root.path");
    if (path.empty()) throw ConfigError("root.path", "empty");
    out.rootfs = absolute_in(in.bundle, path);
    // The bundle's root file system becomes / (binds are always nosuid, as everywhere).
    BindOp b{out.rootfs, "/", BindOp::Mode::ReadWrite, false, "root.path"};
    out.spec.fs.insert(out.spec.fs.begin(), b);
  }

  // mode=0755 / size=64m: the values of a tmpfs option.
  static std::optional<std::string> option_value(const std::string& opt, const char* name) {
    std::string prefix = std::string(name) + "=";
    if (opt.rfind(prefix, 0) != 0) return std::nullopt;
    return opt.substr(prefix.size());
  }

  void mount(const json& j, const std::string& path) {
    object(j, path);
    only_known(j, path, {"destination", "type", "source", "options"});
    const json* d = member(j, "destination");
    if (!d) throw ConfigError(key_path(path, "destination"), "missing");
    std::string dest = string(*d, key_path(path, "destination"));
    if (dest.empty() || dest[0] != '/')
      throw ConfigError(key_path(path, "destination"), "must be an absolute path");
    std::string type = member(j, "type") ? string(j["type"], key_path(path, "type")) : "";
    std::string source = member(j, "source") ? string(j["source"], key_path(path, "source")) : "";
    std::vector<std::pair<std::string, std::string>> opts;  // (option, its JSON path)
    if (const json* o = member(j, "options")) {
      array(*o, key_path(path, "options"));
      for (size_t i = 0; i < o->size(); ++i) {
        std::string where = index_path(key_path(path, "options"), i);
        opts.emplace_back(string((*o)[i], where), where);
      }
    }
    auto has = [&](const char* name) {
      return std::any_of(opts.begin(), opts.end(), [&](const auto& o) { return o.first == name; });
    };
    bool bind = type == "bind" || has("bind") || has("rbind");
    bool ro = false, noexec = false;
    // Options every kind accepts: the propagation ones (the sandbox's mounts never
    // propagate to the host) and rw / ro.
    auto common = [&](const std::string& o) {
      if (o == "ro") return ro = true, true;
      if (o == "rw") return ro = false, true;
      return o == "private" || o == "rprivate" || o == "slave" || o == "rslave";
    };
    // Access-time options are accepted and not applied: mounts keep the kernel's default
    // (relatime); nothing of the container's isolation depends on them.
    auto atime = [](const std::string& o) {
      return o == "relatime" || o == "strictatime" || o == "noatime" || o == "atime" ||
             o == "norelatime" || o == "nodiratime" || o == "diratime";
    };
    auto refuse = [&](const std::pair<std::string, std::string>& o, const std::string& kind) {
      throw ConfigError(o.second, "option '" + o.first + "' is not supported on " + kind + " yet");
    };

    if (bind) {
      if (source.empty()) throw ConfigError(key_path(path, "source"), "missing for a bind mount");
      BindOp::Mode mode = BindOp::Mode::ReadWrite;
      bool dev = false;
      for (const auto& o : opts) {
        if (common(o.first) || o.first == "bind" || o.first == "rbind" || o.first == "nosuid" ||
            o.first == "nodev" || atime(o.first))
          continue;  // binds are always recursive, nosuid and (but with "dev") nodev
        if (o.first == "noexec") noexec = true;
        else if (o.first == "dev") dev = true;
        else if (o.first == "exec") noexec = false;
        else refuse(o, "a bind mount");
      }
      if (dev && has("nodev")) throw ConfigError(key_path(path, "options"), "both dev and nodev");
      if (dev) mode = BindOp::Mode::Devices;
      if (ro) mode = BindOp::Mode::ReadOnly;  // a read-only bind is nodev too
      BindOp b{absolute_in(in.bundle, source), dest, mode, false, path};
      b.noexec = noexec;
      out.spec.fs.emplace_back(b);
      return;
    }
    // The restrictions each kind of mount always has here (fs/ops.cpp).
    auto always = [&](std::initializer_list<const char*> flags, const std::string& kind,
                      bool allow_noexec_option) {
      for (const auto& o : opts) {
        if (common(o.first)) continue;
        if (std::any_of(flags.begin(), flags.end(), [&](const char* f) { return o.first == f; }) ||
            atime(o.first))
          continue;
        if (allow_noexec_option && o.first == "noexec") {
          noexec = true;
          continue;
        }
        if (option_value(o.first, "mode") || option_value(o.first, "size")) continue;
        refuse(o, kind);
      }
    };
    if (type == "proc") {
      always({"nosuid", "nodev", "noexec"}, "proc", false);
      out.spec.fs.emplace_back(ProcOp{dest});
    } else if (type == "mqueue") {
      always({"nosuid", "nodev", "noexec"}, "mqueue", false);
      out.spec.fs.emplace_back(MqueueOp{dest});
    } else if (type == "tmpfs" && dest == "/dev") {
      // /dev: sandbox's own (--dev): a tmpfs with the spec's default devices (null, zero,
      // full, random, urandom, tty), /dev/pts, /dev/shm, ptmx and the fd links.
      DevOp dev{dest};
      for (const auto& o : opts) {
        if (common(o.first) || o.first == "nosuid" || atime(o.first)) continue;
        if (o.first == "noexec") {
          dev.noexec = true;
        } else if (auto m = option_value(o.first, "mode"); m && parse::octal_mode(*m) == 0755u) {
        } else if (auto sz = option_value(o.first, "size")) {
          dev.size = parse::byte_size(*sz);
          if (!dev.size) throw ConfigError(o.second, "bad size '" + *sz + "'");
        } else {
          refuse(o, "/dev (sandbox's own /dev: nosuid, noexec, mode=755, size=)");
        }
      }
      out.spec.fs.emplace_back(dev);
    } else if (type == "tmpfs") {
      TmpfsOp t{dest};
      always({"nosuid", "nodev", "tmpcopyup"}, "tmpfs", true);
      t.copy_up = has("tmpcopyup");
      for (const auto& o : opts) {
        if (auto m = option_value(o.first, "mode")) {
          t.perms = parse::octal_mode(*m);
          if (!t.perms) throw ConfigError(o.second, "bad mode '" + *m + "'");
        } else if (auto s = option_value(o.first, "size")) {
          t.size = parse::byte_size(*s);
          if (!t.size) throw ConfigError(o.second, "bad size '" + *s + "'");
        }
      }
      t.noexec = noexec;
      out.spec.fs.emplace_back(t);
    } else if (type == "devpts" && dest == "/dev/pts" && has_dev()) {
      // Part of sandbox's /dev already (a new instance, ptmxmode 0666).
      for (const auto& o : opts) {
        if (common(o.first) || o.first == "nosuid" || o.first == "noexec" ||
            o.first == "newinstance" || o.first == "ptmxmode=0666" || o.first == "mode=0620" ||
            o.first == "mode=620" || o.first == "gid=5")
          continue;
        refuse(o, "/dev/pts (part of sandbox's /dev: nosuid, noexec, newinstance, "
                  "ptmxmode=0666, mode=0620, gid=5)");
      }
      if (ro) throw ConfigError(key_path(path, "options"), "a read-only /dev/pts is not supported");
      return;
    } else if (type == "sysfs") {
      // A new sysfs needs a network namespace the user namespace owns and shows that
      // namespace's devices only; the host's /sys, bound read-only, is what rootless
      // runtimes fall back to. Always read-only here (the stricter choice).
      always({"nosuid", "nodev"}, "sysfs", true);
      BindOp b{"/sys", dest, BindOp::Mode::ReadOnly, false, path};
      b.noexec = noexec;
      out.spec.fs.emplace_back(b);
      return;
    } else if (type == "cgroup" || type == "cgroup2") {
      // Without a cgroup namespace a new cgroup mount shows the whole host hierarchy, as
      // the host's own /sys/fs/cgroup bound read-only does; with one, it would show only
      // the namespace's part, which a bind cannot (refused until cgroup2 is mounted).
      if (out.spec.unshare_cgroup || ns_joined.count("cgroup"))
        throw ConfigError(key_path(path, "type"), "a cgroup mount in a cgroup namespace of the "
                                                  "container's is not supported yet");
      always({"nosuid", "nodev"}, "cgroup", true);
      BindOp b{"/sys/fs/cgroup", dest, BindOp::Mode::ReadOnly, false, path};
      b.noexec = noexec;
      out.spec.fs.emplace_back(b);
      return;
    } else if (type.empty()) {
      throw ConfigError(key_path(path, "type"), "missing (and the options do not say bind)");
    } else {
      throw ConfigError(key_path(path, "type"), "mount type '" + type + "' is not supported yet");
    }
    if (ro) out.spec.fs.emplace_back(RemountRoOp{dest});
  }

  bool has_dev() const {
    return std::any_of(out.spec.fs.begin(), out.spec.fs.end(), [](const FsOp& op) {
      const DevOp* d = std::get_if<DevOp>(&op);
      return d && d->dest == "/dev";
    });
  }

  void namespaces(const json& j) {
    array(j, "linux.namespaces");
    std::set<std::string> seen;
    for (size_t i = 0; i < j.size(); ++i) {
      std::string path = index_path("linux.namespaces", i);
      object(j[i], path);
      only_known(j[i], path, {"type", "path"});
      const json* t = member(j[i], "type");
      if (!t) throw ConfigError(key_path(path, "type"), "missing");
      std::string type = string(*t, key_path(path, "type"));
      static const std::set<std::string> kKnown = {"pid", "network", "mount", "ipc",
                                                   "uts", "user",    "cgroup"};
      if (type == "time")
        throw ConfigError(key_path(path, "type"), "time namespaces are not supported yet");
      if (!kKnown.count(type))
        throw ConfigError(key_path(path, "type"), "unknown namespace type '" + type + "'");
      if (!seen.insert(type).second)
        throw ConfigError(path, "namespace '" + type + "' given twice");
      if (const json* p = member(j[i], "path")) {
        std::string nspath = string(*p, key_path(path, "path"));
        if (type == "mount")
          // The container's root is always built in a new mount namespace (pivot_root into
          // the bundle's root); joining another one would leave none of that in place.
          throw ConfigError(key_path(path, "path"),
                            "joining an existing mount namespace is not supported (sandbox "
                            "builds the container's root in a new one)");
        if (nspath.empty() || nspath[0] != '/')
          throw ConfigError(key_path(path, "path"), "must be an absolute path");
        out.joins.push_back({type, nspath, key_path(path, "path")});
        ns_joined.insert(type);
        if (type == "user") userns = true;
        continue;
      }
      ns_new.insert(type);
    }
    if (!seen.count("mount"))
      throw ConfigError("linux.namespaces", "a mount namespace is required (sandbox always "
                                            "builds the container's root in a new one)");
    Spec& s = out.spec;
    s.unshare_user = ns_new.count("user") > 0;
    userns = userns || s.unshare_user;
    s.unshare_ipc = ns_new.count("ipc") > 0;
    s.unshare_net = ns_new.count("network") > 0;
    s.unshare_uts = ns_new.count("uts") > 0;
    s.unshare_cgroup = ns_new.count("cgroup") > 0;
    // A new PID namespace: the process is its pid 1, as with runc (no init of ours).
    s.unshare_pid = ns_new.count("pid") > 0;
    s.as_pid_1 = s.unshare_pid;
  }

  // linux.uidMappings / gidMappings as ranges, each checked as the kernel would.
  std::vector<IdRange> id_map(const json& j, const std::string& path) {
    array(j, path);
    std::vector<IdRange> ranges;
    for (size_t i = 0; i < j.size(); ++i) {
      std::string e = index_path(path, i);
      object(j[i], e);
      only_known(j[i], e, {"containerID", "hostID", "size"});
      IdRange r;
      for (auto [k, v] : {std::pair{"containerID", &r.inside}, std::pair{"hostID", &r.outside},
                          std::pair{"size", &r.count}}) {
        if (!member(j[i], k)) throw ConfigError(key_path(e, k), "missing");
        uint64_t n = unsigned_int(j[i][k], key_path(e, k));
        if (n > 0xffffffffULL) throw ConfigError(key_path(e, k), "out of range");
        *v = static_cast<uint32_t>(n);
      }
      ranges.push_back(r);
    }
    if (auto p = check_ranges(ranges))
      throw ConfigError(p->index < 0 ? path : index_path(path, static_cast<size_t>(p->index)), p->why);
    return ranges;
  }

  // The maps: one range of our own id each (or none) is what sandbox writes itself, as
  // for the command line; anything else is written from outside (root, or newuidmap and
  // newgidmap with the caller's subordinate ids), which planning decides.
  void id_maps(const json* u, const json* g) {
    std::vector<IdRange> uids = u ? id_map(*u, "linux.uidMappings") : std::vector<IdRange>{};
    std::vector<IdRange> gids = g ? id_map(*g, "linux.gidMappings") : std::vector<IdRange>{};
    if (uids.empty() && gids.empty()) return;
    const char* first = uids.empty() ? "linux.gidMappings" : "linux.uidMappings";
    if (!userns) throw ConfigError(first, "id maps without a user namespace");
    auto own = [](const std::vector<IdRange>& r, uint32_t id) {
      return r.empty() || (r.size() == 1 && r[0].outside == id && r[0].count == 1);
    };
    if (own(uids, in.uid) && own(gids, in.gid)) {
      if (!uids.empty()) mapped_uid = uids[0].inside;
      if (!gids.empty()) mapped_gid = gids[0].inside;
      return;
    }
    if (!out.spec.unshare_user)
      throw ConfigError(first, "maps for a joined user namespace (its own maps apply)");
    if (uids.empty()) throw ConfigError("linux.uidMappings", "missing (linux.gidMappings is given)");
    if (gids.empty()) throw ConfigError("linux.gidMappings", "missing (linux.uidMappings is given)");
    out.spec.id_maps = {std::move(uids), std::move(gids), "linux.uidMappings", "linux.gidMappings"};
  }

  static std::string cap_key(const std::string& name) {
    std::string k = name;
    if (k.rfind("CAP_", 0) == 0) k = k.substr(4);
    return k;
  }

  void capabilities(const json* j) {
    std::vector<CapEdit>& edits = out.spec.caps;
    edits.push_back({false, -1});  // nothing but what the config lists
    if (!j) return;
    object(*j, "process.capabilities");
    only_known(*j, "process.capabilities",
               {"bounding", "effective", "inheritable", "permitted", "ambient"});
    auto set_of = [&](const char* name) {
      std::set<int> s;
      std::string path = key_path("process.capabilities", name);
      const json* a = member(*j, name);
      if (!a) return s;
      array(*a, path);
      for (size_t i = 0; i < a->size(); ++i) {
        std::string where = index_path(path, i);
        std::string n = string((*a)[i], where);
        int cap = security::capability_from_name(cap_key(n));
        if (cap < 0) throw ConfigError(where, "unknown capability '" + n + "'");
        s.insert(cap);
      }
      return s;
    };
    // sandbox gives the command one set: permitted = effective (and inheritable, and ambient
    // for a uid other than 0 inside, whose capabilities would not survive exec otherwise).
    // The bounding set is that set too: a bounding set the config gives wider (Podman's
    // for a user other than root: its defaults as bounding, none effective) changes nothing
    // the command can reach, since sandbox always sets no_new_privs and no execve can add
    // to the permitted set (runtime.cpp notes the narrowing in --log).
    std::set<int> bounding = set_of("bounding");
    std::set<int> held = set_of("permitted");
    if (set_of("effective") != held)
      throw ConfigError(key_path("process.capabilities", "effective"),
                        "must list the same capabilities as permitted (sandbox gives the "
                        "process one set)");
    for (int cap : held)
      if (!bounding.count(cap))
        throw ConfigError(key_path("process.capabilities", "permitted"),
                          "lists " + security::capability_display_name(cap) +
                              ", which bounding does not");
    std::set<int> inh = set_of("inheritable");
    if (!inh.empty() && inh != held)
      throw ConfigError("process.capabilities.inheritable",
                        "must be empty or list the same capabilities as permitted");
    std::set<int> amb = set_of("ambient");
    bool uid0 = user_uid.value_or(0) == 0;
    if (!amb.empty() && amb != held)
      throw ConfigError("process.capabilities.ambient",
                        "must be empty or list the same capabilities as permitted");
    if (!uid0 && amb != held)
      throw ConfigError("process.capabilities.ambient",
                        "must list the same capabilities as permitted for a uid other than 0 "
                        "(sandbox keeps them across exec as ambient capabilities)");
    for (int cap : bounding)
      if (!held.count(cap)) out.bounding_narrowed.push_back(security::capability_display_name(cap));
    for (int cap : held) edits.push_back({true, cap});
  }

  void rlimits(const json& j) {
    array(j, "process.rlimits");
    for (size_t i = 0; i < j.size(); ++i) {
      std::string path = index_path("process.rlimits", i);
      object(j[i], path);
      only_known(j[i], path, {"type", "soft", "hard"});
      for (const char* k : {"type", "soft", "hard"})
        if (!member(j[i], k)) throw ConfigError(key_path(path, k), "missing");
      std::string type = string(j[i]["type"], key_path(path, "type"));
      uint64_t soft = unsigned_int(j[i]["soft"], key_path(path, "soft"));
      uint64_t hard = unsigned_int(j[i]["hard"], key_path(path, "hard"));
      if (type.rfind("RLIMIT_", 0) != 0)
        throw ConfigError(key_path(path, "type"), "unknown rlimit '" + type + "'");
      std::string name = type.substr(7);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      auto val = [](uint64_t v) {
        return v == ~0ULL ? std::string("unlimited") : std::to_string(v);
      };
      try {
        out.spec.limits.rlimits.push_back(
            limits::parse_rlimit(name + "=" + val(soft) + ":" + val(hard)));
      } catch (const Error& e) {
        throw ConfigError(path, e.what());
      }
    }
  }

  void process(const json& j) {
    object(j, "process");
    only_known(j, "process", {"terminal", "consoleSize", "user", "args", "env", "cwd",
                              "capabilities", "rlimits", "noNewPrivileges", "apparmorProfile",
                              "oomScoreAdj", "selinuxLabel", "scheduler", "ioPriority",
                              "execCPUAffinity", "commandLine"});
    Spec& s = out.spec;
    if (const json* t = member(j, "terminal")) out.terminal = boolean(*t, "process.terminal");
    // A terminal: the runtime needs --console-socket (or relays one itself in `run`); the
    // size applies to it (height and width both given and non-zero, else the kernel's).
    if (const json* c = member(j, "consoleSize")) {
      object(*c, "process.consoleSize");
      only_known(*c, "process.consoleSize", {"height", "width"});
      auto dim = [&](const char* key) -> unsigned {
        const json* v = member(*c, key);
        if (!v) return 0;
        const std::string where = key_path("process.consoleSize", key);
        uint64_t n = unsigned_int(*v, where);
        if (n > 0xffff) throw ConfigError(where, "above 65535");
        return static_cast<unsigned>(n);
      };
      s.console_rows = dim("height");
      s.console_cols = dim("width");
    }
    const json* args = member(j, "args");
    if (!args) throw ConfigError("process.args", "missing");
    array(*args, "process.args");
    if (args->empty()) throw ConfigError("process.args", "empty");
    for (size_t i = 0; i < args->size(); ++i)
      s.command.push_back(string((*args)[i], index_path("process.args", i)));
    // The environment is exactly the config's, none of the caller's.
    s.env.push_back({EnvEdit::Kind::Clear, "", ""});
    if (const json* env = member(j, "env")) {
      array(*env, "process.env");
      for (size_t i = 0; i < env->size(); ++i) {
        std::string where = index_path("process.env", i);
        std::string kv = string((*env)[i], where);
        size_t eq = kv.find('=');
        if (eq == 0 || eq == std::string::npos) throw ConfigError(where, "must be NAME=VALUE");
        s.env.push_back({EnvEdit::Kind::Set, kv.substr(0, eq), kv.substr(eq + 1)});
      }
    }
    const json* cwd = member(j, "cwd");
    if (!cwd) throw ConfigError("process.cwd", "missing");
    std::string dir = string(*cwd, "process.cwd");
    if (dir.empty() || dir[0] != '/') throw ConfigError("process.cwd", "must be an absolute path");
    s.chdir = dir;
    if (const json* u = member(j, "user")) {
      object(*u, "process.user");
      only_known(*u, "process.user", {"uid", "gid", "umask", "additionalGids", "username"});
      if (const json* m = member(*u, "umask")) {
        uint64_t mask = unsigned_int(*m, "process.user.umask");
        if (mask > 0777) throw ConfigError("process.user.umask", "must be at most 0777");
        s.umask = static_cast<mode_t>(mask);
      }
      must_be_empty(*u, "username", "process.user");
      if (const json* a = member(*u, "additionalGids")) {
        array(*a, "process.user.additionalGids");
        if (a->size() > 65536)
          throw ConfigError("process.user.additionalGids", "more than 65536 groups (NGROUPS_MAX)");
        for (size_t i = 0; i < a->size(); ++i) {
          std::string where = index_path("process.user.additionalGids", i);
          uint64_t g = unsigned_int((*a)[i], where);
          if (g > 0xfffffffeULL) throw ConfigError(where, "out of range");
          groups.push_back(static_cast<gid_t>(g));
        }
      }
      if (const json* v = member(*u, "uid")) user_uid = unsigned_int(*v, "process.user.uid");
      if (const json* v = member(*u, "gid")) {
        uint64_t gid = unsigned_int(*v, "process.user.gid");
        if (gid > 0xfffffffeULL) throw ConfigError("process.user.gid", "out of range");
        s.gid = static_cast<gid_t>(gid);
      }
      if (user_uid && *user_uid > 0xfffffffeULL) throw ConfigError("process.user.uid", "out of range");
    }
    capabilities(member(j, "capabilities"));
    if (const json* r = member(j, "rlimits")) rlimits(*r);
    // no_new_privs is always set (sandbox's rule): false is accepted, and stricter.
    if (const json* n = member(j, "noNewPrivileges")) boolean(*n, "process.noNewPrivileges");
    if (const json* l = member(j, "selinuxLabel")) {
      std::string label = string(*l, "process.selinuxLabel");
      if (!label.empty()) s.exec_label = label;
    }
    for (const char* k : {"apparmorProfile", "oomScoreAdj", "scheduler", "ioPriority",
                          "execCPUAffinity", "commandLine"})
      must_be_empty(j, k, "process");
  }

  void resources(const json& j) {
    const std::string base = "linux.resources";
    object(j, base);
    only_known(j, base, {"devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits",
                         "network", "rdma", "unified"});
    for (const char* k : {"blockIO", "hugepageLimits", "network", "rdma", "unified"})
      must_be_empty(j, k, base);
    Limits& l = out.spec.limits;
    if (const json* d = member(j, "devices")) {
      // Only "deny everything": the container gets sandbox's /dev (the spec's default
      // devices) and no other device node, which is what such a list asks for.
      std::string p = key_path(base, "devices");
      array(*d, p);
      for (size_t i = 0; i < d->size(); ++i) {
        std::string e = index_path(p, i);
        object((*d)[i], e);
        only_known((*d)[i], e, {"allow", "type", "major", "minor", "access"});
        bool allow = member((*d)[i], "allow") && boolean((*d)[i]["allow"], key_path(e, "allow"));
        std::string type = member((*d)[i], "type") ? string((*d)[i]["type"], key_path(e, "type")) : "a";
        if (allow || type != "a" || member((*d)[i], "major") || member((*d)[i], "minor"))
          throw ConfigError(e, "only a rule denying every device is supported yet");
      }
    }
    if (const json* m = member(j, "memory")) {
      std::string p = key_path(base, "memory");
      object(*m, p);
      only_known(*m, p, {"limit", "swap", "reservation", "kernel", "kernelTCP", "swappiness",
                         "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"});
      for (const char* k : {"reservation", "kernel", "kernelTCP", "swappiness",
                            "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"})
        must_be_empty(*m, k, p);
      if (const json* v = member(*m, "limit")) {
        int64_t limit = signed_int(*v, key_path(p, "limit"));
        if (limit > 0) {
          l.memory = static_cast<uint64_t>(limit);
          l.memory_text = std::to_string(limit);
        }
      }
      if (const json* v = member(*m, "swap")) {
        // OCI's swap is memory + swap; sandbox's is the swap on top of the memory limit.
        int64_t swap = signed_int(*v, key_path(p, "swap"));
        if (swap == -1) {
          l.memory_swap = Limits::kUnlimited;
        } else if (swap > 0) {
          if (!l.memory || static_cast<uint64_t>(swap) < *l.memory)
            throw ConfigError(key_path(p, "swap"), "must be at least memory.limit (it counts "
                                                   "memory and swap together)");
          l.memory_swap = static_cast<uint64_t>(swap) - *l.memory;
        }
      }
    }
    if (const json* c = member(j, "pids")) {
      std::string p = key_path(base, "pids");
      object(*c, p);
      only_known(*c, p, {"limit"});
      if (const json* v = member(*c, "limit")) {
        int64_t limit = signed_int(*v, key_path(p, "limit"));
        if (limit > 0) {
          l.pids = static_cast<uint64_t>(limit);
          l.pids_text = std::to_string(limit);
        }
      }
    }
    if (const json* c = member(j, "cpu")) {
      std::string p = key_path(base, "cpu");
      object(*c, p);
      only_known(*c, p, {"shares", "quota", "period", "burst", "realtimeRuntime",
                         "realtimePeriod", "cpus", "mems", "idle"});
      for (const char* k : {"burst", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"})
        must_be_empty(*c, k, p);
      uint64_t period = Limits::kCpuPeriodUs;
      if (const json* v = member(*c, "period")) {
        period = unsigned_int(*v, key_path(p, "period"));
        if (period == 0) throw ConfigError(key_path(p, "period"), "must not be 0");
      }
      if (const json* v = member(*c, "quota")) {
        int64_t quota = signed_int(*v, key_path(p, "quota"));
        if (quota > 0) {
          // cpu.max with sandbox's fixed period: the same share of a CPU.
          l.cpu_quota_us = static_cast<uint64_t>(quota) * Limits::kCpuPeriodUs / period;
          if (*l.cpu_quota_us == 0) l.cpu_quota_us = 1;
          l.cpus_text = std::to_string(quota) + "/" + std::to_string(period);
        }
      }
      if (const json* v = member(*c, "shares")) {
        uint64_t shares = unsigned_int(*v, key_path(p, "shares"));
        if (shares > 0) {
          // cgroup v1 shares (2..262144) to cgroup v2 weight (1..10000), as runc and crun.
          shares = std::clamp<uint64_t>(shares, 2, 262144);
          l.cpu_weight = 1 + ((shares - 2) * 9999) / 262142;
        }
      }
    }
  }

  void linux(const json& j) {
    object(j, "linux");
    only_known(j, "linux", {"namespaces", "uidMappings", "gidMappings", "seccomp", "resources",
                            "maskedPaths", "readonlyPaths", "devices", "cgroupsPath", "sysctl",
                            "rootfsPropagation", "mountLabel", "intelRdt", "personality",
                            "timeOffsets", "memoryPolicy", "netDevices"});
    for (const char* k : {"devices",
                          "rootfsPropagation", "mountLabel", "intelRdt", "personality",
                          "timeOffsets", "memoryPolicy", "netDevices"})
      must_be_empty(j, k, "linux");
    const json* ns = member(j, "namespaces");
    if (!ns) throw ConfigError("linux.namespaces", "missing (a mount namespace is required)");
    namespaces(*ns);
    if (const json* s = member(j, "sysctl")) sysctl(*s);
    if (const json* c = member(j, "cgroupsPath")) {
      // Accepted, never used to place the container (runtime.cpp notes it in --log): the
      // limits of linux.resources go to sandbox's own cgroup under the caller's, as
      // --memory's, and fail closed where none can be made; with no limit, no cgroup.
      std::string path = string(*c, "linux.cgroupsPath");
      if (!path.empty()) out.cgroups_path = path;
    }
    id_maps(member(j, "uidMappings"), member(j, "gidMappings"));
    if (const json* s = member(j, "seccomp")) {
      object(*s, "linux.seccomp");
      out.seccomp_json = s->dump();
    }
    if (const json* r = member(j, "resources")) resources(*r);
    for (auto [key, kind] : {std::pair{"readonlyPaths", CoverOp::Kind::ReadOnly},
                             std::pair{"maskedPaths", CoverOp::Kind::Mask}}) {
      const json* a = member(j, key);
      if (!a) continue;
      std::string p = key_path("linux", key);
      array(*a, p);
      for (size_t i = 0; i < a->size(); ++i) {
        std::string where = index_path(p, i);
        std::string dest = string((*a)[i], where);
        if (dest.empty() || dest[0] != '/') throw ConfigError(where, "must be an absolute path");
        covers.push_back(CoverOp{kind, dest});
      }
    }
  }

  // linux.sysctl: only the settings of a namespace the container gets new (as runc):
  // anything else would change the host's.
  void sysctl(const json& j) {
    object(j, "linux.sysctl");
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& key = it.key();
      const std::string where = "linux.sysctl[\"" + key + "\"]";
      std::string value = string(*it, where);
      if (!valid_sysctl_key(key))
        throw ConfigError(where, "not a sysctl name (dot-separated letters, digits, '_', '-')");
      switch (sysctl_namespace(key)) {
        case SysctlNs::None:
          throw ConfigError(where, "not a namespaced sysctl (it would change the host's)");
        case SysctlNs::Net:
          // A joined one is the container's own too (the runtime refuses its own).
          if (!ns_new.count("network") && !ns_joined.count("network"))
            throw ConfigError(where, "needs a network namespace (linux.namespaces)");
          break;
        case SysctlNs::Ipc:
          // A joined one is the container's own too (the runtime refuses its own).
          if (!ns_new.count("ipc") && !ns_joined.count("ipc"))
            throw ConfigError(where, "needs a ipc namespace (linux.namespaces)");
          break;
        case SysctlNs::Uts:
          // A joined one is the container's own too (the runtime refuses its own).
          if (!ns_new.count("uts") && !ns_joined.count("uts"))
            throw ConfigError(where, "needs a uts namespace (linux.namespaces)");
          break;
      }
      out.spec.sysctls.emplace_back(key, value);
    }
  }

  std::vector<CoverOp> covers;  // after the mounts: most paths are in /proc and /sys

  // process.user against the namespaces and maps.
  void ids() {
    Spec& s = out.spec;
    uid_t uid = static_cast<uid_t>(user_uid.value_or(0));
    gid_t gid = s.gid.value_or(0);
    if (mapped_uid && uid != *mapped_uid)
      throw ConfigError("process.user.uid", std::to_string(uid) + " is not mapped "
                        "(linux.uidMappings maps only " + std::to_string(*mapped_uid) + ")");
    if (mapped_gid && gid != *mapped_gid)
      throw ConfigError("process.user.gid", std::to_string(gid) + " is not mapped "
                        "(linux.gidMappings maps only " + std::to_string(*mapped_gid) + ")");
    const IdMapRequest& maps = s.id_maps;
    if (!maps.empty() && !ranges_map(maps.uids, uid))
      throw ConfigError("process.user.uid", std::to_string(uid) + " is not mapped in linux.uidMappings");
    if (!maps.empty() && !ranges_map(maps.gids, gid))
      throw ConfigError("process.user.gid", std::to_string(gid) + " is not mapped in linux.gidMappings");
    if (!groups.empty()) {
      // Security: setgroups inside a user namespace is allowed only when its gid map was
      // written from outside (a map sandbox writes itself denies it): refused, never dropped.
      if (userns && maps.empty())
        throw ConfigError("process.user.additionalGids",
                          "supplementary groups need linux.gidMappings written from outside "
                          "(more than your own gid: by root, or by newgidmap from your "
                          "/etc/subgid ranges); the single-id map sandbox writes itself "
                          "denies setgroups");
      for (size_t i = 0; i < groups.size(); ++i)
        if (userns && !ranges_map(maps.gids, groups[i]))
          throw ConfigError(index_path("process.user.additionalGids", i),
                            "gid " + std::to_string(groups[i]) + " is not mapped in linux.gidMappings");
      s.groups = groups;
      s.groups_origin = "process.user.additionalGids";
    }
    if (userns && out.joins.end() != std::find_if(out.joins.begin(), out.joins.end(),
                                                  [](const NsJoin& n) { return n.type == "user"; })) {
      // The joined namespace's maps decide the ids.
      s.gid.reset();
      if (uid != 0 || gid != 0)
        throw ConfigError("process.user", "a uid or gid other than 0 in a joined user "
                                          "namespace is not supported yet");
      return;
    }
    if (!userns && (uid != in.uid || gid != in.gid)) {
      // Without a user namespace the ids are switched in place, which needs CAP_SETUID and
      // CAP_SETGID here (root, or uid 0 of an engine's user namespace, as rootless Podman
      // runs its runtime); without them no map can give them.
      if (!in.can_set_ids)
        throw ConfigError("process.user", "uid " + std::to_string(uid) + " / gid " +
                                              std::to_string(gid) + " differ from yours (" +
                                              std::to_string(in.uid) + "/" +
                                              std::to_string(in.gid) +
                                              "), there is no user namespace, and switching "
                                              "ids needs CAP_SETUID and CAP_SETGID");
      s.set_ids_in_place = true;
    }
    s.uid = uid;
    s.gid = gid;
  }

  void hostname(const json& j) {
    std::string h = string(j, "hostname");
    if (h.empty()) return;
    if (!out.spec.unshare_uts) throw ConfigError("hostname", "needs a uts namespace");
    out.spec.hostname = h;
  }
};

}  // namespace

Config map_config(const std::string& json_text, const MapInput& in) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw ConfigError("(document)", std::string("not valid JSON: ") + e.what());
  }
  object(doc, "(document)");
  only_known(doc, "", {"ociVersion", "root", "mounts", "process", "hostname", "domainname",
                       "linux", "hooks", "annotations"});
  const json* ver = member(doc, "ociVersion");
  if (!ver) throw ConfigError("ociVersion", "missing");
  std::string v = string(*ver, "ociVersion");
  if (v.rfind("1.", 0) != 0) throw ConfigError("ociVersion", "version " + v + " is not 1.x");
  must_be_empty(doc, "domainname", "");
  if (const json* a = member(doc, "annotations")) object(*a, "annotations");  // informational

  Mapper m{in, {}, {}, {}, false, {}, {}, {}, {}};
  if (const json* h = member(doc, "hooks")) m.out.hooks = hooks(*h);
  // linux first: the namespaces decide what process.user and hostname may say.
  const json* lin = member(doc, "linux");
  if (!lin) throw ConfigError("linux", "missing (a mount namespace is required)");
  m.linux(*lin);
  const json* proc = member(doc, "process");
  if (!proc) throw ConfigError("process", "missing (sandbox runs a process)");
  m.process(*proc);
  m.ids();
  if (const json* h = member(doc, "hostname")) m.hostname(*h);
  if (const json* mounts = member(doc, "mounts")) {
    array(*mounts, "mounts");
    for (size_t i = 0; i < mounts->size(); ++i) m.mount((*mounts)[i], index_path("mounts", i));
  }
  for (auto& c : m.covers) m.out.spec.fs.emplace_back(std::move(c));
  const json* root = member(doc, "root");
  if (!root) throw ConfigError("root", "missing");
  m.root(*root);  // inserted first: the other mounts land in it
  if (root->contains("readonly") && boolean((*root)["readonly"], "root.readonly"))
    m.out.spec.fs.emplace_back(RemountRoOp{"/"});  // last: the mount points exist by then
  // Signals the runtime sends (kill) reach the process, which is in its own session.
  m.out.spec.new_session = true;
  return std::move(m.out);
}

int signal_from_name(const std::string& name) {
  if (name.empty()) return -1;
  if (std::all_of(name.begin(), name.end(), ::isdigit)) {
    auto n = parse::unsigned_dec(name, 64);
    return n && *n > 0 ? static_cast<int>(*n) : -1;
  }
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), ::toupper);
  if (n.rfind("SIG", 0) == 0) n = n.substr(3);
  for (int sig = 1; sig < 32; ++sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev && n == abbrev) return sig;
  }
  if (n.rfind("RTMIN", 0) == 0 || n.rfind("RTMAX", 0) == 0) {
    bool min = n.rfind("RTMIN", 0) == 0;
    std::string rest = n.substr(5);
    int off = 0;
    if (!rest.empty()) {
      if ((min && rest[0] != '+') || (!min && rest[0] != '-')) return -1;
      auto v = parse::unsigned_dec(rest.substr(1), 32);
      if (!v) return -1;
      off = static_cast<int>(*v);
    }
    int sig = min ? SIGRTMIN + off : SIGRTMAX - off;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
  }
  return -1;
}

std::string features_json() {
  json f;
  f["ociVersionMin"] = "1.0.0";
  f["ociVersionMax"] = "1.2.0";
  f["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                "poststop"};
  f["mountOptions"] = {"bind", "rbind", "ro", "rw", "nosuid", "nodev", "dev", "noexec", "exec",
                       "private", "rprivate", "slave", "rslave", "mode", "size", "tmpcopyup"};
  json caps = json::array();
  for (int c = 0; c <= security::last_cap(); ++c)
    if (security::capability_name(c)) caps.push_back(security::capability_display_name(c));
  f["linux"] = {
      {"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}},
      {"capabilities", caps},
      {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
      {"seccomp",
       {{"enabled", true},
        {"actions", {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                     "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE"}},
        {"operators", {"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT",
                       "SCMP_CMP_GE", "SCMP_CMP_MASKED_EQ"}}}},
      {"apparmor", {{"enabled", false}}},
      {"selinux", {{"enabled", true}}},
      {"intelRdt", {{"enabled", false}}},
  };
  f["annotations"] = json::object();
  return f.dump(4) + "\n";
}

}  // namespace sb::oci
