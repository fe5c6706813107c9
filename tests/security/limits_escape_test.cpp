// A command must not lift its own limits (issue 13, item 4): the cgroup limits sit on
// sandbox-<pid>, above the cgroup `command` that holds the command and roots its cgroup
// namespace; host cgroup filesystems in the new root are read-only; a command that keeps
// CAP_SYS_ADMIN in the initial user namespace is refused the limits; --timeout needs a PID
// namespace, where the command cannot reach the supervisor that enforces it.
//
// The cgroup attacks run as root on this host's cgroup v1 hierarchies (the delegated cgroup
// v2 path is attacked in the VM, tests/vm/scenarios.sh). Only cgroups the tests create are
// written to from outside; the sandboxes' own are removed by sandbox.
#include <sys/stat.h>
#include <unistd.h>

#include "escape.hpp"

namespace it {
namespace {

// Where this test process sits in the cgroup v1 hierarchy of `controller`; "" if none.
std::string v1_dir(const std::string& controller, std::string* mountpoint = nullptr) {
  std::string mp;
  for (const auto& l : lines(read_file("/proc/self/mountinfo"))) {
    auto w = words(l);
    auto sep = std::find(w.begin(), w.end(), "-");
    if (sep == w.end() || w.end() - sep < 4) continue;
    if (*(sep + 1) == "cgroup" && contains("," + *(sep + 3) + ",", "," + controller + ",") &&
        w[3] == "/") {
      mp = w[4];
      break;
    }
  }
  if (mp.empty()) return "";
  if (mountpoint) *mountpoint = mp;
  for (const auto& l : lines(read_file("/proc/self/cgroup"))) {
    auto a = l.find(':'), b = l.find(':', a + 1);
    if (contains("," + l.substr(a + 1, b - a - 1) + ",", "," + controller + ","))
      return mp + (l.substr(b + 1) == "/" ? "" : l.substr(b + 1));
  }
  return "";
}

#define REQUIRE_V1(c)                                                                  \
  do {                                                                                 \
    IT_REQUIRE_ROOT();                                                                 \
    if (v1_dir(c).empty()) GTEST_SKIP() << "no cgroup v1 hierarchy with " c " here";   \
  } while (0)

// A cgroup of the test's own at the root of the memory and pids hierarchies.
class OwnCgroups {
 public:
  OwnCgroups() : name_("sandbox-it-" + unique_suffix()) {
    for (const char* c : {"memory", "pids"}) {
      std::string mp;
      v1_dir(c, &mp);
      std::string d = mp + "/" + name_;
      if (::mkdir(d.c_str(), 0755) == 0) dirs_.push_back(d);
    }
  }
  ~OwnCgroups() {
    for (const auto& d : dirs_) {
      for (pid_t p : pids(d)) ::kill(p, SIGKILL);
      for (int i = 0; i < 100 && ::rmdir(d.c_str()) != 0; ++i) std::this_thread::sleep_for(20ms);
    }
  }
  std::vector<pid_t> pids(const std::string& d) const {
    std::vector<pid_t> v;
    for (const auto& w : words(read_file(d + "/cgroup.procs"))) v.push_back(std::stoi(w));
    return v;
  }
  const std::string& name() const { return name_; }
  std::string memory() const { return dirs_.empty() ? "" : dirs_[0]; }

