// Shared helpers for the integration tests: they drive the built `sandbox` binary (path in
// SANDBOX_BIN) as a user would, from outside, and look at its output, its exit code and
// the host afterwards.
//
// The binary is copied once per test process into a fresh world-readable directory so that
// an unprivileged uid (kUnprivUid, used when the tests run as root) can execute it.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace it {

using Args = std::vector<std::string>;
using namespace std::chrono_literals;

// The uid/gid an "unprivileged" run uses when the test process is root.
inline constexpr uid_t kUnprivUid = 23456;
inline constexpr gid_t kUnprivGid = 23456;

// ---- The binary under test -------------------------------------------------------------

bool is_root();
// Absolute path of the world-executable copy of SANDBOX_BIN (made on first use).
const std::string& sandbox_path();
// The name the binary is invoked as by default: the basename of SANDBOX_BIN ("sandbox").
const std::string& invoked_name();
// A symlink named `bwrap` pointing to the copy (made on first use).
const std::string& bwrap_alias_path();

// ---- Running it -------------------------------------------------------------------------

struct RunOpts {
  // Run as kUnprivUid/kUnprivGid with no supplementary groups when the test process is
  // root; as the current user otherwise.
  bool unprivileged = false;
  // Data for the command's stdin; without it stdin is /dev/null.
  std::optional<std::string> stdin_data;
  std::chrono::milliseconds timeout = 30s;
  // The environment is a clean one (PATH, LC_ALL=C, LANG=C, sanitizer options of the test
  // process); these NAME=VALUE entries are added or replace entries.
  std::vector<std::string> env;
  // Working directory the sandbox is started in.
  std::string cwd = "/";
  // Executable to run instead of the copy (e.g. bwrap_alias_path()).
  std::optional<std::string> exe;
  // argv[0]; default: the basename of the executable, as a shell running it from PATH.
  std::optional<std::string> argv0;
  // File descriptors opened on /dev/null WITHOUT O_CLOEXEC in the child before exec, as a
  // caller leaking descriptors would. Every other descriptor above 2 is closed.
  std::vector<int> leak_fds;
  // Runs in the forked child just before privileges are dropped and the binary is executed
  // (e.g. to set up a private mount namespace holding extra mounts as the caller's world).
  // Returning false makes the child exit 127 with a message.
  std::function<bool()> in_child;
};

struct RunResult {
  int exit_code = -1;  // WEXITSTATUS, or 128 + signal number if killed by a signal
  bool timed_out = false;
  std::string out;
  std::string err;
};
std::ostream& operator<<(std::ostream& os, const RunResult& r);

// A started sandbox process (own process group), stdout/stderr captured through pipes.
class Proc {
 public:
  Proc(pid_t pid, int out_fd, int err_fd, std::chrono::milliseconds default_timeout);
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  ~Proc();  // SIGKILLs the process group if still running, reaps

  pid_t pid() const { return pid_; }
  // Signal the sandbox process itself (not its group).
  void signal(int sig) const;
  // Reads output until `needle` appears in stdout; false on timeout or if the process ended
  // without printing it.
  bool wait_for_stdout(const std::string& needle, std::chrono::milliseconds timeout = 10s);
  // Waits for the process to exit (default: the run's timeout); on timeout the whole
  // process group is SIGKILLed and the result is marked timed_out.
  RunResult wait();
  RunResult wait(std::chrono::milliseconds timeout);
  const std::string& out_so_far() const { return out_; }
  const std::string& err_so_far() const { return err_; }

 private:
  bool pump(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& done);
  void reap_now(bool block);
  pid_t pid_;
  int fds_[2];
  std::string out_, err_;
  bool reaped_ = false;
  int status_ = 0;
  std::chrono::milliseconds default_timeout_;
};

std::unique_ptr<Proc> spawn(const Args& args, const RunOpts& o = {});
RunResult run(const Args& args, const RunOpts& o = {});

// ---- Building command lines ---------------------------------------------------------------

// A minimal usable root from the host: --ro-bind /usr /usr and, for bin, lib, lib64, sbin,
// lib32, libx32 at /: --symlink usr/X /X if it is a symlink to usr/X, else --ro-bind /X /X.
Args base_root();
// Names of the top-level entries base_root() creates.
std::set<std::string> base_root_entries();
// Concatenation: cat({base_root(), {"--proc", "/proc"}, {"--", "true"}}).
Args cat(std::initializer_list<Args> parts);
// base_root() + extra.
Args with_root(const Args& extra);
// `sh -c SCRIPT` as the command: {"--", "sh", "-c", script}.
Args sh(const std::string& script);

// ---- Host inspection ---------------------------------------------------------------------

// One entry per line of /proc/self/mountinfo: "MOUNTPOINT FSTYPE SOURCE", sorted.
std::vector<std::string> host_mounts();
struct MountEntry {
  std::string root;        // field 4
  std::string mountpoint;  // field 5
  std::string options;     // field 6
  std::string fstype;
  std::string source;
  unsigned major = 0, minor = 0;
};
std::vector<MountEntry> parse_mountinfo(const std::string& text);

// Processes (on the whole host) whose /proc/PID/cmdline contains `token` in any argument.
std::vector<pid_t> pids_with_token(const std::string& token);
// Processes whose argv[0] has basename `prog` and whose argv[1] is `arg1`.
std::vector<pid_t> pids_running(const std::string& prog, const std::string& arg1);
// SIGKILLs every process pids_with_token(token) finds (test cleanup).
void kill_with_token(const std::string& token);
// Polls `pred` every 20 ms until it is true or `timeout` passes; returns its last value.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s);

