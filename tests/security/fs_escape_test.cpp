// Escapes through the filesystem: reading host secrets through binds and /proc/PID/root,
// writing through read-only binds, remounting or unmasking them, mount-point symlinks that
// point out of the new root, chroot and ".." tricks, the old root, and file handles.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <utility>

#include "escape.hpp"

namespace it {
namespace {

class FsEscapeTest : public SandboxTest {};
class FsEscapeModeTest : public ModeTest {};
INSTANTIATE_TEST_SUITE_P(Modes, FsEscapeModeTest, ::testing::Bool(), mode_name);

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& e : s) out += (out.empty() ? "" : ",") + e;
  return out;
}

// Mounts a tmpfs holding `file` (content `content`) on `dir`, in a private mount namespace of
// the forked caller, so the host's own mount table never changes. For RunOpts::in_child.
// `owner`: uid:gid of the file (default: the test's).
std::function<bool()> submount_in_caller(const std::string& dir, const std::string& file,
                                         const std::string& content,
                                         std::pair<uid_t, gid_t> owner = {static_cast<uid_t>(-1), static_cast<gid_t>(-1)}) {
  return [dir, file, content, owner] {
    if (::unshare(CLONE_NEWNS) != 0) return false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return false;
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "mode=0777,size=1m") != 0) return false;
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return false;
    bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
    ::fchmod(fd, 0666);
    if (owner.first != static_cast<uid_t>(-1) && ::fchown(fd, owner.first, owner.second) != 0)
      ok = false;
    ::close(fd);
    return ok;
  };
}

// ---- 1. Host secrets through binds and /proc/PID/root -------------------------------------

// Reading the host's password hashes through a bind of them (the reason a setuid sandbox
// must never map or run as host root). A broken sandbox (command running as host root, or
// host root mapped into the user namespace) prints the shadow lines here.
TEST_F(FsEscapeTest, ShadowUnreadableThroughBinds) {
  IT_REQUIRE_ROOT();  // to know the real content
  const std::string shadow = host_shadow();
  ASSERT_FALSE(secret_lines(shadow).empty()) << "no /etc/shadow content to compare with";
  struct Case {
    std::string name;
    Args flags;
    std::string path;
  };
  const std::vector<Case> cases = {
      {"--ro-bind /etc /etc", with_root({"--ro-bind", "/etc", "/etc"}), "/etc/shadow"},
      {"--bind /etc/shadow /x", with_root({"--bind", "/etc/shadow", "/x"}), "/x"},
      {"--ro-bind / /", {"--ro-bind", "/", "/"}, "/etc/shadow"},
      {"--dev-bind / /", {"--dev-bind", "/", "/"}, "/etc/shadow"},
  };
  const char* script = "cat \"$1\"; echo rc=$?; head -c 4096 <\"$1\"; echo rc2=$?";
  // Control: the same script with the privileges a broken sandbox would give (a command
  // running as host root: a root caller keeps them) reads it.
  {
    auto c = run(with_root(cat({{"--ro-bind", "/etc", "/etc"}, sh_args(script, {"/etc/shadow"})})),
                 {});
    EXPECT_EQ(key_values(c.out)["rc"], "0") << "control" << c;
    EXPECT_TRUE(leaks(c, shadow)) << "control" << c;
  }
  for (const auto& c : cases) {
    for (const Args& ids : {Args{}, uid0_all_caps()}) {
      SCOPED_TRACE(c.name + (ids.empty() ? "" : " as uid 0 with every capability"));
      // Peer: bwrap with the same options.
      if (have_bwrap()) {
        auto b = run(cat({c.flags, ids, sh_args(script, {c.path})}), as_bwrap(unpriv()));
        EXPECT_FALSE(leaks(b, shadow)) << "bwrap" << b;
      }
      auto r = run(cat({c.flags, ids, sh_args(script, {c.path})}), unpriv());
      ASSERT_EQ(r.exit_code, 0) << r;
      auto m = key_values(r.out);
      EXPECT_NE(m["rc"], "0") << r;
      EXPECT_NE(m["rc2"], "0") << r;
      EXPECT_TRUE(contains(r.err, "Permission denied")) << r;
      EXPECT_FALSE(leaks(r, shadow)) << "shadow content visible inside" << r;
    }
  }
}

// Walks every /proc/PID/{root,cwd} the command can see (the host's init, the supervisor
// that stays outside, its own) and tries /proc/PID/root/etc/shadow on each: the way out of a
// chroot-only or pivot-only sandbox that leaves the host's /proc reachable.
const char* kProcRootWalk = R"PY(
import os, errno
def ls(p):
    try:
        return ','.join(sorted(os.listdir(p)))
    except OSError as e:
        return 'ERR:' + errno.errorcode[e.errno]
for p in sorted((x for x in os.listdir('/proc') if x.isdigit()), key=int):
    try:
        with open('/proc/%s/root/etc/shadow' % p, 'rb') as f:
            data = f.read()
        print('OPENED-SHADOW %s' % p)
        print(data.decode('latin-1'))
    except OSError as e:
        print('shadow %s %s' % (p, errno.errorcode[e.errno]))
    print('root %s %s' % (p, ls('/proc/%s/root/' % p)))
    print('cwd %s %s' % (p, ls('/proc/%s/cwd/' % p)))
print('self ' + ls('/'))
print('ppid %d' % os.getppid())
)PY";

void check_proc_root_walk(const RunResult& r, const std::string& shadow,
                          const std::optional<pid_t> supervisor) {
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(contains(r.out, "OPENED-SHADOW")) << r;
  EXPECT_FALSE(leaks(r, shadow)) << "shadow content visible inside" << r;
  std::string self;
  for (const auto& l : lines(r.out))
    if (l.rfind("self ", 0) == 0) self = l.substr(5);
  ASSERT_FALSE(self.empty()) << r;
  EXPECT_FALSE(contains(self, "etc")) << "the sandbox root should not hold /etc here" << r;
  size_t walked = 0;
  for (const auto& l : lines(r.out)) {
    auto w = words(l);
    if (w.size() != 3 || (w[0] != "root" && w[0] != "cwd")) continue;
    ++walked;
    // A directory reached through another process is either refused or the sandbox's own
    // root: a broken sandbox lists the host's root (etc, home, root, var...) here.
    if (w[2].rfind("ERR:", 0) != 0) {
      EXPECT_EQ(w[2], self) << l << r;
    }
  }
  EXPECT_GT(walked, 0u) << r;
  if (supervisor) {
    std::string sup = std::to_string(*supervisor);
    EXPECT_TRUE(contains(r.out, "ppid " + sup + "\n"))
        << "the command's parent should be the supervisor (" << sup << ")" << r;
    EXPECT_TRUE(contains(r.out, "root " + sup + " ERR:EACCES"))
        << "the supervisor's root must be refused" << r;
    EXPECT_TRUE(contains(r.out, "root 1 ERR:EACCES")) << "the host init's root" << r;
  }
}

// /proc/1/root and /proc/<supervisor>/root of the host (without --unshare-pid /proc is the
// host's), or of the sandbox's own init (with it), never lead to the host's root.
// Control for the /proc/PID/root walks: the same script where the way out is open, a root
// caller without a PID namespace (it keeps CAP_SYS_PTRACE and CAP_DAC_OVERRIDE, as with
// bwrap): /proc/PID/root of the host's processes (its init, unless that belongs to a more
// privileged container runtime, the supervisor...) is the host's root and the shadow file
// opens through it.
void expect_proc_root_walk_escapes(const std::string& shadow) {
  auto c = run(with_root(cat({{"--proc", "/proc"}, py(kProcRootWalk)})), {});
  ASSERT_EQ(c.exit_code, 0) << "control" << c;
  EXPECT_TRUE(contains(c.out, "OPENED-SHADOW ")) << "control: the walk reaches the host" << c;
  EXPECT_TRUE(leaks(c, shadow)) << "control" << c;
}

