// RAII owners for the worker's io_uring and for the provided-buffer ring
// registered with it (the receive path without a packet ring). Three things
// are called "ring" around here; the names keep them apart:
//   Uring          the io_uring (submission and completion queues)
//   ProvidedBuffers the io_uring provided-buffer ring recv takes buffers from
//   IngressRing    the TPACKET_V3 receive ring on the ingress socket
#pragma once

#include "core/result.hpp"

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mcr::worker {

class Uring {
public:
    Uring() = default;
    Uring(const Uring&) = delete;
    Uring& operator=(const Uring&) = delete;
    ~Uring();

    // io_uring_queue_init_params(); once.
    [[nodiscard]] Status init(unsigned entries, io_uring_params& params);
    [[nodiscard]] io_uring* get() noexcept { return &ring_; }
    [[nodiscard]] int fd() const noexcept { return ready_ ? ring_.ring_fd : -1; }

private:
    io_uring ring_{};
    bool ready_ = false;
};

// `count` buffers of `buffer_bytes` each, registered as buffer group `group`
// of `uring`. Must outlive the Uring (declare it before): the kernel may
// write into a buffer until io_uring_queue_exit() has cancelled the receive.
class ProvidedBuffers {
public:
    ProvidedBuffers() = default;
    ProvidedBuffers(const ProvidedBuffers&) = delete;
    ProvidedBuffers& operator=(const ProvidedBuffers&) = delete;
    ~ProvidedBuffers();

    [[nodiscard]] Status init(Uring& uring, std::uint16_t group, unsigned count, std::size_t buffer_bytes);

    [[nodiscard]] std::uint8_t* buffer(std::uint16_t id) noexcept
    {
        return memory_.data() + static_cast<std::size_t>(id) * buffer_bytes_;
    }
    // Queues buffer `id` for return; publish() hands the queued ones back.
    void give_back(std::uint16_t id) noexcept;
    void publish() noexcept;

private:
    io_uring_buf_ring* ring_ = nullptr;
    std::size_t ring_bytes_ = 0;
    std::vector<std::uint8_t> memory_;
    std::size_t buffer_bytes_ = 0;
    unsigned count_ = 0;
    unsigned pending_ = 0;
};

} // namespace mcr::worker
