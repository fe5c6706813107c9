// Strict number parsing for option values: no sign tricks, no trailing garbage,
// no silent overflow.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace sb::parse {

// Octal permission bits 0..07777 ("0755", "755").
std::optional<unsigned> octal_mode(std::string_view s);
// Unsigned decimal that fits the given maximum.
std::optional<uint64_t> unsigned_dec(std::string_view s, uint64_t max);
// Byte size: decimal with optional K/M/G/T suffix (powers of 1024); must be > 0.
std::optional<uint64_t> byte_size(std::string_view s);
// A file descriptor number (0..INT_MAX).
std::optional<int> fd_number(std::string_view s);

}  // namespace sb::parse
