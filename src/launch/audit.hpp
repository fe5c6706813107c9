// --audit-fd: one JSON line per denied action while the command runs, and a summary line at
// the end. Kinds: "syscall" (the --seccomp-profile's errno rules, seen through seccomp user
// notification and answered here with the profile's errno); other kinds (refused DNS
// names, rejected connections) go through AuditWriter::record with their own line.
//
// Bounded: every notification is answered at once, whatever happens to its line; lines go
// through a token bucket and are written only when the descriptor can take them without
// blocking; whatever is not written is counted as dropped, never queued.
#pragma once
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "security/seccomp.hpp"
#include "util/fd.hpp"

namespace sb::launch {

// A token bucket: `rate` tokens a second, at most `burst` held (full at the start). Pure:
// the caller passes the time in seconds (any monotonic origin).
class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  // True (and one token spent) when a token is available at time `now`.
  bool take(double now);

 private:
  double rate_, burst_, tokens_;
  double last_ = 0;
  bool started_ = false;
};

// Lines per second and burst of --audit-fd.
inline constexpr double kAuditRate = 200;
inline constexpr double kAuditBurst = 1000;

// One denied system call.
struct SyscallDenial {
  std::string name;  // "" when libseccomp does not know the number
  int nr = 0;
  uint32_t arch = 0;  // AUDIT_ARCH_* (= SCMP_ARCH_*)
  std::array<uint64_t, 6> args{};
  pid_t pid = 0;  // in the supervisor's PID namespace
  int err = 0;    // the errno the call returned
  std::string profile;
  std::string rule;  // "syscalls[3].names[1]", or "defaultAction"
};

// Pure: {"type":"syscall","name":..,"nr":..,"arch":..,"args":[..],"pid":..,"errno":..,
// "error":"EPERM","profile":..,"rule":..}\n
std::string audit_syscall_line(const SyscallDenial& d);
// Pure: {"type":"summary","counts":{KIND:N...},"written":N,"dropped":N}\n
std::string audit_summary_line(const std::map<std::string, uint64_t>& counts, uint64_t written,
                               uint64_t dropped);

// Writes the lines to the caller's descriptor (not owned: the Plan's).
class AuditWriter {
 public:
  explicit AuditWriter(int fd, TokenBucket bucket = TokenBucket(kAuditRate, kAuditBurst))
      : fd_(fd), bucket_(bucket) {}
  // The hook for every kind: counts one `kind`, and writes make_line() if the bucket has a
  // token and the descriptor takes it now; otherwise it is counted as dropped.
  void record(const std::string& kind, const std::function<std::string()>& make_line);
  // The summary line, once; it waits up to 2 s for room (a reader that reads slowly), and
  // is given up with a warning for one that never reads.
  void finish();
  uint64_t dropped() const { return dropped_; }

 private:
  bool write_now(const std::string& line, bool wait);
  int fd_;
  TokenBucket bucket_;
  std::map<std::string, uint64_t> counts_;
  uint64_t written_ = 0, dropped_ = 0;
  bool broken_ = false;  // the reader went away
  bool finished_ = false;
};

// The supervisor's end of the command's seccomp listener: answers each notification with
// the errno the plain program gives for it (never SECCOMP_USER_NOTIF_FLAG_CONTINUE: a
// denied call is never run) and records it.
class SeccompAuditor {
 public:
  SeccompAuditor(UniqueFd listener, std::string plain_program, std::string profile,
                 std::vector<security::SeccompLibRule> errno_rules, AuditWriter& writer);
  int fd() const { return listener_.get(); }
  // Answers what is pending (at most a batch, so the loop stays fair). False once the
  // listener is gone (no process left under the filter): the caller stops polling it.
  bool on_ready();

 private:
  UniqueFd listener_;
  std::string program_;
  std::string profile_;
  std::vector<security::SeccompLibRule> rules_;
  AuditWriter& writer_;
  size_t notif_size_ = 0, resp_size_ = 0;
};

// Pure: the errno a plain seccomp program returns for a call (its SECCOMP_RET_ERRNO data);
// EPERM when it does not return one (the call is denied all the same).
int denial_errno(const std::string& plain_program, uint32_t arch, int nr,
                 const std::array<uint64_t, 6>& args, uint64_t ip);

}  // namespace sb::launch
