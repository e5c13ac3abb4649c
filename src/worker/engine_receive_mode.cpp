// The engine's two-socket ingress, per family (ingress_pair.hpp): "ingress"
// (read through its ring) and "ingress-quiet" (read by recv) in one fanout
// group, "ingress6" and "ingress6-quiet" in another, each pair's traffic
// moved between its sockets by the pair's own rate (receive_mode.hpp)
// without losing, duplicating or reordering a frame. The kernel gives every
// frame to exactly one member (the group's program decides), so a switch
// can neither lose nor duplicate; what needs care is the order across it,
// which holds per pair (a family's frames never meet the other's group):
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

#include "completion_tags.hpp"
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

// While a receive-mode switch waits (for the quiet socket to empty, or for
// the ring's open block to retire), the loop is woken this often to look
// again: nothing else may wake it when the traffic stopped at the switch.
constexpr long kTransitionPollNs = 1'000'000;

} // namespace

void Engine::start_two_socket_receive(IngressPair& pair)
{
    pair.two_sockets = false;
    pair.quiet_draining = false;
    pair.ring_draining_since.reset();
    pair.counters.mode = pair.fds.ring < 0 ? nullptr : pair.ring ? "ring" : "socket";
    if (pair.fds.quiet < 0 || pair.fds.ring < 0)
        return;
    const int ring_fd = pair.fds.ring;
    auto ring_group = sockets::cbpf_fanout_group(ring_fd);
    auto quiet_group = sockets::cbpf_fanout_group(pair.fds.quiet);
    const std::string names = std::string("\"") + pair.quiet_name + "\" socket is not in the fanout group of \"" +
                              pair.ring_name + "\", reading \"" + pair.ring_name + "\" alone: ";
    if (!ring_group || !quiet_group || *ring_group != *quiet_group) {
        log_warning("The " + names +
                    (!ring_group ? ring_group.error().message()
                                 : !quiet_group ? quiet_group.error().message() : std::string("two groups")));
        return;
    }
    const std::string alone = std::string("Reading \"") + pair.ring_name + "\" alone: ";
    if (!pair.ring) {
        // --receive-mode socket (or no ring could be set up): the ring socket
        // alone, by recv; the quiet socket is left out of the group's choice.
        if (Status s = sockets::select_fanout_member(ring_fd, wp::kRingFanoutMember); !s)
            log_error(std::string("Cannot send the ingress traffic to \"") + pair.ring_name +
                      "\", frames go to a socket not read: " + s.error().message());
        return;
    }
    if (!want_receive_switch_) {
        // ring-only: the ring at every rate. The quiet socket is still read,
        // first, for what a previous worker left queued there (older than
        // anything the ring gets from now on); nothing reaches it afterwards.
        if (Status s = sockets::select_fanout_member(ring_fd, wp::kRingFanoutMember); !s) {
            log_warning(alone + s.error().message());
            return;
        }
        pair.two_sockets = true;
        pair.mode = ReceiveMode::ring;
        pair.counters.mode = receive_mode_name(pair.mode);
        pair.quiet_draining = true;
        pair.switched_at = Clock::now();
        return;
    }
    if (Status s = sockets::select_fanout_member(ring_fd, wp::kQuietFanoutMember); !s) {
        log_warning(alone + s.error().message());
        return;
    }
    // Start quiet (the light-traffic mode the supervisor also set up).
    // Whatever a previous worker left in the ring is older than what reaches
    // the quiet socket from now on, so it goes first.
    pair.two_sockets = true;
    pair.mode = ReceiveMode::quiet;
    pair.counters.mode = receive_mode_name(pair.mode);
    const auto now = Clock::now();
    pair.ring_draining_since = now;
    pair.switched_at = now;
    pair.rate_window_start = now;
    pair.rate_window_frames = pair.frames;
}

void Engine::update_receive_mode(IngressPair& pair)
{
    // No decision while a switch is still being completed: frames held back
    // on one side would then be older than some and newer than other frames
    // on the other.
    if (!pair.two_sockets || !want_receive_switch_ || receive_stopped_ || pair.quiet_draining ||
        pair.ring_draining_since)
        return;
    const auto now = Clock::now();
    const auto decision = decide_receive_mode(
        pair.mode, RateWindow{pair.frames - pair.rate_window_frames,
                              std::chrono::duration_cast<std::chrono::nanoseconds>(now - pair.rate_window_start)});
    if (decision.mode != pair.mode && switch_receive_mode(pair, decision.mode)) {
        // The switch waited for a grace period: count the next window from here.
        pair.rate_window_start = Clock::now();
        pair.rate_window_frames = pair.frames;
    } else if (decision.restart_window) {
        pair.rate_window_start = now;
        pair.rate_window_frames = pair.frames;
    }
}

