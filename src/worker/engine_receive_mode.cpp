// The engine's two-socket ingress: "ingress" (read through its ring) and
// "ingress-quiet" (read by recv) in one fanout group, the traffic moved
// between them by rate (receive_mode.hpp) without losing, duplicating or
// reordering a frame. The kernel gives every frame to exactly one member
// (the group's program decides), so a switch can neither lose nor
// duplicate; what needs care is the order across it:
//
// - quiet -> ring: frames given to the quiet socket before the switch are
//   older than anything in the ring. select_fanout_member() returns after an
//   RCU grace period, and the kernel chooses the member and queues the frame
//   within one RCU read-side section, so by then every such frame is queued
//   on the quiet socket: none can land there later. The ring is not read
//   until that queue is empty and every frame taken from it is forwarded.
// - ring -> quiet: frames given to the ring before the switch sit in its
//   open block until the block's timer retires it (the kernel hands a block
//   over only full or retired). Quiet frames wait, queued in the provided
//   buffers and then in the socket, until the ring holds none: every retired
//   block read and the open block empty, or, while the open block is not
//   known (a ring just set up or adopted), until the retire timer must have
//   run (kRingRetireWait).
#include "engine.hpp"

#include "core/log.hpp"
#include "core/worker_protocol.hpp"
#include "sockets/ingress_fanout.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <array>

namespace mcr::worker {

namespace {

namespace wp = worker_protocol;
using Clock = std::chrono::steady_clock;

// The ring's block timer is 1 ms, rounded up to the kernel's timer
// granularity (a jiffy: 10 ms at HZ=100); a block with a frame in it is
// retired at the latest on the timer's second expiry after it opened.
constexpr std::chrono::milliseconds kRingRetireWait{30};

} // namespace

void Engine::start_two_socket_receive()
{
    two_sockets_ = false;
    quiet_draining_ = false;
    ring_draining_since_.reset();
    counters_.receive.mode = packet_ring_ ? "ring" : "socket";
    if (quiet_fd_ < 0)
        return;
    auto ring_group = sockets::cbpf_fanout_group(ingress_fd_);
    auto quiet_group = sockets::cbpf_fanout_group(quiet_fd_);
    if (!ring_group || !quiet_group || *ring_group != *quiet_group) {
        log_warning("The \"ingress-quiet\" socket is not in the fanout group of \"ingress\", reading \"ingress\" alone: " +
                    (!ring_group ? ring_group.error().message()
                                 : !quiet_group ? quiet_group.error().message() : std::string("two groups")));
        return;
    }
    if (!packet_ring_) {
        // --receive-mode socket (or no ring could be set up): "ingress" alone,
        // by recv; the quiet socket is left out of the group's choice.
        if (Status s = sockets::select_fanout_member(ingress_fd_, wp::kRingFanoutMember); !s)
            log_error("Cannot send the ingress traffic to \"ingress\", frames go to a socket not read: " +
                      s.error().message());
        return;
    }
    if (!want_receive_switch_) {
        // ring-only: the ring at every rate. The quiet socket is still read,
        // first, for what a previous worker left queued there (older than
        // anything the ring gets from now on); nothing reaches it afterwards.
        if (Status s = sockets::select_fanout_member(ingress_fd_, wp::kRingFanoutMember); !s) {
            log_warning("Reading \"ingress\" alone: " + s.error().message());
            return;
        }
        two_sockets_ = true;
        receive_mode_ = ReceiveMode::ring;
        counters_.receive.mode = receive_mode_name(receive_mode_);
        quiet_draining_ = true;
        switched_at_ = Clock::now();
        return;
    }
    if (Status s = sockets::select_fanout_member(ingress_fd_, wp::kQuietFanoutMember); !s) {
        log_warning("Reading \"ingress\" alone: " + s.error().message());
        return;
    }
    // Start quiet (the light-traffic mode the supervisor also set up).
    // Whatever a previous worker left in the ring is older than what reaches
    // the quiet socket from now on, so it goes first.
    two_sockets_ = true;
    receive_mode_ = ReceiveMode::quiet;
    counters_.receive.mode = receive_mode_name(receive_mode_);
    const auto now = Clock::now();
    ring_draining_since_ = now;
    switched_at_ = now;
    rate_window_start_ = now;
    rate_window_frames_ = counters_.ingress.frames;
}

void Engine::update_receive_mode()
{
    // No decision while a switch is still being completed: frames held back
    // on one side would then be older than some and newer than other frames
    // on the other.
    if (!two_sockets_ || !want_receive_switch_ || receive_stopped_ || quiet_draining_ || ring_draining_since_)
        return;
    const auto now = Clock::now();
    const auto decision =
        decide_receive_mode(receive_mode_, RateWindow{counters_.ingress.frames - rate_window_frames_,
                                                      std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                          now - rate_window_start_)});
    if (decision.mode != receive_mode_ && switch_receive_mode(decision.mode)) {
        // The switch waited for a grace period: count the next window from here.
        rate_window_start_ = Clock::now();
        rate_window_frames_ = counters_.ingress.frames;
    } else if (decision.restart_window) {
        rate_window_start_ = now;
        rate_window_frames_ = counters_.ingress.frames;
    }
}

