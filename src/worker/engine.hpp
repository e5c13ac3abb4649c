// The io_uring data plane: multishot receive on the ingress socket into a
// provided-buffer ring, classify + look up + rewrite per output, and batched
// sends (one io_uring_submit per completion batch). The caller polls
// uring_fd() (sd-event) and calls process_completions() when it is readable.
// Back-pressure: a received frame waits (holding its ring buffer) until the
// egress pool has a slot for every output; when all ring buffers wait, the
// receive stops and frames queue in the socket's 16 MiB buffer instead of
// being dropped at egress.
//
// With two ingress sockets in one fanout group (worker_protocol.hpp
// "ingress-quiet") the engine reads both, the quiet one by recv and
// "ingress" through its ring, and moves the traffic between them by rate
// (receive_mode.hpp; the switch and its ordering: engine_receive_mode.cpp).
#pragma once

#include "core/result.hpp"
#include "dataplane/rule_table.hpp"
#include "egress.hpp"
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
inline constexpr unsigned kIngressBuffers = 512;          // power of two (buffer ring requirement)
inline constexpr std::size_t kIngressBufferBytes = 9216;  // 9000-byte jumbo + Ethernet/VLAN headers

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
    // `ingress_fd` or `quiet_fd` (-1: none) differs from the current one, the
    // old receives are cancelled and new ones armed (the caller keeps the old fd open until
    // this returns; io_uring holds its own reference after that); the same
    // for `ingress6_fd`, the IPv6 ingress (read by recv, on its own). Sends
    // still in flight are counted, when they complete, against the output
    // `remap` says they now are (indices shift when another rule is added or
    // removed); copies for an output that went away are not counted.
    void install(ForwardingPlan plan, std::vector<RuleCounters> rule_counters, const OutputRemap& remap,
                 int ingress_fd, int quiet_fd, int ingress6_fd);

    // Handles every completion available, then submits the batch of sends.
    // With busy polling on and frames flowing, keeps handling completions as
    // they arrive until none came for the busy-poll time (bounded, so the
    // event loop keeps its turn).
    void process_completions();

    // How long to wait for the next frame by spinning before sleeping in
    // the event loop (0: never spin). See mcrd-worker --busy-poll-usec.
    void set_busy_poll(std::chrono::microseconds period) noexcept { busy_poll_ = period; }

    // Read the ingress socket through a TPACKET_V3 ring (set before the
    // first install()); falls back to recv if the ring cannot be set up.
    void set_receive_ring(bool on) noexcept { want_packet_ring_ = on; }
    // With a ring and two sockets: move the traffic to the quiet socket while
    // it is light (the default), or leave it on the ring at every rate.
    void set_receive_switch(bool on) noexcept { want_receive_switch_ = on; }
    // The ring's geometry (from the ingress MTU); used when a ring is set up
    // on the next new ingress socket.
    void set_packet_ring_geometry(RingGeometry geometry) noexcept { packet_ring_geometry_ = geometry; }

    // Holds or releases outputs that require listeners (SetListeners), in
    // place: held[rule][output], the shape of the installed plan.
    void hold_outputs(const std::vector<std::vector<bool>>& held);

    // Re-arms the receive if an error stopped it (called from a timer).
    void rearm_receive_if_stopped();

    // For a clean stop: stops taking frames off the ingress socket (what is
    // still queued there stays for the next worker, the socket lives on in
    // the FD store), forwards every frame already taken and waits for the
    // sends in flight, so that nothing is lost and the final counters
    // include them. At most `limit`; receiving stays off afterwards.
    void drain(std::chrono::milliseconds limit);

    // Accumulates PACKET_STATISTICS of both ingress sockets (the kernel
    // resets them on every read).
    void poll_kernel_stats();

    [[nodiscard]] const WorkerCounters& counters() const noexcept { return counters_; }

