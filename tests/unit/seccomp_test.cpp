// Unit tests for security/seccomp.hpp: profile parsing (good and every kind of bad, with the
// exact file / JSON path / reason), rule translation, profile lookup, and what the compiled
// programs decide -- run in a small classic-BPF interpreter, without loading anything.
#include "security/seccomp.hpp"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "cli/options.hpp"
#include "parse_env.hpp"
#include "security/caps.hpp"
#include "util/error.hpp"
#include "temp_dir.hpp"

namespace sb::security {
namespace {

// ---- helpers -----------------------------------------------------------------------------

SeccompProfile parse(const std::string& text) { return parse_seccomp_profile(text, "p.json"); }

// The message parse_seccomp_profile throws for `text`, or "" when it parses.
std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A profile with defaultAction ERRNO and the given syscalls array.
std::string with_rules(const std::string& rules, const std::string& def = "SCMP_ACT_ERRNO") {
  return R"({"defaultAction": ")" + def + R"(", "syscalls": [)" + rules + "]}";
}

SeccompCompileOptions native_only() {
  SeccompCompileOptions o;
  o.arches = {SCMP_ARCH_X86_64};
  o.kernel_release = "6.1.0";
  return o;
}

std::string source_profile(const std::string& name) {
  auto dirs = seccomp_profile_dirs();
  return find_seccomp_profile(name, {dirs.back()});  // the source tree, never an install
}

// ---- a classic BPF interpreter for seccomp programs ---------------------------------------

struct Call {
  int nr;
  uint32_t arch = AUDIT_ARCH_X86_64;
  std::array<uint64_t, 6> args{};
};

uint32_t run_bpf(const std::string& prog, const Call& c) {
  seccomp_data d{};
  d.nr = c.nr;
  d.arch = c.arch;
  for (int i = 0; i < 6; ++i) d.args[i] = c.args[static_cast<size_t>(i)];
  const auto* insns = reinterpret_cast<const sock_filter*>(prog.data());
  size_t n = prog.size() / sizeof(sock_filter);
  uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {};
  for (size_t pc = 0; pc < n; ++pc) {
    const sock_filter& f = insns[pc];
    auto jump = [&](bool cond) { pc += cond ? f.jt : f.jf; };
    uint32_t src = BPF_SRC(f.code) == BPF_X ? X : f.k;
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS: {
        if (f.k + 4 > sizeof d) throw std::runtime_error("load out of range");
        std::memcpy(&A, reinterpret_cast<const char*>(&d) + f.k, 4);
        break;
      }
      case BPF_LD | BPF_IMM: A = f.k; break;
      case BPF_LDX | BPF_IMM: X = f.k; break;
      case BPF_LD | BPF_MEM: A = M[f.k]; break;
      case BPF_LDX | BPF_MEM: X = M[f.k]; break;
      case BPF_ST: M[f.k] = A; break;
      case BPF_STX: M[f.k] = X; break;
      case BPF_MISC | BPF_TAX: X = A; break;
      case BPF_MISC | BPF_TXA: A = X; break;
      case BPF_RET | BPF_K: return f.k;
      case BPF_RET | BPF_A: return A;
      case BPF_JMP | BPF_JA: pc += f.k; break;
      default:
        if (BPF_CLASS(f.code) == BPF_JMP) {
          switch (BPF_OP(f.code)) {
            case BPF_JEQ: jump(A == src); break;
            case BPF_JGT: jump(A > src); break;
            case BPF_JGE: jump(A >= src); break;
            case BPF_JSET: jump((A & src) != 0); break;
            default: throw std::runtime_error("unknown jump");
          }
        } else if (BPF_CLASS(f.code) == BPF_ALU) {
          switch (BPF_OP(f.code)) {
            case BPF_AND: A &= src; break;
            case BPF_OR: A |= src; break;
            case BPF_ADD: A += src; break;
            case BPF_SUB: A -= src; break;
            case BPF_RSH: A >>= src; break;
            case BPF_LSH: A <<= src; break;
            default: throw std::runtime_error("unknown alu op");
          }
        } else {
          throw std::runtime_error("unknown BPF instruction " + std::to_string(f.code));
        }
    }
  }
  throw std::runtime_error("fell off the end of the program");
}

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kKillProcess = SECCOMP_RET_KILL_PROCESS;
constexpr uint32_t kLog = SECCOMP_RET_LOG;
constexpr uint32_t errno_ret(uint32_t e) { return SECCOMP_RET_ERRNO | e; }
const uint32_t kEperm = errno_ret(EPERM);

class seccompShippedProfile : public ::testing::Test {
 protected:
  static std::string compile(const std::string& name, bool log = false, int optimize = 2) {
    SeccompCompileOptions o;
    o.log = log;
    o.optimize = optimize;
    auto p = compile_seccomp_profile(load_seccomp_profile(source_profile(name)), o);
    EXPECT_TRUE(p.warnings.empty()) << name << ": " << p.warnings.front();
    return p.bpf;
  }
};

// ---- parsing: good --------------------------------------------------------------------------

TEST(seccompParse, MinimalProfile) {
  auto p = parse(R"({"defaultAction": "SCMP_ACT_ALLOW"})");
  EXPECT_EQ(p.default_action, SCMP_ACT_ALLOW);
  EXPECT_TRUE(p.rules.empty());
  EXPECT_TRUE(p.arches.empty());
  EXPECT_EQ(p.file, "p.json");
}

TEST(seccompParse, EveryField) {
  auto p = parse(R"({
    "comment": "who it is for",
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_NOT_IN_LIBSECCOMP"],
    "flags": [], "listenerPath": "",
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "io"},
      {"name": "close", "action": "SCMP_ACT_ALLOW", "args": null},
      {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
       "args": [{"index": 1, "value": 4294967295, "valueTwo": 21522, "op": "SCMP_CMP_MASKED_EQ"},
                {"index": 0, "value": 3, "op": "SCMP_CMP_GE"}],
       "includes": {"arches": ["amd64"], "caps": ["CAP_SYS_ADMIN"], "minKernel": "4.8"},
       "excludes": {"caps": ["SYS_PTRACE"], "minKernel": "5.10.3"}},
      {"names": ["kill"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
      {"names": ["getpid"], "action": "SCMP_ACT_KILL_PROCESS", "includes": null}
    ]})");
  EXPECT_EQ(p.default_action, SCMP_ACT_ERRNO(38));
  EXPECT_EQ(p.arches, (std::vector<uint32_t>{SCMP_ARCH_X86_64, SCMP_ARCH_X86}));
  ASSERT_EQ(p.rules.size(), 5u);
  EXPECT_EQ(p.rules[0].names, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(p.rules[0].name_paths,
            (std::vector<std::string>{"syscalls[0].names[0]", "syscalls[0].names[1]"}));
  EXPECT_EQ(p.rules[1].names, std::vector<std::string>{"close"});
  EXPECT_EQ(p.rules[1].name_paths, std::vector<std::string>{"syscalls[1].name"});
  const auto& r = p.rules[2];
  EXPECT_EQ(r.where, "syscalls[2]");
  EXPECT_EQ(r.action, SCMP_ACT_ERRNO(13));
  ASSERT_EQ(r.args.size(), 2u);
  EXPECT_EQ(r.args[0].index, 1u);
  EXPECT_EQ(r.args[0].op, SCMP_CMP_MASKED_EQ);
  EXPECT_EQ(r.args[0].value, 0xffffffffu);
  EXPECT_EQ(r.args[0].value_two, 0x5412u);
  EXPECT_EQ(r.args[1].op, SCMP_CMP_GE);
  EXPECT_EQ(r.includes.arches, std::vector<std::string>{"amd64"});
  EXPECT_EQ(r.includes.caps, std::vector<int>{21});
  EXPECT_EQ(r.includes.min_kernel, (std::array<int, 3>{4, 8, 0}));
  EXPECT_EQ(r.excludes.caps, std::vector<int>{19});
  EXPECT_EQ(r.excludes.min_kernel, (std::array<int, 3>{5, 10, 3}));
  EXPECT_EQ(p.rules[3].action, SCMP_ACT_TRACE(7));
  EXPECT_EQ(p.rules[4].action, SCMP_ACT_KILL_PROCESS);
}

// containers/common's "errno" / "defaultErrno" names beside the numbers.
TEST(seccompParse, ErrnoNames) {
  auto p = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "defaultErrno": "ENOSYS",
      "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EPERM"},
                   {"names": ["umount2"], "action": "SCMP_ACT_ERRNO", "errno": "EINVAL"}]})");
  EXPECT_EQ(p.default_action, SCMP_ACT_ERRNO(ENOSYS));
  EXPECT_EQ(p.rules[0].action, SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(p.rules[1].action, SCMP_ACT_ERRNO(EINVAL));
  EXPECT_EQ(parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "EACCES"})").default_action,
            SCMP_ACT_ERRNO(EACCES));
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "defaultErrno": "ENOSYS"})"),
            "p.json: defaultErrno: 'ENOSYS' is errno 38 but defaultErrnoRet says 1");
  EXPECT_EQ(parse_error(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errno": "ENOPE"})")),
            "p.json: syscalls[0].errno: 'ENOPE' is not an errno name like EPERM");
}

