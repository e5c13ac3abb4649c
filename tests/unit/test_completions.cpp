// Proves how the worker's engine reads its io_uring completions
// (worker/completions.hpp), fed here without a kernel: a received frame is
// queued or its buffer given back, never lost; -ENOBUFS is counted; a
// cancelled receive's completions neither log nor re-arm; each send result
// lands in exactly one output counter.
#include "worker/completions.hpp"

#include <doctest/doctest.h>
#include <linux/io_uring.h>

#include <cerrno>
#include <cstdint>

using namespace mcr::worker;

namespace {

constexpr std::uint32_t buffer(std::uint16_t id) { return IORING_CQE_F_BUFFER | (std::uint32_t{id} << IORING_CQE_BUFFER_SHIFT); }

// Every counter of one output, to compare whole.
struct Counts {
    std::uint64_t packets, bytes, no_buffer, would_block, too_big, send_error;
    bool operator==(const Counts&) const = default;
};
Counts counts(const OutputCounters& o)
{
    return {o.packets, o.bytes, o.no_buffer, o.would_block, o.too_big, o.send_error};
}

} // namespace

TEST_CASE("receive: a frame in a buffer, more to come, is queued")
{
    const ReceiveCompletion c = classify_receive(1514, buffer(7) | IORING_CQE_F_MORE, true, false);
    CHECK(c.take_frame);
    CHECK_FALSE(c.give_back);
    CHECK(c.buffer_id == 7);
    CHECK_FALSE(c.no_buffer);
    CHECK_FALSE(c.report_error);
    CHECK_FALSE(c.ended);
}

TEST_CASE("receive: the highest buffer id survives the shift")
{
    CHECK(classify_receive(60, buffer(511) | IORING_CQE_F_MORE, true, false).buffer_id == 511);
}

TEST_CASE("receive: a frame with the queue full goes back to the ring, not lost")
{
    const ReceiveCompletion c = classify_receive(1514, buffer(3) | IORING_CQE_F_MORE, true, true);
    CHECK_FALSE(c.take_frame);
    CHECK(c.give_back);
    CHECK(c.buffer_id == 3);
}

TEST_CASE("receive: an empty read gives its buffer back")
{
    const ReceiveCompletion c = classify_receive(0, buffer(9) | IORING_CQE_F_MORE, true, false);
    CHECK_FALSE(c.take_frame);
    CHECK(c.give_back);
}

TEST_CASE("receive: -ENOBUFS (ring empty) is counted, not logged, and ends the multishot")
{
    const ReceiveCompletion c = classify_receive(-ENOBUFS, 0, true, false);
    CHECK(c.no_buffer);
    CHECK_FALSE(c.report_error);
    CHECK_FALSE(c.take_frame);
    CHECK_FALSE(c.give_back);   // no buffer was used
    CHECK(c.ended);
}

TEST_CASE("receive: another error of the armed receive is reported and re-armed")
{
    const ReceiveCompletion c = classify_receive(-ENETDOWN, 0, true, false);
    CHECK(c.report_error);
    CHECK_FALSE(c.no_buffer);
    CHECK(c.ended);
}

TEST_CASE("receive: a cancelled receive's completions neither report nor re-arm the current one")
{
    const ReceiveCompletion cancelled = classify_receive(-ECANCELED, 0, true, false);
    CHECK_FALSE(cancelled.report_error);
    CHECK(cancelled.ended);   // the armed receive itself was cancelled: arm again

    const ReceiveCompletion old = classify_receive(-ENETDOWN, 0, false, false);
    CHECK_FALSE(old.report_error);
    CHECK_FALSE(old.ended);

    // A frame the old receive still delivered is forwarded like any other.
    const ReceiveCompletion old_frame = classify_receive(100, buffer(4), false, false);
    CHECK(old_frame.take_frame);
    CHECK_FALSE(old_frame.ended);
}

TEST_CASE("send: success counts the copy and its payload bytes")
{
    OutputCounters o;
    count_send_completion(o, 142, 100);
    count_send_completion(o, 0, 0);   // a zero-length payload is still a copy sent
    CHECK(counts(o) == Counts{2, 100, 0, 0, 0, 0});
}

TEST_CASE("send: a full socket buffer is would_block, EMSGSIZE too_big, anything else send_error")
{
    OutputCounters o;
    count_send_completion(o, -EAGAIN, 100);
    count_send_completion(o, -ENOBUFS, 100);
    CHECK(counts(o) == Counts{0, 0, 0, 2, 0, 0});
    count_send_completion(o, -EMSGSIZE, 100);
    CHECK(counts(o) == Counts{0, 0, 0, 2, 1, 0});
    for (int error : {-ENETDOWN, -ENXIO, -EPERM, -ECANCELED})
        count_send_completion(o, error, 100);
    CHECK(counts(o) == Counts{0, 0, 0, 2, 1, 4});
}
