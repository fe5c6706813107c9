// Network isolation around the command (issue 13, items 7 and 8): the user-mode stacks do
// not open the host's loopback unless asked, slirp4netns confines itself, the desktop
// profile does not share the host's network namespace, and on the --net veth bridge no
// sandbox can speak for another one, for the gateway or for the host (spoofed ARP and IPv4
// sources), and addresses stay unique when a supervisor and its keeper are killed.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <map>
#include <cstring>

#include "escape.hpp"

namespace it {
namespace {

// "a=1 b=2" as key_values() reads it.
std::string spaced(std::string line) {
  for (auto& c : line)
    if (c == ' ') c = '\n';
  return line;
}

std::string link_target(const std::string& path) {
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Connects to HOST:argv[2] over TCP and to the abstract socket argv[3] (when given).
const char* kConnect = R"PY(
import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print('tcp=CONNECTED')
except OSError as e:
    print('tcp=' + (errno.errorcode.get(e.errno, str(e)) if e.errno else 'timeout'))
if len(sys.argv) > 3:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect('\0' + sys.argv[3])
        print('unix=CONNECTED')
    except OSError as e:
        print('unix=' + errno.errorcode.get(e.errno, str(e)))
)PY";

// ---- 7. User-mode networking: the host's loopback is opt-in -------------------------------

class UserModeLoopbackTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    IT_REQUIRE_FILE(kPython);
    o_ = opts();
    if (!as_root()) {
      o_.in_child = private_tun_for_unprivileged(tun_dir_.path());
      if (!o_.in_child && !host_tun_usable_by_others() && !is_root())
        GTEST_SKIP() << "/dev/net/tun is not usable by this uid";
    }
  }
  RunOpts o_;
  TempDir tun_dir_{0755};
};
INSTANTIATE_TEST_SUITE_P(Modes, UserModeLoopbackTest, ::testing::Bool(), mode_name);

// A service on the host's 127.0.0.1 (a database, a debugger, an admin API) is reachable
// through the gateway 10.0.2.2 only with --net-host-loopback (the control: the attack works
// there), never by default, with either helper.
TEST_P(UserModeLoopbackTest, GatewayReachesHostLoopbackOnlyWhenAsked) {
  int helpers = 0;
  for (const std::string helper : {"pasta", "slirp4netns"}) {
    if (!exists("/usr/bin/" + helper)) continue;
    ++helpers;
    SCOPED_TRACE(helper);
    HostServices host;
    ASSERT_TRUE(host.ok());
    const Args args = {"10.0.2.2", std::to_string(host.port())};

    auto open = run(with_root(cat({{"--net", helper, "--net-host-loopback"}, py(kConnect, args)})), o_);
    ASSERT_EQ(open.exit_code, 0) << open;
    EXPECT_EQ(key_values(open.out)["tcp"], "CONNECTED") << "control: --net-host-loopback" << open;
    EXPECT_EQ(host.drain_tcp(), 1) << open;

    auto r = run(with_root(cat({{"--net", helper}, py(kConnect, args)})), o_);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(key_values(r.out)["tcp"], "CONNECTED") << r;
    EXPECT_EQ(host.drain_tcp(), 0) << "a connection from the sandbox reached the host's 127.0.0.1";
  }
  if (!helpers) GTEST_SKIP() << "neither pasta nor slirp4netns is installed";
}

// --net-host-loopback means nothing without a user-mode stack: an error, not a no-op.
TEST_F(SandboxTest, NetHostLoopbackNeedsAUserModeNetwork) {
  for (const Args& a : {Args{"--net-host-loopback"}, Args{"--unshare-net", "--net-host-loopback"}}) {
    auto r = run(with_root(cat({a, sh("echo RAN")})));
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_FALSE(contains(r.out, "RAN")) << r;
    EXPECT_TRUE(contains(r.err, "--net-host-loopback requires --net pasta, slirp4netns or user")) << r;
  }
}

