// Namespaced sysctls (OCI's linux.sysctl), written by the setup child in its own new
// namespaces before the command runs.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace sb::ns {

// Writes each VALUE to /proc/sys/KEY (dots as directories) through `proc_fd`, an fd of a
// procfs mount, walking one component at a time without following any symlink. The files
// under /proc/sys/net, kernel.shm*… and kernel.hostname show the namespaces of the writer,
// so the caller must already be in the new namespaces. Throws naming the key.
void write_sysctls(int proc_fd, const std::vector<std::pair<std::string, std::string>>& sysctls);

}  // namespace sb::ns
