// The OCI runtime (sandbox-runc) driven as an engine drives it, with a bundle whose root
// file system is busybox-static: create / start / state / kill / delete, run, the pid file
// a subreaper waits for, and config.json members it refuses.
#include <fcntl.h>
#include <sched.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <termios.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <iostream>
#include <sstream>

#include "harness.hpp"

namespace it {
namespace {

using json = nlohmann::json;

const char kBusybox[] = "/bin/busybox";

// A bundle: rootfs with a static busybox, config.json as runc spec (--rootless) writes it.
struct Bundle {
  TempDir dir;
  TempDir out;  // bound at /out in the container, writable by it
  json config;

  explicit Bundle(uid_t caller_uid, gid_t caller_gid) {
    std::string root = dir / "rootfs";
    for (const char* d : {"", "/bin", "/proc", "/dev", "/tmp", "/out"})
      ::mkdir((root + d).c_str(), 0755);
    std::string bb = read_file(kBusybox);
    write_file(root + "/bin/busybox", bb, 0755);
    for (const char* c : {"sh", "echo", "sleep", "cat", "id", "hostname", "kill", "ls"})
      ::symlink("busybox", (root + "/bin/" + c).c_str());
    ::chmod(out.path().c_str(), 0777);
    config = {
        {"ociVersion", "1.0.2"},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "ctr"},
        {"process",
         {{"user", {{"uid", 0}, {"gid", 0}}},
          {"args", {"sh", "-c", "true"}},
          {"env", {"PATH=/bin"}},
          {"cwd", "/"},
          {"noNewPrivileges", true}}},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
           {"options", {"nosuid", "mode=755"}}},
          {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"},
           {"options", {"nosuid", "nodev", "mode=1777"}}},
          {{"destination", "/out"}, {"type", "bind"}, {"source", out.path()},
           {"options", {"rbind", "nosuid", "nodev"}}}}},
        {"linux",
         {{"namespaces",
           {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}},
            {{"type", "user"}}}},
          {"uidMappings", {{{"containerID", 0}, {"hostID", caller_uid}, {"size", 1}}}},
          {"gidMappings", {{{"containerID", 0}, {"hostID", caller_gid}, {"size", 1}}}}}}};
  }
  void script(const std::string& s) { config["process"]["args"] = {"sh", "-c", s}; }
  void write() const { write_file(dir / "config.json", config.dump(2)); }
};

class Oci : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (IsSkipped()) return;
    // Control: the host must have the static busybox the bundle is made of.
    if (::access(kBusybox, X_OK) != 0 || !contains(read_file(kBusybox).substr(0, 4096), "\x7f" "ELF"))
      GTEST_SKIP() << kBusybox << " is missing (Debian's busybox-static)";
    link_ = bin_ / "sandbox-runc";
    ASSERT_EQ(::symlink(sandbox_path().c_str(), link_.c_str()), 0);
    state_ = state_dir_.path() + "/state";
  }
  // sandbox-runc --root STATE ARGS...
  RunResult runtime(const Args& args, RunOpts o) {
    o.exe = link_;
    o.argv0 = "sandbox-runc";
    Args full = {"--root", state_};
    full.insert(full.end(), args.begin(), args.end());
    return run(full, o);
  }
  RunResult runtime(const Args& args) { return runtime(args, opts()); }
  std::string id(const std::string& name) { return name + "-" + unique_suffix(); }
  json state(const std::string& cid) {
    RunResult r = runtime({"state", cid});
    EXPECT_EQ(r.exit_code, 0) << r;
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "state is not JSON: " << r;
      return json::object();
    }
  }
  std::unique_ptr<Bundle> bundle() {
    return std::make_unique<Bundle>(as_root() ? 0 : unpriv_uid(), as_root() ? 0 : unpriv_gid());
  }

  TempDir bin_{0755};
  TempDir state_dir_;
  std::string link_, state_;
};

