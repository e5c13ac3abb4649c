// The io_uring loop. user_data carries a kind in its top byte and either the
// receive generation or the egress slot index below it, so completions of a
// cancelled receive or of a replaced plan are recognised and not miscounted.
#include "engine.hpp"

#include "completions.hpp"
#include "core/log.hpp"
#include "dataplane/frame.hpp"

#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace mcr::worker {

namespace {

constexpr std::uint16_t kBufferGroup = 0;
constexpr unsigned kKindShift = 56;
constexpr std::uint64_t kKindReceive = 1;
constexpr std::uint64_t kKindSend = 2;
constexpr std::uint64_t kKindCancel = 3;
constexpr std::uint64_t kKindQuietReceive = 4;
constexpr std::uint64_t kKindTransitionTimer = 5;
constexpr std::uint64_t kKindReceive6 = 6;
constexpr std::uint64_t kValueMask = (std::uint64_t{1} << kKindShift) - 1;

// struct virtio_net_hdr of <linux/virtio_net.h>, which does not compile as
// C++ (another struct there has a field named "class"). Host byte order for
// packet sockets on little-endian machines.
struct VnetHeader {
    std::uint8_t flags;
    std::uint8_t gso_type;
    std::uint16_t header_length;
    std::uint16_t gso_size;
    std::uint16_t csum_start;
    std::uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == 10);
constexpr std::uint8_t kVnetNeedsChecksum = 1; // VIRTIO_NET_HDR_F_NEEDS_CSUM

// Frames read from the ring in one go before their sends are submitted.
constexpr unsigned kPacketRingSubmitBatch = 32;

// While a receive-mode switch waits (for the quiet socket to empty, or for
// the ring's open block to retire), the loop is woken this often to look
// again: nothing else may wake it when the traffic stopped at the switch.
constexpr long kTransitionPollNs = 1'000'000;

// A ring has no virtio_net_hdr: a frame sent with checksum offload by a
// local socket is flagged TP_STATUS_CSUMNOTREADY, and where its UDP checksum
// starts follows from the IPv4 header (the ingress socket sees frames
// untagged; complete_partial_checksum() checks the rest of the offsets).
void complete_packet_ring_checksum(std::span<std::uint8_t> frame)
{
    constexpr std::size_t kUdpChecksumOffset = 6;
    constexpr std::size_t ip = dataplane::kEthernetHeaderBytes;
    if (frame.size() < ip + dataplane::kIpv4MinHeaderBytes || frame[ip + 9] != dataplane::kIpProtocolUdp)
        return;
    const std::size_t ihl = std::size_t{frame[ip] & 0x0fU} * 4;
    (void)dataplane::complete_partial_checksum(frame, ip + ihl, kUdpChecksumOffset);
}

std::uint64_t tag(std::uint64_t kind, std::uint64_t value)
{
    return (kind << kKindShift) | (value & kValueMask);
}

} // namespace

Result<std::unique_ptr<Engine>> Engine::create()
{
    std::unique_ptr<Engine> engine(new Engine());
    if (Status s = engine->setup(); !s)
        return s.error();
    return engine;
}

Status Engine::setup()
{
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = kSubmissionEntries * 4; // sends in flight + receive bursts never overflow it
    if (Status s = uring_.init(kSubmissionEntries, params); !s)
        return s;
    return provided_buffers_.init(uring_, kBufferGroup, kIngressBuffers, kIngressBufferBytes);
}

io_uring_sqe* Engine::next_sqe()
{
    io_uring_sqe* sqe = io_uring_get_sqe(uring_.get());
    if (sqe == nullptr) {
        // Queue full in the middle of a batch: submit what we have.
        (void)io_uring_submit(uring_.get());
        sqe = io_uring_get_sqe(uring_.get());
    }
    return sqe;
}

