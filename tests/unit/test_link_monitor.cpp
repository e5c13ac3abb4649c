// Proves the rtnetlink link monitor: message decoding from built messages
// (no privileges), and, as root, real add/up/down/change/remove events for a
// veth link inside a private network namespace made by a forked child.
#include "core/unique_fd.hpp"
#include "netlink/link_monitor.hpp"
#include "private_netns.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace mcr;

namespace {

constexpr int kStepTimeoutMs = 5000;                // generous: the machine is shared and busy
constexpr std::uint64_t kPollSliceUsec = 100000;    // re-check the step condition this often

struct MessageBuffer {
    alignas(nlmsghdr) char bytes[1024] = {};
};

nlmsghdr* link_message(MessageBuffer& buffer, std::uint16_t type, int family, int index,
                       unsigned flags)
{
    nlmsghdr* message = mnl_nlmsg_put_header(buffer.bytes);
    message->nlmsg_type = type;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
    ifi->ifi_family = static_cast<unsigned char>(family);
    ifi->ifi_index = index;
    ifi->ifi_flags = flags;
    return message;
}

using mcr::testing::Expectations;

bool run_until(sd_event* loop, const std::function<bool()>& done)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStepTimeoutMs);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        if (sd_event_run(loop, kPollSliceUsec) < 0)
            return false;
    }
    return true;
}

// Runs in the forked child, inside its own network namespace.
std::string exercise_link_monitor()
{
    Expectations e;
    sd_event* raw_loop = nullptr;
    if (sd_event_new(&raw_loop) < 0)
        return "sd_event_new failed\n";
    EventPtr loop(raw_loop);
    std::vector<LinkEvent> events;
    LinkMonitor monitor([&events](const LinkEvent& event) { events.push_back(event); });
    if (int r = monitor.start(loop.get()); r < 0)
        return "start failed: " + std::string(std::strerror(-r)) + "\n";
    e.expect(run_until(loop.get(), [&] { return monitor.synced(); }), "initial dump finished");
    e.expect(!events.empty() && events[0].kind == LinkEventKind::added && events[0].ifname == "lo" &&
                 events[0].ifindex == 1,
             "initial dump reports lo as added with ifindex 1");

    const std::string name = "mcrt-" + std::to_string(::getpid()) + "-d";
    std::size_t seen = events.size();
    // Waits for an event of `kind` for our link after the last step's
    // events (the first one that `wanted` accepts).
    const auto wait_for = [&](LinkEventKind kind, const std::string& command, const std::string& ifname,
                              const std::function<bool(const LinkEvent&)>& wanted = {}) -> const LinkEvent* {
        e.expect(std::system(command.c_str()) == 0, "command succeeded: " + command);
        const LinkEvent* found = nullptr;
        run_until(loop.get(), [&] {
            for (std::size_t i = seen; i < events.size() && !found; ++i)
                if (events[i].kind == kind && events[i].ifname == ifname && (!wanted || wanted(events[i])))
                    found = &events[i];
            return found != nullptr;
        });
        e.expect(found != nullptr, std::string(link_event_kind_name(kind)) + " event after: " + command);
        seen = events.size();
        return found;
    };

    // veth, not dummy: the test kernel may lack the dummy module. The peer
    // is up first so that our end gets carrier (IFF_RUNNING) when it goes up.
    const std::string peer = "mcrt-" + std::to_string(::getpid()) + "-p";
    const LinkEvent* added =
        wait_for(LinkEventKind::added, "ip link add " + name + " type veth peer name " + peer, name);
    e.expect(std::system(("ip link set " + peer + " up").c_str()) == 0, "peer up");
    // No automatic link-local address: the IPv6 steps below add their own.
    e.expect(std::system(("ip link set " + name + " addrgenmode none").c_str()) == 0, "addrgenmode none");
    const int ifindex = static_cast<int>(::if_nametoindex(name.c_str()));
    e.expect(added && added->ifindex == ifindex && ifindex > 1 && !added->up,
             "added event has the kernel's ifindex and is down");
    const LinkEvent* changed =
        wait_for(LinkEventKind::address_changed, "ip link set " + name + " address 02:00:5e:00:53:01", name);
    e.expect(changed && changed->mac == MacAddress{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01}, "new MAC reported");
    const LinkEvent* mtu = wait_for(LinkEventKind::mtu_changed, "ip link set " + name + " mtu 1400", name);
    e.expect(mtu && mtu->mtu == 1400, "new MTU reported");
    const LinkEvent* up = wait_for(LinkEventKind::up, "ip link set " + name + " up", name);
    e.expect(up && up->up && up->ifindex == ifindex, "up event for the same ifindex");
    const LinkEvent* address =
        wait_for(LinkEventKind::address_changed, "ip address add 192.0.2.1/24 dev " + name, name);
    const auto expected_address = IpAddress::parse("192.0.2.1");
    e.expect(address && address->ipv4_addresses == std::vector<IpAddress>{*expected_address} &&
                 address->ipv6_addresses.empty(),
             "IPv4 address reported");
    // An IPv6 address counts once duplicate detection is done (made short
    // here): the tentative one is no event, the valid one is.
    e.expect(std::system(("sysctl -qw net.ipv6.conf." + name + ".dad_transmits=1 net.ipv6.neigh." + name +
                          ".retrans_time_ms=200").c_str()) == 0,
             "short duplicate detection");
    const auto link_local = IpAddress::parse("fe80::5");
    const auto global = IpAddress::parse("2001:db8::5");
    const LinkEvent* valid =
        wait_for(LinkEventKind::address_changed, "ip address add fe80::5/64 dev " + name, name);
    e.expect(valid && valid->ipv6_addresses == std::vector<IpAddress>{*link_local} &&
                 valid->ipv4_addresses == std::vector<IpAddress>{*expected_address},
             "IPv6 link-local address reported once valid");
    const LinkEvent* both = wait_for(LinkEventKind::address_changed,
                                     "ip address add 2001:db8::5/64 dev " + name + " nodad", name);
    e.expect(both && both->ipv6_addresses == std::vector<IpAddress>{*global, *link_local},
             "IPv6 addresses reported sorted");
    const LinkEvent* removed_ll =
        wait_for(LinkEventKind::address_changed, "ip address del fe80::5/64 dev " + name, name);
    e.expect(removed_ll && removed_ll->ipv6_addresses == std::vector<IpAddress>{*global},
             "IPv6 address removal reported");

    const auto queried = query_link(name);
    e.expect(queried && queried->ifindex == ifindex && queried->mtu == 1400 && queried->up &&
                 queried->mac == MacAddress{0x02, 0x00, 0x5e, 0x00, 0x53, 0x01} &&
                 queried->ipv4_addresses == std::vector<IpAddress>{*expected_address} &&
                 queried->ipv6_addresses == std::vector<IpAddress>{*global},
             "query_link sees ifindex, MTU 1400, up, MAC and addresses");
    e.expect(monitor.find(name) == queried, "monitor table equals query_link");

    const LinkEvent* down = wait_for(LinkEventKind::down, "ip link set " + name + " down", name);
    e.expect(down && !down->up, "down event");
    // A rename is the old name removed and the new one added, same ifindex.
    const std::string renamed = "mcrt-" + std::to_string(::getpid()) + "-r";
    const std::size_t before_rename = seen;
    const LinkEvent* added_renamed =
        wait_for(LinkEventKind::added, "ip link set " + name + " name " + renamed, renamed);
    bool old_name_removed = false;
    for (std::size_t i = before_rename; i < events.size(); ++i)
        old_name_removed |= events[i].kind == LinkEventKind::removed && events[i].ifname == name &&
                            events[i].ifindex == ifindex;
    e.expect(old_name_removed && added_renamed && added_renamed->ifindex == ifindex,
             "rename reported as removed old name + added new name");
    const LinkEvent* removed = wait_for(LinkEventKind::removed, "ip link del " + renamed, renamed);
    e.expect(removed && removed->ifindex == ifindex, "removed event for the same ifindex");
    e.expect(!monitor.find(renamed) && !query_link(renamed) && !monitor.find(name),
             "link gone from table and kernel");
    return e.failures();
}

} // namespace

