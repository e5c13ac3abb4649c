// See ring_blocks.hpp.
#include "ring_blocks.hpp"

#include <linux/if_packet.h>

#include <algorithm>
#include <cstring>

namespace mcr::worker {

namespace {

tpacket_block_desc* descriptor(const RingLayout& ring, unsigned index) noexcept
{
    return reinterpret_cast<tpacket_block_desc*>(ring.base + std::size_t{index} * ring.block_bytes);
}

} // namespace

bool ring_full(const RingLayout& ring, unsigned expected) noexcept
{
    if (expected >= ring.block_count)
        return false;
    return block_retired(ring, (expected + ring.block_count - 1) % ring.block_count) && block_retired(ring, expected);
}

bool block_retired(const RingLayout& ring, unsigned index) noexcept
{
    const std::uint32_t status = __atomic_load_n(&descriptor(ring, index)->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
    return (status & TP_STATUS_USER) != 0;
}

std::uint64_t block_sequence(const RingLayout& ring, unsigned index) noexcept
{
    return descriptor(ring, index)->hdr.bh1.seq_num;
}

std::uint32_t block_frames_filled(const RingLayout& ring, unsigned index) noexcept
{
    return __atomic_load_n(&descriptor(ring, index)->hdr.bh1.num_pkts, __ATOMIC_ACQUIRE);
}

std::optional<unsigned> oldest_retired_block(const RingLayout& ring) noexcept
{
    std::optional<unsigned> oldest;
    for (unsigned i = 0; i < ring.block_count; ++i)
        if (block_retired(ring, i) && (!oldest || block_sequence(ring, i) < block_sequence(ring, *oldest)))
            oldest = i;
    return oldest;
}

std::optional<unsigned> next_retired_block(const RingLayout& ring, std::optional<unsigned> expected) noexcept
{
    if (!expected || *expected >= ring.block_count)
        return oldest_retired_block(ring);
    if (block_retired(ring, *expected))
        return expected;
    return std::nullopt;
}

unsigned following_block(const RingLayout& ring, unsigned index) noexcept
{
    return index + 1 < ring.block_count ? index + 1 : 0;
}

BlockFrames::BlockFrames(const RingLayout& ring, unsigned index) noexcept
    : block_(ring.base + std::size_t{index} * ring.block_bytes), block_bytes_(ring.block_bytes)
{
    const tpacket_block_desc* desc = descriptor(ring, index);
    count_ = desc->hdr.bh1.num_pkts;
    offset_ = desc->hdr.bh1.offset_to_first_pkt;
}

std::optional<RingFrame> BlockFrames::next() noexcept
{
    if (read_ >= count_ || offset_ < sizeof(tpacket_block_desc) || offset_ > block_bytes_ ||
        block_bytes_ - offset_ < sizeof(tpacket3_hdr))
        return std::nullopt;
    tpacket3_hdr header{};
    std::memcpy(&header, block_ + offset_, sizeof(header));
    const std::size_t start = offset_ + header.tp_mac;
    if (header.tp_mac < sizeof(tpacket3_hdr) || start > block_bytes_ || block_bytes_ - start < header.tp_snaplen)
        return std::nullopt;
    RingFrame frame;
    frame.bytes = {block_ + start, header.tp_snaplen};
    frame.truncated = header.tp_snaplen < header.tp_len;
    frame.checksum_partial = (header.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
    ++read_;
    // The last frame's tp_next_offset is 0; a later call then stops on read_.
    offset_ += header.tp_next_offset;
    if (header.tp_next_offset == 0)
        read_ = count_;
    return frame;
}

namespace {

std::uint32_t* private_counter(const RingLayout& ring, unsigned index) noexcept
{
    tpacket_block_desc* desc = descriptor(ring, index);
    const std::size_t priv = desc->offset_to_priv;
    const std::size_t first = desc->hdr.bh1.offset_to_first_pkt;
    if (priv < sizeof(tpacket_block_desc) || first < priv || first - priv < kBlockPrivateBytes ||
        priv % alignof(std::uint32_t) != 0 || first > ring.block_bytes)
        return nullptr;
    return reinterpret_cast<std::uint32_t*>(ring.base + std::size_t{index} * ring.block_bytes + priv);
}

} // namespace

std::uint32_t frames_done(const RingLayout& ring, unsigned index) noexcept
{
    const std::uint32_t* counter = private_counter(ring, index);
    return counter != nullptr ? *counter : 0;
}

void set_frames_done(const RingLayout& ring, unsigned index, std::uint32_t done) noexcept
{
    if (std::uint32_t* counter = private_counter(ring, index))
        *counter = done;
}

void release_block(const RingLayout& ring, unsigned index) noexcept
{
    set_frames_done(ring, index, 0); // the kernel refills the block without touching this area
    __atomic_store_n(&descriptor(ring, index)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

RingGeometry RingGeometry::for_mtu(unsigned mtu) noexcept
{
    // Ethernet + 802.1Q header, the frame's tpacket3_hdr + sockaddr_ll with
    // alignment padding, and the block's own header and private area.
    constexpr std::size_t kFrameOverhead = 18 + 128;
    constexpr std::size_t kBlockOverhead = 64;
    constexpr std::size_t kPage = 4096;
    const std::size_t needed = std::size_t{mtu} + kFrameOverhead + kBlockOverhead;
    std::size_t block = kPage;
    while (block < needed)
        block *= 2;
    RingGeometry geometry;
    geometry.block_bytes = block;
    // A ring adopted from the FD store is recognised by its size alone (mmap
    // must ask for exactly that size), so every block size gets a size of
    // its own: 16 MiB for 16 KiB blocks (the only geometry before blocks
    // followed the MTU), one block less than 16 MiB for the others. A ring
    // of another geometry is then set up anew instead of being misread.
    const std::size_t legacy_block = std::size_t{16} << 10;
    const std::size_t count = std::max<std::size_t>(kRingBytes / block, 2) - (block == legacy_block ? 0 : 1);
    geometry.block_count = static_cast<unsigned>(count);
    return geometry;
}

} // namespace mcr::worker
