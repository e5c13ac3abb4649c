// The floating-point time codes of IGMPv3 (RFC 3376 4.1.1, 4.1.7) and MLDv2
// (RFC 3810 5.1.3, 5.1.9): small values as they are, large ones as
// mantissa << (exponent + 3). Encoding rounds down to a representable value.
#pragma once

#include <cstdint>

namespace mcr::membership {

// 8-bit code: IGMPv3 Max Resp Code (units of 0.1 s) and QQIC (IGMP and MLD, s).
[[nodiscard]] std::uint32_t decode_code8(std::uint8_t code) noexcept;
[[nodiscard]] std::uint8_t encode_code8(std::uint32_t value) noexcept;

// 16-bit code: MLDv2 Maximum Response Code (ms).
[[nodiscard]] std::uint32_t decode_code16(std::uint16_t code) noexcept;
[[nodiscard]] std::uint16_t encode_code16(std::uint32_t value) noexcept;

} // namespace mcr::membership