// The pids of the processes named `comm` whose parent's parent is `grandparent` (the
// helper below the keeper below the supervisor).
std::vector<pid_t> grandchildren_named(pid_t grandparent, const std::string& comm) {
  auto ppid_of = [](pid_t p) -> pid_t {
    std::string st = read_file("/proc/" + std::to_string(p) + "/stat");
    auto close = st.rfind(')');
    if (close == std::string::npos) return -1;
    auto w = words(st.substr(close + 2));
    return w.size() > 1 ? std::stoi(w[1]) : -1;
  };
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    pid_t p = std::stoi(e->d_name);
    if (trim(read_file("/proc/" + std::to_string(p) + "/comm")) != comm) continue;
    if (ppid_of(ppid_of(p)) == grandparent) out.push_back(p);
  }
  if (d) ::closedir(d);
  return out;
}

// slirp4netns parses the sandbox's packets in a process of the caller: it runs under its
// own seccomp filter (--enable-seccomp) and, as root, in a mount namespace of its own
// (--enable-sandbox, which it can build unprivileged only inside the sandbox's user
// namespace as its uid 0).
TEST_P(UserModeLoopbackTest, Slirp4netnsConfinesItself) {
  IT_REQUIRE_FILE("/usr/bin/slirp4netns");
  std::string tok = sleep_token();
  auto p = spawn(with_root(cat({{"--net", "slirp4netns", "--", "sleep", tok}})), o_);
  std::vector<pid_t> slirp;
  bool up = eventually([&] {
    slirp = grandchildren_named(p->pid(), "slirp4netns");
    return !slirp.empty() && !pids_running("sleep", tok).empty();
  });
  std::string status = up ? read_file("/proc/" + std::to_string(slirp[0]) + "/status") : "";
  std::string its_mnt = up ? link_target("/proc/" + std::to_string(slirp[0]) + "/ns/mnt") : "";
  std::string our_mnt = link_target("/proc/self/ns/mnt");
  kill_with_token(tok);
  auto r = p->wait(10s);
  ASSERT_TRUE(up) << r;
  EXPECT_TRUE(contains(status, "Seccomp:\t2")) << status;
  EXPECT_FALSE(its_mnt.empty());
  if (as_root()) {
    EXPECT_NE(its_mnt, our_mnt) << "slirp4netns runs in the caller's mount namespace";
  }
}

// Issue 13.5: the setup child is non-dumpable from the start with the user-mode stacks too.
// They get its namespaces as inherited descriptors (/proc/self/fd/N), never through
// /proc/CHILD/ns/* (which needs the child dumpable, its /proc/PID/fd and ptrace open to any
// process of the caller's uid, for as long as the helper starts). A wrapper named like the
// helper, first on PATH, runs while the child waits for the network (deterministically: the
// child cannot go on before the helper reports ready) and, as a process of the caller's uid
// outside the sandbox (as root: without effective capabilities), tries the setup child's
// /proc/PID/fd/0 and PTRACE_SEIZE, with the same probes on its own parent as the control, then
// becomes the real helper. The network must then work as before. Against a build from before
// this change the wrapper sees /proc/PID/ns paths and a dumpable child (see the report).
const char* kHelperProbe = R"PY(
import ctypes, os, re, signal, sys
def ppid(p):
    with open('/proc/%d/status' % p) as f:
        for l in f:
            if l.startswith('PPid:'):
                return int(l.split()[1])
args = ' '.join(sys.argv[1:])
out = ['fd_paths=' + ('yes' if '/proc/self/fd/' in args else 'no'),
       'proc_ns=' + ('yes' if re.search(r'/proc/[0-9]+/ns/', args) else 'no')]
me, keeper = os.getpid(), os.getppid()
sup = ppid(keeper)
kids = []
for d in os.listdir('/proc'):
    try:
        if d.isdigit() and int(d) not in (me, keeper) and ppid(int(d)) == sup:
            kids.append(int(d))
    except OSError:
        pass
out.append('setup_children=%d' % len(kids))
r, w = os.pipe()
probe = os.fork()
if probe == 0:
    os.close(r)
    libc = ctypes.CDLL(None, use_errno=True)
    res = []
    if os.geteuid() == 0:
        # A uid-0 process without CAP_SYS_PTRACE: the kernel then checks dumpability.
        hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
        data = (ctypes.c_uint32 * 6)()
        libc.capget(hdr, data)
        data[0] = data[3] = 0
        libc.capset(hdr, data)
    def try_fd(pid):
        # An entry, not the listing: the kernel checks ptrace access when one is opened.
        try:
            os.close(os.open('/proc/%d/fd/0' % pid, os.O_RDONLY | os.O_CLOEXEC))
            return 'open'
        except OSError as e:
            return 'denied'
    def try_ptrace(pid):
        # PTRACE_SEIZE: no stop; the tracee is let go when this process exits.
        if libc.syscall(101, 0x4206, pid, 0, 0) == 0:
            return 'attached'
        return 'denied'
    res.append('ctl_fd=' + try_fd(os.getppid()))
    res.append('ctl_ptrace=' + try_ptrace(os.getppid()))
    for k in kids:
        res.append('child_fd=' + try_fd(k))
        res.append('child_ptrace=' + try_ptrace(k))
    os.write(w, ('\n'.join(res) + '\n').encode())
    os._exit(0)
