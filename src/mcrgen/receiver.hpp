// mcrgen recv: joins a group (or binds a local unicast address), receives
// for a bounded time (or until SIGINT/SIGTERM) and accounts every datagram
// that carries our header.
#pragma once

#include "core/result.hpp"
#include "stream_accounting.hpp"
#include "udp_sockets.hpp"

#include <cstdint>
#include <optional>

namespace mcr::gen {

inline constexpr double kMaxReceiveSeconds = 3600.0;
// After --expect is met, how long we keep listening for duplicates.
inline constexpr std::uint64_t kExpectGraceNs = 300'000'000;

struct ReceiveOptions {
    ReceiverSocketSpec socket;
    double duration_s = 0;
    std::optional<std::uint64_t> expect;
    // Called once the socket is ready (joined): lets scripts start senders
    // only when nothing can be missed.
    std::optional<std::string> ready_file;
    bool rtp = false;                     // payloads start with mcrgen send --rtp's RTP header
};

struct ReceiveReport {
    ReceiveTotals totals;
    LatencySummary latency;
    std::uint64_t bytes = 0;         // payload bytes of datagrams with our header
    std::uint64_t corrupt = 0;       // header fine but the fill pattern differs (damaged payload)
    std::uint64_t socket_drops = 0;  // SO_RXQ_OVFL: dropped because our buffer was full
    std::uint64_t elapsed_ns = 0;
    std::optional<std::uint64_t> expected;
    int receive_buffer_bytes = 0;
};

[[nodiscard]] Result<ReceiveReport> run_receiver(const ReceiveOptions& options);

} // namespace mcr::gen
