#include "security/bpf.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"
#include "util/io.hpp"

namespace sb::security {

std::string read_bpf_program(int fd, const std::string& opt) {
  // The first line of each error is bwrap's, which its callers and tests match; the
  // second names the option and the descriptor.
  const std::string where = "\n(" + opt + " " + std::to_string(fd) + ")";
  std::string data;
  if (int err = io::read_all(fd, data, BPF_MAXINSNS * sizeof(sock_filter)))
    throw Error(std::string("Can't read seccomp data: ") + std::strerror(err) + where);
  if (data.size() > BPF_MAXINSNS * sizeof(sock_filter))
    throw Error(opt + ": the program on fd " + std::to_string(fd) + " is longer than " +
                std::to_string(BPF_MAXINSNS) + " instructions");
  if (data.size() % sizeof(sock_filter) != 0)
    throw Error("Invalid seccomp data, must be multiple of 8\n(" + opt + " " +
                std::to_string(fd) + " holds " + std::to_string(data.size()) +
                " bytes; a compiled program is an array of 8-byte struct sock_filter)");
  return data;
}

void check_bpf_program_not_empty(const std::string& program, int fd, const std::string& opt) {
  if (program.empty())
    throw Error(opt + ": the program on fd " + std::to_string(fd) +
                " is empty (a compiled program is an array of 8-byte struct sock_filter)");
}

void load_bpf_programs(const std::vector<std::string>& programs, int listener,
                       const std::function<void(int)>& on_listener) {
  for (size_t i = 0; i < programs.size(); ++i) {
    const std::string& program = programs[i];
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(program.size() / sizeof(sock_filter));
    prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(program.data()));
    if (static_cast<int>(i) == listener) {
      // --audit-fd: only seccomp(2) takes the flag; the kernel makes the listener O_CLOEXEC.
      long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
      if (fd < 0) {
        int err = errno;
        std::string msg = "--audit-fd: can't load seccomp program " + std::to_string(i + 1) +
                          " of " + std::to_string(programs.size()) +
                          " with a listener: seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): " +
                          std::strerror(err);
        if (err == EBUSY) msg += "\n(an earlier filter of this process already has a listener)";
        else if (i > 0) msg += "\n(an earlier program may deny seccomp(2), which --audit-fd needs)";
        throw Error(msg);
      }
      if (on_listener) on_listener(static_cast<int>(fd));
      continue;
    }
    // bwrap's documented contract for stacked programs: each is installed with
    // prctl(PR_SET_SECCOMP), so every program but the last must allow prctl (and may deny
    // seccomp(2)). No load flags are needed: the programs are used exactly as compiled.
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0) continue;
    int prctl_err = errno;
    // The other door, for an earlier program that allows seccomp(2) but not prctl. Either
    // call installs the same filter; neither can weaken one already loaded.
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0) continue;
    int seccomp_err = errno;
    std::string msg = "Can't load seccomp program " + std::to_string(i + 1) + " of " +
                      std::to_string(programs.size()) + ": prctl(PR_SET_SECCOMP): " +
                      std::strerror(prctl_err) + ", seccomp(2): " + std::strerror(seccomp_err);
    if (prctl_err == EINVAL)
      msg += "\n(the kernel rejected the program: not a valid BPF program, or a kernel "
             "without CONFIG_SECCOMP_FILTER)";
    else if (i > 0)
      msg += "\n(an earlier program denies both prctl and seccomp; as with bwrap, every "
             "program but the last must allow prctl)";
    throw Error(msg);
  }
}

void load_bpf_program(const std::string& program) { load_bpf_programs({program}); }

}  // namespace sb::security
