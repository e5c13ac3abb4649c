// query_link(): one link's state by name, asked synchronously over a
// short-lived rtnetlink socket (RTM_GETLINK by IFLA_IFNAME, then its
// addresses from an RTM_GETADDR dump).
#include "link_monitor.hpp"
#include "netlink_request.hpp"

#include "core/c_callback.hpp"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <ctime>
#include <vector>

namespace mcr {

namespace {

struct QueryState {
    std::optional<LinkInfo> link;
    std::vector<IpAddress> addresses;
    int ifindex = 0;
};

// libmnl callbacks are called from C: nothing in them may throw, so they
// only parse and store (std::bad_alloc is the one risk: the guard turns it
// into MNL_CB_ERROR, which ends the query).
int on_link_reply(const nlmsghdr* message, void* data) noexcept
{
    return guard_callback("Reading a link reply", [message, data] {
        static_cast<QueryState*>(data)->link = parse_link_message(message);
        return MNL_CB_OK;
    }, MNL_CB_ERROR);
}

int on_address_reply(const nlmsghdr* message, void* data) noexcept
{
    auto* state = static_cast<QueryState*>(data);
    return guard_callback("Reading an address reply", [message, state] {
        if (auto parsed = parse_address_message(message);
            parsed && parsed->ifindex == state->ifindex && parsed->usable)
            state->addresses.push_back(parsed->address);
        return MNL_CB_OK;
    }, MNL_CB_ERROR);
}

} // namespace

int run_netlink_request(mnl_socket* socket, nlmsghdr* request, mnl_cb_t callback, void* data)
{
    const unsigned port_id = mnl_socket_get_portid(socket);
    if (mnl_socket_sendto(socket, request, request->nlmsg_len) < 0)
        return -errno;
    std::vector<char> buffer(kNetlinkReceiveBufferBytes);
    while (true) {
        const ssize_t n = mnl_socket_recvfrom(socket, buffer.data(), buffer.size());
        if (n < 0)
            return -errno;
        const int r = mnl_cb_run(buffer.data(), static_cast<std::size_t>(n), request->nlmsg_seq,
                                 port_id, callback, data);
        if (r < 0)
            return -errno;
        if (r == MNL_CB_STOP || (request->nlmsg_flags & NLM_F_DUMP) == 0)
            return 0;
    }
}

std::optional<LinkInfo> query_link(const std::string& ifname)
{
    if (ifname.empty() || ifname.size() >= IFNAMSIZ)
        return std::nullopt;
    MnlSocketPtr socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!socket || mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return std::nullopt;
    auto sequence = static_cast<std::uint32_t>(std::time(nullptr));

    alignas(nlmsghdr) char request_buffer[kNetlinkRequestBytes] = {};
    nlmsghdr* request = mnl_nlmsg_put_header(request_buffer);
    request->nlmsg_type = RTM_GETLINK;
    request->nlmsg_flags = NLM_F_REQUEST;
    request->nlmsg_seq = ++sequence;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(request, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(request, IFLA_IFNAME, ifname.c_str());
    QueryState state;
    // ENODEV (no such link) arrives as an NLMSG_ERROR reply: r < 0.
    if (run_netlink_request(socket.get(), request, on_link_reply, &state) < 0 || !state.link)
        return std::nullopt;

    request = mnl_nlmsg_put_header(request_buffer);
    request->nlmsg_type = RTM_GETADDR;
    request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request->nlmsg_seq = ++sequence;
    auto* family = static_cast<rtgenmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(rtgenmsg)));
    family->rtgen_family = AF_UNSPEC;
    state.ifindex = state.link->ifindex;
    if (run_netlink_request(socket.get(), request, on_address_reply, &state) < 0)
        return std::nullopt;
    std::sort(state.addresses.begin(), state.addresses.end(), IpAddressOrder{});
    for (const IpAddress& address : state.addresses)
        (address.is_ipv4() ? state.link->ipv4_addresses : state.link->ipv6_addresses).push_back(address);
    return state.link;
}

} // namespace mcr
