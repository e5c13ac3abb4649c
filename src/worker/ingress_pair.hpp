// One address family's ingress as the engine reads it: the socket read
// through its TPACKET_V3 ring ("ingress", "ingress6"), the quiet socket in
// the same fanout group read by recv ("ingress-quiet", "ingress6-quiet"),
// which of the two the group feeds now (receive_mode.hpp), the hand-over
// between them, and the frames recv took and not yet forwarded. Plain
// state: the engine acts on it (engine_receive.cpp, engine_ring_walk.cpp,
// engine_receive_mode.cpp), one IngressPair per family, so that a switch,
// its ordering guarantee and its counters stay within the family (each
// family has its own fanout group: worker_protocol.hpp).
#pragma once

#include "ingress_ring.hpp"
#include "receive_mode.hpp"
#include "stats.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace mcr::worker {

inline constexpr unsigned kIngressBuffers = 512;          // power of two (buffer ring requirement)
inline constexpr std::size_t kIngressBufferBytes = 9216;  // 9000-byte jumbo + Ethernet/VLAN headers

// The two sockets of a family as the worker holds them; -1: none.
struct IngressFds {
    int ring = -1;   // "ingress" / "ingress6"
    int quiet = -1;  // "ingress-quiet" / "ingress6-quiet"
};

// A frame recv put into a provided buffer.
struct PendingFrame {
    std::uint16_t buffer_id = 0;
    std::uint32_t length = 0;
    std::uint8_t vnet_bytes = 0;  // virtio_net_hdr before it: its socket's
};

// Frames taken by recv and not yet forwarded, oldest first (FIFO ring). The
// provided buffers are shared by every receive and each is pending at most
// once, so kIngressBuffers entries never overflow.
class PendingFrames {
public:
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
    [[nodiscard]] const PendingFrame& front() const noexcept { return frames_[head_]; }
    void push(PendingFrame frame) noexcept
    {
        frames_[(head_ + count_) % kIngressBuffers] = frame;
        ++count_;
    }
    void pop() noexcept
    {
        head_ = (head_ + 1) % kIngressBuffers;
        --count_;
    }

private:
    std::array<PendingFrame, kIngressBuffers> frames_{};
    std::size_t head_ = 0;
    std::size_t count_ = 0;
};

// Where reading the mapped ring stands.
struct RingCursor {
    std::optional<unsigned> block;       // the retired block being read
    unsigned block_done = 0;             // how many of its frames are done
    // The block after the last one handed back (next_retired_block); unset
    // until the first block of a new or adopted ring is found.
    std::optional<unsigned> next_block;
};

struct IngressPair {
    IngressPair(std::uint8_t index, const char* ring_name, const char* quiet_name, ReceiveCounters& counters) noexcept
        : index(index), ring_name(ring_name), quiet_name(quiet_name), counters(counters)
    {
    }

    const std::uint8_t index;            // in the completions' user_data
    const char* const ring_name;         // the sockets' worker_protocol names, for log lines
    const char* const quiet_name;
    ReceiveCounters& counters;           // WorkerCounters::receive / receive6

    IngressFds fds;
    bool ring_socket_armed = false;      // the ring socket's poll (its recv without a ring)
    bool quiet_armed = false;
    std::size_t vnet_header_bytes = 0;   // virtio_net_hdr before each frame recv takes (PACKET_VNET_HDR)
    std::uint32_t generation = 0;        // of the receives armed on the current sockets

    std::optional<IngressRing> ring;
    RingCursor cursor;
    PendingFrames pending;
    std::uint64_t frames = 0;            // read from either socket: what the rate is counted on

    // Two sockets: which one the fanout group feeds, the window the rate is
    // counted over, and the orderly hand-over between them. After a switch
    // to the ring, the ring is not read until the quiet socket is empty
    // (quiet_draining); after a switch to quiet, quiet frames wait until
    // the ring holds none (ring_draining_since).
    bool two_sockets = false;
    ReceiveMode mode = ReceiveMode::quiet;
    std::chrono::steady_clock::time_point rate_window_start;
    std::uint64_t rate_window_frames = 0;  // `frames` when the window began
    bool quiet_draining = false;
    std::optional<std::chrono::steady_clock::time_point> ring_draining_since;
    bool switch_failure_logged = false;
    std::chrono::steady_clock::time_point switched_at;  // the last switch (debug lines)
};

} // namespace mcr::worker
