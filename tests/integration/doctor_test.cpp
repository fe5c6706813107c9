// `sandbox doctor`: its verdicts are checked against what the sandbox itself manages to do
// on this machine, run by the same caller (root and the unprivileged uid).
#include <regex>

#include "harness.hpp"

namespace it {
namespace {

struct Verdict {
  std::string verdict;  // OK, WARN, FAIL
  std::string text;
};

// "OK   userns: text" lines -> check name -> verdict. Every line must have that form.
std::map<std::string, Verdict> parse_doctor(const std::string& out) {
  static const std::regex kLine(R"(^(OK|WARN|FAIL) +([a-z0-9.-]+): (.+)$)");
  std::map<std::string, Verdict> m;
  for (const auto& l : lines(out)) {
    std::smatch sm;
    EXPECT_TRUE(std::regex_match(l, sm, kLine)) << "not a doctor line: " << l;
    if (sm.size() == 4) m[sm[2]] = {sm[1], sm[3]};
  }
  return m;
}

class DoctorTest : public ModeTest {
 protected:
  // Runs the doctor once per test as this test's caller.
  const std::map<std::string, Verdict>& doctor() {
    if (!ran_) {
      result_ = run({"doctor"}, opts());
      verdicts_ = parse_doctor(result_.out);
      ran_ = true;
    }
    return verdicts_;
  }
  const RunResult& result() {
    doctor();
    return result_;
  }
  std::string verdict(const std::string& check) {
    auto it = doctor().find(check);
    return it == doctor().end() ? "(missing)" : it->second.verdict;
  }
  std::string text(const std::string& check) {
    auto it = doctor().find(check);
    return it == doctor().end() ? "" : it->second.text;
  }

