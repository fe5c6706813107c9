// The shipped profiles (profiles/*.profile) do what they promise, checked from inside and
// on the host afterwards, as the unprivileged uid and as root.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>

#include "harness.hpp"

namespace it {
namespace {

// A listening Unix socket at `path` for as long as the object lives.
class UnixListener {
 public:
  explicit UnixListener(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
          ::listen(fd_, 1) == 0 && ::chmod(path.c_str(), 0777) == 0;
  }
  ~UnixListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

const char* kIfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ,";

class ProfileTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, ProfileTest, ::testing::Bool(), mode_name);

// build: host /usr and /etc read-only, the current directory writable, a private /tmp,
// no network but lo, the default seccomp profile, a new session.
TEST_P(ProfileTest, BuildProfile) {
  TempDir work;
  std::string tmp_name = "build-profile-" + unique_suffix();
  RunOpts o = opts();
  o.cwd = work.path();
  auto r = run(cat({{"--profile", "build"},
                    sh("echo uid=$(id -u); echo cwd=$(pwd);"
                       "echo built > artifact && echo cwd_write=ok;"
                       "touch /usr/.build-probe 2>/dev/null && echo usr=rw || echo usr=ro;"
                       "touch /etc/.build-probe 2>/dev/null && echo etc=rw || echo etc=ro;"
                       "echo tmpfs=$(stat -f -c %T /tmp);"
                       "echo x > /tmp/" + tmp_name + " && echo tmp_write=ok;"
                       "echo ifaces=$(" + std::string(kIfaces) + ");"
                       "echo seccomp=$(grep '^Seccomp:' /proc/self/status | cut -f2);"
                       "read -r _ _ _ _ _ sid _ < /proc/self/stat; echo sid=$sid;"
                       "echo core=$(ulimit -c);"
                       "echo home_entries=$(ls -A / | tr '\\n' ,)")}),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["uid"], std::to_string(caller_uid())) << r;
  EXPECT_EQ(m["cwd"], work.path()) << r;
  EXPECT_EQ(m["cwd_write"], "ok") << r;
  EXPECT_EQ(read_file(work / "artifact"), "built\n");  // on the host afterwards
  EXPECT_EQ(m["usr"], "ro") << r;
  EXPECT_EQ(m["etc"], "ro") << r;
  EXPECT_FALSE(exists("/usr/.build-probe"));
  EXPECT_FALSE(exists("/etc/.build-probe"));
  EXPECT_EQ(m["tmpfs"], "tmpfs") << r;
  EXPECT_EQ(m["tmp_write"], "ok") << r;
  EXPECT_FALSE(exists("/tmp/" + tmp_name));  // private /tmp
  EXPECT_EQ(m["ifaces"], "lo,") << r;        // a network namespace with only loopback
  EXPECT_EQ(m["seccomp"], "2") << r;         // filtered
  EXPECT_EQ(m["core"], "0") << r;            // --rlimit core=0: no core dumps
  // New session, led by pid 1 of the sandbox's PID namespace: without --new-session the
  // session leader would be outside and show as 0.
  EXPECT_EQ(m["sid"], "1") << r;
}

// build: the default seccomp profile denies what it should (mounts, new namespaces).
TEST_P(ProfileTest, BuildProfileFiltersSyscalls) {
  IT_REQUIRE_FILE("/usr/bin/python3");
  TempDir work;
  RunOpts o = opts();
  o.cwd = work.path();
  auto r = run(cat({{"--profile", "build"},
                    {"--", "/usr/bin/python3", "-c",
                     "import ctypes, os\n"
                     "libc = ctypes.CDLL(None, use_errno=True)\n"
                     "print('unshare', libc.unshare(0x10000000), ctypes.get_errno())\n"}}),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(trim(r.out), "unshare -1 1") << r;  // EPERM from the filter
}

// build: --die-with-parent: when whatever started sandbox dies, the command dies too.
TEST_P(ProfileTest, BuildProfileDiesWithParent) {
  TempDir work;
  std::string tok = sleep_token();
  RunOpts o = opts();
  o.cwd = work.path();
  o.exe = "/bin/sh";
  o.argv0 = "sh";
  auto p = spawn({"-c", sandbox_path() + " --profile build -- sleep " + tok + " & wait"}, o);
  // The sleep itself, not sandbox (whose arguments hold the token too): only once the
  // command runs is the supervisor sure to be set up to die with its parent.
  ASSERT_TRUE(eventually([&] { return !pids_running("sleep", tok).empty(); }))
      << "never started";
  p->signal(SIGKILL);  // the shell that started sandbox
  EXPECT_TRUE(eventually([&] { return pids_with_token(tok).empty(); }))
      << "the command outlived its caller";
  kill_with_token(tok);
}

// minimal: nothing but /usr and the merged-/usr links, a new /proc, a minimal /dev, a
// private tmpfs on /tmp.
TEST_P(ProfileTest, MinimalProfile) {
  auto r = run(cat({{"--profile", "minimal"},
                    sh("echo root=$(ls -A / | sort | tr '\\n' ,);"
                       "for l in bin sbin lib lib64; do echo link_$l=$(readlink /$l); done;"
                       "echo proc=$(stat -f -c %T /proc); echo tmp=$(stat -f -c %T /tmp);"
                       "echo dev=$(ls /dev | sort | tr '\\n' ,);"
                       "[ -c /dev/null ] && echo null=char;"
                       "touch /tmp/x && echo tmp_write=ok;"
                       "touch /usr/.minimal-probe 2>/dev/null && echo usr=rw || echo usr=ro;"
                       "echo uid=$(id -u)")}),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["root"], "bin,dev,lib,lib64,proc,sbin,tmp,usr,") << r;
  EXPECT_EQ(m["link_bin"], "usr/bin") << r;
  EXPECT_EQ(m["link_sbin"], "usr/sbin") << r;
  EXPECT_EQ(m["link_lib"], "usr/lib") << r;
  EXPECT_EQ(m["link_lib64"], "usr/lib64") << r;
  EXPECT_EQ(m["proc"], "proc") << r;
  EXPECT_EQ(m["tmp"], "tmpfs") << r;
  EXPECT_EQ(m["null"], "char") << r;
  for (const char* d : {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm"})
    EXPECT_TRUE(contains("," + m["dev"], std::string(",") + d + ",")) << d << "\n" << r;
  EXPECT_EQ(m["tmp_write"], "ok") << r;
  EXPECT_EQ(m["usr"], "ro") << r;
  EXPECT_EQ(m["uid"], std::to_string(caller_uid())) << r;
}

// The desktop profile's network is --net user: pasta or slirp4netns must be installed and
// /dev/net/tun usable by the caller (given a private one where the host's is not).
#define REQUIRE_USER_NET(o, tun_dir)                                                          \
  do {                                                                                      \
    if (!exists("/usr/bin/pasta") && !exists("/usr/bin/slirp4netns"))                       \
      GTEST_SKIP() << "neither pasta nor slirp4netns is installed (the desktop profile's --net user)"; \
    if (!as_root()) (o).in_child = private_tun_for_unprivileged((tun_dir).path());           \
    if (!as_root() && !(o).in_child && !host_tun_usable_by_others())                        \
      GTEST_SKIP() << "/dev/net/tun is not usable by the unprivileged uid here";            \
  } while (0)

// desktop: a private home (empty, or the per-app directory when it exists), the display
// and sound sockets of XDG_RUNTIME_DIR, network through the user-mode stack (tap0), no
// D-Bus unless asked.
TEST_P(ProfileTest, DesktopProfile) {
  TempDir home, runtime, tun_dir(0755);
  ASSERT_EQ(::chown(runtime.path().c_str(), caller_uid(), caller_gid()), 0);
  ASSERT_EQ(::chmod(runtime.path().c_str(), 0700), 0);
  write_file(home / "secret", "host home file\n");
  UnixListener wayland(runtime / "wayland-0"), bus(runtime / "bus");
  ASSERT_TRUE(wayland.ok() && bus.ok());
  RunOpts o = opts();
  REQUIRE_USER_NET(o, tun_dir);
  o.env = {"HOME=" + home.path(), "XDG_RUNTIME_DIR=" + runtime.path()};
  std::string script =
      "echo home=$HOME; echo home_entries=$(ls -A $HOME | tr '\\n' ,);"
      "[ -S $XDG_RUNTIME_DIR/wayland-0 ] && echo wayland=yes || echo wayland=no;"
      "[ -S $XDG_RUNTIME_DIR/bus ] && echo bus=yes || echo bus=no;"
      "echo dbus_env=${DBUS_SESSION_BUS_ADDRESS:-unset};"
      "touch /etc/.desktop-probe 2>/dev/null && echo etc=rw || echo etc=ro;"
      "echo ifaces=$(" + std::string(kIfaces) + ")";
  auto r = run(cat({{"--profile", "desktop"}, sh(script)}), o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["home"], home.path()) << r;
  EXPECT_EQ(m["home_entries"], "") << r;  // not the host's home
  EXPECT_EQ(m["wayland"], "yes") << r;
  EXPECT_EQ(m["bus"], "no") << r;
  EXPECT_EQ(m["dbus_env"], "unset") << r;
  EXPECT_EQ(m["etc"], "ro") << r;
  // Not the host's network namespace: loopback and the user-mode stack's tap0 only.
  EXPECT_EQ(m["ifaces"], "lo,tap0,") << r;

  // With the dbus profile the session bus is there too.
  auto d = run(cat({{"--profile", "desktop", "--profile", "dbus"}, sh(script)}), o);
  ASSERT_EQ(d.exit_code, 0) << d;
  auto dm = key_values(d.out);
  EXPECT_EQ(dm["bus"], "yes") << d;
  EXPECT_EQ(dm["dbus_env"], "unix:path=" + runtime.path() + "/bus") << d;
}

// desktop with SANDBOX_APP: the per-app directory becomes the home, and what the app
// writes there stays on the host.
TEST_P(ProfileTest, DesktopProfilePerAppHome) {
  TempDir home, tun_dir(0755);
  std::string app_dir = home / ".local/share/sandbox/apps/editor";
  ASSERT_EQ(std::system(("mkdir -p " + app_dir + " && chown -R " +
                         std::to_string(caller_uid()) + ":" + std::to_string(caller_gid()) + " " +
                         home.path()).c_str()), 0);
  write_file(app_dir + "/settings", "kept\n");
  ASSERT_EQ(::chown((app_dir + "/settings").c_str(), caller_uid(), caller_gid()), 0);
  RunOpts o = opts();
  REQUIRE_USER_NET(o, tun_dir);
  o.env = {"HOME=" + home.path(), "XDG_RUNTIME_DIR=/run/user/" + std::to_string(caller_uid()),
           "SANDBOX_APP=editor"};
  auto r = run(cat({{"--profile", "desktop"},
                    sh("cat $HOME/settings; echo saved > $HOME/new-file")}),
               o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "kept\n") << r;
  EXPECT_EQ(read_file(app_dir + "/new-file"), "saved\n");
  EXPECT_FALSE(exists(home / "new-file"));
}

// agent: the current directory writable and kept on the host, an empty private $HOME, the
// host's /usr and /etc read-only, a private /tmp, every namespace new, the network through
// the user-mode stack, seccomp, a new session, and Landlock: the new root's own tmpfs,
// which its owner may write without it (the control: the same expanded command line less
// --landlock), is refused.
TEST_P(ProfileTest, AgentProfile) {
  TempDir work(0777), home(0755), tun_dir(0755);
  write_file(home / "secret", "host home file\n");
  std::string tmp_name = "agent-profile-" + unique_suffix();
  RunOpts o = opts();
  REQUIRE_USER_NET(o, tun_dir);
  o.cwd = work.path();
  o.env = {"HOME=" + home.path()};
  const std::string script =
      "echo uid=$(id -u); echo cwd=$(pwd); echo home=$HOME;"
      "echo home_entries=$(ls -A $HOME | tr '\\n' ,); echo home_fs=$(stat -f -c %T $HOME);"
      "echo made > artifact && echo cwd_write=ok;"
      "touch $HOME/cache && echo home_write=ok;"
      "touch /usr/.agent-probe 2>/dev/null && echo usr=rw || echo usr=ro;"
      "touch /etc/.agent-probe 2>/dev/null && echo etc=rw || echo etc=ro;"
      "touch /.agent-probe 2>/dev/null && echo root_write=ok || echo root_write=denied;"
      "echo x > /tmp/" + tmp_name + " && echo tmp_write=ok;"
      "echo ifaces=$(" + std::string(kIfaces) + ");"
      "echo seccomp=$(grep '^Seccomp:' /proc/self/status | cut -f2);"
      "read -r _ _ _ _ _ sid _ < /proc/self/stat; echo sid=$sid;"
      "echo core=$(ulimit -c)";
  auto r = run(cat({{"--profile", "agent"}, sh(script)}), o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["uid"], std::to_string(caller_uid())) << r;
  EXPECT_EQ(m["cwd"], work.path()) << r;
  EXPECT_EQ(m["cwd_write"], "ok") << r;
  EXPECT_EQ(read_file(work / "artifact"), "made\n");  // on the host afterwards
  EXPECT_EQ(m["home"], home.path()) << r;
  EXPECT_EQ(m["home_entries"], "") << r;  // not the host's home
  EXPECT_EQ(m["home_fs"], "tmpfs") << r;
  EXPECT_EQ(m["home_write"], "ok") << r;
  EXPECT_FALSE(exists(home / "cache"));  // private
  EXPECT_EQ(m["usr"], "ro") << r;
  EXPECT_EQ(m["etc"], "ro") << r;
  EXPECT_FALSE(exists("/usr/.agent-probe"));
  EXPECT_FALSE(exists("/etc/.agent-probe"));
  EXPECT_EQ(m["tmp_write"], "ok") << r;
  EXPECT_FALSE(exists("/tmp/" + tmp_name));
  EXPECT_EQ(m["ifaces"], "lo,tap0,") << r;
  EXPECT_EQ(m["seccomp"], "2") << r;
  EXPECT_EQ(m["sid"], "1") << r;
  EXPECT_EQ(m["core"], "0") << r;
  EXPECT_EQ(m["root_write"], "denied") << r;

  // Control: the same command line without --landlock may write the new root's tmpfs, so
  // the refusal above is Landlock's.
  auto e = run({"--profile", "agent", "--print-args", "true"}, o);
  ASSERT_EQ(e.exit_code, 0) << e;
  std::vector<std::string> args = words(e.out);
  std::erase(args, "--landlock");
  ASSERT_GT(args.size(), 3u) << e;
  ASSERT_EQ(args.front(), "sandbox") << e;
  ASSERT_EQ(args.back(), "true") << e;
  args.erase(args.begin());
  args.pop_back();
  if (args.back() == "--") args.pop_back();
  auto c = run(cat({args, sh("touch /.agent-probe && echo root_write=ok")}), o);
  EXPECT_EQ(trim(c.out), "root_write=ok") << c;
}

// agent: refused from the home directory, which it would make writable, before anything runs.
TEST_P(ProfileTest, AgentProfileRefusesToRunFromHome) {
  TempDir home(0755);
  RunOpts o = opts();
  o.cwd = home.path();
  o.env = {"HOME=" + home.path()};
  auto r = run({"--profile", "agent", "--", "sh", "-c", "echo ran > " + home.path() + "/ran"}, o);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "this profile makes the current directory writable, and it is " +
                                  home.path())) << r;
  EXPECT_EQ(r.out, "") << r;
  EXPECT_FALSE(exists(home / "ran"));
}

// Every shipped profile is listed and expands to a plain command line.
TEST_F(SandboxTest, ShippedProfilesAreListedAndExpand) {
  auto l = run({"--list-profiles"});
  ASSERT_EQ(l.exit_code, 0) << l;
  for (const char* p : {"build", "desktop", "dbus", "minimal", "agent"}) {
    EXPECT_TRUE(line_set(l.out).count(p)) << p << "\n" << l;
    RunOpts o;
    o.env = {"HOME=/home/u", "XDG_RUNTIME_DIR=/run/user/7"};
    o.cwd = "/tmp";  // agent refuses / (a parent of $HOME)
    auto e = run({"--profile", p, "--print-args", "true"}, o);
    EXPECT_EQ(e.exit_code, 0) << e;
    EXPECT_FALSE(contains(e.out, "--profile")) << e;
  }
  auto b = run({"--profile", "build", "--print-args"});
  for (const char* opt : {"--die-with-parent", "--new-session", "--unshare-all",
                          "--seccomp-profile default", "--ro-bind /etc /etc"})
    EXPECT_TRUE(contains(b.out, opt)) << opt << "\n" << b;
}

}  // namespace
}  // namespace it
