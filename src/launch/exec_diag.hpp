// Explaining a failed execve: which file is missing inside the new root (the command, its
// ELF interpreter, a script's #! interpreter) and which option would provide it, judged
// from what the host has at the same path.
#pragma once
#include <fcntl.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.hpp"

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

// The child's MsgType::ExecFailed report, "ERRNO\0COMMAND\0PATH\0MESSAGE" (MESSAGE: the
// child's own explanation, without the host's side).
struct ExecReport {
  int err = 0;
  std::string command;
  std::string path_env;
  std::string message;
};
std::optional<ExecReport> parse_exec_report(const std::string& text);

// "Can't execute CMD: strerror (why)" from the child's ExecFailed report and its
// descriptors (the sandbox's root, working directory and mount namespace): what the
// sandbox lacks, judged against the host's tree, which only the supervisor holds.
std::string exec_failure_message(const std::string& text, const std::vector<UniqueFd>& fds);

}  // namespace sb::launch