private:
    Engine() = default;
    [[nodiscard]] Status setup();
    io_uring_sqe* next_sqe();
    void arm_receive();
    [[nodiscard]] bool handle_available_completions();
    void handle_receive(const io_uring_cqe& cqe);
    void handle_frame_receive(const io_uring_cqe& cqe, bool& armed, std::uint32_t generation,
                              std::size_t vnet_bytes);
    void arm_frame_receive(int fd, std::uint64_t kind, bool& armed, std::uint32_t generation);
    void cancel_receives();
    void cancel_ipv6_receive();
    void switch_ipv6_ingress(int ingress6_fd);
    void forward_pending_frames();
    void handle_send(const io_uring_cqe& cqe);
    [[nodiscard]] static std::size_t enable_vnet_header(int fd);
    void receive_frame(std::uint8_t* data, std::size_t length, std::size_t vnet_bytes);
    void forward_frame(const std::uint8_t* frame, std::size_t length);
    void send_copy(std::uint32_t rule_index, std::uint32_t output_index, const dataplane::UdpFrameView& in,
                   const EgressTarget& target);
    void attach_packet_ring();
    [[nodiscard]] bool packet_ring_has_frames() const noexcept;
    bool walk_packet_ring();
    void check_packet_ring_order();
    // engine_receive_mode.cpp: the two-socket ingress.
    void start_two_socket_receive();
    void update_receive_mode();
    bool switch_receive_mode(ReceiveMode to);
    [[nodiscard]] bool quiet_holds_older_frames();
    void discard_quiet_backlog();
    [[nodiscard]] bool ring_holds_older_frames();
    void arm_transition_timer();
    void log_slow_switch();

    ProvidedBuffers provided_buffers_;

    // Received frames not yet forwarded (FIFO ring; at most one per buffer).
    struct PendingFrame {
        std::uint16_t buffer_id = 0;
        std::uint32_t length = 0;
        std::uint8_t vnet_bytes = 0;     // virtio_net_hdr before it: its socket's
    };
    std::array<PendingFrame, kIngressBuffers> pending_{};
    std::size_t pending_head_ = 0;
    std::size_t pending_count_ = 0;
    std::size_t max_outputs_ = 1;        // most outputs of any rule in plan_

    std::chrono::microseconds busy_poll_{0};
    bool received_ = false;              // a frame arrived in this round of completions

    int ingress_fd_ = -1;
    int quiet_fd_ = -1;                  // "ingress-quiet", read by recv while the mode is quiet
    bool quiet_armed_ = false;
    std::size_t vnet_header_bytes_ = 0;  // virtio_net_hdr before each frame of "ingress"/"ingress-quiet" (PACKET_VNET_HDR)
    // "ingress6" (worker_protocol.hpp), read by a multishot recv of its own
    // generation, so that replacing it leaves the IPv4 receives alone.
    int ingress6_fd_ = -1;
    bool ingress6_armed_ = false;
    std::uint32_t ingress6_generation_ = 0;
    std::size_t ingress6_vnet_bytes_ = 0;
    std::uint32_t receive_generation_ = 0;
    bool receive_armed_ = false;
    bool receive_stopped_ = false;       // drain(): never re-armed

    // Ring mode: the block being read and how many of its frames are done.
    bool want_packet_ring_ = false;
    bool want_receive_switch_ = true;
    RingGeometry packet_ring_geometry_;
    std::optional<IngressRing> packet_ring_;
    std::optional<unsigned> packet_block_;
    unsigned packet_block_done_ = 0;
    // The block after the last one handed back (next_retired_block); unset
    // until the first block of a new or adopted ring is found.
    std::optional<unsigned> packet_next_block_;

    // Two sockets: which one the fanout group feeds, the window the rate is
    // counted over, and the orderly hand-over between them. After a switch
    // to the ring, the ring is not read until the quiet socket is empty
    // (quiet_draining_); after a switch to quiet, quiet frames wait until
    // the ring holds none (ring_draining_since_). transition_timer_armed_:
    // an io_uring timeout that wakes the loop while either waits.
    bool two_sockets_ = false;
    ReceiveMode receive_mode_ = ReceiveMode::quiet;
    std::chrono::steady_clock::time_point rate_window_start_;
    std::uint64_t rate_window_frames_ = 0;  // counters_.ingress.frames when the window began
    bool quiet_draining_ = false;
    std::optional<std::chrono::steady_clock::time_point> ring_draining_since_;
    bool transition_timer_armed_ = false;
    bool switch_failure_logged_ = false;
    std::chrono::steady_clock::time_point switched_at_;  // the last switch (debug lines)
    __kernel_timespec transition_timer_{};

    EgressPool egress_;
    ForwardingPlan plan_;
    std::uint32_t plan_generation_ = 0;
    WorkerCounters counters_;
    // Declared last so that it goes first: io_uring_queue_exit() cancels what
    // is in flight before the buffers, the egress slots and the packet ring
    // it points into go.
    Uring uring_;
};

} // namespace mcr::worker
