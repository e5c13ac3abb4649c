// The io_uring data plane: multishot receive on the ingress sockets into a
// provided-buffer ring, classify + look up + rewrite per output, and batched
// sends (one io_uring_submit per completion batch). The caller polls
// uring_fd() (sd-event) and calls process_completions() when it is readable.
// Back-pressure: a received frame waits (holding its buffer) until the
// egress pool has a slot for every output; when all buffers wait, the
// receives stop and frames queue in the sockets' 16 MiB buffers instead of
// being dropped at egress; a ring's blocks stay unread the same way.
//
// Each family's ingress is a pair (ingress_pair.hpp): with two sockets in
// one fanout group (worker_protocol.hpp "ingress-quiet", "ingress6-quiet")
// the engine reads the quiet one by recv and the other through its ring,
// and moves the family's traffic between them by rate (receive_mode.hpp;
// the switch and its ordering: engine_receive_mode.cpp). Receiving:
// engine_receive.cpp; reading a ring: engine_ring_walk.cpp.
#pragma once

#include "core/result.hpp"
#include "dataplane/rule_table.hpp"
#include "egress.hpp"
#include "ingress_pair.hpp"
#include "ingress_ring.hpp"
#include "receive_mode.hpp"
#include "stats.hpp"
#include "uring.hpp"

#include <liburing.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace mcr::worker {

inline constexpr unsigned kSubmissionEntries = 2048;

// What the engine forwards with; replaced whole on every config change.
struct ForwardingPlan {
    dataplane::RuleTable table;
    std::vector<bool> forward_expired_ttl;              // per rule
    std::vector<std::vector<EgressTarget>> targets;     // per rule, per output
};

class Engine {
public:
    [[nodiscard]] static Result<std::unique_ptr<Engine>> create();
    ~Engine() = default;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    [[nodiscard]] int uring_fd() const noexcept { return uring_.fd(); }

    // Switches to `plan` with `rule_counters` (same order as its rules). When
    // a family's sockets (`ipv4`, `ipv6`; -1: none) differ from the current
    // ones, that family's old receives are cancelled and new ones armed (the
    // caller keeps the old fds open until this returns; io_uring holds its
    // own reference after that); the other family's are left alone. Sends
    // still in flight are counted, when they complete, against the output
    // `remap` says they now are (indices shift when another rule is added or
    // removed); copies for an output that went away are not counted.
    void install(ForwardingPlan plan, std::vector<RuleCounters> rule_counters, const OutputRemap& remap,
                 IngressFds ipv4, IngressFds ipv6);

    // Handles every completion available, then submits the batch of sends.
    // With busy polling on and frames flowing, keeps handling completions as
    // they arrive until none came for the busy-poll time (bounded, so the
    // event loop keeps its turn).
    void process_completions();

    // How long to wait for the next frame by spinning before sleeping in
    // the event loop (0: never spin). See mcrd-worker --busy-poll-usec.
    void set_busy_poll(std::chrono::microseconds period) noexcept { busy_poll_ = period; }

    // Read the ring sockets through a TPACKET_V3 ring (set before the
    // first install()); falls back to recv if a ring cannot be set up.
    void set_receive_ring(bool on) noexcept { want_packet_ring_ = on; }
    // With a ring and two sockets: move a family's traffic to its quiet
    // socket while it is light (the default), or leave it on the ring at
    // every rate.
    void set_receive_switch(bool on) noexcept { want_receive_switch_ = on; }
    // The rings' geometry (from the ingress MTU); used when a ring is set up
    // on the next new ring socket.
    void set_packet_ring_geometry(RingGeometry geometry) noexcept { packet_ring_geometry_ = geometry; }

    // Holds or releases outputs that require listeners (SetListeners), in
    // place: held[rule][output], the shape of the installed plan.
    void hold_outputs(const std::vector<std::vector<bool>>& held);

    // Re-arms the receive if an error stopped it (called from a timer).
    void rearm_receive_if_stopped();

    // For a clean stop: stops taking frames off the ingress sockets (what is
    // still queued there stays for the next worker, the sockets live on in
    // the FD store), forwards every frame already taken and waits for the
    // sends in flight, so that nothing is lost and the final counters
    // include them. At most `limit`; receiving stays off afterwards.
    void drain(std::chrono::milliseconds limit);

