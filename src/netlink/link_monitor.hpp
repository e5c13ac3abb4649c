// Interface hot-plug over rtnetlink: which links exist, whether they are up,
// their MTU, MAC, IPv4 and usable IPv6 addresses, as events on an sd-event
// loop; plus a one-shot query for a single link.
#pragma once

#include "core/address.hpp"
#include "core/sd_ptr.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

struct mnl_socket;
struct nlmsghdr;

namespace mcr {

using MacAddress = std::array<std::uint8_t, 6>;

// Requests carry a header, a family and at most an interface name.
inline constexpr std::size_t kNetlinkRequestBytes = 256;
// Dump replies come in messages of up to ~32 KiB (the kernel sizes them by
// the reader's buffer, at least a page); 64 KiB never truncates one.
inline constexpr std::size_t kNetlinkReceiveBufferBytes = std::size_t{64} * 1024;

// Family, then bytes: the order of LinkInfo's address lists. (Spelt out
// rather than via IpAddress's defaulted operator<=>, which clang-tidy 14
// misreads as comparing with a literal 0.)
struct IpAddressOrder {
    bool operator()(const IpAddress& a, const IpAddress& b) const noexcept
    {
        return a.family() != b.family() ? a.family() < b.family() : a.bytes() < b.bytes();
    }
};

struct LinkInfo {
    std::string ifname;
    int ifindex = 0;
    std::uint32_t mtu = 0;
    MacAddress mac{};                      // all zero when the link has no Ethernet address (lo, tun)
    bool up = false;                       // IFF_UP and IFF_RUNNING: admin up and carrier/oper up
    std::vector<IpAddress> ipv4_addresses; // sorted
    // Sorted; only usable ones: an address still in duplicate detection
    // (tentative) cannot be bound, one whose detection failed never can.
    std::vector<IpAddress> ipv6_addresses;

    friend bool operator==(const LinkInfo&, const LinkInfo&) = default;
};

enum class LinkEventKind {
    added,           // a link appeared (also: every link found by the initial dump)
    removed,         // a link is gone (a rename is removed + added)
    up,              // became IFF_UP && IFF_RUNNING
    down,            // stopped being so
    address_changed, // its IPv4 addresses, its usable IPv6 addresses or its MAC changed
    mtu_changed,
};
[[nodiscard]] std::string_view link_event_kind_name(LinkEventKind kind);

// The link as it is after the event (for `removed`: as it was last seen).
struct LinkEvent {
    LinkEventKind kind = LinkEventKind::added;
    std::string ifname;
    int ifindex = 0;
    std::uint32_t mtu = 0;
    MacAddress mac{};
    bool up = false;
    std::vector<IpAddress> ipv4_addresses;
    std::vector<IpAddress> ipv6_addresses;
};

// RTM_NEWLINK/RTM_DELLINK payload -> LinkInfo (addresses left empty);
// nullopt for truncated messages, links without a name and AF_BRIDGE port
// notifications (they repeat RTNLGRP_LINK events for bridge members).
[[nodiscard]] std::optional<LinkInfo> parse_link_message(const nlmsghdr* message);

// RTM_NEWADDR/RTM_DELADDR of either family -> (ifindex, address, whether
// it is usable now); nullopt otherwise. An RTM_NEWADDR for a tentative
// IPv6 address is not usable: the kernel sends another one when duplicate
// detection succeeds.
struct AddressMessage {
    int ifindex = 0;
    IpAddress address;
    bool usable = true;
};
[[nodiscard]] std::optional<AddressMessage> parse_address_message(const nlmsghdr* message);

// One link by name, asked synchronously (for the supervisor's decisions
// outside the event loop). nullopt when there is no such link or on error.
[[nodiscard]] std::optional<LinkInfo> query_link(const std::string& ifname);

struct MnlSocketCloser {
    void operator()(mnl_socket* socket) const noexcept;
};
using MnlSocketPtr = std::unique_ptr<mnl_socket, MnlSocketCloser>;

// Watches links and addresses. start() subscribes first and dumps
// second, so no change between the two is lost; if the kernel drops
// notifications (ENOBUFS) the monitor dumps again and reports differences.
// The callback runs inside the event loop; exceptions it throws are caught
// and logged; it must not destroy the monitor. Not movable: sd-event holds
// a pointer to it.
class LinkMonitor {
public:
    using Callback = std::function<void(const LinkEvent&)>;

    explicit LinkMonitor(Callback callback);
    ~LinkMonitor();
    LinkMonitor(const LinkMonitor&) = delete;
    LinkMonitor& operator=(const LinkMonitor&) = delete;

    // Opens NETLINK_ROUTE, joins the link, IPv4- and IPv6-address groups, attaches
    // to `event` and requests the initial dump. 0 or a negative errno.
    [[nodiscard]] int start(sd_event* event);

    [[nodiscard]] const std::map<int, LinkInfo>& links() const noexcept { return links_; }
    [[nodiscard]] std::optional<LinkInfo> find(std::string_view ifname) const;
    // True once the initial dump (addresses, then links) has been processed.
    [[nodiscard]] bool synced() const noexcept { return synced_; }

private:
    enum class DumpStage { idle, addresses, links };

    static int on_readable(sd_event_source* source, int fd, std::uint32_t revents, void* userdata) noexcept;
    int receive();
    void handle_message(const nlmsghdr* message);
    void handle_link(const nlmsghdr* message);
    void handle_address(const nlmsghdr* message);
    void handle_dump_done();
    int request_dump(int message_type);
    void start_resync();
    void refresh_addresses(LinkInfo& link, bool report);
    void emit(LinkEventKind kind, const LinkInfo& link);

    Callback callback_;
    MnlSocketPtr socket_;
    EventSourcePtr io_source_;
    std::vector<char> receive_buffer_;
    std::map<int, LinkInfo> links_;
    std::map<int, std::set<IpAddress, IpAddressOrder>> addresses_; // by ifindex, from the last dump and events
    std::set<int> seen_in_dump_;
    DumpStage stage_ = DumpStage::idle;
    std::uint32_t dump_sequence_ = 0;
    bool resync_wanted_ = false;
    bool synced_ = false;
};

} // namespace mcr