os.close(w)
os.waitpid(probe, 0)
res = os.read(r, 4096).decode()
with open(OUT, 'w') as f:
    f.write('\n'.join(out) + '\n' + res)
# Python ignores SIGPIPE and SIGXFSZ, which an exec would pass on: the helper's defaults.
for sig in (signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(sig, signal.SIG_DFL)
os.execv(REAL, [REAL] + sys.argv[1:])
)PY";

// In the sandbox: its interfaces, and the source address towards the DNS forwarder.
const char* kNetProbe = R"PY(
import socket
print('ifs=' + ','.join(n for _, n in socket.if_nameindex()))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(('10.0.2.3', 53))
print('src=' + s.getsockname()[0])
)PY";

TEST_P(UserModeLoopbackTest, HelperGetsNamespacesAsDescriptorsNotProcPaths) {
  int helpers = 0;
  for (const std::string helper : {"pasta", "slirp4netns"}) {
    const std::string real = "/usr/bin/" + helper;
    if (!exists(real)) continue;
    ++helpers;
    SCOPED_TRACE(helper);
    TempDir bin(0755), out(0777);
    ASSERT_EQ(::chmod(out.path().c_str(), 01777), 0);
    const std::string report = out / "probe";
    write_file(bin / helper,
               "#!" + std::string(kPython) + "\nREAL = '" + real + "'\nOUT = '" + report + "'\n" +
                   kHelperProbe,
               0755);
    RunOpts o = o_;
    o.env = {"PATH=" + bin.path() + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"};
    auto r = run(with_root(cat({{"--net", helper}, py(kNetProbe)})), o);
    auto probe = key_values(read_file(report));
    ASSERT_EQ(r.exit_code, 0) << r << read_file(report);
    // The network works through the descriptors.
    auto net = key_values(r.out);
    EXPECT_TRUE(contains(net["ifs"], "tap0")) << r;
    EXPECT_EQ(net["src"], "10.0.2.100") << r;
    // The helper's command line names its own descriptors, never the child's /proc/PID/ns.
    EXPECT_EQ(probe["fd_paths"], "yes") << read_file(report);
    EXPECT_EQ(probe["proc_ns"], "no") << read_file(report);
    ASSERT_EQ(probe["setup_children"], "1") << read_file(report);
    // Control: the probe reaches a dumpable process of the same uid (its parent). As root
    // the fd probe is not conclusive (opening /proc/PID/fd/N compares the probe's effective
    // capabilities with the target's permitted ones, so it fails on any full-capability
    // process): there PTRACE_SEIZE, which compares permitted sets, tells dumpability apart.
    if (!as_root()) {
      EXPECT_EQ(probe["ctl_fd"], "open") << read_file(report);
      EXPECT_EQ(probe["child_fd"], "denied") << "setup child's /proc/PID/fd" << read_file(report);
    }
    if (as_root()) {
      EXPECT_EQ(probe["ctl_ptrace"], "attached") << read_file(report);
    }
    if (probe["ctl_ptrace"] == "attached") {
      EXPECT_EQ(probe["child_ptrace"], "denied") << "ptrace on the setup child" << read_file(report);
    } else {
      std::printf("ptrace not checked: the control attach was refused (Yama?)\n");
    }
  }
  if (helpers == 0) GTEST_SKIP() << "neither pasta nor slirp4netns is installed";
}

// The desktop profile promises no D-Bus: a session bus (or X11) on an abstract Unix socket
// and services on the host's 127.0.0.1 stay out of reach, because its network is the
// user-mode stack's, not the host's namespace. Control: the same profile with --share-net
// (the old profile) reaches both.
TEST_P(UserModeLoopbackTest, DesktopProfileReachesNoHostSockets) {
  if (!exists("/usr/bin/pasta") && !exists("/usr/bin/slirp4netns"))
    GTEST_SKIP() << "neither pasta nor slirp4netns is installed";
  HostServices host;
  ASSERT_TRUE(host.ok());
  TempDir home, runtime;
  ASSERT_EQ(::chown(runtime.path().c_str(), caller_uid(), caller_gid()), 0);
  RunOpts o = o_;
  o.env = {"HOME=" + home.path(), "XDG_RUNTIME_DIR=" + runtime.path()};
  const Args args = {"127.0.0.1", std::to_string(host.port()), host.abstract_name()};

  auto control = run(cat({{"--profile", "desktop", "--share-net"}, py(kConnect, args)}), o);
  ASSERT_EQ(control.exit_code, 0) << control;
  EXPECT_EQ(key_values(control.out)["tcp"], "CONNECTED") << control;
  EXPECT_EQ(key_values(control.out)["unix"], "CONNECTED") << control;
  host.drain_tcp();

  auto r = run(cat({{"--profile", "desktop"}, py(kConnect, args)}), o);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["tcp"], "ECONNREFUSED") << r;
  EXPECT_EQ(m["unix"], "ECONNREFUSED") << r;
  EXPECT_EQ(host.drain_tcp(), 0) << r;
  // Also not through the gateway of the user-mode stack.
  auto g = run(cat({{"--profile", "desktop"}, py(kConnect, {"10.0.2.2", args[1]})}), o);
  ASSERT_EQ(g.exit_code, 0) << g;
  EXPECT_NE(key_values(g.out)["tcp"], "CONNECTED") << g;
  EXPECT_EQ(host.drain_tcp(), 0) << g;
}

