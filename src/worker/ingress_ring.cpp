// See ingress_ring.hpp.
#include "ingress_ring.hpp"

#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace mcr::worker {

namespace {

Error ring_error(const char* what, int error)
{
    return Error{"ingress ring", std::string(what) + ": " + std::strerror(error)};
}

Status request_ring(int fd, const RingGeometry& geometry)
{
    tpacket_req3 request{};
    request.tp_block_size = static_cast<unsigned>(geometry.block_bytes);
    request.tp_block_nr = geometry.block_count;
    // For V3 the frame fields only have to be consistent with the blocks.
    request.tp_frame_size = TPACKET_ALIGNMENT << 7;
    request.tp_frame_nr = static_cast<unsigned>(geometry.block_bytes / request.tp_frame_size) * geometry.block_count;
    request.tp_retire_blk_tov = geometry.retire_timeout_ms;
    request.tp_sizeof_priv = kBlockPrivateBytes;
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &request, sizeof(request)) != 0)
        return ring_error("cannot set up the receive ring", errno);
    return Ok{};
}

} // namespace

Result<IngressRing> IngressRing::attach(int fd, RingGeometry geometry)
{
    IngressRing ring;
    const std::size_t bytes = geometry.block_bytes * geometry.block_count;
    int version = 0;
    socklen_t length = sizeof(version);
    if (getsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, &length) != 0)
        return ring_error("cannot read the packet socket version", errno);
    if (version != TPACKET_V3) {
        const int off = 0;
        const int v3 = TPACKET_V3;
        (void)setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &off, sizeof(off));
        if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v3, sizeof(v3)) != 0)
            return ring_error("cannot switch the socket to TPACKET_V3", errno);
        if (Status s = request_ring(fd, geometry); !s)
            return s.error();
    } else {
        ring.adopted_ = true;
    }
    void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (memory == MAP_FAILED && ring.adopted_ && errno == EINVAL) {
        // V3 but no ring of this size (none at all, or one set up with other
        // geometry by an older worker): set ours. Replacing a ring drops the
        // frames it held; an unmapped ring of another size cannot be read.
        ring.adopted_ = false;
        if (Status s = request_ring(fd, geometry); !s)
            return s.error();
        memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    }
    if (memory == MAP_FAILED)
        return ring_error("cannot map the receive ring", errno);
    ring.layout_ = RingLayout{static_cast<std::uint8_t*>(memory), geometry.block_bytes, geometry.block_count};
    return ring;
}

IngressRing::IngressRing(IngressRing&& other) noexcept
    : layout_(std::exchange(other.layout_, RingLayout{})), adopted_(other.adopted_)
{
}

IngressRing& IngressRing::operator=(IngressRing&& other) noexcept
{
    if (this != &other) {
        unmap();
        layout_ = std::exchange(other.layout_, RingLayout{});
        adopted_ = other.adopted_;
    }
    return *this;
}

IngressRing::~IngressRing() { unmap(); }

void IngressRing::unmap() noexcept
{
    if (layout_.base != nullptr)
        (void)munmap(layout_.base, layout_.block_bytes * layout_.block_count);
    layout_ = RingLayout{};
}

} // namespace mcr::worker