TEST(seccompParse, ActionsMapped) {
  struct {
    const char* json;
    uint32_t action;
  } cases[] = {
      {R"("SCMP_ACT_ALLOW")", SCMP_ACT_ALLOW},
      {R"("SCMP_ACT_LOG")", SCMP_ACT_LOG},
      {R"("SCMP_ACT_KILL")", SCMP_ACT_KILL},
      {R"("SCMP_ACT_KILL_THREAD")", SCMP_ACT_KILL_THREAD},
      {R"("SCMP_ACT_KILL_PROCESS")", SCMP_ACT_KILL_PROCESS},
      {R"("SCMP_ACT_TRAP")", SCMP_ACT_TRAP},
      {R"("SCMP_ACT_ERRNO")", SCMP_ACT_ERRNO(EPERM)},  // EPERM unless errnoRet says
      {R"("SCMP_ACT_ERRNO", "errnoRet": 0)", SCMP_ACT_ERRNO(0)},
      {R"("SCMP_ACT_ERRNO", "errnoRet": 4095)", SCMP_ACT_ERRNO(4095)},
      {R"("SCMP_ACT_TRACE")", SCMP_ACT_TRACE(0)},
  };
  for (const auto& c : cases) {
    auto p = parse(with_rules(std::string(R"({"names": ["read"], "action": )") + c.json + "}"));
    EXPECT_EQ(p.rules.at(0).action, c.action) << c.json;
  }
  EXPECT_EQ(parse(R"({"defaultAction": "SCMP_ACT_ERRNO"})").default_action, SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(parse(R"({"defaultAction": "SCMP_ACT_KILL_PROCESS"})").default_action,
            SCMP_ACT_KILL_PROCESS);
}

TEST(seccompParse, ArchMap) {
  auto p = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "archMap": [
      {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
      {"architecture": "SCMP_ARCH_LOONGARCH64", "subArchitectures": null},
      {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null}]})");
  ASSERT_EQ(p.arch_map.size(), 2u);  // LoongArch is unknown to libseccomp 2.5: left out
  EXPECT_EQ(p.arch_map[0].arch, SCMP_ARCH_X86_64);
  EXPECT_EQ(p.arch_map[0].sub_arches, (std::vector<uint32_t>{SCMP_ARCH_X86, SCMP_ARCH_X32}));
  EXPECT_EQ(p.arch_map[1].arch, SCMP_ARCH_RISCV64);
}

// ---- parsing: every kind of bad, with file, JSON path and reason ------------------------

TEST(seccompParse, BadJson) {
  EXPECT_EQ(parse_error("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n}").rfind(
                "p.json: invalid JSON at line 3, column 1: ", 0),
            0u)
      << parse_error("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n}");
  EXPECT_EQ(parse_error("").rfind("p.json: invalid JSON at line 1, column 1: ", 0), 0u);
  EXPECT_EQ(parse_error("[]"), "p.json: (top level): must be an object, not an array");
}

// Found by fuzz_seccomp: a number too large for a double made the JSON parser throw
// out_of_range instead of parse_error, which escaped as "internal error" without the file.
TEST(seccompParse, NumberOverflowIsAnInvalidJsonError) {
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1e999})"),
            "p.json: invalid JSON: number overflow parsing '1e999'");
  EXPECT_EQ(parse_error("184476.374075150961e76184"),
            "p.json: invalid JSON: number overflow parsing '184476.374075150961e76184'");
}

TEST(seccompParse, BadTopLevel) {
  EXPECT_EQ(parse_error("{}"), "p.json: missing \"defaultAction\"");
  EXPECT_EQ(parse_error(R"({"defaultAction": 1})"),
            "p.json: defaultAction: must be a string, not a number");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALOW"})"),
            "p.json: defaultAction: unknown action 'SCMP_ACT_ALOW' (known: SCMP_ACT_ALLOW, "
            "SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, "
            "SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG)");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1})"),
            "p.json: defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a return "
            "value, not SCMP_ACT_ALLOW");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1})"),
            "p.json: defaultErrnoRet: must not be negative (-1)");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultAktion": 1})"),
            "p.json: defaultAktion: unknown field (known fields here: defaultAction, "
            "defaultErrnoRet, defaultErrno, architectures, archMap, syscalls, comment, flags, listenerPath, "
            "listenerMetadata)");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})"),
            "p.json: syscalls: must be an array, not an object");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_NOTIFY"})"),
            "p.json: defaultAction: SCMP_ACT_NOTIFY needs a user-space notification listener, "
            "which sandbox does not run");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]})"),
            "p.json: flags: filter flags (SECCOMP_FILTER_FLAG_*) are not supported: the "
            "exported BPF program is loaded as it is");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x"})"),
            "p.json: listenerPath: user-space notification listeners are not supported");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "comment": 3})"),
            "p.json: comment: must be a string, not a number");
}

TEST(seccompParse, BadArchitectures) {
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]})"),
            "p.json: architectures[0]: 'x86_64' is not an architecture name like SCMP_ARCH_X86_64");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
              "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]})"),
            "p.json: archMap: give either \"architectures\" or \"archMap\", not both");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"subArchitectures": []}]})"),
            "p.json: archMap[0]: missing \"architecture\"");
  EXPECT_EQ(parse_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "archMap": [
              {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", 4]}]})"),
            "p.json: archMap[0].subArchitectures[1]: must be a string, not a number");
}