// ---- 8. --net veth: no sandbox speaks for another ---------------------------------------

const std::string kNft = "/usr/sbin/nft";

std::string nft_tables() {
  RunOpts o;
  o.exe = kNft;
  o.argv0 = "nft";
  return run({"list", "tables"}, o).out;
}

bool link_exists(const std::string& name) { return exists("/sys/class/net/" + name); }

// The Ethernet address sandbox gives eth0: 02:73 and the four bytes of the IPv4 address.
std::string mac_of(const std::string& ip) {
  unsigned q[4] = {};
  if (std::sscanf(ip.c_str(), "%u.%u.%u.%u", &q[0], &q[1], &q[2], &q[3]) != 4) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "02:73:%02x:%02x:%02x:%02x", q[0], q[1], q[2], q[3]);
  return buf;
}

class VethIsolationTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    IT_REQUIRE_ROOT();
    IT_REQUIRE_FILE(kNft);
    IT_REQUIRE_FILE(kPython);
  }
};

// Sandbox B: learns the gateway's Ethernet address (a datagram to it), prints its own
// addresses, collects datagrams on UDP 5555 until "END", then prints its ARP table.
const char* kVictim = R"PY(
import fcntl, socket, struct, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', 5555))
u.sendto(b'x', ('10.231.0.1', 9))
time.sleep(0.3)
mac = ':'.join('%02x' % b for b in fcntl.ioctl(u.fileno(), 0x8927, struct.pack('256s', b'eth0'))[18:24])
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.connect(('10.231.0.1', 9))
print('ready ip=%s mac=%s' % (c.getsockname()[0], mac), flush=True)
u.settimeout(1)
end = time.time() + 15
while time.time() < end:
    try:
        data, peer = u.recvfrom(100)
    except socket.timeout:
        continue
    if data == b'END':
        break
    print('got=%s@%s' % (data.decode(), peer[0]), flush=True)
for l in open('/proc/net/arp').read().split('\n')[1:]:
    f = l.split()
    if len(f) >= 4:
        print('arp %s=%s' % (f[0], f[3]))
)PY";

// The attacker (root in its sandbox with CAP_NET_RAW): argv = B's IP, B's MAC, the host's
// UDP port. Crafted frames on eth0 (AF_PACKET): ARP requests to B from our own address
// (control) and in the gateway's name (attack); UDP to B and to the host from our address
// (control) and from a forged one (attack); then END from our address.
const char* kAttacker = R"PY(
import fcntl, socket, struct, sys, time
b_ip, b_mac, host_port = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('10.231.0.1', 9))
me_mac = fcntl.ioctl(s.fileno(), 0x8927, struct.pack('256s', b'eth0'))[18:24]
me_ip = s.getsockname()[0]
print('attacker ip=%s' % me_ip, flush=True)
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind(('eth0', 0))
def arp(sender_ip):
    p = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, me_mac, socket.inet_aton(sender_ip),
                    b'\0' * 6, socket.inet_aton(b_ip))
    raw.send(b_mac + me_mac + b'\x08\x06' + p)
