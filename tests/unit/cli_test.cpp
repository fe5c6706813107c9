// Unit tests for cli/options.hpp: parse() turns argv into a Spec, in command-line order.
// Most run with the real environment (real descriptors for --args); the CliPure tests use
// a fake one (parse_env.hpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "parse_env.hpp"
#include "plan/fds.hpp"
#include "spec/spec.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace sb::cli {
namespace {

using Args = std::vector<std::string>;

Spec P(const Args& a) { return test::parse_spec(a); }
ParseResult R(const Args& a) { return test::parse_real(a); }

// The descriptors an option consumes: every one named, but --sync-fd's (held open for the
// sandbox's lifetime, not consumed).
std::vector<int> consumed(const Spec& s) {
  std::vector<int> out;
  for (const auto& u : s.fds)
    if (u.role != FdRole::Sync) out.push_back(u.fd);
  return out;
}

// Succeeds when parse(a), or planning's check that each descriptor named is open, throws
// sb::Error whose message contains `needle`.
::testing::AssertionResult ParseFails(const Args& a, const std::string& needle) {
  try {
    Spec s = P(a);
    planning::check_fds_open(s.fds);
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "error message \"" << msg << "\" does not contain \"" << needle << "\"";
  }
  return ::testing::AssertionFailure() << "parse() did not throw (wanted an error naming \""
                                       << needle << "\")";
}

template <typename T>
const T& As(const FsOp& op) {
  EXPECT_TRUE(std::holds_alternative<T>(op)) << "fs op has variant index " << op.index();
  static const T empty{};
  const T* p = std::get_if<T>(&op);
  return p ? *p : empty;
}

// An open descriptor for the fd-taking options (closed by the fixture).
class FdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int& fd : fds_) {
      fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0);
    }
  }
  void TearDown() override {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  int fd(int i) const { return fds_[i]; }
  std::string fds(int i) const { return std::to_string(fds_[i]); }

 private:
  int fds_[4] = {-1, -1, -1, -1};
};

// A pipe whose read end yields `data` then EOF (for --args).
class ArgsPipe {
 public:
  explicit ArgsPipe(const std::string& data) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) std::abort();
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(p[1], data.data() + off, data.size() - off);
      if (n <= 0) std::abort();
      off += static_cast<size_t>(n);
    }
    ::close(p[1]);
    rd_ = p[0];
  }
  ~ArgsPipe() { ::close(rd_); }
  ArgsPipe(const ArgsPipe&) = delete;
  ArgsPipe& operator=(const ArgsPipe&) = delete;
  int fd() const { return rd_; }
  std::string str() const { return std::to_string(rd_); }

 private:
  int rd_ = -1;
};

std::string nul_join(const Args& a) {
  std::string s;
  for (const auto& x : a) {
    s += x;
    s += '\0';
  }
  return s;
}

// Runs the test body in a fresh temporary working directory and restores the old one.
class CwdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = std::filesystem::current_path();
    ASSERT_EQ(::chdir(dir_.c_str()), 0);
    cwd_ = std::filesystem::current_path().string();  // as getcwd() reports it
  }
  void TearDown() override {
    ASSERT_EQ(::chdir(old_.c_str()), 0);
  }
  std::filesystem::path old_;
  sb::test::TempDir tmp_;
  std::string dir_ = tmp_.path();
  std::string cwd_;
};

// ---- basics -----------------------------------------------------------------------------

TEST(CliParse, EmptyArgv) {
  Spec s = P({});
  EXPECT_TRUE(s.command.empty());
  EXPECT_TRUE(s.fs.empty());
  EXPECT_FALSE(s.unshare_user);
}

TEST(CliParse, CommandOnly) {
  Spec s = P({"/bin/echo", "hello", "world"});
  EXPECT_EQ(s.command, (Args{"/bin/echo", "hello", "world"}));
  EXPECT_TRUE(s.fs.empty());
}

TEST(CliParse, UnknownOptionNamesIt) {
  EXPECT_TRUE(ParseFails({"--bogus-option", "true"}, "--bogus-option"));
  EXPECT_TRUE(ParseFails({"--unshare-net", "--frobnicate"}, "--frobnicate"));
  EXPECT_TRUE(ParseFails({"-x", "true"}, "-x"));
  EXPECT_TRUE(ParseFails({"--bind=/a", "/b", "true"}, "--bind=/a"));
}

TEST(CliParse, DoubleDashEndsOptions) {
  Spec s = P({"--unshare-net", "--", "--not-an-option", "arg"});
  EXPECT_TRUE(s.unshare_net);
  EXPECT_EQ(s.command, (Args{"--not-an-option", "arg"}));
}

TEST(CliParse, DoubleDashAloneGivesEmptyCommand) {
  Spec s = P({"--unshare-ipc", "--"});
  EXPECT_TRUE(s.unshare_ipc);
  EXPECT_TRUE(s.command.empty());
}

TEST(CliParse, SecondDoubleDashBelongsToCommand) {
  Spec s = P({"--", "--", "x"});
  EXPECT_EQ(s.command, (Args{"--", "x"}));
}

TEST(CliParse, FirstNonOptionStartsCommand) {
  Spec s = P({"--unshare-pid", "sh", "--unshare-net", "-c", "--", "--dir"});
  EXPECT_TRUE(s.unshare_pid);
  EXPECT_FALSE(s.unshare_net);
  EXPECT_TRUE(s.fs.empty());
  EXPECT_EQ(s.command, (Args{"sh", "--unshare-net", "-c", "--", "--dir"}));
}

TEST(CliParse, UnknownOptionAfterCommandIsNotAnError) {
  Spec s = P({"ls", "--bogus"});
  EXPECT_EQ(s.command, (Args{"ls", "--bogus"}));
}

TEST(CliParse, EmptyWordStartsCommand) {
  Spec s = P({"--unshare-uts", "", "x"});
  EXPECT_TRUE(s.unshare_uts);
  EXPECT_EQ(s.command, (Args{"", "x"}));
}

TEST(CliParse, OptionValuesMayLookLikeOptions) {
  Spec s = P({"--setenv", "A", "--unshare-net", "--argv0", "--", "true"});
  ASSERT_EQ(s.env.size(), 1u);
  EXPECT_EQ(s.env[0].value, "--unshare-net");
  EXPECT_FALSE(s.unshare_net);
  EXPECT_EQ(s.argv0, "--");
  EXPECT_EQ(s.command, (Args{"true"}));
}

TEST(CliParse, HelpStopsParsing) {
  ParseResult r = R({"--help", "--bogus", "--perms"});
  EXPECT_EQ(r.action, Action::Help);
  EXPECT_TRUE(r.spec.command.empty());
}

TEST(CliParse, HelpAfterOtherOptions) {
  ParseResult r = R({"--unshare-net", "--help", "--uid"});
  EXPECT_EQ(r.action, Action::Help);
  EXPECT_TRUE(r.spec.unshare_net);
}

// Through a `bwrap` symlink callers parse the first line as bwrap's ("bubblewrap X.Y.Z").
TEST(CliParse, VersionText) {
  const std::string ours = std::string("sandbox ") + SANDBOX_VERSION + "\n";
  EXPECT_EQ(version_text("sandbox"), ours);
  EXPECT_EQ(version_text("my-sandbox"), ours);
  EXPECT_EQ(version_text("bwrap"), "bubblewrap 0.11.1\n" + ours);
}

TEST(CliParse, VersionStopsParsing) {
  ParseResult r = R({"--version", "--no-such-option", "--size"});
  EXPECT_EQ(r.action, Action::Version);
}

TEST(CliParse, HelpAsCommandArgumentIsNotHelp) {
  ParseResult r = R({"ls", "--help"});
  EXPECT_EQ(r.action, Action::Run);
  EXPECT_EQ(r.spec.command, (Args{"ls", "--help"}));
}

// parse() returns the logging wanted; main applies it (nothing process-wide changes).
TEST(CliParse, LevelPrefix) {
  ParseResult r = R({"--level-prefix", "true"});
  EXPECT_TRUE(r.level_prefix);
  EXPECT_FALSE(R({"true"}).level_prefix);
}

TEST(CliParse, Verbose) {
  ParseResult r = R({"--verbose", "true"});
  EXPECT_TRUE(r.verbose);
  EXPECT_FALSE(log::verbose());
  EXPECT_FALSE(R({"true"}).verbose);
}

TEST(CliUsage, MentionsSubcommands) {
  std::string u = usage_text("sandbox");
  EXPECT_NE(u.find("sandbox doctor"), std::string::npos) << u;
  EXPECT_NE(u.find("sandbox seccomp-compile"), std::string::npos) << u;
}

// ---- arity ------------------------------------------------------------------------------

TEST(CliArity, EveryOptionWithArgumentsNamesItselfWhenShort) {
  for (const auto& o : option_table()) {
    if (o.args.empty()) continue;
    std::string name(o.name);
    for (size_t given = 0; given < o.args.size(); ++given) {
      Args a{name};
      for (size_t k = 0; k < given; ++k) a.push_back("x");
      EXPECT_TRUE(ParseFails(a, name)) << name << " with " << given << " argument(s)";
    }
  }
}