// A unique argument for `sleep` (about 1000 s) that identifies one test's processes:
// "1000.<pid><counter>".
std::string sleep_token();
// Something unique to this process for file names.
std::string unique_suffix();

// readlink("/proc/self/ns/<name>") of the test process.
std::string host_ns(const std::string& name);
// Value of "Name:" in a /proc/PID/status text, hex-decoded (Cap*) or as-is.
std::optional<std::string> status_field(const std::string& status, const std::string& name);
std::optional<uint64_t> status_caps(const std::string& status, const std::string& name);

// The hierarchy that has `controller`, and where this test process sits in it: the
// directory a root sandbox makes its cgroup in. From /proc/self/mountinfo and
// /proc/self/cgroup, as sandbox finds it; nullopt when no hierarchy has it.
struct CgroupPlace {
  std::string mountpoint;
  std::string dir;
};
std::optional<CgroupPlace> caller_cgroup(const std::string& controller);
std::optional<std::string> caller_cgroup_dir(const std::string& controller);

// ---- Files -------------------------------------------------------------------------------

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content, unsigned mode = 0644);
bool exists(const std::string& path);  // lstat succeeds
std::vector<std::string> lines(const std::string& s);
std::vector<std::string> words(const std::string& s);
std::string trim(const std::string& s);
std::set<std::string> line_set(const std::string& s);
bool contains(const std::string& hay, const std::string& needle);
std::string first_line(const std::string& s);
// Interface names listed by a /proc/net/dev text.
std::set<std::string> net_interfaces(const std::string& net_dev);
// "key=value" lines of a command's output -> map (lines without '=' are ignored).
std::map<std::string, std::string> key_values(const std::string& out);

// A temporary host directory, removed (recursively) on destruction. Mode 0777 by default so
// that the unprivileged uid can write into it.
class TempDir {
 public:
  explicit TempDir(unsigned mode = 0777);
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  std::vector<std::string> entries() const;  // names in the directory, sorted

 private:
  std::string path_;
};

// ---- Fixtures ------------------------------------------------------------------------------

// The uid/gid an unprivileged run has on the host.
uid_t unpriv_uid();
gid_t unpriv_gid();

// Checks that the host mount table is the same after the test as before it.
class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

 private:
  std::optional<std::vector<std::string>> mounts_before_;
};

// Parameter: true = run the sandbox as root, false = as the unprivileged uid. The root
// variant is skipped when the tests do not run as root.
class ModeTest : public SandboxTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override;
  bool as_root() const { return GetParam(); }
  RunOpts opts() const;
  uid_t caller_uid() const { return as_root() ? 0 : unpriv_uid(); }
  gid_t caller_gid() const { return as_root() ? 0 : unpriv_gid(); }
};
std::string mode_name(const ::testing::TestParamInfo<bool>& info);

// Unprivileged-only convenience.
RunOpts unpriv();

// ---- Terminals ----
// Writes all of `data` to `fd`.
bool io_write(int fd, const std::string& data);
// Reads `fd` (a pty master, say) until `done` holds for what was read, EOF/EIO, or 20 s.
std::string read_until(int fd, const std::function<bool(const std::string&)>& done);
// The value after "KEY=" at the start of a line of `out` ("" when none; a trailing \r, as a
// terminal writes it, dropped).
std::string marked(const std::string& out, const std::string& key);

// ---- User-mode networking (--net pasta/slirp4netns/user open /dev/net/tun as the caller) --
// True when /dev/net/tun is usable by every user (mode 0666, as Debian ships it).
bool host_tun_usable_by_others();
// A RunOpts::in_child hook (run as root in the forked caller) giving the caller a private
// mount namespace with a tmpfs on `dir` and, bound from there: a 0666 /dev/net/tun when
// `tun`, an /etc/resolv.conf with `resolv` when it is not empty. The host's are unchanged.
std::function<bool()> private_mounts(const std::string& dir, bool tun, const std::string& resolv);
// A RunOpts::in_child hook (run as root in the forked caller): a private mount namespace in
// which each {file, target} binds the test's `file` over the host's `target` (e.g. its own
// /etc/subuid for newuidmap). The host's files are unchanged; false when a step fails.
std::function<bool()> bind_files_over(std::vector<std::pair<std::string, std::string>> binds);

// The unprivileged uid's user name (newuidmap/newgidmap look /etc/subuid and /etc/subgid up
// by name): its own where /etc/passwd has one, else "sandbox-it" from a copy of /etc/passwd
// with that entry, written in `dir` and given as the bind (for bind_files_over) in `binds`.
struct UnprivName {
  std::string name;
  std::vector<std::pair<std::string, std::string>> binds;
};
UnprivName unpriv_user_name(const std::string& dir);
// The hook that gives an unprivileged caller a usable /dev/net/tun when the host's is not
// (empty when nothing is needed or the tests are not root).
std::function<bool()> private_tun_for_unprivileged(const std::string& dir);

#define IT_REQUIRE_ROOT()                                                           \
  do {                                                                              \
    if (!::it::is_root()) GTEST_SKIP() << "needs the tests to run as root (uid 0)"; \
  } while (0)

// True under CI=true (.ci/run): what CI exists to prove it must not skip.
bool in_ci();

// A tool or file the test needs. Missing: a skip with the reason locally, a failure in CI,
// where scripts/deps.sh installs every package the tests use.
#define IT_REQUIRE_FILE(path)                                                                  \
  do {                                                                                         \
    if (!::it::exists(path)) {                                                                 \
      if (::it::in_ci())                                                                       \
        FAIL() << (path) << " is not installed, and CI=true must run this test (scripts/deps.sh)"; \
      GTEST_SKIP() << (path) << " is not installed on this host";                              \
    }                                                                                          \
  } while (0)

}  // namespace it