def csum(h):
    t = sum(struct.unpack('!10H', h))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return (~t) & 0xffff
def udp(src, dst, dst_mac, port, payload):
    u = struct.pack('!HHHH', 4444, port, 8 + len(payload), 0) + payload
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    raw.send(dst_mac + me_mac + b'\x08\x00' + h + u)
gw_mac = None
for l in open('/proc/net/arp').read().split('\n')[1:]:
    f = l.split()
    if len(f) >= 4 and f[0] == '10.231.0.1':
        gw_mac = bytes.fromhex(f[3].replace(':', ''))
arp(me_ip)
arp('10.231.0.1')
for i in range(3):
    udp(me_ip, b_ip, b_mac, 5555, b'genuine')
    udp('10.231.0.77', b_ip, b_mac, 5555, b'forged')
    udp('10.231.0.1', b_ip, b_mac, 5555, b'forged-gateway')
    if gw_mac:
        udp(me_ip, '10.231.0.1', gw_mac, host_port, b'genuine-host')
        udp('10.231.0.77', '10.231.0.1', gw_mac, host_port, b'forged-host')
    time.sleep(0.1)
time.sleep(0.5)
s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s2.sendto(b'END', (b_ip, 5555))
print('gateway-mac=%s' % (gw_mac.hex() if gw_mac else 'none'), flush=True)
print('SENT', flush=True)
)PY";

