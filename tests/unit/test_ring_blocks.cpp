// The TPACKET_V3 ring layout reader on blocks built in ordinary memory the
// way the kernel lays them out (tpacket_rcv / prb_fill_curr_block).
#include "worker/ring_blocks.hpp"

#include <doctest/doctest.h>

#include <linux/if_packet.h>

#include <cstring>
#include <set>
#include <tuple>
#include <vector>

using mcr::worker::BlockFrames;
using mcr::worker::RingGeometry;
using mcr::worker::RingLayout;
using mcr::worker::kRingBytes;

namespace {

constexpr std::size_t kBlockBytes = 4096;
constexpr unsigned kBlocks = 4;

struct FakeRing {
    std::vector<std::uint64_t> storage = std::vector<std::uint64_t>(kBlockBytes * kBlocks / 8); // 8-byte aligned
    RingLayout layout{reinterpret_cast<std::uint8_t*>(storage.data()), kBlockBytes, kBlocks};

    tpacket_block_desc* desc(unsigned index)
    {
        return reinterpret_cast<tpacket_block_desc*>(layout.base + std::size_t{index} * kBlockBytes);
    }

    // Retires block `index` with sequence `seq` holding frames of these
    // lengths (each filled with its own byte value); `status` per frame.
    void fill(unsigned index, std::uint64_t seq, const std::vector<std::size_t>& lengths,
              std::uint32_t frame_status = TP_STATUS_USER)
    {
        tpacket_block_desc* d = desc(index);
        d->version = TPACKET_V3;
        d->hdr.bh1.seq_num = seq;
        d->hdr.bh1.num_pkts = static_cast<std::uint32_t>(lengths.size());
        // As the kernel lays out a block with tp_sizeof_priv: header, private area, frames.
        const std::size_t priv = TPACKET_ALIGN(sizeof(tpacket_block_desc));
        const std::size_t first = TPACKET_ALIGN(priv + mcr::worker::kBlockPrivateBytes);
        d->offset_to_priv = static_cast<std::uint32_t>(priv);
        d->hdr.bh1.offset_to_first_pkt = static_cast<std::uint32_t>(first);
        std::size_t offset = first;
        for (std::size_t i = 0; i < lengths.size(); ++i) {
            auto* h = reinterpret_cast<tpacket3_hdr*>(layout.base + std::size_t{index} * kBlockBytes + offset);
            const std::size_t mac = TPACKET_ALIGN(sizeof(tpacket3_hdr)) + 2; // the kernel aligns the IP header
            h->tp_mac = static_cast<std::uint16_t>(mac);
            h->tp_snaplen = static_cast<std::uint32_t>(lengths[i]);
            h->tp_len = static_cast<std::uint32_t>(lengths[i]);
            h->tp_status = frame_status;
            std::memset(reinterpret_cast<std::uint8_t*>(h) + mac, static_cast<int>(i + 1), lengths[i]);
            const std::size_t next = TPACKET_ALIGN(mac + lengths[i]);
            h->tp_next_offset = i + 1 < lengths.size() ? static_cast<std::uint32_t>(next) : 0;
            offset += next;
        }
        d->hdr.bh1.blk_len = static_cast<std::uint32_t>(offset);
        d->hdr.bh1.block_status = TP_STATUS_USER;
    }
};

} // namespace

TEST_CASE("no retired block: nothing to read")
{
    FakeRing ring;
    CHECK_FALSE(mcr::worker::oldest_retired_block(ring.layout).has_value());
    CHECK_FALSE(mcr::worker::block_retired(ring.layout, 0));
}

TEST_CASE("the next block is found by sequence number, wherever the previous worker stopped")
{
    FakeRing ring;
    // A worker died after handing back blocks 0 and 1: the kernel went on
    // into 2, 3 and wrapped to 0.
    ring.fill(2, 7, {60});
    ring.fill(3, 8, {60});
    ring.fill(0, 9, {60});
    CHECK(mcr::worker::oldest_retired_block(ring.layout) == 2u);
    mcr::worker::release_block(ring.layout, 2);
    CHECK(mcr::worker::oldest_retired_block(ring.layout) == 3u);
    mcr::worker::release_block(ring.layout, 3);
    CHECK(mcr::worker::oldest_retired_block(ring.layout) == 0u);
    mcr::worker::release_block(ring.layout, 0);
    CHECK_FALSE(mcr::worker::oldest_retired_block(ring.layout).has_value());
    CHECK(ring.desc(0)->hdr.bh1.block_status == TP_STATUS_KERNEL);
}