 private:
  std::string name_;
  std::vector<std::string> dirs_;
};

const Args kNoCaps = {"--cap-drop", "ALL"};

// Inside, through the host's cgroup filesystem bound at /sys/fs/cgroup: raise the limits of
// the cgroup above ours (found as the sandbox-* whose command/cgroup.procs holds us) and
// move ourselves into argv[1] (a cgroup.procs outside ours); then allocate 256 MiB.
const char* kLiftThroughBind = R"PY(
import errno, glob, os, sys
me = str(os.getpid())
def write(path, value, tag):
    try:
        with open(path, 'w') as f: f.write(value)
        print('%s=ok' % tag, flush=True)
    except OSError as e:
        print('%s=%s' % (tag, errno.errorcode.get(e.errno, str(e))), flush=True)
for procs in glob.glob('/sys/fs/cgroup/*/**/sandbox-*/command/cgroup.procs', recursive=True):
    if me in open(procs).read().split():
        top = procs.rsplit('/', 2)[0]
        if os.path.exists(top + '/memory.limit_in_bytes'): write(top + '/memory.limit_in_bytes', '-1', 'raise-memory')
        if os.path.exists(top + '/pids.max'): write(top + '/pids.max', 'max', 'raise-pids')
write(sys.argv[1], me, 'move')
x = b'x' * (256 << 20)
print('survived', flush=True)
)PY";

// Control first: uid 0 without any capability, given the host's cgroup filesystem through
// a bind of /, moves itself into another cgroup (here the test's own) when nothing protects
// it. With --memory (and --pids) the same sandbox finds the filesystem read-only: it can
// neither raise the limits above it nor leave, and the allocation is killed.
TEST_F(SandboxTest, BoundCgroupFilesystemCannotLiftTheLimits) {
  REQUIRE_V1("memory");
  REQUIRE_V1("pids");
  OwnCgroups own;
  ASSERT_FALSE(own.memory().empty());
  const std::string target = own.memory() + "/cgroup.procs";
  {
    const Args caps = kNoCaps;
    auto control = run(cat({{"--bind", "/", "/"}, caps, py(kLiftThroughBind, {target})}));
    EXPECT_EQ(key_values(control.out)["move"], "ok") << "control: no limits, no protection" << control;

    // As root in the initial user namespace a bind of / (which brings the host's /proc) is
    // refused with limits (see HostProcfsWalkIsRefused); best-effort runs it, in a PID
    // namespace, and the cgroup filesystem is read-only all the same.
    auto refused = run(cat({{"--bind", "/", "/", "--unshare-pid"}, caps, {"--memory", "64M"},
                            py(kLiftThroughBind, {target})}));
    EXPECT_EQ(refused.exit_code, 1) << refused;
    EXPECT_TRUE(contains(refused.err, "--bind / / brings the host's procfs (/proc)")) << refused;
    auto r = run(cat({{"--bind", "/", "/", "--unshare-pid", "--limits", "best-effort"}, caps,
                      {"--memory", "64M", "--pids", "40"}, py(kLiftThroughBind, {target})}));
    auto m = key_values(r.out);
    EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r;
    EXPECT_FALSE(contains(r.out, "survived")) << r;
    EXPECT_EQ(m["raise-memory"], "EROFS") << r;
    EXPECT_EQ(m["raise-pids"], "EROFS") << r;
    EXPECT_EQ(m["move"], "EROFS") << r;
    EXPECT_TRUE(own.pids(own.memory()).empty()) << "a limited sandbox moved itself out";
  }
}

// Root keeping Podman's default capability set for a container (a root `podman run` asks
// the OCI runtime for it, with its default --pids-limit) may have limits: in a PID namespace
// of its own, without the host's /proc, none of those capabilities leaves the cgroup.
// Control: with the host's cgroup filesystem bound writable and no limits, DAC_OVERRIDE
// root moves itself into another cgroup. With --memory the run is accepted, the filesystem
// is read-only to it, mounting another is refused, and the allocation is killed.
TEST_F(SandboxTest, PodmansDefaultCapabilitiesKeepTheLimits) {
  REQUIRE_V1("memory");
  OwnCgroups own;
  ASSERT_FALSE(own.memory().empty());
  const std::string target = own.memory() + "/cgroup.procs";
  const Args podman_caps = {"--cap-drop", "ALL", "--cap-add", "CAP_CHOWN", "--cap-add",
                            "CAP_DAC_OVERRIDE", "--cap-add", "CAP_FOWNER", "--cap-add", "CAP_FSETID",
                            "--cap-add", "CAP_KILL", "--cap-add", "CAP_NET_BIND_SERVICE", "--cap-add",
                            "CAP_SETFCAP", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP",
                            "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SYS_CHROOT"};
  const Args root = {"--ro-bind", "/", "/", "--bind", "/sys", "/sys", "--unshare-pid",
                     "--proc", "/proc", "--tmpfs", "/tmp"};
  const std::string mount_try =
      "import ctypes, errno, os\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "r = libc.mount(b'none', b'/tmp', b'cgroup', 0, b'memory')\n"
      "print('mount=%s' % ('ok' if r == 0 else errno.errorcode[ctypes.get_errno()]), flush=True)\n";
  auto control = run(cat({root, podman_caps, py(kLiftThroughBind, {target})}));
  EXPECT_EQ(key_values(control.out)["move"], "ok") << "control: no limits, no protection" << control;

  auto r = run(cat({root, podman_caps, {"--memory", "64M"}, py(mount_try + kLiftThroughBind, {target})}));
  auto m = key_values(r.out);
  EXPECT_EQ(m["mount"], "EPERM") << r;
  EXPECT_EQ(m["move"], "EROFS") << r;
  EXPECT_FALSE(contains(r.out, "survived")) << r;
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r;
  EXPECT_TRUE(own.pids(own.memory()).empty()) << "a limited sandbox moved itself out";

  // One capability more (CAP_SYS_PTRACE) and the limits can't be had: refused, named.
  auto more = run(cat({root, podman_caps, {"--cap-add", "CAP_SYS_PTRACE", "--memory", "64M"},
                       py(kLiftThroughBind, {target})}));
  EXPECT_EQ(more.exit_code, 1) << more;
  EXPECT_EQ(more.out, "") << more;
  EXPECT_TRUE(contains(more.err, "with capabilities (CAP_SYS_PTRACE)")) << more;
}

// The command has every capability in a user namespace whose uid 0 is the host's root
// (a root caller with --unshare-user): it mounts the memory and pids hierarchies, which
// the kernel allows inside a cgroup namespace, and writes -1 and max to what it sees. That
// is only its own cgroup (the write succeeds: the attack's control), not the one above
// that holds the limits: the fork loop still stops and the allocation is killed.
TEST_F(SandboxTest, CgroupFilesystemMountedInsideShowsOnlyTheCommandsCgroup) {
  REQUIRE_V1("memory");
  REQUIRE_V1("pids");
  const std::string script =
      "mkdir -p /tmp/m /tmp/p && mount -t cgroup -o memory none /tmp/m && "
      "mount -t cgroup -o pids none /tmp/p && echo -1 > /tmp/m/memory.limit_in_bytes && "
      "echo max > /tmp/p/pids.max && echo raised=$(cat /tmp/p/pids.max) && "
      "echo ls=$(ls -d /tmp/m/sandbox-* 2>/dev/null | wc -l) && echo $$ > /tmp/m/cgroup.procs; "
      "exec python3 -c \"" R"PY(
import os, time
n = 0
try:
    for i in range(60):
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        n += 1
except OSError:
    pass
print('forked=%d' % n, flush=True)
x = b'x' * (256 << 20)
print('survived', flush=True)
)PY" "\"";
  auto r = run(with_root(cat({{"--unshare-user", "--uid", "0", "--cap-add", "ALL", "--tmpfs", "/tmp",
                               "--dev", "/dev", "--memory", "64M", "--pids", "30"},
                              sh(script)})));
  auto m = key_values(r.out);
  EXPECT_EQ(m["raised"], "max") << "control: the mount and the write work" << r;
  EXPECT_EQ(m["ls"], "0") << "the cgroup holding the limits is visible" << r;
  EXPECT_LT(std::stoi(m["forked"].empty() ? "99" : m["forked"]), 30) << r;
  EXPECT_FALSE(contains(r.out, "survived")) << r;
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r;
}