TEST_F(FsEscapeTest, ShadowUnreachableThroughProcPidRoot) {
  IT_REQUIRE_ROOT();
  const std::string shadow = host_shadow();
  ASSERT_FALSE(secret_lines(shadow).empty());
  expect_proc_root_walk_escapes(shadow);
  for (const Args& pidns : {Args{}, Args{"--unshare-pid"}}) {
    for (const Args& ids : {Args{}, uid0_all_caps()}) {
      SCOPED_TRACE(::testing::PrintToString(cat({pidns, ids})));
      auto p = spawn(with_root(cat({pidns, ids, {"--proc", "/proc"}, py(kProcRootWalk)})),
                     unpriv());
      pid_t supervisor = p->pid();
      auto r = p->wait(10s);
      check_proc_root_walk(r, shadow,
                           pidns.empty() ? std::optional<pid_t>(supervisor) : std::nullopt);
      // Peer: bwrap with the same options (it also runs the command in a new user namespace).
      if (have_bwrap()) {
        auto b = run(with_root(cat({pidns, ids, {"--proc", "/proc"}, py(kProcRootWalk)})),
                     as_bwrap(unpriv()));
        ASSERT_EQ(b.exit_code, 0) << "bwrap" << b;
        EXPECT_FALSE(contains(b.out, "OPENED-SHADOW") || leaks(b, shadow))
            << "bwrap lets the walk out: the peer is weaker here, sandbox is checked above" << b;
      }
    }
  }
}

// As root the command keeps root's power (as with bwrap), but with --unshare-pid its /proc
// shows only the sandbox: /proc/1 is the sandbox's init, whose root is the new root.
TEST_F(FsEscapeTest, RootWithPidNamespaceProcOneRootIsTheSandbox) {
  IT_REQUIRE_ROOT();
  const std::string shadow = host_shadow();
  ASSERT_FALSE(secret_lines(shadow).empty());
  // Control: the same root caller without --unshare-pid walks out through /proc/1/root.
  expect_proc_root_walk_escapes(shadow);
  auto r = run(with_root(cat({{"--unshare-pid", "--proc", "/proc"}, py(kProcRootWalk)})), {});
  check_proc_root_walk(r, shadow, std::nullopt);
  EXPECT_TRUE(contains(r.out, "shadow 1 ENOENT")) << r;
}

// ---- 2. Writing through a read-only bind and its submounts --------------------------------

// Every kind of write through a --ro-bind and through a filesystem mounted below its source:
// a read-only flag applied without recursion leaves submounts writable (the non-recursive
// "ro" binds of Docker and Kubernetes before recursive read-only mounts existed). The host
// directory is 0777, so only the read-only mounts stop the writes: a broken sandbox prints
// BROKE lines and leaves files on the host.
TEST_P(FsEscapeModeTest, RoBindAndItsSubmountCannotBeWritten) {
  IT_REQUIRE_ROOT();  // to mount the submount in the caller's namespace
  TempDir d;
  // Owned by the caller: only the read-only mounts stop chmod and utimes, not ownership.
  write_file(d / "existing", "top-level\n", 0666);
  ASSERT_EQ(::chown((d / "existing").c_str(), caller_uid(), caller_gid()), 0);
  ASSERT_EQ(::mkdir((d / "sub").c_str(), 0777), 0);
  ::chmod((d / "sub").c_str(), 0777);
  const std::pair<uid_t, gid_t> owner{caller_uid(), caller_gid()};
  struct stat before;
  ASSERT_EQ(::stat((d / "existing").c_str(), &before), 0);
  const char* script = R"SH(
for d in /data /data/sub; do
  echo new > $d/new && echo "BROKE create $d"
  echo more >> $d/existing && echo "BROKE append $d"
  mkdir $d/newdir && echo "BROKE mkdir $d"
  ln -s x $d/link && echo "BROKE symlink $d"
  ln $d/existing $d/hardlink && echo "BROKE link $d"
  mv $d/existing $d/renamed && echo "BROKE rename $d" && mv $d/renamed $d/existing
  chmod 0600 $d/existing && echo "BROKE chmod $d"
  touch -d @0 $d/existing && echo "BROKE utimes $d"
  truncate -s 0 $d/existing && echo "BROKE truncate $d"
  mknod $d/fifo p && echo "BROKE mknod $d"
  python3 -c 'import os,sys; os.open(sys.argv[1], os.O_WRONLY); print("BROKE open-write", sys.argv[1])' $d/existing
  rm $d/existing && echo "BROKE unlink $d"
done
cat /data/existing /data/sub/existing
echo END
)SH";
  // Control: the same script on a writable --bind of a scratch copy (same layout, same
  // submount) writes at both levels: every BROKE line of the script can show up.
  {
    TempDir c;
    write_file(c / "existing", "top-level\n", 0666);
    ASSERT_EQ(::chown((c / "existing").c_str(), caller_uid(), caller_gid()), 0);
    ASSERT_EQ(::mkdir((c / "sub").c_str(), 0777), 0);
    ::chmod((c / "sub").c_str(), 0777);
    RunOpts o = opts();
    o.in_child = submount_in_caller(c / "sub", c / "sub/existing", "in-submount\n", owner);
    auto r = run(with_root(cat({{"--bind", c.path(), "/data"}, sh(script)})), o);
    EXPECT_TRUE(contains(r.out, "END")) << "control" << r;
    for (const char* where : {"/data\n", "/data/sub\n"})
      for (const char* what : {"create", "append", "mkdir", "symlink", "link", "rename", "chmod",
                               "utimes", "truncate", "mknod", "unlink"})
        EXPECT_TRUE(contains(r.out, std::string("BROKE ") + what + " " + where))
            << "control: " << what << " " << where << r;
    EXPECT_TRUE(contains(r.out, "BROKE open-write /data/existing")) << "control" << r;
  }
  // Peer: bwrap's --ro-bind (it remounts every submount read-only too).
  if (have_bwrap()) {
    RunOpts o = as_bwrap(opts());
    o.in_child = submount_in_caller(d / "sub", d / "sub/existing", "in-submount\n", owner);
    auto b = run(with_root(cat({{"--ro-bind", d.path(), "/data"}, sh(script)})), o);
    EXPECT_TRUE(contains(b.out, "END")) << "bwrap" << b;
    EXPECT_FALSE(contains(b.out, "BROKE")) << "bwrap wrote through its --ro-bind" << b;
    ASSERT_EQ(d.entries(), (std::vector<std::string>{"existing", "sub"}));
  }
  std::vector<Args> id_variants = {Args{}};
  if (!as_root()) id_variants.push_back(uid0_all_caps());
  // Both ways of making the bind read-only: mount_setattr(AT_RECURSIVE) on the detached tree,
  // and the legacy per-submount MS_REMOUNT walk (SANDBOX_TEST_LEGACY_MOUNT=1).
  for (const char* legacy : {"0", "1"})
  for (const Args& ids : id_variants) {
    SCOPED_TRACE(std::string(ids.empty() ? "default ids" : "uid 0 with every capability") +
                 (legacy[0] == '1' ? ", legacy mount API" : ""));
    RunOpts o = opts();
    o.env = {std::string("SANDBOX_TEST_LEGACY_MOUNT=") + legacy};
    o.in_child = submount_in_caller(d / "sub", d / "sub/existing", "in-submount\n", owner);
    auto r = run(with_root(cat({ids, {"--ro-bind", d.path(), "/data"}, sh(script)})), o);
    EXPECT_TRUE(contains(r.out, "END")) << r;
    EXPECT_FALSE(contains(r.out, "BROKE")) << r;
    EXPECT_TRUE(contains(r.out, "top-level\nin-submount\n")) << "both levels visible" << r;
    EXPECT_TRUE(contains(r.err, "Read-only file system")) << r;
    EXPECT_EQ(d.entries(), (std::vector<std::string>{"existing", "sub"}));
    EXPECT_EQ(read_file(d / "existing"), "top-level\n");
    struct stat after;
    ASSERT_EQ(::stat((d / "existing").c_str(), &after), 0);
    EXPECT_EQ(after.st_mode, before.st_mode);
    EXPECT_EQ(after.st_mtime, before.st_mtime);
  }
}

