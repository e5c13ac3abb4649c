// LinkMonitor: rtnetlink link/address notifications on an sd-event
// loop, kept as a table of links and reported as add/remove/up/down/change.
#include "link_monitor.hpp"

#include "core/c_callback.hpp"
#include "core/log.hpp"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>

namespace mcr {

namespace {

// A larger socket buffer makes ENOBUFS (lost notifications) rarer when many
// links change at once; the kernel caps it at net.core.rmem_max.
constexpr int kSocketBufferBytes = 1024 * 1024;

} // namespace

void MnlSocketCloser::operator()(mnl_socket* socket) const noexcept
{
    (void)mnl_socket_close(socket); // the fd is released either way
}

LinkMonitor::LinkMonitor(Callback callback)
    : callback_(std::move(callback)), receive_buffer_(kNetlinkReceiveBufferBytes)
{
}

LinkMonitor::~LinkMonitor() = default;

int LinkMonitor::start(sd_event* event)
{
    MnlSocketPtr socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!socket)
        return -errno;
    int buffer_bytes = kSocketBufferBytes;
    // Best effort: a smaller buffer only makes a resync more likely.
    (void)mnl_socket_setsockopt(socket.get(), SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    // Subscribe before dumping so that nothing between the two is missed.
    if (mnl_socket_bind(socket.get(), RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0)
        return -errno;
    sd_event_source* source = nullptr;
    int r = sd_event_add_io(event, &source, mnl_socket_get_fd(socket.get()), EPOLLIN,
                            &LinkMonitor::on_readable, this);
    if (r < 0)
        return r;
    io_source_.reset(source);
    (void)sd_event_source_set_description(source, "rtnetlink-links");
    socket_ = std::move(socket);
    dump_sequence_ = static_cast<std::uint32_t>(std::time(nullptr));
    start_resync();
    return stage_ == DumpStage::idle ? -EIO : 0;
}

std::optional<LinkInfo> LinkMonitor::find(std::string_view ifname) const
{
    for (const auto& [index, link] : links_)
        if (link.ifname == ifname)
            return link;
    return std::nullopt;
}

int LinkMonitor::on_readable(sd_event_source* /*source*/, int /*fd*/, std::uint32_t /*revents*/,
                             void* userdata) noexcept
{
    auto* self = static_cast<LinkMonitor*>(userdata);
    (void)guard_callback("Link monitor", [self] {
        if (int r = self->receive(); r < 0)
            log_error("Failed to read rtnetlink messages, ignoring",
                      {{"MCR_ERRNO", std::to_string(-r)}});
        return 0;
    });
    return 0; // an error must not disable the source: the next read may work
}

int LinkMonitor::receive()
{
    while (true) {
        const ssize_t n =
            mnl_socket_recvfrom(socket_.get(), receive_buffer_.data(), receive_buffer_.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            if (errno == ENOBUFS) {
                // Notifications were dropped: our table may be stale.
                log_warning("rtnetlink notifications lost, dumping links again");
                resync_wanted_ = true;
                if (stage_ == DumpStage::idle)
                    start_resync();
                continue;
            }
            return -errno;
        }
        auto remaining = static_cast<int>(n);
        for (auto* message = reinterpret_cast<const nlmsghdr*>(receive_buffer_.data());
             mnl_nlmsg_ok(message, remaining);
             message = mnl_nlmsg_next(message, &remaining))
            handle_message(message);
    }
}

void LinkMonitor::handle_message(const nlmsghdr* message)
{
    const bool ours = message->nlmsg_seq == dump_sequence_ && stage_ != DumpStage::idle;
    switch (message->nlmsg_type) {
    case NLMSG_DONE:
        if (ours)
            handle_dump_done();
        break;
    case NLMSG_ERROR:
        if (ours && mnl_nlmsg_get_payload_len(message) >= sizeof(nlmsgerr)) {
            const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(message));
            log_warning("rtnetlink dump failed, retrying",
                        {{"MCR_ERRNO", std::to_string(-err->error)}});
            stage_ = DumpStage::idle;
            start_resync();
        }
        break;
    case RTM_NEWLINK:
    case RTM_DELLINK:
        handle_link(message);
        break;
    case RTM_NEWADDR:
    case RTM_DELADDR:
        handle_address(message);
        break;
    default:
        break;
    }
}

void LinkMonitor::handle_link(const nlmsghdr* message)
{
    auto parsed = parse_link_message(message);
    if (!parsed)
        return;
    LinkInfo& incoming = *parsed;
    const auto known = links_.find(incoming.ifindex);
    if (message->nlmsg_type == RTM_DELLINK) {
        if (known != links_.end()) {
            const LinkInfo gone = known->second;
            links_.erase(known);
            addresses_.erase(gone.ifindex);
            emit(LinkEventKind::removed, gone);
        }
        return;
    }
    if (stage_ == DumpStage::links)
        seen_in_dump_.insert(incoming.ifindex);
    // While addresses are being dumped the table is partial: keep the old list.
    if (stage_ == DumpStage::addresses && known != links_.end()) {
        incoming.ipv4_addresses = known->second.ipv4_addresses;
        incoming.ipv6_addresses = known->second.ipv6_addresses;
    } else {
        refresh_addresses(incoming, false);
    }
    if (known == links_.end() || known->second.ifname != incoming.ifname) {
        if (known != links_.end()) {
            const LinkInfo renamed_from = known->second;
            links_.erase(known);
            emit(LinkEventKind::removed, renamed_from);
        }
        links_[incoming.ifindex] = incoming;
        emit(LinkEventKind::added, incoming);
        return;
    }
    LinkInfo& link = known->second;
    const LinkInfo before = link;
    link = incoming;
    if (before.up != link.up)
        emit(link.up ? LinkEventKind::up : LinkEventKind::down, link);
    if (before.mac != link.mac || before.ipv4_addresses != link.ipv4_addresses ||
        before.ipv6_addresses != link.ipv6_addresses)
        emit(LinkEventKind::address_changed, link);
    if (before.mtu != link.mtu)
        emit(LinkEventKind::mtu_changed, link);
}

void LinkMonitor::handle_address(const nlmsghdr* message)
{
    const auto parsed = parse_address_message(message);
    if (!parsed)
        return;
    // A tentative IPv6 address counts once its duplicate detection is done.
    if (message->nlmsg_type == RTM_NEWADDR && parsed->usable)
        addresses_[parsed->ifindex].insert(parsed->address);
    else
        addresses_[parsed->ifindex].erase(parsed->address);
    // During a dump the link stage compares all addresses at once.
    if (stage_ != DumpStage::addresses)
        if (auto link = links_.find(parsed->ifindex); link != links_.end())
            refresh_addresses(link->second, true);
}

void LinkMonitor::refresh_addresses(LinkInfo& link, bool report)
{
    const auto found = addresses_.find(link.ifindex);
    std::vector<IpAddress> ipv4;
    std::vector<IpAddress> ipv6;
    if (found != addresses_.end())
        for (const IpAddress& address : found->second) // sorted, so each list is too
            (address.is_ipv4() ? ipv4 : ipv6).push_back(address);
    if (ipv4 == link.ipv4_addresses && ipv6 == link.ipv6_addresses)
        return;
    link.ipv4_addresses = std::move(ipv4);
    link.ipv6_addresses = std::move(ipv6);
    if (report)
        emit(LinkEventKind::address_changed, link);
}

void LinkMonitor::handle_dump_done()
{
    if (stage_ == DumpStage::addresses) {
        stage_ = DumpStage::links;
        seen_in_dump_.clear();
        if (request_dump(RTM_GETLINK) < 0)
            stage_ = DumpStage::idle;
        return;
    }
    // Links the dump did not mention were removed while notifications were lost.
    for (auto it = links_.begin(); it != links_.end();) {
        if (seen_in_dump_.count(it->first) == 0) {
            const LinkInfo gone = it->second;
            it = links_.erase(it);
            addresses_.erase(gone.ifindex);
            emit(LinkEventKind::removed, gone);
        } else {
            ++it;
        }
    }
    stage_ = DumpStage::idle;
    synced_ = true;
    if (resync_wanted_)
        start_resync();
}

void LinkMonitor::start_resync()
{
    resync_wanted_ = false;
    // Addresses first, so that links reported by the link dump carry them.
    addresses_.clear();
    stage_ = DumpStage::addresses;
    if (request_dump(RTM_GETADDR) < 0) {
        log_error("Failed to request an rtnetlink dump", {{"MCR_ERRNO", std::to_string(errno)}});
        stage_ = DumpStage::idle;
    }
}

int LinkMonitor::request_dump(int message_type)
{
    alignas(nlmsghdr) char buffer[kNetlinkRequestBytes] = {};
    nlmsghdr* request = mnl_nlmsg_put_header(buffer);
    request->nlmsg_type = static_cast<std::uint16_t>(message_type);
    request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request->nlmsg_seq = ++dump_sequence_;
    auto* family = static_cast<rtgenmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(rtgenmsg)));
    family->rtgen_family = AF_UNSPEC;
    if (mnl_socket_sendto(socket_.get(), request, request->nlmsg_len) < 0)
        return -errno;
    return 0;
}

void LinkMonitor::emit(LinkEventKind kind, const LinkInfo& link)
{
    if (!callback_)
        return;
    callback_(LinkEvent{kind, link.ifname, link.ifindex, link.mtu, link.mac, link.up,
                        link.ipv4_addresses, link.ipv6_addresses});
}

} // namespace mcr
