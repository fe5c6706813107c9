/* startup_floor: the syscall floor of startup_bench's scenario 2.
 *
 * Does the kernel work that `sandbox --ro-bind / / --unshare-all [--share-net] --dev /dev
 * --proc /proc --tmpfs /tmp CMD` asks for, with nothing around it: no option parsing, no
 * supervisor loop, no handshake, no init process, no checks beyond the return codes, the
 * cheapest call for each step. Start-up time of a real tool divided by this one's is what
 * the tool adds on top of what the kernel charges (see bench/README.md).
 *
 *   startup_floor [--share-net] CMD [ARGS...]
 *
 * The parent clones one child into new user, mount, PID, IPC, UTS, cgroup (and, without
 * --share-net, network) namespaces and waits for it; its exit status is the command's. The
 * child, pid 1 of its namespace:
 *   - writes its own single-id maps (its uid and gid inside = outside, as sandbox maps them),
 *   - brings up lo (new network namespace only),
 *   - makes / recursively slave, stages on a tmpfs over /tmp, pivots into it,
 *   - binds the old root read-only, nosuid, nodev and recursively on /newroot,
 *   - mounts /dev (tmpfs, six device nodes bound from the host, symlinks, shm, a private
 *     devpts), a fresh proc on /proc, a tmpfs on /tmp,
 *   - detaches the old root, pivots into the new one, detaches the staging root,
 *   - execs CMD (searched in PATH, as sandbox and bwrap do).
 * Any failure: a message naming the step, exit status 1.
 *
 * Plain C, linked statically: no loader, no C++ runtime. Not a sandbox to use: the command
 * is left without capabilities only because an exec by a non-root uid clears them (its
 * bounding set stays full), no no_new_privs is set, the session keyring stays shared and
 * nothing reaps orphans in the PID namespace. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

struct mount_attr_ {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static void die(const char* what) {
  int err = errno;
  dprintf(2, "startup_floor: %s: %s\n", what, strerror(err));
  _exit(1);
}

static void write_file(const char* path, const char* data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data)) die(path);
  close(fd);
}

static void do_mount(const char* src, const char* dst, const char* type, unsigned long flags,
                     const char* data) {
  if (mount(src, dst, type, flags, data) < 0) die(dst);
}

/* A recursive bind of `src` on `dst` with `attrs` set on the whole copy before it is
 * attached (one call for every submount: the new mount API, as sandbox uses it). */
static void bind_tree(const char* src, const char* dst, uint64_t attrs, int recursive) {
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src,
                          OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (tree < 0) die(src);
  struct mount_attr_ attr = {attrs, 0, 0, 0};
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
              &attr, sizeof attr) < 0)
    die(dst);
  if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) die(dst);
  close(tree);
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("lo up");
  close(s);
}

static void make_dev(void) {
  static const char* const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  static const char* const links[][2] = {
      {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
      {"/proc/self/fd", "fd"},      {"/proc/kcore", "core"},       {"pts/ptmx", "ptmx"}};
  char src[64], dst[64];
  do_mount("tmpfs", "/newroot/dev", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; ++i) {
    snprintf(src, sizeof src, "/oldroot/dev/%s", nodes[i]);
    snprintf(dst, sizeof dst, "/newroot/dev/%s", nodes[i]);
    int fd = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
    if (fd < 0) die(dst);
    close(fd);
    bind_tree(src, dst, MOUNT_ATTR_NOSUID, 0);
  }
  int dev = open("/newroot/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dev < 0) die("/newroot/dev");
  for (size_t i = 0; i < sizeof links / sizeof links[0]; ++i)
    if (symlinkat(links[i][0], dev, links[i][1]) < 0) die(links[i][1]);
  if (mkdirat(dev, "shm", 01777) < 0 || fchmodat(dev, "shm", 01777, 0) < 0) die("/dev/shm");
  if (mkdirat(dev, "pts", 0755) < 0) die("/dev/pts");
  close(dev);
  do_mount("devpts", "/newroot/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=620");
}

static void child(int share_net, uid_t uid, gid_t gid, char** cmd) {
  char map[64];
  /* Identity: a single-id map written by the process itself (no helper, no handshake). */
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  write_file("/proc/self/uid_map", map);
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  write_file("/proc/self/gid_map", map);
  if (!share_net) loopback_up();

  /* Nothing mounted here propagates back to the host. */
  do_mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL);
  /* Staging root: a tmpfs holding newroot and oldroot. */
  do_mount("tmpfs", "/tmp", "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755");
  if (chdir("/tmp") < 0) die("chdir /tmp");
  if (mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0) die("mkdir");
  do_mount("tmpfs", "newroot", "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755");
  if (syscall(SYS_pivot_root, ".", "oldroot") < 0) die("pivot_root");
  if (chdir("/") < 0) die("chdir /");

  /* --ro-bind / / */
  bind_tree("/oldroot", "/newroot", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 1);
  /* --dev /dev, --proc /proc (the new PID namespace's), --tmpfs /tmp */
  make_dev();
  do_mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  do_mount("tmpfs", "/newroot/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");

  /* The host's root out of reach, then the new root in place of the staging one. */
  if (umount2("/oldroot", MNT_DETACH) < 0) die("umount /oldroot");
  if (chdir("/newroot") < 0) die("chdir /newroot");
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root into the new root");
  if (umount2(".", MNT_DETACH) < 0) die("umount the staging root");
  if (chdir("/") < 0) die("chdir /");

  execvp(cmd[0], cmd);
  die(cmd[0]);
}

int main(int argc, char** argv) {
  int i = 1, share_net = 0;
  if (i < argc && strcmp(argv[i], "--share-net") == 0) {
    share_net = 1;
    ++i;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: startup_floor [--share-net] CMD [ARGS...]\n");
    return 2;
  }
  uid_t uid = getuid();
  gid_t gid = getgid();
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
                        CLONE_NEWUTS | CLONE_NEWCGROUP | (share_net ? 0 : CLONE_NEWNET);
  long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) die("clone");
  if (pid == 0) child(share_net, uid, gid, argv + i);
  int status;
  while (waitpid((pid_t)pid, &status, 0) < 0)
    if (errno != EINTR) die("waitpid");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
