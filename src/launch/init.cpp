#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "launch/launch.hpp"
#include "security/caps.hpp"

namespace sb::launch {
namespace {
void noop_handler(int) {}
}  // namespace

void init_main(pid_t command, bool forward_terminal_signals, int keep_fd) {
  // Security: init holds nothing the command could borrow: no capabilities, no fds
  // (but --sync-fd, which must stay open for the sandbox's lifetime).
  try {
    security::apply_caps(0, false);
  } catch (...) {
  }
  if (keep_fd < 0) {
    ::close_range(0, ~0U, 0);
  } else {
    if (keep_fd > 0) ::close_range(0, static_cast<unsigned>(keep_fd) - 1, 0);
    ::close_range(static_cast<unsigned>(keep_fd) + 1, ~0U, 0);
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (int s : kForwardedSignals) {
    // The kernel drops signals to a namespace's pid 1 that has no handler, even blocked
    // ones; a handler makes them queue so sigwaitinfo can take them.
    struct sigaction sa {};
    sa.sa_handler = noop_handler;
    ::sigaction(s, &sa, nullptr);
    sigaddset(&set, s);
  }
  ::sigprocmask(SIG_BLOCK, &set, nullptr);

  auto reap = [command] {
    for (;;) {
      int status;
      pid_t p = ::waitpid(-1, &status, WNOHANG);
      if (p <= 0) return;
      // Leaving takes the whole namespace down, orphans included.
      if (p == command) ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
  };
  reap();  // the command may have finished before the mask was in place
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (sig == SIGCHLD) reap();
    else if (should_forward(info.si_code, forward_terminal_signals)) ::kill(command, sig);
  }
}

}  // namespace sb::launch