// Root keeping capabilities in the initial user namespace leaves any cgroup. Controls
// (--limits best-effort, which warns and runs): with every capability (bwrap's default for
// root) it joins the host's cgroup namespace through /proc/PID/ns/cgroup and mounts the
// hierarchy; with all but CAP_SYS_ADMIN it walks into a host process's root
// (/proc/PID/root/sys/fs/cgroup, CAP_SYS_PTRACE). Either way it moves itself into another
// cgroup and its allocation survives. Required limits refuse to start such a command.
TEST_F(SandboxTest, RootWithCapabilitiesIsRefusedLimits) {
  REQUIRE_V1("memory");
  OwnCgroups own;
  ASSERT_FALSE(own.memory().empty());
  HostSleep host_root_process(0, 0);
  const std::string escape = R"PY(
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if sys.argv[2] == 'setns':
    fd = os.open('/proc/%s/ns/cgroup' % sys.argv[3], os.O_RDONLY)
    print('setns=%d' % libc.setns(fd, 0x02000000))
    os.makedirs('/tmp/m', exist_ok=True)
    print('mount=%d' % libc.mount(b'none', b'/tmp/m', b'cgroup', 0, b'memory'))
    target = '/tmp/m/' + sys.argv[1] + '/cgroup.procs'
else:
    target = '/proc/%s/root%s/cgroup.procs' % (sys.argv[2], sys.argv[3])
with open(target, 'w') as f: f.write(str(os.getpid()))
x = b'x' * (256 << 20)
print('survived', flush=True)
)PY";
  const Args common = {"--proc", "/proc", "--tmpfs", "/tmp", "--memory", "64M"};
  struct Variant {
    Args caps;
    Args argv;
  };
  const std::string host_pid = std::to_string(host_root_process.pid());
  for (const Variant& v : {Variant{{}, {own.name(), "setns", host_pid}},
                           Variant{{"--cap-drop", "CAP_SYS_ADMIN"},
                                   {own.name(), host_pid, own.memory()}}}) {
    SCOPED_TRACE(::testing::PrintToString(v.caps));
    auto control = run(with_root(cat({common, v.caps, {"--limits", "best-effort"}, py(escape, v.argv)})));
    EXPECT_TRUE(contains(control.err, "runs as root in the initial user namespace with capabilities")) << control;
    EXPECT_TRUE(contains(control.out, "survived")) << "control: the escape works" << control;

    auto r = run(with_root(cat({common, v.caps, py(escape, v.argv)})));
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_EQ(r.out, "") << "the command ran" << r;
    EXPECT_TRUE(contains(r.err, "--memory 64M can't be enforced: the command runs as root")) << r;
    EXPECT_TRUE(contains(r.err, "--cap-drop ALL")) << r;
  }
  auto t = run(with_root({"--unshare-pid", "--timeout", "5s", "--", "true"}));
  EXPECT_EQ(t.exit_code, 1) << t;
  EXPECT_TRUE(contains(t.err, "--timeout 5s can't be enforced")) << t;
}

