#include "oci/console.hpp"

#include "util/pty.hpp"

namespace sb::oci {

int console_connect(const std::string& socket_path) {
  return pty::connect_console_socket(socket_path);
}

void console_send_pty(int sock, unsigned rows, unsigned cols) {
  pty::send_pty_master(sock, rows, cols);
}

}  // namespace sb::oci
