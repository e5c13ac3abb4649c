// The header mcrgen puts at the start of every payload, so a receiver can
// count loss, duplicates, reordering and latency without trusting the relay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mcr::gen {

// "MCRG" in ASCII: frames that do not start with it are not ours.
inline constexpr std::uint32_t kPayloadMagic = 0x4d435247;
// magic (4) + stream id (4) + sequence (8) + send time (8), all big-endian.
inline constexpr std::size_t kPayloadHeaderBytes = 24;

struct PayloadHeader {
    std::uint32_t stream_id = 0;  // random per sender run, so two runs never mix
    std::uint64_t sequence = 0;   // 0, 1, 2, ... in send order
    std::uint64_t sent_ns = 0;    // CLOCK_MONOTONIC at send time (same machine only)

    friend bool operator==(const PayloadHeader&, const PayloadHeader&) = default;
};

// `mcrgen send --rtp` puts an RTP fixed header (RFC 3550) before its own, so
// that a relay inspecting RTP ("inspect": "rtp") sees a valid stream: version
// 2, payload type 96, sequence number = the packet's sequence mod 2^16,
// timestamp = 90 per packet (1 ms at 90 kHz), SSRC = the stream id.
inline constexpr std::size_t kRtpPrefixBytes = 12;
// Writes it into the first kRtpPrefixBytes of `payload`; false (nothing
// written) when the payload is shorter.
[[nodiscard]] bool encode_rtp_prefix(std::uint32_t stream_id, std::uint64_t sequence, std::span<std::byte> payload);

// Writes the header into the first kPayloadHeaderBytes of `payload`; returns
// false (writing nothing) when the payload is shorter than that.
[[nodiscard]] bool encode_payload_header(const PayloadHeader& header, std::span<std::byte> payload);

// Reads a header back; nullopt when the payload is short or the magic differs.
[[nodiscard]] std::optional<PayloadHeader> decode_payload_header(std::span<const std::byte> payload);

} // namespace mcr::gen
