// A container's terminal (OCI process.terminal), the part every layer can call: the
// runtime connects to the engine's console socket before any namespace (console_connect),
// and the process that becomes the command, in its final mount namespace, opens a pty
// there and hands the master over that socket (send_pty_master). Kept in util so that the
// launch child (below oci in the module graph) and the OCI runtime share one
// implementation; oci/console.hpp is the runtime's name for it.
#pragma once
#include <functional>
#include <string>

namespace sb::pty {

// Connects to the unix stream socket at `socket_path` (a --console-socket). The
// descriptor is O_CLOEXEC. Paths longer than sun_path go through their directory's
// descriptor. Throws sb::Error naming the path.
int connect_console_socket(const std::string& socket_path);

// Opens /dev/ptmx as the calling process sees it (the container's own devpts instance),
// checks that the pty belongs to the devpts mounted on /dev/pts, applies the window
// size (rows and cols both non-zero), calls `before_send` with the slave (if set), sends
// the master over `sock` in one message (payload "/dev/ptmx", SCM_RIGHTS: what runc sends
// and conmon reads), closes `sock` and the master, and makes the slave the controlling
// terminal (setsid unless already a session leader, TIOCSCTTY) and descriptors 0, 1 and 2.
// Throws sb::Error.
void send_pty_master(int sock, unsigned rows, unsigned cols,
                     const std::function<void(int slave)>& before_send = {});

// Receives one descriptor sent over `sock` with SCM_RIGHTS (the engine's side of a
// console socket: the runtime's own `run` relay and the tests). Returns it O_CLOEXEC, or
// throws sb::Error.
int receive_fd(int sock);

}  // namespace sb::pty
