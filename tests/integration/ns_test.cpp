// Namespaces: user ids, uts, pid, net, ipc, cgroup, as seen from inside and compared with
// the host.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "harness.hpp"

namespace it {
namespace {

const std::string kPython = "/usr/bin/python3";

const char* kNsScript =
    "for n in ipc uts cgroup net pid user mnt; do echo \"$n=$(readlink /proc/self/ns/$n)\"; "
    "done";
const std::vector<std::string> kNsNames = {"ipc", "uts", "cgroup", "net", "pid", "user", "mnt"};

std::string hostname_now() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// A TCP listener on the host's 127.0.0.1 (random port), closed on destruction.
class HostListener {
 public:
  HostListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      port_ = 0;
    else
      port_ = ntohs(a.sin_port);
  }
  ~HostListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string connect_script(int port) {
  return "import socket\n"
         "try:\n"
         "    socket.create_connection(('127.0.0.1', " +
         std::to_string(port) +
         "), timeout=5)\n"
         "    print('CONNECTED')\n"
         "except OSError as e:\n"
         "    print('FAILED', e.errno)\n";
}

const char* kLoopbackScript =
    "import socket\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
    "c = socket.create_connection(s.getsockname(), timeout=5)\n"
    "a, _ = s.accept(); c.sendall(b'ping-over-lo')\n"
    "print(a.recv(100).decode())\n";

// ---- Single-mode tests ----------------------------------------------------------------------

class NsTest : public SandboxTest {};

TEST_F(NsTest, UnprivilegedKeepsCallerIdsByDefault) {
  auto r = run(with_root(sh("echo uid=$(id -u); echo gid=$(id -g)")), unpriv());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["uid"], std::to_string(unpriv_uid())) << r;
  EXPECT_EQ(m["gid"], std::to_string(unpriv_gid())) << r;
}

TEST_F(NsTest, UnprivilegedAlwaysGetsUserNamespace) {
  auto r = run(with_root(cat({{"--proc", "/proc"}, sh(kNsScript)})), unpriv());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_FALSE(m["user"].empty()) << r;
  EXPECT_NE(m["user"], host_ns("user")) << r;
}

TEST_F(NsTest, UnprivilegedCustomUidGidMapping) {
  auto r = run(with_root(cat({{"--proc", "/proc", "--uid", "1234", "--gid", "5678"},
                              sh("echo uid=$(id -u); echo gid=$(id -g); "
                                 "echo uidmap=$(cat /proc/self/uid_map); "
                                 "echo gidmap=$(cat /proc/self/gid_map); "
                                 "echo setgroups=$(cat /proc/self/setgroups)")})),
               unpriv());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["uid"], "1234") << r;
  EXPECT_EQ(m["gid"], "5678") << r;
  EXPECT_EQ(words(m["uidmap"]), (Args{"1234", std::to_string(unpriv_uid()), "1"})) << r;
  EXPECT_EQ(words(m["gidmap"]), (Args{"5678", std::to_string(unpriv_gid()), "1"})) << r;
  EXPECT_EQ(m["setgroups"], "deny") << r;
}

TEST_F(NsTest, UnprivilegedDefaultMappingIsTheCallersId) {
  auto r = run(with_root(cat({{"--proc", "/proc"},
                              sh("echo uidmap=$(cat /proc/self/uid_map); "
                                 "echo setgroups=$(cat /proc/self/setgroups)")})),
               unpriv());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  auto u = std::to_string(unpriv_uid());
  EXPECT_EQ(words(m["uidmap"]), (Args{u, u, "1"})) << r;
  EXPECT_EQ(m["setgroups"], "deny") << r;
}

TEST_F(NsTest, RootWithoutUnshareUserHasNoUserNamespace) {
  IT_REQUIRE_ROOT();
  auto r = run(with_root(cat({{"--proc", "/proc"},
                              sh("echo uid=$(id -u); echo uidmap=$(cat /proc/self/uid_map); "
                                 "echo user=$(readlink /proc/self/ns/user)")})));
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["uid"], "0") << r;
  EXPECT_EQ(words(m["uidmap"]), (Args{"0", "0", "4294967295"})) << r;
  EXPECT_EQ(m["user"], host_ns("user")) << r;
}

