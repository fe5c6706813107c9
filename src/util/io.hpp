// Whole-file reads and writes, written once: the read-to-EOF and write-everything loops
// (EINTR retried, short writes continued) and the single write a kernel file wants.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace sb::io {

// Appends what `fd` holds up to end of file to `out`, retrying reads a signal interrupted.
// Stops early once `out` holds more than `max` bytes, so a caller with a limit sees it
// exceeded (out.size() > max) without reading an unbounded stream to its end. Returns 0,
// or the errno of the read that failed (`out` keeps what came before it).
int read_all(int fd, std::string& out, size_t max = SIZE_MAX);

// The whole file at `path` (read_all with the same `max`), or nullopt with errno set when
// it can't be opened or read.
std::optional<std::string> read_file(const std::string& path, size_t max = SIZE_MAX);

// Writes all of `data`, continuing after short writes and retrying EINTR. False with
// errno set when a write fails.
bool write_all(int fd, std::string_view data);

// Writes `data` to an existing kernel file (/proc, /proc/sys, a cgroup's files): opened
// O_WRONLY|O_CLOEXEC, never created, one write(2), since such a file takes one value per
// write and a split value would be two. Throws SysError (errno kept) naming the path:
// "Can't open PATH: ..." or "Can't write 'DATA' to PATH: ...".
void write_kernel_file(const std::string& path, std::string_view data);
// The same for `name` relative to `dirfd` (openat); `shown` is the path errors name.
void write_kernel_file_at(int dirfd, const std::string& name, std::string_view data,
                          const std::string& shown);
// write_kernel_file_at, but false (nothing written) when `name` does not exist: a knob
// this kernel, controller or I/O scheduler may lack.
bool write_kernel_file_if_present_at(int dirfd, const std::string& name, std::string_view data,
                                     const std::string& shown);

// mkdir -p: every missing directory on the way to the absolute `path` made with `mode`
// (existing ones are left as they are). Throws SysError "Can't create DIR: ...".
void make_dirs(const std::string& path, mode_t mode);

}  // namespace sb::io
