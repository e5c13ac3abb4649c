// See uring.hpp.
#include "uring.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mcr::worker {

Uring::~Uring()
{
    if (ready_)
        io_uring_queue_exit(&ring_); // cancels everything in flight
}

Status Uring::init(unsigned entries, io_uring_params& params)
{
    if (int rc = io_uring_queue_init_params(entries, &ring_, &params); rc < 0)
        return Error{"io_uring", std::string("cannot set up the ring: ") + std::strerror(-rc)};
    ready_ = true;
    return Ok{};
}

ProvidedBuffers::~ProvidedBuffers()
{
    if (ring_ != nullptr)
        (void)munmap(ring_, ring_bytes_);
}

Status ProvidedBuffers::init(Uring& uring, std::uint16_t group, unsigned count, std::size_t buffer_bytes)
{
    ring_bytes_ = count * sizeof(io_uring_buf);
    void* mapping = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mapping == MAP_FAILED)
        return Error{"io_uring", std::string("cannot map the buffer ring: ") + std::strerror(errno)};
    ring_ = static_cast<io_uring_buf_ring*>(mapping);
    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uint64_t>(ring_);
    registration.ring_entries = count;
    registration.bgid = group;
    if (int rc = io_uring_register_buf_ring(uring.get(), &registration, 0); rc < 0)
        return Error{"io_uring", std::string("cannot register the buffer ring: ") + std::strerror(-rc)};
    io_uring_buf_ring_init(ring_);
    count_ = count;
    buffer_bytes_ = buffer_bytes;
    memory_.resize(std::size_t{count} * buffer_bytes);
    for (unsigned i = 0; i < count; ++i)
        give_back(static_cast<std::uint16_t>(i));
    publish();
    return Ok{};
}

void ProvidedBuffers::give_back(std::uint16_t id) noexcept
{
    io_uring_buf_ring_add(ring_, buffer(id), static_cast<unsigned>(buffer_bytes_), id, io_uring_buf_ring_mask(count_),
                          static_cast<int>(pending_));
    ++pending_;
}

void ProvidedBuffers::publish() noexcept
{
    if (pending_ == 0)
        return;
    io_uring_buf_ring_advance(ring_, static_cast<int>(pending_));
    pending_ = 0;
}

} // namespace mcr::worker