// ARP poisoning and forged IPv4 sources on the bridge: sandbox A (root, CAP_NET_RAW) sends
// B an ARP request in the gateway's name and datagrams with forged sources (another
// sandbox's address, the gateway's), and the host datagrams with a forged source. The
// same frames with A's own source are the control: they arrive, and B learns A's address.
TEST_F(VethIsolationTest, NoSandboxSpeaksForAnother) {
  int host_fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(host_fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(host_fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  int host_port = ntohs(a.sin_port);

  auto b = spawn(with_root(cat({{"--net", "veth", "--proc", "/proc"}, py(kVictim)})));
  ASSERT_TRUE(b->wait_for_stdout("\n", 15s)) << b->wait(1s);
  auto ready = key_values(spaced(lines(b->out_so_far())[0]));
  std::string b_ip = ready["ip"], b_mac = ready["mac"];
  ASSERT_EQ(b_ip.rfind("10.231.0.", 0), 0u) << b->out_so_far();
  EXPECT_EQ(b_mac, mac_of(b_ip)) << "eth0's address is derived from the sandbox's IPv4 address";

  auto ra = run(with_root(cat({{"--net", "veth", "--proc", "/proc"},
                               py(kAttacker, {b_ip, b_mac, std::to_string(host_port)})})));
  auto rb = b->wait(20s);
  ASSERT_EQ(ra.exit_code, 0) << ra;
  ASSERT_TRUE(contains(ra.out, "SENT")) << ra;
  ASSERT_EQ(rb.exit_code, 0) << rb;
  auto kv = key_values(ra.out);
  std::string a_ip = key_values(spaced(lines(ra.out)[0]))["ip"];
  ASSERT_EQ(a_ip.rfind("10.231.0.", 0), 0u) << ra;

  // Control: A's own frames arrive, and B learnt A's address from A's ARP request.
  EXPECT_TRUE(contains(rb.out, "got=genuine@" + a_ip)) << rb;
  std::map<std::string, std::string> arp;
  for (const auto& l : lines(rb.out))
    if (l.rfind("arp ", 0) == 0) arp[l.substr(4, l.find('=') - 4)] = l.substr(l.find('=') + 1);
  std::string a_mac = mac_of(a_ip);
  EXPECT_EQ(arp[a_ip], a_mac) << "control: B learns A's own address\n" << rb;
  // The attacks: nothing forged arrived, and B's gateway entry is not A's.
  EXPECT_FALSE(contains(rb.out, "got=forged")) << rb;
  EXPECT_NE(arp["10.231.0.1"], a_mac) << "B's gateway entry was poisoned\n" << rb;

  std::vector<std::string> at_host;
  for (int i = 0; i < 20; ++i) {
    char buf[64];
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(host_fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) break;
    at_host.push_back(std::string(buf, static_cast<size_t>(n)) + "@" + inet_ntoa(from.sin_addr));
  }
  ::close(host_fd);
  if (kv["gateway-mac"] != "none") {
    EXPECT_TRUE(std::find(at_host.begin(), at_host.end(), "genuine-host@" + a_ip) != at_host.end())
        << "control: A's own datagram reaches the host: " << ::testing::PrintToString(at_host);
    for (const auto& d : at_host) EXPECT_FALSE(contains(d, "forged")) << d;
  }
}

// kill -9 of a supervisor and of its keeper while the command runs on: the orphan keeps
// its address (the next sandbox gets another one) and its port stays pinned; once the
// orphan is gone, the next run removes what is left (tables, address file, the bridge).
TEST_F(VethIsolationTest, AddressesOutliveAKilledSupervisorAndKeeper) {
  bool bridge_before = link_exists("sandbox0");
  const std::string addr_py =
      kPython + " -c \"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                "s.connect(('10.231.0.1', 9)); print('addr=' + s.getsockname()[0], flush=True)\"";
  std::string tok = sleep_token();
  auto x = spawn(with_root(cat({{"--net", "veth"}, sh(addr_py + "; exec sleep " + tok)})));
  ASSERT_TRUE(x->wait_for_stdout("\n", 15s)) << x->wait(1s);
  std::string x_addr = key_values(x->out_so_far())["addr"];
  pid_t sup = x->pid();
  std::string link = "sbv" + std::to_string(sup);
  ASSERT_TRUE(eventually([&] { return !pids_running("sleep", tok).empty(); }));
  // The keeper: the supervisor's child in the host's network namespace.
  pid_t keeper = -1;
  std::string host_net = link_target("/proc/self/ns/net");
  for (const auto& l : lines(read_file("/proc/" + std::to_string(sup) + "/task/" +
                                       std::to_string(sup) + "/children")))
    for (const auto& w : words(l))
      if (link_target("/proc/" + w + "/ns/net") == host_net) keeper = std::stoi(w);
  ASSERT_GT(keeper, 0) << "no keeper found below " << sup;
  ::kill(keeper, SIGKILL);
  x->signal(SIGKILL);
  x->wait(5s);
  ASSERT_FALSE(pids_running("sleep", tok).empty()) << "the command must outlive them here";
  ASSERT_TRUE(link_exists(link)) << link;

  auto y = run(with_root(cat({{"--net", "veth"}, sh(addr_py)})));
  EXPECT_EQ(y.exit_code, 0) << y;
  std::string y_addr = key_values(y.out)["addr"];
  EXPECT_EQ(y_addr.rfind("10.231.0.", 0), 0u) << y;
  EXPECT_NE(y_addr, x_addr) << "the orphan's address was given out again";
  EXPECT_TRUE(contains(nft_tables(), "table bridge sandbox-" + std::to_string(sup) + "\n"))
      << "the orphan's port lost its pinning while it runs: " << nft_tables();

  kill_with_token(tok);
  ASSERT_TRUE(eventually([&] { return !link_exists(link); }, 5s)) << link << " outlived its sandbox";
  auto z = run(with_root(cat({{"--net", "veth"}, sh("true")})));
  EXPECT_EQ(z.exit_code, 0) << z;
  EXPECT_FALSE(contains(nft_tables(), "sandbox-" + std::to_string(sup) + "\n")) << nft_tables();
  EXPECT_TRUE(eventually([&] { return !exists("/run/sandbox/veth/addr-" + x_addr); }, 3s))
      << "the orphan's address file remains";
  bool bridge_gone_or_used = !link_exists("sandbox0");
  if (!bridge_gone_or_used) {
    DIR* d = ::opendir("/sys/class/net/sandbox0/brif");
    while (dirent* e = d ? ::readdir(d) : nullptr)
      if (e->d_name[0] != '.') bridge_gone_or_used = true;  // a concurrent test uses it
    if (d) ::closedir(d);
  }
  EXPECT_TRUE(bridge_before || bridge_gone_or_used) << "an empty sandbox0 stays behind";
}

}  // namespace
}  // namespace it
