// Unit tests for util/parse.hpp: strict number parsing of option values.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <optional>

#include "util/parse.hpp"

namespace sb::parse {
namespace {

// ---- octal_mode -------------------------------------------------------------------------

TEST(OctalMode, AcceptsLeadingZero) {
  EXPECT_EQ(octal_mode("0755"), std::optional<unsigned>(0755u));
  EXPECT_EQ(octal_mode("0644"), std::optional<unsigned>(0644u));
  EXPECT_EQ(octal_mode("0000"), std::optional<unsigned>(0u));
}

TEST(OctalMode, AcceptsWithoutLeadingZero) {
  EXPECT_EQ(octal_mode("755"), std::optional<unsigned>(0755u));
  EXPECT_EQ(octal_mode("700"), std::optional<unsigned>(0700u));
  EXPECT_EQ(octal_mode("0"), std::optional<unsigned>(0u));
  EXPECT_EQ(octal_mode("7"), std::optional<unsigned>(07u));
}

TEST(OctalMode, AcceptsSpecialBitsUpToMax) {
  EXPECT_EQ(octal_mode("7777"), std::optional<unsigned>(07777u));
  EXPECT_EQ(octal_mode("07777"), std::optional<unsigned>(07777u));
  EXPECT_EQ(octal_mode("1777"), std::optional<unsigned>(01777u));
  EXPECT_EQ(octal_mode("4755"), std::optional<unsigned>(04755u));
}

TEST(OctalMode, RejectsEmpty) { EXPECT_EQ(octal_mode(""), std::nullopt); }

TEST(OctalMode, RejectsNonOctalDigits) {
  EXPECT_EQ(octal_mode("8"), std::nullopt);
  EXPECT_EQ(octal_mode("9"), std::nullopt);
  EXPECT_EQ(octal_mode("0758"), std::nullopt);
  EXPECT_EQ(octal_mode("a"), std::nullopt);
}

TEST(OctalMode, RejectsPrefixesAndSigns) {
  EXPECT_EQ(octal_mode("0x1"), std::nullopt);
  EXPECT_EQ(octal_mode("0o755"), std::nullopt);
  EXPECT_EQ(octal_mode("-1"), std::nullopt);
  EXPECT_EQ(octal_mode("+755"), std::nullopt);
}

TEST(OctalMode, RejectsAboveMax) {
  EXPECT_EQ(octal_mode("17777"), std::nullopt);
  EXPECT_EQ(octal_mode("10000"), std::nullopt);
  EXPECT_EQ(octal_mode("77777"), std::nullopt);
  EXPECT_EQ(octal_mode("777777777777"), std::nullopt);
}

TEST(OctalMode, RejectsWhitespaceAndTrailingGarbage) {
  EXPECT_EQ(octal_mode(" 755"), std::nullopt);
  EXPECT_EQ(octal_mode("755 "), std::nullopt);
  EXPECT_EQ(octal_mode("755\n"), std::nullopt);
  EXPECT_EQ(octal_mode("75 5"), std::nullopt);
  EXPECT_EQ(octal_mode("755x"), std::nullopt);
}

// ---- unsigned_dec -----------------------------------------------------------------------

TEST(UnsignedDec, ParsesPlainDecimal) {
  EXPECT_EQ(unsigned_dec("0", 100), std::optional<uint64_t>(0));
  EXPECT_EQ(unsigned_dec("42", 100), std::optional<uint64_t>(42));
  EXPECT_EQ(unsigned_dec("007", 100), std::optional<uint64_t>(7));
}

TEST(UnsignedDec, AcceptsExactlyMax) {
  EXPECT_EQ(unsigned_dec("100", 100), std::optional<uint64_t>(100));
  EXPECT_EQ(unsigned_dec("4294967295", UINT32_MAX), std::optional<uint64_t>(UINT32_MAX));
  EXPECT_EQ(unsigned_dec("18446744073709551615", UINT64_MAX),
            std::optional<uint64_t>(UINT64_MAX));
}

TEST(UnsignedDec, RejectsOneAboveMax) {
  EXPECT_EQ(unsigned_dec("101", 100), std::nullopt);
  EXPECT_EQ(unsigned_dec("4294967296", UINT32_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec("4294967295", UINT32_MAX - 1), std::nullopt);
  EXPECT_EQ(unsigned_dec("2147483648", INT_MAX), std::nullopt);
}

TEST(UnsignedDec, RejectsUint64Overflow) {
  EXPECT_EQ(unsigned_dec("18446744073709551616", UINT64_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec("99999999999999999999", UINT64_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec("184467440737095516150", UINT64_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec("1000000000000000000000000", UINT64_MAX), std::nullopt);
}

TEST(UnsignedDec, RejectsEmptySignsAndGarbage) {
  EXPECT_EQ(unsigned_dec("", 100), std::nullopt);
  EXPECT_EQ(unsigned_dec("-1", UINT64_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec("+1", UINT64_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec(" 1", UINT64_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec("1 ", UINT64_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec("1a", UINT64_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec("0x10", UINT64_MAX), std::nullopt);
  EXPECT_EQ(unsigned_dec("1.0", UINT64_MAX), std::nullopt);
}

TEST(UnsignedDec, LargeMaxBoundaryDigitByDigit) {
  // max = 19: every two-digit value up to 19 fits, 20 does not.
  EXPECT_EQ(unsigned_dec("19", 19), std::optional<uint64_t>(19));
  EXPECT_EQ(unsigned_dec("20", 19), std::nullopt);
  EXPECT_EQ(unsigned_dec("10", 10), std::optional<uint64_t>(10));
  EXPECT_EQ(unsigned_dec("11", 10), std::nullopt);
}

// SRC BUG (fails until fixed): src/util/parse.cpp unsigned_dec computes `(max - d) / 10`
// with unsigned arithmetic; when the digit d is larger than max, `max - d` wraps around to
// a huge value and the limit check passes, so a value above max is accepted.
TEST(UnsignedDec, RejectsSingleDigitAboveSmallMax) {
  EXPECT_EQ(unsigned_dec("5", 5), std::optional<uint64_t>(5));
  EXPECT_EQ(unsigned_dec("6", 5), std::nullopt);  // actual (bug): 6
  EXPECT_EQ(unsigned_dec("9", 8), std::nullopt);  // actual (bug): 9
  EXPECT_EQ(unsigned_dec("0", 0), std::optional<uint64_t>(0));
  EXPECT_EQ(unsigned_dec("1", 0), std::nullopt);  // actual (bug): 1
}

// ---- byte_size --------------------------------------------------------------------------

TEST(ByteSize, PlainBytes) {
  EXPECT_EQ(byte_size("1"), std::optional<uint64_t>(1));
  EXPECT_EQ(byte_size("4096"), std::optional<uint64_t>(4096));
  EXPECT_EQ(byte_size("18446744073709551615"), std::optional<uint64_t>(UINT64_MAX));
}

TEST(ByteSize, SuffixesArePowersOf1024BothCases) {
  EXPECT_EQ(byte_size("1K"), std::optional<uint64_t>(1024ULL));
  EXPECT_EQ(byte_size("1k"), std::optional<uint64_t>(1024ULL));
  EXPECT_EQ(byte_size("3K"), std::optional<uint64_t>(3ULL << 10));
  EXPECT_EQ(byte_size("2M"), std::optional<uint64_t>(2ULL << 20));
  EXPECT_EQ(byte_size("2m"), std::optional<uint64_t>(2ULL << 20));
  EXPECT_EQ(byte_size("5G"), std::optional<uint64_t>(5ULL << 30));
  EXPECT_EQ(byte_size("5g"), std::optional<uint64_t>(5ULL << 30));
  EXPECT_EQ(byte_size("7T"), std::optional<uint64_t>(7ULL << 40));
  EXPECT_EQ(byte_size("7t"), std::optional<uint64_t>(7ULL << 40));
}

TEST(ByteSize, LargestValuesPerSuffixFit) {
  EXPECT_EQ(byte_size("16777215T"), std::optional<uint64_t>(16777215ULL << 40));
  EXPECT_EQ(byte_size("17179869183G"), std::optional<uint64_t>(17179869183ULL << 30));
}

TEST(ByteSize, RejectsZero) {
  EXPECT_EQ(byte_size("0"), std::nullopt);
  EXPECT_EQ(byte_size("0K"), std::nullopt);
  EXPECT_EQ(byte_size("000"), std::nullopt);
}

TEST(ByteSize, RejectsEmptyAndBareSuffix) {
  EXPECT_EQ(byte_size(""), std::nullopt);
  EXPECT_EQ(byte_size("K"), std::nullopt);
  EXPECT_EQ(byte_size("m"), std::nullopt);
  EXPECT_EQ(byte_size("T"), std::nullopt);
}

TEST(ByteSize, RejectsFractionsSignsAndGarbage) {
  EXPECT_EQ(byte_size("1.5M"), std::nullopt);
  EXPECT_EQ(byte_size("-1"), std::nullopt);
  EXPECT_EQ(byte_size("-1K"), std::nullopt);
  EXPECT_EQ(byte_size("+1"), std::nullopt);
  EXPECT_EQ(byte_size("1KB"), std::nullopt);
  EXPECT_EQ(byte_size("1KK"), std::nullopt);
  EXPECT_EQ(byte_size("1P"), std::nullopt);
  EXPECT_EQ(byte_size("1 K"), std::nullopt);
  EXPECT_EQ(byte_size(" 1"), std::nullopt);
  EXPECT_EQ(byte_size("K1"), std::nullopt);
}

TEST(ByteSize, RejectsOverflow) {
  EXPECT_EQ(byte_size("99999999999999999999"), std::nullopt);
  EXPECT_EQ(byte_size("18446744073709551616"), std::nullopt);
  EXPECT_EQ(byte_size("16777216T"), std::nullopt);      // 2^24 * 2^40 = 2^64
  EXPECT_EQ(byte_size("17179869184G"), std::nullopt);   // 2^34 * 2^30 = 2^64
  EXPECT_EQ(byte_size("18014398509481984K"), std::nullopt);  // 2^54 * 2^10
  EXPECT_EQ(byte_size("99999999999999999999T"), std::nullopt);
}

// ---- fd_number --------------------------------------------------------------------------

TEST(FdNumber, ParsesValidRange) {
  EXPECT_EQ(fd_number("0"), std::optional<int>(0));
  EXPECT_EQ(fd_number("3"), std::optional<int>(3));
  EXPECT_EQ(fd_number("1024"), std::optional<int>(1024));
  EXPECT_EQ(fd_number("2147483647"), std::optional<int>(INT_MAX));
}

TEST(FdNumber, RejectsOutOfRangeAndGarbage) {
  EXPECT_EQ(fd_number("2147483648"), std::nullopt);
  EXPECT_EQ(fd_number("4294967296"), std::nullopt);
  EXPECT_EQ(fd_number("-1"), std::nullopt);
  EXPECT_EQ(fd_number(""), std::nullopt);
  EXPECT_EQ(fd_number("abc"), std::nullopt);
  EXPECT_EQ(fd_number("3x"), std::nullopt);
  EXPECT_EQ(fd_number(" 3"), std::nullopt);
}

}  // namespace
}  // namespace sb::parse
