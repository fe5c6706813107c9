// --audit-fd: the line format, the token bucket, the writer's bounds, the errno a
// notification is answered with, and the rewriting of errno actions to SCMP_ACT_NOTIFY.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <chrono>
#include <sstream>

#include "launch/audit.hpp"
#include "launch/launch.hpp"
#include "security/seccomp.hpp"
#include "util/error.hpp"

using namespace sb::launch;
using namespace sb::security;
using json = nlohmann::json;
using sb::Spec;

namespace {

std::vector<json> lines_of(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(json::parse(l));
  return out;
}

std::string read_pipe(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

SeccompCompileOptions native_only() {
  SeccompCompileOptions o;
  o.arches = {SCMP_ARCH_X86_64};
  o.kernel_release = "6.1.0";
  return o;
}

}  // namespace

TEST(auditTokenBucket, BurstThenRate) {
  TokenBucket b(10, 3);  // 10 a second, 3 held
  EXPECT_TRUE(b.take(100.0));
  EXPECT_TRUE(b.take(100.0));
  EXPECT_TRUE(b.take(100.0));
  EXPECT_FALSE(b.take(100.0));  // burst spent
  EXPECT_FALSE(b.take(100.05));  // half a token
  EXPECT_TRUE(b.take(100.15));   // 1.5 tokens now
  EXPECT_FALSE(b.take(100.15));
  EXPECT_TRUE(b.take(200.0));  // a long pause refills only to the burst
  EXPECT_TRUE(b.take(200.0));
  EXPECT_TRUE(b.take(200.0));
  EXPECT_FALSE(b.take(200.0));
}

TEST(auditTokenBucket, TimeGoingBackDoesNotRefill) {
  TokenBucket b(1000, 1);
  EXPECT_TRUE(b.take(5.0));
  EXPECT_FALSE(b.take(4.0));
}

TEST(auditLine, Syscall) {
  SyscallDenial d;
  d.name = "keyctl";
  d.nr = 250;
  d.arch = AUDIT_ARCH_X86_64;
  d.args = {1, 2, 3, 0xffffffffffffffffULL, 0, 0};
  d.pid = 4242;
  d.err = 1;
  d.profile = "default";
  d.rule = "syscalls[3].names[0]";
  std::string line = audit_syscall_line(d);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  json j = json::parse(line);
  EXPECT_EQ(j["type"], "syscall");
  EXPECT_EQ(j["name"], "keyctl");
  EXPECT_EQ(j["nr"], 250);
  EXPECT_EQ(j["arch"], "x86_64");
  EXPECT_EQ(j["args"], json::array({1, 2, 3, 0xffffffffffffffffULL, 0, 0}));
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["errno"], 1);
  EXPECT_EQ(j["error"], "EPERM");
  EXPECT_EQ(j["profile"], "default");
  EXPECT_EQ(j["rule"], "syscalls[3].names[0]");
  EXPECT_EQ(line.rfind("{\"type\":\"syscall\",\"name\":\"keyctl\",\"nr\":250,", 0), 0u) << line;
}

TEST(auditLine, UnknownNameIsNullAndProfileEscaped) {
  SyscallDenial d;
  d.nr = 9999;
  d.arch = AUDIT_ARCH_X86_64;
  d.err = 38;
  d.profile = "./we\"ird\n.json";
  json j = json::parse(audit_syscall_line(d));
  EXPECT_TRUE(j["name"].is_null());
  EXPECT_EQ(j["error"], "ENOSYS");
  EXPECT_EQ(j["profile"], "./we\"ird\n.json");
}

TEST(auditLine, Summary) {
  json j = json::parse(audit_summary_line({{"syscall", 100000}, {"dns", 2}}, 1000, 99002));
  EXPECT_EQ(j["type"], "summary");
  EXPECT_EQ(j["counts"]["syscall"], 100000);
  EXPECT_EQ(j["counts"]["dns"], 2);
  EXPECT_EQ(j["written"], 1000);
  EXPECT_EQ(j["dropped"], 99002);
}

TEST(auditWriter, RateLimitedLinesCountedAndSummarised) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  {
    AuditWriter w(p[1], TokenBucket(0.0001, 2));  // two lines, then (practically) none
    int made = 0;
    for (int i = 0; i < 5; ++i)
      w.record("syscall", [&] {
        ++made;
        return std::string("{\"type\":\"syscall\",\"i\":") + std::to_string(i) + "}\n";
      });
    w.record("dns", [] { return std::string("{\"type\":\"dns\"}\n"); });
    EXPECT_EQ(made, 2);  // a dropped line is not even formatted
    EXPECT_EQ(w.dropped(), 4u);
    w.finish();
    w.finish();  // once
  }
  ::close(p[1]);
  auto lines = lines_of(read_pipe(p[0]));
  ::close(p[0]);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["i"], 0);
  EXPECT_EQ(lines[1]["i"], 1);
  EXPECT_EQ(lines[2]["type"], "summary");
  EXPECT_EQ(lines[2]["counts"]["syscall"], 5);
  EXPECT_EQ(lines[2]["counts"]["dns"], 1);
  EXPECT_EQ(lines[2]["written"], 2);
  EXPECT_EQ(lines[2]["dropped"], 4);
}

