// Compiled seccomp programs (a raw array of struct sock_filter, as seccomp_export_bpf
// writes it), read from descriptors and loaded last before exec.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace sb::security {

// Reads a whole BPF program from fd; `opt` names the option in errors. The length must be
// a multiple of 8 and at most BPF_MAXINSNS instructions; bwrap's error words come first.
// An empty program is returned as it is: check_bpf_program_not_empty rejects it once
// every program has been read (bwrap reports a bad length of a later one first).
std::string read_bpf_program(int fd, const std::string& opt);
void check_bpf_program_not_empty(const std::string& program, int fd, const std::string& opt);

// Installs the filters in order on the calling thread (no_new_privs must already be set),
// with prctl(PR_SET_SECCOMP) as bwrap does (seccomp(2) if prctl is denied). Throws
// sb::Error naming the program that could not be loaded and why.
//
// `listener` (--audit-fd): the index of the one program loaded with seccomp(2) and
// SECCOMP_FILTER_FLAG_NEW_LISTENER; `on_listener` gets its listener descriptor (O_CLOEXEC)
// right after that load, before any later program, and must hand it over and close it: a
// call that program notifies blocks until the listener's holder answers.
void load_bpf_programs(const std::vector<std::string>& programs, int listener = -1,
                       const std::function<void(int)>& on_listener = {});
// One program, the same way (errors call it "program 1 of 1").
void load_bpf_program(const std::string& program);

}  // namespace sb::security
