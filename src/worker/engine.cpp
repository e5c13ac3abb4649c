// The io_uring loop (completion_tags.hpp says what user_data carries) and
// the forwarding of each frame: classify, look up, rewrite and send a copy
// per output.
#include "engine.hpp"

#include "completion_tags.hpp"
#include "completions.hpp"
#include "core/log.hpp"
#include "dataplane/frame.hpp"

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace mcr::worker {

namespace {

using namespace completion_tag;

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
    return provided_buffers_.init(uring_, kProvidedBufferGroup, kIngressBuffers, kIngressBufferBytes);
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
                     IngressFds ipv4, IngressFds ipv6)
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
    replace_ingress(ipv4_, ipv4);
    replace_ingress(ipv6_, ipv6);
    (void)io_uring_submit(uring_.get());
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
        const bool ready = io_uring_cq_ready(uring_.get()) > 0 || packet_ring_has_frames(ipv4_) ||
                           packet_ring_has_frames(ipv6_);
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
            switch (kind_of(cqe->user_data)) {
            case kRingSocketReceive:
                handle_ring_socket_receive(*cqe, pair_of(*cqe));
                break;
            case kQuietReceive: {
                IngressPair& pair = pair_of(*cqe);
                handle_frame_receive(*cqe, pair, pair.quiet_armed);
                break;
            }
            case kSend:
                handle_send(*cqe);
                break;
            case kTransitionTimer:
                transition_timer_armed_ = false;
                break;
            default:
                break; // cancel results: nothing to do
            }
            ++handled;
        }
        io_uring_cq_advance(uring_.get(), handled);
        // Per pair, received frames first, then the ring, then received
        // frames again: with two sockets one of the two waits for the other
        // during a switch (see engine_receive_mode.cpp), and either may be
        // first. The pairs take turns at going first.
        ipv6_first_ = !ipv6_first_;
        for (IngressPair* pair : ipv6_first_ ? std::array{&ipv6_, &ipv4_} : std::array{&ipv4_, &ipv6_}) {
            forward_pending_frames(*pair);
            if (pair->ring && walk_packet_ring(*pair))
                received_ = true;
            forward_pending_frames(*pair);
        }
        provided_buffers_.publish();
        for (IngressPair* pair : pairs())
            update_receive_mode(*pair);
        arm_transition_timer();
        // Re-arm once a multishot receive ended, unless every buffer is
        // still waiting (it would only end again with ENOBUFS).
        if (pending_frames() < kIngressBuffers)
            arm_receive();
        if (io_uring_sq_ready(uring_.get()) > 0)
            (void)io_uring_submit(uring_.get());
        if (pending_frames() == 0 || io_uring_cq_ready(uring_.get()) == 0)
            break;
    }
    return received_;
}

void Engine::forward_pending_frames(IngressPair& pair)
{
    if (pair.pending.empty() || ring_holds_older_frames(pair))
        return;
    while (!pair.pending.empty() && egress_.free_slots() >= max_outputs_) {
        const PendingFrame frame = pair.pending.front();
        pair.pending.pop();
        ++pair.frames;
        receive_frame(provided_buffers_.buffer(frame.buffer_id), frame.length, frame.vnet_bytes);
        provided_buffers_.give_back(frame.buffer_id);
    }
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
    io_uring_sqe_set_data64(sqe, tag(kSend, *index));
}

void Engine::handle_send(const io_uring_cqe& cqe)
{
    const auto index = static_cast<std::uint32_t>(value_of(cqe.user_data));
    const EgressSlot& slot = egress_.slot(index);
    if (slot.generation == plan_generation_)
        count_send_completion(counters_.rules[slot.rule_index].outputs[slot.output_index], cqe.res,
                              slot.payload_bytes);
    egress_.release(index);
}

} // namespace mcr::worker
