// bench/startup_floor.c, the syscall floor startup_bench measures sandbox against in
// scenario 2: run once as the unprivileged uid, it must build the isolation it stands for
// (new namespaces, single-id maps, a read-only root, a fresh /proc, tmpfs /tmp and /dev, no
// old root left), so that the ratio compares like with like. No timing here.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "harness.hpp"

#ifndef STARTUP_FLOOR_BIN
#error "STARTUP_FLOOR_BIN must name the built startup_floor"
#endif

namespace it {
namespace {

const std::vector<std::string> kNsNames = {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"};

// A copy the unprivileged uid can execute, whatever the build tree's modes are.
class FloorCopy {
 public:
  FloorCopy() : dir_(0755) {
    std::filesystem::copy_file(STARTUP_FLOOR_BIN, path());
    ::chmod(path().c_str(), 0755);
  }
  std::string path() const { return dir_ / "startup_floor"; }

 private:
  TempDir dir_;
};

// Everything the test looks at, the PID namespace's processes counted by shell builtins
// only (so that the shell is still alone there), then `exit 7`. (`true`, not `:`: a failed
// redirection of a special builtin ends a POSIX shell.)
const char* kScript =
    "echo \"uid_map=$(cat /proc/self/uid_map)\"; echo \"gid_map=$(cat /proc/self/gid_map)\"; "
    "echo \"self=$$\"; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo \"pids=$n\"; "
    "for ns in user mnt pid net ipc uts cgroup; do echo \"$ns=$(readlink /proc/self/ns/$ns)\"; "
    "done; "
    "if true 2>/tmp/err >/floor-probe; then echo root=writable; else echo \"root=$(cat /tmp/err)\"; fi; "
    "if true >/tmp/probe; then echo tmp=writable; fi; "
    "if true >/dev/null; then echo devnull=writable; fi; "
    "echo mountinfo-begin; cat /proc/self/mountinfo; echo mountinfo-end; "
    "echo netdev-begin; cat /proc/net/dev; echo netdev-end; "
    "case \"$(cat /proc/net/fib_trie)\" in *127.0.0.1*) echo lo=up;; *) echo lo=down;; esac; exit 7";

std::string between(const std::string& out, const std::string& from, const std::string& to) {
  auto a = out.find(from + "\n");
  auto b = out.find(to + "\n");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return out.substr(a + from.size() + 1, b - a - from.size() - 1);
}

uid_t expected_uid() { return is_root() ? kUnprivUid : ::getuid(); }
gid_t expected_gid() { return is_root() ? kUnprivGid : ::getgid(); }

int host_pid_count() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) ++n;
  }
  return n;
}

RunResult run_floor(const FloorCopy& floor, const Args& pre) {
  Args args = pre;
  args.insert(args.end(), {"sh", "-c", kScript});
  RunOpts o;
  o.unprivileged = true;
  o.exe = floor.path();
  return run(args, o);
}

// The floor refuses to run where this kernel or user cannot create a user namespace: decided
// from its own message, which names the failing step.
#define SKIP_IF_NO_USERNS(r)                                                              \
  if ((r).exit_code == 1 && contains((r).err, "startup_floor: clone:"))                   \
  GTEST_SKIP() << "startup_floor can't create the namespaces here: " << trim((r).err)

TEST(BenchFloor, BuildsTheIsolationOfScenario2) {
  FloorCopy floor;
  RunResult r = run_floor(floor, {});
  SKIP_IF_NO_USERNS(r);
  ASSERT_EQ(r.exit_code, 7) << r;  // the command's status is the floor's
  auto kv = key_values(r.out);

  // Single-id maps of the caller's own ids, as sandbox writes them.
  EXPECT_EQ(words(kv["uid_map"]), (std::vector<std::string>{std::to_string(expected_uid()),
                                                               std::to_string(expected_uid()), "1"}))
      << r;
  EXPECT_EQ(words(kv["gid_map"]), (std::vector<std::string>{std::to_string(expected_gid()),
                                                               std::to_string(expected_gid()), "1"}))
      << r;

  // Every namespace is a new one.
  for (const auto& ns : kNsNames) EXPECT_NE(kv[ns], host_ns(ns)) << ns << r;

  // A fresh /proc of the new PID namespace: the shell is pid 1 and alone, where the host's
  // /proc (the control) lists many more.
  EXPECT_EQ(kv["self"], "1") << r;
  EXPECT_EQ(kv["pids"], "1") << r;
  EXPECT_GT(host_pid_count(), 1);

  // / is read-only (EROFS, not a permission error), /tmp and /dev/null are writable.
  EXPECT_TRUE(contains(kv["root"], "Read-only file system")) << r;
  EXPECT_EQ(kv["tmp"], "writable") << r;
  EXPECT_EQ(kv["devnull"], "writable") << r;

  // The mount table sandbox builds for scenario 2; no staging or old root left behind.
  auto mounts = parse_mountinfo(between(r.out, "mountinfo-begin", "mountinfo-end"));
  ASSERT_FALSE(mounts.empty()) << r;
  std::map<std::string, MountEntry> top;  // the last mount on each path is the visible one
  for (const auto& m : mounts) {
    EXPECT_EQ(m.mountpoint.find("/oldroot"), std::string::npos) << m.mountpoint;
    EXPECT_EQ(m.mountpoint.find("/newroot"), std::string::npos) << m.mountpoint;
    top[m.mountpoint] = m;
  }
  auto has_opt = [](const MountEntry& m, const std::string& opt) {
    std::string opts = "," + m.options + ",";
    return opts.find("," + opt + ",") != std::string::npos;
  };
  ASSERT_TRUE(top.count("/")) << r;
  EXPECT_TRUE(has_opt(top["/"], "ro") && has_opt(top["/"], "nosuid") && has_opt(top["/"], "nodev"))
      << top["/"].options;
  for (const auto& m : mounts) {  // recursively: every host mount below / is read-only too
    if (m.mountpoint != "/" && m.fstype != "tmpfs" && m.fstype != "proc" && m.fstype != "devpts" &&
        m.mountpoint.rfind("/dev/", 0) != 0) {
      EXPECT_TRUE(has_opt(m, "ro")) << m.mountpoint << " " << m.options;
    }
  }
  EXPECT_EQ(top["/proc"].fstype, "proc");
  EXPECT_EQ(top["/tmp"].fstype, "tmpfs");
  EXPECT_EQ(top["/dev"].fstype, "tmpfs");
  EXPECT_EQ(top["/dev/pts"].fstype, "devpts");
  EXPECT_TRUE(top.count("/dev/null")) << r;

  // A network namespace of its own: loopback only, and up (127.0.0.1 is routed only then).
  EXPECT_EQ(net_interfaces(between(r.out, "netdev-begin", "netdev-end")),
            (std::set<std::string>{"lo"}))
      << r;
  EXPECT_EQ(kv["lo"], "up") << r;
}

TEST(BenchFloor, ShareNetKeepsTheHostNetworkOnly) {
  FloorCopy floor;
  RunResult r = run_floor(floor, {"--share-net"});
  SKIP_IF_NO_USERNS(r);
  ASSERT_EQ(r.exit_code, 7) << r;
  auto kv = key_values(r.out);
  EXPECT_EQ(kv["net"], host_ns("net")) << r;
  for (const auto& ns : kNsNames) {
    if (ns != "net") {
      EXPECT_NE(kv[ns], host_ns(ns)) << ns << r;
    }
  }
  EXPECT_EQ(kv["self"], "1") << r;
  EXPECT_TRUE(contains(kv["root"], "Read-only file system")) << r;
}

}  // namespace
}  // namespace it