TEST(seccompParse, BadRules) {
  struct {
    std::string rules;
    std::string error;
  } cases[] = {
      {R"({"action": "SCMP_ACT_ALLOW"})",
       R"(p.json: syscalls[0]: no syscall names ("names" is missing or empty))"},
      {R"({"names": [], "action": "SCMP_ACT_ALLOW"})",
       R"(p.json: syscalls[0]: no syscall names ("names" is missing or empty))"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read", ""], "action": "SCMP_ACT_ALLOW"})",
       "p.json: syscalls[1].names[1]: empty syscall name"},
      {R"({"names": "read", "action": "SCMP_ACT_ALLOW"})",
       "p.json: syscalls[0].names: must be an array, not a string"},
      {R"({"names": ["read", 3], "action": "SCMP_ACT_ALLOW"})",
       "p.json: syscalls[0].names[1]: must be a string, not a number"},
      {R"({"names": ["read"], "name": "write", "action": "SCMP_ACT_ALLOW"})",
       R"(p.json: syscalls[0]: give either "names" or "name", not both)"},
      {R"({"names": ["read"]})", R"(p.json: syscalls[0]: missing "action")"},
      {R"(3)", "p.json: syscalls[0]: must be an object, not a number"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["write"], "action": "ALLOW"})",
       "p.json: syscalls[1].action: unknown action 'ALLOW' (known: SCMP_ACT_ALLOW, "
       "SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, "
       "SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG)"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1})",
       "p.json: syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a return "
       "value, not SCMP_ACT_ALLOW"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5000})",
       "p.json: syscalls[0].errnoRet: errno 5000 is out of range (0 to 4095)"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1.5})",
       "p.json: syscalls[0].errnoRet: must be a non-negative integer, not a fractional number"},
      {R"({"names": ["read"], "action": "SCMP_ACT_TRACE", "errnoRet": 70000})",
       "p.json: syscalls[0].errnoRet: trace data 70000 is out of range (0 to 65535)"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "arg": []})",
       "p.json: syscalls[0].arg: unknown field (known fields here: names, name, action, "
       "errnoRet, errno, args, comment, includes, excludes)"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": {}})",
       "p.json: syscalls[0].args: must be an array, not an object"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 1, "op": "SCMP_CMP_EQUAL"}]})",
       "p.json: syscalls[0].args[1].op: unknown comparison 'SCMP_CMP_EQUAL' (known: "
       "SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, "
       "SCMP_CMP_MASKED_EQ)"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]})",
       "p.json: syscalls[2].args[0].index: argument index 6 is out of range (0 to 5)"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"value": 1, "op": "SCMP_CMP_EQ"}]})",
       R"(p.json: syscalls[0].args[0]: missing "index")"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "op": "SCMP_CMP_EQ"}]})",
       R"(p.json: syscalls[0].args[0]: missing "value")"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1}]})",
       R"(p.json: syscalls[0].args[0]: missing "op")"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]})",
       "p.json: syscalls[0].args[0].value: must not be negative (-1)"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": "0", "value": 1, "op": "SCMP_CMP_EQ"}]})",
       "p.json: syscalls[0].args[0].index: must be a non-negative integer, not a string"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_EQ"}]})",
       "p.json: syscalls[0].args[0].valueTwo: only SCMP_CMP_MASKED_EQ uses valueTwo"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ", "mask": 1}]})",
       "p.json: syscalls[0].args[0].mask: unknown field (known fields here: index, value, "
       "valueTwo, op)"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_FLY"]}})",
       "p.json: syscalls[0].includes.caps[0]: unknown capability 'CAP_FLY'"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4.x"}})",
       R"(p.json: syscalls[0].excludes.minKernel: '4.x' is not a kernel version like "4.8")"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}})",
       R"(p.json: syscalls[0].includes.minKernel: '4' is not a kernel version like "4.8")"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arch": ["amd64"]}})",
       "p.json: syscalls[0].includes.arch: unknown field (known fields here: arches, caps, "
       "minKernel)"},
      {R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": []})",
       "p.json: syscalls[0].includes: must be an object, not an array"},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_error(with_rules(c.rules)), c.error) << c.rules;
}

TEST(seccompParse, LoadNamesTheFile) {
  try {
    load_seccomp_profile("/nonexistent/x.json");
    FAIL();
  } catch (const SysError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Can't open seccomp profile /nonexistent/x.json: No such file or directory");
  }
  char tmpl[] = "/tmp/seccomp-unit-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  std::string bad = with_rules(R"({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 0, "op": "SCMP_CMP_EQ"}]})");
  ASSERT_EQ(::write(fd, bad.data(), bad.size()), static_cast<ssize_t>(bad.size()));
  ::close(fd);
  try {
    load_seccomp_profile(tmpl);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), std::string(tmpl) +
                                         ": syscalls[0].args[0].index: argument index 9 is out "
                                         "of range (0 to 5)");
  }
  ::unlink(tmpl);
}

// ---- translation -----------------------------------------------------------------------------

TEST(seccompTranslate, RulesActionsAndArgOps) {
  auto p = parse(with_rules(R"(
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["close"], "action": "SCMP_ACT_KILL_PROCESS"},
      {"names": ["kill"], "action": "SCMP_ACT_TRAP"},
      {"names": ["tkill"], "action": "SCMP_ACT_LOG"},
      {"names": ["tgkill"], "action": "SCMP_ACT_TRACE", "errnoRet": 9},
      {"names": ["dup"], "action": "SCMP_ACT_KILL"},
      {"names": ["mmap"], "action": "SCMP_ACT_ALLOW", "args": [
          {"index": 0, "value": 1, "op": "SCMP_CMP_NE"},
          {"index": 1, "value": 2, "op": "SCMP_CMP_LT"},
          {"index": 2, "value": 3, "op": "SCMP_CMP_LE"},
          {"index": 3, "value": 4, "op": "SCMP_CMP_EQ"},
          {"index": 4, "value": 5, "op": "SCMP_CMP_GE"},
          {"index": 5, "value": 6, "op": "SCMP_CMP_GT"}]},
      {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [
          {"index": 1, "value": 4294967295, "valueTwo": 21522, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["open"], "action": "SCMP_ACT_ERRNO"})"));
  auto t = translate_seccomp_profile(p, native_only());
  EXPECT_EQ(t.default_action, SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(t.arches, std::vector<uint32_t>{SCMP_ARCH_X86_64});
  // 2 + 1 + 1 + 1 + 1 + 1 + 1 + 1; "open" has the default action: libseccomp refuses
  // such rules and they change nothing, so it is dropped.
  ASSERT_EQ(t.rules.size(), 9u);
  EXPECT_EQ(t.rules[0].name, "read");
  EXPECT_EQ(t.rules[0].nr, SYS_read);
  EXPECT_EQ(t.rules[0].where, "syscalls[0].names[0]");
  EXPECT_EQ(t.rules[1].name, "write");
  EXPECT_EQ(t.rules[1].nr, SYS_write);
  EXPECT_EQ(t.rules[2].action, SCMP_ACT_KILL_PROCESS);
  EXPECT_EQ(t.rules[3].action, SCMP_ACT_TRAP);
  EXPECT_EQ(t.rules[4].action, SCMP_ACT_LOG);
  EXPECT_EQ(t.rules[5].action, SCMP_ACT_TRACE(9));
  EXPECT_EQ(t.rules[6].action, SCMP_ACT_KILL_THREAD);
  const auto& mmap = t.rules[7];
  ASSERT_EQ(mmap.args.size(), 6u);  // different arguments: ANDed in one rule
  const scmp_compare ops[] = {SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE,
                              SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT};
  for (unsigned i = 0; i < 6; ++i) {
    EXPECT_EQ(mmap.args[i].arg, i);
    EXPECT_EQ(mmap.args[i].op, ops[i]);
    EXPECT_EQ(mmap.args[i].datum_a, i + 1);
  }
  const auto& ioctl = t.rules[8];
  EXPECT_EQ(ioctl.action, SCMP_ACT_ERRNO(22));
  ASSERT_EQ(ioctl.args.size(), 1u);
  EXPECT_EQ(ioctl.args[0].op, SCMP_CMP_MASKED_EQ);
  EXPECT_EQ(ioctl.args[0].datum_a, 0xffffffffu);  // the mask
  EXPECT_EQ(ioctl.args[0].datum_b, 0x5412u);      // compared with (arg & mask)
  EXPECT_TRUE(t.warnings.empty());
}

TEST(seccompTranslate, SameArgumentTwiceBecomesSeparateRules) {
  // As runc: libseccomp cannot AND two comparisons of one argument.
  auto p = parse(with_rules(R"({"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
      {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]})"));
  auto t = translate_seccomp_profile(p, native_only());
  ASSERT_EQ(t.rules.size(), 2u);
  EXPECT_EQ(t.rules[0].args.size(), 1u);
  EXPECT_EQ(t.rules[0].args[0].datum_a, 0u);
  EXPECT_EQ(t.rules[1].args[0].datum_a, 8u);
}

TEST(seccompTranslate, LogTurnsDenialsIntoLog) {
  auto p = parse(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                               {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22},
                               {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"})",
                            "SCMP_ACT_ALLOW"));
  auto o = native_only();
  o.log = true;
  auto t = translate_seccomp_profile(p, o);
  EXPECT_EQ(t.default_action, SCMP_ACT_ALLOW);
  ASSERT_EQ(t.rules.size(), 2u);  // read: same as the default, dropped
  EXPECT_EQ(t.rules[0].action, SCMP_ACT_LOG);
  EXPECT_EQ(t.rules[1].action, SCMP_ACT_LOG);
  auto deny = parse(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_ALLOW"})"));
  EXPECT_EQ(translate_seccomp_profile(deny, o).default_action, SCMP_ACT_LOG);
}

TEST(seccompTranslate, ArchitecturesOfTheFilter) {
  SeccompCompileOptions o;  // native + the compat arches the profile lists
  auto none = parse(R"({"defaultAction": "SCMP_ACT_ALLOW"})");
  EXPECT_EQ(translate_seccomp_profile(none, o).arches, std::vector<uint32_t>{SCMP_ARCH_X86_64});
  auto listed = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures":
      ["SCMP_ARCH_X86", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]})");
  // AArch64 and ARM can never run on this kernel: left out.
  EXPECT_EQ(translate_seccomp_profile(listed, o).arches,
            (std::vector<uint32_t>{SCMP_ARCH_X86_64, SCMP_ARCH_X86}));
  auto map = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "archMap": [
      {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
      {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}]})");
  EXPECT_EQ(translate_seccomp_profile(map, o).arches,
            (std::vector<uint32_t>{SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32}));
  o.arches = {SCMP_ARCH_AARCH64, SCMP_ARCH_ARM};  // --arch: exactly these
  EXPECT_EQ(translate_seccomp_profile(map, o).arches,
            (std::vector<uint32_t>{SCMP_ARCH_AARCH64, SCMP_ARCH_ARM}));
}

