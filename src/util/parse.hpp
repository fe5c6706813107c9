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

// The non-negative decimal number a small file holds (a /proc/sys knob: "40\n"), read
// with open/read: no iostreams, whose first use costs every launch the C++ locale set-up.
// nullopt when the file is missing or holds anything else.
std::optional<uint64_t> number_file(const char* path);

}  // namespace sb::parse
