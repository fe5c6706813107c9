#include "launch/status.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "util/io.hpp"

namespace sb::launch {
namespace {

using json = nlohmann::ordered_json;

json to_json(const StatusValue& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

// One value as JSON text: strings escaped, non-ASCII kept as UTF-8, invalid UTF-8 replaced
// (a status line is never lost to an odd byte).
std::string dump(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

// Status writes ignore errors: a reader that went away does not stop the sandbox.
using io::write_all;

}  // namespace

StatusObject info_object(pid_t pid, const std::string& reported, const Spec& spec,
                         const Plan& plan) {
  StatusObject obj{{"child-pid", static_cast<long long>(pid)}};
  const struct {
    const char* name;
    bool created;
  } ns[] = {{"cgroup", plan.cgroupns},   {"ipc", spec.unshare_ipc}, {"mnt", true},
            {"net", spec.unshare_net},   {"pid", spec.unshare_pid}, {"uts", spec.unshare_uts}};
  std::istringstream in(reported);
  std::string item;
  std::map<std::string, unsigned long long> ids;
  while (in >> item) {
    auto eq = item.find('=');
    if (eq != std::string::npos) ids[item.substr(0, eq)] = std::stoull(item.substr(eq + 1));
  }
  for (const auto& n : ns)
    if (n.created && ids.count(n.name))
      obj.emplace_back(std::string(n.name) + "-namespace", ids[n.name]);
  return obj;
}

std::string info_fd_text(const StatusObject& obj) {
  json j = json::object();
  for (const auto& [key, value] : obj) j[key] = to_json(value);
  return dump(j, 4) + "\n";  // nlohmann's 4-space layout is bwrap's
}

std::string json_status_line(const StatusObject& obj) {
  // bwrap's spacing: "{ \"child-pid\": N, \"mnt-namespace\": M }", "{ \"exit-code\": N }".
  std::string out = "{ ";
  for (size_t i = 0; i < obj.size(); ++i) {
    if (i) out += ", ";
    out += dump(json(obj[i].first)) + ": " + dump(to_json(obj[i].second));
  }
  return out + " }\n";
}

LimitReport limit_report(const Limits& l, bool timed_out, const limits::CgroupSet::Events& ev,
                         int status, bool has_init) {
  LimitReport r;
  auto add = [&](std::string line, const std::string& name, const std::string& value) {
    r.lines.push_back(std::move(line));
    if (r.name.empty()) {
      r.name = name;
      r.value = value;
    }
  };
  if (timed_out) add("killed: timed out after " + l.timeout_text, "timeout", l.timeout_text);
  if (ev.oom_kill) {
    // With a PID namespace the command's death reaches us as its init's exit status 137.
    bool killed = (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
                  (has_init && WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL);
    add(killed ? "killed: memory limit " + l.memory_text + " reached"
               : "memory limit " + l.memory_text + " reached: the kernel killed " +
                     std::to_string(ev.oom_kill) + " process(es) in the sandbox",
        "memory", l.memory_text);
  }
  if (ev.pids_max)
    add("pids limit " + l.pids_text + " reached: " + std::to_string(ev.pids_max) +
            " fork(s) failed",
        "pids", l.pids_text);
  return r;
}

StatusObject exit_object(int code, const LimitReport& report) {
  StatusObject obj{{"exit-code", static_cast<long long>(code)}};
  if (!report.name.empty()) {
    obj.emplace_back("limit", report.name);
    obj.emplace_back("limit-value", report.value);
  }
  return obj;
}

void StatusWriter::started(const StatusObject& info) {
  if (started_) return;
  started_ = true;
  if (info_fd_) {
    write_all(*info_fd_, info_fd_text(info));
    if (info_fd_ != sync_fd_) ::close(*info_fd_);  // one pipe for both: as bwrap
  }
  if (json_fd_) write_all(*json_fd_, json_status_line(info));
}

void StatusWriter::finished(const StatusObject& exit) {
  if (!json_fd_) return;
  write_all(*json_fd_, json_status_line(exit));
  ::close(*json_fd_);
}

}  // namespace sb::launch
