// Planning: Spec (what was asked) + HostFacts (what this host allows) -> Plan (what will be
// done). The step between parsing and launching: it takes over the descriptors the options
// name, compiles and reads the seccomp programs, checks the options against each other and
// the host, and asks each subsystem (net/, limits/) for its part of the plan. Subsystems
// never call back into it.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "host/facts.hpp"
#include "limits/limits.hpp"
#include "net/net.hpp"
#include "plan/fds.hpp"
#include "security/seccomp.hpp"
#include "spec/spec.hpp"

namespace sb {

// The decisions, derived from Spec + HostFacts, plus what planning owns for the launch: the
// subsystems' parts (net::NetPlan: mode and helper; limits::LimitsPlan: cgroups, rlimits,
// cgroup namespace), the inherited descriptors and the compiled seccomp programs.
struct Plan : net::NetPlan, limits::LimitsPlan {
  bool userns = false;      // create a user namespace
  uid_t sandbox_uid = 0;    // uid inside
  gid_t sandbox_gid = 0;    // gid inside
  bool write_maps = false;  // we write our own maps (not with --userns-block-fd)
  // spec.id_maps: the supervisor has them written once the child asks (MapsWanted): itself
  // with CAP_SETUID/CAP_SETGID, else (maps_by_helper) by newuidmap/newgidmap.
  bool maps_from_outside = false;
  bool maps_by_helper = false;

  // Every descriptor an option named, owned (see plan/fds.hpp).
  planning::InheritedFds fds;
  // Seccomp programs for the command, in command-line order: --seccomp-profile compiled,
  // --seccomp/--add-seccomp-fd read.
  std::vector<std::string> seccomp_programs;
  // --audit-fd: the command loads `notify_program` (the profile's errno rules turned into
  // SCMP_ACT_NOTIFY) in place of seccomp_programs[index], with a listener the supervisor
  // answers; init and the supervisor keep the plain program (its errno is the answer).
  struct SeccompAudit {
    size_t index = 0;
    std::string notify_program;
    std::string profile;
    std::vector<security::SeccompLibRule> errno_rules;  // to name the rule in each line
  };
  std::optional<SeccompAudit> seccomp_audit;
  // Filesystem operations planning adds after the Spec's (--net pasta/slirp4netns: the
  // DNS forwarder's /etc/resolv.conf, from resolv_conf_data), and what they read.
  std::vector<FsOp> derived_fs;
  UniqueFd resolv_conf_data;
};

// Checks cross-option rules and resolves the implicit choices (a non-root caller always
// gets a user namespace, -try options fall back), then asks net/ and limits/. Owns nothing
// (no descriptors, no programs). Throws sb::Error naming the option.
Plan validate(const Spec& spec, const HostFacts& host);

namespace planning {

// What is prepared before the host is probed, in the order `sandbox` always did it: the
// descriptors (each checked open, then owned) and the --seccomp-profile programs compiled,
// so that a bad one fails before anything else.
struct Prepared {
  InheritedFds fds;
  std::vector<std::string> compiled_profiles;
  std::optional<Plan::SeccompAudit> seccomp_audit;  // --audit-fd (index set by make_plan)
};
Prepared prepare(const Spec& spec);

// validate(), then the prepared parts move in, the --seccomp/--add-seccomp-fd programs are
// read (stacked in command-line order with the compiled profiles) and the derived
// filesystem operations made.
Plan make_plan(const Spec& spec, const HostFacts& host, Prepared prepared);

}  // namespace planning
}  // namespace sb
