// --audit-fd: the line format, the rate limit and the supervisor's end of the seccomp
// listener (see audit.hpp).
//
// Raw ioctls, not libseccomp's seccomp_notify_*: the listener comes from our own
// seccomp(2) load of an exported program in the child (libseccomp's seccomp_notify_fd only
// knows filters it loaded itself), and its receive/respond are the same two ioctls behind
// an API-level probe; the sizes are asked of the kernel (SECCOMP_GET_NOTIF_SIZES) as
// libseccomp does, so a kernel with larger structures works too.
#include "launch/audit.hpp"

#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "launch/launch.hpp"
#include "security/seccomp.hpp"
#include "util/log.hpp"

namespace sb::launch {
namespace {

using json = nlohmann::ordered_json;

std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Answers per wake-up before the loop looks at its other descriptors again.
constexpr int kBatch = 256;
// How long the summary line waits for a reader that lets its pipe fill up.
constexpr int kSummaryWaitMs = 2000;

}  // namespace

bool TokenBucket::take(double now) {
  if (!started_) {
    started_ = true;
    last_ = now;
  }
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
    last_ = now;
  }
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

std::string audit_syscall_line(const SyscallDenial& d) {
  json j;
  j["type"] = "syscall";
  j["name"] = d.name.empty() ? json(nullptr) : json(d.name);
  j["nr"] = d.nr;
  j["arch"] = security::seccomp_arch_name(d.arch);
  j["args"] = json::array();
  for (uint64_t a : d.args) j["args"].push_back(a);
  j["pid"] = d.pid;
  j["errno"] = d.err;
  const char* en = ::strerrorname_np(d.err);
  j["error"] = en ? en : std::to_string(d.err);
  j["profile"] = d.profile;
  j["rule"] = d.rule;
  return dump_line(j);
}

std::string audit_summary_line(const std::map<std::string, uint64_t>& counts, uint64_t written,
                               uint64_t dropped) {
  json j;
  j["type"] = "summary";
  j["counts"] = json::object();
  for (const auto& [k, n] : counts) j["counts"][k] = n;
  j["written"] = written;
  j["dropped"] = dropped;
  return dump_line(j);
}

// SIGPIPE is blocked around the write (a reader that went away must not kill the
// supervisor), and taken back if the write raised it.
bool AuditWriter::write_now(const std::string& line, bool wait) {
  if (broken_) return false;
  // Never block the loop that answers notifications: a pipe that reports POLLOUT has room
  // for PIPE_BUF bytes, which a line of this size takes whole. The summary waits a little
  // for a slow reader, never forever for one that does not read.
  pollfd p{fd_, POLLOUT, 0};
  int r;
  while ((r = ::poll(&p, 1, wait ? kSummaryWaitMs : 0)) < 0 && errno == EINTR) {
  }
  if (r != 1 || !(p.revents & POLLOUT) || line.size() > PIPE_BUF) return false;
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  size_t off = 0;
  bool ok = true;
  while (off < line.size()) {
    ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      if (errno == EPIPE) {
        broken_ = true;
        timespec zero{0, 0};
        ::sigtimedwait(&pipe_set, nullptr, &zero);
      }
      break;
    }
    off += static_cast<size_t>(n);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

void AuditWriter::record(const std::string& kind, const std::function<std::string()>& make_line) {
  ++counts_[kind];
  if (bucket_.take(now_seconds()) && write_now(make_line(), false))
    ++written_;
  else
    ++dropped_;
}

void AuditWriter::finish() {
  if (finished_) return;
  finished_ = true;
  if (!write_now(audit_summary_line(counts_, written_, dropped_), true) && !broken_)
    log::warning("--audit-fd: the summary line could not be written (the reader does not read)");
}

int denial_errno(const std::string& plain_program, uint32_t arch, int nr,
                 const std::array<uint64_t, 6>& args, uint64_t ip) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = arch;
  d.instruction_pointer = ip;
  std::memcpy(d.args, args.data(), sizeof d.args);
  auto r = evaluate_seccomp_program(plain_program, d);
  if (r && (*r & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO)
    return static_cast<int>(*r & SECCOMP_RET_DATA);
  return EPERM;
}

SeccompAuditor::SeccompAuditor(UniqueFd listener, std::string plain_program, std::string profile,
                               std::vector<security::SeccompLibRule> errno_rules,
                               AuditWriter& writer)
    : listener_(std::move(listener)),
      program_(std::move(plain_program)),
      profile_(std::move(profile)),
      rules_(std::move(errno_rules)),
      writer_(writer) {
  seccomp_notif_sizes sizes{};
  if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0) {
    notif_size_ = sizes.seccomp_notif;
    resp_size_ = sizes.seccomp_notif_resp;
  }
  notif_size_ = std::max(notif_size_, sizeof(seccomp_notif));
  resp_size_ = std::max(resp_size_, sizeof(seccomp_notif_resp));
}

bool SeccompAuditor::on_ready() {
  std::vector<char> req_buf(notif_size_), resp_buf(resp_size_);
  for (int i = 0; i < kBatch; ++i) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) < 0) return errno == EINTR;
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
      if (!(p.revents & POLLIN)) return false;
    }
    if (!(p.revents & POLLIN)) return true;
    std::fill(req_buf.begin(), req_buf.end(), 0);  // the kernel wants it zeroed
    auto* req = reinterpret_cast<seccomp_notif*>(req_buf.data());
    if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
      if (errno == EINTR || errno == ENOENT) continue;  // ENOENT: the caller went away
      return false;
    }
    std::array<uint64_t, 6> args;
    std::memcpy(args.data(), req->data.args, sizeof req->data.args);
    const int err = denial_errno(program_, req->data.arch, req->data.nr, args,
                                 req->data.instruction_pointer);
    // Answered first, before any line: the command waits for nothing else. The errno is
    // the plain profile's for exactly this call; never FLAG_CONTINUE (the call never runs).
    std::fill(resp_buf.begin(), resp_buf.end(), 0);
    auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf.data());
    resp->id = req->id;
    resp->error = -err;
    resp->val = 0;
    resp->flags = 0;
    while (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno == EINTR) {
    }
    const pid_t pid = static_cast<pid_t>(req->pid);
    const uint32_t arch = req->data.arch;
    const int nr = req->data.nr;
    writer_.record("syscall", [&] {
      SyscallDenial d;
      if (char* n = seccomp_syscall_resolve_num_arch(arch, nr)) {
        d.name = n;
        std::free(n);
      }
      d.nr = nr;
      d.arch = arch;
      d.args = args;
      d.pid = pid;
      d.err = err;
      d.profile = profile_;
      const auto* r = security::seccomp_matching_rule(rules_, arch, d.name, args);
      d.rule = r ? r->where : "defaultAction";
      return audit_syscall_line(d);
    });
  }
  return true;
}

}  // namespace sb::launch
