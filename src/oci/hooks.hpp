// Running config.json's hooks (runtime spec v1.2, config.md "POSIX-platform Hooks"): each
// hook is a program started with the container's state JSON on its stdin, its own argv
// and environment, and an optional timeout after which it is killed and has failed.
//
// Where each kind runs (oci/runtime.cpp wires them to the launch's SetupHooks):
//   prestart, createRuntime  the runtime's namespaces (the supervisor), after the
//                            container's namespaces and mounts exist, before its pivot_root
//   createContainer          the same moment, in the container's user and mount namespaces,
//                            entered from the runtime's side (HookEnter); its path resolves
//                            in the runtime's tree, as the spec says
//   startContainer           inside the container (its process, after `start`, before exec)
//   poststart                the runtime (`start`), once the container's process is exec'd
//   poststop                 the runtime (`delete`), once the container is gone
//
// Hooks run with the runtime's privileges (the engine configured them, not the container),
// but hold none of its descriptors beyond 0-2.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "oci/config.hpp"

namespace sb::oci {

// createContainer: the container's namespaces, as descriptors, and where the runtime's
// root is in that mount namespace (the hook is chrooted there, so that its path and its
// libraries resolve as in the runtime's tree while its mounts are the container's).
struct HookEnter {
  int userns = -1;
  int mntns = -1;
  std::string root;
};

// Runs one hook to its end, with `state` on its stdin and `cwd` as its working directory.
// Throws Error naming the hook's JSON path and why it failed (exit status, signal,
// timeout, exec failure).
void run_hook(const Hook& hook, const std::string& state, const std::string& cwd,
              const HookEnter* enter = nullptr);

// Every hook of `list` in order; the first that fails throws (the later ones do not run).
void run_hooks(const std::vector<Hook>& list, const std::string& state, const std::string& cwd,
               const HookEnter* enter = nullptr);

// Every hook of `list` in order; a failure is passed to `on_error` and the next one runs
// (poststart, poststop: the spec has their failures logged only).
template <typename F>
void run_hooks_logged(const std::vector<Hook>& list, const std::string& state,
                      const std::string& cwd, F on_error) {
  for (const auto& h : list) {
    try {
      run_hook(h, state, cwd);
    } catch (const std::exception& e) {
      on_error(std::string(e.what()));
    }
  }
}

// The hooks as the state directory keeps them (for `start` and `delete`), and back.
nlohmann::json hooks_to_json(const std::vector<Hook>& list);
std::vector<Hook> hooks_from_json(const nlohmann::json& j);

}  // namespace sb::oci
