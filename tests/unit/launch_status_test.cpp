// Unit tests for launch/status: the --info-fd and --json-status-fd objects (bwrap's key order
// and layout, JSON escaping) and why a limit ended the sandbox.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "launch/status.hpp"

namespace sb::launch {
namespace {

using json = nlohmann::json;

// The layout bwrap 0.11 writes on --info-fd (bubblewrap.c: "{\n    \"child-pid\": %i", then
// ",\n    \"%s-namespace\": %ju" per namespace, then "\n}\n").
TEST(LaunchStatus, InfoFdIsBwrapsIndentedObject) {
  StatusObject obj{{"child-pid", 42LL}, {"mnt-namespace", 4026531841ULL},
                   {"pid-namespace", 4026531836ULL}};
  EXPECT_EQ(info_fd_text(obj),
            "{\n    \"child-pid\": 42,\n    \"mnt-namespace\": 4026531841,\n"
            "    \"pid-namespace\": 4026531836\n}\n");
  EXPECT_EQ(info_fd_text({{"child-pid", 7LL}}), "{\n    \"child-pid\": 7\n}\n");
}

// bwrap 0.11 on --json-status-fd: "{ \"child-pid\": %i", ", \"%s-namespace\": %ju" per
// namespace, " }\n"; at the end "{ \"exit-code\": %i }\n". Our limit fields follow its spacing.
TEST(LaunchStatus, JsonStatusIsOneObjectPerLine) {
  StatusObject obj{{"child-pid", 42LL}, {"mnt-namespace", 4026531841ULL}};
  EXPECT_EQ(json_status_line(obj), "{ \"child-pid\": 42, \"mnt-namespace\": 4026531841 }\n");
  LimitReport r;
  EXPECT_EQ(json_status_line(exit_object(3, r)), "{ \"exit-code\": 3 }\n");
  r.name = "memory";
  r.value = "32M";
  EXPECT_EQ(json_status_line(exit_object(137, r)),
            "{ \"exit-code\": 137, \"limit\": \"memory\", \"limit-value\": \"32M\" }\n");
}

TEST(LaunchStatus, NamespacesInBwrapsOrderOnlyThoseCreated) {
  Spec s;
  s.unshare_pid = s.unshare_net = s.unshare_ipc = s.unshare_uts = true;
  Plan p;
  p.cgroupns = true;
  auto obj = info_object(99, "uts=6 user=9 pid=5 mnt=3 net=4 ipc=2 cgroup=1", s, p);
  std::vector<std::string> keys;
  for (const auto& [k, v] : obj) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"child-pid", "cgroup-namespace", "ipc-namespace",
                                            "mnt-namespace", "net-namespace", "pid-namespace",
                                            "uts-namespace"}))
      << "no user-namespace: bwrap leaves it out";
  EXPECT_EQ(std::get<long long>(obj[0].second), 99);
  EXPECT_EQ(std::get<unsigned long long>(obj[1].second), 1u);
  EXPECT_EQ(std::get<unsigned long long>(obj[6].second), 6u);

  // Namespaces not created are the caller's: not listed even when reported.
  obj = info_object(99, "pid=5 mnt=3 net=4", Spec{}, Plan{});
  ASSERT_EQ(obj.size(), 2u);
  EXPECT_EQ(obj[1].first, "mnt-namespace");
  EXPECT_EQ(std::get<unsigned long long>(obj[1].second), 3u);
}

// A string with control characters, quotes, backslashes and non-ASCII text comes back
// whole from a JSON parser, and the line has no raw control character in it.
TEST(LaunchStatus, StringsRoundTripThroughAJsonParser) {
  const std::string nasty = std::string("/tmp/a\x01" "b\nc\td\x1f\x7f \"q\" \\ ") +
                            "p\xC3\xA4th/\xE6\x97\xA5\xE6\x9C\xAC/\xF0\x9F\x98\x80" + '\0' + "end";
  StatusObject obj{{"exit-code", 0LL}, {"limit", nasty}, {"limit-value", std::string("\x1b[31m")}};
  std::string line = json_status_line(obj);
  ASSERT_EQ(line.back(), '\n');
  for (size_t i = 0; i + 1 < line.size(); ++i)
    EXPECT_GE(static_cast<unsigned char>(line[i]), 0x20) << "raw control byte at " << i << ": " << line;
  json j = json::parse(line);
  EXPECT_EQ(j["limit"].get<std::string>(), nasty);
  EXPECT_EQ(j["limit-value"].get<std::string>(), "\x1b[31m");
  EXPECT_EQ(j["exit-code"].get<int>(), 0);

  std::string block = info_fd_text(obj);
  EXPECT_EQ(json::parse(block)["limit"].get<std::string>(), nasty);
}