 private:
  bool ran_ = false;
  RunResult result_;
  std::map<std::string, Verdict> verdicts_;
};
INSTANTIATE_TEST_SUITE_P(Modes, DoctorTest, ::testing::Bool(), mode_name);

TEST_P(DoctorTest, PrintsOneLinePerCheck) {
  ASSERT_FALSE(result().timed_out) << result();
  EXPECT_TRUE(result().err.empty()) << result();
  for (const char* c : {"userns", "mountns", "overlay", "mount-api", "cgroup2", "cgroup2.cpu",
                        "cgroup2.memory", "cgroup2.pids", "cgroup2.io", "systemd",
                        "net-helper", "tun", "allow-net", "seccomp", "landlock", "clone3"})
    EXPECT_NE(verdict(c), "(missing)") << c << "\n" << result();
}

// Exit 0 exactly when a plain sandbox starts for this caller.
TEST_P(DoctorTest, ExitStatusMatchesWhetherASandboxStarts) {
  auto r = run({"--ro-bind", "/", "/", "true"}, opts());
  EXPECT_EQ(result().exit_code == 0, r.exit_code == 0) << result() << r;
  bool any_fail = false;
  for (const auto& [k, v] : doctor()) any_fail |= v.verdict == "FAIL";
  EXPECT_EQ(any_fail, result().exit_code != 0) << result();
}

TEST_P(DoctorTest, UsernsVerdictMatchesTheSandbox) {
  auto r = run({"--unshare-user", "--ro-bind", "/", "/", "true"}, opts());
  EXPECT_EQ(verdict("userns") == "OK", r.exit_code == 0) << result() << r;
}

TEST_P(DoctorTest, MountnsVerdictMatchesTheSandbox) {
  auto r = run({"--ro-bind", "/", "/", "--tmpfs", "/tmp", "true"}, opts());
  EXPECT_EQ(verdict("mountns") == "OK", r.exit_code == 0) << result() << r;
}

TEST_P(DoctorTest, OverlayVerdictMatchesTmpOverlay) {
  auto r = run(cat({base_root(), {"--overlay-src", "/usr", "--tmp-overlay", "/usr"},
                    sh("echo written > /usr/.doctor-test && cat /usr/.doctor-test")}),
               opts());
  bool works = r.exit_code == 0 && trim(r.out) == "written";
  EXPECT_EQ(verdict("overlay") == "OK", works) << result() << r;
  EXPECT_FALSE(exists("/usr/.doctor-test"));
}

// --verbose says which mount API the sandbox used; the doctor must agree.
TEST_P(DoctorTest, MountApiVerdictMatchesWhatTheSandboxUses) {
  auto r = run({"--verbose", "--ro-bind", "/", "/", "true"}, opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  bool new_api = contains(r.err, "(new mount API)");
  ASSERT_TRUE(new_api || contains(r.err, "(mount(2))")) << r;
  EXPECT_EQ(verdict("mount-api") == "OK", new_api) << result() << r;
}

TEST_P(DoctorTest, SeccompVerdictMatchesTheDefaultProfile) {
  auto r = run(with_root({"--seccomp-profile", "default", "--", "true"}), opts());
  EXPECT_EQ(verdict("seccomp") == "OK", r.exit_code == 0) << result() << r;
  auto l = run(with_root({"--seccomp-profile", "default", "--seccomp-log", "--", "true"}), opts());
  EXPECT_EQ(verdict("seccomp") == "OK", l.exit_code == 0) << result() << l;
}

// The facts the cgroup2 lines state hold on this machine: the named mount is cgroup2, and
// a controller is called delegated/available only if that cgroup lists it, held by v1
// only if that v1 hierarchy has it.
TEST_P(DoctorTest, Cgroup2LinesStateWhatTheHostHas) {
  std::string t = text("cgroup2");
  std::smatch m;
  if (!std::regex_search(t, m, std::regex(R"(^cgroup2 at (\S+).*your cgroup (\S+):)")))
    GTEST_SKIP() << "no cgroup2 here: " << t;
  std::string mp = m[1], path = m[2];
  auto mounts = parse_mountinfo(read_file("/proc/self/mountinfo"));
  bool is_v2 = false;
  for (const auto& e : mounts) is_v2 |= e.mountpoint == mp && e.fstype == "cgroup2";
  EXPECT_TRUE(is_v2) << mp;
  // The caller's cgroup is the test process's (setpriv does not move it).
  std::string dir = mp + (path == "/" ? "" : path);
  std::set<std::string> ctrl;
  for (const auto& w : words(read_file(dir + "/cgroup.controllers"))) ctrl.insert(w);
  for (const char* c : {"cpu", "memory", "pids", "io"}) {
    std::string v = verdict(std::string("cgroup2.") + c), x = text(std::string("cgroup2.") + c);
    if (v == "OK") {
      EXPECT_TRUE(ctrl.count(c)) << c << ": " << x;
    }
    std::smatch h;
    if (std::regex_search(x, h, std::regex(R"(cgroup v1 hierarchy at (\S+) holds it)"))) {
      EXPECT_FALSE(ctrl.count(c)) << c;
      bool found = false;
      for (const auto& e : mounts)
        found |= e.mountpoint == std::string(h[1]) && e.fstype == "cgroup";
      EXPECT_TRUE(found) << h[1];
    }
  }
  // "can create child cgroups" holds for this caller: try it as the same uid.
  std::string child = dir + "/doctor-test-" + unique_suffix();
  RunOpts o = opts();
  o.exe = "/usr/bin/mkdir";
  o.argv0 = "mkdir";
  auto r = run({child}, o);
  bool created = r.exit_code == 0;
  if (created) ::rmdir(child.c_str());
  EXPECT_EQ(verdict("cgroup2") == "OK", created) << result() << r;
}

// User-mode networking works exactly when the doctor finds a helper and a usable
// /dev/net/tun, as root and unprivileged.
TEST_P(DoctorTest, NetworkVerdictsMatchNetUser) {
  auto r = run(with_root({"--net", "user", "--", "true"}), opts());
  bool doctor_ok = verdict("net-helper") == "OK" && verdict("tun") == "OK";
  EXPECT_EQ(doctor_ok, r.exit_code == 0) << result() << r;
}

// --allow-net (with --audit-fd: its NFLOG socket too) works exactly when the doctor says
// OK, as root and unprivileged.
TEST_P(DoctorTest, AllowNetVerdictMatchesTheSandbox) {
  // The unprivileged uid gets a /dev/net/tun of its own where the host's is not its to use
  // (as the user-mode network tests do), for the doctor and the sandbox alike.
  TempDir tun_dir(0755);
  RunOpts o = opts();
  if (!as_root() && !host_tun_usable_by_others()) o.in_child = private_tun_for_unprivileged(tun_dir.path());
  auto d = run({"doctor"}, o);
  auto v = parse_doctor(d.out);
  if (v["net-helper"].verdict != "OK" || v["tun"].verdict != "OK")
    GTEST_SKIP() << "no user-mode network here to try --allow-net with\n" << d;
  auto r = run(with_root({"--net", "user", "--allow-net", "192.0.2.1:443", "--audit-fd", "2",
                          "--", "true"}),
               o);
  EXPECT_EQ(v["allow-net"].verdict == "OK", r.exit_code == 0) << d << r;
  EXPECT_NE(v["allow-net"].verdict, "") << d;
}

TEST_P(DoctorTest, SystemdWithoutRuntimeDirIsAWarningThatSaysWhy) {
  if (as_root()) GTEST_SKIP() << "root looks at the system manager";
  EXPECT_EQ(verdict("systemd"), "WARN") << result();
  EXPECT_TRUE(contains(text("systemd"), "XDG_RUNTIME_DIR")) << result();
}

// Inside a sandbox made with --disable-userns no further user namespace can be created:
// the doctor run there must say FAIL and exit 1, and a sandbox started there must fail
// with a message that names the limit and points at the doctor.
TEST_P(DoctorTest, RestrictedUserNamespacesAreReportedAndExplained) {
  Args outer = {"--unshare-user", "--disable-userns", "--uid", "23456", "--gid", "23456",
                "--bind", "/", "/", "--"};
  auto d = run(cat({outer, {sandbox_path(), "doctor"}}), opts());
  ASSERT_FALSE(d.timed_out) << d;
  auto v = parse_doctor(d.out);
  EXPECT_EQ(v["userns"].verdict, "FAIL") << d;
  EXPECT_TRUE(contains(v["userns"].text, "limit on user namespaces")) << d;
  EXPECT_EQ(v["mountns"].verdict, "FAIL") << d;
  EXPECT_EQ(d.exit_code, 1) << d;

  auto s = run(cat({outer, {sandbox_path(), "--ro-bind", "/", "/", "true"}}), opts());
  EXPECT_EQ(s.exit_code, 1) << s;
  EXPECT_TRUE(contains(s.err, "can't create a user namespace")) << s;
  EXPECT_TRUE(contains(s.err, "limit on user namespaces")) << s;
  EXPECT_TRUE(contains(s.err, invoked_name() + " doctor")) << s;
}

TEST_F(SandboxTest, DoctorRejectsUnknownArguments) {
  auto r = run({"doctor", "--bogus"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(contains(r.err, "--bogus")) << r;
  auto h = run({"doctor", "--help"});
  EXPECT_EQ(h.exit_code, 0) << h;
  EXPECT_TRUE(contains(h.out, "doctor")) << h;
}

}  // namespace
}  // namespace it