void Engine::install(ForwardingPlan plan, std::vector<RuleCounters> rule_counters, const OutputRemap& remap,
                     int ingress_fd, int quiet_fd, int ingress6_fd)
{
    plan_ = std::move(plan);
    counters_.rules = std::move(rule_counters);
    max_outputs_ = 1;
    for (const auto& targets : plan_.targets)
        max_outputs_ = std::max(max_outputs_, targets.size());
    // A slot filled under the old plan and not yet completed names the old
    // indices: move it to the new ones, or leave it on the old generation
    // (not counted) when its output is gone. Free slots are rewritten on
    // acquire, so touching them too is harmless.
    const std::uint32_t old_generation = plan_generation_++;
    for (std::uint32_t i = 0; i < egress_.size(); ++i) {
        EgressSlot& slot = egress_.slot(i);
        if (slot.generation != old_generation || slot.rule_index >= remap.size() ||
            slot.output_index >= remap[slot.rule_index].size())
            continue;
        if (const auto& moved = remap[slot.rule_index][slot.output_index]) {
            slot.rule_index = moved->rule;
            slot.output_index = moved->output;
            slot.generation = plan_generation_;
        }
    }
    if (ingress_fd != ingress_fd_ || quiet_fd != quiet_fd_) {
        if (receive_armed_ || quiet_armed_) {
            poll_kernel_stats(); // the old sockets' last numbers
            cancel_receives();
        }
        ingress_fd_ = ingress_fd;
        quiet_fd_ = quiet_fd;
        if (want_packet_ring_)
            attach_packet_ring();
        start_two_socket_receive();
        vnet_header_bytes_ = 0;
        if (two_sockets_)
            vnet_header_bytes_ = enable_vnet_header(quiet_fd_);
        else if (!packet_ring_)
            vnet_header_bytes_ = enable_vnet_header(ingress_fd_);
        ++receive_generation_;
        receive_armed_ = false;
        quiet_armed_ = false;
        arm_receive();
    }
    if (ingress6_fd != ingress6_fd_)
        switch_ipv6_ingress(ingress6_fd);
    (void)io_uring_submit(uring_.get());
}

void Engine::switch_ipv6_ingress(int ingress6_fd)
{
    if (ingress6_armed_) {
        poll_kernel_stats(); // the old socket's last numbers
        cancel_ipv6_receive();
    }
    ingress6_fd_ = ingress6_fd;
    ++ingress6_generation_;
    ingress6_armed_ = false;
    ingress6_vnet_bytes_ = ingress6_fd_ >= 0 ? enable_vnet_header(ingress6_fd_) : 0;
    arm_receive();
}

// With PACKET_VNET_HDR every frame comes with a virtio_net_hdr saying whether
// its L4 checksum is only partial (sent by a local socket with checksum
// offload, e.g. a container on this host); without it such frames would be
// relayed with a wrong UDP checksum. Unprivileged; if refused, frames are
// taken as they are.
std::size_t Engine::enable_vnet_header(int fd)
{
    const int on = 1;
    return setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) == 0 ? sizeof(VnetHeader) : 0;
}

// Both receives share the provided buffers, but at most one of them is a
// recv at a time: with two sockets "ingress" is read through its ring.
void Engine::arm_receive()
{
    if (receive_stopped_)
        return;
    if (ingress6_fd_ >= 0 && !ingress6_armed_)
        arm_frame_receive(ingress6_fd_, kKindReceive6, ingress6_armed_, ingress6_generation_);
    if (two_sockets_ && !quiet_armed_)
        arm_frame_receive(quiet_fd_, kKindQuietReceive, quiet_armed_, receive_generation_);
    if (receive_armed_ || ingress_fd_ < 0)
        return;
    if (!packet_ring_) {
        arm_frame_receive(ingress_fd_, kKindReceive, receive_armed_, receive_generation_);
        return;
    }
    io_uring_sqe* sqe = next_sqe();
    if (sqe == nullptr)
        return; // retried by rearm_receive_if_stopped()
    // Only a wake-up: the frames are read from the ring's memory.
    io_uring_prep_poll_multishot(sqe, ingress_fd_, POLLIN);
    io_uring_sqe_set_data64(sqe, tag(kKindReceive, receive_generation_));
    receive_armed_ = true;
}

void Engine::arm_frame_receive(int fd, std::uint64_t kind, bool& armed, std::uint32_t generation)
{
    io_uring_sqe* sqe = next_sqe();
    if (sqe == nullptr)
        return; // retried by rearm_receive_if_stopped()
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(sqe, tag(kind, generation));
    armed = true;
}

void Engine::cancel_receives()
{
    for (const std::uint64_t kind : {kKindReceive, kKindQuietReceive})
        if (io_uring_sqe* sqe = next_sqe()) {
            io_uring_prep_cancel64(sqe, tag(kind, receive_generation_), 0);
            io_uring_sqe_set_data64(sqe, tag(kKindCancel, 0));
        }
}

