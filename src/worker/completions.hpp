// What one io_uring completion means for the worker's engine, as plain
// functions of the completion (result, flags) and the little engine state
// they depend on: the engine applies the answer, the unit tests feed
// completions without a kernel (tests/unit/test_completions.cpp).
#pragma once

#include "stats.hpp"

#include <cstdint>

namespace mcr::worker {

// One completion of the multishot receive into the provided-buffer ring.
struct ReceiveCompletion {
    bool take_frame = false;    // a frame of `result` bytes is in buffer_id: queue it for forwarding
    bool give_back = false;     // buffer_id goes back to the ring unread
    std::uint16_t buffer_id = 0;
    bool no_buffer = false;     // -ENOBUFS: the ring had no free buffer (counted)
    bool report_error = false;  // another failure of the current receive (logged)
    bool ended = false;         // the current multishot receive ended: arm it again
};

// `current`: the completion belongs to the receive armed now (not to one
// cancelled by a config change); `queue_full`: no room to queue a frame.
[[nodiscard]] ReceiveCompletion classify_receive(int result, std::uint32_t flags, bool current,
                                                 bool queue_full) noexcept;

// One send completion counted against its output: `result` is the bytes
// the kernel took or -errno. A full socket buffer (EAGAIN, ENOBUFS) is
// would_block, EMSGSIZE too_big, anything else send_error.
void count_send_completion(OutputCounters& output, int result, std::uint32_t payload_bytes) noexcept;

} // namespace mcr::worker
