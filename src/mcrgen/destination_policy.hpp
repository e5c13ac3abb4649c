// Which destinations mcrgen may send to without --force: administratively
// scoped multicast and the documentation ranges, so a typo can never flood a
// real network or a real host.
#pragma once

#include "core/address.hpp"

#include <optional>
#include <string>

namespace mcr::gen {

// nullopt when `destination` is allowed; otherwise the reason it is not.
// Allowed: 239.0.0.0/8, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 2001:db8::/32 and IPv6 multicast with the transient flag (ff1x::, ff3x::, as
// ff15:: and ff3e:: that the tests use).
[[nodiscard]] std::optional<std::string> destination_refusal(const IpAddress& destination);

} // namespace mcr::gen