void Engine::cancel_ipv6_receive()
{
    if (io_uring_sqe* sqe = next_sqe()) {
        io_uring_prep_cancel64(sqe, tag(kKindReceive6, ingress6_generation_), 0);
        io_uring_sqe_set_data64(sqe, tag(kKindCancel, 0));
    }
}

void Engine::arm_transition_timer()
{
    // Asked here too, not only when frames wait: a switch made as the
    // traffic stopped must end without another frame.
    if (transition_timer_armed_ || (!quiet_holds_older_frames() && !ring_holds_older_frames()))
        return;
    io_uring_sqe* sqe = next_sqe();
    if (sqe == nullptr)
        return;
    // The kernel copies the timespec when the entry is submitted.
    transition_timer_ = __kernel_timespec{0, kTransitionPollNs};
    io_uring_prep_timeout(sqe, &transition_timer_, 0, 0);
    io_uring_sqe_set_data64(sqe, tag(kKindTransitionTimer, 0));
    transition_timer_armed_ = true;
}

void Engine::rearm_receive_if_stopped()
{
    if (!receive_armed_ || (two_sockets_ && !quiet_armed_) || (ingress6_fd_ >= 0 && !ingress6_armed_)) {
        arm_receive();
        (void)io_uring_submit(uring_.get());
    }
    check_packet_ring_order();
    log_slow_switch();
}

// The ring is read one expected block after another (next_retired_block),
// which relies on the kernel retiring blocks in ring order. Should a retired
// block ever sit elsewhere while the expected one is not, the worker would
// wait for the expected one forever: checked here on the stats timer (one
// full search per tick, only while the ring looks empty), and the ring is
// then read by sequence number again.
void Engine::check_packet_ring_order()
{
    if (!packet_ring_ || packet_block_ || !packet_next_block_ || receive_stopped_)
        return;
    const RingLayout& layout = packet_ring_->layout();
    if (block_retired(layout, *packet_next_block_))
        return;
    const auto oldest = oldest_retired_block(layout);
    if (oldest && oldest != packet_next_block_ && !block_retired(layout, *packet_next_block_)) {
        log_warning("Receive ring: block " + std::to_string(*oldest) + " retired out of order (expected " +
                    std::to_string(*packet_next_block_) + "), reading by sequence number again");
        packet_next_block_.reset();
        if (walk_packet_ring()) {
            forward_pending_frames();
            (void)io_uring_submit(uring_.get());
        }
    }
}

void Engine::drain(std::chrono::milliseconds limit)
{
    constexpr long kWaitStepNs = 10'000'000;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    receive_stopped_ = true;
    if (receive_armed_ || quiet_armed_ || ingress6_armed_) {
        // The multishot receive keeps moving frames from the socket into our
        // buffers until it ends; a frame moved after the last completion we
        // handle would die with this process. Its final completion (no
        // IORING_CQE_F_MORE) clears receive_armed_ (quiet_armed_, ingress6_armed_).
        cancel_receives();
        cancel_ipv6_receive();
        (void)io_uring_submit(uring_.get());
    }
    while ((receive_armed_ || quiet_armed_ || ingress6_armed_ || egress_.in_flight() > 0 || pending_count_ > 0 ||
            packet_block_.has_value()) &&
           std::chrono::steady_clock::now() < deadline) {
        __kernel_timespec step{0, kWaitStepNs};
        io_uring_cqe* cqe = nullptr;
        (void)io_uring_wait_cqe_timeout(uring_.get(), &cqe, &step);
        process_completions();
    }
}

