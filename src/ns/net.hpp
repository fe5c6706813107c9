// Network namespace setup through rtnetlink (no `ip` binary needed inside or outside).
#pragma once

namespace sb::ns {

// Brings the loopback interface of the current network namespace up.
void loopback_up();

}  // namespace sb::ns
