// mcrctl's --in and --out arguments: "IF:GROUP:PORT[@SOURCE]" and
// "IF:ADDRESS:PORT[:TTL][+listeners]" (IPv6 addresses in brackets:
// "eth0:[ff05::1]:5000"; "+listeners": the output's "listeners": "required").
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
// "eth1:239.2.2.2:6000:16", "eth1:239.2.2.2:6000+listeners".
[[nodiscard]] std::string format_input_endpoint(const RuleInput& input);
[[nodiscard]] std::string format_output_endpoint(const RuleOutput& output);

} // namespace mcr::ctl
