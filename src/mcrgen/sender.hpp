// mcrgen send: a bounded, paced stream of UDP datagrams carrying the payload
// header, sent with sendmmsg batches through a UDP socket or, with --raw, as
// whole Ethernet frames through an AF_PACKET socket.
#pragma once

#include "core/result.hpp"
#include "raw_frames.hpp"
#include "udp_sockets.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace mcr::gen {

// Hard limits whatever the command line says: no run is unbounded.
inline constexpr std::uint64_t kMaxSendPackets = 100'000'000;
inline constexpr double kMaxSendSeconds = 3600.0;
inline constexpr std::size_t kMaxPayloadBytes = 65'507;  // IPv4 UDP maximum
// A send that makes no progress for this long (ENOBUFS forever) gives up.
inline constexpr std::uint64_t kSendStallLimitNs = 5'000'000'000;

// --raw: frames built here and written to socket.interface, which is
// required; socket.source (optional) goes into them as is.
struct RawSendOptions {
    std::optional<MacAddress> destination_mac;  // required for a unicast destination
};

struct SendOptions {
    SenderSocketSpec socket;
    std::optional<RawSendOptions> raw;
    std::uint64_t rate_pps = 0;           // 0 = as fast as possible
    std::size_t payload_bytes = 0;        // kPayloadHeaderBytes..kMaxPayloadBytes
    std::optional<std::uint64_t> count;   // at least one of count/duration
    std::optional<double> duration_s;
    std::uint32_t stream_id = 0;
    bool rtp = false;                     // an RTP header before ours (kRtpPrefixBytes)
    // A frame the device refuses (ENOBUFS) is counted as sent and refused
    // instead of being sent again. On a veth that is the peer's full input
    // backlog, which a wire would just lose: bench/ uses this so that the
    // relay under test cannot slow its sender down.
    bool no_retry = false;
};

struct SendReport {
    std::uint64_t sent = 0;
    std::uint64_t bytes = 0;              // payload bytes
    std::uint64_t retries = 0;            // sendmmsg calls that hit ENOBUFS/EAGAIN and were repeated
    std::uint64_t elapsed_ns = 0;
    std::uint32_t stream_id = 0;
    std::uint64_t refused = 0;            // --no-retry: frames the device dropped (counted in `sent`)
};

[[nodiscard]] Result<SendReport> run_sender(const SendOptions& options);

// The byte a payload carries at `offset` past the header, so receivers can
// tell a payload arrived intact.
[[nodiscard]] constexpr std::byte payload_fill_byte(std::size_t offset) noexcept
{
    return static_cast<std::byte>(offset % 251);
}

} // namespace mcr::gen
