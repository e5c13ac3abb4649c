// A TPACKET_V3 receive ring on the ingress socket: set up by the worker on
// the socket the supervisor handed over (no capability needed), or mapped
// again when the socket comes back from the FD store with the ring of a
// worker that crashed — the frames in it are not lost with that worker.
//
// Geometry: many small blocks rather than a few large ones. A block is
// handed to user space when it is full or when its timer (1 ms) expires
// with at least one frame in it, so at moderate rates blocks leave nearly
// empty and what the ring holds while the worker is away is measured in
// blocks, not bytes: 16 blocks of 1 MiB held 16 ms of traffic, 256 of 64 KiB
// 256 ms (a worker restart after kill -9 takes longer: 78 of 10 000 frames
// lost at 10 kpps), 1024 of 16 KiB about a second. So blocks are as small
// as the largest frame allows (for_mtu): 4 KiB for a 1500-byte MTU, 4095 of
// them, four seconds of a stream below ~20 kpps; 16 KiB for a 9000-byte
// jumbo MTU. About 16 MiB in all, like the receive buffer the socket mode
// uses (each block size a slightly different total: see for_mtu).
#pragma once

#include "core/result.hpp"
#include "ring_blocks.hpp"

#include <cstddef>

namespace mcr::worker {


class IngressRing {
public:
    // Sets up (or re-maps) the ring on `fd`. Turns PACKET_VNET_HDR off first:
    // V3 rings do not carry it (partial checksums show as
    // TP_STATUS_CSUMNOTREADY instead).
    [[nodiscard]] static Result<IngressRing> attach(int fd, RingGeometry geometry = {});

    IngressRing(IngressRing&& other) noexcept;
    IngressRing& operator=(IngressRing&& other) noexcept;
    IngressRing(const IngressRing&) = delete;
    IngressRing& operator=(const IngressRing&) = delete;
    ~IngressRing();

    [[nodiscard]] const RingLayout& layout() const noexcept { return layout_; }
    // Whether the ring was already there (adopted from a previous worker).
    [[nodiscard]] bool adopted() const noexcept { return adopted_; }

private:
    IngressRing() = default;
    void unmap() noexcept;

    RingLayout layout_;
    bool adopted_ = false;
};

} // namespace mcr::worker
