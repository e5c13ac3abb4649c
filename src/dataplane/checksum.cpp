// Internet checksum arithmetic shared by the rewriter and the tests.
#include "checksum.hpp"

namespace mcr::dataplane {

std::uint32_t checksum_accumulate(std::span<const std::uint8_t> bytes, std::uint32_t sum) noexcept
{
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2)
        sum += static_cast<std::uint32_t>((bytes[i] << 8) | bytes[i + 1]);
    if (i < bytes.size())
        sum += static_cast<std::uint32_t>(bytes[i] << 8); // odd byte padded with zero
    // Fold early enough that 32 bits never overflow for jumbo frames.
    return (sum & 0xffffU) + (sum >> 16);
}

std::uint16_t checksum_fold(std::uint32_t sum) noexcept
{
    while ((sum >> 16) != 0)
        sum = (sum & 0xffffU) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes) noexcept
{
    return static_cast<std::uint16_t>(~checksum_fold(checksum_accumulate(bytes, 0)));
}

std::uint16_t checksum_replace16(std::uint16_t checksum, std::uint16_t old_word, std::uint16_t new_word) noexcept
{
    std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
    sum += static_cast<std::uint16_t>(~old_word);
    sum += new_word;
    return static_cast<std::uint16_t>(~checksum_fold(sum));
}

std::uint16_t checksum_replace32(std::uint16_t checksum, std::uint32_t old_value, std::uint32_t new_value) noexcept
{
    checksum = checksum_replace16(checksum, static_cast<std::uint16_t>(old_value >> 16),
                                  static_cast<std::uint16_t>(new_value >> 16));
    return checksum_replace16(checksum, static_cast<std::uint16_t>(old_value), static_cast<std::uint16_t>(new_value));
}

std::uint16_t checksum_replace_sum(std::uint16_t checksum, std::uint32_t old_sum, std::uint32_t new_sum) noexcept
{
    // ~m summed word by word is ~(sum of m) once folded: one's complement.
    std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
    sum += static_cast<std::uint16_t>(~checksum_fold(old_sum));
    sum += checksum_fold(new_sum);
    return static_cast<std::uint16_t>(~checksum_fold(sum));
}

} // namespace mcr::dataplane
