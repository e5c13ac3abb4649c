// The memory layout of a TPACKET_V3 receive ring, read without system calls:
// which retired block to read next, the frames in a block, handing a block
// back. Kept apart from the socket set-up (ingress_ring.hpp) so that it can
// be tested on blocks built in ordinary memory.
//
// The kernel fills blocks in ring order and marks each one TP_STATUS_USER
// when it is full or its timer retires it; user space hands it back by
// writing TP_STATUS_KERNEL. A worker that starts on a ring another worker
// left behind (the socket comes from the FD store) does not know where that
// one stopped, so the next block is found by sequence number, not by index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace mcr::worker {

struct RingLayout {
    std::uint8_t* base = nullptr;   // the mmap()ed ring
    std::size_t block_bytes = 0;
    unsigned block_count = 0;
};

// One frame of a block, as the kernel stored it.
struct RingFrame {
    std::span<std::uint8_t> bytes;  // from the Ethernet header, tp_snaplen bytes
    bool truncated = false;         // tp_snaplen < tp_len: did not fit the block
    bool checksum_partial = false;  // TP_STATUS_CSUMNOTREADY: L4 checksum holds only the pseudo-header sum
};

// The retired block (TP_STATUS_USER) with the lowest sequence number, if any.
// Reads every block header: one page each, so with thousands of blocks this
// costs hundreds of microseconds (see next_retired_block).
[[nodiscard]] std::optional<unsigned> oldest_retired_block(const RingLayout& ring) noexcept;

// The block to read next. The kernel fills and retires blocks strictly in
// ring order and stops at the first one user space still holds, so once a
// block has been handed back the next one to read can only be the one after
// it (`expected`): when that is not retired, none is. Only without
// `expected` (a ring just set up or adopted) is the ring searched by
// sequence number. One header read instead of block_count of them per block.
[[nodiscard]] std::optional<unsigned> next_retired_block(const RingLayout& ring,
                                                         std::optional<unsigned> expected) noexcept;

// The index after `index`, wrapping at the end of the ring.
[[nodiscard]] unsigned following_block(const RingLayout& ring, unsigned index) noexcept;

// Whether every block is retired, i.e. the kernel drops what arrives, when
// the next block to read is `expected`: the kernel filled the ring all the
// way round to the block before it (blocks are handed back in ring order,
// so that one can only be retired again once the kernel came round to it).
[[nodiscard]] bool ring_full(const RingLayout& ring, unsigned expected) noexcept;
// Whether block `index` is retired (owned by user space).
[[nodiscard]] bool block_retired(const RingLayout& ring, unsigned index) noexcept;

[[nodiscard]] std::uint64_t block_sequence(const RingLayout& ring, unsigned index) noexcept;

// How many frames the kernel has put into block `index` so far, retired or
// not. For the block the kernel is filling this is only final once no
// frame can reach the ring any more (the worker sent the traffic elsewhere
// and an RCU grace period passed): it counts a frame before the frame is
// copied in. Read only to learn whether that block is empty.
[[nodiscard]] std::uint32_t block_frames_filled(const RingLayout& ring, unsigned index) noexcept;

// Frames of a retired block in arrival order. A block whose header or frame
// offsets point outside it (which the kernel never writes, but a ring is
// shared memory) ends the walk early instead of reading out of bounds.
class BlockFrames {
public:
    BlockFrames(const RingLayout& ring, unsigned index) noexcept;
    [[nodiscard]] unsigned count() const noexcept { return count_; }
    // The next frame, or nothing at the end of the block.
    [[nodiscard]] std::optional<RingFrame> next() noexcept;

private:
    std::uint8_t* block_ = nullptr;
    std::size_t block_bytes_ = 0;
    unsigned count_ = 0;
    unsigned read_ = 0;
    std::size_t offset_ = 0;
};

// The block's private area (tp_sizeof_priv, which the kernel never writes)
// holds how many of its frames were already forwarded, so that a worker
// restarted after a crash in the middle of a block skips them instead of
// sending them twice. A ring set up without the area reads as 0 done.
inline constexpr unsigned kBlockPrivateBytes = 8;

// The receive ring's shape (ingress_ring.hpp explains the choice).
struct RingGeometry {
    std::size_t block_bytes = std::size_t{1} << 14;
    unsigned block_count = 1024;
    unsigned retire_timeout_ms = 1;  // latency added at low rates, at most

    // The smallest power-of-two block (at least a page) that takes one frame
    // of `mtu` bytes with its Ethernet and 802.1Q headers and the ring's
    // headers, and about kRingBytes of them (a size unique to the block
    // size, see ring_blocks.cpp).
    [[nodiscard]] static RingGeometry for_mtu(unsigned mtu) noexcept;
};
inline constexpr std::size_t kRingBytes = std::size_t{16} << 20;
[[nodiscard]] std::uint32_t frames_done(const RingLayout& ring, unsigned index) noexcept;
void set_frames_done(const RingLayout& ring, unsigned index, std::uint32_t done) noexcept;

// Gives block `index` back to the kernel (its frames-done count reset first) (release store: every read of its
// frames happens before the kernel may overwrite it).
void release_block(const RingLayout& ring, unsigned index) noexcept;

} // namespace mcr::worker