TEST(CliArity, ShortArgsAfterOtherOptions) {
  EXPECT_TRUE(ParseFails({"--unshare-net", "--bind", "/only-src"}, "--bind"));
  EXPECT_TRUE(ParseFails({"--dir", "/a", "--symlink", "t"}, "--symlink"));
  EXPECT_TRUE(ParseFails({"--overlay-src", "/l", "--overlay", "/u", "/w"}, "--overlay"));
  EXPECT_TRUE(ParseFails({"--uid"}, "--uid"));
}

// ---- namespaces -------------------------------------------------------------------------

TEST(CliNamespaces, EachUnshareFlag) {
  EXPECT_TRUE(P({"--unshare-user", "t"}).unshare_user);
  EXPECT_TRUE(P({"--unshare-user-try", "t"}).unshare_user_try);
  EXPECT_TRUE(P({"--unshare-ipc", "t"}).unshare_ipc);
  EXPECT_TRUE(P({"--unshare-pid", "t"}).unshare_pid);
  EXPECT_TRUE(P({"--unshare-net", "t"}).unshare_net);
  EXPECT_TRUE(P({"--unshare-uts", "t"}).unshare_uts);
  EXPECT_TRUE(P({"--unshare-cgroup", "t"}).unshare_cgroup);
  EXPECT_TRUE(P({"--unshare-cgroup-try", "t"}).unshare_cgroup_try);

  Spec none = P({"t"});
  EXPECT_FALSE(none.unshare_user || none.unshare_user_try || none.unshare_ipc ||
               none.unshare_pid || none.unshare_net || none.unshare_uts ||
               none.unshare_cgroup || none.unshare_cgroup_try);

  Spec one = P({"--unshare-pid", "t"});
  EXPECT_FALSE(one.unshare_net);
  EXPECT_FALSE(one.unshare_user);
}

TEST(CliNamespaces, UnshareAll) {
  Spec s = P({"--unshare-all", "t"});
  EXPECT_TRUE(s.unshare_user_try);
  EXPECT_TRUE(s.unshare_ipc);
  EXPECT_TRUE(s.unshare_pid);
  EXPECT_TRUE(s.unshare_net);
  EXPECT_TRUE(s.unshare_uts);
  EXPECT_TRUE(s.unshare_cgroup_try);
  EXPECT_FALSE(s.unshare_user);    // only the -try variant
  EXPECT_FALSE(s.unshare_cgroup);  // only the -try variant
}

TEST(CliNamespaces, ShareNetAfterUnshareAll) {
  Spec s = P({"--unshare-all", "--share-net", "t"});
  EXPECT_FALSE(s.unshare_net);
  EXPECT_TRUE(s.unshare_pid);
  EXPECT_TRUE(s.unshare_ipc);
  EXPECT_TRUE(s.unshare_uts);
  EXPECT_TRUE(s.unshare_user_try);
}

TEST(CliNamespaces, ShareNetBeforeUnshareAllIsOverridden) {
  EXPECT_TRUE(P({"--share-net", "--unshare-all", "t"}).unshare_net);
  EXPECT_FALSE(P({"--unshare-net", "--share-net", "t"}).unshare_net);
}

TEST(CliNamespaces, UidGid) {
  Spec s = P({"--uid", "0", "--gid", "1000", "t"});
  EXPECT_EQ(s.uid, std::optional<uid_t>(0));
  EXPECT_EQ(s.gid, std::optional<gid_t>(1000));
  Spec m = P({"--uid", "4294967294", "--gid", "4294967294", "t"});
  EXPECT_EQ(m.uid, std::optional<uid_t>(4294967294u));
  EXPECT_EQ(m.gid, std::optional<gid_t>(4294967294u));
  Spec d = P({"t"});
  EXPECT_FALSE(d.uid.has_value());
  EXPECT_FALSE(d.gid.has_value());
}

TEST(CliNamespaces, UidGidRepeatedKeepsLast) {
  Spec s = P({"--uid", "5", "--uid", "7", "t"});
  EXPECT_EQ(s.uid, std::optional<uid_t>(7));
}

TEST(CliNamespaces, UidGidRejectBadValues) {
  for (const char* opt : {"--uid", "--gid"}) {
    for (const char* bad : {"-1", "abc", "4294967295", "4294967296", "", "1x", " 1", "+1"}) {
      EXPECT_TRUE(ParseFails({opt, bad, "t"}, opt)) << opt << " " << bad;
    }
  }
}

TEST(CliNamespaces, Hostname) {
  Spec s = P({"--hostname", "box", "t"});
  EXPECT_EQ(s.hostname, std::optional<std::string>("box"));
  std::string max(64, 'h');
  EXPECT_EQ(P({"--hostname", max, "t"}).hostname, std::optional<std::string>(max));
  EXPECT_FALSE(P({"t"}).hostname.has_value());
}

TEST(CliNamespaces, HostnameTooLongOrEmpty) {
  EXPECT_TRUE(ParseFails({"--hostname", std::string(65, 'h'), "t"}, "--hostname"));
  EXPECT_TRUE(ParseFails({"--hostname", std::string(300, 'h'), "t"}, "--hostname"));
  EXPECT_TRUE(ParseFails({"--hostname", "", "t"}, "--hostname"));
}

TEST(CliNamespaces, DisableAndAssertUserns) {
  Spec s = P({"--disable-userns", "t"});
  EXPECT_TRUE(s.disable_userns);
  EXPECT_FALSE(s.assert_userns_disabled);
  Spec a = P({"--assert-userns-disabled", "t"});
  EXPECT_TRUE(a.assert_userns_disabled);
  EXPECT_FALSE(a.disable_userns);
}

// ---- fd options -------------------------------------------------------------------------

TEST_F(FdTest, NamespaceFdOptions) {
  Spec s = P({"--userns", fds(0), "--userns2", fds(1), "--pidns", fds(2), "--userns-block-fd",
              fds(3), "t"});
  EXPECT_EQ(s.userns_fd, std::optional<int>(fd(0)));
  EXPECT_EQ(s.userns2_fd, std::optional<int>(fd(1)));
  EXPECT_EQ(s.pidns_fd, std::optional<int>(fd(2)));
  EXPECT_EQ(s.userns_block_fd, std::optional<int>(fd(3)));
  EXPECT_EQ(consumed(s), (std::vector<int>{fd(0), fd(1), fd(2), fd(3)}));
}

TEST_F(FdTest, ProcessFdOptions) {
  Spec s = P({"--block-fd", fds(0), "--info-fd", fds(1), "--json-status-fd", fds(2),
              "--sync-fd", fds(3), "t"});
  EXPECT_EQ(s.block_fd, std::optional<int>(fd(0)));
  EXPECT_EQ(s.info_fd, std::optional<int>(fd(1)));
  EXPECT_EQ(s.json_status_fd, std::optional<int>(fd(2)));
  EXPECT_EQ(s.sync_fd, std::optional<int>(fd(3)));
  // --sync-fd stays open for the sandbox's lifetime: it is not consumed.
  EXPECT_EQ(consumed(s), (std::vector<int>{fd(0), fd(1), fd(2)}));
}

TEST_F(FdTest, AuditOptions) {
  Spec s = P({"--audit-fd", fds(0), "--seccomp-profile", "default", "t"});
  EXPECT_EQ(s.audit_fd, std::optional<int>(fd(0)));
  EXPECT_FALSE(s.audit_best_effort);
  s = P({"--audit-mode", "best-effort", "--audit-fd", fds(1), "t"});
  EXPECT_EQ(s.audit_fd, std::optional<int>(fd(1)));
  EXPECT_TRUE(s.audit_best_effort);
  s = P({"--audit-mode", "best-effort", "--audit-mode", "required", "t"});
  EXPECT_FALSE(s.audit_best_effort);
  EXPECT_FALSE(s.audit_fd.has_value());
  EXPECT_TRUE(ParseFails({"--audit-mode", "maybe", "t"}, "--audit-mode: 'maybe' is neither"));
}

TEST_F(FdTest, RepeatedFdOptionReplaces) {
  Spec s = P({"--info-fd", fds(0), "--info-fd", fds(1), "t"});
  EXPECT_EQ(s.info_fd, std::optional<int>(fd(1)));
}

TEST_F(FdTest, BadFdValuesUseBwrapWordsFirst) {
  EXPECT_TRUE(ParseFails({"--info-fd", "-1", "t"}, "Invalid fd: -1\n--info-fd"));
  EXPECT_TRUE(ParseFails({"--seccomp", "0a", "t"}, "Invalid fd: 0a\n--seccomp"));
  EXPECT_TRUE(ParseFails({"--args", "2147483647", "t"}, "Invalid fd: 2147483647\n--args"));
}

