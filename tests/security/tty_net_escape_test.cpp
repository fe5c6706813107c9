// Escapes through the caller's terminal (TIOCSTI input injection) and through the network
// (host loopback services, abstract Unix sockets, rejoining the host's network namespace).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <iostream>

#include "escape.hpp"

namespace it {
namespace {

class TtyNetEscapeTest : public SandboxTest {};
class TtyNetEscapeModeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, TtyNetEscapeModeTest, ::testing::Bool(), mode_name);

// ---- 5. TIOCSTI into the caller's terminal -----------------------------------------------

// The caller: python3 (run by the harness as the caller's uid) opens a pty, starts the
// sandbox on it as its controlling terminal (a new session led by the sandbox, like a login
// shell's child), and afterwards reports everything written to the pty master (echo of any
// injected input) and the input still queued on the terminal: what the caller's shell would
// read and execute next.
const char* kPtyDriver = R"PY(
import fcntl, os, select, sys, termios, time
master, slave = os.openpty()
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
def drain(timeout):
    global out
    end = time.time() + timeout
    while True:
        r, _, _ = select.select([master], [], [], max(0, end - time.time()))
        if not r:
            return
        try:
            d = os.read(master, 65536)
        except OSError:
            return
        if not d:
            return
        out += d
deadline = time.time() + 10
while True:
    drain(0.02)
    p, st = os.waitpid(pid, os.WNOHANG)
    if p or time.time() > deadline:
        break
drain(0.2)
fcntl.fcntl(slave, fcntl.F_SETFL, fcntl.fcntl(slave, fcntl.F_GETFL) | os.O_NONBLOCK)
pending = b''
try:
    while True:
        d = os.read(slave, 65536)
        if not d:
            break
        pending += d
except OSError:
    pass
print('status=%d' % (os.waitstatus_to_exitcode(st) if p else -1))
print('master=' + out.hex())
print('pending=' + pending.hex())
)PY";

// Inside: TIOCSCTTY (steal the terminal back as controlling terminal) and TIOCSTI of the
// payload (hex in argv[1], so that it never appears in plain text by itself) on stdin,
// /dev/tty and /dev/console (the caller's terminal bound in by --dev).
const char* kTiocsti = R"PY(
import errno, fcntl, os, sys, termios
payload = bytes.fromhex(sys.argv[1])
res = []
fds = [('stdin', 0)]
for path in ('/dev/tty', '/dev/console'):
    try:
        fds.append((path, os.open(path, os.O_RDWR | os.O_NOCTTY)))
    except OSError as e:
        res.append('%s.open=%s' % (path, errno.errorcode[e.errno]))
for name, fd in fds:
    try:
        fcntl.ioctl(fd, termios.TIOCSCTTY, 1)
        res.append('%s.sctty=ok' % name)
    except OSError as e:
        res.append('%s.sctty=%s' % (name, errno.errorcode[e.errno]))
    try:
        for b in payload:
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([b]))
        res.append('%s.sti=ok' % name)
    except OSError as e:
        res.append('%s.sti=%s' % (name, errno.errorcode[e.errno]))
print('RESULT ' + ' '.join(res))
)PY";

struct PtyRun {
  RunResult r;
  std::string master;   // everything the pty master read
  std::string pending;  // input left queued on the terminal
  std::string inside;   // the RESULT line of the attack
};

// Runs `script` (python, the payload in hex as argv[1]) in the sandbox on a pty that is the
// caller's controlling terminal.
// `exe`: the sandbox binary to run (kBwrap for the peer).
PtyRun run_on_pty(const Args& flags, const std::string& payload, RunOpts o,
                  const std::string& script = kTiocsti, const std::string& exe = "") {
  std::string hex;
  for (unsigned char c : payload) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", c);
    hex += b;
  }
  o.exe = kPython;
  Args args = {"-c", kPtyDriver, exe.empty() ? sandbox_path() : exe};
  Args inner = with_root(cat({flags, {"--dev", "/dev", "--proc", "/proc"}, py(script, {hex})}));
  args.insert(args.end(), inner.begin(), inner.end());
  PtyRun p;
  p.r = run(args, o);
  auto m = key_values(p.r.out);
  p.master = unhex(m["master"]);
  p.pending = unhex(m["pending"]);
  auto pos = p.master.find("RESULT ");
  if (pos != std::string::npos) p.inside = first_line(p.master.substr(pos));
  return p;
}

std::ostream& operator<<(std::ostream& os, const PtyRun& p) {
  return os << p.r << "\n  master: <<<" << p.master << ">>>\n  pending input: <<<" << p.pending
            << ">>>";
}

