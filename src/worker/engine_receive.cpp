// The engine's receives, per ingress pair (ingress_pair.hpp): taking new
// sockets, arming the quiet socket's multishot recv and the ring socket's
// poll (or its recv without a ring), their completions, cancelling them,
// the clean stop and the sockets' kernel counters. Every recv shares the
// provided buffers; a receive's user_data names its pair and generation
// (completion_tags.hpp), so replacing one family's sockets leaves the other
// family's receives alone.
#include "engine.hpp"

#include "completion_tags.hpp"
#include "completions.hpp"
#include "core/log.hpp"

#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace mcr::worker {

namespace {
using namespace completion_tag;
} // namespace

void Engine::replace_ingress(IngressPair& pair, IngressFds fds)
{
    if (fds.ring == pair.fds.ring && fds.quiet == pair.fds.quiet)
        return;
    if (pair.ring_socket_armed || pair.quiet_armed) {
        poll_kernel_stats(pair); // the old sockets' last numbers
        cancel_receives(pair);
    }
    pair.fds = fds;
    pair.cursor = RingCursor{};
    pair.ring.reset();
    if (want_packet_ring_ && pair.fds.ring >= 0)
        attach_packet_ring(pair);
    start_two_socket_receive(pair);
    pair.vnet_header_bytes = 0;
    if (pair.two_sockets)
        pair.vnet_header_bytes = enable_vnet_header(pair.fds.quiet);
    else if (!pair.ring && pair.fds.ring >= 0)
        pair.vnet_header_bytes = enable_vnet_header(pair.fds.ring);
    ++pair.generation;
    pair.ring_socket_armed = false;
    pair.quiet_armed = false;
    arm_receive(pair);
}

void Engine::arm_receive()
{
    for (IngressPair* pair : pairs())
        arm_receive(*pair);
}

// At most one of a pair's sockets is read by recv at a time: with two
// sockets the ring socket is read through its ring.
void Engine::arm_receive(IngressPair& pair)
{
    if (receive_stopped_)
        return;
    if (pair.two_sockets && !pair.quiet_armed)
        arm_frame_receive(pair, pair.fds.quiet, kQuietReceive, pair.quiet_armed);
    if (pair.ring_socket_armed || pair.fds.ring < 0)
        return;
    if (!pair.ring) {
        arm_frame_receive(pair, pair.fds.ring, kRingSocketReceive, pair.ring_socket_armed);
        return;
    }
    io_uring_sqe* sqe = next_sqe();
    if (sqe == nullptr)
        return; // retried by rearm_receive_if_stopped()
    // Only a wake-up: the frames are read from the ring's memory.
    io_uring_prep_poll_multishot(sqe, pair.fds.ring, POLLIN);
    io_uring_sqe_set_data64(sqe, tag(kRingSocketReceive, receive_value(pair.index, pair.generation)));
    pair.ring_socket_armed = true;
}

void Engine::arm_frame_receive(IngressPair& pair, int fd, std::uint64_t kind, bool& armed)
{
    io_uring_sqe* sqe = next_sqe();
    if (sqe == nullptr)
        return; // retried by rearm_receive_if_stopped()
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kProvidedBufferGroup;
    io_uring_sqe_set_data64(sqe, tag(kind, receive_value(pair.index, pair.generation)));
    armed = true;
}

void Engine::cancel_receives(const IngressPair& pair)
{
    for (const std::uint64_t kind : {kRingSocketReceive, kQuietReceive})
        if (io_uring_sqe* sqe = next_sqe()) {
            io_uring_prep_cancel64(sqe, tag(kind, receive_value(pair.index, pair.generation)), 0);
            io_uring_sqe_set_data64(sqe, tag(kCancel, 0));
        }
}

bool Engine::receive_stopped_early(const IngressPair& pair) const noexcept
{
    return (pair.fds.ring >= 0 && !pair.ring_socket_armed) || (pair.two_sockets && !pair.quiet_armed);
}

