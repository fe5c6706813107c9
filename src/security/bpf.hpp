// Compiled seccomp programs (a raw array of struct sock_filter, as seccomp_export_bpf
// writes it), read from descriptors and loaded last before exec.
#pragma once
#include <string>

namespace sb::security {

// Reads a whole BPF program from fd; `opt` names the option in errors. The length must be
// a non-zero multiple of 8 and at most BPF_MAXINSNS instructions.
std::string read_bpf_program(int fd, const std::string& opt);

// Installs one filter on the calling thread (no_new_privs must already be set).
void load_bpf_program(const std::string& program);

}  // namespace sb::security