TEST_F(FdTest, BadFdValuesNameTheOption) {
  for (const char* opt : {"--userns", "--userns2", "--pidns", "--userns-block-fd", "--sync-fd",
                          "--block-fd", "--info-fd", "--json-status-fd", "--seccomp",
                          "--add-seccomp-fd", "--args", "--audit-fd"}) {
    EXPECT_TRUE(ParseFails({opt, "abc", "t"}, opt)) << opt;
    EXPECT_TRUE(ParseFails({opt, "-1", "t"}, opt)) << opt;
    EXPECT_TRUE(ParseFails({opt, "2147483648", "t"}, opt)) << opt;
    // A well-formed number that is not an open descriptor.
    EXPECT_TRUE(ParseFails({opt, "2147483647", "t"}, opt)) << opt;
  }
  for (const char* opt : {"--file", "--bind-data", "--ro-bind-data", "--bind-fd",
                          "--ro-bind-fd"}) {
    EXPECT_TRUE(ParseFails({opt, "abc", "/d", "t"}, opt)) << opt;
    EXPECT_TRUE(ParseFails({opt, "2147483647", "/d", "t"}, opt)) << opt;
  }
}

TEST_F(FdTest, SeccompOnce) {
  Spec s = P({"--seccomp", fds(0), "t"});
  EXPECT_TRUE(s.seccomp_fd_option);
  EXPECT_EQ(s.seccomp_fds, (std::vector<int>{fd(0)}));
  EXPECT_EQ(consumed(s), (std::vector<int>{fd(0)}));
  EXPECT_TRUE(ParseFails({"--seccomp", fds(0), "--seccomp", fds(1), "t"}, "--seccomp"));
}

TEST_F(FdTest, AddSeccompFdStacksInOrder) {
  Spec s = P({"--add-seccomp-fd", fds(1), "--add-seccomp-fd", fds(0), "t"});
  EXPECT_FALSE(s.seccomp_fd_option);
  EXPECT_EQ(s.seccomp_fds, (std::vector<int>{fd(1), fd(0)}));
  EXPECT_EQ(consumed(s), (std::vector<int>{fd(1), fd(0)}));
}

TEST_F(FdTest, SeccompAndAddSeccompFdExclusive) {
  EXPECT_TRUE(ParseFails({"--seccomp", fds(0), "--add-seccomp-fd", fds(1), "t"},
                         "--add-seccomp-fd"));
  EXPECT_TRUE(ParseFails({"--add-seccomp-fd", fds(0), "--seccomp", fds(1), "t"}, "--seccomp"));
}

TEST_F(FdTest, DataOps) {
  Spec s = P({"--file", fds(0), "etc/passwd", "--perms", "0640", "--bind-data", fds(1), "/b",
              "--ro-bind-data", fds(2), "/r", "t"});
  ASSERT_EQ(s.fs.size(), 3u);
  const auto& f = As<DataOp>(s.fs[0]);
  EXPECT_EQ(f.kind, DataOp::Kind::File);
  EXPECT_EQ(f.fd, fd(0));
  EXPECT_EQ(f.dest, "/etc/passwd");
  EXPECT_FALSE(f.perms.has_value());
  const auto& b = As<DataOp>(s.fs[1]);
  EXPECT_EQ(b.kind, DataOp::Kind::BindData);
  EXPECT_EQ(b.fd, fd(1));
  EXPECT_EQ(b.dest, "/b");
  EXPECT_EQ(b.perms, std::optional<unsigned>(0640u));
  const auto& r = As<DataOp>(s.fs[2]);
  EXPECT_EQ(r.kind, DataOp::Kind::RoBindData);
  EXPECT_EQ(r.fd, fd(2));
  EXPECT_EQ(r.dest, "/r");
  EXPECT_FALSE(r.perms.has_value());
  EXPECT_EQ(consumed(s), (std::vector<int>{fd(0), fd(1), fd(2)}));
}

TEST_F(FdTest, PermsAppliesToFile) {
  Spec s = P({"--perms", "0600", "--file", fds(0), "/f", "--file", fds(1), "/g", "t"});
  ASSERT_EQ(s.fs.size(), 2u);
  EXPECT_EQ(As<DataOp>(s.fs[0]).perms, std::optional<unsigned>(0600u));
  EXPECT_FALSE(As<DataOp>(s.fs[1]).perms.has_value());
}

TEST_F(FdTest, BindFdOps) {
  Spec s = P({"--bind-fd", fds(0), "/rw", "--ro-bind-fd", fds(1), "ro", "t"});
  ASSERT_EQ(s.fs.size(), 2u);
  const auto& rw = As<BindOp>(s.fs[0]);
  EXPECT_EQ(rw.source_fd, fd(0));
  EXPECT_EQ(rw.dest, "/rw");
  EXPECT_EQ(rw.mode, BindOp::Mode::ReadWrite);
  EXPECT_FALSE(rw.allow_missing);
  EXPECT_EQ(rw.option, "--bind-fd");
  const auto& ro = As<BindOp>(s.fs[1]);
  EXPECT_EQ(ro.source_fd, fd(1));
  EXPECT_EQ(ro.dest, "/ro");
  EXPECT_EQ(ro.mode, BindOp::Mode::ReadOnly);
  EXPECT_EQ(ro.option, "--ro-bind-fd");
  EXPECT_EQ(consumed(s), (std::vector<int>{fd(0), fd(1)}));
}

// ---- --args -----------------------------------------------------------------------------

TEST(CliArgs, SplicesArgumentsInPlace) {
  ArgsPipe pipe(nul_join({"--unshare-net", "--dir", "/from-args"}));
  Spec s = P({"--dir", "/before", "--args", pipe.str(), "--dir", "/after", "cmd"});
  EXPECT_TRUE(s.unshare_net);
  ASSERT_EQ(s.fs.size(), 3u);
  EXPECT_EQ(As<DirOp>(s.fs[0]).dest, "/before");
  EXPECT_EQ(As<DirOp>(s.fs[1]).dest, "/from-args");
  EXPECT_EQ(As<DirOp>(s.fs[2]).dest, "/after");
  EXPECT_EQ(s.command, (Args{"cmd"}));
  EXPECT_EQ(consumed(s), (std::vector<int>{pipe.fd()}));
}

TEST(CliArgs, CommandMayComeFromArgs) {
  ArgsPipe pipe(nul_join({"--", "echo", "hi"}));
  Spec s = P({"--args", pipe.str(), "tail"});
  EXPECT_EQ(s.command, (Args{"echo", "hi", "tail"}));
}

TEST(CliArgs, EmptyDataIsFine) {
  ArgsPipe pipe("");
  Spec s = P({"--args", pipe.str(), "cmd"});
  EXPECT_EQ(s.command, (Args{"cmd"}));
}

TEST(CliArgs, MissingTrailingNulIsError) {
  ArgsPipe pipe(std::string("--unshare-net\0--dir", 19));
  EXPECT_TRUE(ParseFails({"--args", pipe.str(), "cmd"}, "--args"));
}

TEST(CliArgs, PermsMayPrecedeArgs) {
  ArgsPipe pipe(nul_join({"--dir", "/d"}));
  Spec s = P({"--perms", "0700", "--args", pipe.str(), "cmd"});
  ASSERT_EQ(s.fs.size(), 1u);
  EXPECT_EQ(As<DirOp>(s.fs[0]).perms, std::optional<unsigned>(0700u));
}

TEST(CliArgs, NestingLimit) {
  // Chain: the top-level --args reads "--args <next>" and so on; the last pipe holds a flag.
  auto run = [](int levels) {
    std::vector<std::unique_ptr<ArgsPipe>> pipes(static_cast<size_t>(levels));
    for (int k = levels - 1; k >= 0; --k) {
      std::string data = k == levels - 1
                             ? nul_join({"--unshare-ipc"})
                             : nul_join({"--args", pipes[static_cast<size_t>(k + 1)]->str()});
      pipes[static_cast<size_t>(k)] = std::make_unique<ArgsPipe>(data);
    }
    return P({"--args", pipes[0]->str(), "cmd"});
  };
  Spec ok = run(Parser::kMaxArgsDepth);  // 8 levels of --args
  EXPECT_TRUE(ok.unshare_ipc);
  EXPECT_EQ(ok.command, (Args{"cmd"}));
  EXPECT_THROW(run(Parser::kMaxArgsDepth + 1), Error);
}

// ---- filesystem ops ---------------------------------------------------------------------

