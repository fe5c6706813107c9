// The descriptors the caller passed by number (--info-fd 5, --file 7 /x, --args 3...),
// owned. Planning takes every one over from the Spec's table (Spec::fds) into a UniqueFd;
// the supervisor and the child each close what they do not use, so nothing is closed
// through the Spec and nothing is closed twice.
//
// One descriptor may be named by several options. That is allowed, as with bwrap (the
// descriptor stays open while any of its uses needs it: --sync-fd and --info-fd on one pipe,
// one --bind-fd twice), except where it cannot work: --info-fd and --json-status-fd (the
// first is closed once written, losing the second's lines), and one descriptor read by two
// seccomp options (each program is read to EOF).
#pragma once
#include <functional>
#include <vector>

#include "spec/spec.hpp"
#include "util/fd.hpp"

namespace sb::planning {

// Throws sb::Error when two uses of one descriptor cannot share it (see above). Pure.
void check_fd_uses(const std::vector<FdUse>& uses);
// Throws sb::Error for the first use whose descriptor is not open (`is_open`; fcntl by
// default). The first line is bwrap's ("Invalid fd: N"), the second names the option.
void check_fds_open(const std::vector<FdUse>& uses, const std::function<bool(int)>& is_open = {});

// Pure: whether a descriptor held for `roles` stays open for the command at exec: a
// --sync-fd used for nothing else when `pass_sync` (with --as-pid-1 no init holds it, so the
// command does, as with bwrap), and an --audit-fd that is the command's stdin, stdout or
// stderr (0-2). Everything else is closed.
bool stays_for_command(int fd, const std::vector<FdRole>& roles, bool pass_sync);

class InheritedFds {
 public:
  InheritedFds() = default;
  // Checks that each descriptor is open (check_fds_open), then `uses` (check_fd_uses), and
  // owns each descriptor once.
  static InheritedFds take(const std::vector<FdUse>& uses,
                           const std::function<bool(int)>& is_open = {});

  // The descriptor last named for `role`, -1 when none (or already closed).
  int get(FdRole role) const;
  // How many distinct descriptors are held.
  size_t size() const { return held_.size(); }

  // `role`'s use is over: the descriptor is closed unless another use still needs it.
  void done(FdRole role);
  // The supervisor after clone: keeps what it writes to (--info-fd, --json-status-fd) and
  // --sync-fd, held for the sandbox's lifetime; closes the child's.
  void keep_for_supervisor();
  // The child right before exec: closes every descriptor but those stays_for_command keeps.
  void close_before_exec(bool pass_sync);

 private:
  struct Held {
    UniqueFd fd;
    std::vector<FdRole> roles;  // the uses still pending
  };
  std::vector<Held> held_;
  std::vector<FdUse> uses_;  // as named, for get()
  void close_if(const std::function<bool(const Held&)>& pred);
};

}  // namespace sb::planning
