// Proves the socket factory's group memberships: on the membership socket,
// IPv4 groups are joined with IGMP and IPv6 groups with MLD, any-source and
// source-specific, and left again; the kernel's own tables
// (/proc/net/igmp, igmp6, mcfilter, mcfilter6) are the witness. The
// namespace cases run as root in a throw-away network namespace.
#include "core/address.hpp"
#include "core/unique_fd.hpp"
#include "private_netns.hpp"
#include "sockets/socket_factory.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

using namespace mcr;
using mcr::testing::Expectations;

namespace {

constexpr const char* kLink = "mcrt-m0";

IpAddress ip(const char* text)
{
    return *IpAddress::parse(text);
}

// The mcfilter tables cut device names to 6 characters: match the index.
std::string link_index()
{
    return std::to_string(::if_nametoindex(kLink));
}

std::string read_proc(const char* path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The 32 hex digits the kernel prints for an IPv6 address (%pi6).
std::string proc_ipv6(const IpAddress& address)
{
    std::string hex;
    char digits[3];
    for (const std::uint8_t byte : address.bytes()) {
        std::snprintf(digits, sizeof digits, "%02x", byte);
        hex += digits;
    }
    return hex;
}

// Whether /proc/net/igmp6 lists `group` on kLink.
bool mld_joined(const IpAddress& group)
{
    std::istringstream lines(read_proc("/proc/net/igmp6"));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string index, device, address;
        fields >> index >> device >> address;
        if (device == kLink && address == proc_ipv6(group))
            return true;
    }
    return false;
}

// Whether /proc/net/mcfilter6 lists `source` as included for `group` on kLink.
bool mld_source_included(const IpAddress& group, const IpAddress& source)
{
    std::istringstream lines(read_proc("/proc/net/mcfilter6"));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string index, device, multiaddr, source_address;
        unsigned long include = 0;
        fields >> index >> device >> multiaddr >> source_address >> include;
        if (index == link_index() && multiaddr == proc_ipv6(group) && source_address == proc_ipv6(source) &&
            include > 0)
            return true;
    }
    return false;
}

// Whether /proc/net/igmp lists `group` under kLink: a device line, then its
// groups on tab-indented lines, each address as the raw network-order word
// printed in hex.
bool igmp_joined(const IpAddress& group)
{
    char wanted[9];
    std::snprintf(wanted, sizeof wanted, "%08X", htonl(group.ipv4()));
    std::istringstream lines(read_proc("/proc/net/igmp"));
    bool in_link = false;
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line[0] != '\t') {
            std::istringstream fields(line);
            std::string index, device;
            fields >> index >> device;
            in_link = device == std::string(kLink) + ":" || device == kLink;
        } else if (in_link && line.find(wanted) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// Whether /proc/net/mcfilter lists `source` as included for IPv4 `group` on kLink.
bool igmp_source_included(const IpAddress& group, const IpAddress& source)
{
    char multiaddr[11];
    char source_address[11];
    std::snprintf(multiaddr, sizeof multiaddr, "0x%08x", group.ipv4());
    std::snprintf(source_address, sizeof source_address, "0x%08x", source.ipv4());
    std::istringstream lines(read_proc("/proc/net/mcfilter"));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string index, device, m, s;
        unsigned long include = 0;
        fields >> index >> device >> m >> s >> include;
        if (index == link_index() && m == multiaddr && s == source_address && include > 0)
            return true;
    }
    return false;
}

