#include "plan/fds.hpp"

#include <fcntl.h>

#include <algorithm>
#include <string>

#include "util/error.hpp"

namespace sb::planning {

void check_fd_uses(const std::vector<FdUse>& uses) {
  for (size_t i = 0; i < uses.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const FdUse& a = uses[j];
      const FdUse& b = uses[i];
      if (a.fd != b.fd) continue;
      auto is = [&](FdRole x, FdRole y) {
        return (a.role == x && b.role == y) || (a.role == y && b.role == x);
      };
      // --info-fd is closed once written, which would silently lose every --json-status-fd
      // line after it. (--sync-fd may share a descriptor with either, as with bwrap.)
      if (is(FdRole::Info, FdRole::JsonStatus))
        throw Error("--info-fd and --json-status-fd name the same descriptor " +
                    std::to_string(a.fd) + "; give each its own");
      // The same for --audit-fd's lines after the --info-fd object.
      if (is(FdRole::Info, FdRole::Audit))
        throw Error("--info-fd and --audit-fd name the same descriptor " +
                    std::to_string(a.fd) + "; give each its own");
      // bwrap closes each descriptor once it has read it, so the same fd twice cannot work.
      if (is(FdRole::Seccomp, FdRole::Seccomp))
        throw Error("Can't read seccomp data: fd " + std::to_string(a.fd) +
                    " is given twice\n(each " + b.option +
                    " program needs its own descriptor, which is closed once read)");
    }
  }
}

void check_fds_open(const std::vector<FdUse>& uses, const std::function<bool(int)>& is_open) {
  for (const auto& u : uses) {
    bool open = is_open ? is_open(u.fd) : ::fcntl(u.fd, F_GETFD) >= 0;
    if (!open)
      throw Error("Invalid fd: " + std::to_string(u.fd) + "\n" + u.option + ": " +
                  std::to_string(u.fd) + " is not an open file descriptor");
  }
}

InheritedFds InheritedFds::take(const std::vector<FdUse>& uses,
                                const std::function<bool(int)>& is_open) {
  check_fds_open(uses, is_open);
  check_fd_uses(uses);
  InheritedFds out;
  for (const auto& u : uses) {
    auto it = std::find_if(out.held_.begin(), out.held_.end(),
                           [&](const Held& h) { return h.fd.get() == u.fd; });
    if (it == out.held_.end()) {
      out.held_.push_back({UniqueFd(u.fd), {}});
      it = out.held_.end() - 1;
    }
    it->roles.push_back(u.role);
  }
  out.uses_ = uses;
  return out;
}

int InheritedFds::get(FdRole role) const {
  // The last one named wins (options that hold one value).
  for (auto u = uses_.rbegin(); u != uses_.rend(); ++u) {
    if (u->role != role) continue;
    for (const auto& h : held_)
      if (h.fd.get() == u->fd && std::find(h.roles.begin(), h.roles.end(), role) != h.roles.end())
        return h.fd.get();
    return -1;
  }
  return -1;
}

void InheritedFds::close_if(const std::function<bool(const Held&)>& pred) {
  std::erase_if(held_, pred);  // ~UniqueFd closes
}

void InheritedFds::done(FdRole role) {
  for (auto& h : held_) std::erase(h.roles, role);
  close_if([](const Held& h) { return h.roles.empty(); });
}

void InheritedFds::keep_for_supervisor() {
  close_if([](const Held& h) {
    return std::none_of(h.roles.begin(), h.roles.end(), [](FdRole r) {
      return r == FdRole::Info || r == FdRole::JsonStatus || r == FdRole::Audit ||
             r == FdRole::Sync;
    });
  });
}

void InheritedFds::close_before_exec(bool pass_sync) {
  close_if([pass_sync](const Held& h) {
    bool only_sync = std::all_of(h.roles.begin(), h.roles.end(),
                                 [](FdRole r) { return r == FdRole::Sync; });
    return !(pass_sync && only_sync && !h.roles.empty());
  });
}

}  // namespace sb::planning