TEST(CliFs, BindFamily) {
  Spec s = P({"--bind", "/s1", "/d1", "--bind-try", "/s2", "/d2", "--dev-bind", "/s3", "/d3",
              "--dev-bind-try", "/s4", "/d4", "--ro-bind", "/s5", "/d5", "--ro-bind-try", "/s6",
              "/d6", "t"});
  ASSERT_EQ(s.fs.size(), 6u);
  struct Want {
    const char* src;
    const char* dest;
    BindOp::Mode mode;
    bool try_;
    const char* opt;
  } want[] = {
      {"/s1", "/d1", BindOp::Mode::ReadWrite, false, "--bind"},
      {"/s2", "/d2", BindOp::Mode::ReadWrite, true, "--bind-try"},
      {"/s3", "/d3", BindOp::Mode::Devices, false, "--dev-bind"},
      {"/s4", "/d4", BindOp::Mode::Devices, true, "--dev-bind-try"},
      {"/s5", "/d5", BindOp::Mode::ReadOnly, false, "--ro-bind"},
      {"/s6", "/d6", BindOp::Mode::ReadOnly, true, "--ro-bind-try"},
  };
  for (size_t k = 0; k < 6; ++k) {
    SCOPED_TRACE(want[k].opt);
    const auto& b = As<BindOp>(s.fs[k]);
    EXPECT_EQ(b.source, want[k].src);
    EXPECT_EQ(b.dest, want[k].dest);
    EXPECT_EQ(b.mode, want[k].mode);
    EXPECT_EQ(b.allow_missing, want[k].try_);
    EXPECT_EQ(b.option, want[k].opt);
    EXPECT_EQ(b.source_fd, -1);
  }
  EXPECT_TRUE(s.fds.empty());
}

TEST(CliFs, SimpleMountOps) {
  Spec s = P({"--remount-ro", "/r", "--proc", "/proc", "--dev", "/dev", "--mqueue",
              "/dev/mqueue", "t"});
  ASSERT_EQ(s.fs.size(), 4u);
  EXPECT_EQ(As<RemountRoOp>(s.fs[0]).dest, "/r");
  EXPECT_EQ(As<ProcOp>(s.fs[1]).dest, "/proc");
  EXPECT_EQ(As<DevOp>(s.fs[2]).dest, "/dev");
  EXPECT_EQ(As<MqueueOp>(s.fs[3]).dest, "/dev/mqueue");
}

TEST(CliFs, TmpfsAndDirDefaults) {
  Spec s = P({"--tmpfs", "/tmp", "--dir", "/d", "t"});
  ASSERT_EQ(s.fs.size(), 2u);
  const auto& t = As<TmpfsOp>(s.fs[0]);
  EXPECT_EQ(t.dest, "/tmp");
  EXPECT_FALSE(t.perms.has_value());
  EXPECT_FALSE(t.size.has_value());
  const auto& d = As<DirOp>(s.fs[1]);
  EXPECT_EQ(d.dest, "/d");
  EXPECT_FALSE(d.perms.has_value());
}

TEST(CliFs, SymlinkKeepsTargetVerbatim) {
  Spec s = P({"--symlink", "usr/lib", "lib", "--symlink", "../x", "/y", "t"});
  ASSERT_EQ(s.fs.size(), 2u);
  EXPECT_EQ(As<SymlinkOp>(s.fs[0]).target, "usr/lib");
  EXPECT_EQ(As<SymlinkOp>(s.fs[0]).dest, "/lib");
  EXPECT_EQ(As<SymlinkOp>(s.fs[1]).target, "../x");
  EXPECT_EQ(As<SymlinkOp>(s.fs[1]).dest, "/y");
}

TEST(CliFs, Chmod) {
  Spec s = P({"--chmod", "0700", "/secret", "--chmod", "4755", "bin/x", "t"});
  ASSERT_EQ(s.fs.size(), 2u);
  EXPECT_EQ(As<ChmodOp>(s.fs[0]).mode, 0700u);
  EXPECT_EQ(As<ChmodOp>(s.fs[0]).path, "/secret");
  EXPECT_EQ(As<ChmodOp>(s.fs[1]).mode, 04755u);
  EXPECT_EQ(As<ChmodOp>(s.fs[1]).path, "/bin/x");
}

TEST(CliFs, ChmodBadMode) {
  EXPECT_TRUE(ParseFails({"--chmod", "999", "/x", "t"}, "--chmod"));
  EXPECT_TRUE(ParseFails({"--chmod", "17777", "/x", "t"}, "--chmod"));
  EXPECT_TRUE(ParseFails({"--chmod", "", "/x", "t"}, "--chmod"));
}

TEST(CliFs, OrderFollowsCommandLine) {
  Spec s = P({"--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
              "--dir", "/run", "--symlink", "usr/bin", "/bin", "--bind-try", "/opt", "/opt",
              "--remount-ro", "/usr", "--chmod", "0755", "/run", "--mqueue", "/mq",
              "--dev-bind", "/dev/fuse", "/dev/fuse", "sh"});
  ASSERT_EQ(s.fs.size(), 11u);
  EXPECT_TRUE(std::holds_alternative<BindOp>(s.fs[0]));
  EXPECT_TRUE(std::holds_alternative<ProcOp>(s.fs[1]));
  EXPECT_TRUE(std::holds_alternative<DevOp>(s.fs[2]));
  EXPECT_TRUE(std::holds_alternative<TmpfsOp>(s.fs[3]));
  EXPECT_TRUE(std::holds_alternative<DirOp>(s.fs[4]));
  EXPECT_TRUE(std::holds_alternative<SymlinkOp>(s.fs[5]));
  EXPECT_TRUE(std::holds_alternative<BindOp>(s.fs[6]));
  EXPECT_TRUE(std::holds_alternative<RemountRoOp>(s.fs[7]));
  EXPECT_TRUE(std::holds_alternative<ChmodOp>(s.fs[8]));
  EXPECT_TRUE(std::holds_alternative<MqueueOp>(s.fs[9]));
  EXPECT_TRUE(std::holds_alternative<BindOp>(s.fs[10]));

  const auto& usr = As<BindOp>(s.fs[0]);
  EXPECT_EQ(usr.mode, BindOp::Mode::ReadOnly);
  EXPECT_FALSE(usr.allow_missing);
  EXPECT_EQ(usr.option, "--ro-bind");
  const auto& opt = As<BindOp>(s.fs[6]);
  EXPECT_EQ(opt.mode, BindOp::Mode::ReadWrite);
  EXPECT_TRUE(opt.allow_missing);
  EXPECT_EQ(opt.option, "--bind-try");
  const auto& fuse = As<BindOp>(s.fs[10]);
  EXPECT_EQ(fuse.mode, BindOp::Mode::Devices);
  EXPECT_EQ(fuse.option, "--dev-bind");

  std::vector<std::string> dests;
  for (const auto& op : s.fs) dests.push_back(fs_op_dest(op));
  EXPECT_EQ(dests, (Args{"/usr", "/proc", "/dev", "/tmp", "/run", "/bin", "/opt", "/usr", "/run",
                         "/mq", "/dev/fuse"}));
  EXPECT_EQ(s.command, (Args{"sh"}));
}

TEST(CliFs, SameOptionRepeatedKeepsEveryOccurrence) {
  Spec s = P({"--dir", "/a", "--dir", "/b", "--dir", "/a", "t"});
  ASSERT_EQ(s.fs.size(), 3u);
  EXPECT_EQ(As<DirOp>(s.fs[0]).dest, "/a");
  EXPECT_EQ(As<DirOp>(s.fs[1]).dest, "/b");
  EXPECT_EQ(As<DirOp>(s.fs[2]).dest, "/a");
}

TEST(CliFs, EmptyPathsAreErrors) {
  EXPECT_THROW(P({"--bind", "", "/d", "t"}), Error);
  EXPECT_THROW(P({"--bind", "/s", "", "t"}), Error);
  EXPECT_THROW(P({"--dir", "", "t"}), Error);
}

TEST(CliFs, Overlay) {
  Spec s = P({"--overlay-src", "/l1", "--overlay-src", "/l2", "--overlay", "/up", "/wk", "/o",
              "t"});
  ASSERT_EQ(s.fs.size(), 1u);
  const auto& o = As<OverlayOp>(s.fs[0]);
  EXPECT_EQ(o.kind, OverlayOp::Kind::ReadWrite);
  EXPECT_EQ(o.lowers, (Args{"/l1", "/l2"}));
  EXPECT_EQ(o.upper, "/up");
  EXPECT_EQ(o.work, "/wk");
  EXPECT_EQ(o.dest, "/o");
}

TEST(CliFs, TmpAndRoOverlay) {
  Spec s = P({"--overlay-src", "/a", "--tmp-overlay", "/t", "--overlay-src", "/b",
              "--overlay-src", "/c", "--ro-overlay", "r", "t"});
  ASSERT_EQ(s.fs.size(), 2u);
  const auto& t = As<OverlayOp>(s.fs[0]);
  EXPECT_EQ(t.kind, OverlayOp::Kind::Tmp);
  EXPECT_EQ(t.lowers, (Args{"/a"}));
  EXPECT_EQ(t.dest, "/t");
  EXPECT_TRUE(t.upper.empty());
  const auto& r = As<OverlayOp>(s.fs[1]);
  EXPECT_EQ(r.kind, OverlayOp::Kind::ReadOnly);
  EXPECT_EQ(r.lowers, (Args{"/b", "/c"}));  // layers from the first overlay are not reused
  EXPECT_EQ(r.dest, "/r");
}

