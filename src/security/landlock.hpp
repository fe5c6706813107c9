// Landlock (--landlock): a second fence around the command, enforced by the kernel on every
// path it opens, whatever route it takes there (an inherited descriptor of a host directory,
// /proc/PID/root, /proc/self/fd/N). The mounts are the first fence; Landlock restricts the
// command to the tree they built: read where it was bound read-only, write where it was
// bound writable, nothing elsewhere.
//
// The core is pure: landlock_rules() turns the ordered FsOp list into (path, access) rules,
// landlock_decide() turns the request and the kernel's ABI answer into what is enforced.
// Network (ABI 4): with --allow-net, TCP connect is limited to the ports its rules allow
// (plus 53, DNS over TCP), landlock_connect_ports(); bind stays free (a server inside
// the sandbox, a --publish'ed port). Without --allow-net TCP stays unrestricted.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spec/spec.hpp"

namespace sb::security {

// Landlock's access rights and scopes (uapi values, spelled out so that older kernel
// headers still build; the running kernel's ABI decides which are used).
namespace ll {
constexpr uint64_t kExecute = 1ULL << 0;
constexpr uint64_t kWriteFile = 1ULL << 1;
constexpr uint64_t kReadFile = 1ULL << 2;
constexpr uint64_t kReadDir = 1ULL << 3;
constexpr uint64_t kRemoveDir = 1ULL << 4;
constexpr uint64_t kRemoveFile = 1ULL << 5;
constexpr uint64_t kMakeChar = 1ULL << 6;
constexpr uint64_t kMakeDir = 1ULL << 7;
constexpr uint64_t kMakeReg = 1ULL << 8;
constexpr uint64_t kMakeSock = 1ULL << 9;
constexpr uint64_t kMakeFifo = 1ULL << 10;
constexpr uint64_t kMakeBlock = 1ULL << 11;
constexpr uint64_t kMakeSym = 1ULL << 12;
constexpr uint64_t kRefer = 1ULL << 13;     // ABI 2: rename/link across directories
constexpr uint64_t kTruncate = 1ULL << 14;  // ABI 3
constexpr uint64_t kIoctlDev = 1ULL << 15;  // ABI 5: ioctl on device files

constexpr uint64_t kNetBindTcp = 1ULL << 0;     // ABI 4
constexpr uint64_t kNetConnectTcp = 1ULL << 1;  // ABI 4

constexpr uint64_t kScopeAbstractUnix = 1ULL << 0;  // ABI 6
constexpr uint64_t kScopeSignal = 1ULL << 1;        // ABI 6

// What a read-only bind gives: list, read, execute.
constexpr uint64_t kRead = kExecute | kReadFile | kReadDir;
// What a writable place adds: every way of changing the tree.
constexpr uint64_t kWrite = kWriteFile | kRemoveDir | kRemoveFile | kMakeChar | kMakeDir |
                            kMakeReg | kMakeSock | kMakeFifo | kMakeBlock | kMakeSym | kRefer |
                            kTruncate;
// procfs: read, and write the files the kernel lets a process write (oom_score_adj, comm,
// attr/...); noexec anyway.
constexpr uint64_t kProc = kReadFile | kReadDir | kWriteFile | kTruncate;
// The rights the kernel accepts in a rule on a file that is not a directory.
constexpr uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;
}  // namespace ll

// Below this ABI the fence has a hole: truncate(2) of a file outside the tree, reached by
// path through an inherited descriptor, is not a handled right (it is from ABI 3, Linux 6.2).
inline constexpr int kLandlockRequiredAbi = 3;
// Signal and abstract unix socket scoping (Linux 6.12).
inline constexpr int kLandlockScopeAbi = 6;

// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): the ABI version, or
// -errno (EOPNOTSUPP: built in but disabled at boot; ENOSYS: not in this kernel).
int landlock_abi();
// The filesystem rights and scopes this ABI handles.
uint64_t landlock_fs_rights(int abi);
uint64_t landlock_scopes(int abi);
// Why this ABI answer means "no Landlock" (abi <= 0), for messages.
std::string landlock_unavailable_reason(int abi);
// One line for `sandbox doctor`: what --landlock gets on this ABI.
std::string landlock_summary(int abi);

struct LandlockRule {
  std::string path;  // absolute, inside the new root
  uint64_t access = 0;
  // The op mounted at `path`: the rule applies only if a mount's root is found there (a
  // mount hidden in a way the op list does not show lexically, through a symlinked parent,
  // gives its access to nothing else).
  bool mount_root = false;
  bool operator==(const LandlockRule&) const = default;
};

// Pure: the rules for the tree the ops build, in op order. "/" (the new root's own tmpfs) is
// readable; each mount gets the access of its op (a later mount at the same or a parent path
// hides earlier ones: their rules go); --dir and --file on the root tmpfs are writable;
// --remount-ro takes write from every rule at or below it. `skipped(i)`: op i mounted
// nothing (a -try bind whose source is missing) and so gives nothing.
// Landlock only adds rights down the tree: a read-only mount below a writable one keeps
// write rights from Landlock, and its mount flag (the first fence) refuses the writes.
std::vector<LandlockRule> landlock_rules(const std::vector<FsOp>& ops,
                                         const std::function<bool(size_t)>& skipped = {});

// What is enforced.
struct LandlockPlan {
  bool enforce = false;
  int abi = 0;
  uint64_t handled_fs = 0;  // rights denied unless a rule grants them
  uint64_t scopes = 0;
  uint64_t handled_net = 0;             // ll::kNetConnectTcp or 0
  std::vector<uint16_t> connect_ports;  // with handled_net: the TCP ports connect may reach
  std::vector<std::string> warnings;  // best-effort: what is missing
  std::vector<LandlockRule> rules;
};

// Landlock's network fence needs ABI 4 (Linux 6.7).
inline constexpr int kLandlockNetAbi = 4;
// More ports than this (wide --allow-net ranges) are not restricted by Landlock: one rule
// per port, and the egress table already holds the ranges.
inline constexpr size_t kLandlockMaxPorts = 1024;

// Pure: the TCP ports the command may connect to under Landlock with these --allow-net
// rules: every port of every rule, and 53 (DNS over TCP to the sandbox's resolver);
// nullopt (no restriction) when a rule allows every port, or more than kLandlockMaxPorts.
std::optional<std::vector<uint16_t>> landlock_connect_ports(const std::vector<NetAllow>& rules);

// Pure: the plan for `req` on a kernel whose landlock_abi() answered `abi` (rules not
// filled). Throws Error naming --landlock (or --landlock-scope) when something required
// cannot be had; with best-effort that is a warning in the plan instead.
LandlockPlan landlock_decide(const LandlockRequest& req, int abi);

// In the setup child, before the new root is built (the caller's tree is still there to
// tell which -try sources exist): decide, print the warnings, derive the rules.
LandlockPlan landlock_prepare(const Spec& spec, int landlock_abi);

// After the pivot and no_new_privs, before exec: opens each rule's path in the new root
// (O_PATH) and restricts the calling process and its future children. A path that no
// longer exists gets no rule (so no access).
void landlock_enforce(const LandlockPlan& plan);

}  // namespace sb::security
