// What the engine puts into an io_uring entry's user_data: a kind in the top
// byte and a value below it, so that each completion finds its handler and
// completions of a cancelled receive or of a replaced plan are recognised
// and not miscounted. Receives carry their ingress pair and its receive
// generation, sends their egress slot index.
#pragma once

#include <cstdint>

namespace mcr::worker::completion_tag {

// The provided-buffer group every recv takes its buffers from.
inline constexpr std::uint16_t kProvidedBufferGroup = 0;

inline constexpr unsigned kKindShift = 56;
inline constexpr std::uint64_t kValueMask = (std::uint64_t{1} << kKindShift) - 1;

inline constexpr std::uint64_t kRingSocketReceive = 1;  // the ring socket's poll (its recv without a ring)
inline constexpr std::uint64_t kSend = 2;
inline constexpr std::uint64_t kCancel = 3;
inline constexpr std::uint64_t kQuietReceive = 4;
inline constexpr std::uint64_t kTransitionTimer = 5;

[[nodiscard]] constexpr std::uint64_t tag(std::uint64_t kind, std::uint64_t value) noexcept
{
    return (kind << kKindShift) | (value & kValueMask);
}

[[nodiscard]] constexpr std::uint64_t kind_of(std::uint64_t user_data) noexcept { return user_data >> kKindShift; }
[[nodiscard]] constexpr std::uint64_t value_of(std::uint64_t user_data) noexcept { return user_data & kValueMask; }

// A receive's value: the pair's index above its 32-bit generation.
[[nodiscard]] constexpr std::uint64_t receive_value(std::uint8_t pair, std::uint32_t generation) noexcept
{
    return (std::uint64_t{pair} << 32) | generation;
}
[[nodiscard]] constexpr std::uint8_t pair_of(std::uint64_t user_data) noexcept
{
    return static_cast<std::uint8_t>(value_of(user_data) >> 32);
}

} // namespace mcr::worker::completion_tag