bool legacy_tiocsti_enabled() {
  std::string v = trim(read_file("/proc/sys/dev/tty/legacy_tiocsti"));
  return v.empty() || v == "1";  // the knob exists since Linux 6.2; before, always enabled
}

// CVE-2017-5226 (bwrap): without a new session the command shares the caller's controlling
// terminal and can push "rm -rf ~\n" into its input queue with TIOCSTI, to be run by the
// caller's shell once the sandbox exits. With --new-session the command has no controlling
// terminal: TIOCSTI, and TIOCSCTTY to take the terminal back, fail on every descriptor of it
// (even with every capability in the sandbox's user namespace: both need CAP_SYS_ADMIN in
// the initial one). The control run without --new-session shows the injection when the
// kernel still allows TIOCSTI (dev.tty.legacy_tiocsti=1).
TEST_P(TtyNetEscapeModeTest, NewSessionBlocksTiocsti) {
  IT_REQUIRE_FILE("/dev/ptmx");
  RecordProperty("legacy_tiocsti", legacy_tiocsti_enabled() ? "1" : "0");
  const std::string marker = "SBPWNED" + unique_suffix();
  const std::string payload = "echo " + marker + "\n";

  // Control: the caller's session, the attack works, unless this kernel refuses TIOCSTI to
  // everyone (dev.tty.legacy_tiocsti=0, or no such ioctl): then there is nothing to protect
  // against, and the test skips with what the control saw.
  {
    auto p = run_on_pty({}, payload, opts());
    ASSERT_EQ(p.r.exit_code, 0) << p;
    ASSERT_TRUE(contains(p.r.out, "status=0")) << p;
    ASSERT_TRUE(contains(p.inside, "RESULT")) << "the attack ran" << p;
    if (!contains(p.inside, "stdin.sti=ok"))
      GTEST_SKIP() << "control: TIOCSTI fails even in the caller's session on this kernel ("
                   << p.inside << "; dev.tty.legacy_tiocsti="
                   << trim(read_file("/proc/sys/dev/tty/legacy_tiocsti")) << ")";
    EXPECT_TRUE(contains(p.pending, marker)) << "control: injected input is queued" << p;
  }

  std::vector<Args> variants = {{"--new-session"}, {"--new-session", "--unshare-pid"}};
  if (as_root()) {
    // Root keeps CAP_SYS_ADMIN by default, which TIOCSTI honours: drop it.
    for (auto& v : variants) v.insert(v.end(), {"--cap-drop", "ALL"});
  } else {
    variants.push_back(cat({{"--new-session"}, uid0_all_caps()}));
  }
  for (const Args& flags : variants) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    // Peer: bwrap with the same options (--new-session exists since CVE-2017-5226).
    if (have_bwrap()) {
      auto b = run_on_pty(flags, payload, opts(), kTiocsti, kBwrap);
      ASSERT_TRUE(contains(b.inside, "RESULT")) << "bwrap: the attack ran" << b;
      EXPECT_FALSE(contains(b.pending, marker)) << "bwrap: input injected" << b;
    }
    auto p = run_on_pty(flags, payload, opts());
    ASSERT_EQ(p.r.exit_code, 0) << p;
    ASSERT_TRUE(contains(p.r.out, "status=0")) << p;
    ASSERT_TRUE(contains(p.inside, "RESULT")) << "the attack ran" << p;
    EXPECT_FALSE(contains(p.inside, ".sti=ok")) << p;
    EXPECT_FALSE(contains(p.inside, ".sctty=ok")) << p;
    EXPECT_FALSE(contains(p.pending, marker)) << "input injected into the caller's terminal" << p;
    EXPECT_FALSE(contains(p.master, marker)) << "injected input echoed on the terminal" << p;
    EXPECT_FALSE(contains(p.r.out, marker)) << p;
  }
}

// Inside: make the sandbox's own init (pid 1 with --unshare-pid) open its controlling
// terminal (/dev/tty, or the command's stdin through /proc/PID/fd/0) and run TIOCSTI with the
// payload (see kPtraceInjectPrelude).
const std::string kInitInject = kPtraceInjectPrelude + R"PY(
payload = bytes.fromhex(sys.argv[1])
t = Tracee(1)
res = []
fd = -1
for path in ('/dev/tty', '/proc/%d/fd/0' % os.getpid()):
    fd = t.syscall(257, -100, t.poke(0, path.encode() + b'\0'), os.O_RDWR | os.O_NOCTTY)
    res.append('init-open(%s)=%s' % (path, ename(fd)))
    if fd >= 0:
        break
