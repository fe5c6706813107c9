#include "ns/userns.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/securebits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ns/idmap.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"

namespace sb::ns {
namespace {

// Runs `argv` (argv[0] an absolute path) with a clean environment and the default signal
// mask and dispositions (the supervisor blocks the ones it takes through a signalfd);
// returns its exit status (-1: killed) and what it wrote on stdout and stderr, at most 4 KiB.
struct HelperResult {
  int status = -1;
  std::string output;
};
HelperResult run_helper(const std::vector<std::string>& argv, const std::string& origin) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) throw_errno(origin + ": pipe");
  UniqueFd rd(pipe_fds[0]), wr(pipe_fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Security: a setuid program gets a fixed environment, none of the caller's.
  char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char env_lang[] = "LC_ALL=C";
  char* envp[] = {env_path, env_lang, nullptr};
  pid_t pid = -1;
  int err = ::posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  wr.reset();
  if (err != 0)
    throw Error(origin + ": can't run " + argv[0] + " (Debian's uidmap package): " +
                std::strerror(err));
  HelperResult res;
  char buf[512];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (res.output.size() < 4096) res.output.append(buf, static_cast<size_t>(n));
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) throw_errno(origin + ": waitpid " + argv[0]);
  res.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!res.output.empty() && (res.output.back() == '\n' || res.output.back() == ' '))
    res.output.pop_back();
  return res;
}

void write_with_helper(const char* helper, pid_t pid, const std::vector<IdRange>& ranges,
                       const std::string& origin) {
  HelperResult r = run_helper(newidmap_argv(helper, pid, ranges), origin);
  if (r.status == 0) return;
  // shadow's helpers look the ranges up by the caller's user name: say so when it has none.
  const bool no_name = r.output.find("Cannot determine your user name") != std::string::npos;
  throw Error(origin + ": " + helper + " refused the map (" +
              (r.status < 0 ? std::string("killed") : "exit " + std::to_string(r.status)) +
              (r.output.empty() ? ")" : "): " + r.output) +
              (no_name ? "; uid " + std::to_string(::getuid()) + " needs a user name in /etc/passwd" : "") +
              "; the ranges must be your own id or given to you in /etc/" +
              (helper == std::string(kNewuidmap) ? "subuid" : "subgid"));
}

}  // namespace

void write_self_maps(uid_t inside_uid, uid_t outside_uid, gid_t inside_gid, gid_t outside_gid) {
  // Security: setgroups must be denied before an unprivileged gid_map write, otherwise the
  // process could drop supplementary groups used as negative permissions on the host.
  io::write_kernel_file("/proc/self/setgroups", "deny");
  io::write_kernel_file("/proc/self/uid_map", single_id_map(inside_uid, outside_uid));
  io::write_kernel_file("/proc/self/gid_map", single_id_map(inside_gid, outside_gid));
}

void write_maps_from_outside(pid_t pid, const IdMapRequest& maps, bool by_helper) {
  if (by_helper) {
    // Security: newuidmap/newgidmap are the host's policy (/etc/subuid, /etc/subgid);
    // they refuse any range the administrator did not give this user. newgidmap denies
    // setgroups itself when the map is only the caller's own gid.
    write_with_helper(kNewuidmap, pid, maps.uids, maps.uid_origin);
    write_with_helper(kNewgidmap, pid, maps.gids, maps.gid_origin);
    return;
  }
  // With CAP_SETUID/CAP_SETGID here the kernel checks that every id is mapped in our own
  // namespace; setgroups stays "allow" (the ids are ours to give).
  const std::string proc = "/proc/" + std::to_string(pid) + "/";
  try {
    io::write_kernel_file(proc + "uid_map", format_map(maps.uids));
  } catch (const SysError& e) {
    throw Error(maps.uid_origin + ": " + e.what());
  }
  try {
    io::write_kernel_file(proc + "gid_map", format_map(maps.gids));
  } catch (const SysError& e) {
    throw Error(maps.gid_origin + ": " + e.what());
  }
}

void enter_mapped_ids(uid_t uid, gid_t gid, const std::optional<std::vector<gid_t>>& groups,
                      const std::string& groups_origin) {
  // Our outside ids may be unmapped here (files we created would fail with EOVERFLOW) or
  // map to another id than the process's: take the process's ids now, for all of setup.
  // SECBIT_NO_SETUID_FIXUP keeps the capabilities over the namespace that setup needs
  // across the uid change (dropped later, before exec, as always); restored right after,
  // so the command's own setuid calls behave as usual.
  int bits = ::prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  if (bits < 0) throw_errno("prctl(PR_GET_SECUREBITS)");
  if (::prctl(PR_SET_SECUREBITS, static_cast<unsigned long>(bits) | SECBIT_NO_SETUID_FIXUP, 0, 0, 0) < 0)
    throw_errno("prctl(PR_SET_SECUREBITS)");
  if (::setresgid(gid, gid, gid) < 0)
    throw_errno("Can't switch to gid " + std::to_string(gid) + " in the user namespace");
  if (groups) {
    if (::setgroups(groups->size(), groups->data()) < 0) {
      if (errno == EPERM)
        throw Error(groups_origin + ": setgroups is denied in this user namespace (newgidmap "
                    "denies it when the gid map holds only your own gid: give the ranges "
                    "through /etc/subgid)");
      throw_errno(groups_origin + ": setgroups");
    }
  } else if (::setgroups(0, nullptr) < 0 && errno != EPERM) {
    // Drops the caller's groups where the namespace allows it; where setgroups is denied
    // they stay, as with the single-id map.
    throw_errno("setgroups");
  }
  if (::setresuid(uid, uid, uid) < 0)
    throw_errno("Can't switch to uid " + std::to_string(uid) + " in the user namespace");
  if (::prctl(PR_SET_SECUREBITS, static_cast<unsigned long>(bits), 0, 0, 0) < 0)
    throw_errno("prctl(PR_SET_SECUREBITS)");
}

void set_groups(const std::vector<gid_t>& groups, const std::string& origin) {
  if (::setgroups(groups.size(), groups.data()) < 0)
    throw_errno(origin + ": setgroups (needs CAP_SETGID)");
}

}  // namespace sb::ns