// ---- 3. Remounting a read-only bind read-write --------------------------------------------

// Flags for a nested `unshare` inside the sandbox: a new user and mount namespace, with
// root mapped to the command's uid (-r) unless that uid is 0: mapping the parent's uid 0
// needs CAP_SETFCAP (Linux 5.12), so there the nested namespace stays unmapped. Either way
// the nested process has every capability over its new mount namespace.
std::string nested_unshare_flags(const Args& ids) { return ids.empty() ? "-Urm" : "-Um"; }

// mount_setattr(2) from python (ctypes): clears MOUNT_ATTR_RDONLY on each path given, with
// and without AT_RECURSIVE, and on a detached clone (open_tree(OPEN_TREE_CLONE)), then
// tries to write. Run in a nested user+mount namespace, where the caller has every
// capability over its copy of the mounts.
const char* kMountSetattr = R"PY(
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
class MountAttr(ctypes.Structure):
    _fields_ = [('attr_set', ctypes.c_uint64), ('attr_clr', ctypes.c_uint64),
                ('propagation', ctypes.c_uint64), ('userns_fd', ctypes.c_uint64)]
SYS_open_tree, SYS_mount_setattr = 428, 442
AT_FDCWD, AT_EMPTY_PATH, AT_RECURSIVE, OPEN_TREE_CLONE = -100, 0x1000, 0x8000, 1
RDONLY = 1
def err():
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
def try_write(dirfd, where):
    try:
        fd = os.open('sbesc-written', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=dirfd)
        os.close(fd)
        print('BROKE wrote through', where)
    except OSError as e:
        print('write', where, errno.errorcode[e.errno])
print('NESTED-CTYPES uid=%d' % os.getuid())
for path in sys.argv[1:]:
    for flags in (0, AT_RECURSIVE):
        a = MountAttr(0, RDONLY, 0, 0)
        r = libc.syscall(SYS_mount_setattr, AT_FDCWD, path.encode(), flags, ctypes.byref(a),
                         ctypes.sizeof(a))
        print('mount_setattr', path, flags, 'ok' if r == 0 else err())
        d = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try_write(d, path)
        os.close(d)
    t = libc.syscall(SYS_open_tree, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | AT_RECURSIVE)
    if t < 0:
        print('open_tree', path, err())
        continue
    a = MountAttr(0, RDONLY, 0, 0)
    r = libc.syscall(SYS_mount_setattr, int(t), b'', AT_EMPTY_PATH | AT_RECURSIVE,
                     ctypes.byref(a), ctypes.sizeof(a))
    print('mount_setattr clone', path, 'ok' if r == 0 else err())
    try_write(int(t), 'clone of ' + path)
)PY";

// Turning a --ro-bind writable again: mount -o remount[,bind],rw in the sandbox, and from a
// nested `unshare -Urm` where the command holds every capability over its mount namespace
// (the kernel must keep the read-only flag locked: CVE-2014-5206, MNT_LOCK_READONLY lost on
// remount), including mount_setattr(2) and a detached open_tree clone.
TEST_F(FsEscapeTest, RoBindCannotBeRemountedReadWrite) {
  IT_REQUIRE_ROOT();  // for the submount in the caller's namespace
  IT_REQUIRE_FILE("/usr/bin/unshare");
  TempDir d;
  ASSERT_EQ(::mkdir((d / "sub").c_str(), 0777), 0);
  ::chmod((d / "sub").c_str(), 0777);
  const char* script = R"SH(
mount -o remount,rw /data && echo "BROKE remount /data"
mount -o remount,bind,rw /data && echo "BROKE remount,bind /data"
mount -o remount,bind,rw /data/sub && echo "BROKE remount,bind /data/sub"
unshare $2 sh -c '
  echo NESTED
  mount -o remount,rw /data && echo "BROKE nested remount /data"
  mount -o remount,bind,rw /data && echo "BROKE nested remount,bind /data"
  mount -o remount,bind,rw /data/sub && echo "BROKE nested remount,bind /data/sub"
  mount -o remount,rw /data/sub && echo "BROKE nested remount /data/sub"
  touch /data/x && echo "BROKE nested write /data"
  touch /data/sub/x && echo "BROKE nested write /data/sub"'
unshare $2 python3 -c "$1" /data /data/sub
touch /data/y && echo "BROKE write /data"
touch /data/sub/y && echo "BROKE write /data/sub"
echo END
)SH";
  for (const Args& ids : {Args{}, Args{"--uid", "0", "--gid", "0"}}) {
    SCOPED_TRACE(ids.empty() ? "default ids" : "--uid 0");
    RunOpts o = unpriv();
    o.in_child = submount_in_caller(d / "sub", d / "sub/existing", "in-submount\n");
    auto r = run(with_root(cat({ids,
                                {"--proc", "/proc", "--dev", "/dev", "--ro-bind", d.path(),
                                 "/data"},
                                sh_args(script, {kMountSetattr, nested_unshare_flags(ids)})})),
                 o);
    EXPECT_TRUE(contains(r.out, "END")) << r;
    EXPECT_TRUE(contains(r.out, "NESTED\n")) << "unshare must work inside" << r;
    EXPECT_TRUE(contains(r.out, "NESTED-CTYPES")) << r;
    EXPECT_TRUE(contains(r.out, "mount_setattr /data 0 ")) << r;
    EXPECT_FALSE(contains(r.out, "BROKE")) << r;
    for (const auto& l : lines(r.out)) {
      if (l.rfind("mount_setattr", 0) == 0) {
        EXPECT_FALSE(contains(l, " ok")) << l << r;
      }
    }
    EXPECT_EQ(d.entries(), (std::vector<std::string>{"sub"})) << "nothing written on the host";
    // Peer: bwrap with the same options.
    if (have_bwrap()) {
      RunOpts bo = as_bwrap(unpriv());
      bo.in_child = submount_in_caller(d / "sub", d / "sub/existing", "in-submount\n");
      auto b = run(with_root(cat({ids,
                                  {"--proc", "/proc", "--dev", "/dev", "--ro-bind", d.path(),
                                   "/data"},
                                  sh_args(script, {kMountSetattr, nested_unshare_flags(ids)})})),
                   bo);
      EXPECT_TRUE(contains(b.out, "END")) << "bwrap" << b;
      EXPECT_FALSE(contains(b.out, "BROKE")) << "bwrap" << b;
      EXPECT_EQ(d.entries(), (std::vector<std::string>{"sub"})) << "bwrap wrote on the host";
    }
  }
  // Control: the same script on a writable --bind does write (the detection works).
  RunOpts o = unpriv();
  o.in_child = submount_in_caller(d / "sub", d / "sub/existing", "in-submount\n");
  auto c = run(with_root(cat({{"--proc", "/proc", "--dev", "/dev", "--bind", d.path(), "/data"},
                              sh_args(script, {kMountSetattr, "-Urm"})})),
               o);
  EXPECT_TRUE(contains(c.out, "BROKE write /data\n")) << "control" << c;
  EXPECT_TRUE(contains(c.out, "BROKE wrote through /data")) << "control" << c;
}