sent, err = 0, ''
if fd >= 0:
    for b in payload:
        r = t.syscall(16, fd, 0x5412, t.poke(64, bytes([b])))  # ioctl(fd, TIOCSTI, &b)
        if r == 0:
            sent += 1
        else:
            err = ' ' + ename(r)
    t.syscall(3, fd)  # close
res.append('init-tiocsti=%d/%d%s' % (sent, len(payload), err))
t.detach()
print('RESULT ' + ' '.join(res))
)PY";

// CVE-2017-5226 again, through the sandbox's init: --new-session must take the caller's
// terminal away from every process of the sandbox, not only from the command. With
// --unshare-pid, pid 1 (init, a fork of the sandbox made before the command calls setsid) is
// reachable by ptrace from the command; if init is still in the caller's session with the
// caller's terminal as its controlling terminal, the command makes init run TIOCSTI and the
// payload lands in the caller's shell input. bwrap calls setsid() before forking its init,
// which therefore has no controlling terminal (there this attack reads "ENXIO" / "EPERM").
TEST_P(TtyNetEscapeModeTest, NewSessionTiocstiThroughSandboxInit) {
  IT_REQUIRE_FILE("/dev/ptmx");
  const std::string marker = "SBPWNED" + unique_suffix();
  const std::string payload = "echo " + marker + "\n";
  const std::string all_sent = "init-tiocsti=" + std::to_string(payload.size()) + "/";
  // The command may trace init (CAP_SYS_PTRACE over it: every capability in the sandbox's user
  // namespace, or a root caller's own) so that the attack gets as far as TIOCSTI.
  const Args tracer = as_root() ? Args{"--cap-drop", "ALL", "--cap-add", "CAP_SYS_PTRACE"}
                                : uid0_all_caps();
  // Control: the same attack without --new-session, where init keeps the caller's terminal
  // as its controlling terminal: the payload lands in the caller's input. Our init is also
  // non-dumpable (issue 13.1), which stops an unprivileged caller's tracer even there; then
  // bwrap, whose init a command with every capability in its namespace can trace, is the
  // peer that shows the attack. Skipped (with what it saw) when this kernel refuses TIOCSTI
  // or single-stepping altogether.
  {
    const Args control_flags = cat({{"--unshare-pid"}, tracer});
    auto c = run_on_pty(control_flags, payload, opts(), kInitInject);
    if (!contains(c.inside, all_sent) && have_bwrap()) {
      RecordProperty("control_sandbox", c.inside);
      c = run_on_pty(control_flags, payload, opts(), kInitInject, kBwrap);
    }
    ASSERT_EQ(c.r.exit_code, 0) << "control" << c;
    ASSERT_TRUE(contains(c.inside, "RESULT")) << "control: the attack ran" << c;
    if (contains(c.inside, "RESULT skipped") || !contains(c.inside, all_sent))
      GTEST_SKIP() << "control: the injection through init does not work on this machine ("
                   << c.inside << "; dev.tty.legacy_tiocsti="
                   << trim(read_file("/proc/sys/dev/tty/legacy_tiocsti")) << ")";
    EXPECT_TRUE(contains(c.pending, marker)) << "control: injected through init" << c;
  }
  std::vector<Args> variants = {{"--new-session", "--unshare-pid"},
                                cat({{"--new-session", "--unshare-pid"}, tracer})};
  if (as_root()) variants[0].insert(variants[0].end(), {"--cap-drop", "ALL"});
  for (const Args& flags : variants) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    // Peer: bwrap with the same options (it calls setsid() before forking its init).
    if (have_bwrap()) {
      auto b = run_on_pty(flags, payload, opts(), kInitInject, kBwrap);
      ASSERT_TRUE(contains(b.inside, "RESULT")) << "bwrap: the attack ran" << b;
      EXPECT_FALSE(contains(b.pending, marker)) << "bwrap: injected through its init" << b;
      RecordProperty("bwrap inside" + std::to_string(flags.size()), b.inside);
    }
    auto p = run_on_pty(flags, payload, opts(), kInitInject);
    ASSERT_EQ(p.r.exit_code, 0) << p;
    ASSERT_TRUE(contains(p.r.out, "status=0")) << p;
    ASSERT_TRUE(contains(p.inside, "RESULT")) << "the attack ran" << p;
    RecordProperty("inside" + std::to_string(flags.size()), p.inside);
    EXPECT_FALSE(contains(p.pending, marker))
        << "input injected into the caller's terminal through the sandbox's init" << p;
    EXPECT_FALSE(contains(p.master, marker)) << "injected input echoed on the terminal" << p;
    EXPECT_FALSE(contains(p.inside, all_sent)) << p;
  }
}

