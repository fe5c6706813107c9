// Explaining a failed execve: which file is missing inside the new root (the command, its
// ELF interpreter, a script's #! interpreter) and which option would provide it, judged
// from what the host has at the same path.
#pragma once
#include <fcntl.h>

#include <optional>
#include <string>
#include <string_view>

namespace sb::launch {

// An ELF file's PT_INTERP ("/lib64/ld-linux-x86-64.so.2"); is_elf is false when `fd` is
// not an ELF file of this machine's byte order, interp empty for a static executable.
struct ElfInterp {
  bool is_elf = false;
  std::optional<std::string> interp;
};
ElfInterp read_elf_interp(int fd);

// "#!INTERP [ARG]" as the kernel reads it: the first line of `head`, blanks after "#!"
// skipped, INTERP up to the next blank, the trimmed rest as one argument.
struct Shebang {
  std::string interp;
  std::string arg;
};
std::optional<Shebang> parse_shebang(std::string_view head);

// Why `cmd` (execvp'd with `path_env`, failing with `err`) could not be executed. Paths in
// the sandbox are looked up in the tree `sandbox_root` (relative ones from `sandbox_cwd`),
// host paths in `host_root` (may be -1: no hint from the host), each resolved as if its
// root were "/": this runs in the supervisor, outside the sandbox. Returns "" when there is
// nothing more to say than strerror.
std::string explain_exec_failure(int err, const std::string& cmd, const std::string& path_env,
                                 int sandbox_root, int host_root, int sandbox_cwd = AT_FDCWD);

}  // namespace sb::launch