// Root without any capability is still uid 0: through the host's /proc it opens
// /proc/PID/root of another capability-less root process (here another sandbox, without
// limits, on a writable bind of /) and finds a writable cgroup filesystem there, moves itself
// into another cgroup and leaves its limits. Control: --limits best-effort (which warns) lets
// the escape happen. Required limits refuse every way to that procfs: no PID namespace (also
// with --proc, which would then be the host's), a bind of /, of /proc, of something in it.
// With a PID namespace and a procfs of its own the victim is not there to walk into.
TEST_F(SandboxTest, HostProcfsWalkIsRefused) {
  REQUIRE_V1("memory");
  OwnCgroups own;
  ASSERT_FALSE(own.memory().empty());
  std::string tok = sleep_token();
  auto victim = spawn(cat({{"--bind", "/", "/"}, kNoCaps, {"--", "sleep", tok}}));
  ASSERT_TRUE(eventually([&] { return !pids_running("sleep", tok).empty(); }, 10s)) << victim->wait(1s);
  const std::string vpid = std::to_string(pids_running("sleep", tok)[0]);
  const std::string escape = R"PY(
import os, sys
target = sys.argv[1] + '/' + sys.argv[2] + '/root' + sys.argv[3] + '/cgroup.procs'
try:
    with open(target, 'w') as f: f.write('0')
    print('move=ok', flush=True)
except OSError as e:
    print('move=' + e.strerror, flush=True)
x = b'x' * (256 << 20)
print('survived', flush=True)
)PY";
  struct Variant {
    Args opts;
    std::string procdir;  // where the host's procfs is inside
    std::string refusal;
  };
  for (const Variant& v : {
           Variant{with_root({"--proc", "/proc"}), "/proc", "--proc /proc without a PID namespace"},
           Variant{with_root({"--tmpfs", "/tmp"}), "/nonexistent", "without a PID namespace (--unshare-pid or --pidns)"},
           Variant{{"--ro-bind", "/", "/", "--unshare-pid"}, "/proc", "--ro-bind / / brings the host's procfs (/proc)"},
           Variant{with_root({"--unshare-pid", "--ro-bind", "/proc", "/hostproc"}), "/hostproc",
                   "--ro-bind /proc /hostproc brings the host's procfs (/proc)"},
           Variant{with_root({"--unshare-pid", "--proc", "/proc", "--ro-bind", "/proc/" + vpid, "/v"}), "/nonexistent",
                   "--ro-bind /proc/" + vpid + " /v brings the host's procfs (/proc)"}}) {
    SCOPED_TRACE(::testing::PrintToString(v.opts));
    const Args cmd = cat({v.opts, kNoCaps, {"--memory", "64M"}, py(escape, {v.procdir, vpid, own.memory()})});
    if (v.procdir != "/nonexistent") {
      auto control = run(cat({{"--limits", "best-effort"}, cmd}));
      EXPECT_TRUE(contains(control.err, "runs as root in the initial user namespace")) << control;
      EXPECT_EQ(key_values(control.out)["move"], "ok") << "control: the walk escapes" << control;
      EXPECT_TRUE(contains(control.out, "survived")) << "control: the limit is left" << control;
      for (pid_t p : own.pids(own.memory())) ::kill(p, SIGKILL);
    }
    auto r = run(cmd);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_EQ(r.out, "") << "the command ran" << r;
    EXPECT_TRUE(contains(r.err, invoked_name() + ": --memory 64M can't be enforced: the command runs as "
                                "root in the initial user namespace, and " + v.refusal)) << r;
    EXPECT_TRUE(contains(r.err, "Add --unshare-pid")) << r;
  }
  // In a PID namespace with a procfs of its own (here over the host's, which came with /)
  // the victim is out of sight: accepted, and the limit holds.
  auto ok = run(cat({{"--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc"}, kNoCaps,
                     {"--memory", "64M"}, py(escape, {"/proc", vpid, own.memory()})}));
  EXPECT_NE(key_values(ok.out)["move"], "ok") << ok;
  EXPECT_FALSE(contains(ok.out, "survived")) << ok;
  EXPECT_EQ(ok.exit_code, 128 + SIGKILL) << ok;
  EXPECT_TRUE(own.pids(own.memory()).empty());
  kill_with_token(tok);
  victim->wait(5s);
}

