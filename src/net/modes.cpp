// The --net modes, one row each (see ModeRow in net.hpp). Adding a mode: a NetMode in
// spec.hpp, its row here, and its session if it starts something; the build fails until
// the row exists.
#include <iterator>

#include "net/net.hpp"

namespace sb::net {
namespace {

constexpr Helper kPasta{"pasta", "passt"};
constexpr Helper kSlirp{"slirp4netns", "slirp4netns"};
constexpr Helper kNft{"nft", "nftables"};

// Indexed by NetMode.
constexpr ModeRow kModes[] = {
    {.mode = NetMode::Default, .name = "default", .label = "the default network"},
    {.mode = NetMode::None, .name = "none", .selectable = true, .label = "no network"},
    {.mode = NetMode::Host, .name = "host", .selectable = true, .label = "the host's network"},
    {.mode = NetMode::Pasta,
     .name = "pasta",
     .selectable = true,
     .helper = kPasta,
     .tun = true,
     .publish = true,
     .publish_ipv6 = true,
     .host_loopback = true,
     .allow_net = true,
     .start = start_user_mode,
     .ns_fds = true,
     .ready = true,
     .resolv_conf = true,
     .label = "pasta"},
    {.mode = NetMode::Slirp4netns,
     .name = "slirp4netns",
     .selectable = true,
     .helper = kSlirp,
     .tun = true,
     .publish = true,
     .host_loopback = true,
     .allow_net = true,
     .start = start_user_mode,
     .ns_fds = true,
     .ready = true,
     .resolv_conf = true,
     .label = "slirp4netns"},
    {.mode = NetMode::Veth,
     .name = "veth",
     .selectable = true,
     .helper = kNft,
     .root_only = "it creates a bridge, a veth pair and NAT rules on the host (unprivileged "
                  "callers can use --net pasta or --net slirp4netns)",
     .publish = true,
     .subnet = true,
     .allow_net = true,
     .start = start_veth,
     .ready = true,
     .label = "the veth network"},
    // Resolved at planning to the first of its picks whose helper is installed: pasta is
    // faster and forwards without NAT tables of its own.
    {.mode = NetMode::User,
     .name = "user",
     .selectable = true,
     .picks = {NetMode::Pasta, NetMode::Slirp4netns},
     .label = "the user-mode network"},
};

// The last NetMode. The switch has no default: a mode added to the enum is a -Wswitch
// error (warnings are errors in the dev and CI builds) until it is listed here, and then
// the static_assert below fails until kModes has its row.
constexpr NetMode last_mode(NetMode m = NetMode::User) {
  switch (m) {
    case NetMode::Default:
    case NetMode::None:
    case NetMode::Host:
    case NetMode::Pasta:
    case NetMode::Slirp4netns:
    case NetMode::Veth:
    case NetMode::User:
      break;
  }
  return NetMode::User;
}

constexpr bool rows_in_enum_order() {
  for (size_t i = 0; i < std::size(kModes); ++i)
    if (static_cast<size_t>(kModes[i].mode) != i) return false;
  return true;
}

static_assert(std::size(kModes) == static_cast<size_t>(last_mode()) + 1,
              "kModes needs exactly one row per NetMode");
static_assert(rows_in_enum_order(), "kModes rows must follow the NetMode order");

}  // namespace

const ModeRow& mode_row(NetMode m) { return kModes[static_cast<size_t>(m)]; }

std::vector<ModeRow> mode_rows() { return {std::begin(kModes), std::end(kModes)}; }

bool needs_ns_fds(const NetPlan& plan) { return mode_row(plan.net).ns_fds; }

bool needs_ready(const NetPlan& plan) { return mode_row(plan.net).ready; }

const char* label(const NetPlan& plan) { return mode_row(plan.net).label; }

std::unique_ptr<Session> start(const Spec& spec, const NetPlan& plan, pid_t child,
                               const SandboxNs& ns) {
  StartFn f = mode_row(plan.net).start;
  return f ? f(spec, plan, child, ns) : nullptr;
}

}  // namespace sb::net