// The words of bwrap's errors come first: its callers and its test suite match them.
TEST(CliFs, OverlayErrorsUseBwrapWords) {
  EXPECT_TRUE(ParseFails({"--overlay", "/u", "/w", "/o", "t"},
                         "--overlay requires at least one --overlay-src\n"));
  EXPECT_TRUE(ParseFails({"--tmp-overlay", "/o", "t"},
                         "--tmp-overlay requires at least one --overlay-src\n"));
  EXPECT_TRUE(ParseFails({"--overlay-src", "/a", "--ro-overlay", "/o", "t"},
                         "--ro-overlay requires at least two --overlay-src\n"));
  const std::string follow =
      "--overlay-src must be followed by another --overlay-src or one of --overlay, "
      "--tmp-overlay, or --ro-overlay";
  EXPECT_TRUE(ParseFails({"--overlay-src", "/a", "--chdir", "/", "t"}, follow + "\n"));
  EXPECT_TRUE(ParseFails({"--overlay-src", "/a", "t"}, follow));
}

TEST(CliFs, OverlaySourceRules) {
  EXPECT_TRUE(ParseFails({"--overlay", "/u", "/w", "/o", "t"}, "--overlay"));
  EXPECT_TRUE(ParseFails({"--tmp-overlay", "/o", "t"}, "--tmp-overlay"));
  EXPECT_TRUE(ParseFails({"--overlay-src", "/a", "--ro-overlay", "/o", "t"}, "--ro-overlay"));
  EXPECT_TRUE(ParseFails({"--overlay-src", "/a", "--dir", "/d", "t"}, "--overlay-src"));
  EXPECT_TRUE(ParseFails({"--overlay-src", "/a", "t"}, "--overlay-src"));
  EXPECT_TRUE(ParseFails({"--overlay-src", "/a"}, "--overlay-src"));
}

// ---- relative paths ---------------------------------------------------------------------

TEST_F(CwdTest, RelativeSourceIsMadeAbsoluteAgainstCwd) {
  Spec s = P({"--bind", "src", "dest", "--ro-bind-try", "a/b", "x/y", "--dev-bind", "./c",
              "/abs", "t"});
  ASSERT_EQ(s.fs.size(), 3u);
  EXPECT_EQ(As<BindOp>(s.fs[0]).source, cwd_ + "/src");
  EXPECT_EQ(As<BindOp>(s.fs[0]).dest, "/dest");
  EXPECT_EQ(As<BindOp>(s.fs[1]).source, cwd_ + "/a/b");
  EXPECT_EQ(As<BindOp>(s.fs[1]).dest, "/x/y");
  EXPECT_EQ(As<BindOp>(s.fs[2]).source, cwd_ + "/./c");
  EXPECT_EQ(As<BindOp>(s.fs[2]).dest, "/abs");
}

TEST_F(CwdTest, AbsoluteSourceUnchanged) {
  Spec s = P({"--bind", "/etc", "etc", "t"});
  EXPECT_EQ(As<BindOp>(s.fs[0]).source, "/etc");
  EXPECT_EQ(As<BindOp>(s.fs[0]).dest, "/etc");
}

TEST_F(CwdTest, RelativeOverlayPathsAreMadeAbsolute) {
  Spec s = P({"--overlay-src", "lower", "--overlay", "up", "work", "merged", "t"});
  const auto& o = As<OverlayOp>(s.fs[0]);
  EXPECT_EQ(o.lowers, (Args{cwd_ + "/lower"}));
  EXPECT_EQ(o.upper, cwd_ + "/up");
  EXPECT_EQ(o.work, cwd_ + "/work");
  EXPECT_EQ(o.dest, "/merged");
}

TEST_F(CwdTest, RelativeDestsGetLeadingSlash) {
  Spec s = P({"--tmpfs", "tmp", "--dir", "a/b", "--proc", "proc", "--dev", "dev", "--mqueue",
              "mq", "--remount-ro", "usr", "--lock-file", "run/lock", "t"});
  std::vector<std::string> dests;
  for (const auto& op : s.fs) dests.push_back(fs_op_dest(op));
  EXPECT_EQ(dests, (Args{"/tmp", "/a/b", "/proc", "/dev", "/mq", "/usr"}));
  EXPECT_EQ(s.lock_files, (Args{"/run/lock"}));
}

TEST_F(CwdTest, SourceRelativeToRootHasNoDoubleSlash) {
  ASSERT_EQ(::chdir("/"), 0);
  Spec s = P({"--bind", "etc", "/etc", "t"});
  EXPECT_EQ(As<BindOp>(s.fs[0]).source, "/etc");
}

// ---- --perms / --size -------------------------------------------------------------------

TEST(CliPerms, AppliesToNextDirOnly) {
  Spec s = P({"--perms", "0700", "--dir", "/a", "--dir", "/b", "t"});
  ASSERT_EQ(s.fs.size(), 2u);
  EXPECT_EQ(As<DirOp>(s.fs[0]).perms, std::optional<unsigned>(0700u));
  EXPECT_FALSE(As<DirOp>(s.fs[1]).perms.has_value());
}

TEST(CliPerms, AppliesToNextTmpfsOnly) {
  Spec s = P({"--perms", "1777", "--tmpfs", "/tmp", "--tmpfs", "/tmp2", "t"});
  ASSERT_EQ(s.fs.size(), 2u);
  EXPECT_EQ(As<TmpfsOp>(s.fs[0]).perms, std::optional<unsigned>(01777u));
  EXPECT_FALSE(As<TmpfsOp>(s.fs[1]).perms.has_value());
}

TEST(CliPerms, ZeroPermsIsAValue) {
  Spec s = P({"--perms", "0", "--dir", "/a", "t"});
  EXPECT_EQ(As<DirOp>(s.fs[0]).perms, std::optional<unsigned>(0u));
}

TEST(CliPerms, TwiceIsError) {
  EXPECT_TRUE(ParseFails({"--perms", "0700", "--perms", "0755", "--dir", "/a", "t"}, "--perms"));
}

TEST(CliPerms, AllowedAgainAfterConsumed) {
  Spec s = P({"--perms", "0700", "--dir", "/a", "--perms", "0750", "--dir", "/b", "t"});
  EXPECT_EQ(As<DirOp>(s.fs[0]).perms, std::optional<unsigned>(0700u));
  EXPECT_EQ(As<DirOp>(s.fs[1]).perms, std::optional<unsigned>(0750u));
}

TEST(CliPerms, FollowedByWrongOptionNamesPerms) {
  EXPECT_TRUE(ParseFails({"--perms", "0700", "--bind", "/a", "/b", "t"}, "--perms"));
  EXPECT_TRUE(ParseFails({"--perms", "0700", "--symlink", "a", "/b", "t"}, "--perms"));
  EXPECT_TRUE(ParseFails({"--perms", "0700", "--proc", "/proc", "t"}, "--perms"));
  EXPECT_TRUE(ParseFails({"--perms", "0700", "--unshare-net", "--dir", "/d", "t"}, "--perms"));
  EXPECT_TRUE(ParseFails({"--perms", "0700", "--chmod", "0700", "/d", "t"}, "--perms"));
}

TEST(CliPerms, DanglingAtEndOfOptions) {
  EXPECT_TRUE(ParseFails({"--perms", "0700", "t"}, "--perms"));
  EXPECT_TRUE(ParseFails({"--perms", "0700"}, "--perms"));
  EXPECT_TRUE(ParseFails({"--perms", "0700", "--", "t"}, "--perms"));
}

TEST(CliPerms, BadValueNamesPerms) {
  for (const char* bad : {"999", "0x1", "-1", "17777", "", " 755", "abc"})
    EXPECT_TRUE(ParseFails({"--perms", bad, "--dir", "/a", "t"}, "--perms")) << bad;
}

TEST(CliSize, AppliesToNextTmpfsOnly) {
  Spec s = P({"--size", "1M", "--tmpfs", "/a", "--tmpfs", "/b", "t"});
  ASSERT_EQ(s.fs.size(), 2u);
  EXPECT_EQ(As<TmpfsOp>(s.fs[0]).size, std::optional<uint64_t>(1ULL << 20));
  EXPECT_FALSE(As<TmpfsOp>(s.fs[0]).perms.has_value());
  EXPECT_FALSE(As<TmpfsOp>(s.fs[1]).size.has_value());
}

TEST(CliSize, PlainBytes) {
  Spec s = P({"--size", "4096", "--tmpfs", "/a", "t"});
  EXPECT_EQ(As<TmpfsOp>(s.fs[0]).size, std::optional<uint64_t>(4096));
}

TEST(CliSize, TwiceIsError) {
  EXPECT_TRUE(ParseFails({"--size", "1M", "--size", "2M", "--tmpfs", "/a", "t"}, "--size"));
}

TEST(CliSize, FollowedByDirIsError) {
  EXPECT_TRUE(ParseFails({"--size", "1M", "--dir", "/a", "t"}, "--size"));
  EXPECT_TRUE(ParseFails({"--size", "1M", "--bind", "/a", "/b", "t"}, "--size"));
}

TEST(CliSize, DanglingAtEndOfOptions) {
  EXPECT_TRUE(ParseFails({"--size", "1M", "t"}, "--size"));
  EXPECT_TRUE(ParseFails({"--size", "1M"}, "--size"));
}

