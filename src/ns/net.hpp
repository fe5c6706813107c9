// Network namespace setup through rtnetlink (no `ip` binary needed inside or outside).
#pragma once

namespace sb::ns {

// Brings the loopback interface of the current network namespace up.
void loopback_up();

// Lets every uid inside bind ports below 1024 in the current (the sandbox's own) network
// namespace: net.ipv4.ip_unprivileged_port_start=0. Best effort.
void allow_unprivileged_low_ports();

}  // namespace sb::ns
