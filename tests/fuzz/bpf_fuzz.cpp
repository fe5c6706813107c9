// libFuzzer target for the bytes of a compiled seccomp program that --seccomp FD and
// --add-seccomp-fd FD read (read_bpf_program): any length, any content, read from a
// descriptor as the options do. Programs it accepts have the shape the kernel takes (a
// multiple of 8 bytes, at most BPF_MAXINSNS instructions); everything else ends in
// sb::Error naming the option and the descriptor. Accepted programs then go through the
// classic-BPF evaluation that decides, before anything is created, whether they leave the
// sandbox's init the calls it needs (init_syscall_denied): an interpreter of attacker-
// chosen code, which must never read or jump out of bounds.
#include <linux/filter.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "launch/launch.hpp"
#include "security/bpf.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("fuzz-bpf", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();
  if (size && ::write(fd, data, size) != static_cast<ssize_t>(size)) __builtin_trap();
  ::lseek(fd, 0, SEEK_SET);
  try {
    std::string prog = sb::security::read_bpf_program(fd, "--add-seccomp-fd");
    // (An empty program is read as such; planning refuses it before anything runs.)
    if (prog.size() != size || prog.size() % sizeof(sock_filter) != 0 ||
        prog.size() > BPF_MAXINSNS * sizeof(sock_filter))
      __builtin_trap();  // accepted what the kernel would refuse, or lost bytes
    (void)sb::launch::init_syscall_denied({prog});
    (void)sb::launch::init_syscall_denied({prog, prog});
  } catch (const sb::Error& e) {
    if (std::string(e.what()).find("--add-seccomp-fd") == std::string::npos) __builtin_trap();
  }
  ::close(fd);
  return 0;
}
