#include "spec/spec.hpp"


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