TEST(auditWriter, FullPipeDropsInsteadOfBlocking) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ASSERT_GE(::fcntl(p[1], F_SETPIPE_SZ, 4096), 0);
  AuditWriter w(p[1], TokenBucket(1e9, 1e9));
  const std::string line(1000, 'x');
  for (int i = 0; i < 100; ++i) w.record("syscall", [&] { return line + "\n"; });  // returns
  EXPECT_GE(w.dropped(), 90u);
  ::close(p[0]);
  w.record("syscall", [&] { return std::string("{}\n"); });  // reader gone: no SIGPIPE death
  w.finish();
  ::close(p[1]);
}

TEST(auditAction, ErrnoBecomesNotifyOthersStay) {
  EXPECT_EQ(seccomp_effective_action(SCMP_ACT_ERRNO(1), false, true), SCMP_ACT_NOTIFY);
  EXPECT_EQ(seccomp_effective_action(SCMP_ACT_ERRNO(38), false, true), SCMP_ACT_NOTIFY);
  EXPECT_EQ(seccomp_effective_action(SCMP_ACT_ALLOW, false, true), SCMP_ACT_ALLOW);
  EXPECT_EQ(seccomp_effective_action(SCMP_ACT_KILL_PROCESS, false, true), SCMP_ACT_KILL_PROCESS);
  EXPECT_EQ(seccomp_effective_action(SCMP_ACT_TRAP, false, true), SCMP_ACT_TRAP);
  EXPECT_EQ(seccomp_effective_action(SCMP_ACT_ERRNO(1), false, false), SCMP_ACT_ERRNO(1));
  EXPECT_EQ(seccomp_effective_action(SCMP_ACT_ERRNO(1), true, false), SCMP_ACT_LOG);
}

TEST(auditAction, TranslationRewritesErrnoRulesAndDefault) {
  auto p = parse_seccomp_profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
      {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"}]})",
                                  "p.json");
  auto o = native_only();
  o.notify = true;
  auto t = translate_seccomp_profile(p, o);
  EXPECT_EQ(t.default_action, SCMP_ACT_NOTIFY);
  std::map<std::string, uint32_t> by_name;
  for (const auto& r : t.rules) by_name[r.name] = r.action;
  EXPECT_EQ(by_name["read"], SCMP_ACT_ALLOW);
  EXPECT_EQ(by_name["ptrace"], SCMP_ACT_KILL_PROCESS);
  // keyctl's errno differs from the default's, but both notify now: the rule adds nothing
  // (the supervisor takes the errno from the plain program).
  EXPECT_EQ(by_name.count("keyctl"), 0u);

  auto plain = translate_seccomp_profile(p, native_only());
  EXPECT_EQ(plain.default_action, SCMP_ACT_ERRNO(38));
}

TEST(auditErrno, FromThePlainProgram) {
  auto p = parse_seccomp_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
      {"names": ["unshare"], "action": "SCMP_ACT_ERRNO"},
      {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]})",
                                  "p.json");
  const std::string prog = compile_seccomp_profile(p, native_only()).bpf;
  const std::array<uint64_t, 6> none{};
  EXPECT_EQ(denial_errno(prog, AUDIT_ARCH_X86_64, SYS_keyctl, none, 0), 13);
  EXPECT_EQ(denial_errno(prog, AUDIT_ARCH_X86_64, SYS_unshare, none, 0), EPERM);
  EXPECT_EQ(denial_errno(prog, AUDIT_ARCH_X86_64, SYS_personality, {8, 0, 0, 0, 0, 0}, 0), 22);
  // Not an errno of the program (allowed here): still answered as denied, with EPERM.
  EXPECT_EQ(denial_errno(prog, AUDIT_ARCH_X86_64, SYS_personality, {0, 0, 0, 0, 0, 0}, 0), EPERM);
}

TEST(auditHandover, AProfileDenyingSendmsgIsRefused) {
  auto deny = parse_seccomp_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["sendmsg"], "action": "SCMP_ACT_ERRNO"}]})",
                                    "p.json");
  auto allow = parse_seccomp_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO"}]})",
                                     "p.json");
  SeccompCompileOptions o;  // the native architecture, as the check evaluates
  EXPECT_EQ(audit_handover_denied(compile_seccomp_profile(deny, o).bpf), "sendmsg");
  EXPECT_EQ(audit_handover_denied(compile_seccomp_profile(allow, o).bpf), "");
}

