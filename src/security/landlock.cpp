#include "security/landlock.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <optional>
#include <type_traits>

#include "util/error.hpp"
#include "util/path.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_add_rule
#define SYS_landlock_add_rule 445
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace sb::security {
namespace {

constexpr unsigned kCreateRulesetVersion = 1U << 0;
constexpr int kRulePathBeneath = 1;

// struct landlock_ruleset_attr as of ABI 6; older kernels take a prefix of it.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
constexpr int kRuleNetPort = 2;
// struct landlock_net_port_attr.
struct NetPortAttr {
  uint64_t allowed_access;
  uint64_t port;
};
// struct landlock_path_beneath_attr (packed in the uapi).
struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

// "/a//b/./c/" -> "/a/b/c"; ".." pops (a destination never leaves the new root).
std::string normalize(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

struct Entry {
  std::string path;
  uint64_t access;
  bool root_tmpfs;  // the new root's own tmpfs (writable by mount, readable by rule)
  bool mount_root;
};

// What op gives at its destination: the access, whether it mounts (and so hides what was
// at or below its destination), and whether it creates on the filesystem below instead.
struct OpEffect {
  uint64_t access = 0;
  bool mounts = false;
  bool creates = false;    // --dir, --file: a directory or file on whatever is below
  bool remount_ro = false;
};

OpEffect effect(const FsOp& op) {
  using namespace ll;
  OpEffect e;
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, BindOp>) {
          e.mounts = true;
          e.access = o.mode == BindOp::Mode::ReadOnly ? kRead
                     : o.mode == BindOp::Mode::ReadWrite ? kRead | kWrite
                                                         : kRead | kWrite | kIoctlDev;
        } else if constexpr (std::is_same_v<T, RemountRoOp>) {
          e.remount_ro = true;
        } else if constexpr (std::is_same_v<T, CoverOp>) {
          // Read-only: as a remount; masked: an empty read-only mount (where it exists).
          if (o.kind == CoverOp::Kind::ReadOnly) e.remount_ro = true;
          else e.mounts = true, e.access = kRead;
        } else if constexpr (std::is_same_v<T, ProcOp>) {
          e.mounts = true;
          e.access = kProc;
        } else if constexpr (std::is_same_v<T, DevOp>) {
          // Device nodes are written (null, tty) and ioctl'd (terminals); /dev/shm is a
          // writable directory.
          e.mounts = true;
          e.access = kRead | kWrite | kIoctlDev;
        } else if constexpr (std::is_same_v<T, MqueueOp> || std::is_same_v<T, TmpfsOp>) {
          e.mounts = true;
          e.access = kRead | kWrite;
        } else if constexpr (std::is_same_v<T, DirOp>) {
          e.creates = true;
          e.access = kRead | kWrite;
        } else if constexpr (std::is_same_v<T, DataOp>) {
          if (o.kind == DataOp::Kind::File) {
            e.creates = true;
            e.access = kRead | kWrite;
          } else {
            e.mounts = true;
            e.access = o.kind == DataOp::Kind::RoBindData ? kRead : kRead | kWrite;
          }
        } else if constexpr (std::is_same_v<T, OverlayOp>) {
          e.mounts = true;
          e.access = o.kind == OverlayOp::Kind::ReadOnly ? kRead : kRead | kWrite;
        }
        // SymlinkOp, ChmodOp: no access of their own (a symlink's target is checked where
        // it leads).
      },
      op);
  return e;
}

std::string ops_list(uint64_t bits, const std::vector<std::pair<uint64_t, const char*>>& names) {
  std::string s;
  for (const auto& [b, n] : names)
    if (bits & b) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

// openat2 inside the new root, never through /proc magic links; open(2) where the kernel
// has no openat2 (after the pivot "/" is the new root anyway).
int open_rule_path(int root, const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
  if (fd >= 0 || (errno != ENOSYS && errno != E2BIG)) return static_cast<int>(fd);
  return ::open(path.c_str(), O_PATH | O_CLOEXEC);
}

}  // namespace

