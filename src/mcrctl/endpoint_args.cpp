// Parses and prints mcrctl's IF:ADDRESS:PORT endpoint syntax.
#include "endpoint_args.hpp"

#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace mcr::ctl {
namespace {

constexpr std::string_view kInputSyntax = "IF:GROUP:PORT[@SOURCE]";
constexpr std::string_view kOutputSyntax = "IF:ADDRESS:PORT[:TTL][+listeners]";
// The output's "listeners": "required". The fields before it end in a
// number (port or TTL), so the suffix can never be part of one.
constexpr std::string_view kListenersSuffix = "+listeners";

Error endpoint_error(std::string_view option, std::string_view text, const std::string& reason)
{
    return Error{"", std::string(option) + " '" + std::string(text) + "': " + reason};
}

// Splits at ':' but keeps a bracketed IPv6 address in one piece (brackets
// removed). nullopt when a bracket is unbalanced.
std::optional<std::vector<std::string>> split_fields(std::string_view text)
{
    std::vector<std::string> fields(1);
    bool in_brackets = false;
    for (char c : text) {
        if (c == '[' && !in_brackets && fields.back().empty()) {
            in_brackets = true;
        } else if (c == ']' && in_brackets) {
            in_brackets = false;
        } else if (c == ':' && !in_brackets) {
            fields.emplace_back();
        } else {
            fields.back() += c;
        }
    }
    if (in_brackets)
        return std::nullopt;
    return fields;
}

std::optional<unsigned> parse_number(std::string_view text, unsigned min, unsigned max)
{
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        return std::nullopt;
    return value;
}

// The three fields every endpoint has. `option` and `text` only for errors.
struct CommonFields {
    std::string interface;
    IpAddress address;
    std::uint16_t port = 0;
};

Result<CommonFields> parse_common(std::string_view option, std::string_view text,
                                  const std::vector<std::string>& fields, std::string_view address_role)
{
    CommonFields common;
    if (fields[0].empty())
        return endpoint_error(option, text, "interface is empty");
    common.interface = fields[0];
    auto address = IpAddress::parse(fields[1]);
    if (!address)
        return endpoint_error(option, text, std::string(address_role) + " '" + fields[1] + "' is not an IP address");
    common.address = *address;
    auto port = parse_number(fields[2], 1, 65535);
    if (!port)
        return endpoint_error(option, text, "port '" + fields[2] + "' must be 1..65535");
    common.port = static_cast<std::uint16_t>(*port);
    return common;
}

std::string address_text(const IpAddress& address)
{
    return address.is_ipv4() ? address.to_string() : "[" + address.to_string() + "]";
}

} // namespace

Result<RuleInput> parse_input_endpoint(std::string_view text)
{
    constexpr std::string_view kOption = "--in";
    std::string_view main_part = text;
    std::optional<std::string_view> source_text;
    // '@' never occurs in interface names or addresses, so the last one
    // starts the source.
    if (auto at = text.rfind('@'); at != std::string_view::npos) {
        main_part = text.substr(0, at);
        source_text = text.substr(at + 1);
    }
    auto fields = split_fields(main_part);
    if (!fields || fields->size() != 3)
        return endpoint_error(kOption, text, "expected " + std::string(kInputSyntax));
    auto common = parse_common(kOption, text, *fields, "group");
    if (!common)
        return common.error();
    RuleInput input{common->interface, common->address, common->port, std::nullopt};
    if (source_text) {
        std::string_view source = *source_text;
        if (source.size() >= 2 && source.front() == '[' && source.back() == ']')
            source = source.substr(1, source.size() - 2);
        auto address = IpAddress::parse(source);
        if (!address)
            return endpoint_error(kOption, text, "source '" + std::string(*source_text) + "' is not an IP address");
        input.source = *address;
    }
    return input;
}

Result<RuleOutput> parse_output_endpoint(std::string_view text)
{
    constexpr std::string_view kOption = "--out";
    std::string_view main_part = text;
    const bool listeners_required = main_part.ends_with(kListenersSuffix);
    if (listeners_required)
        main_part.remove_suffix(kListenersSuffix.size());
    auto fields = split_fields(main_part);
    if (!fields || fields->size() < 3 || fields->size() > 4)
        return endpoint_error(kOption, text, "expected " + std::string(kOutputSyntax));
    auto common = parse_common(kOption, text, *fields, "address");
    if (!common)
        return common.error();
    RuleOutput output{common->interface, common->address, common->port, std::nullopt};
    if (fields->size() == 4) {
        auto ttl = parse_number((*fields)[3], 1, 255);
        if (!ttl)
            return endpoint_error(kOption, text, "TTL '" + (*fields)[3] + "' must be 1..255");
        output.ttl = static_cast<std::uint8_t>(*ttl);
    }
    if (listeners_required)
        output.listeners = ListenerPolicy::required;
    return output;
}

std::string format_input_endpoint(const RuleInput& input)
{
    std::string text = input.interface + ":" + address_text(input.address) + ":" + std::to_string(input.port);
    if (input.source)
        text += "@" + address_text(*input.source);
    return text;
}

std::string format_output_endpoint(const RuleOutput& output)
{
    std::string text = output.interface + ":" + address_text(output.address) + ":" + std::to_string(output.port);
    if (output.ttl)
        text += ":" + std::to_string(*output.ttl);
    if (output.listeners == ListenerPolicy::required)
        text += kListenersSuffix;
    return text;
}

} // namespace mcr::ctl