// ---- 8. Host network services (HostServices: escape.hpp) ----------------------------------

// Connects to 127.0.0.1:argv[1] and to the abstract socket argv[2]; with argv[3] == "setns",
// also tries to join the network namespace of its parent (the supervisor, outside) through
// /proc/PPID/ns/net and connect from there.
const char* kConnect = R"PY(
import ctypes, errno, os, socket, sys
def tcp(tag):
    try:
        socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=2).close()
        print('%s=CONNECTED' % tag)
    except OSError as e:
        print('%s=%s' % (tag, errno.errorcode.get(e.errno, str(e))))
def unix(tag):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect('\0' + sys.argv[2])
        print('%s=CONNECTED' % tag)
    except OSError as e:
        print('%s=%s' % (tag, errno.errorcode.get(e.errno, str(e))))
    s.close()
tcp('tcp')
unix('unix')
if sys.argv[3:] == ['setns']:
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        fd = os.open('/proc/%d/ns/net' % os.getppid(), os.O_RDONLY)
        r = libc.setns(fd, 0x40000000)  # CLONE_NEWNET
        print('setns=' + ('ok' if r == 0 else errno.errorcode[ctypes.get_errno()]))
    except OSError as e:
        print('setns=open-' + errno.errorcode[e.errno])
    tcp('tcp-after-setns')
    unix('unix-after-setns')
)PY";

// With --unshare-net the host's loopback services and abstract sockets are out of reach,
// and the host's network namespace cannot be rejoined through the supervisor's
// /proc/PID/ns/net; without it they are reachable (the control). A sandbox that forgot the
// namespace, or shares it, prints CONNECTED.
TEST_P(TtyNetEscapeModeTest, UnshareNetBlocksHostLoopbackAndAbstractSockets) {
  HostServices host;
  ASSERT_TRUE(host.ok());
  const Args args = {std::to_string(host.port()), host.abstract_name()};

  auto control = run(with_root(py(kConnect, args)), opts());
  ASSERT_EQ(control.exit_code, 0) << control;
  auto c = key_values(control.out);
  EXPECT_EQ(c["tcp"], "CONNECTED") << "control" << control;
  EXPECT_EQ(c["unix"], "CONNECTED") << "control" << control;

  // Control for rejoining (needs the tests to run as root): a root caller keeps its
  // capabilities, so the same script's setns into the supervisor's namespace works and the
  // host's services answer again.
  if (is_root()) {
    Args a = args;
    a.push_back("setns");
    auto r = run(with_root(cat({{"--unshare-net", "--proc", "/proc"}, py(kConnect, a)})), {});
    ASSERT_EQ(r.exit_code, 0) << "control" << r;
    auto m = key_values(r.out);
    EXPECT_EQ(m["tcp"], "ECONNREFUSED") << "control" << r;
    EXPECT_EQ(m["setns"], "ok") << "control" << r;
    EXPECT_EQ(m["tcp-after-setns"], "CONNECTED") << "control" << r;
    EXPECT_EQ(m["unix-after-setns"], "CONNECTED") << "control" << r;
  }

  std::vector<Args> variants = {{"--unshare-net"}, {"--unshare-all"}};
  if (!as_root()) variants.push_back(cat({{"--unshare-net"}, uid0_all_caps()}));
  for (const Args& flags : variants) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    Args a = args;
    // The supervisor is the parent only without a PID namespace; as root, rejoining is
    // root's right (its capabilities are kept), so that attack is for the unprivileged.
    bool try_setns = !as_root() && flags[0] == "--unshare-net";
    if (try_setns) a.push_back("setns");
    // Peer: bwrap with the same options.
    if (have_bwrap()) {
      auto b = run(with_root(cat({flags, {"--proc", "/proc"}, py(kConnect, a)})),
                   as_bwrap(opts()));
      ASSERT_EQ(b.exit_code, 0) << "bwrap" << b;
      EXPECT_FALSE(contains(b.out, "CONNECTED")) << "bwrap" << b;
    }
    auto r = run(with_root(cat({flags, {"--proc", "/proc"}, py(kConnect, a)})), opts());
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_FALSE(contains(r.out, "CONNECTED")) << r;
    auto m = key_values(r.out);
    EXPECT_EQ(m["tcp"], "ECONNREFUSED") << r;
    EXPECT_EQ(m["unix"], "ECONNREFUSED") << r;
    if (try_setns) {
      EXPECT_TRUE(m["setns"] == "open-EACCES" || m["setns"] == "EPERM") << r;
    }
  }
}

}  // namespace
}  // namespace it
