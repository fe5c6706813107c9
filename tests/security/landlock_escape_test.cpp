// Escapes the mounts alone cannot stop, and --landlock does: a host directory reached
// through a descriptor the caller left open (no O_CLOEXEC, as bwrap's callers may), through
// /proc/self/fd/N of it, or through /proc/PID/root of a host process when the sandbox shares
// the caller's PID namespace; and, on Landlock ABI 6, signals and abstract unix sockets of
// host processes. Each attack first works: without --landlock, and against Debian's bwrap
// with the same options (it has no Landlock).
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "escape.hpp"

namespace it {
namespace {

class LandlockEscapeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, LandlockEscapeTest, ::testing::Bool(), mode_name);

// The kernel's own answer (landlock_create_ruleset(NULL, 0, VERSION)); -errno without it.
int landlock_abi() {
  long abi = ::syscall(444 /* landlock_create_ruleset */, nullptr, 0, 1U);
  return abi >= 0 ? static_cast<int>(abi) : -errno;
}

#define REQUIRE_LANDLOCK(min)                                                          \
  do {                                                                                 \
    int abi_ = landlock_abi();                                                         \
    if (abi_ < (min))                                                                  \
      GTEST_SKIP() << "this kernel's Landlock ABI is " << abi_ << ", the test needs " \
                   << (min);                                                           \
  } while (0)

// Each attempt prints NAME=OK[:DATA] or NAME=<errno name>.
const std::string kTryPrelude = R"PY(
import errno, os, socket, sys
def t(name, f):
    try:
        r = f()
        print(name + '=OK' + ('' if r is None else ':' + str(r)))
    except OSError as e:
        print(name + '=' + errno.errorcode.get(e.errno, str(e.errno)))
)PY";

// Through fd 9, a host directory the caller opened without O_CLOEXEC.
const std::string kFdAttack = kTryPrelude + R"PY(
t('read', lambda: os.read(os.open('secret', os.O_RDONLY, dir_fd=9), 100).decode().strip())
t('create', lambda: os.close(os.open('created', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=9)))
t('append', lambda: os.close(os.open('secret', os.O_WRONLY | os.O_APPEND, dir_fd=9)))
t('unlink', lambda: os.unlink('victim', dir_fd=9))
t('mkdir', lambda: os.mkdir('newdir', dir_fd=9))
t('proc-reopen', lambda: open('/proc/self/fd/9/secret').read().strip())
t('truncate', lambda: os.truncate('/proc/self/fd/9/trunc', 0))
)PY";

// Runs `args` (sandbox's or bwrap's) with fd 9 open on `dir`: `sh -c 'exec 9<DIR; exec ...'`.
RunResult run_with_fd9(const std::string& exe, const std::string& dir, const Args& args,
                       RunOpts o) {
  o.exe = "/bin/sh";
  o.argv0 = "sh";
  Args a = {"-c", "exec 9<\"$0\" && exec \"$@\"", dir, exe};
  a.insert(a.end(), args.begin(), args.end());
  return run(a, o);
}

void fill(const TempDir& d) {
  write_file(d / "secret", "host-secret-7f3a\n", 0666);
  write_file(d / "victim", "x\n", 0666);
  write_file(d / "trunc", "keep-me\n", 0666);
}

TEST_P(LandlockEscapeTest, InheritedHostDirectoryFdIsOutOfReach) {
  REQUIRE_LANDLOCK(3);
  const Args tree = with_root({"--proc", "/proc", "--dev", "/dev"});
  const Args cmd = py(kFdAttack);
  // Control: without --landlock the descriptor leads into the host's tree.
  {
    TempDir d;
    fill(d);
    auto r = run_with_fd9(sandbox_path(), d.path(), cat({tree, cmd}), opts());
    EXPECT_EQ(r.exit_code, 0) << r;
    for (const char* ok : {"read=OK:host-secret-7f3a", "create=OK", "append=OK", "unlink=OK",
                           "mkdir=OK", "proc-reopen=OK:host-secret-7f3a", "truncate=OK"})
      EXPECT_TRUE(contains(r.out, ok)) << "control: " << ok << r;
    EXPECT_TRUE(exists(d / "created")) << r;
    EXPECT_EQ(read_file(d / "trunc"), "") << r;
  }
  // Peer: bwrap, same options: no Landlock, the attack works there too.
  if (have_bwrap()) {
    TempDir d;
    fill(d);
    auto b = run_with_fd9(kBwrap, d.path(), cat({tree, cmd}), opts());
    EXPECT_TRUE(contains(b.out, "read=OK:host-secret-7f3a")) << "bwrap" << b;
    EXPECT_TRUE(contains(b.out, "create=OK")) << "bwrap" << b;
    EXPECT_TRUE(exists(d / "created")) << "bwrap" << b;
  }
  // --landlock: every attempt is refused (EACCES), the host's files are untouched.
  std::vector<Args> id_variants = {Args{}};
  if (!as_root()) id_variants.push_back(uid0_all_caps());
  for (const Args& ids : id_variants) {
    SCOPED_TRACE(ids.empty() ? "default ids" : "uid 0 with every capability");
    TempDir d;
    fill(d);
    auto r = run_with_fd9(sandbox_path(), d.path(), cat({tree, ids, {"--landlock"}, cmd}), opts());
    EXPECT_EQ(r.exit_code, 0) << r;
    for (const char* denied : {"read=EACCES", "create=EACCES", "append=EACCES", "unlink=EACCES",
                               "mkdir=EACCES", "proc-reopen=EACCES", "truncate=EACCES"})
      EXPECT_TRUE(contains(r.out, denied)) << denied << r;
    EXPECT_FALSE(leaks(r, "host-secret-7f3a")) << r;
    EXPECT_EQ(d.entries(), (std::vector<std::string>{"secret", "trunc", "victim"}));
    EXPECT_EQ(read_file(d / "trunc"), "keep-me\n");
  }
}