    // Accumulates PACKET_STATISTICS of every ingress socket read (the kernel
    // resets them on every read).
    void poll_kernel_stats();

    [[nodiscard]] const WorkerCounters& counters() const noexcept { return counters_; }

private:
    Engine() = default;
    [[nodiscard]] Status setup();
    io_uring_sqe* next_sqe();
    [[nodiscard]] bool handle_available_completions();
    void forward_pending_frames(IngressPair& pair);
    [[nodiscard]] static std::size_t enable_vnet_header(int fd);
    void receive_frame(std::uint8_t* data, std::size_t length, std::size_t vnet_bytes);
    void forward_frame(const std::uint8_t* frame, std::size_t length);
    void send_copy(std::uint32_t rule_index, std::uint32_t output_index, const dataplane::UdpFrameView& in,
                   const EgressTarget& target);
    void handle_send(const io_uring_cqe& cqe);
    [[nodiscard]] std::array<IngressPair*, 2> pairs() noexcept { return {&ipv4_, &ipv6_}; }
    [[nodiscard]] std::size_t pending_frames() const noexcept { return ipv4_.pending.size() + ipv6_.pending.size(); }

    // engine_receive.cpp: arming, completions and cancelling of the receives.
    void replace_ingress(IngressPair& pair, IngressFds fds);
    void arm_receive();
    void arm_receive(IngressPair& pair);
    void arm_frame_receive(IngressPair& pair, int fd, std::uint64_t kind, bool& armed);
    [[nodiscard]] bool receive_stopped_early(const IngressPair& pair) const noexcept;
    [[nodiscard]] IngressPair& pair_of(const io_uring_cqe& cqe) noexcept;
    void handle_ring_socket_receive(const io_uring_cqe& cqe, IngressPair& pair);
    void handle_frame_receive(const io_uring_cqe& cqe, IngressPair& pair, bool& armed);
    void cancel_receives(const IngressPair& pair);
    void poll_kernel_stats(const IngressPair& pair);

    // engine_ring_walk.cpp: the mapped ring of a pair's ring socket.
    void attach_packet_ring(IngressPair& pair);
    [[nodiscard]] bool packet_ring_has_frames(const IngressPair& pair) const noexcept;
    bool walk_packet_ring(IngressPair& pair);
    void check_packet_ring_order(IngressPair& pair);

    // engine_receive_mode.cpp: moving a pair's traffic between its sockets.
    void start_two_socket_receive(IngressPair& pair);
    void update_receive_mode(IngressPair& pair);
    bool switch_receive_mode(IngressPair& pair, ReceiveMode to);
    [[nodiscard]] bool quiet_holds_older_frames(IngressPair& pair);
    void discard_quiet_backlog(IngressPair& pair);
    [[nodiscard]] bool ring_holds_older_frames(IngressPair& pair);
    void arm_transition_timer();
    void log_slow_switch(const IngressPair& pair);

    ProvidedBuffers provided_buffers_;
    std::size_t max_outputs_ = 1;        // most outputs of any rule in plan_

    std::chrono::microseconds busy_poll_{0};
    bool received_ = false;              // a frame arrived in this round of completions
    bool receive_stopped_ = false;       // drain(): never re-armed
    bool want_packet_ring_ = false;
    bool want_receive_switch_ = true;
    RingGeometry packet_ring_geometry_;
    // An io_uring timeout that wakes the loop while a pair's switch waits.
    bool transition_timer_armed_ = false;
    __kernel_timespec transition_timer_{};

    EgressPool egress_;
    ForwardingPlan plan_;
    std::uint32_t plan_generation_ = 0;
    WorkerCounters counters_;
    IngressPair ipv4_{0, "ingress", "ingress-quiet", counters_.receive};
    IngressPair ipv6_{1, "ingress6", "ingress6-quiet", counters_.receive6};
    // Which pair is served first in a round: alternating, so that a flood
    // on one family does not take every egress slot from the other.
    bool ipv6_first_ = false;
    // Declared last so that it goes first: io_uring_queue_exit() cancels what
    // is in flight before the buffers, the egress slots and the packet ring
    // it points into go.
    Uring uring_;
};

} // namespace mcr::worker
