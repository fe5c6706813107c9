#include "spec/spec.hpp"

#include <cctype>

namespace sb {

const std::string& fs_op_dest(const FsOp& op) {
  return std::visit(
      [](const auto& o) -> const std::string& {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, ChmodOp>)
          return o.path;
        else
          return o.dest;
      },
      op);
}

bool valid_sysctl_key(const std::string& key) {
  if (key.empty() || key.size() > 255) return false;
  bool component_empty = true;
  for (char ch : key) {
    if (ch == '.') {
      if (component_empty) return false;  // leading dot, "..", or an empty component
      component_empty = true;
    } else if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-') {
      component_empty = false;
    } else {
      return false;  // '/', spaces, anything that could name another path
    }
  }
  return !component_empty;
}

SysctlNs sysctl_namespace(const std::string& key) {
  auto starts = [&](const char* p) { return key.rfind(p, 0) == 0; };
  // The kernel keeps these per network namespace (net/sysctl_net.c)...
  if (starts("net.")) return SysctlNs::Net;
  // ...these per IPC namespace (ipc/ipc_sysctl.c, ipc/mq_sysctl.c)...
  if (starts("kernel.shm") || starts("kernel.msg") || key == "kernel.sem" || starts("fs.mqueue."))
    return SysctlNs::Ipc;
  // ...and these per UTS namespace (kernel/utsname_sysctl.c).
  if (key == "kernel.hostname" || key == "kernel.domainname") return SysctlNs::Uts;
  return SysctlNs::None;
}

std::vector<std::string> apply_env(const std::vector<std::string>& environ_in,
                                   const std::vector<EnvEdit>& edits) {
  std::vector<std::string> env = environ_in;
  auto erase = [&env](const std::string& name) {
    std::erase_if(env, [&](const std::string& kv) {
      return kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 &&
             kv[name.size()] == '=';
    });
  };
  for (const auto& e : edits) {
    switch (e.kind) {
      case EnvEdit::Kind::Set:
        erase(e.name);
        env.push_back(e.name + "=" + e.value);
        break;
      case EnvEdit::Kind::Unset:
        erase(e.name);
        break;
      case EnvEdit::Kind::Clear:
        // bwrap keeps PWD across --clearenv (it is set again after chdir anyway).
        std::erase_if(env, [](const std::string& kv) { return kv.rfind("PWD=", 0) != 0; });
        break;
    }
  }
  return env;
}

}  // namespace sb
