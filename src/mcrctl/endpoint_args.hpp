// mcrctl's --in and --out arguments: "IF:GROUP:PORT[@SOURCE]" and
// "IF:ADDRESS:PORT[:TTL][+listeners]"; IPv6 addresses only in brackets, the
// TTL then being the hop limit: "eth0:[ff3e::1]:5000@[2001:db8::1]",
// "eth1:[ff3e::2]:6000:8"; "+listeners": the output's "listeners": "required".
// Strict: every part must be present and well-formed; errors quote the whole
// argument and name the bad part.
#pragma once

#include "result.hpp"
#include "rule.hpp"

#include <string_view>

namespace mcr::ctl {

[[nodiscard]] Result<RuleInput> parse_input_endpoint(std::string_view text);
[[nodiscard]] Result<RuleOutput> parse_output_endpoint(std::string_view text);

// The reverse, as `mcrctl list` shows endpoints: "eth0:239.1.1.1:5000@192.0.2.1",
// "eth1:239.2.2.2:6000:16", "eth0:[ff3e::1]:5000@[2001:db8::1]",
// "eth1:239.2.2.2:6000+listeners".
[[nodiscard]] std::string format_input_endpoint(const RuleInput& input);
[[nodiscard]] std::string format_output_endpoint(const RuleOutput& output);

// An address as every mcrctl table shows it: IPv6 in brackets ("[ff3e::1]").
// The text form takes the daemon's spelling and leaves anything that is not
// an address as it is.
[[nodiscard]] std::string format_address(const IpAddress& address);
[[nodiscard]] std::string format_address(const std::string& text);

} // namespace mcr::ctl
