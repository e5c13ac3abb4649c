// Reading a pair's mapped TPACKET_V3 ring (ingress_ring.hpp, ring_blocks.hpp):
// setting it up on the ring socket, walking its retired blocks in order and
// handing them back, and the stats timer's check that blocks still retire
// in ring order.
#include "engine.hpp"

#include "core/log.hpp"
#include "dataplane/frame.hpp"

#include <string>

namespace mcr::worker {

namespace {

// Frames read from the ring in one go before their sends are submitted.
constexpr unsigned kPacketRingSubmitBatch = 32;

} // namespace

void Engine::attach_packet_ring(IngressPair& pair)
{
    pair.cursor = RingCursor{};
    pair.ring.reset();
    auto ring = IngressRing::attach(pair.fds.ring, packet_ring_geometry_);
    if (!ring) {
        log_warning(std::string("Receiving \"") + pair.ring_name + "\" without a ring: " + ring.error().message());
        return;
    }
    if (ring->adopted())
        log_info(std::string("Reading the receive ring a previous worker left on \"") + pair.ring_name + "\"");
    else
        pair.cursor.next_block = 0; // a new ring is filled from its first block
    pair.ring.emplace(std::move(ring).value());
}

bool Engine::packet_ring_has_frames(const IngressPair& pair) const noexcept
{
    if (!pair.ring || receive_stopped_)
        return false;
    if (pair.cursor.block)
        return true;
    return next_retired_block(pair.ring->layout(), pair.cursor.next_block).has_value();
}

// Forwards frames out of retired blocks in sequence order, handing each
// block back once all its frames are copied into egress slots. Stops (and
// resumes there next round) when the egress pool cannot take a frame for
// every output of a rule: the sends submitted so far complete inline and
// free their slots.
bool Engine::walk_packet_ring(IngressPair& pair)
{
    bool any = false;
    if (quiet_holds_older_frames(pair))
        return false;
    const RingLayout& layout = pair.ring->layout();
    RingCursor& cursor = pair.cursor;
    // After a clean stop only the block begun is finished (the rest stays in
    // the ring for the next worker), unless quiet frames already taken wait
    // for the ring to empty: those would die with this process.
    while (!receive_stopped_ || cursor.block || pair.ring_draining_since) {
        if (!cursor.block) {
            cursor.block = next_retired_block(layout, cursor.next_block);
            if (!cursor.block)
                break;
            cursor.block_done = frames_done(layout, *cursor.block); // non-zero after a crash mid-block
        }
        BlockFrames frames(layout, *cursor.block);
        for (unsigned i = 0; i < cursor.block_done; ++i)
            (void)frames.next();
        while (auto frame = frames.next()) {
            if (egress_.free_slots() < max_outputs_)
                return any;
            // Counted as done before its send is submitted: a crash from
            // here on loses the frame rather than sending it twice.
            set_frames_done(layout, *cursor.block, ++cursor.block_done);
            any = true;
            ++pair.frames;
            if (frame->truncated) {
                ++counters_.ingress.frames;
                ++counters_.ingress.malformed;
                continue;
            }
            // A ring has no virtio_net_hdr: a frame sent with checksum
            // offload by a local socket is flagged instead, and where its
            // UDP checksum lies follows from its IP header.
            if (frame->checksum_partial)
                (void)dataplane::complete_partial_udp_checksum(frame->bytes);
            forward_frame(frame->bytes.data(), frame->bytes.size());
            if (io_uring_sq_ready(uring_.get()) >= kPacketRingSubmitBatch)
                (void)io_uring_submit(uring_.get());
        }
        release_block(layout, *cursor.block);
        cursor.next_block = following_block(layout, *cursor.block);
        cursor.block.reset();
        cursor.block_done = 0;
    }
    return any;
}

// The ring is read one expected block after another (next_retired_block),
// which relies on the kernel retiring blocks in ring order. Should a retired
// block ever sit elsewhere while the expected one is not, the worker would
// wait for the expected one forever: checked here on the stats timer (one
// full search per tick, only while the ring looks empty), and the ring is
// then read by sequence number again.
void Engine::check_packet_ring_order(IngressPair& pair)
{
    RingCursor& cursor = pair.cursor;
    if (!pair.ring || cursor.block || !cursor.next_block || receive_stopped_)
        return;
    const RingLayout& layout = pair.ring->layout();
    if (block_retired(layout, *cursor.next_block))
        return;
    const auto oldest = oldest_retired_block(layout);
    if (oldest && oldest != cursor.next_block && !block_retired(layout, *cursor.next_block)) {
        log_warning(std::string("Receive ring of \"") + pair.ring_name + "\": block " + std::to_string(*oldest) +
                    " retired out of order (expected " + std::to_string(*cursor.next_block) +
                    "), reading by sequence number again");
        cursor.next_block.reset();
        if (walk_packet_ring(pair)) {
            forward_pending_frames(pair);
            (void)io_uring_submit(uring_.get());
        }
    }
}

} // namespace mcr::worker