TEST_P(Oci, CreateStartStateKillDelete) {
  auto b = bundle();
  b->script("trap 'echo term > /out/term; exit 7' TERM; echo ran > /out/started; "
            "while :; do sleep 0.1; done");
  b->write();
  const std::string cid = id("life");
  RunResult r = runtime({"create", "--bundle", b->dir.path(), "--pid-file", b->out / "pidfile", cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  // Created: set up, its process exists and waits; the command has not run.
  json s = state(cid);
  EXPECT_EQ(s["status"], "created");
  EXPECT_EQ(s["id"], cid);
  EXPECT_EQ(s["ociVersion"], "1.2.0");
  EXPECT_EQ(s["bundle"], b->dir.path());
  pid_t pid = s["pid"].get<pid_t>();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(exists("/proc/" + std::to_string(pid)));
  pid_t supervisor = std::stoi(read_file(b->out / "pidfile"));
  EXPECT_TRUE(exists("/proc/" + std::to_string(supervisor)));
  EXPECT_NE(supervisor, pid);
  ::usleep(200000);
  EXPECT_FALSE(exists(b->out / "started"));
  EXPECT_TRUE(exists(state_ + "/" + cid + "/exec.fifo"));
  // A second create with the same id is refused; the first is untouched.
  r = runtime({"create", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "container " + cid + " already exists")) << r;
  // delete refuses a live container without --force.
  r = runtime({"delete", cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "is created")) << r;

  r = runtime({"start", cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(eventually([&] { return exists(b->out / "started"); })) << "the command never ran";
  EXPECT_EQ(state(cid)["status"], "running");
  EXPECT_EQ(state(cid)["pid"], pid);  // the same process, now the command
  r = runtime({"start", cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "is running, not created")) << r;
  // The listing shows it.
  r = runtime({"list", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json list = json::parse(r.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], cid);
  EXPECT_EQ(list[0]["status"], "running");

  r = runtime({"kill", cid, "TERM"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(eventually([&] { return state(cid)["status"] == "stopped"; }));
  EXPECT_EQ(trim(read_file(b->out / "term")), "term");  // the command's own handler ran
  EXPECT_EQ(state(cid)["pid"], 0);
  EXPECT_TRUE(eventually([&] { return !exists("/proc/" + std::to_string(supervisor)); }));
  r = runtime({"kill", cid, "TERM"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "is not running")) << r;

  r = runtime({"delete", cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(exists(state_ + "/" + cid));
  r = runtime({"state", cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "container " + cid + " does not exist")) << r;
}

TEST_P(Oci, DeleteForceKillsACreatedContainer) {
  auto b = bundle();
  b->script("echo ran > /out/started");
  b->write();
  const std::string cid = id("force");
  RunResult r = runtime({"create", "--bundle", b->dir.path(), cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  pid_t pid = state(cid)["pid"].get<pid_t>();
  r = runtime({"delete", "--force", cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(exists(state_ + "/" + cid));
  EXPECT_TRUE(eventually([&] { return !exists("/proc/" + std::to_string(pid)); }));
  EXPECT_FALSE(exists(b->out / "started"));  // never started
}

// As runc and crun: a command that is not there, or not executable, fails `create` (Podman
// maps that error to 127 / 126), and nothing of the container stays; found in the
// container's PATH (not the caller's), it is created.
TEST_P(Oci, CreateFailsForACommandThatCannotRun) {
  auto b = bundle();
  write_file(b->dir / "rootfs/bin/plain", "#!/bin/sh\necho ran\n", 0644);
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string err;
  };
  for (const Case& c : std::vector<Case>{
           {{"/no/such/command"}, 1, "Can't execute /no/such/command: No such file or directory"},
           {{"nosuchcommand"}, 1, "Can't execute nosuchcommand: No such file or directory"},
           {{"/bin/plain"}, 1, "Can't execute /bin/plain: Permission denied"},
           {{"plain"}, 1, "Can't execute plain: Permission denied"},
           {{"busybox", "true"}, 0, ""}}) {
    b->config["process"]["args"] = c.args;
    b->write();
    const std::string cid = id("cmd");
    RunResult r = runtime({"create", "--bundle", b->dir.path(), cid});
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[0] << ": " << r;
    if (c.exit_code == 0) {
      EXPECT_EQ(state(cid)["status"], "created");
      EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
      continue;
    }
    EXPECT_TRUE(contains(r.err, c.err)) << r;
    EXPECT_FALSE(exists(state_ + "/" + cid)) << c.args[0];
  }
}

TEST_P(Oci, RunPassesTheExitStatusAndOutputThrough) {
  auto b = bundle();
  b->script("echo hi from $(id -u) on $(hostname); exit 42");
  b->write();
  const std::string cid = id("run");
  RunOpts o = opts();
  o.cwd = b->dir.path();  // the bundle defaults to the working directory
  RunResult r = runtime({"run", cid}, o);
  EXPECT_EQ(r.exit_code, 42) << r;
  EXPECT_EQ(r.out, "hi from 0 on ctr\n");
  EXPECT_FALSE(exists(state_ + "/" + cid));  // run deletes what it created
}

// process.user.umask, and /dev and cgroup mounts as Podman writes them.
TEST_P(Oci, UmaskDevAndCgroupMountsAsPodmanWritesThem) {
  auto b = bundle();
  b->script("umask; grep -E ' /dev | /sys/fs/cgroup ' /proc/self/mountinfo; "
            "if echo x > /sys/fs/cgroup/x 2>/dev/null; then echo writable; else echo read-only; fi");
  b->config["process"]["user"]["umask"] = 077;
  b->config["mounts"][1]["options"] = {"nosuid", "noexec", "strictatime", "mode=755", "size=65536k"};
  ::mkdir((b->dir / "rootfs/sys").c_str(), 0755);
  b->config["mounts"].push_back({{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
                                 {"options", {"nosuid", "noexec", "nodev", "ro"}}});
  b->config["mounts"].push_back({{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"},
                                 {"source", "cgroup"},
                                 {"options", {"rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"}}});
  b->write();
  RunResult r = runtime({"run", "--bundle", b->dir.path(), id("umask")});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto l = lines(r.out);
  ASSERT_GE(l.size(), 3u) << r;
  EXPECT_EQ(l[0], "0077");
  std::string dev, cgroup;
  for (const auto& line : l) {
    auto w = words(line);
    if (w.size() > 5 && w[4] == "/dev") dev = line;
    if (w.size() > 5 && w[4] == "/sys/fs/cgroup") cgroup = line;
  }
  EXPECT_TRUE(contains(dev, "noexec")) << dev;
  EXPECT_TRUE(contains(dev, "size=65536k")) << dev;
  if (!exists("/sys/fs/cgroup")) GTEST_SKIP() << "the host has no /sys/fs/cgroup";
  EXPECT_TRUE(contains(cgroup, " ro,")) << r;
  EXPECT_EQ(l.back(), "read-only");
}

// The engine's side of a console socket: one message carrying exactly one descriptor
// (SCM_RIGHTS), as runc sends the pty's master; -1 for anything else.
int recv_single_fd(int conn) {
  char name[256];
  iovec iov{name, sizeof name};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  ssize_t got = ::recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  if (got <= 0 || !c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
    return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

// An engine such as Podman's conmon, in a forked child: a subreaper (as the unprivileged
// user when asked) that runs `body` with `exec_wait` (runs the runtime with ARGS after
// --root, stdin /dev/null, and returns its status) and `say` (reports one message and ends
// the child). Returns what it said.
using Say = std::function<void(const std::string&)>;
using ExecWait = std::function<int(std::vector<std::string>)>;
std::string as_engine(const std::string& runtime, const std::string& root, bool unprivileged,
                      const std::function<void(const ExecWait&, const Say&)>& body) {
  int p[2];
  if (::pipe(p) < 0) return "E pipe";
  pid_t helper = ::fork();
  if (helper == 0) {
    ::close(p[0]);
    const Say say = [&](const std::string& s) {
      (void)!::write(p[1], s.data(), s.size());
      ::_exit(0);
    };
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    if (unprivileged && is_root()) {
      if (::setgroups(0, nullptr) || ::setgid(kUnprivGid) || ::setuid(kUnprivUid)) say("E setuid");
    }
    const ExecWait exec_wait = [&](std::vector<std::string> args) {
      pid_t c = ::fork();
      if (c == 0) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        std::vector<char*> argv;
        args.insert(args.begin(), {"sandbox-runc", "--root", root});
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        char env0[] = "PATH=/usr/bin:/bin";
        char* envp[] = {env0, nullptr};
        ::execve(runtime.c_str(), argv.data(), envp);
        ::_exit(127);
      }
      int st = 0;
      ::waitpid(c, &st, 0);
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    };
    body(exec_wait, say);
    say("E the engine said nothing");
  }
  ::close(p[1]);
  std::string msg;
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) msg.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ::waitpid(helper, nullptr, 0);
  return msg;
}

// Podman's conmon: a subreaper that runs `create --pid-file`, then `start`, and waits for
// the pid in the file. That process must end as the container does: its exit status, or
// death by the same signal.
struct Reaped {
  bool ok = false;
  int status = 0;
  std::string why;
};
Reaped as_conmon(const std::string& runtime, const std::string& root, const std::string& bundle,
                 const std::string& cid, bool unprivileged, const std::string& kill_signal) {
  const std::string msg = as_engine(runtime, root, unprivileged, [&](const ExecWait& exec_wait, const Say& say) {
    std::string pidfile = bundle + "/pid";
    if (int rc = exec_wait({"create", "--bundle", bundle, "--pid-file", pidfile, cid}); rc != 0)
      say("E create " + std::to_string(rc));
    pid_t sup = std::stoi(read_file(pidfile));
    if (int rc = exec_wait({"start", cid}); rc != 0) say("E start " + std::to_string(rc));
    if (!kill_signal.empty()) {
      ::usleep(200000);
      if (int rc = exec_wait({"kill", cid, kill_signal}); rc != 0) say("E kill " + std::to_string(rc));
    }
    int st = 0;
    // The supervisor was create's child; with create gone it is ours (the subreaper's).
    if (::waitpid(sup, &st, 0) != sup) say("E waitpid " + std::to_string(errno));
    exec_wait({"delete", cid});
    say("S " + std::to_string(st));
  });
  if (msg.rfind("S ", 0) != 0) return {false, 0, msg};
  return {true, std::stoi(msg.substr(2)), ""};
}

TEST_P(Oci, TheSubreaperSeesTheContainersStatus) {
  auto b = bundle();
  b->script("exit 3");
  b->write();
  Reaped r = as_conmon(link_, state_, b->dir.path(), id("exit"), !as_root(), "");
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), 3);

  // Killed: the supervisor dies of the same signal (not exit 137).
  b->script("while :; do sleep 0.1; done");
  b->write();
  r = as_conmon(link_, state_, b->dir.path(), id("killed"), !as_root(), "KILL");
  ASSERT_TRUE(r.ok) << r.why;
  ASSERT_TRUE(WIFSIGNALED(r.status)) << "status " << r.status;
  EXPECT_EQ(WTERMSIG(r.status), SIGKILL);
  EXPECT_EQ(runtime({"list", "--quiet"}).out, "");  // deleted
}

// ---- process.terminal ------------------------------------------------------------------

// What the container's shell prints on its terminal, each line with a marker that its
// input line (echoed by the pty) does not hold in that form.
const char kTtyScript[] =
    "echo \"T=$(tty)\"; echo \"S=$(stty size)\"; echo \"A=$((6*7))\"; "
    "echo \"F=$(stat -f -c %T /proc/self/fd/0)\"; "
    "echo \"D=$(stat -L -c %d /proc/self/fd/0) $(stat -c %d /dev/pts)\"; "
    "echo \"C=$(stat -c %t:%T /dev/console) $(stat -L -c %t:%T /proc/self/fd/0)\"; "
    "echo K=on-con\"sole\" > /dev/console; "
    "(ls -l /proc/$$/fd/) > /tmp/fds; while read -r l; do case $l in total*|*' -> /dev/pts/0'|"
    "*' -> /dev/tty') ;; *) echo \"X=stray $l\";; esac; done < /tmp/fds; echo \"E=e\"\"nd\"\n";


// Podman's conmon with -t: listens on a unix socket, runs `create --console-socket`,
// receives the pty's master, `start`s, types `input` on the master and reads the terminal
// until the container exits; then waits for the supervisor (--pid-file) as its subreaper.
struct TtyRun {
  bool ok = false;
  int status = 0;
  std::string out, why;
  long master_dev = -1;        // st_dev of the master the engine received
  bool master_on_devpts = false;
};
TtyRun conmon_tty(const std::string& runtime, const std::string& root, const std::string& bundle,
                  const std::string& sockdir, const std::string& cid, bool unprivileged,
                  const std::string& input) {
  const std::string msg = as_engine(runtime, root, unprivileged, [&](const ExecWait& exec_wait, const Say& say) {
    const std::string sock_path = sockdir + "/console.sock";
    int srv = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
    if (::bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(srv, 1) < 0)
      say("E bind " + std::string(std::strerror(errno)));
    std::string pidfile = bundle + "/pid";
    if (int rc = exec_wait({"create", "--bundle", bundle, "--pid-file", pidfile,
                            "--console-socket", sock_path, cid});
        rc != 0)
      say("E create " + std::to_string(rc));
    // create returns once the master was sent (before the container waits for start).
    pollfd pa{srv, POLLIN, 0};
    if (::poll(&pa, 1, 5000) != 1) say("E nothing connected to the console socket");
    int conn = ::accept4(srv, nullptr, nullptr, SOCK_CLOEXEC);
    const int master = recv_single_fd(conn);
    if (master < 0) say("E no single descriptor on the console socket");
    // One message, then the runtime's side is closed: the container holds no socket.
    char more;
    if (::recv(conn, &more, 1, 0) != 0) say("E more than one message on the console socket");
    struct stat mst{};
    struct statfs mfs{};
    ::fstat(master, &mst);
    ::fstatfs(master, &mfs);
    pid_t sup = std::stoi(read_file(pidfile));
    if (int rc = exec_wait({"start", cid}); rc != 0) say("E start " + std::to_string(rc));
    if (!io_write(master, input)) say("E write");
    std::string out = read_until(master, [](const std::string&) { return false; });
    int st = 0;
    if (::waitpid(sup, &st, 0) != sup) say("E waitpid " + std::to_string(errno));
    exec_wait({"delete", cid});
    say("S " + std::to_string(st) + " " + std::to_string(mst.st_dev) + " " +
        std::to_string(mfs.f_type == 0x1cd1 ? 1 : 0) + "\n" + out);
  });
  TtyRun r;
  if (msg.rfind("S ", 0) != 0) {
    r.why = msg;
    return r;
  }
  std::istringstream head(msg.substr(2, msg.find('\n') - 2));
  int on_devpts = 0;
  head >> r.status >> r.master_dev >> on_devpts;
  r.master_on_devpts = on_devpts == 1;
  r.out = msg.substr(msg.find('\n') + 1);
  r.ok = true;
  return r;
}

std::unique_ptr<Bundle> tty_bundle(std::unique_ptr<Bundle> b) {
  for (const char* c : {"tty", "stty", "stat", "readlink"})
    ::symlink("busybox", (b->dir / "rootfs/bin/" + c).c_str());
  b->config["process"]["args"] = {"sh"};
  b->config["process"]["terminal"] = true;
  b->config["process"]["consoleSize"] = {{"height", 33}, {"width", 77}};
  b->config["mounts"].push_back({{"destination", "/dev/pts"}, {"type", "devpts"},
                                 {"source", "devpts"},
                                 {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                              "mode=0620"}}});
  b->write();
  return b;
}

TEST_P(Oci, TerminalThroughTheConsoleSocketAsConmon) {
  auto b = tty_bundle(bundle());
  TempDir sockdir;  // 0777: the unprivileged engine binds its socket here
  TtyRun r = conmon_tty(link_, state_, b->dir.path(), sockdir.path(), id("tty"), !as_root(),
                        std::string(kTtyScript) + "exit 3\n");
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3) << "status " << r.status << "\n" << r.out;
  EXPECT_EQ(marked(r.out, "T"), "/dev/pts/0") << r.out;   // its own devpts: the first pty
  EXPECT_EQ(marked(r.out, "S"), "33 77") << r.out;        // process.consoleSize
  EXPECT_EQ(marked(r.out, "A"), "42") << r.out;
  EXPECT_EQ(marked(r.out, "F"), "devpts") << r.out;
  EXPECT_EQ(marked(r.out, "E"), "end") << r.out;
  EXPECT_EQ(marked(r.out, "X"), "") << r.out;  // no descriptor but the terminal
  // The terminal is on the devpts mounted at the container's /dev/pts, and the master
  // the engine got is that instance's, not the host's.
  auto d = words(marked(r.out, "D"));
  ASSERT_EQ(d.size(), 2u) << r.out;
  EXPECT_EQ(d[0], d[1]);
  EXPECT_TRUE(r.master_on_devpts);
  EXPECT_EQ(std::to_string(r.master_dev), d[0]);
  // /dev/console is that terminal (as runc binds it): the same device, and what is written
  // there reaches the engine's master.
  auto con = words(marked(r.out, "C"));
  ASSERT_EQ(con.size(), 2u) << r.out;
  EXPECT_EQ(con[0], con[1]) << r.out;
  EXPECT_EQ(marked(r.out, "K"), "on-console") << r.out;
  struct stat host{};
  ASSERT_EQ(::stat("/dev/pts", &host), 0);
  EXPECT_NE(std::to_string(host.st_dev), d[0]);
}

TEST_P(Oci, TerminalNeedsAConsoleSocketAndASocketNeedsATerminal) {
  auto b = tty_bundle(bundle());
  RunResult r = runtime({"create", "--bundle", b->dir.path(), id("nosock")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "cannot allocate tty if sandbox-runc will detach without setting "
                              "console socket")) << r;
  r = runtime({"run", "--detach", "--bundle", b->dir.path(), id("nosock")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "cannot allocate tty")) << r;
  // A socket that does not exist is named.
  r = runtime({"create", "--bundle", b->dir.path(), "--console-socket", b->dir / "none.sock",
               id("badsock")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "--console-socket " + b->dir / "none.sock")) << r;
  // Without a terminal, a console socket is refused as runc refuses it.
  auto plain = bundle();
  plain->write();
  r = runtime({"create", "--bundle", plain->dir.path(), "--console-socket", b->dir / "none.sock",
               id("noterm")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "cannot use console socket")) << r;
  EXPECT_EQ(runtime({"list", "--quiet"}).out, "");  // nothing half made
}

// `run` in the foreground with a terminal relays it: the caller's terminal (here a pty the
// test holds) in raw mode meanwhile, its size on the container's pty, SIGWINCH followed.
TEST_P(Oci, RunRelaysTheTerminal) {
  auto b = tty_bundle(bundle());
  int outer = -1, outer_slave = -1;
  winsize ws{};
  ws.ws_row = 40;
  ws.ws_col = 100;
  ASSERT_EQ(::openpty(&outer, &outer_slave, nullptr, nullptr, &ws), 0);
  termios before{};
  ASSERT_EQ(::tcgetattr(outer_slave, &before), 0);
  const std::string cid = id("relay");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setsid();
    ::ioctl(outer_slave, TIOCSCTTY, 0);
    for (int i = 0; i <= 2; ++i) ::dup2(outer_slave, i);
    if (!as_root() && is_root())
      if (::setgroups(0, nullptr) || ::setgid(kUnprivGid) || ::setuid(kUnprivUid)) ::_exit(126);
    std::string exe = link_;
    std::vector<std::string> args = {"sandbox-runc", "--root", state_, "run", "--bundle",
                                     b->dir.path(), cid};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    char env0[] = "PATH=/usr/bin:/bin";
    char* envp[] = {env0, nullptr};
    ::execve(exe.c_str(), argv.data(), envp);
    ::_exit(127);
  }
  ::close(outer_slave);
  ASSERT_TRUE(io_write(outer, kTtyScript));
  std::string out = read_until(outer, [](const std::string& o) { return contains(o, "E=end"); });
  // The runtime's terminal is raw while it relays.
  termios during{};
  ASSERT_EQ(::tcgetattr(outer, &during), 0);
  EXPECT_EQ(during.c_lflag & (ICANON | ECHO), 0u);
  ws.ws_row = 50;
  ws.ws_col = 120;
  ASSERT_EQ(::ioctl(outer, TIOCSWINSZ, &ws), 0);  // SIGWINCH to the runtime
  ::usleep(300000);
  ASSERT_TRUE(io_write(outer, "echo \"W=$(stty size)\"; exit 5\n"));
  out += read_until(outer, [](const std::string& o) { return contains(o, "W=5"); });
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  termios after{};
  EXPECT_EQ(::tcgetattr(outer, &after), 0);
  ::close(outer);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 5) << "status " << st << "\n" << out;
  EXPECT_EQ(marked(out, "T"), "/dev/pts/0") << out;
  EXPECT_EQ(marked(out, "S"), "40 100") << out;  // the caller's size, not consoleSize
  EXPECT_EQ(marked(out, "A"), "42") << out;
  EXPECT_EQ(marked(out, "F"), "devpts") << out;
  EXPECT_EQ(marked(out, "X"), "") << out;
  EXPECT_EQ(marked(out, "W"), "50 120") << out;  // SIGWINCH followed
  EXPECT_EQ(after.c_lflag & (ICANON | ECHO), before.c_lflag & (ICANON | ECHO));  // restored
  EXPECT_FALSE(exists(state_ + "/" + cid));
}

// linux.maskedPaths and readonlyPaths, each first shown to matter without it (control).
TEST_P(Oci, MaskedAndReadonlyPaths) {
  auto b = bundle();
  ASSERT_EQ(::mkdir((b->out / "ro").c_str(), 0777), 0);
  ::chmod((b->out / "ro").c_str(), 0777);
  // /out/ro is a plain directory in a writable bind, not a mount point.
  b->script("wc -c < /proc/version; ls /proc/fs | wc -l; "
            "if echo x > /out/ro/$1; then echo wrote; else echo refused; fi");
  b->config["process"]["args"].push_back("sh");
  b->config["process"]["args"].push_back("control");
  b->write();
  RunResult control = runtime({"run", "--bundle", b->dir.path(), id("control")});
  ASSERT_EQ(control.exit_code, 0) << control;
  auto c = lines(control.out);
  ASSERT_EQ(c.size(), 3u) << control;
  EXPECT_NE(c[0], "0");  // /proc/version has content
  EXPECT_EQ(c[2], "wrote");
  EXPECT_TRUE(exists(b->out / "ro/control"));
  if (c[1] == "0") GTEST_SKIP() << "this kernel's /proc/fs is empty: nothing to mask";

  b->config["process"]["args"].back() = "covered";
  b->config["linux"]["maskedPaths"] = {"/proc/version", "/proc/fs", "/proc/no-such-file"};
  b->config["linux"]["readonlyPaths"] = {"/out/ro", "/no/such/dir"};
  b->write();
  RunResult r = runtime({"run", "--bundle", b->dir.path(), id("covered")});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto l = lines(r.out);
  ASSERT_EQ(l.size(), 3u) << r;
  EXPECT_EQ(l[0], "0");  // reads as /dev/null
  EXPECT_EQ(l[1], "0");  // an empty directory
  EXPECT_EQ(l[2], "refused");
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
  EXPECT_FALSE(exists(b->out / "ro/covered"));
}

// tmpcopyup (runc's and crun's extension; Podman's --read-only and --tmpfs ask for it): the
// tmpfs starts with what the directory held — contents, modes, owners, links as links —
// and its root takes the directory's mode and owner. Writes stay in the tmpfs: the bundle's
// directory is unchanged. Control: without it the tmpfs is empty. Anything but a file, a
// directory or a link (here a fifo) fails create, naming it.
TEST_P(Oci, TmpcopyupFillsTheTmpfsWithTheDirectory) {
  auto b = bundle();
  const std::string root = b->dir / "rootfs";
  for (const char* c : {"readlink", "stat", "grep", "cut", "wc"})
    ::symlink("busybox", (root + "/bin/" + c).c_str());
  const std::string data = root + "/data";
  ASSERT_EQ(::mkdir(data.c_str(), 0750), 0);
  ASSERT_EQ(::mkdir((data + "/sub").c_str(), 0700), 0);
  write_file(data + "/a", "alpha\n", 0640);
  write_file(data + "/sub/b", "beta\n", 0600);
  ASSERT_EQ(::symlink("a", (data + "/l").c_str()), 0);
  // The container's uid 0 owns them (unprivileged: the caller, which its map holds).
  const uid_t owner = as_root() ? 0 : unpriv_uid();
  const gid_t group = as_root() ? 0 : unpriv_gid();
  for (const char* f : {"", "/sub", "/a", "/sub/b", "/l"})
    ASSERT_EQ(::lchown((data + f).c_str(), owner, group), 0) << f;
  ::chmod(data.c_str(), 0750);
  json tmpfs = {{"destination", "/data"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                {"options", {"nosuid", "nodev", "tmpcopyup"}}};
  b->config["mounts"].push_back(tmpfs);
  b->script("cat /data/a /data/sub/b; readlink /data/l; stat -c '%a %u' /data /data/a /data/sub; "
            "echo new > /data/new && echo wrote; grep ' /data ' /proc/mounts | cut -d' ' -f3");
  b->write();
  RunResult r = runtime({"run", "--bundle", b->dir.path(), id("copyup")});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "alpha\nbeta\na\n750 0\n640 0\n700 0\nwrote\ntmpfs\n") << r;
  EXPECT_FALSE(exists(data + "/new"));
  EXPECT_EQ(read_file(data + "/a"), "alpha\n");

  // Control: the same tmpfs without tmpcopyup is empty.
  b->config["mounts"].back()["options"] = {"nosuid", "nodev"};
  b->script("ls -A /data | wc -l");
  b->write();
  RunResult empty = runtime({"run", "--bundle", b->dir.path(), id("plain")});
  ASSERT_EQ(empty.exit_code, 0) << empty;
  EXPECT_EQ(trim(empty.out), "0") << empty;

  // A fifo is not copied: create fails before the command, naming it.
  ASSERT_EQ(::mkfifo((data + "/sub/pipe").c_str(), 0600), 0);
  ASSERT_EQ(::lchown((data + "/sub/pipe").c_str(), owner, group), 0);
  b->config["mounts"].back() = tmpfs;
  b->script("echo ran > /out/ran");
  b->write();
  RunResult fifo = runtime({"run", "--bundle", b->dir.path(), id("fifo")});
  EXPECT_EQ(fifo.exit_code, 1) << fifo;
  EXPECT_TRUE(contains(fifo.err, "/data/sub/pipe: tmpcopyup copies files, directories and "
                                 "symbolic links; this is none of them")) << fifo;
  EXPECT_FALSE(exists(b->out / "ran"));
}

TEST_P(Oci, UnsupportedMemberIsRefusedWithItsPath) {
  auto b = bundle();
  b->config["linux"]["personality"] = {{"domain", "LINUX32"}};
  b->write();
  const std::string cid = id("refused");
  std::string log = b->out / "log.json";
  RunResult r = runtime({"--log", log, "--log-format", "json", "create", "--bundle",
                         b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "sandbox-runc: config.json: linux.personality: not supported yet")) << r;
  // The log file gets the same message, as a JSON line (what conmon reads back).
  json line = json::parse(first_line(read_file(log)));
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "config.json: linux.personality: not supported yet");
  EXPECT_FALSE(exists(state_ + "/" + cid));  // nothing left behind

  // A setup failure in the launch itself: create fails and leaves nothing either.
  b->config["linux"].erase("personality");
  b->config["mounts"].push_back(
      {{"destination", "/nope"}, {"type", "bind"}, {"source", b->dir / "missing"}, {"options", {"rbind"}}});
  b->write();
  r = runtime({"create", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "missing")) << r;
  EXPECT_FALSE(exists(state_ + "/" + cid));
}

// linux.sysctl: set inside the container's own namespaces, the host's settings untouched;
// one that is not a namespace's is refused before anything runs.
TEST_P(Oci, SysctlsAreSetInTheContainersNamespaces) {
  const std::string host_pgr = read_file("/proc/sys/net/ipv4/ping_group_range");
  const std::string host_msgmax = read_file("/proc/sys/kernel/msgmax");
  const std::string host_domain = read_file("/proc/sys/kernel/domainname");
  auto b = bundle();
  b->config["linux"]["namespaces"].push_back({{"type", "network"}});
  b->config["linux"]["sysctl"] = {{"net.ipv4.ping_group_range", "0 0"},
                                  {"kernel.msgmax", "4321"},
                                  {"kernel.domainname", "ctr.example"}};
  b->script("cat /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/msgmax "
            "/proc/sys/kernel/domainname > /out/sysctl");
  b->write();
  RunResult r = runtime({"run", "--bundle", b->dir.path(), id("sysctl")});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(read_file(b->out / "sysctl"), "0\t0\n4321\nctr.example\n");
  // Control: the host's values were other than these, and still are.
  EXPECT_NE(host_pgr, "0\t0\n");
  EXPECT_NE(host_msgmax, "4321\n");
  EXPECT_EQ(read_file("/proc/sys/net/ipv4/ping_group_range"), host_pgr);
  EXPECT_EQ(read_file("/proc/sys/kernel/msgmax"), host_msgmax);
  EXPECT_EQ(read_file("/proc/sys/kernel/domainname"), host_domain);

  // A system-wide setting is refused with its JSON path, before the command runs.
  b->script("echo ran > /out/ran");
  b->config["linux"]["sysctl"] = {{"kernel.panic", "10"}};
  b->write();
  const std::string cid = id("sysctl-refused");
  r = runtime({"run", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "config.json: linux.sysctl[\"kernel.panic\"]: not a namespaced sysctl")) << r;
  EXPECT_FALSE(exists(b->out / "ran"));
  EXPECT_FALSE(exists(state_ + "/" + cid));
  // A namespaced one without its namespace: the host's would change.
  b->config["linux"]["namespaces"].erase(b->config["linux"]["namespaces"].size() - 1);
  b->config["linux"]["sysctl"] = {{"net.ipv4.ping_group_range", "0 0"}};
  b->write();
  r = runtime({"run", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "linux.sysctl[\"net.ipv4.ping_group_range\"]: needs a network namespace")) << r;
  EXPECT_FALSE(exists(b->out / "ran"));
  EXPECT_EQ(read_file("/proc/sys/net/ipv4/ping_group_range"), host_pgr);
}

// linux.cgroupsPath (Podman sends one with every container) is accepted and places
// nothing there; linux.resources limits go through sandbox's cgroup code and fail closed
// exactly where the command line's --memory does.
TEST_P(Oci, CgroupsPathIsAcceptedAndLimitsFailClosedAsTheCli) {
  auto b = bundle();
  const std::string leaf = "sandbox-oci-test-" + unique_suffix();
  b->config["linux"]["cgroupsPath"] = "/" + leaf + "/libpod-x";
  b->script("echo ran > /out/ran");
  b->write();
  std::string log = b->out / "log.json";
  RunResult r = runtime({"--log", log, "--log-format", "json", "run", "--bundle", b->dir.path(), id("cgpath")});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(read_file(b->out / "ran"), "ran\n");
  EXPECT_EQ(r.err, "");  // a note for --log, not an error
  json line = json::parse(first_line(read_file(log)));
  EXPECT_EQ(line["level"], "info");
  EXPECT_TRUE(contains(line["msg"].get<std::string>(), "not used to place the container")) << line;
  for (const char* m : {"/sys/fs/cgroup/", "/sys/fs/cgroup/unified/", "/sys/fs/cgroup/memory/"})
    EXPECT_FALSE(exists(std::string(m) + leaf)) << m << leaf;

  // With a memory limit: the same outcome as the command line's --memory with a user
  // namespace (the control), on this host, in this mode.
  ::unlink((b->out / "ran").c_str());
  RunResult cli = run({"--unshare-user", "--cap-drop", "ALL", "--ro-bind", kBusybox, kBusybox,
                       "--memory", "64M", kBusybox, "true"}, opts());
  b->config["linux"]["resources"] = {{"memory", {{"limit", 64 << 20}}}};
  b->script("echo ran > /out/ran; sleep 30");
  b->write();
  const std::string cid = id("cgmem");
  r = runtime({"create", "--bundle", b->dir.path(), cid});
  if (cli.exit_code != 0) {
    EXPECT_EQ(r.exit_code, 1) << r << "control: " << cli;
    EXPECT_TRUE(contains(r.err, "can't be enforced")) << r;
    EXPECT_FALSE(exists(b->out / "ran"));
    EXPECT_FALSE(exists(state_ + "/" + cid));
    if (r.exit_code == 0) runtime({"delete", "--force", cid});
    std::printf("(no enforceable memory limit here, as the control shows; checked it fails closed)\n");
    return;
  }
  ASSERT_EQ(r.exit_code, 0) << r;
  pid_t pid = state(cid)["pid"].get<pid_t>();
  // The container's memory cgroup, read from the host: it or the cgroup above it (sandbox's
  // own, which holds the limit over its leaves) has the config's limit.
  std::string limit;
  std::istringstream cgroups(read_file("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string l; std::getline(cgroups, l);) {
    size_t c1 = l.find(':'), c2 = l.find(':', c1 + 1);
    std::string ctrls = l.substr(c1 + 1, c2 - c1 - 1), path = l.substr(c2 + 1);
    EXPECT_EQ(path.find(leaf), std::string::npos) << l;  // never under cgroupsPath
    std::vector<std::string> files;
    if (ctrls == "memory") files.push_back("/sys/fs/cgroup/memory%/memory.limit_in_bytes");
    if (ctrls.empty())
      for (const char* v2 : {"/sys/fs/cgroup%/memory.max", "/sys/fs/cgroup/unified%/memory.max"})
        files.push_back(v2);
    for (std::string f : files)
      for (std::string p = path; !p.empty() && p != "/"; p = p.substr(0, p.rfind('/'))) {
        std::string file = f;
        file.replace(file.find('%'), 1, p);
        if (exists(file) && read_file(file) == std::to_string(64 << 20) + "\n") limit = read_file(file);
      }
  }
  EXPECT_EQ(limit, std::to_string(64 << 20) + "\n");
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// A process holding new network, ipc and uts namespaces, as an engine's (Podman's netns)
// would: as the caller (unprivileged: in a user namespace of its own, mapping its uid to 0,
// which the container then joins too). Killed on destruction.
struct NsHolder {
  pid_t pid = -1;
  NsHolder(bool root, uid_t uid, gid_t gid) {
    int ready[2];
    if (::pipe(ready) < 0) return;
    pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (!root && (::setgroups(0, nullptr) < 0 || ::setgid(gid) < 0 || ::setuid(uid) < 0)) _exit(1);
      ::prctl(PR_SET_DUMPABLE, 1);  // cleared by setuid: /proc/self/*_map must be ours
      if (::unshare((root ? 0 : CLONE_NEWUSER) | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0) _exit(2);
      if (!root) {
        auto put = [](const char* f, const std::string& v) {
          int fd = ::open(f, O_WRONLY);
          return fd >= 0 && ::write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
        };
        if (!put("/proc/self/setgroups", "deny") ||
            !put("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
            !put("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
          _exit(3);
      }
      (void)!::write(ready[1], "x", 1);
      for (;;) ::pause();
    }
    ::close(ready[1]);
    char c;
    if (::read(ready[0], &c, 1) != 1) {
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
    ::close(ready[0]);
  }
  ~NsHolder() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  std::string ns(const char* t) const { return "/proc/" + std::to_string(pid) + "/ns/" + t; }
  std::string id(const char* t) const {
    char buf[64] = {};
    return ::readlink(ns(t).c_str(), buf, sizeof buf - 1) > 0 ? buf : "";
  }
};

// linux.namespaces[i].path for network, ipc and uts: the container is in the holder's
// namespaces (the same nsfs ids inside), and a control without the paths is not.
TEST_P(Oci, JoinsNetworkIpcUtsNamespacesByPath) {
  NsHolder h(as_root(), caller_uid(), caller_gid());
  ASSERT_GT(h.pid, 0) << "the holder could not make its namespaces";
  auto b = bundle();
  b->config.erase("hostname");
  b->script("for t in net ipc uts; do readlink /proc/self/ns/$t; done > /out/ns");
  b->config["linux"]["namespaces"] = {{{"type", "pid"}},
                                      {{"type", "mount"}},
                                      {{"type", "network"}, {"path", h.ns("net")}},
                                      {{"type", "ipc"}, {"path", h.ns("ipc")}},
                                      {{"type", "uts"}, {"path", h.ns("uts")}},
                                      {{"type", "user"}}};
  if (!as_root()) {
    // Its namespaces are owned by its user namespace: joined too (first, as nsenter).
    b->config["linux"]["namespaces"][5]["path"] = h.ns("user");
    b->config["linux"].erase("uidMappings");
    b->config["linux"].erase("gidMappings");
  }
  b->write();
  RunResult r = runtime({"run", "--bundle", b->dir.path(), id("join")});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string want = h.id("net") + "\n" + h.id("ipc") + "\n" + h.id("uts") + "\n";
  EXPECT_EQ(read_file(b->out / "ns"), want);
  // Control: new namespaces instead of the paths are others.
  for (int i : {2, 3, 4}) b->config["linux"]["namespaces"][i].erase("path");
  b->write();
  r = runtime({"run", "--bundle", b->dir.path(), id("nojoin")});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::istringstream got(read_file(b->out / "ns"));
  std::string net, ipc, uts;
  got >> net >> ipc >> uts;
  EXPECT_TRUE(contains(net, "net:[")) << net;
  EXPECT_NE(net, h.id("net"));
  EXPECT_NE(ipc, h.id("ipc"));
  EXPECT_NE(uts, h.id("uts"));
}

// A path to a namespace of another type (or to no namespace) is refused with its JSON
// path, exit 1, before anything runs; a mount namespace path is refused by the mapping.
TEST_P(Oci, JoiningTheWrongTypeOfNamespaceIsRefused) {
  NsHolder h(as_root(), caller_uid(), caller_gid());
  ASSERT_GT(h.pid, 0);
  auto b = bundle();
  b->script("echo ran > /out/ran");
  b->config["linux"]["namespaces"].push_back({{"type", "network"}, {"path", h.ns("ipc")}});
  b->write();
  const std::string cid = id("wrongns");
  RunResult r = runtime({"run", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "linux.namespaces[5].path: " + h.ns("ipc") +
                                  " is a ipc namespace, not a net namespace")) << r;
  b->config["linux"]["namespaces"][5]["path"] = b->dir / "config.json";
  b->write();
  r = runtime({"run", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "linux.namespaces[5].path: " + (b->dir / "config.json") +
                                  " is not a namespace file")) << r;
  b->config["linux"]["namespaces"][5] = {{"type", "ipc"}};
  b->config["linux"]["namespaces"][3] = {{"type", "mount"}, {"path", "/proc/self/ns/mnt"}};
  b->write();
  r = runtime({"run", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "config.json: linux.namespaces[3].path: joining an existing mount "
                              "namespace is not supported")) << r;
  EXPECT_FALSE(exists(b->out / "ran"));
  EXPECT_FALSE(exists(state_ + "/" + cid));
}

// kill --all reaches a background child of the container's process, and pid 1.
TEST_P(Oci, KillAllReachesABackgroundChild) {
  auto b = bundle();
  b->script("trap 'echo term >> /out/pid1' TERM; sleep 1000 & "
            "echo ready > /out/ready; while :; do sleep 0.1; done");
  b->write();
  const std::string cid = id("killall");
  RunResult r = runtime({"run", "--detach", "--bundle", b->dir.path(), cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(eventually([&] { return exists(b->out / "ready"); }));
  // The background `sleep 1000` among pid 1's children (a control: there before).
  const std::string p1 = std::to_string(state(cid)["pid"].get<pid_t>());
  auto background = [&] {
    int n = 0;
    for (const auto& c : words(read_file("/proc/" + p1 + "/task/" + p1 + "/children")))
      n += contains(read_file("/proc/" + c + "/cmdline"), "1000");
    return n;
  };
  EXPECT_EQ(background(), 1);
  r = runtime({"kill", "--all", cid, "TERM"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(eventually([&] { return background() == 0; })) << r;
  EXPECT_TRUE(eventually([&] { return exists(b->out / "pid1"); })) << r;
  EXPECT_EQ(state(cid)["status"], "running");  // pid 1 handled it and runs on
  r = runtime({"kill", "-a", cid, "KILL"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(eventually([&] { return state(cid)["status"] == "stopped"; }));
  r = runtime({"kill", "--all", cid, "KILL"});  // stopped: nothing left, as runc
  EXPECT_EQ(r.exit_code, 0) << r;
  r = runtime({"delete", cid});
  EXPECT_EQ(r.exit_code, 0) << r;
}

// ---- hooks (config.md "POSIX-platform Hooks", runtime.md's lifecycle) -----------------

// A host hook: saves its stdin (the state) as OUT/KIND.json and appends "KIND MNTNS" to
// OUT/hooks.log. Runs as the runtime's user, with only the environment config.json gives.
std::string host_hook(const Bundle& b) {
  std::string path = b.dir / "hook.sh";
  write_file(path,
             "#!/bin/sh\n"
             "cat > \"$OUT/$1.json\"\n"
             "echo \"$1 $(readlink /proc/self/ns/mnt) $MARK\" >> \"$OUT/hooks.log\"\n",
             0755);
  return path;
}
json hook_entry(const std::string& path, const std::string& kind, const std::string& out) {
  return {{"path", path},
          {"args", {"hook", kind}},
          {"env", {"PATH=/usr/bin:/bin", "OUT=" + out, "MARK=m-" + kind}}};
}
std::string mnt_ns_of(const std::string& pid) {
  char buf[64] = {};
  ssize_t n = ::readlink(("/proc/" + pid + "/ns/mnt").c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST_P(Oci, EveryHookKindRunsOnceAtItsPointWithTheState) {
  auto b = bundle();
  std::string hook = host_hook(*b);
  // startContainer runs inside the container: its path and its OUT are the container's.
  write_file(b->dir / "rootfs/bin/hook",
             "#!/bin/sh\n"
             "cat > \"$OUT/$1.json\"\n"
             "echo \"$1 $(/bin/busybox readlink /proc/self/ns/mnt) $MARK\" >> \"$OUT/hooks.log\"\n",
             0755);
  const std::string out = b->out.path();
  b->config["hooks"] = {
      {"prestart", {hook_entry(hook, "prestart", out)}},
      {"createRuntime", {hook_entry(hook, "createRuntime", out)}},
      {"createContainer", {hook_entry(hook, "createContainer", out)}},
      {"startContainer", {{{"path", "/bin/hook"},
                           {"args", {"hook", "startContainer"}},
                           {"env", {"PATH=/bin", "OUT=/out", "MARK=m-startContainer"}}}}},
      {"poststart", {hook_entry(hook, "poststart", out)}},
      {"poststop", {hook_entry(hook, "poststop", out)}}};
  b->script("echo command $(/bin/busybox readlink /proc/self/ns/mnt) x >> /out/hooks.log");
  b->write();
  const std::string cid = id("hooks");
  auto kinds = [&] {
    std::vector<std::string> k;
    for (const auto& l : lines(read_file(b->out / "hooks.log"))) k.push_back(words(l).at(0));
    return k;
  };
  RunResult r = runtime({"create", "--bundle", b->dir.path(), cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  // create: the three hooks before the pivot, in order, and nothing of start's yet.
  EXPECT_EQ(kinds(), (std::vector<std::string>{"prestart", "createRuntime", "createContainer"}));
  const pid_t pid = state(cid)["pid"].get<pid_t>();
  ASSERT_GT(pid, 0);
  r = runtime({"start", cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  // start returns once the process is exec'd and poststart ran.
  ASSERT_TRUE(eventually([&] { return kinds().size() == 6; })) << read_file(b->out / "hooks.log");
  auto k = kinds();
  EXPECT_EQ(k[3], "startContainer");
  EXPECT_TRUE((k[4] == "command" && k[5] == "poststart") || (k[4] == "poststart" && k[5] == "command"))
      << read_file(b->out / "hooks.log");
  ASSERT_TRUE(eventually([&] { return state(cid)["status"] == "stopped"; }));
  r = runtime({"delete", cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(exists(state_ + "/" + cid));
  k = kinds();
  ASSERT_EQ(k.size(), 7u);
  EXPECT_EQ(k[6], "poststop");

  // The state on each hook's stdin: the container's id, bundle, host pid, and the status the
  // spec gives for that point; each hook had its own environment (MARK).
  const std::map<std::string, std::string> status = {
      {"prestart", "creating"}, {"createRuntime", "creating"}, {"createContainer", "creating"},
      {"startContainer", "created"}, {"poststart", "running"}, {"poststop", "stopped"}};
  std::map<std::string, std::string> ns;
  for (const auto& l : lines(read_file(b->out / "hooks.log"))) {
    auto w = words(l);
    ns[w.at(0)] = w.at(1);
    if (w[0] != "command") {
      EXPECT_EQ(w.at(2), "m-" + w[0]);
    }
  }
  for (const auto& [kind, st] : status) {
    json j = json::parse(read_file(b->out / (kind + ".json")));
    EXPECT_EQ(j["id"], cid) << kind;
    EXPECT_EQ(j["status"], st) << kind;
    EXPECT_EQ(j["pid"], pid) << kind;
    EXPECT_EQ(j["bundle"], b->dir.path()) << kind;
    EXPECT_EQ(j["ociVersion"], "1.2.0") << kind;
  }
  // Where they ran: the runtime's hooks in the runtime's mount namespace (ours), the
  // container's two in the container's (the command's).
  const std::string host_ns = mnt_ns_of("self");
  for (const char* kind : {"prestart", "createRuntime", "poststart", "poststop"})
    EXPECT_EQ(ns[kind], host_ns) << kind;
  EXPECT_NE(ns["createContainer"], host_ns);
  EXPECT_EQ(ns["createContainer"], ns["command"]);
  EXPECT_EQ(ns["startContainer"], ns["command"]);
}

TEST_P(Oci, AFailingCreateRuntimeHookFailsCreateAndLeavesNothing) {
  auto b = bundle();
  std::string hook = host_hook(*b);
  const std::string out = b->out.path();
  b->config["hooks"] = {
      {"prestart", {hook_entry(hook, "prestart", out)}},
      {"createRuntime",
       {{{"path", "/bin/sh"},
         {"args", {"sh", "-c", "cat > \"$OUT/failing.json\"; echo $PPID > \"$OUT/parent\"; exit 3"}},
         {"env", {"OUT=" + out}}}}},
      {"createContainer", {hook_entry(hook, "createContainer", out)}},
      {"poststop", {hook_entry(hook, "poststop", out)}}};
  b->script("echo ran > /out/started");
  b->write();
  const std::string cid = id("hookfail");
  RunResult r = runtime({"create", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "hooks.createRuntime[0] (/bin/sh): exited with status 3")) << r;
  // The container's process (the state's pid) and its supervisor (the hook's parent) are gone.
  json st = json::parse(read_file(b->out / "failing.json"));
  const std::string pid = std::to_string(st["pid"].get<int>());
  ASSERT_NE(pid, "0");
  EXPECT_EQ(st["status"], "creating");
  EXPECT_TRUE(eventually([&] { return !exists("/proc/" + pid); })) << pid;
  const std::string parent = trim(read_file(b->out / "parent"));
  EXPECT_TRUE(eventually([&] { return !exists("/proc/" + parent); })) << parent;
  EXPECT_FALSE(exists(state_ + "/" + cid));
  EXPECT_FALSE(exists(b->out / "started"));
  // prestart ran before it, createContainer never; poststop as the container was destroyed.
  std::vector<std::string> k;
  for (const auto& l : lines(read_file(b->out / "hooks.log"))) k.push_back(words(l).at(0));
  EXPECT_EQ(k, (std::vector<std::string>{"prestart", "poststop"}));
  r = runtime({"state", cid});
  EXPECT_EQ(r.exit_code, 1);
}

TEST_P(Oci, AHookPastItsTimeoutIsKilledAndFails) {
  auto b = bundle();
  const std::string out = b->out.path();
  b->config["hooks"] = {
      {"createContainer",
       {{{"path", "/bin/sh"},
         {"args", {"sh", "-c", "echo $$ > \"$OUT/sleeper\"; exec sleep 60"}},
         {"env", {"PATH=/usr/bin:/bin", "OUT=" + out}},
         {"timeout", 1}}}}};
  b->write();
  const std::string cid = id("hooktime");
  auto t0 = std::chrono::steady_clock::now();
  RunResult r = runtime({"create", "--bundle", b->dir.path(), cid});
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "hooks.createContainer[0] (/bin/sh): timed out after 1 s and was killed"))
      << r;
  EXPECT_LT(took, std::chrono::seconds(20));
  const std::string sleeper = trim(read_file(b->out / "sleeper"));
  ASSERT_FALSE(sleeper.empty());
  EXPECT_FALSE(exists("/proc/" + sleeper)) << "the hook still runs";
  EXPECT_FALSE(exists(state_ + "/" + cid));
  // The control: the same hook with time to finish succeeds.
  b->config["hooks"]["createContainer"][0]["args"] = {"sh", "-c", "echo $$ > \"$OUT/sleeper\"; exec sleep 0.1"};
  b->write();
  r = runtime({"run", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 0) << r;
}

TEST_P(Oci, AFailingStartContainerHookFailsStart) {
  auto b = bundle();
  b->config["hooks"] = {{"startContainer", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "exit 5"}}}}}};
  b->script("echo ran > /out/started");
  b->write();
  const std::string cid = id("hookstart");
  RunResult r = runtime({"create", "--bundle", b->dir.path(), cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = runtime({"start", cid});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "hooks.startContainer[0] (/bin/sh): exited with status 5")) << r;
  EXPECT_EQ(state(cid)["status"], "stopped");
  EXPECT_FALSE(exists(b->out / "started"));  // the command never ran
  r = runtime({"delete", cid});
  EXPECT_EQ(r.exit_code, 0) << r;
}

// Hooks hold nothing of the runtime's beyond 0-2 (its state lock, fifos, the launch's
// channel and namespace handles are all open while they run). Each hook is ls of its own
// /proc/self/fd, printed on the runtime's stdout: 0-2 and the one ls opens for the listing
// (3, the lowest free: a leaked descriptor would show, and move it up). Without the
// hooks' close_range, the caller's fd 7 shows (checked by hand).
TEST_P(Oci, HooksInheritNoDescriptorBeyondTheStandardOnes) {
  auto b = bundle();
  const json ls = {{"path", "/bin/ls"}, {"args", {"ls", "/proc/self/fd"}}};
  b->config["hooks"] = {{"createRuntime", {ls}}, {"createContainer", {ls}}, {"startContainer", {ls}}};
  b->write();
  // The caller (an engine) leaves fd 7 open without O_CLOEXEC: not the hooks' either.
  RunOpts o = opts();
  o.leak_fds = {7};
  RunResult r = runtime({"run", "--bundle", b->dir.path(), id("hookfds")}, o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "0\n1\n2\n3\n0\n1\n2\n3\n0\n1\n2\n3\n") << r;
}

TEST_P(Oci, FeaturesAndHelp) {
  RunResult r = runtime({"features"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json f = json::parse(r.out);
  EXPECT_EQ(f["ociVersionMax"], "1.2.0");
  EXPECT_EQ(f["linux"]["seccomp"]["enabled"], true);
  // `sandbox oci` is the same runtime.
  RunOpts o = opts();
  RunResult h = run({"oci", "--help"}, o);
  EXPECT_EQ(h.exit_code, 0) << h;
  EXPECT_TRUE(contains(h.out, "usage: sandbox oci [GLOBAL OPTIONS] COMMAND")) << h;
  r = runtime({"pause", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "pause is not supported yet")) << r;
}

// ---- exec ------------------------------------------------------------------------------

// A running container for exec: it records its namespaces and cgroups and writes a file in
// its own /tmp (a tmpfs only its mount namespace has), then waits.
struct Running {
  std::string cid;
  pid_t pid = 0;
};
const char kRecord[] =
    "for n in user mnt pid net ipc uts cgroup; do echo $n $(readlink /proc/self/ns/$n); done "
    "> /tmp/ns; cat /proc/self/cgroup > /tmp/cgroup; echo written-by-the-container > /tmp/mark; "
    "touch /tmp/ready; while :; do sleep 0.1; done";

// The applets the exec tests use, beyond the bundle's.
void more_applets(const Bundle& b) {
  for (const char* c : {"readlink", "tr", "sort", "grep", "cut", "mkdir", "touch", "tty", "stty"})
    ::symlink("busybox", (b.dir / ("rootfs/bin/" + std::string(c))).c_str());
}

std::string read_link(const std::string& path) {
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? std::string("(") + std::strerror(errno) + ")" : std::string(buf, static_cast<size_t>(n));
}

std::string exec_ns_script() {
  return "for n in user mnt pid net ipc uts cgroup; do echo $n $(readlink /proc/self/ns/$n); done";
}

TEST_P(Oci, ExecJoinsTheRunningContainer) {
  auto b = bundle();
  more_applets(*b);
  write_file(b->dir / "rootfs/etc-marker", "from-the-root-fs\n", 0644);
  b->config["linux"]["namespaces"].push_back({{"type", "network"}});
  b->config["process"]["env"] = {"PATH=/bin", "FOO=from-config"};
  b->script(kRecord);
  b->write();
  const std::string cid = id("exec");
  RunResult r = runtime({"run", "--detach", "--bundle", b->dir.path(), cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  pid_t pid = state(cid)["pid"].get<pid_t>();
  // The container's /tmp is its own tmpfs: the mark is not on the host.
  RunResult ready = runtime({"exec", cid, "sh", "-c", "while [ ! -e /tmp/ready ]; do sleep 0.05; done"});
  ASSERT_EQ(ready.exit_code, 0) << ready;

  // Hostname, a file of the root fs, a file the container wrote in its tmpfs, env (the
  // config's plus -e), --cwd, the uid, and the exit status passed through.
  r = runtime({"exec", "-e", "X=from-exec", "--cwd", "/tmp", cid, "sh", "-c",
               "hostname; cat /etc-marker /tmp/mark; echo $FOO $X; pwd; id -u; id -g; exit 5"});
  EXPECT_EQ(r.exit_code, 5) << r;
  EXPECT_EQ(r.out, "ctr\nfrom-the-root-fs\nwritten-by-the-container\nfrom-config from-exec\n/tmp\n0\n0\n") << r;
  EXPECT_EQ(r.err, "");

  // Every namespace of the container, none of ours: the same ids as its command's.
  r = runtime({"exec", cid, "sh", "-c", exec_ns_script() + "; cat /proc/self/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r;
  RunResult theirs = runtime({"exec", cid, "cat", "/tmp/ns", "/tmp/cgroup"});
  ASSERT_EQ(theirs.exit_code, 0) << theirs;
  EXPECT_EQ(r.out, theirs.out);
  for (const std::string& l : lines(theirs.out)) {
    auto w = words(l);
    if (w.size() != 2 || w[0] == "cgroup" || w[1].find(':') == std::string::npos) continue;
    // Control: each is not the host's (the test's own).
    EXPECT_NE(w[1], read_link("/proc/self/ns/" + w[0])) << l;
  }
  // In its pid namespace: the container's process is there, with a pid of that namespace.
  std::string nspid;
  for (const std::string& l : lines(read_file("/proc/" + std::to_string(pid) + "/status")))
    if (l.rfind("NSpid:", 0) == 0) nspid = words(l).back();
  r = runtime({"exec", cid, "sh", "-c", "cat /proc/" + nspid + "/cmdline | tr '\\0' ' '; echo; echo $$"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto l = lines(r.out);
  ASSERT_EQ(l.size(), 2u) << r;
  EXPECT_FALSE(l[0].empty());
  EXPECT_LT(std::stoi(l[1]), 1000);  // a pid of the container's namespace, not the host's

  // Killed by a signal: 128+N, as runc.
  r = runtime({"exec", cid, "sh", "-c", "kill -9 $$"});
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r;
  // A command that is not there: the runtime says so and exits 1.
  r = runtime({"exec", cid, "no-such-command"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "can't execute no-such-command: No such file or directory")) << r;
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// --process: runc's process.json (what conmon writes for podman exec); terminal refused.
TEST_P(Oci, ExecWithAProcessFile) {
  auto b = bundle();
  more_applets(*b);
  b->script(kRecord);
  b->write();
  const std::string cid = id("execp");
  ASSERT_EQ(runtime({"run", "--detach", "--bundle", b->dir.path(), cid}).exit_code, 0);
  json p = {{"args", {"sh", "-c", "echo $Y; pwd; umask"}},
            {"env", {"PATH=/bin", "Y=from-process-json"}},
            {"cwd", "/bin"},
            {"user", {{"uid", 0}, {"gid", 0}, {"umask", 027}}}};
  write_file(b->out / "process.json", p.dump());
  RunResult r = runtime({"exec", "--process", b->out / "process.json", cid});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "from-process-json\n/bin\n0027\n");
  // A uid the container's user namespace does not map.
  p["user"]["uid"] = 1000;
  write_file(b->out / "process.json", p.dump());
  r = runtime({"exec", "--process", b->out / "process.json", cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "exec: process.json: process.user.uid: 1000 is not mapped")) << r;
  r = runtime({"exec", "-u", "1000", cid, "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "process.user.uid: 1000 is not mapped")) << r;
  // A terminal needs a console socket (sandbox-runc relays none itself), with either
  // spelling; a console socket needs a terminal.
  p["user"]["uid"] = 0;
  p["terminal"] = true;
  write_file(b->out / "process.json", p.dump());
  r = runtime({"exec", "--process", b->out / "process.json", cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "exec: a terminal (--tty or process.terminal) needs --console-socket")) << r;
  r = runtime({"exec", "--tty", cid, "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "exec: a terminal (--tty or process.terminal) needs --console-socket")) << r;
  r = runtime({"exec", "--console-socket", b->out / "no.sock", cid, "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "exec: --console-socket without a terminal")) << r;
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// Capabilities: the container's set, narrower if the process asks, never wider.
TEST_P(Oci, ExecCapabilitiesAreAtMostTheContainers) {
  auto b = bundle();
  more_applets(*b);
  const json caps = {"CAP_KILL", "CAP_CHOWN"};  // bits 5 and 0
  b->config["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  b->script("while :; do sleep 0.1; done");
  b->write();
  const std::string cid = id("execcap");
  ASSERT_EQ(runtime({"run", "--detach", "--bundle", b->dir.path(), cid}).exit_code, 0);
  const std::string show = "grep -E '^Cap(Bnd|Eff|Prm):' /proc/self/status | cut -f2; grep NoNewPrivs /proc/self/status | cut -f2";
  RunResult r = runtime({"exec", cid, "sh", "-c", show});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "0000000000000021\n0000000000000021\n0000000000000021\n1\n");
  json narrow = {"CAP_KILL"};
  json p = {{"args", {"sh", "-c", show}}, {"env", {"PATH=/bin"}}, {"cwd", "/"},
            {"capabilities", {{"bounding", narrow}, {"effective", narrow}, {"permitted", narrow}}}};
  write_file(b->out / "process.json", p.dump());
  r = runtime({"exec", "--process", b->out / "process.json", cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "0000000000000020\n0000000000000020\n0000000000000020\n1\n");
  // Wider: refused, naming what the container lacks; nothing runs.
  r = runtime({"exec", "--cap", "CAP_SYS_ADMIN", cid, "sh", "-c", "echo ran"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "the process asks for capabilities the container was not given: CAP_SYS_ADMIN")) << r;
  // One it has: accepted (the set stays the container's).
  r = runtime({"exec", "--cap", "CAP_KILL", cid, "sh", "-c", show});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(first_line(r.out), "0000000000000021");
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// The container's seccomp filter holds the exec'd process too. Control: the same exec into
// a container without the profile may make the directory.
TEST_P(Oci, ExecIsUnderTheContainersSeccompFilter) {
  auto b = bundle();
  more_applets(*b);
  b->script("while :; do sleep 0.1; done");
  b->write();
  const std::string mk = "if mkdir /tmp/d; then echo made; else echo denied; fi; grep '^Seccomp:' /proc/self/status | cut -f2";
  const std::string control = id("execsc-control");
  ASSERT_EQ(runtime({"run", "--detach", "--bundle", b->dir.path(), control}).exit_code, 0);
  RunResult r = runtime({"exec", control, "sh", "-c", mk});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "made\n0\n");
  EXPECT_EQ(runtime({"delete", "--force", control}).exit_code, 0);

  b->config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  b->write();
  const std::string cid = id("execsc");
  ASSERT_EQ(runtime({"run", "--detach", "--bundle", b->dir.path(), cid}).exit_code, 0);
  r = runtime({"exec", cid, "sh", "-c", mk});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "denied\n2\n");
  EXPECT_TRUE(contains(r.err, "Operation not permitted")) << r;
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// No descriptor reaches the process but stdio and --preserve-fds: a descriptor the caller
// leaked does, once asked for (the control), and never one of the runtime's.
TEST_P(Oci, ExecPassesOnlyStdioAndPreservedFds) {
  auto b = bundle();
  more_applets(*b);
  b->script("while :; do sleep 0.1; done");
  b->write();
  const std::string cid = id("execfd");
  ASSERT_EQ(runtime({"run", "--detach", "--bundle", b->dir.path(), cid}).exit_code, 0);
  RunOpts o = opts();
  o.leak_fds = {3, 7};
  // The shell's own descriptors, tested one by one (a listing would open one itself).
  const std::string list =
      "i=0; while [ $i -lt 256 ]; do [ -e /proc/$$/fd/$i ] && printf '%s ' $i; i=$((i+1)); done";
  RunResult r = runtime({"exec", cid, "sh", "-c", list}, o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "0 1 2 ");
  r = runtime({"exec", "--preserve-fds", "1", cid, "sh", "-c", list}, o);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "0 1 2 3 ");
  // A descriptor that is not open cannot be preserved (it would be one of ours).
  r = runtime({"exec", "--preserve-fds", "3", cid, "true"}, o);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "exec: --preserve-fds 3: fd 4 is not open")) << r;
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// --detach: the pid file names the process (in the container), the runtime exits 0 at
// once, and the process is the caller's subreaper's child, which reaps it (as conmon).
TEST_P(Oci, ExecDetachedWritesThePidOfTheProcess) {
  auto b = bundle();
  more_applets(*b);
  b->script(kRecord);
  b->write();
  const std::string cid = id("execd");
  ASSERT_EQ(runtime({"run", "--detach", "--bundle", b->dir.path(), cid}).exit_code, 0);
  pid_t ctr = state(cid)["pid"].get<pid_t>();
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  RunResult r = runtime({"exec", "-d", "--pid-file", b->out / "exec.pid", cid, "sh", "-c", "sleep 30; exit 9"});
  ASSERT_EQ(r.exit_code, 0) << r;
  pid_t pid = std::stoi(read_file(b->out / "exec.pid"));
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(contains(read_file("/proc/" + std::to_string(pid) + "/cmdline"), "sleep 30"));
  EXPECT_EQ(read_link("/proc/" + std::to_string(pid) + "/ns/pid"),
            read_link("/proc/" + std::to_string(ctr) + "/ns/pid"));
  EXPECT_EQ(read_link("/proc/" + std::to_string(pid) + "/ns/mnt"),
            read_link("/proc/" + std::to_string(ctr) + "/ns/mnt"));
  ::kill(pid, SIGTERM);
  int st = 0;
  pid_t got = ::waitpid(pid, &st, 0);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  EXPECT_EQ(got, pid) << "the detached process is not the subreaper's child";
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) << st;
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// With cgroup limits (linux.resources), the exec'd process joins the container's cgroups:
// the limits hold it too. Where no limit can be enforced here (the command line's --pids
// is the control), create fails closed and there is nothing to join.
TEST_P(Oci, ExecJoinsTheContainersCgroups) {
  auto b = bundle();
  more_applets(*b);
  RunResult cli = run({"--unshare-user", "--cap-drop", "ALL", "--ro-bind", kBusybox, kBusybox,
                       "--pids", "64", kBusybox, "true"}, opts());
  if (cli.exit_code != 0) GTEST_SKIP() << "no enforceable pids limit here (control: " << cli.err << ")";
  b->config["linux"]["resources"] = {{"pids", {{"limit", 64}}}};
  b->script(kRecord);
  b->write();
  const std::string cid = id("execcg");
  RunResult r = runtime({"run", "--detach", "--bundle", b->dir.path(), cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = runtime({"exec", cid, "sh", "-c", "while [ ! -e /tmp/ready ]; do sleep 0.05; done; cat /tmp/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string theirs = r.out;
  // Control: the container's cgroups are not the runtime's (ours).
  ASSERT_NE(theirs, read_file("/proc/self/cgroup"));
  r = runtime({"exec", cid, "cat", "/proc/self/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, theirs);
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// The engine's end of a console socket: one descriptor received with SCM_RIGHTS.
int receive_master(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) return -1;
  int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return -1;
  const int fd = recv_single_fd(conn);
  ::close(conn);
  return fd;
}

// What the process writes on its terminal, until it closes it (EIO on the master).
std::string read_master(int fd) {
  std::string out;
  char buf[512];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// --tty / process.terminal: a pty of the container's devpts, its master sent over the
// console socket (as conmon gets it for podman exec -it), the slave the process's stdio
// and controlling terminal, with process.consoleSize.
TEST_P(Oci, ExecWithATerminal) {
  auto b = bundle();
  more_applets(*b);
  b->script("while :; do sleep 0.1; done");
  b->write();
  const std::string cid = id("exectty");
  ASSERT_EQ(runtime({"run", "--detach", "--bundle", b->dir.path(), cid}).exit_code, 0);
  const std::string sock = b->out / "console.sock";
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::chmod(sock.c_str(), 0777);  // the unprivileged runtime connects to it
  ASSERT_EQ(::listen(listener, 4), 0);
  const std::string show = "tty; stty size; [ -t 0 ] && echo stdin-is-a-terminal; "
      "i=0; while [ $i -lt 256 ]; do [ -e /proc/$$/fd/$i ] && printf '%s ' $i; i=$((i+1)); done";
  json p = {{"args", {"sh", "-c", show}}, {"env", {"PATH=/bin"}}, {"cwd", "/"},
            {"terminal", true}, {"consoleSize", {{"height", 33}, {"width", 99}}}};
  write_file(b->out / "process.json", p.dump());
  RunResult r = runtime({"exec", "-d", "--console-socket", sock, "--pid-file", b->out / "pid",
                         "--process", b->out / "process.json", cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  int master = receive_master(listener);
  ASSERT_GE(master, 0) << "no pty master on the console socket";
  std::string out = read_master(master);
  EXPECT_EQ(out, "/dev/pts/0\r\n33 99\r\nstdin-is-a-terminal\r\n0 1 2 ") << out;
  ::close(master);
  // -t spells the same; without consoleSize the size is the pty's default.
  r = runtime({"exec", "-d", "-t", "--console-socket", sock, cid, "sh", "-c", "[ -t 1 ] && echo tty"});
  ASSERT_EQ(r.exit_code, 0) << r;
  master = receive_master(listener);
  ASSERT_GE(master, 0);
  EXPECT_EQ(read_master(master), "tty\r\n");
  ::close(master);
  ::close(listener);
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// A stopped or unknown container: a clear error, exit 1.
TEST_P(Oci, ExecIntoAStoppedOrUnknownContainerFails) {
  auto b = bundle();
  b->script("true");
  b->write();
  const std::string cid = id("execstop");
  ASSERT_EQ(runtime({"run", "--detach", "--bundle", b->dir.path(), cid}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return state(cid)["status"] == "stopped"; }));
  RunResult r = runtime({"exec", cid, "sh", "-c", "echo ran"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "container " + cid + " is stopped: cannot exec in it")) << r;
  EXPECT_EQ(runtime({"delete", cid}).exit_code, 0);
  r = runtime({"exec", cid, "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "container " + cid + " does not exist")) << r;
}

INSTANTIATE_TEST_SUITE_P(Modes, Oci, ::testing::Values(false, true), mode_name);

// ---- Id maps of several ranges (linux.uidMappings/gidMappings) -----------------------------
// Container 0 is the caller, 1..65536 a subordinate range on the host. Root writes such maps
// itself; unprivileged, newuidmap/newgidmap (Debian's uidmap) write them from the ranges
// /etc/subuid and /etc/subgid give the caller, looked up by its user name. When the tests
// are root, the unprivileged uid gets a range (and a name) from the test's own files bound
// over /etc/subuid, /etc/subgid and /etc/passwd in a private mount namespace of the runtime
// process only: the host's files stay as they are.
class OciIdMaps : public Oci {
 protected:
  static constexpr uint32_t kSubCount = 65536;
  void SetUp() override {
    Oci::SetUp();
    if (IsSkipped() || as_root()) return;
    IT_REQUIRE_FILE("/usr/bin/newuidmap");
    IT_REQUIRE_FILE("/usr/bin/newgidmap");
    if (!is_root()) {
      // Not root: only the host's own ranges for this user can do.
      const passwd* pw = ::getpwuid(::getuid());
      std::optional<uint32_t> u = pw ? host_range("/etc/subuid", pw->pw_name) : std::nullopt;
      std::optional<uint32_t> g = pw ? host_range("/etc/subgid", pw->pw_name) : std::nullopt;
      if (!u || !g || *u != *g)
        GTEST_SKIP() << "no equal ranges of " << kSubCount << " ids for this user in /etc/subuid and "
                     << "/etc/subgid (and the tests are not root to give it some)";
      sub_start_ = *u;
      return;
    }
    const auto [name, binds] = unpriv_user_name(files_.path());
    write_file(files_ / "subid", name + ":" + std::to_string(sub_start_) + ":" + std::to_string(kSubCount) + "\n");
    write_file(files_ / "subid-none", "somebody-else:" + std::to_string(sub_start_) + ":" +
                                          std::to_string(kSubCount) + "\n");
    with_ids_ = binds;
    without_ids_ = binds;
    for (const char* f : {"/etc/subuid", "/etc/subgid"}) {
      with_ids_.emplace_back(files_ / "subid", f);
      without_ids_.emplace_back(files_ / "subid-none", f);
      if (!binds.empty()) without_name_.emplace_back(files_ / "subid", f);
    }
  }

  // The first range of `count` ids `user` has in `file`, if any.
  static std::optional<uint32_t> host_range(const std::string& file, const std::string& user) {
    for (const std::string& l : lines(read_file(file))) {
      size_t a = l.find(':'), b = l.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos || l.substr(0, a) != user) continue;
      if (std::stoul(l.substr(b + 1)) >= kSubCount) return static_cast<uint32_t>(std::stoul(l.substr(a + 1, b - a - 1)));
    }
    return std::nullopt;
  }

  // The runtime, unprivileged with (or without) its subordinate ids.
  enum class Ids { Given, None, NoUserName };
  RunResult rt(const Args& args, Ids ids = Ids::Given) {
    RunOpts o = opts();
    if (!as_root() && is_root())
      o.in_child = bind_files_over(ids == Ids::Given ? with_ids_ : ids == Ids::None ? without_ids_ : without_name_);
    return runtime(args, o);
  }

  // The two maps, and what /proc/self/uid_map shows for them (words, line by line).
  void multi_range(Bundle& b) const {
    for (auto [key, own] : {std::pair{"uidMappings", caller_uid()}, std::pair{"gidMappings", caller_gid()}})
      b.config["linux"][key] = {{{"containerID", 0}, {"hostID", own}, {"size", 1}},
                                {{"containerID", 1}, {"hostID", sub_start_}, {"size", kSubCount}}};
  }
  std::string map_words(uint32_t own) const {
    return "0 " + std::to_string(own) + " 1 1 " + std::to_string(sub_start_) + " " + std::to_string(kSubCount);
  }
  static std::string joined(const std::vector<std::string>& w) {
    std::string out;
    for (const auto& x : w) out += (out.empty() ? "" : " ") + x;
    return out;
  }

  uint32_t sub_start_ = 200000;
  TempDir files_{0755};
  // without_name_: the ranges, but no /etc/passwd entry (empty when the host has one).
  std::vector<std::pair<std::string, std::string>> with_ids_, without_ids_, without_name_;
};

// The process sees both ranges in its maps; a file it chowns to uid 1000 in a bind-mounted
// directory is owned on the host by the id the map gives 1000; additionalGids are its groups.
TEST_P(OciIdMaps, TheProcessSeesTheMapsAndTheHostTheMappedOwner) {
  auto b = bundle();
  more_applets(*b);
  ::symlink("busybox", (b->dir / "rootfs/bin/chown").c_str());
  multi_range(*b);
  b->config["process"]["user"]["additionalGids"] = {5, 1000};
  for (const char* set : {"bounding", "effective", "permitted"}) b->config["process"]["capabilities"][set] = {"CAP_CHOWN"};
  b->script("cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; id -G; "
            "grep Groups: /proc/self/status; touch /out/mine /out/chowned && chown 1000:1000 /out/chowned");
  b->write();
  const std::string cid = id("idmaps");
  RunResult r = rt({"run", "--bundle", b->dir.path(), cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto parts = lines(r.out);
  std::vector<std::string> sections(1);
  for (const auto& l : parts) {
    if (l == "--") sections.emplace_back();
    else sections.back() += l + "\n";
  }
  ASSERT_EQ(sections.size(), 3u) << r;
  EXPECT_EQ(joined(words(sections[0])), map_words(caller_uid())) << r;
  EXPECT_EQ(joined(words(sections[1])), map_words(caller_gid())) << r;
  auto rest = lines(sections[2]);
  ASSERT_EQ(rest.size(), 2u) << r;
  EXPECT_EQ(rest[0], "0 5 1000");  // gid 0, then the supplementary groups
  EXPECT_EQ(joined(words(rest[1])), "Groups: 5 1000");
  // On the host: container 0 is the caller; container 1000 is the range's 1000th id.
  struct stat mine{}, chowned{};
  ASSERT_EQ(::stat((b->out / "mine").c_str(), &mine), 0);
  ASSERT_EQ(::stat((b->out / "chowned").c_str(), &chowned), 0);
  EXPECT_EQ(mine.st_uid, caller_uid());
  EXPECT_EQ(mine.st_gid, caller_gid());
  EXPECT_EQ(chowned.st_uid, sub_start_ + 999);
  EXPECT_EQ(chowned.st_gid, sub_start_ + 999);
  EXPECT_FALSE(exists(state_ + "/" + cid));  // run deletes what it created
}

// exec joins the container's user namespace (no helper needed) and takes process.json's
// uid, gid and additionalGids inside, as the container's command did; an unmapped group is
// refused with its path.
TEST_P(OciIdMaps, ExecTakesTheProcessIdsAndGroups) {
  auto b = bundle();
  more_applets(*b);
  multi_range(*b);
  b->config["process"]["args"] = {"sleep", sleep_token()};
  b->write();
  const std::string cid = id("idexec");
  RunResult r = rt({"run", "--detach", "--bundle", b->dir.path(), cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  write_file(b->dir / "process.json",
             json{{"args", {"sh", "-c", "id; grep Groups: /proc/self/status; cat /proc/self/uid_map"}},
                  {"cwd", "/"}, {"env", {"PATH=/bin"}},
                  {"user", {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {7, 1000}}}}}
                 .dump());
  r = runtime({"exec", "--process", b->dir / "process.json", cid});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto l = lines(r.out);
  ASSERT_EQ(l.size(), 4u) << r;
  EXPECT_EQ(l[0], "uid=1000 gid=1000 groups=7,1000");
  EXPECT_EQ(joined(words(l[1])), "Groups: 7 1000");
  EXPECT_EQ(joined(words(l[2] + " " + l[3])), map_words(caller_uid()));
  // Control: the config's process (uid 0, no additionalGids) has no supplementary groups
  // (the runtime's own are dropped: setgroups is allowed in this namespace).
  r = runtime({"exec", cid, "sh", "-c", "id; grep Groups: /proc/self/status"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(joined(words(r.out)), "uid=0 gid=0 Groups:");
  r = runtime({"exec", "-g", "70000", cid, "id"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "process.user.additionalGids[0]: gid 70000 is not mapped in linux.gidMappings")) << r;
  EXPECT_EQ(runtime({"delete", "--force", cid}).exit_code, 0);
}

// Unprivileged without subordinate ids: create fails before anything runs, naming the map
// and /etc/subuid, and leaves nothing under --root. Control: the same with the ids works.
// Root needs none: it writes the maps itself.
TEST_P(OciIdMaps, WithoutSubordinateIdsOnlyRootCreates) {
  if (!as_root() && !is_root()) GTEST_SKIP() << "needs root to take this user's subordinate ids away";
  auto b = bundle();
  multi_range(*b);
  b->script("echo ran > /out/ran");
  b->write();
  if (as_root()) {
    // Root writes the maps itself (CAP_SETUID): no subordinate ids, no newuidmap, and
    // ranges no /etc/subuid gives anybody work.
    const std::string cid = id("rootmaps");
    RunResult r = rt({"run", "--bundle", b->dir.path(), cid}, Ids::None);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(read_file(b->out / "ran"), "ran\n");
    EXPECT_FALSE(exists(state_ + "/" + cid));
    return;
  }
  const std::string ok = id("withids");
  RunResult r = rt({"create", "--bundle", b->dir.path(), ok});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(runtime({"delete", "--force", ok}).exit_code, 0);
  const std::string cid = id("noids");
  r = rt({"create", "--bundle", b->dir.path(), cid}, Ids::None);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "linux.uidMappings: /usr/bin/newuidmap refused the map")) << r;
  EXPECT_TRUE(contains(r.err, "/etc/subuid")) << r;
  EXPECT_FALSE(exists(state_ + "/" + cid));
  EXPECT_FALSE(exists(b->out / "ran"));
  EXPECT_EQ(runtime({"state", cid}).exit_code, 1);
  if (without_name_.empty()) return;  // the unprivileged uid has a name on this host
  // The ranges are there but the uid has no user name, by which newuidmap finds them.
  r = rt({"create", "--bundle", b->dir.path(), cid}, Ids::NoUserName);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "uid " + std::to_string(unpriv_uid()) + " needs a user name in /etc/passwd")) << r;
  EXPECT_FALSE(exists(state_ + "/" + cid));
}

// An additionalGid the gid map does not hold is refused with its JSON path; so is any with
// the single-id map (which denies setgroups). Nothing is left under --root.
TEST_P(OciIdMaps, AdditionalGidsOutsideTheMapAreRefused) {
  auto b = bundle();
  multi_range(*b);
  b->config["process"]["user"]["additionalGids"] = {5, 70000};
  b->write();
  const std::string cid = id("badgid");
  RunResult r = rt({"create", "--bundle", b->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "process.user.additionalGids[1]: gid 70000 is not mapped in linux.gidMappings")) << r;
  EXPECT_FALSE(exists(state_ + "/" + cid));
  auto single = bundle();  // container 0 is the caller, nothing else
  single->config["process"]["user"]["additionalGids"] = {0};
  single->write();
  r = rt({"create", "--bundle", single->dir.path(), cid});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "process.user.additionalGids: supplementary groups need linux.gidMappings "
                              "written from outside")) << r;
  EXPECT_FALSE(exists(state_ + "/" + cid));
}

INSTANTIATE_TEST_SUITE_P(Modes, OciIdMaps, ::testing::Values(false, true), mode_name);

}  // namespace
}  // namespace it