TEST(CliSize, BadValueNamesSize) {
  for (const char* bad : {"0", "", "K", "1.5M", "-1", "99999999999999999999", "16777216T", "1X"})
    EXPECT_TRUE(ParseFails({"--size", bad, "--tmpfs", "/a", "t"}, "--size")) << bad;
}

// bwrap's limit, in its words: a tmpfs size is a size_t, at most SIZE_MAX / 2.
TEST(CliSize, AboveHalfOfSizeMaxIsRefused) {
  EXPECT_TRUE(ParseFails({"--size", "9223372036854775808", "--tmpfs", "/a", "t"},
                         "--size (for tmpfs) is limited to 9223372036854775807"));
  Spec s = P({"--size", "9223372036854775807", "--tmpfs", "/a", "t"});
  EXPECT_EQ(As<TmpfsOp>(s.fs[0]).size, std::optional<uint64_t>(9223372036854775807ULL));
}

TEST(CliPermsSize, InterleavedBothApplyToTmpfs) {
  Spec a = P({"--perms", "0700", "--size", "64K", "--tmpfs", "/a", "t"});
  EXPECT_EQ(As<TmpfsOp>(a.fs[0]).perms, std::optional<unsigned>(0700u));
  EXPECT_EQ(As<TmpfsOp>(a.fs[0]).size, std::optional<uint64_t>(64ULL << 10));
  Spec b = P({"--size", "2G", "--perms", "0750", "--tmpfs", "/b", "t"});
  EXPECT_EQ(As<TmpfsOp>(b.fs[0]).perms, std::optional<unsigned>(0750u));
  EXPECT_EQ(As<TmpfsOp>(b.fs[0]).size, std::optional<uint64_t>(2ULL << 30));
}

TEST(CliPermsSize, SizeWithPermsBeforeDirIsError) {
  EXPECT_TRUE(ParseFails({"--perms", "0700", "--size", "1M", "--dir", "/a", "t"}, "--size"));
}

// ---- process ----------------------------------------------------------------------------

TEST(CliProcess, ChdirTwiceKeepsLast) {
  Spec s = P({"--chdir", "/first", "--chdir", "/second", "t"});
  EXPECT_EQ(s.chdir, std::optional<std::string>("/second"));
  EXPECT_FALSE(P({"t"}).chdir.has_value());
}

TEST(CliProcess, ChdirKeptVerbatim) {
  EXPECT_EQ(P({"--chdir", "rel/dir", "t"}).chdir, std::optional<std::string>("rel/dir"));
}

TEST(CliProcess, EnvEditsInOrder) {
  Spec s = P({"--setenv", "A", "1", "--unsetenv", "B", "--clearenv", "--setenv", "C", "x=y",
              "t"});
  ASSERT_EQ(s.env.size(), 4u);
  EXPECT_EQ(s.env[0].kind, EnvEdit::Kind::Set);
  EXPECT_EQ(s.env[0].name, "A");
  EXPECT_EQ(s.env[0].value, "1");
  EXPECT_EQ(s.env[1].kind, EnvEdit::Kind::Unset);
  EXPECT_EQ(s.env[1].name, "B");
  EXPECT_EQ(s.env[2].kind, EnvEdit::Kind::Clear);
  EXPECT_EQ(s.env[3].kind, EnvEdit::Kind::Set);
  EXPECT_EQ(s.env[3].name, "C");
  EXPECT_EQ(s.env[3].value, "x=y");
  EXPECT_EQ(apply_env({"B=2", "PWD=/p", "D=4"}, s.env), (Args{"PWD=/p", "C=x=y"}));
}

TEST(CliProcess, SetenvEmptyValueIsFine) {
  Spec s = P({"--setenv", "A", "", "t"});
  ASSERT_EQ(s.env.size(), 1u);
  EXPECT_EQ(s.env[0].value, "");
}

TEST(CliProcess, BadEnvNames) {
  EXPECT_TRUE(ParseFails({"--setenv", "A=B", "v", "t"}, "--setenv"));
  EXPECT_TRUE(ParseFails({"--setenv", "", "v", "t"}, "--setenv"));
  EXPECT_TRUE(ParseFails({"--setenv", "=", "v", "t"}, "--setenv"));
  EXPECT_TRUE(ParseFails({"--unsetenv", "A=B", "t"}, "--unsetenv"));
  EXPECT_TRUE(ParseFails({"--unsetenv", "", "t"}, "--unsetenv"));
}

TEST(CliProcess, Clearenv) {
  Spec s = P({"--clearenv", "t"});
  ASSERT_EQ(s.env.size(), 1u);
  EXPECT_EQ(s.env[0].kind, EnvEdit::Kind::Clear);
}

TEST(CliProcess, Flags) {
  Spec s = P({"--new-session", "--die-with-parent", "--as-pid-1", "t"});
  EXPECT_TRUE(s.new_session);
  EXPECT_TRUE(s.die_with_parent);
  EXPECT_TRUE(s.as_pid_1);
  Spec d = P({"t"});
  EXPECT_FALSE(d.new_session);
  EXPECT_FALSE(d.die_with_parent);
  EXPECT_FALSE(d.as_pid_1);
}

TEST(CliProcess, Argv0) {
  EXPECT_EQ(P({"--argv0", "busybox", "t"}).argv0, std::optional<std::string>("busybox"));
  EXPECT_FALSE(P({"t"}).argv0.has_value());
}

TEST(CliProcess, LockFiles) {
  Spec s = P({"--lock-file", "/a", "--lock-file", "b", "t"});
  EXPECT_EQ(s.lock_files, (Args{"/a", "/b"}));
}

TEST(CliProcess, SelinuxLabels) {
  Spec s = P({"--exec-label", "u:r:t:s0", "--file-label", "u:o:f:s0", "t"});
  EXPECT_EQ(s.exec_label, std::optional<std::string>("u:r:t:s0"));
  EXPECT_EQ(s.file_label, std::optional<std::string>("u:o:f:s0"));
}

TEST(CliCaps, NamesAndAll) {
  Spec s = P({"--cap-add", "CAP_SYS_ADMIN", "--cap-drop", "sys_admin", "--cap-add", "ALL",
              "--cap-drop", "all", "--cap-add", "cap_chown", "--cap-drop", "NET_RAW", "t"});
  ASSERT_EQ(s.caps.size(), 6u);
  EXPECT_TRUE(s.caps[0].add);
  EXPECT_EQ(s.caps[0].cap, CAP_SYS_ADMIN);
  EXPECT_FALSE(s.caps[1].add);
  EXPECT_EQ(s.caps[1].cap, CAP_SYS_ADMIN);
  EXPECT_TRUE(s.caps[2].add);
  EXPECT_EQ(s.caps[2].cap, -1);
  EXPECT_FALSE(s.caps[3].add);
  EXPECT_EQ(s.caps[3].cap, -1);
  EXPECT_TRUE(s.caps[4].add);
  EXPECT_EQ(s.caps[4].cap, CAP_CHOWN);
  EXPECT_FALSE(s.caps[5].add);
  EXPECT_EQ(s.caps[5].cap, CAP_NET_RAW);
}

TEST(CliCaps, UnknownCapability) {
  EXPECT_TRUE(ParseFails({"--cap-add", "BOGUS", "t"}, "--cap-add"));
  EXPECT_TRUE(ParseFails({"--cap-add", "BOGUS", "t"}, "BOGUS"));
  EXPECT_TRUE(ParseFails({"--cap-drop", "CAP_BOGUS", "t"}, "--cap-drop"));
  EXPECT_TRUE(ParseFails({"--cap-add", "", "t"}, "--cap-add"));
  EXPECT_TRUE(ParseFails({"--cap-add", "CAP_", "t"}, "--cap-add"));
}

// ---- networking ----------------------------------------------------------------------

TEST(CliNet, ModesAndNamespace) {
  EXPECT_EQ(P({"t"}).net, NetMode::Default);
  Spec s = P({"--net", "none", "t"});
  EXPECT_EQ(s.net, NetMode::None);
  EXPECT_TRUE(s.unshare_net);
  s = P({"--net", "pasta", "t"});
  EXPECT_EQ(s.net, NetMode::Pasta);
  EXPECT_TRUE(s.unshare_net);
  EXPECT_EQ(P({"--net", "slirp4netns", "t"}).net, NetMode::Slirp4netns);
  EXPECT_EQ(P({"--net", "veth", "t"}).net, NetMode::Veth);
  EXPECT_EQ(P({"--net", "user", "t"}).net, NetMode::User);
  s = P({"--unshare-all", "--net", "host", "t"});
  EXPECT_EQ(s.net, NetMode::Host);
  EXPECT_FALSE(s.unshare_net);
  EXPECT_TRUE(ParseFails({"--net", "tap", "t"}, "--net: unknown mode 'tap'"));
  EXPECT_TRUE(ParseFails({"--net"}, "--net"));
}