// Every capability inside the sandbox's user namespace (--uid 0 --cap-add ALL) is as much as
// an unprivileged caller can hand out. It does allow remounting the sandbox's own mounts (the
// mount namespace belongs to that user namespace; bwrap behaves the same), but file access
// still goes through the host's permission checks as the caller: root-owned host files stay
// unwritable. A sandbox that mapped host root, or that ran the command with real
// capabilities, would print BROKE here and leave files behind.
TEST_F(FsEscapeTest, CapabilitiesInsideCannotWriteHostRootFiles) {
  IT_REQUIRE_ROOT();
  TempDir d(0755);  // root-owned, not writable by the caller
  write_file(d / "owned-by-root", "root-data\n", 0644);
  const std::string name = "sbesc-" + unique_suffix();
  const char* script = R"SH(
if [ "$2" != data-only ]; then
  mount -o remount,bind,rw /etc && echo "REMOUNTED /etc"
  true > /etc/$1 && echo "BROKE create /etc/$1"
  mkdir /etc/$1.d && echo "BROKE mkdir /etc/$1.d"
fi
mount -o remount,bind,rw /data && echo "REMOUNTED /data"
true > /data/new && echo "BROKE create /data/new"
echo more >> /data/owned-by-root && echo "BROKE append"
chmod 0666 /data/owned-by-root && echo "BROKE chmod"
chown 0:0 /data/owned-by-root && echo "BROKE chown"
rm /data/owned-by-root && echo "BROKE unlink"
echo END
)SH";
  auto r = run(with_root(cat({uid0_all_caps(),
                              {"--ro-bind", "/etc", "/etc", "--ro-bind", d.path(), "/data"},
                              sh_args(script, {name, "all"})})),
               unpriv());
  EXPECT_TRUE(contains(r.out, "END")) << r;
  EXPECT_FALSE(contains(r.out, "BROKE")) << r;
  EXPECT_FALSE(exists("/etc/" + name));
  EXPECT_FALSE(exists("/etc/" + name + ".d"));
  EXPECT_EQ(d.entries(), (std::vector<std::string>{"owned-by-root"}));
  EXPECT_EQ(read_file(d / "owned-by-root"), "root-data\n");
  struct stat st;
  ASSERT_EQ(::stat((d / "owned-by-root").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  // Recorded for the report: whether the command could remount its own binds.
  RecordProperty("remounted_with_all_caps", contains(r.out, "REMOUNTED") ? "yes" : "no");

  // Control: real capabilities (a root caller keeps them) do get through, on the scratch
  // directory only.
  auto c = run(with_root(cat({{"--ro-bind", d.path(), "/data"}, sh_args(script, {name, "data-only"})})),
               {});
  EXPECT_TRUE(contains(c.out, "BROKE create /data/new")) << "control" << c;
}

// ---- 4. Mounting over a read-only path, unmasking a masked one ----------------------------

// Mounting over the sandbox's /usr to replace its binaries: refused without capabilities;
// possible in a nested `unshare -Urm`, but only in that nested namespace. Afterwards the
// sandbox (and the host) still see the real /usr. A broken sandbox whose mounts propagate
// (shared instead of slave/private) would show the empty tmpfs outside the nested namespace.
TEST_F(FsEscapeTest, MountOverReadOnlyPathStaysInNestedNamespace) {
  IT_REQUIRE_FILE("/usr/bin/unshare");
  const std::string name = "sbesc-" + unique_suffix();
  const char* script = R"SH(
mount -t tmpfs none /usr && echo "BROKE mount over /usr"
mount --bind /proc /usr && echo "BROKE bind over /usr"
unshare -Urm --propagation unchanged sh -c '
  mount -t tmpfs none /usr && echo NESTED-MOUNTED
  true > /usr/$1 && echo NESTED-WROTE
  echo "nested-usr: $(echo /usr/*)"' sh "$1"
echo "outer-sh: $(ls /usr/bin/sh)"
test -e /usr/$1 && echo "BROKE marker visible outside"
echo END
)SH";
  // Control: the same script with CAP_SYS_ADMIN over the sandbox's mounts (--cap-add) does
  // replace the sandbox's /usr (only there: its mounts are slaves of the caller's).
  {
    auto c = run(with_root(cat({{"--uid", "0", "--gid", "0", "--cap-add", "CAP_SYS_ADMIN",
                                 "--proc", "/proc", "--dev", "/dev"},
                                sh_args(script, {name})})),
                 unpriv());
    EXPECT_TRUE(contains(c.out, "BROKE mount over /usr")) << "control" << c;
    EXPECT_FALSE(exists("/usr/" + name));
  }
  // Peer: bwrap with the same options refuses the mount too.
  if (have_bwrap()) {
    auto b = run(with_root(cat({{"--proc", "/proc", "--dev", "/dev"}, sh_args(script, {name})})),
                 as_bwrap(unpriv()));
    EXPECT_TRUE(contains(b.out, "END")) << "bwrap" << b;
    EXPECT_FALSE(contains(b.out, "BROKE")) << "bwrap" << b;
  }
  auto r = run(with_root(cat({{"--proc", "/proc", "--dev", "/dev"}, sh_args(script, {name})})),
               unpriv());
  EXPECT_TRUE(contains(r.out, "END")) << r;
  EXPECT_TRUE(contains(r.out, "NESTED-MOUNTED")) << "the nested mount itself works" << r;
  EXPECT_TRUE(contains(r.out, "nested-usr: /usr/" + name + "\n")) << r;
  EXPECT_TRUE(contains(r.out, "outer-sh: /usr/bin/sh")) << "the sandbox still sees /usr" << r;
  EXPECT_FALSE(contains(r.out, "BROKE")) << r;
  EXPECT_FALSE(exists("/usr/" + name)) << "the host's /usr must be untouched";
  EXPECT_TRUE(exists("/usr/bin/sh"));
}

// Mount propagation back into the caller's mount namespace. The caller here has made its
// mounts shared (as systemd does for the whole system: "shared:N" on /); the sandbox's copy
// of them must be made a slave before anything is mounted (the staging tmpfs, the new root,
// the command's own mounts), or each mount shows up in the caller's namespace and, on a real
// system, on the host. The caller's namespace is read through the supervisor, which stays in
// it, while the command (with CAP_SYS_ADMIN over its mounts) holds a tmpfs mounted inside.
// The attack of MountsDoNotPropagateToTheCaller: two tmpfs mounts, then READY.
const char* kPropagationAttack =
    "mount -t tmpfs sbesc-propagation \"$1\" && echo MOUNTED; "
    "mount -t tmpfs sbesc-propagation \"$2\" && echo MOUNTED2; "
    "echo READY; exec sleep 30";

