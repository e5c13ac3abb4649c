// Where each output of each rule goes (socket, rewrite template, size limit)
// and the fixed pool of egress slots whose buffers and msghdrs stay alive
// until io_uring reports the send done: no allocation per packet.
#pragma once

#include "dataplane/packet_rewrite.hpp"
#include "named_fds.hpp"
#include "worker_config.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace mcr::worker {

inline constexpr std::size_t kEgressSlots = 1024;
// A 9000-byte jumbo IP packet plus Ethernet header, rounded up.
inline constexpr std::size_t kEgressBufferBytes = 9216;

// A unicast destination of either family.
union SocketAddress {
    sockaddr_in ipv4;
    sockaddr_in6 ipv6;
};

struct EgressTarget {
    int fd = -1;                         // pkt.<if>, udp.<if> or udp6.<if>; -1: socket missing (counted as send_error)
    dataplane::OutputRewrite rewrite;
    std::size_t max_bytes = 0;           // largest copy the interface's MTU takes
    SocketAddress unicast_destination{}; // unicast outputs only
    socklen_t unicast_destination_length = 0;
    int unicast_ttl = kDefaultUnicastTtl; // TTL or hop limit
};

// targets[rule][output]. MACs come from getsockname() on each pkt.<if>
// socket (sll_addr of a bound AF_PACKET socket is the interface's address).
// Outputs whose socket is missing get fd -1 and are logged once here.
[[nodiscard]] std::vector<std::vector<EgressTarget>> build_egress_targets(const WorkerConfig& config,
                                                                          const NamedFds& sockets);

struct EgressSlot {
    std::uint8_t* buffer = nullptr;      // kEgressBufferBytes, owned by the pool
    msghdr message{};                    // unicast sends (IORING_OP_SENDMSG)
    iovec vector{};
    SocketAddress destination{};
    alignas(cmsghdr) std::array<std::uint8_t, CMSG_SPACE(sizeof(int))> control{};
    std::uint32_t generation = 0;        // plan the slot was filled for
    std::uint32_t rule_index = 0;
    std::uint32_t output_index = 0;
    std::uint32_t payload_bytes = 0;
};

class EgressPool {
public:
    EgressPool();
    EgressPool(const EgressPool&) = delete;
    EgressPool& operator=(const EgressPool&) = delete;

    // A free slot's index, or nullopt when all are in flight.
    [[nodiscard]] std::optional<std::uint32_t> acquire() noexcept;
    void release(std::uint32_t index) noexcept;
    [[nodiscard]] EgressSlot& slot(std::uint32_t index) noexcept { return slots_[index]; }
    [[nodiscard]] std::size_t in_flight() const noexcept { return slots_.size() - free_count_; }
    [[nodiscard]] std::size_t free_slots() const noexcept { return free_count_; }
    [[nodiscard]] std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(slots_.size()); }

    // Points the slot's msghdr at its buffer (`length` bytes), the target's
    // destination and an IP_TTL (IPV6_HOPLIMIT) control message.
    static void prepare_unicast(EgressSlot& slot, const EgressTarget& target, std::size_t length) noexcept;

private:
    std::vector<std::uint8_t> buffers_;
    std::vector<EgressSlot> slots_;
    std::vector<std::uint32_t> free_;    // stack of free indices; free_[0..free_count_)
    std::size_t free_count_ = 0;
};

} // namespace mcr::worker