void Engine::poll_kernel_stats()
{
    // A quiet socket outside the ring socket's group is not read: what it
    // drops is not ours to count.
    for (const int fd : {ingress_fd_, two_sockets_ ? quiet_fd_ : -1, ingress6_fd_}) {
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

void Engine::process_completions()
{
    if (!handle_available_completions() || busy_poll_.count() == 0)
        return;
    // Busy polling: at moderate rates the worker would otherwise sleep after
    // nearly every frame and pay a wake-up for the next one (costly on
    // virtual machines, where an idle vCPU halts). Completions still arrive
    // while spinning: the receive's task work runs when the softirq that
    // queued the frame returns to this task. Bounded so that the event loop
    // (stats, signals, supervisor link) keeps its turn.
    constexpr auto kMaxSpinSession = std::chrono::milliseconds(2);
    const auto start = std::chrono::steady_clock::now();
    auto idle_since = start;
    for (;;) {
        const bool ready = io_uring_cq_ready(uring_.get()) > 0 || packet_ring_has_frames();
        const bool received = ready && handle_available_completions();
        const auto now = std::chrono::steady_clock::now();
        if (received)
            idle_since = now;
        if (now - idle_since >= busy_poll_ || now - start >= kMaxSpinSession)
            return;
#if defined(__x86_64__) || defined(__i386__)
        if (!ready)
            __builtin_ia32_pause();
#endif
    }
}

// Rounds: a submitted batch of sends completes inline (MSG_DONTWAIT), so its
// completions free egress slots for frames still waiting. Bounded so that the
// event loop keeps its turn. Returns whether a frame was received.
bool Engine::handle_available_completions()
{
    constexpr int kMaxRounds = 64;
    received_ = false;
    for (int round = 0; round < kMaxRounds; ++round) {
        unsigned head = 0;
        unsigned handled = 0;
        io_uring_cqe* cqe = nullptr;
        io_uring_for_each_cqe(uring_.get(), head, cqe)
        {
            switch (cqe->user_data >> kKindShift) {
            case kKindReceive:
                handle_receive(*cqe);
                break;
            case kKindQuietReceive:
                handle_frame_receive(*cqe, quiet_armed_, receive_generation_, vnet_header_bytes_);
                break;
            case kKindReceive6:
                handle_frame_receive(*cqe, ingress6_armed_, ingress6_generation_, ingress6_vnet_bytes_);
                break;
            case kKindSend:
                handle_send(*cqe);
                break;
            case kKindTransitionTimer:
                transition_timer_armed_ = false;
                break;
            default:
                break; // cancel results: nothing to do
            }
            ++handled;
        }
        io_uring_cq_advance(uring_.get(), handled);
        // Received frames first, then the ring, then received frames again:
        // with two sockets one of the two waits for the other during a
        // switch (see engine_receive_mode.cpp), and either may be first.
        forward_pending_frames();
        if (packet_ring_ && walk_packet_ring())
            received_ = true;
        forward_pending_frames();
        provided_buffers_.publish();
        update_receive_mode();
        arm_transition_timer();
        // Re-arm once the multishot receive ended, unless every buffer is
        // still waiting (it would only end again with ENOBUFS).
        if (pending_count_ < kIngressBuffers)
            arm_receive();
        if (io_uring_sq_ready(uring_.get()) > 0)
            (void)io_uring_submit(uring_.get());
        if (pending_count_ == 0 || io_uring_cq_ready(uring_.get()) == 0)
            break;
    }
    return received_;
}

void Engine::forward_pending_frames()
{
    if (pending_count_ == 0 || ring_holds_older_frames())
        return;
    while (pending_count_ > 0 && egress_.free_slots() >= max_outputs_) {
        const PendingFrame frame = pending_[pending_head_];
        pending_head_ = (pending_head_ + 1) % kIngressBuffers;
        --pending_count_;
        receive_frame(provided_buffers_.buffer(frame.buffer_id), frame.length, frame.vnet_bytes);
        provided_buffers_.give_back(frame.buffer_id);
    }
}

void Engine::attach_packet_ring()
{
    packet_block_.reset();
    packet_block_done_ = 0;
    packet_next_block_.reset();
    packet_ring_.reset();
    auto ring = IngressRing::attach(ingress_fd_, packet_ring_geometry_);
    if (!ring) {
        log_warning("Receiving without a ring: " + ring.error().message());
        return;
    }
    if (ring->adopted())
        log_info("Reading the receive ring a previous worker left on the ingress socket");
    else
        packet_next_block_ = 0; // a new ring is filled from its first block
    packet_ring_.emplace(std::move(ring).value());
}

bool Engine::packet_ring_has_frames() const noexcept
{
    if (!packet_ring_ || receive_stopped_)
        return false;
    if (packet_block_)
        return true;
    return next_retired_block(packet_ring_->layout(), packet_next_block_).has_value();
}

// Forwards frames out of retired blocks in sequence order, handing each
// block back once all its frames are copied into egress slots. Stops (and
// resumes there next round) when the egress pool cannot take a frame for
// every output of a rule: the sends submitted so far complete inline and
// free their slots.
bool Engine::walk_packet_ring()
{
    bool any = false;
    if (quiet_holds_older_frames())
        return false;
    const RingLayout& layout = packet_ring_->layout();
    // After a clean stop only the block begun is finished (the rest stays in
    // the ring for the next worker), unless quiet frames already taken wait
    // for the ring to empty: those would die with this process.
    while (!receive_stopped_ || packet_block_ || ring_draining_since_) {
        if (!packet_block_) {
            packet_block_ = next_retired_block(layout, packet_next_block_);
            if (!packet_block_)
                break;
            packet_block_done_ = frames_done(layout, *packet_block_); // non-zero after a crash mid-block
        }
        BlockFrames frames(layout, *packet_block_);
        for (unsigned i = 0; i < packet_block_done_; ++i)
            (void)frames.next();
        while (auto frame = frames.next()) {
            if (egress_.free_slots() < max_outputs_)
                return any;
            // Counted as done before its send is submitted: a crash from
            // here on loses the frame rather than sending it twice.
            set_frames_done(layout, *packet_block_, ++packet_block_done_);
            any = true;
            if (frame->truncated) {
                ++counters_.ingress.frames;
                ++counters_.ingress.malformed;
                continue;
            }
            if (frame->checksum_partial)
                complete_packet_ring_checksum(frame->bytes);
            forward_frame(frame->bytes.data(), frame->bytes.size());
            if (io_uring_sq_ready(uring_.get()) >= kPacketRingSubmitBatch)
                (void)io_uring_submit(uring_.get());
        }
        release_block(layout, *packet_block_);
        packet_next_block_ = following_block(layout, *packet_block_);
        packet_block_.reset();
        packet_block_done_ = 0;
    }
    return any;
}

void Engine::handle_receive(const io_uring_cqe& cqe)
{
    if (!packet_ring_) {
        handle_frame_receive(cqe, receive_armed_, receive_generation_, vnet_header_bytes_);
        return;
    }
    // A poll result: the frames themselves are read by walk_packet_ring().
    const bool current = (cqe.user_data & kValueMask) == (receive_generation_ & kValueMask);
    if (current && !(cqe.flags & IORING_CQE_F_MORE))
        receive_armed_ = false;
}

void Engine::handle_frame_receive(const io_uring_cqe& cqe, bool& armed, std::uint32_t generation,
                                  std::size_t vnet_bytes)
{
    const bool current = (cqe.user_data & kValueMask) == (generation & kValueMask);
    const ReceiveCompletion c = classify_receive(cqe.res, cqe.flags, current, pending_count_ >= kIngressBuffers);
    if (c.take_frame) {
        received_ = true;
        // Each buffer is pending at most once, so the queue never overflows.
        pending_[(pending_head_ + pending_count_) % kIngressBuffers] =
            PendingFrame{c.buffer_id, static_cast<std::uint32_t>(cqe.res), static_cast<std::uint8_t>(vnet_bytes)};
        ++pending_count_;
    }
    if (c.give_back)
        provided_buffers_.give_back(c.buffer_id);
    if (c.no_buffer)
        ++counters_.ingress.no_buffer;
    if (c.report_error)
        log_warning(std::string("Receive on the ingress socket failed: ") + std::strerror(-cqe.res) +
                    ", re-arming");
    if (c.ended)
        armed = false; // multishot ended (ENOBUFS, error): re-armed after this batch
}

void Engine::receive_frame(std::uint8_t* data, std::size_t length, std::size_t vnet_bytes)
{
    if (vnet_bytes == 0) {
        forward_frame(data, length);
        return;
    }
    if (length < vnet_bytes) {
        ++counters_.ingress.frames;
        ++counters_.ingress.malformed;
        return;
    }
    VnetHeader header{};
    std::memcpy(&header, data, sizeof(header));
    std::uint8_t* frame = data + vnet_bytes;
    const std::size_t frame_length = length - vnet_bytes;
    // A frame whose checksum cannot be completed keeps its partial sum and
    // will fail the receiver's check; parse_frame() still classifies it.
    if (header.flags & kVnetNeedsChecksum)
        (void)dataplane::complete_partial_checksum({frame, frame_length}, header.csum_start, header.csum_offset);
    forward_frame(frame, frame_length);
}

void Engine::forward_frame(const std::uint8_t* frame, std::size_t length)
{
    IngressCounters& in = counters_.ingress;
    ++in.frames;
    in.bytes += length;
    const dataplane::ParsedFrame parsed = dataplane::parse_frame({frame, length});
    switch (parsed.kind) {
    case dataplane::FrameClass::not_ip: ++in.not_ip; return;
    case dataplane::FrameClass::malformed: ++in.malformed; return;
    case dataplane::FrameClass::fragment: ++in.fragment; return;
    case dataplane::FrameClass::ip_options: ++in.ip_options; return;
    case dataplane::FrameClass::not_udp: ++in.not_matched; return;
    case dataplane::FrameClass::ipv6_fragment: ++in.ipv6_fragment; return;
    case dataplane::FrameClass::ipv6_routing_header: ++in.ipv6_routing_header; return;
    case dataplane::FrameClass::ipv6_extension_chain: ++in.ipv6_extension_chain; return;
    case dataplane::FrameClass::zero_udp_checksum: ++in.zero_udp_checksum; return;
    case dataplane::FrameClass::accepted: break;
    }
    const dataplane::UdpFrameView& udp = parsed.udp;
    const auto rule = plan_.table.lookup(udp);
    if (!rule) {
        ++in.not_matched;
        return;
    }
    RuleCounters& rule_counters = counters_.rules[*rule];
    // The arriving stream, expired TTL or not. steady_clock is the vDSO's
    // clock_gettime: no syscall, and only for rules that asked for it.
    if (rule_counters.health)
        rule_counters.health->observe(
            udp.payload(), static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                         std::chrono::steady_clock::now().time_since_epoch())
                                                         .count()));
    if (dataplane::ttl_expired(udp, plan_.forward_expired_ttl[*rule])) {
        ++rule_counters.ttl_expired;
        return;
    }
    ++rule_counters.packets;
    rule_counters.bytes += udp.payload_length;
    const auto& targets = plan_.targets[*rule];
    for (std::size_t o = 0; o < targets.size(); ++o)
        send_copy(static_cast<std::uint32_t>(*rule), static_cast<std::uint32_t>(o), udp, targets[o]);
}

