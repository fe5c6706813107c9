// --landlock from a user's side: what the sandbox was given stays usable (read where bound
// read-only, write where bound writable), and nothing else is written; `sandbox doctor`
// reports the ABI the kernel answers. The escapes it stops are in
// tests/security/landlock_escape_test.cpp.
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "harness.hpp"

namespace it {
namespace {

class LandlockTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, LandlockTest, ::testing::Bool(), mode_name);

int landlock_abi() {
  long abi = ::syscall(444 /* landlock_create_ruleset */, nullptr, 0, 1U);
  return abi >= 0 ? static_cast<int>(abi) : -errno;
}

// Each step prints NAME=ok or NAME=<the shell's error>.
const char* kScript = R"SH(
try() { n=$1; shift; if out=$("$@" 2>&1); then echo "$n=ok"; else echo "$n=fail: $out"; fi; }
try ro-create sh -c 'echo x > /ro/new'
try ro-append sh -c 'echo x >> /ro/existing'
try ro-mkdir mkdir /ro/dir
try ro-read cat /ro/existing
try rw-create sh -c 'echo written > /rw/new'
try rw-mkdir mkdir /rw/dir
try rw-rename mv /rw/new /rw/dir/moved
try rw-truncate truncate -s 0 /rw/existing
try tmpfs-create sh -c 'echo x > /t/new && mkdir /t/d && mv /t/new /t/d/'
try dir-create sh -c 'echo x > /scratch/new'
try root-create sh -c 'echo x > /new-at-root'
try dev-null sh -c 'echo x > /dev/null'
try exec /usr/bin/true
try proc-read sh -c 'head -1 /proc/self/status'
echo END
)SH";

TEST_P(LandlockTest, GivenTreeStaysUsableAndNothingElseIsWritten) {
  if (landlock_abi() < 3) GTEST_SKIP() << "Landlock ABI " << landlock_abi() << " here, needs 3";
  for (bool ll : {false, true}) {
    SCOPED_TRACE(ll ? "--landlock" : "without --landlock");
    TempDir ro, rw;
    write_file(ro / "existing", "ro-content\n", 0666);
    write_file(rw / "existing", "rw-content\n", 0666);
    Args extra = {"--ro-bind", ro.path(), "/ro", "--bind", rw.path(), "/rw", "--tmpfs", "/t",
                  "--dir", "/scratch", "--proc", "/proc", "--dev", "/dev", "--unshare-pid"};
    if (ll) extra.push_back("--landlock");
    auto r = run(with_root(cat({extra, {"--", "sh", "-c", kScript}})), opts());
    ASSERT_TRUE(contains(r.out, "END")) << r;
    auto kv = key_values(r.out);
    // Read-only bind: refused both ways (EROFS from the mount; Landlock agrees).
    for (const char* k : {"ro-create", "ro-append", "ro-mkdir"}) {
      EXPECT_EQ(kv[k].rfind("fail", 0), 0u) << k << r;
      EXPECT_TRUE(contains(kv[k], "Read-only file system") || contains(kv[k], "Permission denied"))
          << k << r;
    }
    for (const char* k : {"ro-read", "rw-create", "rw-mkdir", "rw-rename", "rw-truncate",
                          "tmpfs-create", "dir-create", "dev-null", "exec", "proc-read"})
      EXPECT_EQ(kv[k], "ok") << k << r;
    // The new root's own tmpfs: the owner may write it without Landlock; with it, only
    // what was put there writable is.
    if (ll) {
      EXPECT_TRUE(contains(kv["root-create"], "Permission denied")) << r;
    } else {
      EXPECT_EQ(kv["root-create"], "ok") << r;
    }
    EXPECT_EQ(ro.entries(), (std::vector<std::string>{"existing"}));
    EXPECT_EQ(read_file(ro / "existing"), "ro-content\n");
    EXPECT_EQ(rw.entries(), (std::vector<std::string>{"dir", "existing"}));
    EXPECT_EQ(read_file(rw / "dir/moved"), "written\n");
    EXPECT_EQ(read_file(rw / "existing"), "");
  }
}

// Landlock refuses mounts to the confined command: nothing nested that needs them works
// (documented); without --landlock a user namespace inside may mount its own tmpfs.
TEST_P(LandlockTest, ConfinedCommandCannotMount) {
  if (landlock_abi() < 3) GTEST_SKIP() << "Landlock ABI " << landlock_abi() << " here, needs 3";
  const char* script = "unshare -rm sh -c 'mount -t tmpfs x /tmp && echo mounted'; echo END";
  auto c = run(with_root({"--tmpfs", "/tmp", "--proc", "/proc", "--unshare-pid", "--", "sh", "-c", script}), opts());
  if (!contains(c.out, "mounted"))
    GTEST_SKIP() << "a nested user namespace cannot mount here even without --landlock: " << c;
  auto r = run(with_root({"--tmpfs", "/tmp", "--proc", "/proc", "--unshare-pid", "--landlock", "--", "sh", "-c", script}), opts());
  EXPECT_TRUE(contains(r.out, "END")) << r;
  EXPECT_FALSE(contains(r.out, "mounted")) << r;
  EXPECT_TRUE(contains(r.err, "Operation not permitted")) << r;
}

// --landlock with --verbose says what it enforced; best-effort on a kernel that has
// everything enforces the same, with no warning.
TEST_P(LandlockTest, VerboseNamesTheAbiAndBestEffortEnforcesWhereItCan) {
  const int abi = landlock_abi();
  if (abi < 3) GTEST_SKIP() << "Landlock ABI " << abi << " here, needs 3";
  for (const char* mode : {"required", "best-effort"}) {
    auto r = run(with_root({"--landlock-mode", mode, "--verbose", "--", "sh", "-c",
                            "echo x > /denied; echo status=$?"}),
                 opts());
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.out, "status=1") || contains(r.out, "status=2")) << r;
    EXPECT_TRUE(contains(r.err, "landlock: ABI " + std::to_string(abi))) << r;
    EXPECT_FALSE(contains(r.err, "warning")) << r;
  }
}

TEST(LandlockDoctor, ReportsTheAbiTheKernelAnswers) {
  auto r = run({"doctor"});
  const int abi = landlock_abi();
  std::string row;
  for (const auto& l : lines(r.out))
    if (contains(l, " landlock: ")) row = l;
  ASSERT_FALSE(row.empty()) << r;
  if (abi >= 3) {
    EXPECT_EQ(row.rfind("OK", 0), 0u) << row;
    EXPECT_TRUE(contains(row, "Landlock ABI " + std::to_string(abi) + ":")) << row;
  } else {
    EXPECT_EQ(row.rfind("WARN", 0), 0u) << row;
  }
  if (abi >= 6) {
    EXPECT_TRUE(contains(row, "signals and abstract unix sockets")) << row;
  }
}

TEST(LandlockCli, BadValuesNameTheOption) {
  auto r = run({"--landlock-mode", "sometimes", "true"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "--landlock-mode")) << r;
  r = run({"--landlock-scope", "ptrace", "true"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "--landlock-scope")) << r;
}

}  // namespace
}  // namespace it