bool Engine::switch_receive_mode(ReceiveMode to)
{
    const unsigned member = to == ReceiveMode::ring ? wp::kRingFanoutMember : wp::kQuietFanoutMember;
    const auto asked = Clock::now();
    if (Status s = sockets::select_fanout_member(ingress_fd_, member); !s) {
        // Both sockets are still read; only the latency or the cost per frame
        // stays that of the current mode. Said once.
        if (!switch_failure_logged_)
            log_warning(std::string("Cannot switch the ingress to ") + receive_mode_name(to) + ": " +
                        s.error().message());
        switch_failure_logged_ = true;
        return false;
    }
    // At most about ten a second (the ring's 100 ms window): a debug line each.
    const auto us = [](Clock::duration d) {
        return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    };
    log_debug(std::string("Ingress switched to ") + receive_mode_name(to) + " after " +
              std::to_string(counters_.ingress.frames - rate_window_frames_) + " frames in " +
              us(asked - rate_window_start_) + " us; the switch took " + us(Clock::now() - asked) + " us");
    receive_mode_ = to;
    switched_at_ = Clock::now();
    counters_.receive.mode = receive_mode_name(to);
    if (to == ReceiveMode::ring) {
        ++counters_.receive.to_ring;
        quiet_draining_ = true;
    } else {
        ++counters_.receive.to_quiet;
        ring_draining_since_ = Clock::now();
    }
    return true;
}

bool Engine::quiet_holds_older_frames()
{
    if (!quiet_draining_)
        return false;
    if (packet_ring_ && packet_next_block_ && ring_full(packet_ring_->layout(), *packet_next_block_))
        discard_quiet_backlog();
    if (pending_count_ > 0)
        return true;
    // SIOCINQ on a packet socket: the length of the first queued frame, 0
    // when none. A frame the multishot receive took before this call sits in
    // a completion not yet read, hence the check after it. An error (which
    // this socket does not give) must not stop the ring for good.
    int queued = 0;
    if (ioctl(quiet_fd_, SIOCINQ, &queued) == 0 && queued > 0)
        return true;
    if (io_uring_cq_ready(uring_.get()) > 0)
        return true;
    quiet_draining_ = false;
    log_debug("Quiet socket drained " + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                                         Clock::now() - switched_at_)
                                                         .count()) +
              " us after the switch to the ring (" + std::to_string(counters_.receive.discarded) +
              " frames discarded from it so far, in all)");
    return false;
}

// Overload: the flood that made the worker switch filled the quiet socket
// (up to its 16 MiB, some 20 000 small frames) faster than recv could take
// them, and the ring, which is not read until the quiet socket is empty,
// filled too. From here the kernel drops every new frame at the ring while
// recv works through the quiet backlog at the rate that made the switch
// necessary (bench/README.md: 0.9-1.2 s, in which the worker delivered a
// third of its rate). Dropping the quiet socket's backlog instead loses no
// more frames than waiting would (the ring drops as many meanwhile, newer
// ones), keeps the order (everything in the ring is newer), and brings the
// worker to the ring's rate at once. Frames already taken from the quiet
// socket are still forwarded. Bounded per call, so the loop keeps its turn.
void Engine::discard_quiet_backlog()
{
    constexpr unsigned kBatch = 256;
    constexpr unsigned kMaxBatches = 32;
    // A few bytes each, shared: a packet socket dequeues (and frees) the
    // whole frame whatever it copies, but with PACKET_VNET_HDR it fails a
    // read too short for the virtio_net_hdr (after dequeuing the frame).
    std::array<std::uint8_t, 64> scratch{};
    iovec vector{scratch.data(), scratch.size()};
    std::array<mmsghdr, kBatch> messages{};
    for (mmsghdr& m : messages) {
        m.msg_hdr.msg_iov = &vector;
        m.msg_hdr.msg_iovlen = 1;
    }
    for (unsigned b = 0; b < kMaxBatches; ++b) {
        const int n = recvmmsg(quiet_fd_, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0)
            break;
        counters_.receive.discarded += static_cast<unsigned>(n);
        if (static_cast<unsigned>(n) < kBatch)
            break;
    }
}

bool Engine::ring_holds_older_frames()
{
    if (!ring_draining_since_)
        return false;
    if (!packet_ring_) {
        ring_draining_since_.reset();
        return false;
    }
    const RingLayout& layout = packet_ring_->layout();
    if (packet_block_ || next_retired_block(layout, packet_next_block_))
        return true;
    // The block after the last one handed back is the one the kernel fills
    // (it opened it, counting from 0, when it retired the one before); no
    // frame reaches the ring since the switch, so its count is final.
    const bool open_block_empty = packet_next_block_ && block_frames_filled(layout, *packet_next_block_) == 0;
    if (!open_block_empty && Clock::now() - *ring_draining_since_ < kRingRetireWait)
        return true;
    ring_draining_since_.reset();
    return false;
}

// From the stats timer: a hand-over that takes long says what it waits for.
void Engine::log_slow_switch()
{
    if (!quiet_draining_ && !ring_draining_since_)
        return;
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - switched_at_);
    if (waited < std::chrono::milliseconds(100))
        return;
    int queued = 0;
    (void)ioctl(quiet_fd_, SIOCINQ, &queued);
    log_debug(std::string("Switch to ") + receive_mode_name(receive_mode_) + " waiting " +
              std::to_string(waited.count()) + " ms: pending " + std::to_string(pending_count_) + ", quiet armed " +
              std::to_string(quiet_armed_) + ", quiet head " + std::to_string(queued) + " bytes, completions " +
              std::to_string(io_uring_cq_ready(uring_.get())) + ", egress free " +
              std::to_string(egress_.free_slots()) + ", in flight " + std::to_string(egress_.in_flight()) +
              ", frames " + std::to_string(counters_.ingress.frames));
}

} // namespace mcr::worker