TEST(CliNet, Publish) {
  Spec s = P({"--net", "pasta", "--publish", "8080:80", "--publish", "0.0.0.0:53:5353/udp",
              "--publish", "[::1]:9000:90/tcp", "t"});
  ASSERT_EQ(s.publish.size(), 3u);
  EXPECT_EQ(s.publish[0].host_addr, "127.0.0.1");
  EXPECT_EQ(s.publish[0].host_port, 8080);
  EXPECT_EQ(s.publish[0].sandbox_port, 80);
  EXPECT_FALSE(s.publish[0].udp);
  EXPECT_EQ(s.publish[1].host_addr, "0.0.0.0");
  EXPECT_EQ(s.publish[1].host_port, 53);
  EXPECT_EQ(s.publish[1].sandbox_port, 5353);
  EXPECT_TRUE(s.publish[1].udp);
  EXPECT_EQ(s.publish[2].host_addr, "::1");
  EXPECT_EQ(s.publish[2].sandbox_port, 90);
  EXPECT_TRUE(ParseFails({"--publish", "80", "t"}, "--publish: '80': wrong number of fields"));
  EXPECT_TRUE(ParseFails({"--publish", "0:80", "t"}, "host port '0'"));
  EXPECT_TRUE(ParseFails({"--publish", "80:70000", "t"}, "sandbox port '70000'"));
  EXPECT_TRUE(ParseFails({"--publish", "80:80/sctp", "t"}, "unknown protocol 'sctp'"));
  EXPECT_TRUE(ParseFails({"--publish", "host:80:80", "t"}, "'host' is not an IPv4 address"));
  EXPECT_TRUE(ParseFails({"--publish", "[::1:80:80", "t"}, "unterminated"));
}

TEST(CliNet, Subnet) {
  Spec s = P({"--subnet", "10.9.0.0/16", "t"});
  ASSERT_TRUE(s.subnet);
  EXPECT_EQ(s.subnet->network, 0x0a090000u);
  EXPECT_EQ(s.subnet->prefix, 16u);
  EXPECT_TRUE(ParseFails({"--subnet", "10.9.0.0", "t"}, "CIDR"));
  EXPECT_TRUE(ParseFails({"--subnet", "10.9.0/16", "t"}, "'10.9.0' is not an IPv4 address"));
  EXPECT_TRUE(ParseFails({"--subnet", "10.9.0.0/33", "t"}, "--subnet"));
}

// The host's loopback is reachable through the user-mode gateway only when asked.
TEST(CliNet, HostLoopbackIsOptIn) {
  EXPECT_FALSE(P({"--net", "pasta", "t"}).net_host_loopback);
  EXPECT_TRUE(P({"--net", "pasta", "--net-host-loopback", "t"}).net_host_loopback);
}

// --allow-net: repeatable, kept in order; a bad value names the option and the value.
TEST(CliNet, AllowNet) {
  Spec s = P({"--net", "pasta", "--allow-net", "10.0.0.0/8:443", "--allow-net", "*.pypi.org",
              "--allow-net", "[::1]:80-81", "t"});
  ASSERT_EQ(s.allow_net.size(), 3u);
  EXPECT_EQ(s.allow_net[0].kind, NetAllow::Kind::Ipv4);
  EXPECT_EQ(s.allow_net[0].prefix, 8u);
  EXPECT_EQ(s.allow_net[0].port_lo, 443);
  EXPECT_EQ(s.allow_net[1].kind, NetAllow::Kind::Name);
  EXPECT_TRUE(s.allow_net[1].wildcard);
  EXPECT_EQ(s.allow_net[2].kind, NetAllow::Kind::Ipv6);
  EXPECT_EQ(s.allow_net[2].port_hi, 81);
  EXPECT_TRUE(P({"--net", "pasta", "t"}).allow_net.empty());
  EXPECT_TRUE(ParseFails({"--allow-net", "1.2.3.4:99999", "t"}, "--allow-net: '1.2.3.4:99999'"));
  EXPECT_TRUE(ParseFails({"--allow-net", "a..b", "t"}, "--allow-net: 'a..b'"));
}

// ---- option table -----------------------------------------------------------------------

// Every option in the table has assertions on its effect in this file. When an option is
// added to the table, add its tests here and its name to this list.
TEST(CliLimits, CgroupLimits) {
  Spec s = P({"--memory", "64M", "--memory-swap", "0", "--pids", "50", "--cpus", "0.5",
              "--cpu-weight", "200", "--io-weight", "10", "--cgroup-parent", "/user.slice/x.scope",
              "true"});
  EXPECT_EQ(s.limits.memory, std::optional<uint64_t>(64ULL << 20));
  EXPECT_EQ(s.limits.memory_text, "64M");
  EXPECT_EQ(s.limits.memory_swap, std::optional<uint64_t>(0));
  EXPECT_EQ(s.limits.pids, std::optional<uint64_t>(50));
  EXPECT_EQ(s.limits.pids_text, "50");
  EXPECT_EQ(s.limits.cpu_quota_us, std::optional<uint64_t>(50000));
  EXPECT_EQ(s.limits.cpus_text, "0.5");
  EXPECT_EQ(s.limits.cpu_weight, std::optional<uint64_t>(200));
  EXPECT_EQ(s.limits.io_weight, std::optional<uint64_t>(10));
  EXPECT_EQ(s.limits.cgroup_parent, std::optional<std::string>("/user.slice/x.scope"));
  EXPECT_TRUE(s.limits.wants_cgroup());
  EXPECT_FALSE(s.limits.best_effort);
  EXPECT_FALSE(P({"--rlimit", "core=0", "--timeout", "1s", "true"}).limits.wants_cgroup());
}

TEST(CliLimits, BadValuesNameTheOption) {
  EXPECT_TRUE(ParseFails({"--memory", "0", "true"}, "--memory"));
  EXPECT_TRUE(ParseFails({"--memory", "64X", "true"}, "--memory"));
  EXPECT_TRUE(ParseFails({"--memory-swap", "-1", "true"}, "--memory-swap"));
  EXPECT_TRUE(ParseFails({"--pids", "0", "true"}, "--pids"));
  EXPECT_TRUE(ParseFails({"--pids", "ten", "true"}, "--pids"));
  EXPECT_TRUE(ParseFails({"--cpus", "0.001", "true"}, "--cpus"));
  EXPECT_TRUE(ParseFails({"--cpus", "-1", "true"}, "--cpus"));
  EXPECT_TRUE(ParseFails({"--cpu-weight", "0", "true"}, "--cpu-weight"));
  EXPECT_TRUE(ParseFails({"--cpu-weight", "10001", "true"}, "--cpu-weight"));
  EXPECT_TRUE(ParseFails({"--io-weight", "x", "true"}, "--io-weight"));
  EXPECT_TRUE(ParseFails({"--cgroup-parent", "rel/path", "true"}, "--cgroup-parent"));
  EXPECT_TRUE(ParseFails({"--cgroup-parent", "/a/../b", "true"}, "--cgroup-parent"));
  EXPECT_TRUE(ParseFails({"--timeout", "5x", "true"}, "--timeout"));
  EXPECT_TRUE(ParseFails({"--timeout", "0", "true"}, "--timeout"));
  EXPECT_TRUE(ParseFails({"--rlimit", "nofile", "true"}, "--rlimit"));
  EXPECT_TRUE(ParseFails({"--rlimit", "files=1", "true"}, "unknown limit 'files'"));
  EXPECT_TRUE(ParseFails({"--limits", "maybe", "true"}, "--limits"));
}

TEST(CliLimits, RlimitsTimeoutAndMode) {
  Spec s = P({"--rlimit", "nofile=64:128", "--rlimit", "core=0", "--rlimit", "nofile=32",
              "--timeout", "1.5m", "--limits", "best-effort", "true"});
  ASSERT_EQ(s.limits.rlimits.size(), 2u);  // a later nofile replaces the earlier
  EXPECT_EQ(s.limits.rlimits[0].name, "core");
  EXPECT_EQ(s.limits.rlimits[1].name, "nofile");
  EXPECT_EQ(s.limits.rlimits[1].soft, 32u);
  EXPECT_EQ(s.limits.rlimits[1].hard, 32u);
  EXPECT_EQ(s.limits.timeout_ms, std::optional<uint64_t>(90000));
  EXPECT_EQ(s.limits.timeout_text, "1.5m");
  EXPECT_TRUE(s.limits.best_effort);
  EXPECT_FALSE(P({"--limits", "best-effort", "--limits", "required", "true"}).limits.best_effort);
}

// ---- parse() is pure: a fake environment, no descriptors, no files, no global state ----

ParseResult F(test::FakeParseEnv& env, const Args& a) { return parse(a, env); }

TEST(CliPure, ResultKinds) {
  test::FakeParseEnv env;
  EXPECT_EQ(F(env, {"true"}).action, Action::Run);
  EXPECT_EQ(F(env, {"--help"}).action, Action::Help);
  EXPECT_EQ(F(env, {"--version"}).action, Action::Version);
  EXPECT_EQ(F(env, {"--list-profiles"}).action, Action::ListProfiles);
  ParseResult p = F(env, {"--print-args", "--dir", "/d", "--", "x"});
  EXPECT_EQ(p.action, Action::PrintArgs);
  EXPECT_EQ(p.expanded_args, (Args{"--dir", "/d"}));  // --print-args itself is not shown
  EXPECT_EQ(p.spec.command, (Args{"x"}));
  // The last of --print-args and a stopping option decides; a stopping one ends parsing.
  EXPECT_EQ(F(env, {"--print-args", "--version", "--bogus"}).action, Action::Version);
  EXPECT_TRUE(env.warnings.empty());
}

