// Proves that a worker's two ingress pairs (worker_protocol.hpp "ingress" +
// "ingress-quiet" for IPv4, "ingress6" + "ingress6-quiet" for IPv6) can be
// made on one interface at once: each pair in a fanout group of its own
// (a group holds one protocol), the quiet socket fed first, and each group
// delivering only its own family. Runs as root in a throw-away network
// namespace, with a frame of each family sent from the veth peer.
#include "core/unique_fd.hpp"
#include "core/worker_protocol.hpp"
#include "private_netns.hpp"
#include "sockets/ingress_fanout.hpp"
#include "sockets/socket_factory.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace mcr;
using mcr::testing::Expectations;

namespace {

constexpr const char* kPairsLink = "mcrt-p0";
constexpr const char* kPeer = "mcrt-p0p";

// An Ethernet frame of `ethertype` carrying `payload_bytes` of zeros: the
// packet sockets look at the ethertype only.
std::vector<std::uint8_t> frame_of(std::uint16_t ethertype, std::size_t payload_bytes)
{
    std::vector<std::uint8_t> frame(ETH_HLEN + payload_bytes, 0);
    for (std::size_t i = 0; i < ETH_ALEN; ++i)
        frame[i] = 0xff; // broadcast: the receiving veth takes it
    frame[ETH_ALEN] = 0x02;
    frame[12] = static_cast<std::uint8_t>(ethertype >> 8);
    frame[13] = static_cast<std::uint8_t>(ethertype & 0xff);
    return frame;
}

bool send_on_peer(const std::vector<std::uint8_t>& frame)
{
    unique_fd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(::if_nametoindex(kPeer));
    to.sll_halen = ETH_ALEN;
    return fd && ::sendto(fd.get(), frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                          sizeof(to)) == static_cast<ssize_t>(frame.size());
}

// The length of the frame waiting on `fd` within 500 ms, or 0.
std::size_t received_length(int fd)
{
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 500) != 1)
        return 0;
    std::array<std::uint8_t, 2048> buffer{};
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

bool nothing_waiting(int fd)
{
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
}

std::string exercise_two_pairs()
{
    Expectations e;
    // No IPv6 on the links: their own MLD and neighbour discovery frames
    // would reach the IPv6 sockets too (packet sockets see them regardless).
    if (std::system((std::string("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 && "
                                 "ip link add ") + kPairsLink + " type veth peer name " + kPeer + " && ip link set " +
                     kPairsLink + " up && ip link set " + kPeer + " up")
                        .c_str()) != 0)
        return "cannot make the veth pair\n";
    auto ipv4 = sockets::open_ingress_sockets(kPairsLink);
    auto ipv6 = sockets::open_ingress6_sockets(kPairsLink);
    if (!ipv4 || !ipv6)
        return "open_ingress_sockets/open_ingress6_sockets: " + (!ipv4 ? ipv4.error().message() : ipv6.error().message()) +
               "\n";
    const auto group_of = [](int fd) { return sockets::cbpf_fanout_group(fd); };
    const auto quiet4 = group_of(ipv4->quiet.get());
    const auto ring4 = group_of(ipv4->ring.get());
    const auto quiet6 = group_of(ipv6->quiet.get());
    const auto ring6 = group_of(ipv6->ring.get());
    if (!quiet4 || !ring4 || !quiet6 || !ring6)
        return "a socket of the two pairs is in no classic-BPF fanout group\n";
    e.expect(*quiet4 == *ring4, "the IPv4 pair shares one group");
    e.expect(*quiet6 == *ring6, "the IPv6 pair shares one group");
    e.expect(*quiet4 != *quiet6, "the two pairs are in different groups (one protocol per group)");

    // Different lengths tell the families apart on arrival.
    e.expect(send_on_peer(frame_of(ETH_P_IP, 100)) && send_on_peer(frame_of(ETH_P_IPV6, 200)),
             "the peer sends an IPv4 and an IPv6 frame");
    e.expect(received_length(ipv4->quiet.get()) == ETH_HLEN + 100, "the IPv4 frame reaches the IPv4 quiet socket");
    e.expect(received_length(ipv6->quiet.get()) == ETH_HLEN + 200, "the IPv6 frame reaches the IPv6 quiet socket");
    e.expect(nothing_waiting(ipv4->quiet.get()) && nothing_waiting(ipv4->ring.get()) &&
                 nothing_waiting(ipv6->quiet.get()) && nothing_waiting(ipv6->ring.get()),
             "each frame reached one socket only, the quiet one of its family");

    // The worker moving the IPv6 group to its ring socket leaves IPv4 alone.
    e.expect(sockets::select_fanout_member(ipv6->ring.get(), worker_protocol::kRingFanoutMember).ok(),
             "the IPv6 group is pointed at its ring socket");
    e.expect(send_on_peer(frame_of(ETH_P_IP, 100)) && send_on_peer(frame_of(ETH_P_IPV6, 200)),
             "the peer sends another frame of each family");
    e.expect(received_length(ipv6->ring.get()) == ETH_HLEN + 200, "the IPv6 frame reaches the IPv6 ring socket");
    e.expect(received_length(ipv4->quiet.get()) == ETH_HLEN + 100, "the IPv4 frame still reaches the IPv4 quiet socket");
    e.expect(nothing_waiting(ipv6->quiet.get()) && nothing_waiting(ipv4->ring.get()),
             "and neither reached the other socket of its pair");
    return e.failures();
}

} // namespace

TEST_CASE("the IPv4 and the IPv6 ingress pairs coexist on one interface, each in its own fanout group")
{
    if (::geteuid() != 0) {
        MESSAGE("skipped: needs root to create a network namespace and links");
        return;
    }
    const std::string failures = mcr::testing::in_private_netns(exercise_two_pairs);
    CHECK_MESSAGE(failures.empty(), failures);
}