// The sandbox's init (pid 1 with --unshare-pid) is outside the command's Landlock domain:
// Landlock refuses ptrace of a less confined process, so the attach that works without
// --landlock (same uid, same user namespace) is refused with it.
TEST_P(LandlockEscapeTest, InitCannotBeTracedFromInside) {
  REQUIRE_LANDLOCK(1);
  const std::string attack = R"PY(
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
if libc.ptrace(16, 1, None, None) != 0:
    print('attach=' + os.strerror(ctypes.get_errno()))
else:
    os.waitpid(1, 0x40000000)  # __WALL: the attach stop
    libc.ptrace(17, 1, None, None)  # detach, no signal: init carries on
    print('attach=OK')
)PY";
  // Unprivileged, a forked init's memory belongs to the host's user namespace, where the
  // command has no CAP_SYS_PTRACE; an init exec'd in the sandbox's namespace (as with
  // --json-status-fd) is reachable by a command holding every capability there.
  const Args tree = cat({with_root({"--proc", "/proc", "--unshare-pid"}),
                         as_root() ? Args{} : cat({uid0_all_caps(), {"--json-status-fd", "5"}})});
  RunOpts o = opts();
  o.leak_fds = {5};  // on /dev/null, for --json-status-fd
  auto c = run(cat({tree, py(attack)}), o);
  EXPECT_TRUE(contains(c.out, "attach=OK")) << "control" << c;
  auto r = run(cat({tree, {"--landlock"}, py(attack)}), o);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "attach=Operation not permitted")) << r;
}

// A bind hidden by a later mount that lands on its parent through a symlink (the op list
// does not show it lexically): its write access must not pass to whatever is at its path
// now, here a directory of a read-only bind, reachable read-write on the host through fd 9.
TEST_P(LandlockEscapeTest, HiddenBindGivesItsAccessToNothingElse) {
  REQUIRE_LANDLOCK(3);
  TempDir ro, rw;
  ASSERT_EQ(::mkdir((ro / "x").c_str(), 0777), 0);
  ::chmod((ro / "x").c_str(), 0777);
  const std::string attack = kTryPrelude + R"PY(
t('create', lambda: os.close(os.open('x/created', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=9)))
)PY";
  // Hidden below a mount on its parent; then reached at its own path through a symlinked
  // destination (the read-only bind lands where the writable one's symlink leads).
  int variant = 0;
  for (const Args& tree :
       {with_root({"--bind", rw.path(), "/m/x", "--symlink", "m", "/s", "--ro-bind", ro.path(),
                   "/s"}),
        with_root({"--symlink", "/m", "/s", "--dir", "/m", "--bind", rw.path(), "/s/x",
                   "--ro-bind", ro.path() + "/x", "/m/x"})}) {
    SCOPED_TRACE(++variant == 1 ? "hidden below a mount on its parent"
                                : "same place as a later mount, through a symlink");
    auto c = run_with_fd9(sandbox_path(), ro.path(), cat({tree, py(attack)}), opts());
    EXPECT_TRUE(contains(c.out, "create=OK")) << "control" << c;
    ::unlink((ro / "x/created").c_str());
    auto r = run_with_fd9(sandbox_path(), ro.path(), cat({tree, {"--landlock"}, py(attack)}), opts());
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.out, "create=EACCES")) << r;
    EXPECT_FALSE(exists(ro / "x/created")) << r;
  }
}

