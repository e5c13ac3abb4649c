// Egress plan and slot pool (see egress.hpp).
#include "egress.hpp"

#include "core/log.hpp"
#include "core/worker_protocol.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>

#include <cstring>

namespace mcr::worker {

namespace {

std::optional<dataplane::MacAddress> interface_mac(int packet_fd)
{
    sockaddr_ll address{};
    socklen_t length = sizeof(address);
    if (getsockname(packet_fd, reinterpret_cast<sockaddr*>(&address), &length) < 0 || address.sll_halen != 6)
        return std::nullopt;
    dataplane::MacAddress mac{};
    std::memcpy(mac.data(), address.sll_addr, mac.size());
    return mac;
}

void set_unicast_destination(EgressTarget& target, const RuleOutput& output)
{
    if (output.address.is_ipv4()) {
        target.unicast_destination.ipv4.sin_family = AF_INET;
        target.unicast_destination.ipv4.sin_addr.s_addr = htonl(output.address.ipv4());
        target.unicast_destination.ipv4.sin_port = htons(output.port);
        target.unicast_destination_length = sizeof(sockaddr_in);
        return;
    }
    target.unicast_destination.ipv6.sin6_family = AF_INET6;
    std::memcpy(target.unicast_destination.ipv6.sin6_addr.s6_addr, output.address.bytes().data(), 16);
    target.unicast_destination.ipv6.sin6_port = htons(output.port);
    target.unicast_destination_length = sizeof(sockaddr_in6);
}

EgressTarget target_for(const RuleOutput& output, const std::optional<IpAddress>& source_address, unsigned mtu,
                        const NamedFds& sockets, const std::string& rule)
{
    EgressTarget target;
    const bool multicast = output.address.is_multicast();
    const std::string name = worker_protocol::egress_fd_name(output.interface, output.address);
    target.rewrite.multicast = multicast;
    target.rewrite.family = output.address.family();
    target.rewrite.destination_address = output.address.bytes();
    target.rewrite.destination_port = output.port;
    target.rewrite.ttl = output.ttl;
    if (source_address && source_address->family() == output.address.family())
        target.rewrite.source_address = source_address->bytes();
    target.fd = fd_named(sockets, name);
    if (target.fd < 0) {
        log_warning("No socket for output, its copies will count as send errors",
                    {{"MCR_RULE", rule}, {"MCR_SOCKET", name}});
        return target;
    }
    if (multicast) {
        target.max_bytes = mtu + dataplane::kEthernetHeaderBytes;
        target.rewrite.destination_mac = dataplane::multicast_mac(target.rewrite.family, target.rewrite.destination_address);
        if (auto mac = interface_mac(target.fd))
            target.rewrite.source_mac = *mac;
        else
            log_warning("Cannot read the egress interface's MAC, sending from 00:00:00:00:00:00",
                        {{"MCR_SOCKET", name}});
    } else {
        const std::size_t headers = (output.address.is_ipv4() ? dataplane::kIpv4MinHeaderBytes
                                                              : dataplane::kIpv6HeaderBytes) +
                                    dataplane::kUdpHeaderBytes;
        target.max_bytes = mtu > headers ? mtu - headers : 0;
        set_unicast_destination(target, output);
        target.unicast_ttl = output.ttl.value_or(kDefaultUnicastTtl);
    }
    return target;
}

} // namespace

std::vector<std::vector<EgressTarget>> build_egress_targets(const WorkerConfig& config, const NamedFds& sockets)
{
    std::vector<std::vector<EgressTarget>> targets;
    targets.reserve(config.rules.size());
    for (std::size_t r = 0; r < config.rules.size(); ++r) {
        const Rule& rule = config.rules[r];
        auto& row = targets.emplace_back();
        for (std::size_t o = 0; o < rule.outputs.size(); ++o) {
            const RuleOutput& output = rule.outputs[o];
            const auto egress = config.egress.find(output.interface);
            const unsigned mtu = egress == config.egress.end() ? kDefaultEgressMtu : egress->second.mtu;
            row.push_back(target_for(output, config.source_address(r, o), mtu, sockets, rule.name));
        }
    }
    return targets;
}

EgressPool::EgressPool()
    : buffers_(kEgressSlots * kEgressBufferBytes), slots_(kEgressSlots), free_(kEgressSlots), free_count_(kEgressSlots)
{
    for (std::uint32_t i = 0; i < kEgressSlots; ++i) {
        slots_[i].buffer = buffers_.data() + std::size_t{i} * kEgressBufferBytes;
        free_[i] = static_cast<std::uint32_t>(kEgressSlots - 1 - i);
    }
}

std::optional<std::uint32_t> EgressPool::acquire() noexcept
{
    if (free_count_ == 0)
        return std::nullopt;
    return free_[--free_count_];
}

void EgressPool::release(std::uint32_t index) noexcept
{
    free_[free_count_++] = index;
}

void EgressPool::prepare_unicast(EgressSlot& slot, const EgressTarget& target, std::size_t length) noexcept
{
    slot.destination = target.unicast_destination;
    slot.vector = iovec{slot.buffer, length};
    slot.message = msghdr{};
    slot.message.msg_name = &slot.destination;
    slot.message.msg_namelen = target.unicast_destination_length;
    slot.message.msg_iov = &slot.vector;
    slot.message.msg_iovlen = 1;
    slot.message.msg_control = slot.control.data();
    slot.message.msg_controllen = slot.control.size();
    cmsghdr* header = CMSG_FIRSTHDR(&slot.message);
    const bool ipv4 = target.unicast_destination.ipv4.sin_family == AF_INET;
    header->cmsg_level = ipv4 ? IPPROTO_IP : IPPROTO_IPV6;
    header->cmsg_type = ipv4 ? IP_TTL : IPV6_HOPLIMIT;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &target.unicast_ttl, sizeof(int));
}

} // namespace mcr::worker
