#include "security/bpf.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.hpp"

namespace sb::security {

std::string read_bpf_program(int fd, const std::string& opt) {
  std::string data;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(opt + ": can't read fd " + std::to_string(fd));
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > BPF_MAXINSNS * sizeof(sock_filter))
      throw Error(opt + ": the program on fd " + std::to_string(fd) + " is longer than " +
                  std::to_string(BPF_MAXINSNS) + " instructions");
  }
  if (data.empty() || data.size() % sizeof(sock_filter) != 0)
    throw Error(opt + ": the program on fd " + std::to_string(fd) + " is " +
                std::to_string(data.size()) + " bytes, not a non-zero multiple of " +
                std::to_string(sizeof(sock_filter)));
  return data;
}

void load_bpf_program(const std::string& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(program.data()));
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    throw_errno("Can't load a seccomp filter");
}

}  // namespace sb::security
