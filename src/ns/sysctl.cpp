#include "ns/sysctl.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "spec/spec.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/io.hpp"

namespace sb::ns {

void write_sysctls(int proc_fd, const std::vector<std::pair<std::string, std::string>>& sysctls) {
  if (sysctls.empty()) return;
  // Security: the values go to the kernel's own files only: the fd must be a procfs.
  struct statfs sfs;
  if (::fstatfs(proc_fd, &sfs) < 0) throw_errno("sysctl: can't examine /proc");
  if (sfs.f_type != PROC_SUPER_MAGIC) throw SysError("sysctl: /proc is not a procfs", EINVAL);
  for (const auto& [key, value] : sysctls) {
    std::string file = key;
    std::replace(file.begin(), file.end(), '.', '/');
    const std::string shown = "sysctl " + key + " (/proc/sys/" + file + ")";
    // Checked where the Spec is made too; again here, where the path is built from it.
    if (!valid_sysctl_key(key)) throw SysError("Invalid sysctl key '" + key + "'", EINVAL);
    // The UTS namespace's two: its files stay owned by the host's root (only CAP_SYS_ADMIN
    // over the namespace may change them), so through the system calls, as runc and crun.
    if (key == "kernel.hostname" || key == "kernel.domainname") {
      int rc = key == "kernel.hostname" ? ::sethostname(value.data(), value.size())
                                        : ::setdomainname(value.data(), value.size());
      if (rc < 0) throw_errno("Can't set " + shown);
      continue;
    }
    UniqueFd dir(::openat(proc_fd, "sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) throw_errno("Can't open /proc/sys for " + shown);
    size_t start = 0;
    for (;;) {
      size_t dot = key.find('.', start);
      std::string comp = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (dot == std::string::npos) {
        // Security: O_NOFOLLOW on the last component and on every directory above it: a
        // symlink anywhere on the way is an error, never followed.
        UniqueFd f(::openat(dir.get(), comp.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!f) throw_errno("Can't open " + shown);
        std::string data = value + "\n";
        ssize_t n = ::write(f.get(), data.data(), data.size());
        if (n != static_cast<ssize_t>(data.size()))
          throw SysError("Can't write '" + value + "' to " + shown, n < 0 ? errno : EIO);
        break;
      }
      UniqueFd next(::openat(dir.get(), comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next) throw_errno("Can't open " + shown);
      dir = std::move(next);
      start = dot + 1;
    }
  }
}

}  // namespace sb::ns
