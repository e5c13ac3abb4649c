// AF_PACKET socket setup for mcrgen's raw sender, and the interface facts
// (from getifaddrs: the AF_PACKET entry carries MAC and link type) the
// frames are built from.
#include "raw_sender.hpp"

#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace mcr::gen {
namespace {

struct InterfaceFacts {
    unsigned index = 0;
    MacAddress mac{};
    std::optional<IpAddress> ipv4;
    std::optional<IpAddress> ipv6;       // a global one if there is one, else link-local
};

IpAddress address_of(const sockaddr* address)
{
    if (address->sa_family == AF_INET)
        return IpAddress::from_ipv4(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr.s6_addr, bytes.size());
    return IpAddress::from_ipv6(bytes);
}

Result<InterfaceFacts> interface_facts(const std::string& name)
{
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) < 0)
        return errno_error("getifaddrs", errno);
    const InterfaceAddresses owner(list, &::freeifaddrs);
    InterfaceFacts facts;
    bool found = false;
    for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
        if (entry->ifa_addr == nullptr || name != entry->ifa_name)
            continue;
        const int family = entry->ifa_addr->sa_family;
        if (family == AF_PACKET) {
            const auto* link = reinterpret_cast<const sockaddr_ll*>(entry->ifa_addr);
            if (link->sll_hatype != ARPHRD_ETHER || link->sll_halen != facts.mac.size())
                return Error{"--interface", "'" + name + "' is not an Ethernet interface (--raw writes Ethernet frames)"};
            facts.index = static_cast<unsigned>(link->sll_ifindex);
            std::memcpy(facts.mac.data(), link->sll_addr, facts.mac.size());
            found = true;
        } else if (family == AF_INET && !facts.ipv4) {
            facts.ipv4 = address_of(entry->ifa_addr);
        } else if (family == AF_INET6) {
            // As the stack would pick for a site- or global-scoped group: a
            // global address before a link-local one.
            const IpAddress address = address_of(entry->ifa_addr);
            if (!facts.ipv6 || (facts.ipv6->is_link_local_unicast() && !address.is_link_local_unicast()))
                facts.ipv6 = address;
        }
    }
    if (!found)
        return Error{"--interface", "no interface '" + name + "' in this network namespace"};
    return facts;
}

Result<unsigned> interface_mtu(int fd, const std::string& name)
{
    ifreq request{};
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, SIOCGIFMTU, &request) < 0)
        return errno_error("SIOCGIFMTU " + name, errno);
    return static_cast<unsigned>(request.ifr_mtu);
}

Result<unique_fd> packet_socket()
{
    // Protocol 0: the socket sends only; it never gets a copy of the
    // frames the interface receives.
    unique_fd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (fd)
        return fd;
    const int error_number = errno;
    if (error_number == EPERM || error_number == EACCES)
        return Error{"--raw", "an AF_PACKET socket needs the CAP_NET_RAW capability (run as root, or grant it: "
                                  "setcap cap_net_raw+ep mcrgen): " + std::string(std::strerror(error_number))};
    return errno_error("socket(AF_PACKET, SOCK_RAW)", error_number);
}

} // namespace

Result<RawSender> open_raw_sender(const RawSenderSpec& spec)
{
    auto socket = packet_socket();
    if (!socket)
        return socket.error();
    auto facts = interface_facts(spec.interface);
    if (!facts)
        return facts.error();
    auto mtu = interface_mtu(socket->get(), spec.interface);
    if (!mtu)
        return mtu.error();

    RawSender sender;
    sender.mtu = *mtu;
    sender.source_mac = facts->mac;
    const bool ipv4 = spec.destination.is_ipv4();
    if (spec.source) {
        sender.source = *spec.source;
    } else {
        const auto& own = ipv4 ? facts->ipv4 : facts->ipv6;
        if (!own)
            return Error{"--interface", "'" + spec.interface + "' has no " + (ipv4 ? "IPv4" : "IPv6") +
                                            " address to send from: give --source"};
        sender.source = *own;
    }
    const auto mac = spec.destination_mac ? spec.destination_mac : multicast_mac(spec.destination);
    if (!mac)
        return Error{"--dst-mac", "the unicast destination " + spec.destination.to_string() +
                                      " needs the next hop's MAC address with --raw"};
    sender.destination_mac = *mac;

    auto* link = reinterpret_cast<sockaddr_ll*>(&sender.link.storage);
    link->sll_family = AF_PACKET;
    link->sll_ifindex = static_cast<int>(facts->index);
    // The EtherType the kernel gives the frame (skb->protocol); with
    // protocol 0 a tc program or qdisc on the way would see none.
    link->sll_protocol = htons(ipv4 ? ETHERTYPE_IP : ETHERTYPE_IPV6);
    link->sll_halen = static_cast<unsigned char>(sender.destination_mac.size());
    std::memcpy(link->sll_addr, sender.destination_mac.data(), sender.destination_mac.size());
    sender.link.length = sizeof(sockaddr_ll);

    // Bound to the interface for sending only (protocol 0, see packet_socket).
    sockaddr_ll bound{};
    bound.sll_family = AF_PACKET;
    bound.sll_ifindex = link->sll_ifindex;
    if (::bind(socket->get(), reinterpret_cast<const sockaddr*>(&bound), sizeof(bound)) < 0)
        return errno_error("bind AF_PACKET to " + spec.interface, errno);
    int bytes = kSendBufferBytes;
    if (::setsockopt(socket->get(), SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) < 0)
        (void)::setsockopt(socket->get(), SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
    sender.socket = std::move(*socket);
    return sender;
}

} // namespace mcr::gen
