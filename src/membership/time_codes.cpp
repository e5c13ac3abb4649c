// Both codes share one layout: a flag bit, 3 exponent bits, then mantissa
// bits; only the widths differ, so one pair of functions does the work.
#include "time_codes.hpp"

namespace mcr::membership {

namespace {

std::uint32_t decode(std::uint32_t code, unsigned mantissa_bits)
{
    const std::uint32_t flag = 1U << (mantissa_bits + 3);
    if (code < flag)
        return code;
    const std::uint32_t exponent = (code >> mantissa_bits) & 0x7U;
    const std::uint32_t mantissa = code & ((1U << mantissa_bits) - 1);
    return (mantissa | (1U << mantissa_bits)) << (exponent + 3);
}

std::uint32_t encode(std::uint32_t value, unsigned mantissa_bits)
{
    const std::uint32_t flag = 1U << (mantissa_bits + 3);
    if (value < flag)
        return value;
    const std::uint32_t largest = decode((flag << 1) - 1, mantissa_bits);
    if (value >= largest)
        return (flag << 1) - 1;
    std::uint32_t exponent = 0;
    while ((value >> (exponent + 3)) >= (2U << mantissa_bits))
        ++exponent;
    const std::uint32_t mantissa = (value >> (exponent + 3)) & ((1U << mantissa_bits) - 1);
    return flag | (exponent << mantissa_bits) | mantissa;
}

} // namespace

std::uint32_t decode_code8(std::uint8_t code) noexcept { return decode(code, 4); }
std::uint8_t encode_code8(std::uint32_t value) noexcept { return static_cast<std::uint8_t>(encode(value, 4)); }
std::uint32_t decode_code16(std::uint16_t code) noexcept { return decode(code, 12); }
std::uint16_t encode_code16(std::uint32_t value) noexcept
{
    return static_cast<std::uint16_t>(encode(value, 12));
}

} // namespace mcr::membership