TEST(seccompTranslate, NamesMissingOnAnArchitectureAreSkippedThere) {
  auto p = parse(with_rules(R"({"names": ["newfstatat", "_llseek", "socket", "arch_prctl"], "action": "SCMP_ACT_ALLOW"})"));
  auto o = native_only();
  o.arches = {SCMP_ARCH_X86_64, SCMP_ARCH_X86};
  auto t = translate_seccomp_profile(p, o);
  std::vector<std::string> on64, on32;
  for (const auto& r : t.rules) (r.arch == SCMP_ARCH_X86 ? on32 : on64).push_back(r.name);
  EXPECT_EQ(on64, (std::vector<std::string>{"newfstatat", "socket", "arch_prctl"}));
  // socket stays on x86: libseccomp adds socket(2) and the socketcall(2) multiplexer.
  EXPECT_EQ(on32, (std::vector<std::string>{"_llseek", "socket", "arch_prctl"}));
  EXPECT_TRUE(t.warnings.empty());
}

TEST(seccompTranslate, IncludesAndExcludes) {
  auto p = parse(with_rules(R"(
      {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
      {"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["x86"]}},
      {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]},
       "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
      {"names": ["kcmp"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4.8"}},
      {"names": ["close"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["s390x"]}})"));
  auto names = [](const SeccompTranslation& t, uint32_t arch) {
    std::vector<std::string> v;
    for (const auto& r : t.rules)
      if (r.arch == arch) v.push_back(r.name);
    return v;
  };
  auto o = native_only();
  o.arches = {SCMP_ARCH_X86_64, SCMP_ARCH_X86};
  o.kernel_release = "6.18.44-fc";
  auto t = translate_seccomp_profile(p, o);
  EXPECT_EQ(names(t, SCMP_ARCH_X86_64), (std::vector<std::string>{"read", "clone", "ptrace", "close"}));
  EXPECT_EQ(names(t, SCMP_ARCH_X86), (std::vector<std::string>{"write", "clone", "ptrace", "close"}));
  o.caps = uint64_t{1} << 21;  // CAP_SYS_ADMIN
  o.kernel_release = "4.4.0";
  t = translate_seccomp_profile(p, o);
  EXPECT_EQ(names(t, SCMP_ARCH_X86_64), (std::vector<std::string>{"read", "mount", "kcmp", "close"}));
}

TEST(seccompTranslate, UnknownNames) {
  // Allowlist: skipping an unknown name leaves it denied -> a warning.
  auto allow = parse(with_rules(R"({"names": ["read", "no_such_call", "write"], "action": "SCMP_ACT_ALLOW"})"));
  auto t = translate_seccomp_profile(allow, native_only());
  EXPECT_EQ(t.rules.size(), 2u);
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("p.json: 1 syscall name unknown to libseccomp "), std::string::npos)
      << t.warnings[0];
  EXPECT_NE(t.warnings[0].find("no_such_call (syscalls[0].names[1])"), std::string::npos);
  // Blocklist: skipping it would allow what the rule denies -> an error.
  auto deny = parse(with_rules(R"({"names": ["mount"], "action": "SCMP_ACT_ERRNO"},
                                  {"names": ["umount2", "mountt"], "action": "SCMP_ACT_ERRNO"})",
                               "SCMP_ACT_ALLOW"));
  try {
    translate_seccomp_profile(deny, native_only());
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind("p.json: syscalls[1].names[1]: unknown syscall 'mountt' (libseccomp ", 0), 0u) << m;
    EXPECT_NE(m.find("does not know it on any architecture); skipping it would leave the call "
                     "allowed"),
              std::string::npos)
        << m;
  }
  // A rule for another architecture is never resolved here.
  auto other = parse(with_rules(R"({"names": ["riscv_only_call"], "action": "SCMP_ACT_KILL",
                                   "includes": {"arches": ["riscv64"]}})", "SCMP_ACT_ALLOW"));
  EXPECT_TRUE(translate_seccomp_profile(other, native_only()).rules.empty());
}

// The program's answer for one call (x86_64), compiled from `p`.
uint32_t answer(const SeccompProfile& p, int nr, std::array<uint64_t, 6> args = {},
                SeccompCompileOptions o = native_only()) {
  return run_bpf(compile_seccomp_profile(p, o).bpf, {nr, AUDIT_ARCH_X86_64, args});
}

std::string translate_error(const SeccompProfile& p, SeccompCompileOptions o = native_only()) {
  try {
    translate_seccomp_profile(p, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// An unconditional rule beside a MORE restrictive conditional one: the conditional one
// decides its calls, the unconditional one the rest (libseccomp alone would let the
// unconditional rule swallow the conditional one, in either order).
TEST(seccompTranslate, StrongerConditionalRuleKeepsItsCallsBesideAnUnconditionalOne) {
  const std::string allow = R"({"names": ["ioctl", "read"], "action": "SCMP_ACT_ALLOW"})";
  const std::string deny = R"({"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 1, "value": 4294967295, "valueTwo": 21522, "op": "SCMP_CMP_MASKED_EQ"}]})";
  for (bool allow_first : {true, false}) {
    auto p = parse(with_rules(allow_first ? allow + "," + deny : deny + "," + allow));
    auto t = translate_seccomp_profile(p, native_only());
    // ioctl: the errno rule, then the allow rule for each bit of the mask that differs.
    size_t ioctl_rules = 0;
    for (const auto& r : t.rules) ioctl_rules += r.name == "ioctl";
    EXPECT_EQ(ioctl_rules, 1u + 32u) << allow_first;
    EXPECT_EQ(answer(p, SYS_ioctl, {0, 21522}), errno_ret(22)) << allow_first;     // TIOCSTI
    EXPECT_EQ(answer(p, SYS_ioctl, {0, 21522 | (uint64_t{1} << 40)}), errno_ret(22));  // outside the mask
    EXPECT_EQ(answer(p, SYS_ioctl, {0, 21523}), kAllow) << allow_first;
    EXPECT_EQ(answer(p, SYS_ioctl, {0, 0}), kAllow) << allow_first;
    EXPECT_EQ(answer(p, SYS_read), kAllow);
  }
  // Several comparisons: the unconditional action for calls that miss any of them.
  auto s = parse(with_rules(R"(
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]})"));
  EXPECT_EQ(translate_seccomp_profile(s, native_only()).rules.size(), 3u);
  EXPECT_EQ(answer(s, SYS_socket, {16, 3, 9}), errno_ret(22));
  EXPECT_EQ(answer(s, SYS_socket, {16, 3, 0}), kAllow);
  EXPECT_EQ(answer(s, SYS_socket, {2, 1, 9}), kAllow);
  EXPECT_EQ(answer(s, SYS_socket, {1, 1, 0}), kAllow);
  // Ranges: LT's complement is GE, LE's GT.
  auto r = parse(with_rules(R"(
      {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_LE"}]},
      {"names": ["kill"], "action": "SCMP_ACT_ALLOW"})"));
  EXPECT_EQ(answer(r, SYS_kill, {1, 9}), kKillProcess);
  EXPECT_EQ(answer(r, SYS_kill, {1, 0}), kKillProcess);
  EXPECT_EQ(answer(r, SYS_kill, {1, 10}), kAllow);
  // A condition no call meets (a value outside the mask) takes nothing from the allow.
  auto n = parse(with_rules(R"(
      {"names": ["kill"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 1, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]})"));
  EXPECT_EQ(translate_seccomp_profile(n, native_only()).rules.size(), 1u);
  EXPECT_EQ(answer(n, SYS_kill, {1, 0}), kAllow);
  EXPECT_EQ(answer(n, SYS_kill, {1, 3}), kAllow);
}

// An unconditional rule at least as restrictive as a conditional one decides every call.
TEST(seccompTranslate, StrongerUnconditionalRuleCoversConditionalOnes) {
  auto p = parse(with_rules(R"(
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97, "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1})",
      "SCMP_ACT_ALLOW"));
  auto t = translate_seccomp_profile(p, native_only());
  ASSERT_EQ(t.rules.size(), 1u);
  EXPECT_TRUE(t.rules[0].args.empty());
  EXPECT_EQ(t.rules[0].where, "syscalls[2].names[0]");
  EXPECT_EQ(answer(p, SYS_socket, {1}), kEperm);  // the allow does not open a hole
  EXPECT_EQ(answer(p, SYS_socket, {2}), kEperm);  // same strength, and the unconditional rule is later
  // The same strength, the conditional rule later: its errno for its calls.
  auto later = parse(with_rules(R"(
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97, "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]})",
      "SCMP_ACT_ALLOW"));
  EXPECT_EQ(answer(later, SYS_socket, {2}), errno_ret(97));
  EXPECT_EQ(answer(later, SYS_socket, {1}), kEperm);
}

// Two conditional exceptions to one unconditional rule would need the complement of their
// union: refused, naming the rules.
TEST(seccompTranslate, TwoStrongerConditionalRulesBesideAnUnconditionalOneAreRefused) {
  auto p = parse(with_rules(R"(
      {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 1, "value": 21522, "op": "SCMP_CMP_EQ"}]},
      {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 1, "value": 21532, "op": "SCMP_CMP_EQ"}]})"));
  EXPECT_EQ(translate_error(p),
            "p.json: syscalls[2].names[0]: 'ioctl' has an unconditional SCMP_ACT_ALLOW "
            "(syscalls[0].names[0]) rule and more than one conditional rule that is more "
            "restrictive (SCMP_ACT_ERRNO(1) (syscalls[1].names[0]), SCMP_ACT_ERRNO(1) "
            "(syscalls[2].names[0])); sandbox expresses one such exception per syscall "
            "(libseccomp lets an unconditional rule swallow the conditional ones), so this has "
            "no filter");
  // The same exceptions as one rule with two comparisons of one argument (runc's OR) too.
  auto ored = parse(with_rules(R"(
      {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [
        {"index": 1, "value": 21522, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 21532, "op": "SCMP_CMP_EQ"}]})"));
  EXPECT_NE(translate_error(ored).find("more than one conditional rule"), std::string::npos);
}