TEST(CliPure, DescriptorsAreRecordedNotProbed) {
  test::FakeParseEnv env;
  // 2147483647 is open nowhere: whether it is open is planning's question.
  ParseResult r = F(env, {"--info-fd", "2147483647", "--sync-fd", "2147483647", "--file", "9",
                          "/f", "t"});
  EXPECT_EQ(r.spec.info_fd, std::optional<int>(2147483647));
  EXPECT_EQ(r.spec.fds, (std::vector<FdUse>{{2147483647, "--info-fd", FdRole::Info},
                                            {2147483647, "--sync-fd", FdRole::Sync},
                                            {9, "--file", FdRole::Data}}));
  EXPECT_THROW(planning::check_fds_open(r.spec.fds, [](int) { return false; }), Error);
  EXPECT_NO_THROW(planning::check_fds_open(r.spec.fds, [](int) { return true; }));
}

TEST(CliPure, ArgsAndProfilesComeFromTheEnvironment) {
  test::FakeParseEnv env;
  env.dir = "/home/u";
  env.args_data[7] = nul_join({"--dir", "rel", "--profile", "p"});
  env.profiles["p"] = {"--bind", "src", "/dst"};
  ParseResult r = F(env, {"--args", "7", "cmd"});
  ASSERT_EQ(r.spec.fs.size(), 2u);
  EXPECT_EQ(As<DirOp>(r.spec.fs[0]).dest, "/rel");
  EXPECT_EQ(As<BindOp>(r.spec.fs[1]).source, "/home/u/src");  // the environment's cwd
  EXPECT_EQ(r.spec.fds, (std::vector<FdUse>{{7, "--args", FdRole::Args}}));
  EXPECT_EQ(r.expanded_args, (Args{"--dir", "rel", "--bind", "src", "/dst"}));
  EXPECT_EQ(r.spec.command, (Args{"cmd"}));
  // What the environment reports is a parse error.
  EXPECT_THROW(F(env, {"--args", "8", "cmd"}), ParseError);
  EXPECT_THROW(F(env, {"--profile", "nope", "cmd"}), ParseError);
}

TEST(CliPure, WarningsCarryTheLevelPrefixSeenSoFar) {
  test::FakeParseEnv env;
  env.profiles["p"] = {"--tmpfs", "/t"};
  env.profile_notes["p"] = {"X is not set"};
  ParseResult r = F(env, {"--chdir", "/", "--chdir", "/", "--level-prefix", "--uid", "1",
                          "--uid", "2", "--profile", "p", "t"});
  EXPECT_TRUE(r.level_prefix);
  ASSERT_EQ(env.warnings.size(), 3u);
  EXPECT_EQ(env.warnings[0].text, "Only the last --chdir option will take effect");
  EXPECT_FALSE(env.warnings[0].level_prefix);
  EXPECT_EQ(env.warnings[1].text, "Only the last --uid option will take effect");
  EXPECT_TRUE(env.warnings[1].level_prefix);
  EXPECT_EQ(env.warnings[2].text, "X is not set");
  EXPECT_TRUE(env.warnings[2].level_prefix);
  EXPECT_FALSE(log::verbose());
}

TEST(CliPure, ErrorsCarryTheLevelPrefix) {
  test::FakeParseEnv env;
  try {
    F(env, {"--level-prefix", "--bogus"});
    ADD_FAILURE() << "no error";
  } catch (const ParseError& e) {
    EXPECT_TRUE(e.level_prefix());
    EXPECT_NE(std::string(e.what()).find("Unknown option --bogus"), std::string::npos);
  }
  try {
    F(env, {"--bogus", "--level-prefix"});
    ADD_FAILURE() << "no error";
  } catch (const ParseError& e) {
    EXPECT_FALSE(e.level_prefix());
  }
}

TEST(CliPure, SeccompProfileIsRecordedAsGiven) {
  test::FakeParseEnv env;
  ParseResult r = F(env, {"--add-seccomp-fd", "5", "--seccomp-profile", "no-such", "t"});
  ASSERT_EQ(r.spec.seccomp_profiles.size(), 1u);
  EXPECT_EQ(r.spec.seccomp_profiles[0].name, "no-such");  // found (or not) by planning
  EXPECT_EQ(r.spec.seccomp_profiles[0].after_fds, 1u);
}

// The order-sensitive rules come from the table's rows, not from option names in the parser.
TEST(CliTable, TraitsSayWhichOptionsTakeModifiersAndSplice) {
  std::set<std::string> perms, size, modifiers, overlay, splices, unrecorded;
  for (const auto& o : option_table()) {
    std::string n(o.name);
    if (o.traits.takes_perms) perms.insert(n);
    if (o.traits.takes_size) size.insert(n);
    if (o.traits.modifier) modifiers.insert(n);
    if (o.traits.overlay) overlay.insert(n);
    if (o.traits.splice != Splice::None) splices.insert(n);
    if (!o.traits.recorded) unrecorded.insert(n);
  }
  EXPECT_EQ(perms, (std::set<std::string>{"--dir", "--tmpfs", "--file", "--bind-data",
                                          "--ro-bind-data"}));
  EXPECT_EQ(size, (std::set<std::string>{"--tmpfs"}));
  EXPECT_EQ(modifiers, (std::set<std::string>{"--perms", "--size"}));
  EXPECT_EQ(overlay, (std::set<std::string>{"--overlay-src", "--overlay", "--tmp-overlay",
                                            "--ro-overlay"}));
  EXPECT_EQ(splices, (std::set<std::string>{"--args", "--profile"}));
  EXPECT_EQ(find_option("--args")->traits.splice, Splice::ArgsFd);
  EXPECT_EQ(find_option("--profile")->traits.splice, Splice::Profile);
  EXPECT_EQ(unrecorded, (std::set<std::string>{"--print-args"}));
}

TEST(CliTable, EveryOptionIsCoveredHere) {
  const std::set<std::string> covered = {
      "--help", "--version", "--args", "--level-prefix", "--verbose", "--unshare-user",
      // in profile_test.cpp:
      "--profile", "--list-profiles", "--print-args",
      "--unshare-user-try", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
      "--unshare-cgroup", "--unshare-cgroup-try", "--unshare-all", "--share-net", "--uid",
      "--gid", "--userns", "--userns2", "--pidns", "--userns-block-fd", "--disable-userns",
      "--assert-userns-disabled", "--hostname", "--bind", "--bind-try", "--dev-bind",
      "--dev-bind-try", "--ro-bind", "--ro-bind-try", "--remount-ro", "--proc", "--dev",
      "--tmpfs", "--mqueue", "--dir", "--symlink", "--chmod", "--file", "--bind-data",
      "--ro-bind-data", "--bind-fd", "--ro-bind-fd", "--overlay-src", "--overlay",
      "--tmp-overlay", "--ro-overlay", "--perms", "--size", "--chdir", "--setenv", "--unsetenv",
      "--clearenv", "--argv0", "--new-session", "--die-with-parent", "--as-pid-1", "--lock-file",
      "--sync-fd", "--block-fd", "--info-fd", "--json-status-fd", "--seccomp",
      "--add-seccomp-fd", "--exec-label", "--file-label", "--cap-add", "--cap-drop",
      "--net", "--publish", "--subnet", "--net-host-loopback", "--allow-net", "--audit-fd",
      "--audit-mode",
      // in seccomp_test.cpp:
      "--seccomp-profile", "--seccomp-log",
      // in landlock_test.cpp (LandlockCli.OptionsFillTheRequest):
      "--landlock", "--landlock-mode", "--landlock-scope",
      "--memory", "--memory-swap", "--pids", "--cpus", "--cpu-weight", "--io-weight",
      "--cgroup-parent", "--rlimit", "--timeout", "--limits",
  };
  std::set<std::string> names;
  for (const auto& o : option_table()) {
    std::string n(o.name);
    EXPECT_TRUE(names.insert(n).second) << "duplicate option " << n;
    EXPECT_TRUE(covered.count(n)) << "option " << n << " has no unit test in cli_test.cpp";
    EXPECT_EQ(find_option(n), &o) << n;
  }
  for (const auto& n : covered) EXPECT_TRUE(names.count(n)) << n << " is not in the table";
  EXPECT_EQ(find_option("--no-such-option"), nullptr);
}

TEST(CliTable, UsageMentionsEveryOption) {
  std::string u = usage_text("sandbox");
  EXPECT_EQ(u.rfind("usage: sandbox ", 0), 0u);
  for (const auto& o : option_table())
    EXPECT_NE(u.find(std::string(o.name)), std::string::npos) << o.name;
}

}  // namespace
}  // namespace sb::cli