std::string exercise_memberships()
{
    Expectations e;
    const std::string peer = std::string(kLink) + "p";
    if (std::system(("ip link add " + std::string(kLink) + " type veth peer name " + peer + " && ip link set " +
                     kLink + " up && ip link set " + peer + " up")
                        .c_str()) != 0)
        return "cannot make the veth pair\n";

    auto membership = sockets::open_membership_socket();
    if (!membership)
        return "open_membership_socket: " + membership.error().message() + "\n";
    const int fd = membership->get();
    int family = 0;
    socklen_t length = sizeof family;
    e.expect(::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &length) == 0 && family == AF_INET6,
             "the membership socket is AF_INET6 (it holds both families' joins)");

    const IpAddress asm6 = ip("ff3e::1");
    const IpAddress ssm6 = ip("ff3e::2");
    const IpAddress source6 = ip("2001:db8::5");
    const IpAddress asm4 = ip("239.1.1.1");
    const IpAddress ssm4 = ip("239.1.1.2");
    const IpAddress source4 = ip("192.0.2.5");
    e.expect(!mld_joined(asm6) && !mld_joined(ssm6) && !igmp_joined(asm4), "no join before the test");

    const auto joined = [&](const IpAddress& group, const std::optional<IpAddress>& source, const char* what) {
        const Status st = sockets::join_group(fd, kLink, group, source);
        e.expect(st.ok(), std::string(what) + ": " + (st.ok() ? "" : st.error().message()));
    };
    // Each family's source-specific join comes last: the kernel's mcfilter
    // tables start their walk only at an interface whose newest group has
    // sources (igmp_mcf_get_first/igmp6_mcf_get_first read the list head).
    joined(asm6, std::nullopt, "MLD any-source join of ff3e::1");
    joined(ssm6, source6, "MLD source-specific join of ff3e::2 from 2001:db8::5");
    joined(asm4, std::nullopt, "IGMP any-source join of 239.1.1.1 on the same socket");
    joined(ssm4, source4, "IGMP source-specific join of 239.1.1.2 from 192.0.2.5");
    joined(asm6, std::nullopt, "a second join of ff3e::1 is not an error");
    e.expect(mld_joined(asm6), "/proc/net/igmp6 lists ff3e::1 on the link");
    e.expect(mld_joined(ssm6), "/proc/net/igmp6 lists ff3e::2 on the link");
    e.expect(mld_source_included(ssm6, source6), "/proc/net/mcfilter6 includes 2001:db8::5 for ff3e::2");
    e.expect(!mld_source_included(asm6, source6), "ff3e::1 has no source filter (any source)");
    e.expect(igmp_joined(asm4), "/proc/net/igmp lists 239.1.1.1 on the link");
    e.expect(igmp_source_included(ssm4, source4), "/proc/net/mcfilter includes 192.0.2.5 for 239.1.1.2");

    const auto left = [&](const IpAddress& group, const std::optional<IpAddress>& source, const char* what) {
        const Status st = sockets::leave_group(fd, kLink, group, source);
        e.expect(st.ok(), std::string(what) + ": " + (st.ok() ? "" : st.error().message()));
    };
    left(asm6, std::nullopt, "leave ff3e::1");
    left(ssm6, source6, "leave ff3e::2 from 2001:db8::5");
    e.expect(!mld_joined(asm6), "ff3e::1 gone from /proc/net/igmp6 after the leave");
    e.expect(!mld_joined(ssm6), "ff3e::2 gone from /proc/net/igmp6 after the leave");
    e.expect(!mld_source_included(ssm6, source6), "the source filter of ff3e::2 is gone");
    e.expect(igmp_joined(asm4), "leaving the IPv6 groups keeps 239.1.1.1");
    left(asm6, std::nullopt, "leaving ff3e::1 again is not an error");
    left(asm4, std::nullopt, "leave 239.1.1.1");
    left(ssm4, source4, "leave 239.1.1.2 from 192.0.2.5");
    e.expect(!igmp_joined(asm4), "239.1.1.1 gone from /proc/net/igmp after the leave");
    e.expect(!igmp_source_included(ssm4, source4), "the source filter of 239.1.1.2 is gone");

    // Closing the socket leaves whatever it still held (a worker's FD
    // store copy keeps the joins only as long as it holds the socket).
    joined(asm6, std::nullopt, "join ff3e::1 again");
    membership->reset();
    e.expect(!mld_joined(asm6), "closing the membership socket leaves ff3e::1");

    // An IPv4-only membership socket (a kernel without IPv6) refuses IPv6
    // groups with a reason instead of an errno.
    unique_fd ipv4_only(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const Status refused = sockets::join_group(ipv4_only.get(), kLink, asm6, std::nullopt);
    e.expect(!refused.ok() && refused.error().message() ==
                                  std::string(kLink) + ": cannot join IPv6 group ff3e::1: IPv6 is not available in "
                                                       "this kernel (the membership socket is IPv4 only)",
             "IPv6 join on an AF_INET socket: " + (refused.ok() ? "accepted" : refused.error().message()));
    e.expect(!mld_joined(asm6), "the refused join joined nothing");
    return e.failures();
}

} // namespace

TEST_CASE("join_group refuses what it cannot join, with the interface and the reason")
{
    // No privilege needed: these fail before any membership changes.
    auto membership = sockets::open_membership_socket();
    REQUIRE(membership);
    const Status mixed = sockets::join_group(membership->get(), "lo", ip("ff3e::1"), ip("192.0.2.5"));
    REQUIRE_FALSE(mixed.ok());
    CHECK(mixed.error().message() == "lo: source 192.0.2.5 and group ff3e::1 are of different address families");
    const Status absent = sockets::join_group(membership->get(), "mcrt-absent-0", ip("ff3e::1"), std::nullopt);
    REQUIRE_FALSE(absent.ok());
    CHECK(absent.error().path == "mcrt-absent-0");
    const Status leave_absent = sockets::leave_group(membership->get(), "mcrt-absent-0", ip("239.1.1.1"), std::nullopt);
    CHECK_FALSE(leave_absent.ok());
}

TEST_CASE("IGMP and MLD joins, ASM and SSM, show in the kernel and go with the leave")
{
    if (::geteuid() != 0) {
        MESSAGE("skipped: needs root to create a network namespace and links");
        return;
    }
    const std::string failures = mcr::testing::in_private_netns(exercise_memberships);
    CHECK_MESSAGE(failures.empty(), failures);
}