int landlock_abi() {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  return abi >= 0 ? static_cast<int>(abi) : -errno;
}

uint64_t landlock_fs_rights(int abi) {
  using namespace ll;
  if (abi <= 0) return 0;
  uint64_t r = (1ULL << 13) - 1;  // ABI 1: EXECUTE .. MAKE_SYM
  if (abi >= 2) r |= kRefer;
  if (abi >= 3) r |= kTruncate;
  if (abi >= 5) r |= kIoctlDev;
  return r;
}

uint64_t landlock_scopes(int abi) {
  return abi >= kLandlockScopeAbi ? ll::kScopeAbstractUnix | ll::kScopeSignal : 0;
}

std::string landlock_unavailable_reason(int abi) {
  if (abi == -EOPNOTSUPP)
    return "Landlock is built into this kernel but disabled (add landlock to the lsm= boot "
           "parameter)";
  if (abi == -ENOSYS)
    return "this kernel has no Landlock (it needs Linux 5.13 or later with "
           "CONFIG_SECURITY_LANDLOCK)";
  return std::string("landlock_create_ruleset: ") + std::strerror(-abi);
}

std::string landlock_summary(int abi) {
  if (abi <= 0) return landlock_unavailable_reason(abi);
  using namespace ll;
  std::string s = "Landlock ABI " + std::to_string(abi) + ": --landlock restricts " +
                  ops_list(landlock_fs_rights(abi),
                           {{kReadFile, "reads"}, {kWriteFile, "writes"},
                            {kRefer, "renames and links across directories"},
                            {kTruncate, "truncation"}, {kIoctlDev, "device ioctls"}});
  uint64_t sc = landlock_scopes(abi);
  if (sc) s += ", and keeps signals and abstract unix sockets inside the sandbox";
  if (abi < kLandlockRequiredAbi)
    s += "; truncate(2) outside the tree needs ABI 3 (Linux 6.2): only --landlock-mode "
         "best-effort works";
  return s;
}

std::vector<LandlockRule> landlock_rules(const std::vector<FsOp>& ops,
                                         const std::function<bool(size_t)>& skipped) {
  // The new root's tmpfs is readable (ls /, the parents the ops made), never writable:
  // write only where something writable was put.
  std::vector<Entry> entries{{"/", ll::kRead, true, true}};
  for (size_t i = 0; i < ops.size(); ++i) {
    if (skipped && skipped(i)) continue;
    const OpEffect e = effect(ops[i]);
    const std::string dest = normalize(fs_op_dest(ops[i]));
    if (e.remount_ro) {
      for (auto& en : entries)
        if (path_at_or_below(en.path, dest)) en.access &= ~ll::kWrite;
      continue;
    }
    if (e.mounts) {
      // Hidden under the new mount: what was at or below its destination.
      std::erase_if(entries, [&](const Entry& en) { return path_at_or_below(en.path, dest); });
      entries.push_back({dest, e.access, false, true});
    } else if (e.creates) {
      // Writable only when made on the root tmpfs; elsewhere it has the access of the
      // mount it is on (a rule below a mount adds nothing a rule on the mount lacks, and
      // one on a read-only mount must not add write).
      const Entry* cover = nullptr;
      for (const auto& en : entries)
        if (path_at_or_below(dest, en.path) && (!cover || en.path.size() > cover->path.size()))
          cover = &en;
      if (cover && cover->root_tmpfs && cover->path != dest)
        entries.push_back({dest, e.access, false, false});
    }
  }
  std::vector<LandlockRule> rules;
  for (auto& en : entries) rules.push_back({en.path, en.access, en.mount_root});
  return rules;
}

