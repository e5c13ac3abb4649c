// The model's constraints on rules and rule sets; every error names the
// field the way a user wrote it and quotes the value that broke the rule.
#include "rule_validation.hpp"

#include "quote.hpp"

#include <net/if.h>

#include <map>
#include <tuple>

namespace mcr {

namespace {

std::string join_path(const std::string& prefix, const std::string& field)
{
    return prefix.empty() ? field : prefix + "." + field;
}

// "eth0 239.1.1.1:5000", "eth0 [ff3e::1]:5000" (plus " source 192.0.2.1"
// for SSM inputs): how an endpoint is named in duplicate/loop errors.
std::string describe_endpoint(const std::string& interface, const IpAddress& address,
                              std::uint16_t port)
{
    return interface + " " + endpoint_text(address, port);
}

std::string describe_input(const RuleInput& input)
{
    std::string text = describe_endpoint(input.interface, input.address, input.port);
    if (input.source)
        text += " source " + input.source->to_string();
    return text;
}

constexpr std::uint8_t kInterfaceLocalScope = 0x1;
constexpr std::uint8_t kLinkLocalScope = 0x2;
constexpr std::uint8_t kReservedScopeLow = 0x0;
constexpr std::uint8_t kReservedScopeHigh = 0xf;

const char* const kLinkLocalOptIn = "set allow_link_local (mcrctl --allow-link-local) to relay it";

// IPv6 addresses a rule cannot use (or, link-local ones, only with the
// rule's opt-in). IPv4-mapped addresses are IPv4 traffic in disguise: the
// rule must say which family it means.
std::string ipv6_problem(const IpAddress& address, bool allow_link_local)
{
    if (address.is_ipv4())
        return {};
    const std::string value = quoted_text(address.to_string());
    if (address.is_ipv4_mapped())
        return "must not be an IPv4-mapped IPv6 address (write the IPv4 address " +
               quoted_text(address.mapped_ipv4().to_string()) +
               " itself), got " + value;
    if (address.is_multicast()) {
        const std::uint8_t scope = address.multicast_scope();
        // Interface-local groups never leave the host that sends them.
        if (scope == kInterfaceLocalScope)
            return "must not be an interface-local multicast group (scope 1, ffX1::), got " + value;
        if (scope == kReservedScopeLow || scope == kReservedScopeHigh)
            return std::string("must not be a multicast group of reserved scope ") +
                   (scope == kReservedScopeLow ? "0 (ffX0::)" : "f (ffXf::)") + ", got " + value;
        if (scope == kLinkLocalScope && !allow_link_local)
            return std::string("is a link-local multicast group (scope 2, ffX2::): ") + kLinkLocalOptIn +
                   ", got " + value;
        return {};
    }
    if (address.is_link_local_unicast() && !allow_link_local)
        return std::string("is a link-local unicast address (fe80::/10): ") + kLinkLocalOptIn +
               ", got " + value;
    return {};
}

// Addresses no packet can usefully be sent to or received on.
std::string unusable_address_problem(const IpAddress& address, bool allow_link_local)
{
    if (address.is_unspecified())
        return "must not be the unspecified address, got " + quoted_text(address.to_string());
    if (address.is_limited_broadcast())
        return "must not be the broadcast address, got " + quoted_text(address.to_string());
    return ipv6_problem(address, allow_link_local);
}

std::string input_address_problem(const IpAddress& address, bool allow_link_local)
{
    // Loopback traffic never arrives on the interfaces a rule names.
    if (address.is_loopback())
        return "must not be a loopback address, got " + quoted_text(address.to_string());
    return unusable_address_problem(address, allow_link_local);
}

std::string source_problem(const RuleInput& input, bool allow_link_local)
{
    const IpAddress& source = *input.source;
    if (source.family() != input.address.family())
        return "must be the same address family as input.address " +
               quoted_text(input.address.to_string()) + ", got " + quoted_text(source.to_string());
    if (!input.address.is_multicast())
        return "only allowed when input.address is multicast (source-specific multicast), "
               "got source " + quoted_text(source.to_string()) + " for unicast input.address " +
               quoted_text(input.address.to_string());
    if (source.is_multicast() || source.is_unspecified() || source.is_limited_broadcast() ||
        source.is_loopback())
        return "must be a unicast sender address, got " + quoted_text(source.to_string());
    return ipv6_problem(source, allow_link_local);
}

Status fail(std::string path, std::string reason)
{
    return Error{std::move(path), std::move(reason)};
}

// Interface, address and port, which inputs and outputs share; the address
// rules differ (an input must also not be loopback), hence `address_problem`.
template <typename Endpoint>
Status validate_endpoint(const Endpoint& endpoint, const std::string& path,
                         std::string (*address_problem)(const IpAddress&, bool), bool allow_link_local)
{
    if (std::string problem = interface_name_problem(endpoint.interface); !problem.empty())
        return fail(join_path(path, "interface"), problem);
    if (std::string problem = address_problem(endpoint.address, allow_link_local); !problem.empty())
        return fail(join_path(path, "address"), problem);
    if (endpoint.port == 0)
        return fail(join_path(path, "port"), "must be 1..65535, got 0");
    return Ok{};
}

Status validate_output(const RuleOutput& output, const std::string& path, bool allow_link_local)
{
    if (Status s = validate_endpoint(output, path, unusable_address_problem, allow_link_local); !s)
        return s;
    if (output.ttl && *output.ttl == 0)
        return fail(join_path(path, "ttl"), "must be 1..255, got 0");
    // Only a multicast group has listeners that IGMP/MLD can report.
    if (output.listeners == ListenerPolicy::required && !output.address.is_multicast())
        return fail(join_path(path, "listeners"),
                    "\"required\" needs a multicast output address, got " + output.address.to_string());
    return Ok{};
}

Status validate_input(const RuleInput& input, const std::string& path, bool allow_link_local)
{
    if (Status s = validate_endpoint(input, path, input_address_problem, allow_link_local); !s)
        return s;
    if (input.source)
        if (std::string problem = source_problem(input, allow_link_local); !problem.empty())
            return fail(join_path(path, "source"), problem);
    return Ok{};
}

bool same_destination(const RuleOutput& a, const RuleOutput& b)
{
    return a.interface == b.interface && a.address == b.address && a.port == b.port;
}

bool loops_into(const RuleOutput& output, const RuleInput& input)
{
    return output.interface == input.interface && output.address == input.address &&
           output.port == input.port;
}

Status validate_outputs(const Rule& rule, const std::string& path)
{
    const std::string outputs_path = join_path(path, "outputs");
    if (rule.outputs.empty())
        return fail(outputs_path, "must list at least one output, got none");
    if (rule.outputs.size() > kMaxOutputsPerRule)
        return fail(outputs_path, "must list at most " + std::to_string(kMaxOutputsPerRule) +
                                      " outputs, got " + std::to_string(rule.outputs.size()));
    for (std::size_t i = 0; i < rule.outputs.size(); ++i) {
        const RuleOutput& output = rule.outputs[i];
        const std::string output_path = outputs_path + "[" + std::to_string(i) + "]";
        if (Status s = validate_output(output, output_path, rule.allow_link_local); !s)
            return s;
        if (loops_into(output, rule.input))
            return fail(output_path, "output would loop back into its own input (" +
                                         describe_endpoint(output.interface, output.address,
                                                           output.port) + ")");
        for (std::size_t j = 0; j < i; ++j)
            if (same_destination(rule.outputs[j], output))
                return fail(output_path,
                            "duplicate of outputs[" + std::to_string(j) + "] (" +
                                describe_endpoint(output.interface, output.address, output.port) +
                                ")");
    }
    return Ok{};
}

using InputKey = std::tuple<std::string, IpAddress, std::uint16_t, std::optional<IpAddress>>;

InputKey input_key(const RuleInput& input)
{
    return {input.interface, input.address, input.port, input.source};
}

std::string too_many_rules(std::size_t count, std::size_t max_rules)
{
    return "too many rules: " + std::to_string(count) + ", at most " +
           std::to_string(max_rules) + " allowed";
}

} // namespace

std::string interface_name_problem(std::string_view name)
{
    if (name.empty())
        return "interface name must not be empty";
    // IFNAMSIZ counts the terminating NUL, so the kernel takes 15 bytes.
    if (name.size() >= IFNAMSIZ)
        return "interface name " + quoted_text(name) + " is " + std::to_string(name.size()) +
               " bytes, at most " + std::to_string(IFNAMSIZ - 1) + " allowed";
    if (name == "." || name == "..")
        return "interface name must not be " + quoted_text(name);
    for (const char c : name) {
        if (c == '/' || c == ':' || c == '@')
            return "interface name " + quoted_text(name) + " must not contain '" + std::string(1, c) +
                   "'";
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
            return "interface name " + quoted_text(name) + " must not contain whitespace";
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return "interface name " + quoted_text(name) + " must not contain control characters";
    }
    return {};
}

Status validate_rule(const Rule& rule, const std::string& path)
{
    if (std::string problem = rule_name_problem(rule.name); !problem.empty())
        return fail(join_path(path, "name"), problem);
    if (Status s = validate_input(rule.input, join_path(path, "input"), rule.allow_link_local); !s)
        return s;
    return validate_outputs(rule, path);
}

Status validate_rule_set(const RuleSet& set, std::size_t max_rules)
{
    if (set.rules.size() > max_rules)
        return fail("rules", too_many_rules(set.rules.size(), max_rules));
    std::map<std::string, std::size_t> index_by_name;
    std::map<InputKey, std::size_t> index_by_input;
    for (std::size_t i = 0; i < set.rules.size(); ++i) {
        const Rule& rule = set.rules[i];
        const std::string path = "rules[" + std::to_string(i) + "]";
        if (Status s = validate_rule(rule, path); !s)
            return s;
        if (auto [it, added] = index_by_name.emplace(rule.name, i); !added)
            return fail(path + ".name", "duplicate rule name " + quoted_text(rule.name) + " (also rules[" +
                                            std::to_string(it->second) + "])");
        if (auto [it, added] = index_by_input.emplace(input_key(rule.input), i); !added)
            return fail(path + ".input", "duplicate input " + describe_input(rule.input) +
                                             " (also rules[" + std::to_string(it->second) + "])");
    }
    return Ok{};
}

Status validate_new_rule(const RuleSet& set, const Rule& rule, std::size_t max_rules)
{
    if (Status s = validate_rule(rule); !s)
        return s;
    if (set.rules.size() >= max_rules)
        return fail("", too_many_rules(set.rules.size() + 1, max_rules));
    for (const Rule& existing : set.rules) {
        if (existing.name == rule.name)
            return fail("name", "a rule named " + quoted_text(rule.name) + " already exists");
        if (input_key(existing.input) == input_key(rule.input))
            return fail("input", "rule " + quoted_text(existing.name) + " already has input " +
                                     describe_input(rule.input));
    }
    return Ok{};
}

} // namespace mcr