TEST_F(NsTest, RootUidWithoutUnshareUserIsAnError) {
  IT_REQUIRE_ROOT();
  auto r = run(with_root(cat({{"--uid", "1000"}, sh("echo MARKER-RAN")})));
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.out, "MARKER-RAN")) << r;
  EXPECT_TRUE(contains(r.err, "--uid")) << r;
}

TEST_F(NsTest, RootUnshareUserWithUid) {
  IT_REQUIRE_ROOT();
  auto r =
      run(with_root(cat({{"--proc", "/proc", "--unshare-user", "--uid", "1000", "--gid", "1000"},
                         sh("echo uid=$(id -u); echo gid=$(id -g); "
                            "echo user=$(readlink /proc/self/ns/user)")})));
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  EXPECT_EQ(m["uid"], "1000") << r;
  EXPECT_EQ(m["gid"], "1000") << r;
  EXPECT_NE(m["user"], host_ns("user")) << r;
}

// ---- Both as the unprivileged uid and as root -------------------------------------------------

class NsModeTest : public ModeTest {
 protected:
  std::map<std::string, std::string> namespaces_inside(const Args& flags) {
    auto r = run(with_root(cat({flags, {"--proc", "/proc"}, sh(kNsScript)})), opts());
    EXPECT_EQ(r.exit_code, 0) << r;
    auto m = key_values(r.out);
    for (const auto& n : kNsNames) EXPECT_FALSE(m[n].empty()) << n << r;
    return m;
  }
};
INSTANTIATE_TEST_SUITE_P(Modes, NsModeTest, ::testing::Bool(), mode_name);

TEST_P(NsModeTest, HostnameInNewUtsNamespace) {
  std::string before = hostname_now();
  auto r = run(with_root(cat({{"--proc", "/proc", "--unshare-uts", "--hostname", "sbx-it-host"},
                              sh("hostname; cat /proc/sys/kernel/hostname")})),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "sbx-it-host\nsbx-it-host\n") << r;
  EXPECT_EQ(hostname_now(), before) << "the host's hostname must not change";
}

TEST_P(NsModeTest, HostnameRequiresUnshareUts) {
  auto r = run(with_root(cat({{"--hostname", "sbx-it-host"}, sh("echo MARKER-RAN")})), opts());
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_FALSE(contains(r.out, "MARKER-RAN")) << r;
  EXPECT_TRUE(contains(r.err, "--hostname")) << r;
}

TEST_P(NsModeTest, PidNamespaceShowsOnlySandboxProcesses) {
  auto r = run(with_root({"--unshare-pid", "--proc", "/proc", "--", "ls", "/proc"}), opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto numeric = [](const std::vector<std::string>& names) {
    size_t n = 0;
    for (const auto& w : names)
      if (!w.empty() && w.find_first_not_of("0123456789") == std::string::npos) ++n;
    return n;
  };
  size_t inside = numeric(words(r.out));
  std::vector<std::string> host_entries;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec))
    host_entries.push_back(e.path().filename());
  size_t host = numeric(host_entries);
  EXPECT_GE(inside, 1u) << r;
  EXPECT_LT(inside, 5u) << "only the sandbox's own processes should be visible" << r;
  EXPECT_GT(host, inside) << "host has " << host << " processes";
}