LandlockPlan landlock_decide(const LandlockRequest& req, int abi) {
  LandlockPlan plan;
  plan.abi = abi;
  if (!req.enabled) return plan;
  auto refuse_or_warn = [&](const std::string& msg, const std::string& option) {
    if (!req.best_effort)
      throw Error(option + ": " + msg + " (--landlock-mode best-effort runs without it)");
    plan.warnings.push_back(option + ": " + msg + " (--landlock-mode best-effort)");
  };
  if (abi <= 0) {
    refuse_or_warn("can't confine the command's filesystem: " + landlock_unavailable_reason(abi),
                   "--landlock");
    return plan;  // best-effort: nothing to enforce
  }
  if (abi < kLandlockRequiredAbi)
    refuse_or_warn("Landlock ABI " + std::to_string(abi) +
                       " can't stop truncate(2) of files outside the sandbox's tree (that "
                       "needs ABI 3, Linux 6.2)",
                   "--landlock");
  plan.enforce = true;
  plan.handled_fs = landlock_fs_rights(abi);
  uint64_t wanted = (req.scope_signal ? ll::kScopeSignal : 0) |
                    (req.scope_abstract_unix ? ll::kScopeAbstractUnix : 0);
  uint64_t missing = wanted & ~landlock_scopes(abi);
  // The default scopes are the best use of the ABI; scopes named with --landlock-scope
  // were asked for, and their absence is refused as any other.
  if (missing && req.scopes_given)
    refuse_or_warn("Landlock ABI " + std::to_string(abi) + " can't scope " +
                       ops_list(missing, {{ll::kScopeSignal, "signals"},
                                          {ll::kScopeAbstractUnix, "abstract unix sockets"}}) +
                       " (that needs ABI 6, Linux 6.12)",
                   "--landlock-scope");
  plan.scopes = wanted & landlock_scopes(abi);
  return plan;
}

std::optional<std::vector<uint16_t>> landlock_connect_ports(const std::vector<NetAllow>& rules) {
  if (rules.empty()) return std::nullopt;
  std::vector<uint16_t> ports{53};
  for (const NetAllow& r : rules) {
    if (r.kind == NetAllow::Kind::None) continue;  // allows no port
    if (r.any_port()) return std::nullopt;
    if (static_cast<size_t>(r.port_hi - r.port_lo) >= kLandlockMaxPorts) return std::nullopt;
    for (unsigned p = r.port_lo; p <= r.port_hi; ++p) ports.push_back(static_cast<uint16_t>(p));
  }
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  if (ports.size() > kLandlockMaxPorts) return std::nullopt;
  return ports;
}

LandlockPlan landlock_prepare(const Spec& spec, int landlock_abi) {
  LandlockPlan plan = landlock_decide(spec.landlock, landlock_abi);
  for (const auto& w : plan.warnings) log::warning(w);
  if (!plan.enforce) return plan;
  // Security: a second fence for --allow-net's ports, per process rather than per packet:
  // a TCP connect to a port no rule allows fails (EACCES) even where the egress table lets
  // the packet through (the sandbox's own loopback). Below ABI 4 the table alone holds.
  if (auto ports = landlock_connect_ports(spec.allow_net); ports && plan.abi >= kLandlockNetAbi) {
    plan.handled_net = ll::kNetConnectTcp;
    plan.connect_ports = std::move(*ports);
  }
  // A -try bind whose source is missing mounts nothing: its destination keeps what was
  // there, which must not gain the bind's access. Asked of the caller's tree, as the new
  // root's builder does next.
  plan.rules = landlock_rules(spec.fs, [&](size_t i) {
    const auto* b = std::get_if<BindOp>(&spec.fs[i]);
    if (!b || !b->allow_missing || b->source_fd >= 0) return false;
    UniqueFd fd(::open(b->source.c_str(), O_PATH | O_CLOEXEC));
    return !fd;
  });
  return plan;
}

