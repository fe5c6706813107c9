// What --info-fd and --json-status-fd carry: the objects (pure, in bwrap's key order and
// layout), why a limit ended the sandbox, and the writer that sends them.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "limits/cgroup.hpp"
#include "spec/spec.hpp"

namespace sb::launch {

// One member of a status object, in the order written.
using StatusValue = std::variant<long long, unsigned long long, std::string>;
using StatusObject = std::vector<std::pair<std::string, StatusValue>>;

// child-pid, then the ids the child reported ("pid=4026531836 ...") of the namespaces the
// sandbox created (the mount namespace always), in bwrap's order.
StatusObject info_object(pid_t pid, const std::string& reported, const Spec& spec,
                         const Plan& plan);

// --info-fd: bwrap's indented object ("{\n    \"child-pid\": N,\n ...\n}\n").
std::string info_fd_text(const StatusObject& obj);
// --json-status-fd: one object per line, spaced as bwrap writes it ("{ \"exit-code\": 0 }").
// Strings are escaped as JSON requires (control
// characters as \uXXXX, invalid UTF-8 replaced by U+FFFD).
std::string json_status_line(const StatusObject& obj);

// The one-line reasons a limit gave, most decisive first, and the limit's name and value
// for --json-status-fd.
struct LimitReport {
  std::vector<std::string> lines;
  std::string name;
  std::string value;
};
// `status` is the child's wait status; `has_init`: the child is the sandbox's init, which
// reports the command's death by SIGKILL as exit status 137.
LimitReport limit_report(const Limits& l, bool timed_out, const limits::CgroupSet::Events& ev,
                         int status, bool has_init);

// {"exit-code": N} with the limit that ended the sandbox, if one did.
StatusObject exit_object(int code, const LimitReport& report);

// Writes the status fds. The start object once (--info-fd is closed after it unless it is
// also --sync-fd, as bwrap does); the exit object last, closing --json-status-fd. A reader
// that went away does not stop the sandbox.
class StatusWriter {
 public:
  StatusWriter(std::optional<int> info_fd, std::optional<int> json_status_fd,
               std::optional<int> sync_fd)
      : info_fd_(info_fd), json_fd_(json_status_fd), sync_fd_(sync_fd) {}
  void started(const StatusObject& info);
  bool start_written() const { return started_; }
  void finished(const StatusObject& exit);

 private:
  std::optional<int> info_fd_, json_fd_, sync_fd_;
  bool started_ = false;
};

}  // namespace sb::launch
