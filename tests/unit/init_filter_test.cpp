// init_syscall_denied: the classic-BPF evaluation that decides, before anything is
// created, whether the command's seccomp programs leave the sandbox's init (pid 1) the
// calls it makes once it has loaded them.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <csignal>
#include <cstddef>
#include <string>
#include <vector>

#include "launch/launch.hpp"

using sb::launch::init_syscall_denied;

namespace {

std::string program(const std::vector<sock_filter>& insns) {
  return std::string(reinterpret_cast<const char*>(insns.data()), insns.size() * sizeof(sock_filter));
}

constexpr uint32_t kNr = offsetof(seccomp_data, nr);
constexpr uint32_t kArg1Low = offsetof(seccomp_data, args) + 8;  // little-endian low word

const std::string kAllowAll = program({BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)});

// Denies syscall `nr` with `action`, allows the rest.
std::string deny(long nr, uint32_t action) {
  return program({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNr),
                  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1),
                  BPF_STMT(BPF_RET | BPF_K, action),
                  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)});
}

}  // namespace

TEST(InitFilter, NoProgramsOrAllowAllDenyNothing) {
  EXPECT_EQ(init_syscall_denied({}), "");
  EXPECT_EQ(init_syscall_denied({kAllowAll}), "");
  // Logged calls still run.
  EXPECT_EQ(init_syscall_denied({program({BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG)})}), "");
}

#if defined(__x86_64__) && !defined(__ILP32__)
TEST(InitFilter, NamesTheFirstDeniedCallAndItsFilter) {
  EXPECT_EQ(init_syscall_denied({deny(SYS_wait4, SECCOMP_RET_ERRNO | 1)}), "wait4 (filter 1)");
  EXPECT_EQ(init_syscall_denied({kAllowAll, deny(SYS_rt_sigtimedwait, SECCOMP_RET_KILL_PROCESS)}),
            "rt_sigtimedwait (filter 2)");
  EXPECT_EQ(init_syscall_denied({deny(SYS_exit_group, SECCOMP_RET_TRAP)}), "exit_group (filter 1)");
  // A call init never makes may be denied.
  EXPECT_EQ(init_syscall_denied({deny(SYS_mount, SECCOMP_RET_ERRNO | 1)}), "");
}

TEST(InitFilter, ArgumentsAreThoseInitPasses) {
  // kill(pid, SIGTERM) denied, kill with other signals allowed: init forwards SIGTERM.
  std::string no_term = program({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNr),
                                 BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kill, 0, 3),
                                 BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArg1Low),
                                 BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIGTERM, 0, 1),
                                 BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
                                 BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)});
  EXPECT_EQ(init_syscall_denied({no_term}), "kill (filter 1)");
  // The architecture is checked as the kernel reports it: a filter that kills every
  // other architecture leaves init alone.
  std::string arch_only = program({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
                                   BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
                                   BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                                   BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)});
  EXPECT_EQ(init_syscall_denied({arch_only}), "");
}
#endif

TEST(InitFilter, ProgramsTheKernelWouldRejectAreReported) {
  // Falls off the end without a return.
  std::string no_ret = program({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNr)});
  EXPECT_EQ(init_syscall_denied({no_ret}), "an invalid program (filter 1)");
  // A load outside seccomp_data.
  std::string oob = program({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4096),
                             BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)});
  EXPECT_EQ(init_syscall_denied({kAllowAll, oob}), "an invalid program (filter 2)");
  // An offset whose k + 4 wraps to 0 (found by fuzz_bpf: it read 4 GiB past seccomp_data).
  std::string wraps = program({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0xfffffffcU),
                               BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)});
  EXPECT_EQ(init_syscall_denied({wraps}), "an invalid program (filter 1)");
}

// The exec'd init's seccomp programs (start_exec_init): what goes in comes out, in order,
// empty programs included; anything truncated or padded is refused, never half-read.
TEST(InitPrograms, EncodingRoundTrips) {
  using sb::launch::decode_programs;
  using sb::launch::encode_programs;
  std::vector<std::string> progs = {kAllowAll, "", std::string("\0\1\2", 3), kAllowAll + kAllowAll};
  auto back = decode_programs(encode_programs(progs));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, progs);
  EXPECT_EQ(decode_programs(encode_programs({})), std::vector<std::string>{});
  std::string data = encode_programs({kAllowAll});
  EXPECT_FALSE(decode_programs(data.substr(0, data.size() - 1))) << "truncated program";
  EXPECT_FALSE(decode_programs(data.substr(0, 3))) << "truncated length";
  EXPECT_FALSE(decode_programs(data + "x")) << "trailing byte";
}
