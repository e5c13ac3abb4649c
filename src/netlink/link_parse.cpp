// Decoding rtnetlink link and address messages (shared by LinkMonitor and
// query_link; pure functions so that unit tests can feed built messages).
#include "link_monitor.hpp"
#include "source_addresses.hpp"

#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace mcr {

namespace {

struct LinkAttributes {
    const nlattr* name = nullptr;
    const nlattr* mtu = nullptr;
    const nlattr* address = nullptr;
};

// libmnl attribute callback: C code calls it, so it must not throw (it
// cannot: it only compares and assigns pointers).
int collect_link_attribute(const nlattr* attr, void* data) noexcept
{
    auto* attrs = static_cast<LinkAttributes*>(data);
    switch (mnl_attr_get_type(attr)) {
    case IFLA_IFNAME:
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
            attrs->name = attr;
        break;
    case IFLA_MTU:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
            attrs->mtu = attr;
        break;
    case IFLA_ADDRESS:
        attrs->address = attr;
        break;
    default:
        break;
    }
    return MNL_CB_OK;
}

// The family header (ifinfomsg, ifaddrmsg) of a message of type `added` or
// `removed`; nullptr for other types and for payloads too short to hold it.
template <typename Header>
const Header* family_header(const nlmsghdr* message, std::uint16_t added, std::uint16_t removed)
{
    if (message->nlmsg_type != added && message->nlmsg_type != removed)
        return nullptr;
    if (mnl_nlmsg_get_payload_len(message) < sizeof(Header))
        return nullptr;
    return static_cast<const Header*>(mnl_nlmsg_get_payload(message));
}

} // namespace

std::optional<LinkInfo> parse_link_message(const nlmsghdr* message)
{
    const auto* ifi = family_header<ifinfomsg>(message, RTM_NEWLINK, RTM_DELLINK);
    if (ifi == nullptr || ifi->ifi_family == AF_BRIDGE || ifi->ifi_index <= 0)
        return std::nullopt;
    LinkAttributes attrs;
    if (mnl_attr_parse(message, sizeof(ifinfomsg), collect_link_attribute, &attrs) < 0 ||
        attrs.name == nullptr)
        return std::nullopt;

    LinkInfo link;
    link.ifindex = ifi->ifi_index;
    link.ifname = mnl_attr_get_str(attrs.name);
    if (attrs.mtu != nullptr)
        link.mtu = mnl_attr_get_u32(attrs.mtu);
    if (attrs.address != nullptr && mnl_attr_get_payload_len(attrs.address) == link.mac.size())
        std::memcpy(link.mac.data(), mnl_attr_get_payload(attrs.address), link.mac.size());
    link.up = (ifi->ifi_flags & IFF_UP) != 0 && (ifi->ifi_flags & IFF_RUNNING) != 0;
    return link;
}

std::optional<AddressMessage> parse_address_message(const nlmsghdr* message)
{
    const auto* ifa = family_header<ifaddrmsg>(message, RTM_NEWADDR, RTM_DELADDR);
    if (ifa == nullptr || ifa->ifa_index == 0)
        return std::nullopt;
    const auto ifindex = static_cast<int>(ifa->ifa_index);
    const std::optional<InterfaceAddress> parsed = parse_interface_address(message, ifindex);
    if (!parsed)
        return std::nullopt;
    return AddressMessage{ifindex, parsed->address, parsed->usable && !parsed->tentative};
}

std::string_view link_event_kind_name(LinkEventKind kind)
{
    switch (kind) {
    case LinkEventKind::added: return "added";
    case LinkEventKind::removed: return "removed";
    case LinkEventKind::up: return "up";
    case LinkEventKind::down: return "down";
    case LinkEventKind::address_changed: return "address_changed";
    case LinkEventKind::mtu_changed: return "mtu_changed";
    }
    return "unknown";
}

} // namespace mcr