// --timeout against a command that kills what enforces it. Control: without a PID
// namespace (--limits best-effort, which warns) the command kills its supervisor and runs
// on past the deadline. Required, that is refused; with --unshare-pid the supervisor is
// out of reach (kill -9 of its parent hits the namespace's init, and a pidfd taken from the
// host's /proc bound inside cannot signal a process outside the namespace), and the
// deadline holds.
class TimeoutEscapeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, TimeoutEscapeTest, ::testing::Bool(), mode_name);

TEST_P(TimeoutEscapeTest, CommandCannotKillTheDeadline) {
  TempDir out(0777);
  std::string tok = sleep_token();
  const std::string attack = R"PY(
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
killed = []
for p in os.listdir('/hostproc'):
    if not p.isdigit() or int(p) == os.getpid(): continue
    try:
        cmd = open('/hostproc/%s/cmdline' % p, 'rb').read()
    except OSError:
        continue
    if os.path.basename(cmd.split(b'\0')[0]).startswith(b'python'): continue  # this script
    if sys.argv[2].encode() in cmd and b'--timeout' in cmd:
        fd = os.open('/hostproc/' + p, os.O_RDONLY | os.O_DIRECTORY)
        r = libc.syscall(424, fd, 9, None, 0)  # pidfd_send_signal
        killed.append('%s:%s' % (p, 'ok' if r == 0 else os.strerror(ctypes.get_errno())))
try:
    os.kill(os.getppid(), 9)
except OSError:
    pass
print('tried=' + ','.join(killed), flush=True)
time.sleep(3)
open(sys.argv[1] + '/survived', 'w').write('yes')
)PY";
  const Args base = cat({as_root() ? kNoCaps : Args{},
                         {"--bind", "/proc", "/hostproc", "--bind", out.path(), "/out", "--timeout", "1s"}});
  const Args cmd = py(attack, {"/out", tok});

  auto control = run(with_root(cat({base, {"--limits", "best-effort"}, cmd})), opts());
  EXPECT_TRUE(contains(control.err, "--timeout 1s can't be enforced without --unshare-pid")) << control;
  EXPECT_TRUE(eventually([&] { return exists(out / "survived"); }, 5s))
      << "control: the command outlives its killed supervisor" << control;
  ::unlink((out / "survived").c_str());

  auto refused = run(with_root(cat({base, cmd})), opts());
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_EQ(refused.out, "") << refused;

  // As root the host's /proc bound in is refused with --timeout too (HostProcfsWalkIsRefused);
  // best-effort runs it, to show the deadline holds in the PID namespace even then.
  if (as_root()) {
    auto r = run(with_root(cat({base, {"--unshare-pid"}, cmd})), opts());
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_TRUE(contains(r.err, "--bind /proc /hostproc brings the host's procfs")) << r;
  }
  auto p = spawn(with_root(cat({base, {"--unshare-pid"},
                                as_root() ? Args{"--limits", "best-effort"} : Args{}, cmd})),
                 opts());
  pid_t supervisor = p->pid();
  auto r = p->wait(10s);
  EXPECT_EQ(r.exit_code, 124) << r;
  EXPECT_TRUE(contains(r.err, "killed: timed out after 1s")) << r;
  // (The sandbox's init is reachable, and ignores SIGKILL from inside its namespace.)
  const std::string tried = "," + key_values(r.out)["tried"];
  EXPECT_TRUE(contains(tried, "," + std::to_string(supervisor) + ":")) << "the attack found its supervisor" << r;
  EXPECT_FALSE(contains(tried, "," + std::to_string(supervisor) + ":ok")) << r;
  std::this_thread::sleep_for(3s);
  EXPECT_FALSE(exists(out / "survived")) << "the command ran past --timeout" << r;
}

}  // namespace
}  // namespace it