void Engine::hold_outputs(const std::vector<std::vector<bool>>& held)
{
    for (std::size_t r = 0; r < plan_.targets.size() && r < held.size(); ++r)
        for (std::size_t o = 0; o < plan_.targets[r].size() && o < held[r].size(); ++o)
            plan_.targets[r][o].held = held[r][o];
}

void Engine::send_copy(std::uint32_t rule_index, std::uint32_t output_index, const dataplane::UdpFrameView& in,
                       const EgressTarget& target)
{
    OutputCounters& counters = counters_.rules[rule_index].outputs[output_index];
    if (target.held) {
        ++counters.no_listener;
        return;
    }
    if (target.fd < 0) {
        ++counters.send_error;
        return;
    }
    if (dataplane::lacks_source_address(in, target.rewrite)) {
        ++counters.no_source_address;
        return;
    }
    const std::size_t length = dataplane::rewritten_length(in, target.rewrite);
    if (length > target.max_bytes || length > kEgressBufferBytes) {
        ++counters.too_big;
        return;
    }
    const auto index = egress_.acquire();
    if (!index) {
        ++counters.no_buffer;
        return;
    }
    io_uring_sqe* sqe = next_sqe();
    if (sqe == nullptr) {
        egress_.release(*index);
        ++counters.no_buffer;
        return;
    }
    EgressSlot& slot = egress_.slot(*index);
    (void)dataplane::rewrite_for_output(in, target.rewrite, {slot.buffer, kEgressBufferBytes});
    slot.generation = plan_generation_;
    slot.rule_index = rule_index;
    slot.output_index = output_index;
    slot.payload_bytes = static_cast<std::uint32_t>(in.payload_length);
    // MSG_DONTWAIT: a full socket buffer is a counted drop, not a stall.
    if (target.rewrite.multicast) {
        io_uring_prep_send(sqe, target.fd, slot.buffer, length, MSG_DONTWAIT);
    } else {
        EgressPool::prepare_unicast(slot, target, length);
        io_uring_prep_sendmsg(sqe, target.fd, &slot.message, MSG_DONTWAIT);
    }
    io_uring_sqe_set_data64(sqe, tag(kKindSend, *index));
}

void Engine::handle_send(const io_uring_cqe& cqe)
{
    const auto index = static_cast<std::uint32_t>(cqe.user_data & kValueMask);
    const EgressSlot& slot = egress_.slot(index);
    if (slot.generation == plan_generation_)
        count_send_completion(counters_.rules[slot.rule_index].outputs[slot.output_index], cqe.res,
                              slot.payload_bytes);
    egress_.release(index);
}

} // namespace mcr::worker
