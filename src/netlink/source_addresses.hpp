// The addresses a translated multicast copy leaves from: per egress
// interface, one IPv4 and one IPv6 address, asked over rtnetlink (the worker
// config's per-output "source_address", core/worker_protocol.hpp).
#pragma once

#include "core/address.hpp"

#include <optional>
#include <span>
#include <string>

struct nlmsghdr;

namespace mcr {

// One address of an interface as an RTM_NEWADDR dump lists it.
struct InterfaceAddress {
    IpAddress address;
    bool secondary = false;   // IPv4: IFA_F_SECONDARY (not the primary address)
    bool usable = true;       // false: IPv6 duplicate address detection failed
    bool global_scope = false; // RT_SCOPE_UNIVERSE (IPv6 link-local: RT_SCOPE_LINK)
    bool link_scope = false;
    bool tentative = false;   // IPv6 duplicate address detection still running: not bindable yet
};

struct SourceAddresses {
    std::optional<IpAddress> ipv4; // the primary address
    std::optional<IpAddress> ipv6; // a global-scope one if any, else a link-local one
};

// From an interface's addresses in dump order. Addresses of host scope
// (127.0.0.1, ::1) and IPv6 ones whose duplicate detection failed are never
// chosen.
[[nodiscard]] SourceAddresses choose_source_addresses(std::span<const InterfaceAddress> addresses);

// RTM_NEWADDR or RTM_DELADDR of either family for interface `ifindex` ->
// its address and flags; nullopt for other messages, interfaces and
// truncated ones.
[[nodiscard]] std::optional<InterfaceAddress> parse_interface_address(const nlmsghdr* message, int ifindex);

// Dumps `ifname`'s addresses (in the caller's network namespace) and
// chooses; both unset when the interface does not exist or on error.
[[nodiscard]] SourceAddresses query_source_addresses(const std::string& ifname);

} // namespace mcr