TEST_P(FsEscapeModeTest, MountsDoNotPropagateToTheCaller) {
  IT_REQUIRE_ROOT();  // to read the supervisor's mountinfo and to make the caller's mounts shared
  // The caller's world: its own mount namespace whose mounts are shared (in new peer groups,
  // made private first, so that nothing can reach the host's namespace).
  auto shared_caller = [] {
    if (::unshare(CLONE_NEWNS) != 0) return false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
    return ::mount(nullptr, "/", nullptr, MS_REC | MS_SHARED, nullptr) == 0;
  };
  // Control: a mount namespace that is NOT made a slave (`unshare -m --propagation
  // unchanged`, as root: a copy of shared mounts stays in their peer groups) running the same
  // mounts, on a scratch directory: they show up in the caller's namespace, where the shell
  // that started it looks.
  {
    TempDir t;
    RunOpts o = on_host({}, "/bin/sh");
    o.in_child = shared_caller;
    auto c = run({"-c",
                  "unshare -m --propagation unchanged sh -c \"$1\" sh \"$2\" \"$2\" & "
                  "i=0; while [ $i -lt 200 ] && ! grep -q sbesc-propagation /proc/self/mountinfo; "
                  "do kill -0 $! 2>/dev/null || break; sleep 0.05; i=$((i+1)); done; "
                  "echo caller-sees=$(grep -c sbesc-propagation /proc/self/mountinfo); kill $!",
                  "sh", kPropagationAttack, t.path()},
                 o);
    EXPECT_TRUE(contains(c.out, "MOUNTED\n")) << "control" << c;
    EXPECT_NE(key_values(c.out)["caller-sees"], "0") << "control: the mount propagated" << c;
  }
  RunOpts o = opts();
  o.in_child = shared_caller;
  Args caps = as_root() ? Args{} : Args{"--uid", "0", "--gid", "0", "--cap-add", "CAP_SYS_ADMIN"};
  const Args flags = cat({caps, {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir",
                                 "/mnt"}});
  // Peer: bwrap with the same options (it makes its mounts slaves too).
  if (have_bwrap()) {
    RunOpts bo = as_bwrap(o);
    auto b = spawn(with_root(cat({flags, sh_args(kPropagationAttack, {"/mnt", "/tmp"})})), bo);
    ASSERT_TRUE(b->wait_for_stdout("READY\n")) << b->out_so_far() << b->err_so_far();
    EXPECT_TRUE(contains(b->out_so_far(), "MOUNTED\n")) << "bwrap" << b->err_so_far();
    std::string caller = read_file("/proc/" + std::to_string(b->pid()) + "/mountinfo");
    ASSERT_FALSE(caller.empty());
    EXPECT_FALSE(contains(caller, "sbesc-propagation")) << "bwrap's mounts propagate" << caller;
  }
  auto p = spawn(with_root(cat({flags, sh_args(kPropagationAttack, {"/mnt", "/tmp"})})), o);
  ASSERT_TRUE(p->wait_for_stdout("READY\n")) << p->out_so_far() << p->err_so_far();
  EXPECT_TRUE(contains(p->out_so_far(), "MOUNTED\nMOUNTED2\n")) << p->err_so_far();
  std::string caller = read_file("/proc/" + std::to_string(p->pid()) + "/mountinfo");
  ASSERT_FALSE(caller.empty());
  std::vector<std::string> seen;
  for (const auto& m : parse_mountinfo(caller))
    seen.push_back(m.mountpoint + " " + m.fstype + " " + m.source);
  std::sort(seen.begin(), seen.end());
  // The caller's namespace is a copy of the test's: the same mounts, nothing added.
  EXPECT_EQ(seen, host_mounts()) << "mounts propagated into the caller's namespace:\n" << caller;
  EXPECT_FALSE(contains(caller, "sbesc-propagation")) << caller;
  EXPECT_TRUE(contains(caller, "shared:")) << "the caller's mounts should be shared" << caller;
}

// A caller that masks part of a bind with --tmpfs relies on the mask: umount of the tmpfs
// (directly, lazily, from a nested user namespace) or a non-recursive bind/open_tree clone of
// the parent that leaves the mask behind must not reveal what is below (CVE-2014-9717:
// umount2(MNT_DETACH) in a user namespace ignored MNT_LOCKED and revealed masked paths).
TEST_F(FsEscapeTest, MaskedPathCannotBeUnmasked) {
  IT_REQUIRE_FILE("/usr/bin/unshare");
  TempDir d;
  ASSERT_EQ(::mkdir((d / "hidden").c_str(), 0755), 0);
  const std::string secret = "masked-secret-" + unique_suffix() + "\n";
  write_file(d / "hidden/secret", secret, 0644);
  const char* clone_script = R"PY(
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
print('NESTED-CTYPES')
t = libc.syscall(428, -100, b'/data', 1)  # open_tree(OPEN_TREE_CLONE), not recursive
if t < 0:
    print('open_tree', errno.errorcode[ctypes.get_errno()])
else:
    try:
        print(open(os.open('hidden/secret', os.O_RDONLY, dir_fd=int(t))).read())
    except OSError as e:
        print('read through clone', errno.errorcode[e.errno])
)PY";
  const char* script = R"SH(
umount /data/hidden && echo "BROKE umount"
umount -l /data/hidden && echo "BROKE umount -l"
unshare $2 sh -c '
  echo NESTED
  umount /data/hidden && echo "BROKE nested umount"
  umount -l /data/hidden && echo "BROKE nested umount -l"
  mkdir -p /tmp/m && mount --bind /data /tmp/m && echo "BROKE nested non-recursive bind"
  cat /tmp/m/hidden/secret /data/hidden/secret'
unshare $2 python3 -c "$1"
cat /data/hidden/secret
ls -A /data/hidden
echo END
)SH";
  for (const Args& ids : {Args{}, Args{"--uid", "0", "--gid", "0"}}) {
    SCOPED_TRACE(ids.empty() ? "default ids" : "--uid 0");
    auto r = run(with_root(cat({ids,
                                {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                                 "--ro-bind", d.path(), "/data", "--tmpfs", "/data/hidden"},
                                sh_args(script, {clone_script, nested_unshare_flags(ids)})})),
                 unpriv());
    EXPECT_TRUE(contains(r.out, "END")) << r;
    EXPECT_TRUE(contains(r.out, "NESTED\n")) << r;
    EXPECT_TRUE(contains(r.out, "NESTED-CTYPES")) << r;
    EXPECT_FALSE(contains(r.out, "BROKE")) << r;
    EXPECT_FALSE(contains(r.out, trim(secret))) << "the masked file was revealed" << r;
    // Peer: bwrap with the same options.
    if (have_bwrap()) {
      auto b = run(with_root(cat({ids,
                                  {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                                   "--ro-bind", d.path(), "/data", "--tmpfs", "/data/hidden"},
                                  sh_args(script, {clone_script, nested_unshare_flags(ids)})})),
                   as_bwrap(unpriv()));
      EXPECT_TRUE(contains(b.out, "END")) << "bwrap" << b;
      EXPECT_FALSE(contains(b.out, trim(secret))) << "bwrap revealed the masked file" << b;
    }
  }
  // Control: without the mask the same script shows the file.
  auto c = run(with_root(cat({{"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                               "--ro-bind", d.path(), "/data"},
                              sh_args(script, {clone_script, "-Urm"})})),
               unpriv());
  EXPECT_TRUE(contains(c.out, trim(secret))) << "control" << c;
}

// ---- 11. Symlinks that point out of the new root ------------------------------------------

