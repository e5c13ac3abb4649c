// query_source_addresses(): one RTM_GETADDR dump of both families on a
// short-lived rtnetlink socket, filtered to one interface, then the choice.
#include "source_addresses.hpp"

#include "link_monitor.hpp"
#include "netlink_request.hpp"

#include "core/c_callback.hpp"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <ctime>
#include <vector>

namespace mcr {

namespace {

struct AddressAttributes {
    const nlattr* local = nullptr;
    const nlattr* address = nullptr;
    const nlattr* flags = nullptr;
};

// libmnl attribute callback: only compares and assigns pointers.
int collect_attribute(const nlattr* attr, void* data) noexcept
{
    auto* attrs = static_cast<AddressAttributes*>(data);
    switch (mnl_attr_get_type(attr)) {
    case IFA_LOCAL: attrs->local = attr; break;
    case IFA_ADDRESS: attrs->address = attr; break;
    case IFA_FLAGS:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
            attrs->flags = attr;
        break;
    default: break;
    }
    return MNL_CB_OK;
}

struct DumpState {
    int ifindex = 0;
    std::vector<InterfaceAddress> addresses;
};

int on_address(const nlmsghdr* message, void* data) noexcept
{
    auto* state = static_cast<DumpState*>(data);
    return guard_callback("Reading an address reply", [message, state] {
        if (auto parsed = parse_interface_address(message, state->ifindex))
            state->addresses.push_back(*parsed);
        return MNL_CB_OK;
    }, MNL_CB_ERROR);
}

} // namespace

SourceAddresses choose_source_addresses(std::span<const InterfaceAddress> addresses)
{
    SourceAddresses chosen;
    std::optional<IpAddress> link_local;
    for (const InterfaceAddress& entry : addresses) {
        if (!entry.usable || (!entry.global_scope && !entry.link_scope))
            continue;
        if (entry.address.is_ipv4()) {
            if (!entry.secondary && !chosen.ipv4)
                chosen.ipv4 = entry.address;
        } else if (entry.global_scope) {
            if (!chosen.ipv6)
                chosen.ipv6 = entry.address;
        } else if (!link_local) {
            link_local = entry.address;
        }
    }
    if (!chosen.ipv6)
        chosen.ipv6 = link_local;
    return chosen;
}

std::optional<InterfaceAddress> parse_interface_address(const nlmsghdr* message, int ifindex)
{
    if ((message->nlmsg_type != RTM_NEWADDR && message->nlmsg_type != RTM_DELADDR) ||
        mnl_nlmsg_get_payload_len(message) < sizeof(ifaddrmsg))
        return std::nullopt;
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(message));
    if (static_cast<int>(ifa->ifa_index) != ifindex || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
        return std::nullopt;
    AddressAttributes attrs;
    if (mnl_attr_parse(message, sizeof(ifaddrmsg), collect_attribute, &attrs) < 0)
        return std::nullopt;
    // IFA_LOCAL is the interface's own address where both are present (the
    // IFA_ADDRESS of a point-to-point link is the peer's).
    const nlattr* own = attrs.local != nullptr ? attrs.local : attrs.address;
    const std::size_t size = ifa->ifa_family == AF_INET ? 4 : 16;
    if (own == nullptr || mnl_attr_get_payload_len(own) != size)
        return std::nullopt;
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), mnl_attr_get_payload(own), size);
    InterfaceAddress entry;
    if (ifa->ifa_family == AF_INET)
        entry.address = IpAddress::from_ipv4((std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
                                             (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]});
    else
        entry.address = IpAddress::from_ipv6(bytes);
    // IFA_FLAGS carries all 32 bits; ifa_flags only the low 8.
    const std::uint32_t flags = attrs.flags != nullptr ? mnl_attr_get_u32(attrs.flags) : ifa->ifa_flags;
    entry.secondary = ifa->ifa_family == AF_INET && (flags & IFA_F_SECONDARY) != 0;
    entry.usable = (flags & IFA_F_DADFAILED) == 0;
    entry.tentative = (flags & IFA_F_TENTATIVE) != 0;
    entry.global_scope = ifa->ifa_scope == RT_SCOPE_UNIVERSE;
    entry.link_scope = ifa->ifa_scope == RT_SCOPE_LINK;
    return entry;
}

SourceAddresses query_source_addresses(const std::string& ifname)
{
    if (ifname.empty() || ifname.size() >= IFNAMSIZ)
        return {};
    DumpState state;
    state.ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (state.ifindex == 0)
        return {};
    MnlSocketPtr socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!socket || mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return {};
    alignas(nlmsghdr) char request_buffer[kNetlinkRequestBytes] = {};
    nlmsghdr* request = mnl_nlmsg_put_header(request_buffer);
    request->nlmsg_type = RTM_GETADDR;
    request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request->nlmsg_seq = static_cast<std::uint32_t>(std::time(nullptr));
    auto* family = static_cast<rtgenmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(rtgenmsg)));
    family->rtgen_family = AF_UNSPEC;
    if (run_netlink_request(socket.get(), request, on_address, &state) < 0)
        return {};
    return choose_source_addresses(state.addresses);
}

} // namespace mcr
