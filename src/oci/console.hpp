// The OCI runtime's console (process.terminal with --console-socket), as runc does it:
// the engine (Podman's conmon) listens on a unix socket; the runtime connects to it
// before any namespace; the container's process, in its final mount namespace, opens a
// pty on the container's own devpts and sends the master over that socket. The code is
// util/pty (so that the launch child, below oci, calls the same); these are its names
// for `create`, `run` and `exec`.
#pragma once
#include <string>

namespace sb::oci {

// Runtime side, before any namespace: connects to --console-socket PATH (SOCK_STREAM,
// CLOEXEC). Throws sb::Error naming the path.
//
// Security: the socket is connected here, by the runtime, with the caller's view of the
// file system; the container only ever holds the connected descriptor (never a path it
// could resolve in its own tree), and that descriptor is closed before its command runs.
int console_connect(const std::string& socket_path);

// In the container's final mount namespace, before exec: opens its /dev/ptmx, sends the
// master over `sock` (SCM_RIGHTS), closes sock, makes the slave the controlling terminal
// (setsid, TIOCSCTTY) and fds 0-2. Throws sb::Error.
void console_send_pty(int sock, unsigned rows, unsigned cols);

}  // namespace sb::oci