TEST(auditRule, TheRuleWhoseComparisonsHold) {
  auto p = parse_seccomp_profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["keyctl", "add_key"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
      {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
       "args": [{"index": 0, "value": 255, "valueTwo": 40, "op": "SCMP_CMP_MASKED_EQ"}]}]})",
                                  "p.json");
  std::vector<SeccompLibRule> errno_rules;
  for (auto& r : translate_seccomp_profile(p, native_only()).rules)
    if ((r.action & 0xffff0000U) == SCMP_ACT_ERRNO(0)) errno_rules.push_back(r);
  auto where = [&](const std::string& name, std::array<uint64_t, 6> args) {
    const auto* r = seccomp_matching_rule(errno_rules, SCMP_ARCH_X86_64, name, args);
    return r ? r->where : std::string("default");
  };
  EXPECT_EQ(where("add_key", {}), "syscalls[1].names[1]");
  EXPECT_EQ(where("personality", {8}), "syscalls[2].names[0]");
  EXPECT_EQ(where("personality", {9}), "default");
  EXPECT_EQ(where("socket", {40}), "syscalls[3].names[0]");
  EXPECT_EQ(where("socket", {0x128}), "syscalls[3].names[0]");  // masked
  EXPECT_EQ(where("socket", {2}), "default");
  EXPECT_EQ(where("mount", {}), "default");
  EXPECT_EQ(seccomp_matching_rule(errno_rules, SCMP_ARCH_X86, "add_key", {}), nullptr);
}

TEST(auditAction, CompiledProgramReturnsUserNotifWhereThePlainOneReturnsErrno) {
  auto p = parse_seccomp_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]})",
                                  "p.json");
  auto o = native_only();
  o.notify = true;
  const std::string notify = compile_seccomp_profile(p, o).bpf;
  const std::string plain = compile_seccomp_profile(p, native_only()).bpf;
  auto eval = [](const std::string& prog, int nr) {
    seccomp_data d{};
    d.nr = nr;
    d.arch = AUDIT_ARCH_X86_64;
    auto r = evaluate_seccomp_program(prog, d);
    return r ? *r : 0xdeadbeefU;
  };
  EXPECT_EQ(eval(notify, SYS_keyctl), static_cast<uint32_t>(SECCOMP_RET_USER_NOTIF));
  EXPECT_EQ(eval(plain, SYS_keyctl), static_cast<uint32_t>(SECCOMP_RET_ERRNO | 13));
  EXPECT_EQ(eval(notify, SYS_getpid), static_cast<uint32_t>(SECCOMP_RET_ALLOW));
}

namespace {
Spec audited_spec(size_t profiles) {
  Spec s;
  auto dirs = seccomp_profile_dirs();
  for (size_t i = 0; i < profiles; ++i)
    s.seccomp_profiles.push_back({find_seccomp_profile("default", {dirs.back()}), 0});
  s.audit_fd = 5;
  return s;
}
std::string audit_error(const Spec& s, int notif_err = 0) {
  try {
    (void)compile_spec_seccomp_audit(s, false, 0, [=] { return notif_err; });
  } catch (const sb::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(auditPlan, RefusedCombinations) {
  EXPECT_NE(audit_error(audited_spec(0)).find("--audit-fd requires --seccomp-profile"),
            std::string::npos);
  EXPECT_NE(audit_error(audited_spec(2)).find("it audits one"), std::string::npos);
  Spec logged = audited_spec(1);
  logged.seccomp_log = true;
  EXPECT_NE(audit_error(logged).find("exclude each other"), std::string::npos);
  EXPECT_EQ(audit_error(audited_spec(1)), "");
}

TEST(auditPlan, KernelWithoutUserNotifIsAnErrorUnlessBestEffort) {
  Spec s = audited_spec(1);
  EXPECT_NE(audit_error(s, EOPNOTSUPP).find("no seccomp user notification"), std::string::npos);
  s.audit_best_effort = true;
  EXPECT_FALSE(compile_spec_seccomp_audit(s, false, 0, [] { return EOPNOTSUPP; }).has_value());
  auto a = compile_spec_seccomp_audit(s, false, 0, [] { return 0; });
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->notify_program.empty());
  EXPECT_FALSE(a->errno_rules.empty());
  // mount is listed in default.json with the default's errno: still named.
  EXPECT_NE(seccomp_matching_rule(a->errno_rules, seccomp_arch_native(), "mount", {}), nullptr);
}

TEST(auditWriter, SummaryGivesUpOnAReaderThatNeverReads) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  ASSERT_GE(::fcntl(p[1], F_SETPIPE_SZ, 4096), 0);
  const std::string fill(4096, 'x');
  ASSERT_EQ(::write(p[1], fill.data(), fill.size()), 4096);  // full, reader still open
  ASSERT_GE(::fcntl(p[1], F_SETFL, 0), 0);                   // a blocking write would hang
  AuditWriter w(p[1]);
  w.record("syscall", [] { return std::string("{}\n"); });
  auto t0 = std::chrono::steady_clock::now();
  w.finish();
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 10.0);
  EXPECT_EQ(w.dropped(), 1u);
  ::close(p[0]);
  ::close(p[1]);
}
