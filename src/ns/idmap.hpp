// uid_map / gid_map contents. We write single-id maps ourselves (no setuid helper):
// the caller's id outside maps to exactly one id inside.
#pragma once
#include <cstdint>
#include <string>

namespace sb {

// "<inside> <outside> 1\n", the only map an unprivileged process may write for itself.
std::string single_id_map(uint32_t inside, uint32_t outside);

// True when `map` (uid_map/gid_map text) maps `inside` to `outside`.
bool map_contains(const std::string& map, uint32_t inside, uint32_t outside);

}  // namespace sb