TEST(seccompTranslate, ConditionalRulesThatCanMeetOneCallWithTwoActionsAreRefused) {
  // Disjoint conditions (Podman's socket rules): kept as they are.
  auto ok = parse(with_rules(R"(
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 9, "op": "SCMP_CMP_NE"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_NE"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 9, "op": "SCMP_CMP_NE"}]},
      {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LT"}]},
      {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9, "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2080505856, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["clone"], "action": "SCMP_ACT_TRAP", "args": [{"index": 0, "value": 268435456, "valueTwo": 268435456, "op": "SCMP_CMP_MASKED_EQ"}]})"));
  auto t = translate_seccomp_profile(ok, native_only());
  EXPECT_EQ(t.rules.size(), 7u);  // the repeated socket rule is one
  EXPECT_EQ(answer(ok, SYS_socket, {16, 3, 9}), errno_ret(22));
  EXPECT_EQ(answer(ok, SYS_socket, {16, 3, 0}), kAllow);
  EXPECT_EQ(answer(ok, SYS_read, {0}), kAllow);
  EXPECT_EQ(answer(ok, SYS_read, {3}), errno_ret(9));
  EXPECT_EQ(answer(ok, SYS_clone, {0x10000000}), SECCOMP_RET_TRAP);
  // Overlapping conditions with two actions: libseccomp's order would decide. Refused.
  auto overlap = parse(with_rules(R"(
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97, "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]})"));
  EXPECT_EQ(translate_error(overlap),
            "p.json: syscalls[1].names[0]: 'socket' has conditional rules SCMP_ACT_ALLOW "
            "(syscalls[0].names[0]) and SCMP_ACT_ERRNO(97) (syscalls[1].names[0]) that can "
            "both match one call; libseccomp would pick one by its own order, not the more "
            "restrictive one, so this has no filter (make the conditions exclusive)");
  // Different arguments can always meet in one call.
  auto args = parse(with_rules(R"(
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97, "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]})"));
  EXPECT_NE(translate_error(args).find("that can both match one call"), std::string::npos);
  // Fine when the weaker of the two has the default action: it is left out.
  auto weaker_default = parse(with_rules(R"(
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97, "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]})",
      "SCMP_ACT_ALLOW"));
  EXPECT_EQ(answer(weaker_default, SYS_socket, {10}), errno_ret(97));
  EXPECT_EQ(answer(weaker_default, SYS_socket, {11}), kAllow);
  // The same conditions twice with two actions: one rule, the more restrictive.
  auto same = parse(with_rules(R"(
      {"names": ["socket"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97, "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]})"));
  auto st = translate_seccomp_profile(same, native_only());
  ASSERT_EQ(st.rules.size(), 1u);
  EXPECT_EQ(st.rules[0].action, SCMP_ACT_KILL_PROCESS);
  EXPECT_EQ(answer(same, SYS_socket, {40}), kKillProcess);
}

// Podman's / Docker's shape: a syscall in the general allow list and again in a rule the
// command's capabilities (or architecture, or kernel) select.
TEST(seccompTranslate, SameUnconditionalActionTwiceIsOneRule) {
  auto p = parse(with_rules(R"(
      {"names": ["read", "setns"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["setns"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["setns"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}})"));
  auto o = native_only();
  o.caps = uint64_t{1} << 21;  // CAP_SYS_ADMIN
  auto t = translate_seccomp_profile(p, o);
  ASSERT_EQ(t.rules.size(), 2u);
  EXPECT_EQ(t.rules[1].name, "setns");
  EXPECT_EQ(t.rules[1].action, SCMP_ACT_ALLOW);
  EXPECT_EQ(t.rules[1].where, "syscalls[0].names[1]");
  // Same errno twice: one rule too; and it compiles.
  auto e = parse(with_rules(R"(
      {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
      {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errno": "EPERM"})", "SCMP_ACT_ALLOW"));
  EXPECT_EQ(translate_seccomp_profile(e, native_only()).rules.size(), 1u);
  EXPECT_FALSE(compile_seccomp_profile(e, native_only()).bpf.empty());
}

TEST(seccompTranslate, UnconditionalCoversConditionalOfSameActionEitherOrder) {
  for (bool uncond_first : {true, false}) {
    const std::string uncond = R"({"names": ["personality"], "action": "SCMP_ACT_ALLOW"})";
    const std::string cond =
        R"({"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
           {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]})";
    auto p = parse(with_rules(uncond_first ? uncond + "," + cond : cond + "," + uncond));
    auto t = translate_seccomp_profile(p, native_only());
    ASSERT_EQ(t.rules.size(), 1u) << uncond_first;
    EXPECT_TRUE(t.rules[0].args.empty());
    EXPECT_EQ(t.rules[0].where, uncond_first ? "syscalls[0].names[0]" : "syscalls[2].names[0]");
  }
}

// Two unconditional actions: the more restrictive wins in the kernel's precedence; between
// two errnos (or trace codes) the later rule's.
TEST(seccompTranslate, ConflictingUnconditionalActionsMoreRestrictiveWins) {
  const std::vector<std::string> strongest_first = {
      R"("SCMP_ACT_KILL_PROCESS")", R"("SCMP_ACT_KILL_THREAD")", R"("SCMP_ACT_TRAP")",
      R"("SCMP_ACT_ERRNO", "errnoRet": 1)", R"("SCMP_ACT_TRACE", "errnoRet": 5)",
      R"("SCMP_ACT_LOG")", R"("SCMP_ACT_ALLOW")"};
  for (size_t i = 0; i < strongest_first.size(); ++i)
    for (size_t j = i + 1; j < strongest_first.size(); ++j)
      for (bool strong_first : {true, false}) {
        const std::string s = R"({"names": ["setns"], "action": )" + strongest_first[i] + "}";
        const std::string w = R"({"names": ["setns"], "action": )" + strongest_first[j] + "}";
        // The default must differ from both (libseccomp takes no rule with the default action).
        auto p = parse(with_rules(strong_first ? s + "," + w : w + "," + s, "SCMP_ACT_ERRNO"));
        p.default_action = SCMP_ACT_ERRNO(38);
        auto t = translate_seccomp_profile(p, native_only());
        ASSERT_EQ(t.rules.size(), 1u) << s << w;
        auto expected = parse(with_rules(s)).rules[0].action;
        EXPECT_EQ(t.rules[0].action, expected) << s << " beats " << w << " " << strong_first;
        EXPECT_EQ(t.rules[0].where, strong_first ? "syscalls[0].names[0]" : "syscalls[1].names[0]");
      }
  // Two errnos: the later rule's.
  for (const char* order : {"1,38", "38,1"}) {
    std::string a = order[0] == '1' ? "1" : "38", b = order[0] == '1' ? "38" : "1";
    auto e = parse(with_rules(R"({"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": )" + a +
                              R"(}, {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": )" + b + "}",
                              "SCMP_ACT_ALLOW"));
    auto t = translate_seccomp_profile(e, native_only());
    ASSERT_EQ(t.rules.size(), 1u);
    EXPECT_EQ(t.rules[0].action, SCMP_ACT_ERRNO(std::stoi(b))) << order;
    EXPECT_EQ(answer(e, SYS_setns), errno_ret(std::stoi(b))) << order;
  }
  // The winner is the default action: no rule at all (not the weaker rule's allow).
  auto d = parse(with_rules(R"({"names": ["setns", "read"], "action": "SCMP_ACT_ALLOW"},
                               {"names": ["setns"], "action": "SCMP_ACT_KILL_PROCESS"})",
                            "SCMP_ACT_KILL_PROCESS"));
  auto dt = translate_seccomp_profile(d, native_only());
  ASSERT_EQ(dt.rules.size(), 1u);
  EXPECT_EQ(dt.rules[0].name, "read");
  EXPECT_EQ(answer(d, SYS_setns), kKillProcess);
  // --seccomp-log: the denial is logged, not the allow kept.
  auto o = native_only();
  o.log = true;
  auto l = parse(with_rules(R"({"names": ["setns"], "action": "SCMP_ACT_ALLOW"},
                               {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1})"));
  EXPECT_EQ(answer(l, SYS_setns, {}, o), kLog);
}

// Podman's resolved profile without CAP_SYS_ADMIN: setns in the general allow list and
// again, with EPERM, for commands without the capability. EPERM wins (the later, narrower
// rule; libseccomp alone would keep the first, the allow).
TEST(seccompTranslate, PodmanSetnsShape) {
  auto p = parse(with_rules(R"(
      {"names": ["read", "setns"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["setns"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "excludes": {"caps": ["CAP_SYS_ADMIN"]}})",
      "SCMP_ACT_KILL_PROCESS"));
  auto t = translate_seccomp_profile(p, native_only());
  ASSERT_EQ(t.rules.size(), 2u);
  EXPECT_EQ(t.rules[1].name, "setns");
  EXPECT_EQ(t.rules[1].action, SCMP_ACT_ERRNO(1));
  EXPECT_EQ(t.rules[1].where, "syscalls[2].names[0]");
  EXPECT_EQ(answer(p, SYS_setns), kEperm);
  EXPECT_EQ(answer(p, SYS_read), kAllow);
  // With the capability the two allow rules agree and the errno rule does not apply.
  auto o = native_only();
  o.caps = uint64_t{1} << 21;
  auto tc = translate_seccomp_profile(p, o);
  ASSERT_EQ(tc.rules.size(), 2u);
  EXPECT_EQ(tc.rules[1].action, SCMP_ACT_ALLOW);
  EXPECT_EQ(answer(p, SYS_setns, {}, o), kAllow);
}

// ---- lookup --------------------------------------------------------------------------------

class seccompLookup : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.write("a/one.json", "{}");
    tmp_.write("b/one.json", "{}");
    tmp_.write("b/two.json", "{}");
  }
  std::vector<std::string> dirs() const { return {root_ + "/a", root_ + "/b"}; }
  sb::test::TempDir tmp_;
  std::string root_ = tmp_.path();
};

TEST_F(seccompLookup, ByName) {
  EXPECT_EQ(find_seccomp_profile("one", dirs()), root_ + "/a/one.json");  // first dir wins
  EXPECT_EQ(find_seccomp_profile("one.json", dirs()), root_ + "/a/one.json");
  EXPECT_EQ(find_seccomp_profile("two", dirs()), root_ + "/b/two.json");
}

TEST_F(seccompLookup, NamesForListingAndCompletion) {
  std::ofstream(root_ + "/a/notes.txt") << "not a profile";
  EXPECT_EQ(seccomp_profile_names(dirs()), (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(seccomp_profile_names({root_ + "/missing"}).empty());
}

TEST_F(seccompLookup, ByPath) {
  EXPECT_EQ(find_seccomp_profile(root_ + "/b/two.json", dirs()), root_ + "/b/two.json");
  try {
    find_seccomp_profile(root_ + "/b/three.json", dirs());
    FAIL();
  } catch (const SysError& e) {
    EXPECT_EQ(std::string(e.what()), "Can't open " + root_ + "/b/three.json: No such file or directory");
  }
  try {
    find_seccomp_profile(root_ + "/b/", dirs());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), root_ + "/b/ is not a regular file");
  }
}

TEST_F(seccompLookup, NotFoundListsWhatExists) {
  try {
    find_seccomp_profile("three", dirs());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "no profile named 'three' in " + root_ + "/a or " + root_ +
                                         "/b (available: one two); a path must contain a '/' "
                                         "(e.g. ./three.json)");
  }
  EXPECT_THROW(find_seccomp_profile("", dirs()), Error);
}

TEST(seccompLookupShipped, SourceTreeHasTheProfiles) {
  for (const char* n : {"default", "build", "flatpak-like"}) {
    std::string path = source_profile(n);
    EXPECT_NO_THROW(load_seccomp_profile(path)) << path;
  }
}

// ---- the options and the order of programs --------------------------------------------------

// Parsing records the profile as given; planning (compile_spec_seccomp) finds and compiles it.
TEST(seccompOptions, ProfileCompiledWhenParsingEnds) {
  Spec s = test::parse_spec({"--seccomp-profile", source_profile("default"), "true"});
  ASSERT_EQ(s.seccomp_profiles.size(), 1u);
  EXPECT_EQ(s.seccomp_profiles[0].after_fds, 0u);
  EXPECT_EQ(s.seccomp_profiles[0].name, source_profile("default"));
  auto bpf = compile_spec_seccomp(s, ::getuid() == 0, current_caps());
  ASSERT_EQ(bpf.size(), 1u);
  EXPECT_FALSE(bpf[0].empty());
  EXPECT_EQ(bpf[0].size() % sizeof(sock_filter), 0u);
  EXPECT_FALSE(s.seccomp_log);
}

TEST(seccompOptions, Errors) {
  // The errors of parsing and then of planning (the profile is found and compiled there).
  auto err = [](const std::vector<std::string>& args) -> std::string {
    try {
      Spec s = test::parse_spec(args);
      (void)compile_spec_seccomp(s, ::getuid() == 0, current_caps());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  std::string def = source_profile("default");
  EXPECT_EQ(err({"--seccomp-profile", def, "--seccomp-profile", def, "true"}),
            "--seccomp-profile given twice (one profile per sandbox; stack compiled programs "
            "with --add-seccomp-fd)");
  EXPECT_EQ(err({"--seccomp-log", "true"}), "--seccomp-log requires --seccomp-profile");
  EXPECT_EQ(err({"--seccomp-profile", "no-such-profile", "true"}).rfind(
                "--seccomp-profile: no profile named 'no-such-profile' in ", 0),
            0u);
}

TEST(seccompOptions, ProgramsStackInCommandLineOrder) {
  int p1[2], p2[2];
  ASSERT_EQ(::pipe(p1), 0);
  ASSERT_EQ(::pipe(p2), 0);
  std::string a(8, 'a'), b(8, 'b');
  ASSERT_EQ(::write(p1[1], a.data(), a.size()), 8);
  ASSERT_EQ(::write(p2[1], b.data(), b.size()), 8);
  ::close(p1[1]);
  ::close(p2[1]);
  Spec s = test::parse_spec({"--add-seccomp-fd", std::to_string(p1[0]), "--seccomp-profile",
                             source_profile("flatpak-like"), "--add-seccomp-fd",
                             std::to_string(p2[0]), "--seccomp-log", "true"});
  ASSERT_EQ(s.seccomp_profiles.size(), 1u);
  EXPECT_EQ(s.seccomp_profiles[0].after_fds, 1u);
  EXPECT_TRUE(s.seccomp_log);
  auto compiled = compile_spec_seccomp(s, ::getuid() == 0, current_caps());
  auto progs = seccomp_programs_in_order(s, compiled);
  ASSERT_EQ(progs.size(), 3u);
  EXPECT_EQ(progs[0], a);
  EXPECT_EQ(progs[1], compiled[0]);
  EXPECT_EQ(progs[2], b);
  ::close(p1[0]);
  ::close(p2[0]);
}

// ---- what the shipped profiles decide (BPF interpreter) --------------------------------------

TEST_F(seccompShippedProfile, DefaultAllowsOrdinaryCalls) {
  std::string bpf = compile("default");
  for (int nr : {SYS_read, SYS_write, SYS_openat, SYS_getppid, SYS_mmap, SYS_futex, SYS_execve,
                 SYS_rt_sigaction, SYS_socketpair, SYS_statx, SYS_rseq, SYS_arch_prctl,
                 SYS_prctl, SYS_seccomp, SYS_memfd_create, SYS_sched_setattr, SYS_wait4})
    EXPECT_EQ(run_bpf(bpf, {nr}), kAllow) << nr;
}

TEST_F(seccompShippedProfile, DefaultDeniesEachClassWithEperm) {
  std::string bpf = compile("default");
  for (int nr : {SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_kexec_load,
                 SYS_kexec_file_load, SYS_reboot, SYS_mount, SYS_umount2, SYS_pivot_root,
                 SYS_move_mount, SYS_open_tree, SYS_fsopen, SYS_fsconfig, SYS_fsmount,
                 SYS_fspick, SYS_mount_setattr, SYS_bpf, SYS_perf_event_open, SYS_keyctl,
                 SYS_add_key, SYS_request_key, SYS_userfaultfd, SYS_ptrace,
                 SYS_process_vm_readv, SYS_unshare, SYS_setns, SYS_io_uring_setup,
                 SYS_swapon, SYS_syslog, SYS_open_by_handle_at, SYS_chroot, 449 + 100 /* unknown */})
    EXPECT_EQ(run_bpf(bpf, {nr}), kEperm) << nr;
  EXPECT_EQ(run_bpf(bpf, {SYS_clone3}), errno_ret(ENOSYS));
}

TEST_F(seccompShippedProfile, DefaultClone) {
  std::string bpf = compile("default");
  const uint64_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                          CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                          CLONE_CHILD_CLEARTID;
  EXPECT_EQ(run_bpf(bpf, {SYS_clone, AUDIT_ARCH_X86_64, {thread}}), kAllow);
  EXPECT_EQ(run_bpf(bpf, {SYS_clone, AUDIT_ARCH_X86_64, {SIGCHLD}}), kAllow);
  EXPECT_EQ(run_bpf(bpf, {SYS_clone, AUDIT_ARCH_X86_64, {CLONE_VM | CLONE_VFORK | SIGCHLD}}), kAllow);
  for (uint64_t ns : {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS,
                      CLONE_NEWIPC, CLONE_NEWCGROUP})
    EXPECT_EQ(run_bpf(bpf, {SYS_clone, AUDIT_ARCH_X86_64, {ns | SIGCHLD}}), kEperm) << ns;
}

TEST_F(seccompShippedProfile, DefaultIoctlDeniesOnlyTiocstiAndTioclinux) {
  std::string bpf = compile("default");
  auto ioctl = [&](uint64_t req) { return run_bpf(bpf, {SYS_ioctl, AUDIT_ARCH_X86_64, {0, req}}); };
  for (uint64_t high : {0ull, 1ull, 0xffffffffull, 0x80000000ull}) {
    EXPECT_EQ(ioctl((high << 32) | 0x5412), kEperm) << high;  // TIOCSTI, whatever the high bits
    EXPECT_EQ(ioctl((high << 32) | 0x541C), kEperm) << high;  // TIOCLINUX
  }
  for (uint64_t ok : {0x5401ull /* TCGETS */, 0x5413ull, 0x541Bull, 0x541Dull, 0x5410ull,
                      0x80045430ull /* TIOCGPTN */, 0xffffffff80045430ull, 0ull, 0xffffffffull,
                      0xc0186443ull /* a DRM ioctl */})
    EXPECT_EQ(ioctl(ok), kAllow) << std::hex << ok;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    uint64_t v = rng();
    if (i % 2) v = (v & ~0xffffull) | (0x5400 + (v & 0x3f));  // near the tty ioctls
    uint32_t low = static_cast<uint32_t>(v);
    EXPECT_EQ(ioctl(v), low == 0x5412 || low == 0x541C ? kEperm : kAllow) << std::hex << v;
  }
}

TEST_F(seccompShippedProfile, DefaultPersonalityAndSockets) {
  std::string bpf = compile("default");
  auto pers = [&](uint64_t v) { return run_bpf(bpf, {SYS_personality, AUDIT_ARCH_X86_64, {v}}); };
  for (uint64_t v : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull}) EXPECT_EQ(pers(v), kAllow) << v;
  for (uint64_t v : {0x1ull, 0x0040000ull /* ADDR_NO_RANDOMIZE */, 0x6ull /* PER_BSD */, 0xfffffffeull})
    EXPECT_EQ(pers(v), kEperm) << v;
  auto sock = [&](uint64_t f) { return run_bpf(bpf, {SYS_socket, AUDIT_ARCH_X86_64, {f}}); };
  for (uint64_t f : {1, 2, 10, 16, 17, 39, 41, 45}) EXPECT_EQ(sock(f), kAllow) << f;
  for (uint64_t f : {40ull, (1ull << 32) | 40, (1ull << 32) | 2, 46ull, 0xffffffffull})
    EXPECT_EQ(sock(f), kEperm) << f;
}

TEST_F(seccompShippedProfile, CompatArchitecturesAreKilled) {
  for (const char* name : {"default", "build", "flatpak-like"}) {
    std::string bpf = compile(name);
    EXPECT_EQ(run_bpf(bpf, {20 /* i386 getpid */, AUDIT_ARCH_I386}), kKillProcess) << name;
    EXPECT_EQ(run_bpf(bpf, {0x40000000 | SYS_getpid, AUDIT_ARCH_X86_64}) & SECCOMP_RET_ACTION_FULL,
              static_cast<uint32_t>(kKillProcess))
        << name << ": x32";
    EXPECT_EQ(run_bpf(bpf, {SYS_getpid}), kAllow) << name;
  }
}

TEST_F(seccompShippedProfile, BuildAllowsOnlyUnixSockets) {
  std::string bpf = compile("build");
  auto sock = [&](uint64_t f) { return run_bpf(bpf, {SYS_socket, AUDIT_ARCH_X86_64, {f}}); };
  EXPECT_EQ(sock(1), kAllow);
  for (uint64_t f : {0ull, 2ull, 10ull, 16ull, 17ull, 40ull, (1ull << 32) | 1, ~0ull})
    EXPECT_EQ(sock(f), errno_ret(EAFNOSUPPORT)) << f;
  EXPECT_EQ(run_bpf(bpf, {SYS_socketpair}), kAllow);
  EXPECT_EQ(run_bpf(bpf, {SYS_io_uring_setup}), kEperm);
  EXPECT_EQ(run_bpf(bpf, {SYS_mount}), kEperm);
  EXPECT_EQ(run_bpf(bpf, {SYS_ioctl, AUDIT_ARCH_X86_64, {0, 0x5412}}), kEperm);
}

TEST_F(seccompShippedProfile, FlatpakLike) {
  std::string bpf = compile("flatpak-like");
  for (int nr : {SYS_read, SYS_getppid, SYS_io_uring_setup, SYS_process_vm_readv, SYS_getpid})
    EXPECT_EQ(run_bpf(bpf, {nr}), kAllow) << nr;
  for (int nr : {SYS_syslog, SYS_uselib, SYS_acct, SYS_quotactl, SYS_add_key, SYS_keyctl,
                 SYS_request_key, SYS_move_pages, SYS_mbind, SYS_get_mempolicy,
                 SYS_set_mempolicy, SYS_migrate_pages, SYS_unshare, SYS_setns, SYS_mount,
                 SYS_umount2, SYS_pivot_root, SYS_chroot, SYS_perf_event_open, SYS_ptrace,
                 SYS_bpf, SYS_userfaultfd, SYS_kexec_load, SYS_init_module, SYS_finit_module,
                 SYS_delete_module, SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_modify_ldt})
    EXPECT_EQ(run_bpf(bpf, {nr}), kEperm) << nr;
  for (int nr : {SYS_clone3, SYS_open_tree, SYS_move_mount, SYS_fsopen, SYS_fsconfig,
                 SYS_fsmount, SYS_fspick, SYS_mount_setattr})
    EXPECT_EQ(run_bpf(bpf, {nr}), errno_ret(ENOSYS)) << nr;
  EXPECT_EQ(run_bpf(bpf, {SYS_clone, AUDIT_ARCH_X86_64, {CLONE_NEWUSER | SIGCHLD}}), kEperm);
  EXPECT_EQ(run_bpf(bpf, {SYS_clone, AUDIT_ARCH_X86_64, {SIGCHLD}}), kAllow);
  EXPECT_EQ(run_bpf(bpf, {SYS_ioctl, AUDIT_ARCH_X86_64, {0, (1ull << 32) | 0x5412}}), kEperm);
  EXPECT_EQ(run_bpf(bpf, {SYS_ioctl, AUDIT_ARCH_X86_64, {0, 0x541C}}), kEperm);
  EXPECT_EQ(run_bpf(bpf, {SYS_ioctl, AUDIT_ARCH_X86_64, {0, 0x5401}}), kAllow);
  EXPECT_EQ(run_bpf(bpf, {SYS_personality, AUDIT_ARCH_X86_64, {0}}), kAllow);
  EXPECT_EQ(run_bpf(bpf, {SYS_personality, AUDIT_ARCH_X86_64, {8}}), kEperm);
  auto sock = [&](uint64_t f) { return run_bpf(bpf, {SYS_socket, AUDIT_ARCH_X86_64, {f}}); };
  for (uint64_t f : {0, 1, 2, 10, 16, 29, 31}) EXPECT_EQ(sock(f), kAllow) << f;
  for (uint64_t f : {3ull, 17ull, 30ull, 32ull, 40ull, (1ull << 32) | 2, ~0ull})
    EXPECT_EQ(sock(f), errno_ret(EAFNOSUPPORT)) << f;
}

TEST_F(seccompShippedProfile, LogTurnsDenialsIntoLog) {
  std::string bpf = compile("default", /*log=*/true);
  EXPECT_EQ(run_bpf(bpf, {SYS_mount}), kLog);
  EXPECT_EQ(run_bpf(bpf, {SYS_clone3}), kLog);
  EXPECT_EQ(run_bpf(bpf, {SYS_ioctl, AUDIT_ARCH_X86_64, {0, 0x5412}}), kLog);
  EXPECT_EQ(run_bpf(bpf, {SYS_read}), kAllow);
  EXPECT_EQ(run_bpf(bpf, {20, AUDIT_ARCH_I386}), kKillProcess);  // not a profile decision
}

TEST_F(seccompShippedProfile, LinearAndTreeFiltersDecideAlike) {
  for (const char* name : {"default", "build", "flatpak-like"}) {
    std::string tree = compile(name, false, 2), linear = compile(name, false, 1);
    EXPECT_NE(tree, linear) << name;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
      Call c{static_cast<int>(rng() % 470)};
      for (auto& a : c.args) a = rng() % 4 ? rng() % 64 : rng();
      ASSERT_EQ(run_bpf(tree, c), run_bpf(linear, c)) << name << " nr " << c.nr;
    }
  }
}

TEST(seccompCompile, ExportedProgramIsWhatTheKernelTakes) {
  auto p = parse(with_rules(R"({"names": ["getppid"], "action": "SCMP_ACT_ALLOW"})"));
  auto prog = compile_seccomp_profile(p, native_only());
  ASSERT_FALSE(prog.bpf.empty());
  EXPECT_EQ(prog.bpf.size() % sizeof(sock_filter), 0u);
  EXPECT_EQ(run_bpf(prog.bpf, {SYS_getppid}), kAllow);
  EXPECT_EQ(run_bpf(prog.bpf, {SYS_getpid}), kEperm);
  // Cross-compiling for another architecture works and kills x86_64 calls.
  SeccompCompileOptions arm;
  arm.arches = {SCMP_ARCH_AARCH64};
  auto a = compile_seccomp_profile(p, arm);
  EXPECT_EQ(run_bpf(a.bpf, {SYS_getppid}), kKillProcess);
  EXPECT_EQ(run_bpf(a.bpf, {173 /* aarch64 getppid */, AUDIT_ARCH_AARCH64}), kAllow);
}

TEST(seccompArch, Names) {
  EXPECT_EQ(seccomp_arch_from_name("x86_64"), SCMP_ARCH_X86_64);
  EXPECT_EQ(seccomp_arch_from_name("SCMP_ARCH_X86_64"), SCMP_ARCH_X86_64);
  EXPECT_EQ(seccomp_arch_from_name("amd64"), SCMP_ARCH_X86_64);
  EXPECT_EQ(seccomp_arch_from_name("x86"), SCMP_ARCH_X86);
  EXPECT_EQ(seccomp_arch_from_name("i386"), SCMP_ARCH_X86);
  EXPECT_EQ(seccomp_arch_from_name("x32"), SCMP_ARCH_X32);
  EXPECT_EQ(seccomp_arch_from_name("aarch64"), SCMP_ARCH_AARCH64);
  EXPECT_EQ(seccomp_arch_from_name("arm64"), SCMP_ARCH_AARCH64);
  EXPECT_EQ(seccomp_arch_from_name("vax"), 0u);
  EXPECT_EQ(seccomp_arch_name(SCMP_ARCH_X32), "x32");
  EXPECT_EQ(seccomp_compat_arches(SCMP_ARCH_X86_64),
            (std::vector<uint32_t>{SCMP_ARCH_X86, SCMP_ARCH_X32}));
  EXPECT_TRUE(seccomp_compat_arches(SCMP_ARCH_RISCV64).empty());
}

}  // namespace
}  // namespace sb::security
