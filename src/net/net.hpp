// Networking beyond loopback: user-mode stacks (pasta, slirp4netns) started by the
// supervisor against the sandbox's network namespace, and root-only veth + bridge + NAT.
//
// Flow: cli/ parses --net/--publish/--subnet with the parse_* functions; planning calls
// plan() to resolve the mode and find the helper; the supervisor calls start() right after
// clone and tells the child (MsgType::NetReady) once start()'s session is Ready; the child
// mounts resolv_conf() on /etc/resolv.conf while it builds the new root.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/facts.hpp"
#include "spec/spec.hpp"
#include "util/fd.hpp"

namespace sb::net {

// Addressing of the user-mode stacks: the same for pasta and slirp4netns (slirp4netns'
// defaults), so the sandbox sees one network whichever helper runs.
inline constexpr const char* kUserModeAddress = "10.0.2.100";
inline constexpr const char* kUserModeGateway = "10.0.2.2";  // host loopback if asked
inline constexpr const char* kUserModeDns = "10.0.2.3";      // forwarded to the host's resolver
inline constexpr const char* kUserModeIfname = "tap0";
// --net veth: the bridge, and the default --subnet (the bridge takes its first address).
inline constexpr const char* kBridge = "sandbox0";
inline constexpr const char* kDefaultSubnet = "10.231.0.0/24";

// ---- Parsing (cli/). Errors name the option. ----
NetMode parse_mode(const std::string& value);
PortForward parse_publish(const std::string& value);
Ipv4Subnet parse_subnet(const std::string& value);
std::string format_ipv4(uint32_t addr);  // host byte order

// ---- Planning (plan/plan.cpp). ----
// The network part of the Plan (plan/plan.hpp).
struct NetPlan {
  // Networking, resolved: None (loopback only), Host, Pasta, Slirp4netns or Veth.
  NetMode net = NetMode::Host;
  std::string net_helper;  // absolute path of pasta, slirp4netns or nft (veth)
  bool egress = false;     // --allow-net: the setup child loads the egress table
  bool egress_dns = false; // --allow-net NAME: the supervisor answers the sandbox's DNS
};
// Resolves the mode (the later of --net and --share-net/--unshare-net wins), checks the
// combinations and finds the helper program. Throws sb::Error.
void plan(const Spec& spec, const HostFacts& host, NetPlan& out);
// What to change when opening /dev/net/tun failed with `err` (ENOENT: no module; EACCES,
// EPERM: its mode), "" when nothing helps: the one advice --net's error and `sandbox
// doctor` give.
std::string tun_fix(int err);
// Absolute path of `name` found on $PATH (a default PATH when unset), then in
// `fallback_dirs` (colon-separated); nullopt if none.
std::optional<std::string> find_program(std::string_view name, std::string_view fallback_dirs = "");

// ---- In the child. ----
// Content for /etc/resolv.conf inside, when the mode provides a DNS forwarder.
std::optional<std::string> resolv_conf(const NetPlan& plan);
// A memfd (close-on-exec) holding `content`, read position at the start: the data of the
// resolv.conf op planning derives.
UniqueFd resolv_conf_memfd(const std::string& content);

// ---- In the supervisor. ----
// Networking attached to one sandbox. Destroying it stops the helper or removes the veth,
// the NAT rules and (when sandbox made it and nothing else uses it) the bridge; a small
// keeper process does the same if the supervisor dies (even by SIGKILL).
class Session {
 public:
  enum class State { Pending, Ready, Failed };
  virtual ~Session() = default;
  // Descriptors to poll for POLLIN: progress while Pending, helper output and exit after.
  virtual std::vector<int> fds() const = 0;
  // Makes progress (after one of fds() was readable, or once the deadline passed). When it
  // returns Failed, `error` says why; a session that failed after Ready is only reported.
  virtual State step(std::string& error) = 0;
  std::chrono::steady_clock::time_point deadline;
};

// The sandbox's network and user namespaces as nsfs descriptors, opened by the child
// itself (/proc/self/ns/*) and handed over with MsgType::NetNs: the user-mode helpers get
// them as inherited descriptors (/proc/self/fd/N), never through /proc/CHILD/ns, which the
// non-dumpable setup child's are closed to. -1 when not needed (veth).
struct SandboxNs {
  int net = -1;
  int user = -1;
};

// True when the child must hand its namespaces over (MsgType::NetNs) right after clone.
bool needs_ns_fds(const NetPlan& plan);

// Starts networking for the sandbox whose first process is `child` (its namespaces exist).
// nullptr when the plan needs nothing from outside (none, host). Throws sb::Error.
std::unique_ptr<Session> start(const Spec& spec, const NetPlan& plan, pid_t child,
                               const SandboxNs& ns = {});

// True when the child must wait for MsgType::NetReady before running the command.
bool needs_ready(const NetPlan& plan);

// What the network mode is called where the sandbox waits for it ("pasta", "the veth
// network"), for diagnostics.
const char* label(const NetPlan& plan);

// Implementations (usermode.cpp, veth.cpp), with start()'s signature: the mode table
// (modes.cpp) names them.
std::unique_ptr<Session> start_user_mode(const Spec& spec, const NetPlan& plan, pid_t child,
                                         const SandboxNs& ns);
std::unique_ptr<Session> start_veth(const Spec& spec, const NetPlan& plan, pid_t child,
                                    const SandboxNs& ns);

// ---- The mode table (modes.cpp). ----
// One row per NetMode: what the mode is called, what it needs from the host, how it starts
// and what the sandbox gets from it. Parsing, planning, the supervisor and the child read
// the row; nothing else branches on the mode, so a new mode is one new row (the compiler
// refuses a NetMode without one).
struct Helper {
  const char* program = nullptr;  // looked up on PATH when the plan is made
  const char* package = nullptr;  // the Debian package that installs it
};
using StartFn = std::unique_ptr<Session> (*)(const Spec&, const NetPlan&, pid_t, const SandboxNs&);
struct ModeRow {
  NetMode mode;
  const char* name;         // --net NAME, and the mode in messages
  bool selectable = false;  // --net accepts it (Default is only "no --net")
  // ---- Needs (planning).
  Helper helper;                // a program the mode runs (none: {})
  NetMode picks[2] = {};        // a mode that resolves to the first of these whose helper exists
  const char* root_only = nullptr;  // why only root may use it (nullptr: anyone)
  bool tun = false;  // its helper opens /dev/net/tun as the caller, from inside the sandbox's
                     // user namespace: checked at planning for non-root callers
  // ---- What works with it (planning checks the options against these).
  bool publish = false;        // --publish
  bool publish_ipv6 = false;   // --publish [IPv6]:...
  bool host_loopback = false;  // --net-host-loopback
  bool subnet = false;         // --subnet
  bool allow_net = false;      // --allow-net (a namespace whose traffic leaves through us)
  // ---- Start (supervisor and child).
  StartFn start = nullptr;  // the supervisor's session; nullptr: nothing runs outside
  bool ns_fds = false;      // the child hands its namespaces over (MsgType::NetNs)
  bool ready = false;       // the child waits for MsgType::NetReady
  // ---- What the sandbox gets.
  bool resolv_conf = false;  // /etc/resolv.conf names the helper's DNS forwarder
  const char* label = "";    // diagnostics: what the sandbox waits for
};
const ModeRow& mode_row(NetMode m);
// Every row, in NetMode order.
std::vector<ModeRow> mode_rows();
// The mode a Spec asks for: the later of --net and --share-net/--unshare-net wins.
NetMode effective_mode(NetMode net, bool unshare_net);
// "pasta, slirp4netns or user": the --net modes that have `feature` (a ModeRow flag; a
// mode with picks when all of them have it), for messages.
std::string modes_with(bool ModeRow::*feature);

// The keeper: a process forked from the supervisor, in its own process group (terminal
// signals do not reach it), that runs `teardown` when the supervisor asks (SIGTERM) or
// dies (PR_SET_PDEATHSIG). `child_argv`, when not empty, is executed as the keeper's child
// (the helper) with `fds` placed at 0, 1, 2, 3... (nothing else open) and is stopped before the teardown; the
// keeper exits when it does. `before_exec`, when set, runs in the helper's process once the
// descriptors are in place (a message on stderr and a non-zero exit if it throws). Returns
// the keeper's pid. `keeper_fds` stay open in the keeper (for its teardown), never in the helper.
pid_t spawn_keeper(const std::vector<std::string>& child_argv, const std::vector<int>& fds,
                   const std::function<void()>& teardown,
                   const std::function<void()>& before_exec = {},
                   const std::vector<int>& keeper_fds = {});

// True for a name the user-mode stacks' private directory can have: "sandbox-net-" and
// mkdtemp's six letters or digits (what the sweep of stale directories considers).
bool is_private_dir_name(std::string_view name);
// Asks the keeper to stop the helper and clean up (SIGTERM) and waits until it has; nothing
// when `keeper` is not a pid.
void stop_keeper(pid_t keeper);

}  // namespace sb::net