TEST_CASE("after a block is handed back only the following one is looked at")
{
    FakeRing ring;
    const auto& layout = ring.layout;
    // Nothing known yet: searched by sequence number (an adopted ring).
    ring.fill(3, 20, {60});
    ring.fill(0, 21, {60});
    CHECK(mcr::worker::next_retired_block(layout, std::nullopt) == 3u);
    mcr::worker::release_block(layout, 3);
    // Wraps from the last block to the first.
    const unsigned after = mcr::worker::following_block(layout, 3);
    CHECK(after == 0u);
    CHECK(mcr::worker::next_retired_block(layout, after) == 0u);
    mcr::worker::release_block(layout, 0);
    CHECK(mcr::worker::following_block(layout, 0) == 1u);
    // The expected block is not retired: none is read, even if another is
    // (which the kernel never does; the engine's stats-timer check catches it).
    ring.fill(2, 22, {60});
    CHECK_FALSE(mcr::worker::next_retired_block(layout, 1u).has_value());
    CHECK(mcr::worker::next_retired_block(layout, 2u) == 2u);
    // An index outside the ring (a ring of another size) falls back to the search.
    CHECK(mcr::worker::next_retired_block(layout, kBlocks) == 2u);
}

TEST_CASE("the ring is full once the kernel filled it round to the block before the next one to read")
{
    FakeRing ring;
    const auto& layout = ring.layout;
    // The next block to read is 2: the kernel filled 2 and 3 so far.
    ring.fill(2, 30, {60});
    ring.fill(3, 31, {60});
    CHECK_FALSE(mcr::worker::ring_full(layout, 2));
    ring.fill(0, 32, {60});
    CHECK_FALSE(mcr::worker::ring_full(layout, 2));
    // Block 1, the one before 2, retired too: every block waits for us.
    ring.fill(1, 33, {60});
    CHECK(mcr::worker::ring_full(layout, 2));
    // Once 2 is handed back the kernel has room again.
    mcr::worker::release_block(layout, 2);
    CHECK_FALSE(mcr::worker::ring_full(layout, 3));
    // An index outside the ring (a ring of another size) never reads as full.
    CHECK_FALSE(mcr::worker::ring_full(layout, kBlocks));
}

TEST_CASE("frames filled counts a block's frames whether it is retired or still being filled")
{
    FakeRing ring;
    CHECK(mcr::worker::block_frames_filled(ring.layout, 1) == 0u);
    ring.fill(1, 5, {60, 70});
    CHECK(mcr::worker::block_frames_filled(ring.layout, 1) == 2u);
    // The kernel's open block: frames counted, not yet retired.
    ring.desc(1)->hdr.bh1.block_status = TP_STATUS_KERNEL;
    CHECK(mcr::worker::block_frames_filled(ring.layout, 1) == 2u);
    CHECK_FALSE(mcr::worker::block_retired(ring.layout, 1));
}

TEST_CASE("frames of a block come in order with their bytes and flags")
{
    FakeRing ring;
    ring.fill(1, 1, {64, 1514, 42});
    BlockFrames frames(ring.layout, 1);
    CHECK(frames.count() == 3);
    for (std::uint8_t expected = 1; expected <= 3; ++expected) {
        const auto frame = frames.next();
        REQUIRE(frame.has_value());
        CHECK(frame->bytes.front() == expected);
        CHECK(frame->bytes.back() == expected);
        CHECK_FALSE(frame->truncated);
        CHECK_FALSE(frame->checksum_partial);
    }
    CHECK_FALSE(frames.next().has_value());
}

TEST_CASE("partial checksum and truncation are reported")
{
    FakeRing ring;
    ring.fill(0, 1, {100}, TP_STATUS_USER | TP_STATUS_CSUMNOTREADY);
    auto* h = reinterpret_cast<tpacket3_hdr*>(ring.layout.base + ring.desc(0)->hdr.bh1.offset_to_first_pkt);
    h->tp_len = 9000; // longer than what was stored
    BlockFrames frames(ring.layout, 0);
    const auto frame = frames.next();
    REQUIRE(frame.has_value());
    CHECK(frame->checksum_partial);
    CHECK(frame->truncated);
    CHECK(frame->bytes.size() == 100);
}

