// sandbox: parse, probe, launch, return the command's status.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/options.hpp"
#include "cli/profile.hpp"
#include "cli/subcommands.hpp"
#include "host/probe.hpp"
#include "launch/launch.hpp"
#include "oci/runtime.hpp"
#include "plan/plan.hpp"
#include "security/seccomp.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/shell.hpp"

int main(int argc, char** argv) {
  sb::log::set_program_name(argc > 0 ? argv[0] : "sandbox");
  // The sandbox's own pid 1, exec'd by the setup (launch/child.cpp); never an option.
  if (argc > 1 && std::string_view(argv[1]) == sb::launch::kInitExecArg)
    return sb::launch::init_exec_main(argc, argv);
  // The OCI runtime: a second name of the binary, because engines exec the runtime by path
  // with runc's command line (`sandbox-runc create ...`), and `sandbox oci ...` for people.
  if (sb::log::program_name() == "sandbox-runc")
    return sb::oci::runtime_main(std::vector<std::string>(argv + 1, argv + argc));
  if (argc > 1 && std::string_view(argv[1]) == "oci")
    return sb::oci::runtime_main(std::vector<std::string>(argv + 2, argv + argc));
  // `sandbox doctor ...`, `sandbox seccomp-compile ...`: their own option tables.
  if (const sb::cli::SubcommandTable* sub = argc > 1 ? sb::cli::find_subcommand(argv[1]) : nullptr)
    return sb::cli::run_subcommand(*sub, std::vector<std::string>(argv + 2, argv + argc));
  try {
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    sb::cli::SystemParseEnv env;
    sb::cli::ParseResult r = sb::cli::parse(args, env);
    sb::log::set_level_prefix(r.level_prefix);
    sb::log::set_verbose(r.verbose);
    const sb::Spec& spec = r.spec;
    switch (r.action) {
      case sb::cli::Action::Help:
        // Like bwrap: "usage: ARGV0 ...", argv[0] exactly as invoked.
        std::fputs(sb::cli::usage_text(sb::log::invoked_as()).c_str(), stdout);
        return 0;
      case sb::cli::Action::Version:
        std::fputs(sb::cli::version_text(sb::log::program_name()).c_str(), stdout);
        return 0;
      case sb::cli::Action::ListProfiles: {
        auto names = sb::cli::list_profiles();
        if (names.empty()) {
          // Nothing installed where this binary looks: say where, so a broken or moved
          // install is not mistaken for "no profiles exist".
          std::string where;
          for (const auto& d : sb::cli::profile_dirs()) where += (where.empty() ? "" : ", ") + d;
          sb::log::error("no profiles found (looked in " + where + ")");
          return 1;
        }
        for (const auto& n : names) std::printf("%s\n", n.c_str());
        return 0;
      }
      case sb::cli::Action::PrintArgs: {
        // A plain command line (profiles and --args expanded) that bwrap also understands,
        // but for sandbox-only options.
        std::string line = sb::log::program_name();
        for (const auto& a : r.expanded_args) line += " " + sb::shell::quote(a);
        if (!spec.command.empty()) line += " --";
        for (const auto& a : spec.command) line += " " + sb::shell::quote(a);
        std::printf("%s\n", line.c_str());
        return 0;
      }
      case sb::cli::Action::Run: break;
    }
    // The descriptors the options name and the seccomp profiles, before anything else.
    sb::planning::Prepared prepared = sb::planning::prepare(spec);
    if (spec.command.empty()) {
      std::fputs(sb::cli::usage_text(sb::log::invoked_as()).c_str(), stderr);
      return 1;
    }
    if (sb::log::verbose())
      sb::log::step("parsed " + std::to_string(r.expanded_args.size()) + " arguments");
    sb::HostFacts host = sb::host::probe();
    sb::Plan plan = sb::planning::make_plan(spec, host, std::move(prepared));
    if (sb::log::verbose())
      sb::log::step(std::string("host probed and options validated (") +
                    (plan.userns ? "with" : "without") + " a user namespace)");
    return sb::launch::run(spec, plan, host);
  } catch (const sb::cli::ParseError& e) {
    sb::log::set_level_prefix(e.level_prefix());
    sb::log::error(e.what());
    return 1;
  } catch (const sb::Error& e) {
    sb::log::error(e.what());
    return 1;
  } catch (const std::exception& e) {
    sb::log::error(std::string("internal error: ") + e.what());
    return 1;
  }
}
