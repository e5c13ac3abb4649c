// Complete Ethernet frames for `mcrgen send --raw`: Ethernet, IPv4 or IPv6,
// UDP and payload are laid out once per run; per packet only the payload
// header changes, and the UDP checksum follows it by summing just those bytes.
#pragma once

#include "core/address.hpp"
#include "dataplane/frame.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mcr::gen {

using MacAddress = std::array<std::uint8_t, 6>;

// "aa:bb:cc:dd:ee:ff" (hex digits of either case); nullopt for anything else.
[[nodiscard]] std::optional<MacAddress> parse_mac(std::string_view text);
[[nodiscard]] std::string mac_to_string(const MacAddress& mac);
// The Ethernet group address a multicast group maps to: 01:00:5e + the low 23
// bits (RFC 1112), 33:33 + the low 32 bits (RFC 2464). nullopt for unicast.
[[nodiscard]] std::optional<MacAddress> multicast_mac(const IpAddress& group);

struct RawFrameSpec {
    MacAddress source_mac{};
    MacAddress destination_mac{};
    IpAddress source;                 // the destination's family
    IpAddress destination;
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    std::uint8_t ttl = 0;             // IPv4 TTL or IPv6 hop limit: 1..255
    // The leading payload bytes that change from packet to packet (the
    // payload header, after an RTP header with --rtp). Even, so they start
    // and end on a 16-bit checksum word.
    std::size_t stamped_bytes = 0;
};

// The bytes of a whole frame: Ethernet, IP and UDP headers, then `payload_bytes`.
[[nodiscard]] std::size_t raw_frame_bytes(const IpAddress& destination, std::size_t payload_bytes) noexcept;

class RawFrameTemplate {
public:
    // `payload`: the UDP payload of every frame; its first
    // spec.stamped_bytes are rewritten per packet (their content here does
    // not matter). spec.stamped_bytes <= payload.size().
    RawFrameTemplate(const RawFrameSpec& spec, std::span<const std::byte> payload);

    // A complete, valid frame (checksums filled in) to copy per packet.
    [[nodiscard]] const std::vector<std::byte>& bytes() const noexcept { return bytes_; }
    // Where the UDP payload starts in the frame.
    [[nodiscard]] std::size_t payload_offset() const noexcept { return payload_offset_; }

    // Writes the UDP checksum of `frame`, a copy of bytes() in which only
    // the stamped payload bytes may differ. Sums those bytes alone: the rest
    // of the datagram's sum is kept from construction.
    void seal(std::span<std::byte> frame) const noexcept;

private:
    std::vector<std::byte> bytes_;
    std::size_t payload_offset_ = 0;
    std::size_t stamped_bytes_ = 0;
    // One's-complement sum of the pseudo-header, the UDP header (checksum
    // zero) and the payload past the stamped bytes.
    std::uint32_t unstamped_sum_ = 0;
};

} // namespace mcr::gen