TEST_CASE("RTM_NEWLINK messages decode to LinkInfo")
{
    // Name, index, MTU, MAC and up (IFF_UP and IFF_RUNNING) are read.
    MessageBuffer buffer;
    nlmsghdr* message = link_message(buffer, RTM_NEWLINK, AF_UNSPEC, 7, IFF_UP | IFF_RUNNING);
    mnl_attr_put_strz(message, IFLA_IFNAME, "eth7");
    mnl_attr_put_u32(message, IFLA_MTU, 9000);
    const std::uint8_t mac[6] = {0x02, 0, 0x5e, 0, 0x53, 0x07};
    mnl_attr_put(message, IFLA_ADDRESS, sizeof mac, mac);
    const auto link = parse_link_message(message);
    REQUIRE(link);
    CHECK(link->ifname == "eth7");
    CHECK(link->ifindex == 7);
    CHECK(link->mtu == 9000);
    CHECK(link->mac == MacAddress{0x02, 0, 0x5e, 0, 0x53, 0x07});
    CHECK(link->up);
}

TEST_CASE("admin-up without carrier is not up; odd messages are ignored")
{
    // IFF_UP alone is down; bridge-port copies, nameless or short messages yield nothing.
    MessageBuffer buffer;
    nlmsghdr* message = link_message(buffer, RTM_NEWLINK, AF_UNSPEC, 3, IFF_UP);
    mnl_attr_put_strz(message, IFLA_IFNAME, "veth0");
    REQUIRE(parse_link_message(message));
    CHECK_FALSE(parse_link_message(message)->up);
    CHECK(parse_link_message(message)->mac == MacAddress{});
    message = link_message(buffer, RTM_NEWLINK, AF_BRIDGE, 3, IFF_UP);
    mnl_attr_put_strz(message, IFLA_IFNAME, "veth0");
    CHECK_FALSE(parse_link_message(message));
    message = link_message(buffer, RTM_NEWLINK, AF_UNSPEC, 3, 0);
    CHECK_FALSE(parse_link_message(message)); // no IFLA_IFNAME
    message = mnl_nlmsg_put_header(buffer.bytes);
    message->nlmsg_type = RTM_NEWLINK; // no ifinfomsg at all
    CHECK_FALSE(parse_link_message(message));
}