// /proc/PID/root of a host process of the same uid, with a sandbox sharing the caller's PID
// namespace (bwrap binds the caller's /proc then).
TEST_P(LandlockEscapeTest, HostProcessRootThroughProcIsOutOfReach) {
  REQUIRE_LANDLOCK(3);
  const std::string attack = kTryPrelude + R"PY(
root = '/proc/%s/root' % sys.argv[2]
t('read', lambda: open(root + sys.argv[1] + '/secret').read().strip())
t('create', lambda: open(root + sys.argv[1] + '/created', 'w').close())
)PY";
  // The wrapper starts a host process (sleep) as the caller and passes its pid last.
  auto attempt = [&](const std::string& exe, const TempDir& d, const Args& extra) {
    RunOpts o = opts();
    o.exe = "/bin/sh";
    o.argv0 = "sh";
    Args a = {"-c", "sleep 60 & p=$!; \"$@\" \"$p\"; r=$?; kill $p; exit $r", "sh", exe};
    Args rest = cat({with_root({"--proc", "/proc"}), extra, py(attack, {d.path()})});
    a.insert(a.end(), rest.begin(), rest.end());
    return run(a, o);
  };
  // Control. Unprivileged, the command lives in a user namespace, and the kernel already
  // refuses it a host process's /proc/PID/root (that needs CAP_SYS_PTRACE in the host's
  // namespace): the hole is a root caller's (no user namespace), where it works.
  const std::string control = as_root() ? "read=OK:host-secret-9c1e" : "read=EACCES";
  {
    TempDir d;
    write_file(d / "secret", "host-secret-9c1e\n", 0666);
    auto r = attempt(sandbox_path(), d, {});
    EXPECT_TRUE(contains(r.out, control)) << "control" << r;
    if (as_root()) {
      EXPECT_TRUE(contains(r.out, "create=OK")) << "control" << r;
    }
  }
  if (have_bwrap()) {
    TempDir d;
    write_file(d / "secret", "host-secret-9c1e\n", 0666);
    auto b = attempt(kBwrap, d, {});
    EXPECT_TRUE(contains(b.out, control)) << "bwrap" << b;
  }
  TempDir d;
  write_file(d / "secret", "host-secret-9c1e\n", 0666);
  auto r = attempt(sandbox_path(), d, {"--landlock"});
  EXPECT_EQ(r.exit_code, 0) << r;
  // Landlock refuses /proc/PID/root of a process outside the domain (EACCES), as it refuses
  // the path beyond it.
  EXPECT_TRUE(contains(r.out, "read=EACCES")) << r;
  EXPECT_TRUE(contains(r.out, "create=EACCES")) << r;
  EXPECT_FALSE(leaks(r, "host-secret-9c1e")) << r;
  EXPECT_EQ(d.entries(), (std::vector<std::string>{"secret"}));
}

// ABI 6 scopes: a host process's signals and abstract unix socket, with the caller's PID and
// network namespaces shared (as bwrap allows by default). --landlock-scope none gives both back.
TEST_P(LandlockEscapeTest, SignalsAndAbstractSocketsStayInside) {
  REQUIRE_LANDLOCK(6);
  TempDir d;
  const std::string name = "sandbox-ll-" + unique_suffix();
  // The host side: listens on the abstract name, then touches `ready`, and waits.
  const std::string server =
      "import socket, sys, time\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
      "s.bind('\\0' + sys.argv[1]); s.listen(8)\n"
      "open(sys.argv[2], 'w').close()\n"
      "time.sleep(60)\n";
  const std::string attack = kTryPrelude + R"PY(
t('signal', lambda: os.kill(int(sys.argv[2]), 0))
def conn():
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect('\0' + sys.argv[1])
t('abstract', conn)
)PY";
  auto attempt = [&](const std::string& exe, const Args& extra) {
    RunOpts o = opts();
    o.exe = "/bin/sh";
    o.argv0 = "sh";
    const std::string ready = d / ("ready-" + unique_suffix());
    Args a = {"-c",
              "/usr/bin/python3 -c \"$0\" \"$1\" \"$2\" & p=$!; shift 2; "
              "i=0; while [ ! -e \"$READY\" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; "
              "\"$@\" \"$p\"; r=$?; kill $p; exit $r",
              server, name, ready, exe};
    o.env = {"READY=" + ready};
    Args rest = cat({base_root(), extra, py(attack, {name})});
    a.insert(a.end(), rest.begin(), rest.end());
    return run(a, o);
  };
  auto r = attempt(sandbox_path(), {});
  EXPECT_TRUE(contains(r.out, "signal=OK")) << "control" << r;
  EXPECT_TRUE(contains(r.out, "abstract=OK")) << "control" << r;
  if (have_bwrap()) {
    auto b = attempt(kBwrap, {});
    EXPECT_TRUE(contains(b.out, "signal=OK")) << "bwrap" << b;
    EXPECT_TRUE(contains(b.out, "abstract=OK")) << "bwrap" << b;
  }
  r = attempt(sandbox_path(), {"--landlock"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(contains(r.out, "signal=EPERM")) << r;
  EXPECT_TRUE(contains(r.out, "abstract=EPERM")) << r;
  r = attempt(sandbox_path(), {"--landlock-scope", "signal"});
  EXPECT_TRUE(contains(r.out, "signal=EPERM")) << r;
  EXPECT_TRUE(contains(r.out, "abstract=OK")) << r;
  r = attempt(sandbox_path(), {"--landlock-scope", "none"});
  EXPECT_TRUE(contains(r.out, "signal=OK")) << r;
  EXPECT_TRUE(contains(r.out, "abstract=OK")) << r;
}

}  // namespace
}  // namespace it