TEST_CASE("offsets pointing outside the block end the walk instead of reading past it")
{
    FakeRing ring;
    SUBCASE("first frame beyond the block")
    {
        ring.fill(0, 1, {64, 64});
        ring.desc(0)->hdr.bh1.offset_to_first_pkt = kBlockBytes - 8;
    }
    SUBCASE("snaplen beyond the block")
    {
        ring.fill(0, 1, {64});
        reinterpret_cast<tpacket3_hdr*>(ring.layout.base + ring.desc(0)->hdr.bh1.offset_to_first_pkt)->tp_snaplen =
            kBlockBytes;
    }
    SUBCASE("mac offset inside the frame header")
    {
        ring.fill(0, 1, {64});
        reinterpret_cast<tpacket3_hdr*>(ring.layout.base + ring.desc(0)->hdr.bh1.offset_to_first_pkt)->tp_mac = 4;
    }
    SUBCASE("more frames claimed than stored")
    {
        ring.fill(0, 1, {64});
        ring.desc(0)->hdr.bh1.num_pkts = 1000;
        BlockFrames frames(ring.layout, 0);
        CHECK(frames.next().has_value());
        CHECK_FALSE(frames.next().has_value()); // the last frame's next offset is 0
        return;
    }
    BlockFrames frames(ring.layout, 0);
    CHECK_FALSE(frames.next().has_value());
}

TEST_CASE("frames done are kept in the block's private area and cleared on release")
{
    FakeRing ring;
    ring.fill(1, 5, {64, 64, 64});
    CHECK(mcr::worker::frames_done(ring.layout, 1) == 0);
    mcr::worker::set_frames_done(ring.layout, 1, 2);
    // A worker starting on this ring (same memory) sees where the last one stopped.
    CHECK(mcr::worker::frames_done(ring.layout, 1) == 2);
    BlockFrames frames(ring.layout, 1);
    REQUIRE(frames.next().has_value()); // the block's frames are untouched by the counter
    mcr::worker::release_block(ring.layout, 1);
    CHECK(mcr::worker::frames_done(ring.layout, 1) == 0);
}

TEST_CASE("a block without a private area reads as nothing done and is not written")
{
    FakeRing ring;
    ring.fill(0, 1, {64});
    ring.desc(0)->hdr.bh1.offset_to_first_pkt = ring.desc(0)->offset_to_priv; // no room for the counter
    mcr::worker::set_frames_done(ring.layout, 0, 7);
    CHECK(mcr::worker::frames_done(ring.layout, 0) == 0);
}

TEST_CASE("ring blocks are as small as the ingress MTU allows, 16 MiB in all")
{
    // What the kernel needs for one frame: block header and private area
    // (56), tpacket3_hdr + sockaddr_ll aligned before the network header
    // (96 - 14), the Ethernet header and a VLAN tag, the MTU.
    const auto fits_one_frame = [](const RingGeometry& g, unsigned mtu) {
        return g.block_bytes >= std::size_t{56} + 82 + 18 + mtu;
    };
    std::set<std::size_t> sizes;
    for (const auto& row : {std::tuple{1500U, 4096U, 4095U}, std::tuple{4000U, 8192U, 2047U},
                            std::tuple{9000U, 16384U, 1024U}, std::tuple{65536U, 131072U, 127U}}) {
        // Plain variables, not a structured binding: CAPTURE's lambda
        // cannot capture a binding before clang 16 (CI's sanitizer build).
        const unsigned mtu = std::get<0>(row);
        const unsigned block = std::get<1>(row);
        const unsigned count = std::get<2>(row);
        const RingGeometry g = RingGeometry::for_mtu(mtu);
        CAPTURE(mtu);
        CHECK(g.block_bytes == block);
        CHECK(g.block_count == count);
        CHECK(g.block_bytes * g.block_count <= kRingBytes);
        CHECK(g.block_bytes * g.block_count >= kRingBytes - g.block_bytes);
        CHECK(fits_one_frame(g, mtu));
        CHECK(g.retire_timeout_ms == 1);
        sizes.insert(g.block_bytes * g.block_count);
    }
    // Each geometry maps a size of its own (an adopted ring is recognised by
    // it), and 16 KiB blocks keep the 16 MiB of the rings made before.
    CHECK(sizes.size() == 4);
    CHECK(RingGeometry::for_mtu(9000).block_bytes * RingGeometry::for_mtu(9000).block_count == kRingBytes);
    const RingGeometry legacy;
    CHECK(legacy.block_bytes * legacy.block_count == kRingBytes);
}