TEST_CASE("RTM_NEWADDR messages decode the interface's own IPv4 address")
{
    // IFA_LOCAL wins over IFA_ADDRESS (the peer on point-to-point links); a
    // 4-byte address in an IPv6 message is refused.
    MessageBuffer buffer;
    nlmsghdr* message = mnl_nlmsg_put_header(buffer.bytes);
    message->nlmsg_type = RTM_NEWADDR;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_index = 4;
    const std::uint8_t peer[4] = {198, 51, 100, 1};
    const std::uint8_t local[4] = {192, 0, 2, 9};
    mnl_attr_put(message, IFA_ADDRESS, sizeof peer, peer);
    mnl_attr_put(message, IFA_LOCAL, sizeof local, local);
    const auto parsed = parse_address_message(message);
    REQUIRE(parsed);
    CHECK(parsed->ifindex == 4);
    CHECK(parsed->address.to_string() == "192.0.2.9");
    ifa->ifa_family = AF_INET6;
    CHECK_FALSE(parse_address_message(message));
}

TEST_CASE("RTM_NEWADDR and RTM_DELADDR for IPv6 say whether the address is usable yet")
{
    // Tentative (duplicate detection running) and failed addresses are not
    // usable; IFA_FLAGS (32 bits) overrides the header's 8-bit flags.
    MessageBuffer buffer;
    nlmsghdr* message = mnl_nlmsg_put_header(buffer.bytes);
    message->nlmsg_type = RTM_NEWADDR;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET6;
    ifa->ifa_index = 7;
    ifa->ifa_scope = RT_SCOPE_LINK;
    ifa->ifa_flags = IFA_F_TENTATIVE;
    const std::uint8_t address[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    mnl_attr_put(message, IFA_ADDRESS, sizeof address, address);
    auto parsed = parse_address_message(message);
    REQUIRE(parsed);
    CHECK(parsed->ifindex == 7);
    CHECK(parsed->address.to_string() == "fe80::1");
    CHECK_FALSE(parsed->usable);
    ifa->ifa_flags = 0;
    parsed = parse_address_message(message);
    REQUIRE(parsed);
    CHECK(parsed->usable);
    mnl_attr_put_u32(message, IFA_FLAGS, IFA_F_DADFAILED);
    parsed = parse_address_message(message);
    REQUIRE(parsed);
    CHECK_FALSE(parsed->usable);
    message->nlmsg_type = RTM_DELADDR;
    parsed = parse_address_message(message);
    REQUIRE(parsed);
    CHECK(parsed->address.to_string() == "fe80::1");
    message->nlmsg_type = RTM_NEWLINK;
    CHECK_FALSE(parse_address_message(message));
}

TEST_CASE("event kinds have stable names")
{
    // The names appear in logs and mcrctl output.
    CHECK(link_event_kind_name(LinkEventKind::added) == "added");
    CHECK(link_event_kind_name(LinkEventKind::removed) == "removed");
    CHECK(link_event_kind_name(LinkEventKind::up) == "up");
    CHECK(link_event_kind_name(LinkEventKind::down) == "down");
    CHECK(link_event_kind_name(LinkEventKind::address_changed) == "address_changed");
    CHECK(link_event_kind_name(LinkEventKind::mtu_changed) == "mtu_changed");
}

TEST_CASE("query_link finds lo and refuses names that cannot exist")
{
    // Works unprivileged; empty, overlong and absent names give nullopt.
    const auto lo = query_link("lo");
    REQUIRE(lo);
    CHECK(lo->ifindex == static_cast<int>(::if_nametoindex("lo")));
    CHECK(lo->ifname == "lo");
    CHECK_FALSE(query_link(""));
    CHECK_FALSE(query_link("abcdefghijklmnop"));
    CHECK_FALSE(query_link("mcrt-absent-0"));
}

TEST_CASE("LinkMonitor reports a veth link's life in a private netns")
{
    // added -> MAC -> MTU -> up -> IPv4 address -> down -> renamed -> removed, same ifindex.
    if (::geteuid() != 0) {
        MESSAGE("skipped: needs root to create a network namespace and links");
        return;
    }
    const std::string failures = mcr::testing::in_private_netns(exercise_link_monitor);
    CHECK_MESSAGE(failures.empty(), failures);
}