TEST(LaunchStatus, InvalidUtf8StillGivesValidJson) {
  std::string line = json_status_line({{"limit", std::string("a\xff\xfe" "b")}});
  json j = json::parse(line);
  EXPECT_EQ(j["limit"].get<std::string>(), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b") << line;
}

// ---- StatusWriter ---------------------------------------------------------------------------

struct TestPipe {
  int r = -1, w = -1;
  TestPipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) {
      r = p[0];
      w = p[1];
    }
  }
  ~TestPipe() {
    ::close(r);
    if (w >= 0 && ::fcntl(w, F_GETFD) >= 0) ::close(w);
  }
  // What is in the pipe now (read without blocking).
  std::string drain() const {
    std::string out;
    char buf[512];
    ::fcntl(r, F_SETFL, O_NONBLOCK);
    for (ssize_t n; (n = ::read(r, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  bool write_end_open() const { return ::fcntl(w, F_GETFD) >= 0; }
};

TEST(LaunchStatusWriter, InfoOnceThenExitAndTheFdsAreClosed) {
  TestPipe info, status;
  ASSERT_GE(info.w, 0);
  ASSERT_GE(status.w, 0);
  StatusWriter wr(info.w, status.w, std::nullopt);
  StatusObject start{{"child-pid", 5LL}, {"mnt-namespace", 9ULL}};
  EXPECT_FALSE(wr.start_written());
  wr.started(start);
  EXPECT_TRUE(wr.start_written());
  wr.started({{"child-pid", 6LL}});  // once only
  EXPECT_FALSE(info.write_end_open()) << "--info-fd is closed after its object, as bwrap";
  EXPECT_EQ(info.drain(), info_fd_text(start));
  EXPECT_TRUE(status.write_end_open());
  wr.finished(exit_object(0, {}));
  EXPECT_FALSE(status.write_end_open());
  EXPECT_EQ(status.drain(), json_status_line(start) + json_status_line(exit_object(0, {})));
}

TEST(LaunchStatusWriter, InfoFdThatIsAlsoSyncFdStaysOpen) {
  TestPipe p;
  StatusWriter wr(p.w, std::nullopt, p.w);
  wr.started({{"child-pid", 5LL}});
  EXPECT_TRUE(p.write_end_open()) << "--sync-fd on the same descriptor is held until the end";
  wr.finished(exit_object(0, {}));  // no --json-status-fd: nothing written, nothing closed
  EXPECT_TRUE(p.write_end_open());
  EXPECT_EQ(p.drain(), "{\n    \"child-pid\": 5\n}\n");
}

// ---- limit_report -------------------------------------------------------------------------

Limits some_limits() {
  Limits l;
  l.timeout_text = "500ms";
  l.memory_text = "32M";
  l.pids_text = "20";
  return l;
}

int exited(int code) { return (code & 0xff) << 8; }  // a wait status as waitpid gives it
constexpr int kKilled = SIGKILL;                     // killed by SIGKILL

TEST(LaunchLimitReport, NothingHappenedNothingSaid) {
  auto r = limit_report(some_limits(), false, {}, exited(0), true);
  EXPECT_TRUE(r.lines.empty());
  EXPECT_EQ(r.name, "");
}

TEST(LaunchLimitReport, TimeoutComesFirst) {
  limits::CgroupSet::Events ev;
  ev.oom_kill = 1;
  auto r = limit_report(some_limits(), true, ev, kKilled, false);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0], "killed: timed out after 500ms");
  EXPECT_EQ(r.name, "timeout");
  EXPECT_EQ(r.value, "500ms");
}

TEST(LaunchLimitReport, OomKilledTheCommandOrSomethingElse) {
  limits::CgroupSet::Events ev;
  ev.oom_kill = 2;
  ASSERT_TRUE(WIFSIGNALED(kKilled));
  auto r = limit_report(some_limits(), false, ev, kKilled, false);
  EXPECT_EQ(r.lines, std::vector<std::string>{"killed: memory limit 32M reached"});
  EXPECT_EQ(r.name, "memory");
  EXPECT_EQ(r.value, "32M");
  // Through init: exit status 137 is the command's SIGKILL.
  r = limit_report(some_limits(), false, ev, exited(137), true);
  EXPECT_EQ(r.lines, std::vector<std::string>{"killed: memory limit 32M reached"});
  // Without init 137 is just an exit status: some other process was killed.
  r = limit_report(some_limits(), false, ev, exited(137), false);
  EXPECT_EQ(r.lines, std::vector<std::string>{
                         "memory limit 32M reached: the kernel killed 2 process(es) in the sandbox"});
}

TEST(LaunchLimitReport, PidsLimit) {
  limits::CgroupSet::Events ev;
  ev.pids_max = 3;
  auto r = limit_report(some_limits(), false, ev, exited(0), false);
  EXPECT_EQ(r.lines, std::vector<std::string>{"pids limit 20 reached: 3 fork(s) failed"});
  EXPECT_EQ(json_status_line(exit_object(0, r)),
            "{ \"exit-code\": 0, \"limit\": \"pids\", \"limit-value\": \"20\" }\n");
}

}  // namespace
}  // namespace sb::launch