// Mount points created through symlinks: one planted in the new root by --symlink, an
// absolute and a relative one planted by the caller inside a bound host directory. Every
// destination must resolve inside the new root (RESOLVE_IN_ROOT, or its user-space fallback:
// SANDBOX_TEST_LEGACY_MOUNT=1 forces it), never on the host: the bug class of
// CVE-2021-30465 (runc: mount destination resolved through a symlink). A broken sandbox
// creates the directory or mounts the tmpfs on the host (the fixture also checks the host's
// mount table), so `victim` or /etc gains an entry.
TEST_P(FsEscapeModeTest, MountDestinationSymlinksStayInsideNewRoot) {
  TempDir victim;  // a host directory every uid may write to: what an escape would reach
  TempDir bound;
  const std::string name = "sbesc-" + unique_suffix();
  ASSERT_EQ(::symlink("/etc", (bound / "abs-etc").c_str()), 0);
  ASSERT_EQ(::symlink(victim.path().c_str(), (bound / "abs-victim").c_str()), 0);
  ASSERT_EQ(::symlink(("../../../../../../.." + victim.path()).c_str(),
                      (bound / "rel-victim").c_str()),
            0);
  ASSERT_EQ(::symlink("/", (bound / "abs-root").c_str()), 0);
  write_file(bound / "marker", "bound-marker\n");
  const std::string v = victim.path();
  const std::string n = "/" + name;

  struct Case {
    std::string what;
    Args flags;
  };
  std::vector<Case> cases = {
      {"--symlink /etc /planted, --bind to /planted/N",
       {"--symlink", "/etc", "/planted", "--bind", bound.path(), "/planted" + n}},
      {"--tmpfs /etc, --symlink /etc /planted, --bind to /planted/N",
       {"--tmpfs", "/etc", "--symlink", "/etc", "/planted", "--bind", bound.path(),
        "/planted" + n}},
      {"--symlink VICTIM /planted, --dir /planted/N",
       {"--symlink", v, "/planted", "--dir", "/planted" + n}},
      {"--dir VICTIM, --symlink VICTIM /planted, --tmpfs /planted/N",
       {"--dir", v, "--symlink", v, "/planted", "--tmpfs", "/planted" + n}},
      {"--symlink ../../../../../.. /up, --tmpfs /up/tmp/N",
       {"--symlink", "../../../../../..", "/up", "--tmpfs", "/up/tmp" + n}},
      {"--symlink ../../../../../.. /up, --tmpfs /up" + v + "/N",
       {"--symlink", "../../../../../..", "/up", "--tmpfs", "/up" + v + n}},
      {"--tmpfs /../../etc/N", {"--tmpfs", "/../../etc" + n}},
      {"bound evil -> /etc, --tmpfs /h/abs-etc/N",
       {"--bind", bound.path(), "/h", "--tmpfs", "/h/abs-etc" + n}},
      {"--dir /etc, bound evil -> /etc, --tmpfs /h/abs-etc/N",
       {"--dir", "/etc", "--bind", bound.path(), "/h", "--tmpfs", "/h/abs-etc" + n}},
      {"bound evil -> VICTIM, --dir /h/abs-victim/N",
       {"--bind", bound.path(), "/h", "--dir", "/h/abs-victim" + n}},
      {"bound evil -> ../../VICTIM, --symlink x /h/rel-victim/N",
       {"--bind", bound.path(), "/h", "--symlink", "x", "/h/rel-victim" + n}},
      {"bound evil -> VICTIM, --bind to /h/abs-victim/N",
       {"--bind", bound.path(), "/h", "--bind", bound.path(), "/h/abs-victim" + n}},
      {"bound evil -> /, --ro-bind to /h/abs-root/etc/N",
       {"--bind", bound.path(), "/h", "--ro-bind", bound.path(), "/h/abs-root/etc" + n}},
      {"bound evil -> VICTIM, --remount-ro /h/abs-victim",
       {"--bind", bound.path(), "/h", "--remount-ro", "/h/abs-victim"}},
  };
  // Control: the planted links do lead out when a path is resolved through them the plain way
  // (what a sandbox does without RESOLVE_IN_ROOT or its fallback): as the same uid on the
  // host, mkdir through each bound link creates the directory in `victim`.
  for (const char* link : {"abs-victim", "rel-victim"}) {
    auto c = run({bound / link + n}, on_host(opts(), "/bin/mkdir"));
    EXPECT_EQ(c.exit_code, 0) << "control through " << link << c;
    EXPECT_EQ(victim.entries(), std::vector<std::string>{name}) << "control through " << link;
    ::rmdir((victim / name).c_str());
  }
  ASSERT_TRUE(victim.entries().empty());
  // Peer: bwrap with the same options (it resolves destinations after pivoting into its
  // staging tmpfs, so absolute links land there). Where it escapes, the note says so; the
  // sandbox is held to "never" below.
  if (have_bwrap()) {
    for (const auto& c : cases) {
      auto b = run(with_root(cat({c.flags, sh("echo RAN")})), as_bwrap(opts()));
      bool escaped = !victim.entries().empty() || exists("/etc" + n) || exists("/tmp" + n);
      if (escaped)
        std::cout << "[   NOTE   ] bwrap follows the planted link out of its root: " << c.what
                  << std::endl;
      RecordProperty("bwrap " + c.what, escaped ? "escaped" : (b.exit_code ? "refused" : "inside"));
      for (const auto& e : victim.entries()) std::filesystem::remove_all(victim / e);
      for (const std::string& p : {"/etc" + n, "/tmp" + n}) std::filesystem::remove_all(p);
    }
  }
  for (const char* legacy : {"0", "1"}) {
    for (const auto& c : cases) {
      SCOPED_TRACE(c.what + (legacy[0] == '1' ? " (legacy mount API)" : ""));
      RunOpts o = opts();
      o.env = {std::string("SANDBOX_TEST_LEGACY_MOUNT=") + legacy};
      auto r = run(with_root(cat({c.flags, sh("echo RAN; ls -A /planted/ /h/ /up/tmp/ 2>&1; true")})),
                   o);
      // Either a clean refusal (exit 1, message, command never ran) or a run inside.
      if (r.exit_code != 0) {
        EXPECT_EQ(r.exit_code, 1) << r;
        EXPECT_FALSE(contains(r.out, "RAN")) << r;
        EXPECT_FALSE(r.err.empty()) << r;
      }
      EXPECT_TRUE(victim.entries().empty()) << "created on the host through a symlink" << r;
      EXPECT_FALSE(exists("/etc" + n)) << "created in the host's /etc" << r;
      EXPECT_FALSE(exists("/tmp" + n)) << "created in the host's /tmp" << r;
      EXPECT_EQ(bound.entries(), (std::vector<std::string>{"abs-etc", "abs-root", "abs-victim",
                                                           "marker", "rel-victim"}))
          << r;
    }
  }
  // The one that must succeed lands in the new root's /etc (a tmpfs).
  auto r = run(with_root({"--tmpfs", "/etc", "--symlink", "/etc", "/planted", "--bind",
                          bound.path(), "/planted" + n, "--", "cat", "/etc" + n + "/marker"}),
               opts());
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "bound-marker\n") << r;
}

// ---- 12. chroot, "..", /proc/self/fd and /proc/PID/{root,cwd} -----------------------------

const char* kDotDot = R"PY(
import errno, os, sys
def ls(p):
    try:
        return ','.join(sorted(os.listdir(p)))
    except OSError as e:
        return 'ERR:' + errno.errorcode[e.errno]
print('root=' + ls('/'))
for p in ('/..', '/../../..', '/proc/self/root/..', '/proc/self/root/../..',
          '/proc/self/cwd/../../..', '/proc/1/root/..', '/proc/1/cwd/..',
          '/proc/1/root/proc/1/root/../..', '/dev/fd/../../..', '/proc/self/fd/0/..'):
    print('%s=%s' % (p, ls(p)))
