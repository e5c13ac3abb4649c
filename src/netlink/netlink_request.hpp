// One synchronous rtnetlink request (or dump) on a short-lived socket,
// shared by the one-shot queries of this folder (query_link, tc filters).
#pragma once

#include <libmnl/libmnl.h>

namespace mcr {

// Sends `request` and feeds every reply to `callback` (with `data`) until the
// kernel says done (a dump) or answers the single request. 0 or a negative
// errno; an NLMSG_ERROR reply (ENODEV, EINVAL...) comes back as its errno.
[[nodiscard]] int run_netlink_request(mnl_socket* socket, nlmsghdr* request, mnl_cb_t callback, void* data);

} // namespace mcr