bool Engine::switch_receive_mode(IngressPair& pair, ReceiveMode to)
{
    const unsigned member = to == ReceiveMode::ring ? wp::kRingFanoutMember : wp::kQuietFanoutMember;
    const auto asked = Clock::now();
    if (Status s = sockets::select_fanout_member(pair.fds.ring, member); !s) {
        // Both sockets are still read; only the latency or the cost per frame
        // stays that of the current mode. Said once.
        if (!pair.switch_failure_logged)
            log_warning(std::string("Cannot switch \"") + pair.ring_name + "\" to " + receive_mode_name(to) +
                        ": " + s.error().message());
        pair.switch_failure_logged = true;
        return false;
    }
    // At most about ten a second (the ring's 100 ms window): a debug line each.
    const auto us = [](Clock::duration d) {
        return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    };
    log_debug(std::string("\"") + pair.ring_name + "\" switched to " + receive_mode_name(to) + " after " +
              std::to_string(pair.frames - pair.rate_window_frames) + " frames in " +
              us(asked - pair.rate_window_start) + " us; the switch took " + us(Clock::now() - asked) + " us");
    pair.mode = to;
    pair.switched_at = Clock::now();
    pair.counters.mode = receive_mode_name(to);
    if (to == ReceiveMode::ring) {
        ++pair.counters.to_ring;
        pair.quiet_draining = true;
    } else {
        ++pair.counters.to_quiet;
        pair.ring_draining_since = Clock::now();
    }
    return true;
}

bool Engine::quiet_holds_older_frames(IngressPair& pair)
{
    if (!pair.quiet_draining)
        return false;
    if (pair.ring && pair.cursor.next_block && ring_full(pair.ring->layout(), *pair.cursor.next_block))
        discard_quiet_backlog(pair);
    if (!pair.pending.empty())
        return true;
    // SIOCINQ on a packet socket: the length of the first queued frame, 0
    // when none. A frame the multishot receive took before this call sits in
    // a completion not yet read, hence the check after it. An error (which
    // this socket does not give) must not stop the ring for good.
    int queued = 0;
    if (ioctl(pair.fds.quiet, SIOCINQ, &queued) == 0 && queued > 0)
        return true;
    if (io_uring_cq_ready(uring_.get()) > 0)
        return true;
    pair.quiet_draining = false;
    log_debug(std::string("\"") + pair.quiet_name + "\" drained " +
              std::to_string(
                  std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - pair.switched_at).count()) +
              " us after the switch to the ring (" + std::to_string(pair.counters.discarded) +
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
void Engine::discard_quiet_backlog(IngressPair& pair)
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
        const int n = recvmmsg(pair.fds.quiet, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0)
            break;
        pair.counters.discarded += static_cast<unsigned>(n);
        if (static_cast<unsigned>(n) < kBatch)
            break;
    }
}

bool Engine::ring_holds_older_frames(IngressPair& pair)
{
    if (!pair.ring_draining_since)
        return false;
    if (!pair.ring) {
        pair.ring_draining_since.reset();
        return false;
    }
    const RingLayout& layout = pair.ring->layout();
    const RingCursor& cursor = pair.cursor;
    if (cursor.block || next_retired_block(layout, cursor.next_block))
        return true;
    // The block after the last one handed back is the one the kernel fills
    // (it opened it, counting from 0, when it retired the one before); no
    // frame reaches the ring since the switch, so its count is final.
    const bool open_block_empty = cursor.next_block && block_frames_filled(layout, *cursor.next_block) == 0;
    if (!open_block_empty && Clock::now() - *pair.ring_draining_since < kRingRetireWait)
        return true;
    pair.ring_draining_since.reset();
    return false;
}

void Engine::arm_transition_timer()
{
    // Asked here too, not only when frames wait: a switch made as the
    // traffic stopped must end without another frame.
    if (transition_timer_armed_)
        return;
    bool waiting = false;
    for (IngressPair* pair : pairs())
        waiting = quiet_holds_older_frames(*pair) || ring_holds_older_frames(*pair) || waiting;
    if (!waiting)
        return;
    io_uring_sqe* sqe = next_sqe();
    if (sqe == nullptr)
        return;
    // The kernel copies the timespec when the entry is submitted.
    transition_timer_ = __kernel_timespec{0, kTransitionPollNs};
    io_uring_prep_timeout(sqe, &transition_timer_, 0, 0);
    io_uring_sqe_set_data64(sqe, completion_tag::tag(completion_tag::kTransitionTimer, 0));
    transition_timer_armed_ = true;
}

// From the stats timer: a hand-over that takes long says what it waits for.
void Engine::log_slow_switch(const IngressPair& pair)
{
    if (!pair.quiet_draining && !pair.ring_draining_since)
        return;
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - pair.switched_at);
    if (waited < std::chrono::milliseconds(100))
        return;
    int queued = 0;
    (void)ioctl(pair.fds.quiet, SIOCINQ, &queued);
    log_debug(std::string("\"") + pair.ring_name + "\" switch to " + receive_mode_name(pair.mode) + " waiting " +
              std::to_string(waited.count()) + " ms: pending " + std::to_string(pair.pending.size()) +
              ", quiet armed " + std::to_string(pair.quiet_armed) + ", quiet head " + std::to_string(queued) +
              " bytes, completions " + std::to_string(io_uring_cq_ready(uring_.get())) + ", egress free " +
              std::to_string(egress_.free_slots()) + ", in flight " + std::to_string(egress_.in_flight()) +
              ", frames " + std::to_string(pair.frames));
}

} // namespace mcr::worker
