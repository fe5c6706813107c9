// vmtool: the small static helper the VM scenarios (tests/vm/scenarios.sh) run, because
// busybox has no tool that holds memory, counts forks or drops to a uid with no groups.
// Linked statically: the VM's initramfs holds only busybox, sandbox and its libraries.
//
//   vmtool hog MIB              allocate and touch MIB MiB, 1 MiB at a time; print "survived"
//   vmtool forks N              start up to N children that wait; print "forked=K errno=E"
//   vmtool spin SECONDS         busy-loop for SECONDS of wall time; print "cpu=S" (user+sys)
//   vmtool runas UID GID CMD... drop to UID/GID with no supplementary groups, exec CMD
#include <grp.h>
#include <signal.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int hog(long mib) {
  for (long i = 0; i < mib; ++i) {
    char* p = static_cast<char*>(malloc(1 << 20));
    if (!p) {
      printf("malloc failed at %ld MiB\n", i);
      return 1;
    }
    memset(p, static_cast<int>(i) | 1, 1 << 20);  // touched: resident, not just reserved
  }
  printf("survived\n");
  return 0;
}

int forks(long n) {
  std::vector<pid_t> kids;
  int err = 0;
  for (long i = 0; i < n; ++i) {
    pid_t p = fork();
    if (p < 0) {
      err = errno;
      break;
    }
    if (p == 0) {
      pause();
      _exit(0);
    }
    kids.push_back(p);
  }
  printf("forked=%zu errno=%d\n", kids.size(), err);
  fflush(stdout);
  for (pid_t p : kids) kill(p, SIGKILL);
  for (pid_t p : kids) waitpid(p, nullptr, 0);
  return 0;
}

int spin(double seconds) {
  double end = now() + seconds;
  volatile unsigned long x = 0;
  while (now() < end) x = x + 1;
  tms t;
  times(&t);
  double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  printf("cpu=%.3f\n", static_cast<double>(t.tms_utime + t.tms_stime) / hz);
  return 0;
}

int runas(char** argv) {
  uid_t uid = static_cast<uid_t>(strtoul(argv[0], nullptr, 10));
  gid_t gid = static_cast<gid_t>(strtoul(argv[1], nullptr, 10));
  if (setgroups(0, nullptr) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
    perror("vmtool runas");
    return 126;
  }
  execvp(argv[2], argv + 2);
  perror(argv[2]);
  return 127;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc >= 3 && !strcmp(argv[1], "hog")) return hog(atol(argv[2]));
  if (argc >= 3 && !strcmp(argv[1], "forks")) return forks(atol(argv[2]));
  if (argc >= 3 && !strcmp(argv[1], "spin")) return spin(atof(argv[2]));
  if (argc >= 5 && !strcmp(argv[1], "runas")) return runas(argv + 2);
  fprintf(stderr, "usage: vmtool hog MIB | forks N | spin SECONDS | runas UID GID CMD...\n");
  return 2;
}