void landlock_enforce(const LandlockPlan& plan) {
  if (!plan.enforce) return;
  RulesetAttr attr{plan.handled_fs, plan.handled_net, plan.scopes};
  // The prefix of the struct this ABI knows (net rights from ABI 4, scopes from 6).
  size_t size = plan.abi >= kLandlockScopeAbi ? sizeof attr
                : plan.abi >= 4               ? 2 * sizeof(uint64_t)
                                              : sizeof(uint64_t);
  // The kernel makes the ruleset descriptor close-on-exec.
  UniqueFd ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0)));
  if (!ruleset) throw_errno("--landlock: landlock_create_ruleset");
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("--landlock: can't open /");
  // Each rule's path, opened and identified (device, inode, mount).
  struct Opened {
    UniqueFd fd;
    const LandlockRule* rule;
    struct statx stx;
  };
  std::vector<Opened> opened;
  for (const auto& r : plan.rules) {
    UniqueFd fd(open_rule_path(root.get(), r.path));
    if (!fd) {
      // Gone (a later op replaced a parent by a file, say): no rule, so no access.
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
        if (log::verbose()) log::step("landlock: " + r.path + " does not exist, no rule");
        continue;
      }
      throw_errno("--landlock: can't open " + r.path);
    }
    struct statx stx;
    if (::statx(fd.get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_INO |
                STATX_MNT_ID, &stx) < 0)
      throw_errno("--landlock: can't stat " + r.path);
    // Security: a mount's access goes to that mount only; found elsewhere (hidden below a
    // later mount the op list did not show), the path gets no rule of its own.
    if (r.mount_root && (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
        !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
      if (log::verbose()) log::step("landlock: " + r.path + " is no longer a mount, no rule");
      continue;
    }
    opened.push_back({std::move(fd), &r, stx});
  }
  auto same = [](const struct statx& a, const struct statx& b) {
    return a.stx_ino == b.stx_ino && a.stx_dev_major == b.stx_dev_major &&
           a.stx_dev_minor == b.stx_dev_minor &&
           (!(a.stx_mask & b.stx_mask & STATX_MNT_ID) || a.stx_mnt_id == b.stx_mnt_id);
  };
  size_t added = 0;
  for (size_t i = 0; i < opened.size(); ++i) {
    const auto& o = opened[i];
    // Security: two rules that reach the same place (a destination behind a symlink) are
    // one: the later op's access, which is what that place shows, not their union.
    bool later = false;
    for (size_t j = i + 1; j < opened.size() && !later; ++j) later = same(o.stx, opened[j].stx);
    if (later) {
      if (log::verbose())
        log::step("landlock: " + o.rule->path + " is replaced by a later rule, no rule");
      continue;
    }
    uint64_t access = o.rule->access & plan.handled_fs;
    if (!S_ISDIR(o.stx.stx_mode)) access &= ll::kFileRights;
    if (!access) continue;
    PathBeneathAttr pb{access, o.fd.get()};
    if (::syscall(SYS_landlock_add_rule, ruleset.get(), kRulePathBeneath, &pb, 0) < 0)
      throw_errno("--landlock: can't add the rule for " + o.rule->path);
    ++added;
  }
  // --allow-net: the TCP ports connect may reach (struct landlock_net_port_attr).
  for (uint16_t port : plan.handled_net ? plan.connect_ports : std::vector<uint16_t>{}) {
    NetPortAttr np{ll::kNetConnectTcp, port};
    if (::syscall(SYS_landlock_add_rule, ruleset.get(), kRuleNetPort, &np, 0) < 0)
      throw_errno("--landlock: can't add the rule for TCP port " + std::to_string(port));
  }
  // Security: from here on this process and everything it starts reach only what the rules
  // grant, through any path or descriptor opened later. Needs no_new_privs (set before).
  if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) < 0)
    throw_errno("--landlock: landlock_restrict_self");
  if (log::verbose())
    log::step("landlock: ABI " + std::to_string(plan.abi) + ", " + std::to_string(added) +
              " rules" + (plan.scopes ? ", signals/abstract sockets scoped" : "") +
              (plan.handled_net ? ", TCP connect to " + std::to_string(plan.connect_ports.size()) +
                                      " port(s)" : ""));
}

}  // namespace sb::security
