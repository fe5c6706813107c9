// Podman (Debian's podman 4.x) driving sandbox-runc as its OCI runtime (`podman --runtime
// PATH`), as root and rootless, with an image imported from a busybox-static root file
// system (no registry): run / exit codes / stop / kill / rm / exec / run -it and exec -it
// on a terminal of the test's own / a seccomp profile / memory and pids limits.
//
// Nothing of the host's Podman is used or changed: storage (--root), run root, tmpdir
// (locks as files there, events as a file there), containers.conf and storage.conf are the
// test's own, in its temporary directory. Rootless runs as nobody (65534: Podman looks the
// subordinate ids up by user name, and the harness's uid 23456 has none) with a temporary
// HOME and XDG_RUNTIME_DIR, and its subordinate ids come from a file bound over /etc/subuid
// and /etc/subgid in a private mount namespace of the podman process (the host's files
// stay as they are). Networking: Podman's default, a bridge (CNI or netavark) as root, in a
// network namespace of the test's own; slirp4netns rootless.
#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <pwd.h>
#include <sched.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>

#include "harness.hpp"

namespace it {
namespace {

const char kPodman[] = "/usr/bin/podman";
const char kBusybox[] = "/bin/busybox";
const char kImage[] = "localhost/sandbox-test-busybox";
constexpr uid_t kRootlessUid = 65534;  // nobody
constexpr gid_t kRootlessGid = 65534;

// Whether this process has capability `cap` in its effective set (/proc/self/status).
bool has_effective_cap(int cap) {
  for (const std::string& line : lines(read_file("/proc/self/status")))
    if (line.rfind("CapEff:", 0) == 0) return (std::stoull(trim(line.substr(7)), nullptr, 16) >> cap) & 1;
  return false;
}

class Podman : public ModeTest {
 protected:
  void SetUp() override {
    // Rootless needs root here to give nobody a private subordinate id range.
    IT_REQUIRE_ROOT();
    // This test process (one per test under ctest) and everything it starts get a private
    // mount namespace: root Podman mounts each container's /dev/shm on the host side, which
    // other tests running at the same time would see. Whatever Podman leaves mounted there
    // at the end still fails the mount check of SandboxTest.
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0) << std::strerror(errno);
    // And a private network namespace: root Podman's default bridge network makes a bridge
    // (cni-podman0 / podman0) and firewall rules in the network namespace it runs in, which
    // then outlive the test; here they go with the test's namespace. (Its bind mount of
    // /run/netns on itself stays in the test's mount namespace, see TearDown.)
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    netns_mounted_before_ = run_netns_mounted();
    ModeTest::SetUp();
    if (IsSkipped()) return;
    IT_REQUIRE_FILE(kPodman);
    if (::access(kBusybox, X_OK) != 0 || !contains(read_file(kBusybox).substr(0, 4096), "\x7f" "ELF"))
      GTEST_SKIP() << kBusybox << " is missing (Debian's busybox-static)";
    if (!as_root()) {
      const passwd* pw = ::getpwuid(kRootlessUid);
      if (!pw) {
        if (in_ci()) FAIL() << "no user with uid 65534 (nobody) for rootless Podman";
        GTEST_SKIP() << "no user with uid 65534 (nobody): rootless Podman finds subordinate ids by name";
      }
      user_ = pw->pw_name;
    }
    layout();
    // Control: this podman runs at all, as this user, with this configuration.
    RunResult v = podman({"version", "--format", "{{.Client.Version}}"});
    ASSERT_EQ(v.exit_code, 0) << v;
    // The image: a busybox-static root file system, imported from a tarball.
    const std::string rootfs = dir_ / "rootfs";
    for (const char* d : {"", "/bin", "/tmp"}) ::mkdir((rootfs + d).c_str(), 0755);
    write_file(rootfs + "/bin/busybox", read_file(kBusybox), 0755);
    write_file(rootfs + "/bin/plain", "#!/bin/sh\necho ran\n", 0644);  // not executable
    for (const char* c : {"sh", "echo", "sleep", "cat", "id", "mkdir", "seq", "head", "tr", "true", "tty", "stty", "grep", "stat", "touch", "cut"})
      ::symlink("busybox", (rootfs + "/bin/" + c).c_str());
    RunOpts tar;
    tar.exe = "/usr/bin/tar";
    RunResult t = run({"-C", rootfs, "-cf", dir_ / "busybox.tar", "."}, tar);
    ASSERT_EQ(t.exit_code, 0) << t;
    ASSERT_EQ(::chmod((dir_ / "busybox.tar").c_str(), 0644), 0);
    RunResult imp = podman({"import", dir_ / "busybox.tar", kImage});
    ASSERT_EQ(imp.exit_code, 0) << imp;
  }

