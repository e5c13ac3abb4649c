// Internet checksums (RFC 1071) and their incremental update (RFC 1624), on
// 16-bit words taken big-endian, as they appear on the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mcr::dataplane {

// One's-complement sum of `bytes` added to `sum` (not folded, not inverted).
[[nodiscard]] std::uint32_t checksum_accumulate(std::span<const std::uint8_t> bytes, std::uint32_t sum) noexcept;
[[nodiscard]] std::uint16_t checksum_fold(std::uint32_t sum) noexcept;
// The checksum of `bytes` from scratch: ~fold(sum).
[[nodiscard]] std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes) noexcept;

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one 16-bit word m -> m'.
[[nodiscard]] std::uint16_t checksum_replace16(std::uint16_t checksum, std::uint16_t old_word,
                                               std::uint16_t new_word) noexcept;
// The same for a 32-bit field (two words), e.g. an IPv4 address.
[[nodiscard]] std::uint16_t checksum_replace32(std::uint16_t checksum, std::uint32_t old_value,
                                               std::uint32_t new_value) noexcept;
// The same for any run of words, given as the sums checksum_accumulate()
// returns for the old and the new words (e.g. a pseudo-header's addresses
// when a copy changes address family: the rest of the pseudo-header sums
// alike for IPv4 and IPv6 UDP).
[[nodiscard]] std::uint16_t checksum_replace_sum(std::uint16_t checksum, std::uint32_t old_sum,
                                                 std::uint32_t new_sum) noexcept;

} // namespace mcr::dataplane