TEST_P(NsModeTest, PidNamespaceHasAnInitThatIsNotTheCommand) {
  auto r = run(with_root({"--unshare-pid", "--proc", "/proc", "--", "sh", "-c",
                          "echo pid=$$; echo comm1=$(cat /proc/1/comm)"}),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = key_values(r.out);
  ASSERT_FALSE(m["pid"].empty()) << r;
  EXPECT_NE(m["pid"], "1") << r;
  EXPECT_LT(std::stoi(m["pid"]), 10) << "pids restart in the new namespace" << r;
  EXPECT_NE(m["comm1"], "sh") << r;
  EXPECT_FALSE(m["comm1"].empty()) << r;
}

TEST_P(NsModeTest, AsPid1RunsTheCommandAsPid1) {
  auto r = run(with_root({"--unshare-pid", "--as-pid-1", "--proc", "/proc", "--", "sh", "-c",
                          "echo pid=$$"}),
               opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "pid=1\n") << r;
}

TEST_P(NsModeTest, UnshareNetLeavesOnlyLoopback) {
  auto r =
      run(with_root({"--unshare-net", "--proc", "/proc", "--", "cat", "/proc/net/dev"}), opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(net_interfaces(r.out), (std::set<std::string>{"lo"})) << r;
}

TEST_P(NsModeTest, WithoutUnshareNetHostInterfacesAreVisible) {
  auto r = run(with_root({"--proc", "/proc", "--", "cat", "/proc/net/dev"}), opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(net_interfaces(r.out), net_interfaces(read_file("/proc/self/net/dev"))) << r;
}

TEST_P(NsModeTest, UnshareNetLoopbackIsUp) {
  IT_REQUIRE_FILE(kPython);
  auto r = run(with_root({"--unshare-net", "--proc", "/proc", "--dev", "/dev", "--", kPython, "-c",
                          kLoopbackScript}),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "ping-over-lo\n") << r;
}

TEST_P(NsModeTest, UnshareNetCannotReachHostLoopback) {
  IT_REQUIRE_FILE(kPython);
  HostListener server;
  ASSERT_NE(server.port(), 0);
  auto shared = run(with_root({"--proc", "/proc", "--dev", "/dev", "--", kPython, "-c",
                               connect_script(server.port())}),
                    opts());
  EXPECT_EQ(shared.exit_code, 0) << shared;
  EXPECT_EQ(shared.out, "CONNECTED\n")
      << "without --unshare-net the host server is reachable" << shared;
  auto isolated = run(with_root({"--unshare-net", "--proc", "/proc", "--dev", "/dev", "--", kPython,
                                 "-c", connect_script(server.port())}),
                      opts());
  EXPECT_EQ(isolated.exit_code, 0) << isolated;
  EXPECT_EQ(isolated.out.rfind("FAILED", 0), 0u) << isolated;
}

TEST_P(NsModeTest, NoUnshareFlagsKeepHostNamespaces) {
  auto m = namespaces_inside({});
  for (const char* n : {"ipc", "uts", "cgroup", "net", "pid"}) EXPECT_EQ(m[n], host_ns(n)) << n;
  EXPECT_NE(m["mnt"], host_ns("mnt")) << "the sandbox always has its own mount namespace";
}

// Each --unshare-X gives a new X namespace and leaves the others alone.
TEST_P(NsModeTest, EachUnshareFlagUnsharesItsNamespace) {
  for (const char* n : {"ipc", "uts", "cgroup", "net", "pid"}) {
    SCOPED_TRACE(std::string("--unshare-") + n);
    auto m = namespaces_inside({std::string("--unshare-") + n});
    for (const char* other : {"ipc", "uts", "cgroup", "net", "pid"}) {
      if (std::string(other) == n) {
        EXPECT_NE(m[other], host_ns(other)) << other;
      } else {
        EXPECT_EQ(m[other], host_ns(other)) << other;
      }
    }
  }
}

TEST_P(NsModeTest, UnshareAllUnsharesEverything) {
  auto m = namespaces_inside({"--unshare-all"});
  for (const char* n : {"ipc", "uts", "cgroup", "net", "pid", "mnt"})
    EXPECT_NE(m[n], host_ns(n)) << n;
  if (!as_root()) {
    EXPECT_NE(m["user"], host_ns("user"));
  }
}

TEST_P(NsModeTest, UnshareAllShareNetKeepsHostNetwork) {
  auto m = namespaces_inside({"--unshare-all", "--share-net"});
  EXPECT_EQ(m["net"], host_ns("net"));
  for (const char* n : {"ipc", "uts", "cgroup", "pid", "mnt"}) EXPECT_NE(m[n], host_ns(n)) << n;
}

TEST_P(NsModeTest, TryVariantsAreAccepted) {
  auto m = namespaces_inside({"--unshare-user-try", "--unshare-cgroup-try"});
  // This kernel supports both, so the -try variants do unshare.
  EXPECT_NE(m["cgroup"], host_ns("cgroup"));
  if (!as_root()) {
    EXPECT_NE(m["user"], host_ns("user"));
  }
}

}  // namespace
}  // namespace it