  void TearDown() override {
    if (ready_) {
      // Whatever a failed test left: containers (with their conmon), then rootless Podman's
      // pause process that holds its user namespace.
      RunResult r = podman({"rm", "--all", "--force", "--time", "0"});
      EXPECT_EQ(r.exit_code, 0) << r;
      // (Podman 4.3 writes its pid in --tmpdir; later ones under $XDG_RUNTIME_DIR/libpod.)
      for (const std::string& pause : {dir_ / "tmp/pause.pid", run_dir_ + "/libpod/tmp/pause.pid"}) {
        if (as_root() || !exists(pause)) continue;
        pid_t pid = std::stoi(read_file(pause));
        EXPECT_GT(pid, 1);
        if (pid > 1 && contains(read_file("/proc/" + std::to_string(pid) + "/environ"), run_dir_)) {
          EXPECT_EQ(::kill(pid, SIGKILL), 0) << pause;
        }
      }
      // Nothing of this test's Podman left running (conmon names the test's storage).
      EXPECT_TRUE(eventually([&] { return pids_with_token(dir_.path()).empty(); }, 5s));
      // Root Podman binds /run/netns on itself (shared, for the network namespaces it
      // mounts there) and leaves it: in this test's private mount namespace, so off it goes.
      if (!netns_mounted_before_ && run_netns_mounted()) {
        EXPECT_EQ(::umount2("/run/netns", MNT_DETACH), 0) << std::strerror(errno);
      }
    }
    ModeTest::TearDown();
  }

  // The test's own Podman world in dir_.
  void layout() {
    home_ = dir_ / "home";
    run_dir_ = home_ + "/run";
    ::mkdir(home_.c_str(), 0755);
    ::mkdir(run_dir_.c_str(), 0700);
    ::mkdir((dir_ / "dev").c_str(), 0755);  // private_mounts' tmpfs (rootless)
    if (!as_root()) {
      ASSERT_EQ(::chown(home_.c_str(), kRootlessUid, kRootlessGid), 0);
      ASSERT_EQ(::chown(run_dir_.c_str(), kRootlessUid, kRootlessGid), 0);
    }
    // File locks in the tmpdir: the default shared-memory lock table (/dev/shm/libpod_lock)
    // is one per host and user, shared with any other Podman running.
    // CONTAINERS_CONF replaces the system's containers.conf rather than adding to it, and
    // Podman 4.3's compiled-in default capabilities still have MKNOD, which the packaged
    // /usr/share/containers/containers.conf (what a user's Podman reads) leaves out: that
    // file's list, which the runtime accepts with cgroup limits for root (see MemoryAndPidsLimits).
    write_file(dir_ / "containers.conf",
               "[containers]\ndefault_capabilities = [\"CHOWN\", \"DAC_OVERRIDE\", \"FOWNER\", "
               "\"FSETID\", \"KILL\", \"NET_BIND_SERVICE\", \"SETFCAP\", \"SETGID\", \"SETPCAP\", "
               "\"SETUID\", \"SYS_CHROOT\"]\n"
               "[engine]\nlock_type = \"file\"\n");
    write_file(dir_ / "storage.conf", "[storage]\ndriver = \"vfs\"\nrunroot = \"" + (dir_ / "runroot") +
                                          "\"\ngraphroot = \"" + (dir_ / "storage") + "\"\n");
    write_file(dir_ / "subid", user_ + ":200000:65536\n");
    ASSERT_EQ(::symlink(sandbox_path().c_str(), (bin_ / "sandbox-runc").c_str()), 0);
    // The runtime's state directory: its default, /run/sandbox-oci as root,
    // $XDG_RUNTIME_DIR/sandbox-oci rootless.
    rt_root_ = as_root() ? "/run/sandbox-oci" : run_dir_ + "/sandbox-oci";
    ready_ = true;
  }

  static bool run_netns_mounted() {
    for (const auto& m : host_mounts())
      if (m.rfind("/run/netns ", 0) == 0) return true;
    return false;
  }