void Engine::rearm_receive_if_stopped()
{
    if (receive_stopped_early(ipv4_) || receive_stopped_early(ipv6_)) {
        arm_receive();
        (void)io_uring_submit(uring_.get());
    }
    for (IngressPair* pair : pairs()) {
        check_packet_ring_order(*pair);
        log_slow_switch(*pair);
    }
}

IngressPair& Engine::pair_of(const io_uring_cqe& cqe) noexcept
{
    return completion_tag::pair_of(cqe.user_data) == ipv6_.index ? ipv6_ : ipv4_;
}

void Engine::handle_ring_socket_receive(const io_uring_cqe& cqe, IngressPair& pair)
{
    if (!pair.ring) {
        handle_frame_receive(cqe, pair, pair.ring_socket_armed);
        return;
    }
    // A poll result: the frames themselves are read by walk_packet_ring().
    const bool current = value_of(cqe.user_data) == receive_value(pair.index, pair.generation);
    if (current && !(cqe.flags & IORING_CQE_F_MORE))
        pair.ring_socket_armed = false;
}

void Engine::handle_frame_receive(const io_uring_cqe& cqe, IngressPair& pair, bool& armed)
{
    const bool current = value_of(cqe.user_data) == receive_value(pair.index, pair.generation);
    const ReceiveCompletion c = classify_receive(cqe.res, cqe.flags, current, pending_frames() >= kIngressBuffers);
    if (c.take_frame) {
        received_ = true;
        pair.pending.push(PendingFrame{c.buffer_id, static_cast<std::uint32_t>(cqe.res),
                                       static_cast<std::uint8_t>(pair.vnet_header_bytes)});
    }
    if (c.give_back)
        provided_buffers_.give_back(c.buffer_id);
    if (c.no_buffer)
        ++counters_.ingress.no_buffer;
    if (c.report_error)
        log_warning(std::string("Receive on the \"") + pair.ring_name + "\" pair failed: " + std::strerror(-cqe.res) +
                    ", re-arming");
    if (c.ended)
        armed = false; // multishot ended (ENOBUFS, error): re-armed after this batch
}

void Engine::drain(std::chrono::milliseconds limit)
{
    constexpr long kWaitStepNs = 10'000'000;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    receive_stopped_ = true;
    const auto receiving = [this] {
        return ipv4_.ring_socket_armed || ipv4_.quiet_armed || ipv6_.ring_socket_armed || ipv6_.quiet_armed;
    };
    if (receiving()) {
        // The multishot receives keep moving frames from the sockets into our
        // buffers until they end; a frame moved after the last completion we
        // handle would die with this process. Their final completions (no
        // IORING_CQE_F_MORE) clear the armed flags.
        for (IngressPair* pair : pairs())
            cancel_receives(*pair);
        (void)io_uring_submit(uring_.get());
    }
    while ((receiving() || egress_.in_flight() > 0 || pending_frames() > 0 || ipv4_.cursor.block.has_value() ||
            ipv6_.cursor.block.has_value()) &&
           std::chrono::steady_clock::now() < deadline) {
        __kernel_timespec step{0, kWaitStepNs};
        io_uring_cqe* cqe = nullptr;
        (void)io_uring_wait_cqe_timeout(uring_.get(), &cqe, &step);
        process_completions();
    }
}

void Engine::poll_kernel_stats()
{
    for (const IngressPair* pair : pairs())
        poll_kernel_stats(*pair);
}

void Engine::poll_kernel_stats(const IngressPair& pair)
{
    // A quiet socket outside the ring socket's group is not read: what it
    // drops is not ours to count.
    for (const int fd : {pair.fds.ring, pair.two_sockets ? pair.fds.quiet : -1}) {
        if (fd < 0)
            continue;
        tpacket_stats stats{};
        socklen_t length = sizeof(stats);
        if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0) {
            counters_.kernel.packets += stats.tp_packets;
            counters_.kernel.drops += stats.tp_drops;
        }
    }
}

} // namespace mcr::worker