for fd in sorted(os.listdir('/proc/self/fd'), key=int):
    try:
        print('fd %s -> %s' % (fd, os.readlink('/proc/self/fd/' + fd)))
    except OSError as e:
        print('fd %s %s' % (fd, errno.errorcode[e.errno]))
try:
    os.chroot('/tmp')
    print('chroot=ok')
except OSError as e:
    print('chroot=' + errno.errorcode[e.errno])
if sys.argv[1:] == ['double']:
    # The classic double chroot: chroot into a subdirectory while keeping a descriptor of
    # the old root, fchdir to it, climb '..' far above, chroot('.').
    os.makedirs('/tmp/jail/sub', exist_ok=True)
    keep = os.open('/', os.O_RDONLY | os.O_DIRECTORY)
    os.chroot('/tmp/jail')
    os.fchdir(keep)
    for _ in range(64):
        os.chdir('..')
    os.chroot('.')
    print('escaped=' + ls('/'))
    print('escaped-cwd=' + ls('.'))
)PY";

std::map<std::string, std::string> listings(const std::string& out) { return key_values(out); }

// The host's root as a listing like kDotDot prints it.
std::string host_root_listing() {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator("/"))
    names.insert(e.path().filename().string());
  return join(names);
}

// Runs kDotDot (with `args`) in a chroot-only jail (kJailScript) as the caller: the control
// where the way out is open. Empty result with a skip reason when the jail cannot be built.
RunResult run_in_chroot_jail(const RunOpts& caller, const Args& args, std::string& skip) {
  TempDir j;
  Args cmd = {kPython, "-c", kDotDot};
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto r = run(jail_args(j.path(), "chroot", cmd), on_host(caller, "/usr/bin/unshare"));
  skip = jail_control_skip_reason(r);
  return r;
}