  Args global() const {
    return {"--root", dir_ / "storage", "--runroot", dir_ / "runroot", "--tmpdir", dir_ / "tmp",
            "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--storage-driver", "vfs",
            "--runtime", bin_ / "sandbox-runc"};
  }

  RunOpts popts() const {
    RunOpts o;
    o.exe = kPodman;
    o.timeout = 60s;
    o.env = {"HOME=" + home_, "CONTAINERS_CONF=" + (dir_ / "containers.conf"),
             "CONTAINERS_STORAGE_CONF=" + (dir_ / "storage.conf"),
             "XDG_CONFIG_HOME=" + home_ + "/.config", "XDG_DATA_HOME=" + home_ + "/.local/share"};
    if (!as_root()) {
      o.env.push_back("XDG_RUNTIME_DIR=" + run_dir_);
      const std::string subid = dir_ / "subid";
      // slirp4netns (Podman's rootless default network) opens /dev/net/tun as nobody: where
      // the host's is not 0666 (here it is 0600), a 0666 node of the test's own over it.
      o.in_child = [mounts = private_mounts(dir_ / "dev", !host_tun_usable_by_others(), ""),
                    binds = bind_files_over({{subid, "/etc/subuid"}, {subid, "/etc/subgid"}})] {
        // nobody's subordinate ids, for this process only: a private mount namespace with
        // the test's file over /etc/subuid and /etc/subgid; then nobody, without groups.
        if (!mounts() || !binds()) return false;
        return ::setgroups(0, nullptr) == 0 &&
               ::setresgid(kRootlessGid, kRootlessGid, kRootlessGid) == 0 &&
               ::setresuid(kRootlessUid, kRootlessUid, kRootlessUid) == 0;
      };
    }
    return o;
  }

  RunResult podman(const Args& args) { return run(cat({global(), args}), popts()); }
  std::unique_ptr<Proc> podman_spawn(const Args& args) { return spawn(cat({global(), args}), popts()); }

  // `podman run` FLAGS IMAGE CMD.
  Args run_args(const Args& flags, const Args& cmd) const {
    Args a = {"run"};
    // Root Podman asks for RLIMIT_NOFILE and RLIMIT_NPROC 1048576 (soft and hard), above
    // the hard limits Podman runs the runtime with here (20000 and 32768; `--ulimit host`
    // still asks for nofile 1048576). Without CAP_SYS_RESOURCE (here: root lacks it in
    // CapEff) the runtime cannot raise them and refuses, as runc would fail setrlimit:
    // then explicit limits below those.
    if (as_root() && !has_effective_cap(CAP_SYS_RESOURCE)) {
      for (const char* u : {"nofile=1024:1024", "nproc=1024:1024"}) {
        a.push_back("--ulimit");
        a.push_back(u);
      }
    }
    a.insert(a.end(), flags.begin(), flags.end());
    a.push_back(kImage);
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  }

