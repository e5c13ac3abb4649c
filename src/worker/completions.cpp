// See completions.hpp.
#include "completions.hpp"

#include <linux/io_uring.h>

#include <cerrno>

namespace mcr::worker {

ReceiveCompletion classify_receive(int result, std::uint32_t flags, bool current, bool queue_full) noexcept
{
    ReceiveCompletion c;
    if (flags & IORING_CQE_F_BUFFER) {
        c.buffer_id = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        // A buffer the kernel filled is queued unless it holds nothing
        // (an empty read) or the queue is full; either way it is never lost.
        if (result > 0 && !queue_full)
            c.take_frame = true;
        else
            c.give_back = true;
    }
    if (result == -ENOBUFS)
        c.no_buffer = true;
    else if (result < 0 && result != -ECANCELED && current)
        c.report_error = true;
    // Completions of a cancelled receive say nothing about the armed one.
    c.ended = current && !(flags & IORING_CQE_F_MORE);
    return c;
}

void count_send_completion(OutputCounters& output, int result, std::uint32_t payload_bytes) noexcept
{
    if (result >= 0) {
        ++output.packets;
        output.bytes += payload_bytes;
    } else if (result == -EAGAIN || result == -ENOBUFS) {
        ++output.would_block;
    } else if (result == -EMSGSIZE) {
        ++output.too_big;
    } else {
        ++output.send_error;
    }
}

} // namespace mcr::worker