// ".." from the root, /proc/self/root/.., /proc/1/{root,cwd}/.. and the descriptors the
// command holds never lead above the sandbox's root; chroot needs CAP_SYS_CHROOT.
TEST_P(FsEscapeModeTest, DotDotAndProcLinksStayInsideTheRoot) {
  IT_REQUIRE_FILE("/usr/bin/unshare");
  const std::string host_root = host_root_listing();
  // Control: the same script in a chroot-only jail lists the host's root through
  // /proc/1/root/.. (pid 1 there kept the host's root).
  {
    std::string skip;
    auto c = run_in_chroot_jail(opts(), {}, skip);
    if (!skip.empty()) GTEST_SKIP() << "control: " << skip;
    ASSERT_EQ(c.exit_code, 0) << "control" << c;
    auto m = listings(c.out);
    EXPECT_NE(m["root"], host_root) << "control: the jail's own root" << c;
    EXPECT_EQ(m["/proc/1/root/.."], host_root) << "control: the way out" << c;
  }
  Args flags = {"--unshare-pid", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"};
  if (as_root()) flags.insert(flags.end(), {"--cap-drop", "ALL"});
  // Peer: bwrap with the same options stays inside too.
  if (have_bwrap()) {
    auto b = run(with_root(cat({flags, py(kDotDot)})), as_bwrap(opts()));
    ASSERT_EQ(b.exit_code, 0) << "bwrap" << b;
    for (const auto& [k, v] : listings(b.out)) {
      if (!k.empty() && k[0] == '/') {
        EXPECT_NE(v, host_root) << "bwrap: " << k << b;
      }
    }
  }
  auto r = run(with_root(cat({flags, py(kDotDot)})), opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = listings(r.out);
  auto expected = base_root_entries();
  expected.insert({"dev", "proc", "tmp"});
  ASSERT_EQ(m["root"], join(expected)) << r;
  size_t checked = 0;
  for (const auto& [k, v] : m) {
    if (k.empty() || k[0] != '/') continue;
    ++checked;
    // A broken (chroot-only) sandbox lists the host's root here: etc, home, root, var...
    if (v.rfind("ERR:", 0) != 0) {
      EXPECT_EQ(v, m["root"]) << k << r;
    }
  }
  EXPECT_EQ(checked, 10u) << r;
  EXPECT_EQ(m["/.."], m["root"]) << r;
  // The sandbox's init is non-dumpable: its root link cannot even be followed (EACCES).
  EXPECT_TRUE(m["/proc/1/root/.."] == m["root"] || m["/proc/1/root/.."] == "ERR:EACCES") << r;
  EXPECT_EQ(m["chroot"], "EPERM") << r;
  for (const auto& l : lines(r.out)) {
    if (l.rfind("fd ", 0) != 0) continue;
    // Only pipes and /dev/null (and the directory fd of the listing itself, closed by now):
    // no descriptor of a directory of the host's tree to openat("..") from.
    EXPECT_TRUE(contains(l, "pipe:[") || contains(l, "-> /dev/null") || contains(l, "ENOENT"))
        << l << r;
  }
}

// The classic double-chroot escape (chroot into a subdirectory, fchdir to a kept descriptor,
// climb "..", chroot(".")) with CAP_SYS_CHROOT: it defeats a chroot-based sandbox but not a
// pivot_root into a new mount namespace whose old root is detached. A broken sandbox lists
// the host's root (etc, home, root...) as "escaped".
TEST_P(FsEscapeModeTest, DoubleChrootStaysInsideTheRoot) {
  IT_REQUIRE_FILE("/usr/bin/unshare");
  const std::string host_root = host_root_listing();
  // Control: in a chroot-only jail (CAP_SYS_CHROOT in its user namespace) the same escape
  // reaches the host's root.
  {
    std::string skip;
    auto c = run_in_chroot_jail(opts(), {"double"}, skip);
    if (!skip.empty()) GTEST_SKIP() << "control: " << skip;
    ASSERT_EQ(c.exit_code, 0) << "control" << c;
    auto m = listings(c.out);
    EXPECT_EQ(m["chroot"], "ok") << "control" << c;
    EXPECT_EQ(m["escaped"], host_root) << "control: the double chroot gets out" << c;
  }
  Args flags = {"--unshare-pid", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"};
  if (!as_root()) flags.insert(flags.end(), {"--uid", "0", "--cap-add", "CAP_SYS_CHROOT"});
  // Peer: bwrap with the same options (a pivot_root too) stays inside.
  if (have_bwrap()) {
    auto b = run(with_root(cat({flags, py(kDotDot, {"double"})})), as_bwrap(opts()));
    ASSERT_EQ(b.exit_code, 0) << "bwrap" << b;
    auto m = listings(b.out);
    EXPECT_EQ(m["chroot"], "ok") << "bwrap" << b;
    EXPECT_EQ(m["escaped"], m["root"]) << "bwrap" << b;
  }
  auto r = run(with_root(cat({flags, py(kDotDot, {"double"})})), opts());
  ASSERT_EQ(r.exit_code, 0) << r;
  auto m = listings(r.out);
  auto expected = base_root_entries();
  expected.insert({"dev", "proc", "tmp"});
  ASSERT_EQ(m["root"], join(expected)) << r;
  EXPECT_EQ(m["chroot"], "ok") << "CAP_SYS_CHROOT should allow chroot inside" << r;
  EXPECT_EQ(m["escaped"], m["root"]) << r;
  EXPECT_EQ(m["escaped-cwd"], m["root"]) << r;
}

// ---- The old root -----------------------------------------------------------------------

// The host's root, kept around during setup (pivot_root's put_old), must be detached before
// the command runs: nothing named oldroot/newroot (or the staging files) in the mount table
// or the tree, "/.." is "/" (same device and inode, same `ls -ai` listing: names and inode
// numbers, as `ls -la` would differ in the link counts of /proc and /tmp, which change while
// listing), statfs of both is the new tmpfs, and exactly one mount sits at "/". A sandbox
// that forgot the umount shows /oldroot with the whole host below it.
TEST_P(FsEscapeModeTest, OldRootIsGone) {
  const char* script = R"SH(
echo mounts-matching=$(grep -c -E 'oldroot|newroot|bind-data-|tmp-overlay-' /proc/self/mountinfo)
echo found=$(find / -maxdepth 4 -path /proc -prune -o \( -name oldroot -o -name newroot -o -name 'bind-data-*' -o -name 'tmp-overlay-*' -o -name old_root \) -print 2>/dev/null | tr '\n' ' ')
echo root-id=$(stat -c %d:%i /)
echo dotdot-id=$(stat -c %d:%i /..)
echo proc1-id=$(stat -L -c %d:%i /proc/1/root/.. 2>/dev/null || echo denied)
echo self-id=$(stat -L -c %d:%i /proc/self/root/..)
echo root-fs=$(stat -f -c %T /)
echo dotdot-fs=$(stat -f -c %T /..)
a=$(ls -ai /); b=$(ls -ai /..); [ -n "$a" ] && [ "$a" = "$b" ] && echo listing=same
echo mounts-at-root=$(cut -d' ' -f5 /proc/self/mountinfo | grep -c -x /)
)SH";
  // Control: the same script after a pivot_root that keeps the old root (a jail that forgot
  // the umount) finds it.
  {
    IT_REQUIRE_FILE("/usr/bin/unshare");
    TempDir j;
    auto c = run(jail_args(j.path(), "pivot", {"/bin/sh", "-c", script}),
                 on_host(opts(), "/usr/bin/unshare"));
    if (auto skip = jail_control_skip_reason(c); !skip.empty()) GTEST_SKIP() << "control: " << skip;
    ASSERT_EQ(c.exit_code, 0) << "control" << c;
    auto m = key_values(c.out);
    EXPECT_NE(m["mounts-matching"], "0") << "control" << c;
    EXPECT_TRUE(contains(m["found"], "/oldroot")) << "control" << c;
  }
  for (const char* legacy : {"0", "1"}) {
    SCOPED_TRACE(legacy[0] == '1' ? "legacy mount API" : "new mount API");
    RunOpts o = opts();
    o.env = {std::string("SANDBOX_TEST_LEGACY_MOUNT=") + legacy};
    auto r = run(with_root(cat({{"--unshare-pid", "--proc", "/proc", "--dev", "/dev", "--tmpfs",
                                 "/tmp"},
                                sh(script)})),
                 o);
    ASSERT_EQ(r.exit_code, 0) << r;
    auto m = key_values(r.out);
    EXPECT_EQ(m["mounts-matching"], "0") << r;
    EXPECT_EQ(m["found"], "") << r;
    EXPECT_FALSE(m["root-id"].empty()) << r;
    EXPECT_EQ(m["dotdot-id"], m["root-id"]) << r;
    // pid 1 (init) is non-dumpable, so its root link is denied outright.
    EXPECT_TRUE(m["proc1-id"] == m["root-id"] || m["proc1-id"] == "denied") << r;
    EXPECT_EQ(m["self-id"], m["root-id"]) << r;
    EXPECT_EQ(m["root-fs"], "tmpfs") << r;
    EXPECT_EQ(m["dotdot-fs"], "tmpfs") << r;
    EXPECT_EQ(m["listing"], "same") << r;
    EXPECT_EQ(m["mounts-at-root"], "1") << "exactly one mount at /" << r;
  }
}

// ---- File handles -----------------------------------------------------------------------

// open_by_handle_at(2) with a handle to the host filesystem's root directory, decoded
// through a bind of a subdirectory of that filesystem: "Shocker", the 2014 Docker escape
// (CAP_DAC_READ_SEARCH). A broken sandbox prints OPENED with the host's root listing.
const char* kShocker = R"PY(
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
htype, hb = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
class FH(ctypes.Structure):
    _fields_ = [('handle_bytes', ctypes.c_uint), ('handle_type', ctypes.c_int),
                ('f_handle', ctypes.c_ubyte * len(hb))]
fh = FH(len(hb), htype, (ctypes.c_ubyte * len(hb))(*hb))
for mp in sys.argv[3:]:
    mfd = os.open(mp, os.O_RDONLY | os.O_DIRECTORY)
    for name, fl in (('dir', os.O_RDONLY | os.O_DIRECTORY), ('path', os.O_PATH)):
        fd = libc.open_by_handle_at(mfd, ctypes.byref(fh), fl)
        if fd < 0:
            print('open_by_handle_at %s %s %s' % (mp, name, errno.errorcode[ctypes.get_errno()]))
            continue
        try:
            print('OPENED %s %s %s' % (mp, name, ','.join(sorted(os.listdir('/proc/self/fd/%d' % fd)))))
        except OSError as e:
            print('OPENED %s %s unlistable %s' % (mp, name, errno.errorcode[e.errno]))
)PY";

TEST_P(FsEscapeModeTest, OpenByHandleCannotReachHostRoot) {
  IT_REQUIRE_ROOT();  // name_to_handle_at of the host's root for the attack's input
  std::vector<unsigned char> storage(sizeof(file_handle) + MAX_HANDLE_SZ);
  auto* fh = reinterpret_cast<file_handle*>(storage.data());
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (::name_to_handle_at(AT_FDCWD, "/", fh, &mount_id, 0) != 0)
    GTEST_SKIP() << "the host's root filesystem does not export file handles: "
                 << std::strerror(errno);
  std::string hex;
  const unsigned char* bytes = storage.data() + sizeof(file_handle);
  for (unsigned i = 0; i < fh->handle_bytes; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", bytes[i]);
    hex += b;
  }
  // Control: the handle is good (the test, real root, opens the host's root with it).
  {
    int usr = ::open("/usr", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(usr, 0);
    int fd = ::open_by_handle_at(usr, fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(usr);
    ASSERT_GE(fd, 0) << "control: open_by_handle_at as host root: " << std::strerror(errno);
    DIR* dir = ::fdopendir(fd);
    ASSERT_NE(dir, nullptr);
    std::set<std::string> names;
    while (dirent* e = ::readdir(dir)) names.insert(e->d_name);
    ::closedir(dir);
    ASSERT_EQ(names.count("etc"), 1u) << "control: the handle is the host's root";
  }
  // Control: the attack script itself, as host root outside any sandbox, opens it.
  {
    auto c = run({"-c", kShocker, std::to_string(fh->handle_type), hex, "/usr"},
                 on_host({}, kPython));
    ASSERT_EQ(c.exit_code, 0) << "control" << c;
    EXPECT_TRUE(contains(c.out, "OPENED /usr dir ")) << "control" << c;
    EXPECT_TRUE(contains(c.out, ",etc,")) << "control: the host's root" << c;
  }
  TempDir d;
  std::vector<Args> variants;
  if (as_root()) {
    variants = {{"--cap-drop", "ALL"}, {"--cap-drop", "CAP_DAC_READ_SEARCH"}};
  } else {
    variants = {{}, uid0_all_caps()};
  }
  for (const Args& flags : variants) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    auto r = run(with_root(cat({flags,
                                {"--proc", "/proc", "--bind", d.path(), "/data"},
                                py(kShocker, {std::to_string(fh->handle_type), hex, "/usr",
                                              "/data"})})),
                 opts());
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(contains(r.out, "open_by_handle_at /usr dir")) << r;
    EXPECT_FALSE(contains(r.out, "OPENED")) << r;
  }
}

}  // namespace
}  // namespace it