  // What `podman ARGS` wrote on a terminal of the test's own (a pty of rows x cols, its
  // controlling terminal and stdin/stdout/stderr), after the test typed `input` there once
  // `ready` showed; its exit code; whether the terminal was in canonical mode with echo
  // (not left raw) afterwards.
  struct PtyResult {
    int exit_code = -1;
    std::string out;
    bool cooked_after = false;
  };
  PtyResult podman_on_pty(const Args& args, unsigned short rows, unsigned short cols,
                          const std::string& ready, const std::string& input) {
    PtyResult r;
    int master = -1, slave = -1;
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = cols;
    if (::openpty(&master, &slave, nullptr, nullptr, &ws) != 0) {
      ADD_FAILURE() << "openpty: " << std::strerror(errno);
      return r;
    }
    const RunOpts o = popts();
    std::vector<std::string> argv_s = {"podman"};
    for (const std::string& a : cat({global(), args})) argv_s.push_back(a);
    std::vector<std::string> env_s = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                      "LC_ALL=C", "TERM=xterm"};
    env_s.insert(env_s.end(), o.env.begin(), o.env.end());
    std::vector<char*> argv, envp;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      ::ioctl(slave, TIOCSCTTY, 0);
      for (int fd = 0; fd <= 2; ++fd) ::dup2(slave, fd);
      ::close(master);
      if (slave > 2) ::close(slave);
      if (o.in_child && !o.in_child()) ::_exit(126);
      ::execve(kPodman, argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(slave);
    if (pid < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      ::close(master);
      return r;
    }
    r.out = read_until(master, [&](const std::string& out) { return contains(out, ready); });
    if (contains(r.out, ready)) io_write(master, input);
    // Until the last descriptor of the terminal's other side is closed (EIO), or 20 s.
    r.out += read_until(master, [](const std::string&) { return false; });
    int st = 0;
    if (!eventually([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, 20s)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      ADD_FAILURE() << "podman still running on its terminal: " << r.out;
    }
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    termios t{};
    r.cooked_after = ::tcgetattr(master, &t) == 0 && (t.c_lflag & (ICANON | ECHO)) == (ICANON | ECHO);
    ::close(master);
    return r;
  }

  std::string inspect(const std::string& id, const std::string& format) {
    RunResult r = podman({"inspect", "--format", format, id});
    EXPECT_EQ(r.exit_code, 0) << r;
    return trim(r.out);
  }
  bool running(const std::string& name) {
    RunResult r = podman({"inspect", "--format", "{{.State.Running}}", name});
    return r.exit_code == 0 && trim(r.out) == "true";
  }
  std::string state_dir(const std::string& id) const { return rt_root_ + "/" + id; }

  TempDir dir_;
  TempDir bin_{0755};
  std::string home_, run_dir_, rt_root_, user_;
  bool ready_ = false;
  bool netns_mounted_before_ = false;
};

TEST_P(Podman, RunRemoveEchoHi) {
  RunResult r = podman(run_args({"--rm"}, {"echo", "hi"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "hi\n") << r;
  // --rm: nothing left in Podman, nor in the runtime's state.
  RunResult ps = podman({"ps", "--all", "--quiet"});
  EXPECT_EQ(ps.exit_code, 0) << ps;
  EXPECT_EQ(trim(ps.out), "") << ps;
  const std::string cidfile = dir_ / "cid";
  RunResult cid = podman(run_args({"--rm", "--cidfile", cidfile}, {"true"}));
  ASSERT_EQ(cid.exit_code, 0) << cid;
  const std::string id = trim(read_file(cidfile));
  ASSERT_EQ(id.size(), 64u) << id;
  // The runtime kept its state in its default --root (Podman passes none, neither to the
  // runtime nor to the cleanup process it runs when the container exits), and Podman's
  // cleanup deleted it there.
  EXPECT_TRUE(exists(rt_root_)) << "the runtime's default state directory is not " << rt_root_;
  EXPECT_TRUE(eventually([&] { return !exists(state_dir(id)); }, 5s)) << state_dir(id);
  // Podman's default network, joined by the runtime from the namespace Podman made: an
  // interface besides lo (eth0 on the bridge as root, slirp4netns's tap0 rootless).
  RunResult net = podman(run_args({"--rm"}, {"cat", "/proc/net/dev"}));
  ASSERT_EQ(net.exit_code, 0) << net;
  EXPECT_TRUE(contains(net.out, as_root() ? "eth0:" : "tap0:")) << net;
  // The container ran in a user namespace rootless (Podman's), as uid 0 there.
  RunResult ids = podman(run_args({"--rm"}, {"sh", "-c", "id -u; cat /proc/self/uid_map"}));
  ASSERT_EQ(ids.exit_code, 0) << ids;
  auto w = words(ids.out);
  ASSERT_GE(w.size(), 4u) << ids;
  EXPECT_EQ(w[0], "0");
  if (as_root()) {
    EXPECT_EQ(ids.out, "0\n         0          0 4294967295\n") << ids;  // no user namespace
  } else {
    // Podman's user namespace: nobody as 0, the test's subordinate range above.
    ASSERT_EQ(w.size(), 7u) << ids;
    EXPECT_EQ(w[1] + " " + w[2] + " " + w[3], "0 65534 1") << ids;
    EXPECT_EQ(w[4] + " " + w[5] + " " + w[6], "1 200000 65536") << ids;
  }
}

// A user other than root (--user, or an image's USER): Podman gives its default capabilities
// as the bounding set and holds none. The command runs as that user and group with no
// capability; a file it makes is that user's.
TEST_P(Podman, RunsAsAnotherUser) {
  RunResult r = podman(run_args({"--rm", "--user", "1000:1000"},
                                {"sh", "-c", "id; grep -E '^Cap(Prm|Eff|Amb)' /proc/self/status; "
                                             "touch /dev/shm/f; stat -c %u:%g /dev/shm/f"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "uid=1000 gid=1000 groups=1000\nCapPrm:\t0000000000000000\n"
                   "CapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n1000:1000\n")
      << r;
  // Control: as root in the container it holds Podman's default set.
  RunResult root = podman(run_args({"--rm"}, {"grep", "^CapEff", "/proc/self/status"}));
  ASSERT_EQ(root.exit_code, 0) << root;
  EXPECT_NE(root.out, "CapEff:\t0000000000000000\n") << root;
  // stop reaches it: the container's pid 1 is the command itself (no init of sandbox's in
  // an OCI container), with the user's ids and no capability, and SIGTERM gets to it.
  const std::string token = sleep_token();
  RunResult d = podman(run_args({"--detach", "--user", "1000:1000"},
                                {"sh", "-c", "trap 'exit 3' TERM; sleep " + token + " & wait"}));
  ASSERT_EQ(d.exit_code, 0) << d;
  const std::string id = trim(d.out);
  EXPECT_TRUE(eventually([&] { return !pids_with_token(token).empty(); }));
  RunResult status = podman({"exec", id, "sh", "-c", "grep -E '^(Uid|CapEff)' /proc/1/status"});
  EXPECT_EQ(status.out, "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000000000\n") << status;
  auto start = std::chrono::steady_clock::now();
  RunResult stop = podman({"stop", "--time", "30", id});
  EXPECT_EQ(stop.exit_code, 0) << stop;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  EXPECT_EQ(inspect(id, "{{.State.Running}} {{.State.ExitCode}}"), "false 3");
  EXPECT_EQ(podman({"rm", id}).exit_code, 0);
}

// Rootless --userns=keep-id: the container's own user namespace (several ranges, written
// by this runtime, uid 0 of Podman's namespace, with CAP_SETUID/CAP_SETGID there), in which
// the caller is itself. With --network none: with a network, Podman would configure the
// namespace the runtime makes through the supervisor's pid (README: not supported yet).
TEST_P(Podman, RootlessKeepId) {
  if (as_root()) GTEST_SKIP() << "keep-id is Podman's rootless mode only";
  RunResult r = podman(run_args({"--rm", "--network", "none", "--userns=keep-id"},
                                {"sh", "-c", "id -u; id -g; cat /proc/self/uid_map"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  auto w = words(r.out);
  ASSERT_EQ(w.size(), 11u) << r;
  EXPECT_EQ(w[0], std::to_string(kRootlessUid)) << r;  // the caller, as itself
  EXPECT_EQ(w[1], std::to_string(kRootlessGid)) << r;
  // Seen from the container, Podman's namespace: the caller (0 there) is kRootlessUid here.
  EXPECT_EQ(w[5] + " " + w[6] + " " + w[7], std::to_string(kRootlessUid) + " 0 1") << r;
}

// --read-only: the image's root is read-only, while Podman's tmpfs mounts on /tmp, /var/tmp
// and /run (tmpcopyup: the image's /tmp content in them) are writable; --tmpfs adds one.
TEST_P(Podman, ReadOnlyRootAndTmpfs) {
  RunResult r = podman(run_args({"--rm", "--read-only", "--tmpfs", "/scratch:size=1m"},
                                {"sh", "-c", "touch /rootfile; echo root=$?; touch /tmp/t && echo tmp=ok; "
                                             "touch /scratch/s && echo scratch=ok; "
                                             "grep -E ' /(scratch|tmp) ' /proc/mounts | cut -d' ' -f2,3"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(line_set(r.out), (std::set<std::string>{"root=1", "tmp=ok", "scratch=ok", "/tmp tmpfs",
                                                      "/scratch tmpfs"}))
      << r;
  EXPECT_EQ(lines(r.out).size(), 5u) << r;
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
  // Control: without --read-only the root is writable.
  RunResult rw = podman(run_args({"--rm"}, {"sh", "-c", "touch /rootfile && echo root=ok"}));
  EXPECT_EQ(rw.out, "root=ok\n") << rw;
}

TEST_P(Podman, ExitCodesPassThrough) {
  RunResult ok = podman(run_args({"--rm"}, {"sh", "-c", "exit 0"}));
  EXPECT_EQ(ok.exit_code, 0) << ok;
  RunResult seven = podman(run_args({"--rm"}, {"sh", "-c", "exit 7"}));
  EXPECT_EQ(seven.exit_code, 7) << seven;
  // A command that is not there, or not executable: 127 and 126 as with runc (the runtime
  // fails `create`, and Podman reads its error).
  RunResult missing = podman(run_args({"--rm"}, {"/no/such/command"}));
  EXPECT_EQ(missing.exit_code, 127) << missing;
  RunResult noexec = podman(run_args({"--rm"}, {"/bin/plain"}));
  EXPECT_EQ(noexec.exit_code, 126) << noexec;
  // Killed by SIGKILL: 128 + 9 from `podman run` itself and from `podman wait`.
  const std::string name = "killed-" + unique_suffix();
  auto fg = podman_spawn(run_args({"--rm", "--name", name}, {"sleep", "1000"}));
  ASSERT_TRUE(eventually([&] { return running(name); }, 20s)) << fg->err_so_far();
  RunResult k = podman({"kill", "--signal", "KILL", name});
  EXPECT_EQ(k.exit_code, 0) << k;
  RunResult f = fg->wait(30s);
  EXPECT_EQ(f.exit_code, 137) << f;
  RunResult d = podman(run_args({"--detach"}, {"sleep", "1000"}));
  ASSERT_EQ(d.exit_code, 0) << d;
  const std::string id = trim(d.out);
  ASSERT_EQ(podman({"kill", "--signal", "KILL", id}).exit_code, 0);
  RunResult wait = podman({"wait", id});
  EXPECT_EQ(wait.exit_code, 0) << wait;
  EXPECT_EQ(trim(wait.out), "137") << wait;
  EXPECT_EQ(inspect(id, "{{.State.ExitCode}}"), "137");
}

TEST_P(Podman, DetachedStopKillRemove) {
  const std::string token = sleep_token();
  RunResult d = podman(run_args({"--detach"}, {"sh", "-c", "trap 'exit 3' TERM; sleep " + token + " & wait"}));
  ASSERT_EQ(d.exit_code, 0) << d;
  const std::string id = trim(d.out);
  EXPECT_EQ(inspect(id, "{{.State.Running}} {{.OCIRuntime}}"), "true " + (bin_ / "sandbox-runc"));
  EXPECT_TRUE(exists(state_dir(id) + "/state.json")) << state_dir(id);
  EXPECT_TRUE(eventually([&] { return !pids_with_token(token).empty(); }));
  // stop: SIGTERM, which the container's handler answers well before the 30 s timeout
  // after which Podman would SIGKILL.
  auto start = std::chrono::steady_clock::now();
  RunResult stop = podman({"stop", "--time", "30", id});
  EXPECT_EQ(stop.exit_code, 0) << stop;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  EXPECT_EQ(inspect(id, "{{.State.Running}} {{.State.ExitCode}}"), "false 3");
  EXPECT_TRUE(eventually([&] { return pids_with_token(token).empty(); }));
  // rm: gone from Podman and from the runtime's state.
  RunResult rm = podman({"rm", id});
  EXPECT_EQ(rm.exit_code, 0) << rm;
  EXPECT_FALSE(contains(podman({"ps", "--all", "--no-trunc", "--quiet"}).out, id));
  EXPECT_TRUE(eventually([&] { return !exists(state_dir(id)); }, 5s)) << state_dir(id);

  // kill (SIGKILL by default), then rm.
  const std::string token2 = sleep_token();
  RunResult d2 = podman(run_args({"--detach"}, {"sleep", token2}));
  ASSERT_EQ(d2.exit_code, 0) << d2;
  const std::string id2 = trim(d2.out);
  EXPECT_TRUE(eventually([&] { return !pids_with_token(token2).empty(); }));
  RunResult kill = podman({"kill", id2});
  EXPECT_EQ(kill.exit_code, 0) << kill;
  EXPECT_EQ(trim(podman({"wait", id2}).out), "137");
  EXPECT_TRUE(eventually([&] { return pids_with_token(token2).empty(); }));
  RunResult rm2 = podman({"rm", id2});
  EXPECT_EQ(rm2.exit_code, 0) << rm2;
  EXPECT_TRUE(eventually([&] { return !exists(state_dir(id2)); }, 5s)) << state_dir(id2);
}

TEST_P(Podman, SeccompProfileFromSecurityOpt) {
  const std::string profile = dir_ / "deny-mkdir.json";
  write_file(profile, R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]})");
  const Args cmd = {"sh", "-c", "mkdir /made && echo made"};
  // Control: with Podman's default profile the directory is made.
  RunResult control = podman(run_args({"--rm"}, cmd));
  ASSERT_EQ(control.exit_code, 0) << control;
  ASSERT_EQ(control.out, "made\n") << control;
  RunResult denied = podman(run_args({"--rm", "--security-opt", "seccomp=" + profile}, cmd));
  EXPECT_EQ(denied.exit_code, 1) << denied;
  EXPECT_EQ(denied.out, "") << denied;
  EXPECT_TRUE(contains(denied.err, "Operation not permitted")) << denied;
}

TEST_P(Podman, MemoryAndPidsLimits) {
  // 64 MB in a shell variable; 30 processes.
  const Args eat = {"sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo kept ${#x}"};
  const Args fork = {"sh", "-c", "for i in $(seq 30); do sleep 2 & done; echo forked"};
  const Args limits = {"--memory", "16m", "--pids-limit", "20"};
  if (as_root()) {
    // A root container with a capability beyond Podman's default set (SYS_ADMIN: it could
    // mount a cgroup filesystem and leave its cgroup): the runtime refuses the limits it
    // could not enforce (fail closed), naming the capability, before the command runs.
    RunResult refused = podman(run_args(cat({{"--rm", "--cap-add", "SYS_ADMIN"}, limits}), {"echo", "ran"}));
    EXPECT_NE(refused.exit_code, 0) << refused;
    EXPECT_FALSE(contains(refused.out, "ran")) << refused;
    EXPECT_TRUE(contains(refused.err, "can't be enforced")) << refused;
    EXPECT_TRUE(contains(refused.err, "CAP_SYS_ADMIN")) << refused;
  } else {
    // Rootless where nothing is delegated (here: cgroup v1, "... ignored on cgroups V1
    // rootless systems"), Podman itself drops the limits with its own warning and runs the
    // command without them.
    RunResult r = podman(run_args(cat({{"--rm"}, limits}), {"echo", "ran"}));
    if (contains(r.err, "Resource limits are not supported and ignored on cgroups")) {
      EXPECT_EQ(r.exit_code, 0) << r;
      EXPECT_EQ(r.out, "ran\n") << r;
      return;
    }
  }
  // Where they reach the runtime (as root: Podman's default capabilities and its default
  // --pids-limit 2048): controls without them, then enforced.
  RunResult big = podman(run_args({"--rm"}, eat));
  ASSERT_EQ(big.exit_code, 0) << big;
  ASSERT_EQ(big.out, "kept 67108864\n") << big;
  RunResult oom = podman(run_args({"--rm", "--memory", "16m"}, eat));
  EXPECT_EQ(oom.exit_code, 137) << oom;
  EXPECT_EQ(oom.out, "") << oom;
  RunResult many = podman(run_args({"--rm"}, fork));
  ASSERT_EQ(many.exit_code, 0) << many;
  ASSERT_EQ(many.out, "forked\n") << many;
  ASSERT_FALSE(contains(many.err, "can't fork")) << many;
  RunResult few = podman(run_args({"--rm", "--pids-limit", "20"}, fork));
  EXPECT_TRUE(contains(few.err, "can't fork")) << few;
}

// What the terminal tests run: the terminal's name and size, a line the test types, exit 4.
// Its window size comes from Podman: config.json has no process.consoleSize, and Podman
// sends the size to conmon (which sets it on the master) while it starts the container,
// without waiting for it (as with runc). Until then the size is 0 0, which busybox's
// `stty size` refuses: the script waits up to 5 s for it, as a shell redraws on SIGWINCH.
const char kTtyScript[] =
    "echo \"T=$(tty)\"; i=0; until s=$(stty size 2>/dev/null) && [ -n \"$s\" ] && [ \"$s\" != \"0 0\" ]"
    " || [ $i -ge 50 ]; do sleep 0.1; i=$((i+1)); done; echo \"S=$s\"; echo R=ready; read x;"
    " echo \"G=got:$x\"; echo K=on-con\"sole\" > /dev/console; exit 4";

// A terminal's name inside: /dev/pts/N.
bool is_pts_name(const std::string& s) {
  return s.rfind("/dev/pts/", 0) == 0 && s.size() > 9 &&
         s.find_first_not_of("0123456789", 9) == std::string::npos;
}

TEST_P(Podman, ExecInRunningContainer) {
  const std::string token = sleep_token();
  const std::string host = "exec-" + unique_suffix();
  RunResult d = podman(run_args({"--detach", "--hostname", host},
                                {"sh", "-c", "echo inside > /tmp/made; exec sleep " + token}));
  ASSERT_EQ(d.exit_code, 0) << d;
  const std::string id = trim(d.out);
  // The container's process 1 is its command: `exec` sees it, so it is in the container's
  // PID namespace; and its hostname and the file its command made.
  RunResult seen;
  EXPECT_TRUE(eventually([&] {
    seen = podman({"exec", id, "sh", "-c",
                   "cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /proc/sys/kernel/hostname /tmp/made"});
    return seen.exit_code == 0 && contains(seen.out, "inside");
  })) << seen;
  EXPECT_EQ(seen.out, "sleep " + token + " \n" + host + "\ninside\n") << seen;
  // Its output, stdout and stderr apart, and its exit code.
  RunResult out = podman({"exec", id, "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(out.exit_code, 3) << out;
  EXPECT_EQ(out.out, "out\n") << out;
  EXPECT_TRUE(contains(out.err, "err\n")) << out;
  // Killed by a signal: 128 + 9.
  RunResult killed = podman({"exec", id, "sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(killed.exit_code, 137) << killed;
  // A command that is not there, or not executable: 127 and 126, as the shell (Podman's
  // reading of the runtime's error).
  RunResult missing = podman({"exec", id, "/no/such/command"});
  EXPECT_EQ(missing.exit_code, 127) << missing;
  RunResult noexec = podman({"exec", id, "/tmp/made"});
  EXPECT_EQ(noexec.exit_code, 126) << noexec;
  // The container runs on, its command untouched.
  EXPECT_TRUE(running(id));
  EXPECT_EQ(pids_with_token(token).size(), 1u);
  // Not its host's: the host's hostname is not the container's.
  char host_name[256] = {};
  ::gethostname(host_name, sizeof host_name - 1);
  EXPECT_NE(std::string(host_name), host);
}

TEST_P(Podman, RunInteractiveTerminal) {
  PtyResult r = podman_on_pty(run_args({"--rm", "-it"}, {"sh", "-c", kTtyScript}), 37, 91, "R=ready",
                              "typed line\r");
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_TRUE(is_pts_name(marked(r.out, "T"))) << r.out;
  EXPECT_EQ(marked(r.out, "S"), "37 91") << r.out;
  EXPECT_EQ(marked(r.out, "G"), "got:typed line") << r.out;
  // /dev/console is the container's terminal (as runc binds it): written there, it shows.
  EXPECT_EQ(marked(r.out, "K"), "on-console") << r.out;
  EXPECT_TRUE(r.cooked_after) << "podman left the terminal raw";
  // Control: with -i alone, no terminal inside, but stdin still reaches the command.
  RunOpts piped = popts();
  piped.stdin_data = "piped line\n";
  RunResult plain = run(cat({global(), run_args({"--rm", "-i"}, {"sh", "-c", "tty; read x; echo got:$x"})}), piped);
  EXPECT_EQ(plain.exit_code, 0) << plain;
  EXPECT_EQ(plain.out, "not a tty\ngot:piped line\n") << plain;
}

TEST_P(Podman, ExecInteractiveTerminal) {
  const std::string token = sleep_token();
  RunResult d = podman(run_args({"--detach"}, {"sleep", token}));
  ASSERT_EQ(d.exit_code, 0) << d;
  const std::string id = trim(d.out);
  PtyResult r = podman_on_pty({"exec", "-it", id, "sh", "-c", kTtyScript}, 29, 83, "R=ready", "exec line\r");
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_TRUE(is_pts_name(marked(r.out, "T"))) << r.out;
  EXPECT_EQ(marked(r.out, "S"), "29 83") << r.out;
  EXPECT_EQ(marked(r.out, "G"), "got:exec line") << r.out;
  // An exec'd process has its own terminal, and /dev/console stays the container's (the
  // container runs detached, without one: the write makes a file in its /dev).
  EXPECT_EQ(marked(r.out, "K"), "") << r.out;
  EXPECT_TRUE(r.cooked_after) << "podman left the terminal raw";
  EXPECT_TRUE(running(id));
}

std::string podman_mode(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "Root" : "Rootless";
}
INSTANTIATE_TEST_SUITE_P(Modes, Podman, ::testing::Bool(), podman_mode);

}  // namespace
}  // namespace it
