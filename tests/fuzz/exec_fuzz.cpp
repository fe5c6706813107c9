// libFuzzer target for the executable-header parsing behind the exec diagnostics: the
// first bytes of whatever file a failed execve named (read_elf_interp: ELF headers and the
// PT_INTERP segment; parse_shebang: a "#!" line). The file is the command's, so its bytes
// are the caller's or an attacker's. Any input must be parsed or rejected, never crash or
// read out of bounds.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string_view>

#include "launch/exec_diag.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("fuzz-exec", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();
  if (size && ::write(fd, data, size) != static_cast<ssize_t>(size)) __builtin_trap();
  sb::launch::ElfInterp e = sb::launch::read_elf_interp(fd);
  if (!e.is_elf && e.interp) __builtin_trap();  // an interpreter only for an ELF file
  auto sb = sb::launch::parse_shebang(std::string_view(reinterpret_cast<const char*>(data), size));
  if (sb && sb->interp.find_first_of(" \t\n") != std::string::npos) __builtin_trap();
  ::close(fd);
  return 0;
}
