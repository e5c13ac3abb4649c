// See worker_sockets.hpp. Shared by mcrd-test-launch and mcrd-fake-supervisor.
#include "worker_sockets.hpp"

#include "core/worker_protocol.hpp"
#include "sockets/socket_factory.hpp"

#include <cstdlib>

namespace mcr::test {

namespace {

Result<unique_fd> open_named_socket(const std::string& name, const worker::WorkerConfig& config)
{
    namespace wp = worker_protocol;
    if (name == wp::kIngressFd)
        return sockets::open_ingress_socket(config.interface, config.receive_buffer_bytes);
    if (name == wp::kIngress6Fd)
        return sockets::open_ingress6_socket(config.interface, config.receive_buffer_bytes);
    if (name == wp::kMembershipFd) {
        auto fd = sockets::open_membership_socket();
        if (!fd)
            return fd;
        for (const Rule& rule : config.rules)
            if (rule.input.address.is_multicast())
                if (auto joined = sockets::join_group(fd->get(), config.interface, rule.input.address, rule.input.source);
                    !joined)
                    return joined.error();
        return fd;
    }
    if (name.starts_with(wp::kPacketEgressPrefix))
        return sockets::open_packet_egress_socket(name.substr(wp::kPacketEgressPrefix.size()));
    if (name.starts_with(wp::kUdp6EgressPrefix))
        return sockets::open_udp6_egress_socket(name.substr(wp::kUdp6EgressPrefix.size()));
    if (name.starts_with(wp::kUdpEgressPrefix))
        return sockets::open_udp_egress_socket(name.substr(wp::kUdpEgressPrefix.size()));
    return Error{name, "unknown socket name"};
}

} // namespace

Result<std::vector<NamedSocket>> make_worker_sockets(const worker::WorkerConfig& config, const std::string& config_text)
{
    std::vector<NamedSocket> made;
    for (const std::string& name : worker::required_socket_names(config)) {
        // As the supervisor does; MCRT_INGRESS_RING_ONLY stands in for the
        // FD store of an older one, which holds "ingress" ("ingress6") alone.
        const bool ipv4 = name == worker_protocol::kIngressFd;
        if ((ipv4 || name == worker_protocol::kIngress6Fd) && !std::getenv("MCRT_INGRESS_RING_ONLY")) {
            auto pair = ipv4 ? sockets::open_ingress_sockets(config.interface, config.receive_buffer_bytes)
                             : sockets::open_ingress6_sockets(config.interface, config.receive_buffer_bytes);
            if (!pair)
                return pair.error();
            made.push_back({std::string(ipv4 ? worker_protocol::kIngressQuietFd : worker_protocol::kIngress6QuietFd),
                            std::move(pair->quiet)});
            made.push_back({name, std::move(pair->ring)});
            continue;
        }
        auto fd = open_named_socket(name, config);
        if (!fd)
            return fd.error();
        made.push_back({name, std::move(*fd)});
    }
    auto memfd = sockets::make_config_memfd(config_text);
    if (!memfd)
        return memfd.error();
    made.push_back({std::string(worker_protocol::kConfigFd), std::move(*memfd)});
    return made;
}

} // namespace mcr::test
