// Parses and prints mcrctl's IF:ADDRESS:PORT endpoint syntax. IPv6 addresses
// are always bracketed ("eth0:[ff3e::1]:5000"): the colons of an address
// would otherwise be indistinguishable from the field separators, so an
// unbracketed one is refused with the bracketed syntax in the error.
#include "endpoint_args.hpp"

#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace mcr::ctl {
namespace {

constexpr std::string_view kInputSyntax = "IF:GROUP:PORT[@SOURCE]";
constexpr std::string_view kOutputSyntax = "IF:ADDRESS:PORT[:TTL]";
constexpr std::string_view kBracketedInputSyntax = "IF:[GROUP]:PORT[@[SOURCE]]";
constexpr std::string_view kBracketedOutputSyntax = "IF:[ADDRESS]:PORT[:HOPLIMIT]";

Error endpoint_error(std::string_view option, std::string_view text, const std::string& reason)
{
    return Error{"", std::string(option) + " '" + std::string(text) + "': " + reason};
}

// One ':'-separated part; `bracketed` when it was written "[...]".
struct Field {
    std::string text;
    bool bracketed = false;
};

// Splits at ':' but keeps a bracketed IPv6 address in one piece (brackets
// removed). A bracket anywhere but around a whole field is an error.
Result<std::vector<Field>> split_fields(std::string_view text)
{
    std::vector<Field> fields(1);
    bool in_brackets = false;
    bool closed = false; // the current field's ']' was seen: only ':' may follow
    for (char c : text) {
        if (c == ':' && !in_brackets) {
            fields.emplace_back();
            closed = false;
        } else if (closed) {
            return Error{"", "brackets must enclose the whole address: [ADDR]"};
        } else if (c == '[' && !in_brackets && fields.back().text.empty() && !fields.back().bracketed) {
            in_brackets = true;
            fields.back().bracketed = true;
        } else if (c == ']' && in_brackets) {
            in_brackets = false;
            closed = true;
        } else if (c == '[' || c == ']') {
            return Error{"", std::string(c == '[' ? "'[' inside" : "']' without '[' before") +
                                 " an address; IPv6 addresses are written [ADDR]"};
        } else {
            fields.back().text += c;
        }
    }
    if (in_brackets)
        return Error{"", "'[' without a closing ']'"};
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

// An address as written in one field: IPv6 only in brackets, IPv4 never,
// no zone suffix (the interface has its own field). `role` names the field
// in errors ("group", "address", "source").
Result<IpAddress> parse_address(const Field& field, std::string_view role)
{
    const std::string written = field.bracketed ? "[" + field.text + "]" : field.text;
    if (const std::string_view zone = zone_suffix(field.text); !zone.empty())
        return Error{"", std::string(role) + " '" + written + "' carries the zone suffix '" + std::string(zone) +
                             "': the interface is named by the IF part, so leave it out"};
    auto address = IpAddress::parse(field.text);
    if (!address)
        return Error{"", std::string(role) + " '" + written + "' is not an IP address"};
    if (field.bracketed && address->is_ipv4())
        return Error{"", std::string(role) + " '" + written + "': brackets are for IPv6 addresses only"};
    if (!field.bracketed && !address->is_ipv4())
        return Error{"", std::string(role) + " '" + written + "' must be written in brackets: [" + field.text + "]"};
    return *address;
}

// Whether fields 1..n-trailing of an unbracketed argument join into an IPv6
// address (zone suffix or not) for some allowed number of trailing fields:
// then its colons were taken for separators. Which split was meant cannot be
// told ("ff3e::1:5000" is an address too), so the error shows the syntax
// rather than guessing a corrected argument.
bool looks_like_unbracketed_ipv6(const std::vector<Field>& fields, std::size_t max_trailing)
{
    for (const Field& field : fields)
        if (field.bracketed)
            return false;
    for (std::size_t trailing = 1; trailing <= max_trailing && trailing + 2 <= fields.size(); ++trailing) {
        std::string candidate;
        for (std::size_t i = 1; i + trailing < fields.size(); ++i)
            candidate += (i == 1 ? "" : ":") + fields[i].text;
        const std::string_view zone = zone_suffix(candidate);
        const auto address = IpAddress::parse(std::string_view(candidate).substr(0, candidate.size() - zone.size()));
        if (address && !address->is_ipv4())
            return true;
    }
    return false;
}

// The three fields every endpoint has. `option` and `text` only for errors.
struct CommonFields {
    std::string interface;
    IpAddress address;
    std::uint16_t port = 0;
};

Result<CommonFields> parse_common(std::string_view option, std::string_view text, const std::vector<Field>& fields,
                                  std::string_view address_role)
{
    CommonFields common;
    if (fields[0].bracketed)
        return endpoint_error(option, text, "interface '[" + fields[0].text + "]' must not be in brackets");
    if (fields[0].text.empty())
        return endpoint_error(option, text, "interface is empty");
    common.interface = fields[0].text;
    auto address = parse_address(fields[1], address_role);
    if (!address)
        return endpoint_error(option, text, address.error().message());
    common.address = *address;
    auto port = parse_number(fields[2].text, 1, 65535);
    if (!port || fields[2].bracketed)
        return endpoint_error(option, text, "port '" + fields[2].text + "' must be 1..65535");
    common.port = static_cast<std::uint16_t>(*port);
    return common;
}

// Splits `text` and checks the field count, or says what is wrong (the
// caller adds the option and the whole argument).
Result<std::vector<Field>> endpoint_fields(std::string_view text, std::string_view syntax,
                                           std::string_view bracketed_syntax, std::size_t max_trailing)
{
    auto fields = split_fields(text);
    if (!fields)
        return fields.error();
    if (looks_like_unbracketed_ipv6(*fields, max_trailing))
        return Error{"", "an IPv6 address must be written in brackets: " + std::string(bracketed_syntax)};
    if (fields->size() < 3 || fields->size() > 2 + max_trailing)
        return Error{"", "expected " + std::string(syntax)};
    return fields;
}

// "@SOURCE" of --in: one address, bracketed when IPv6.
Result<IpAddress> parse_source(std::string_view text)
{
    auto fields = split_fields(text);
    if (!fields)
        return Error{"", "source: " + fields.error().message()};
    // More than one field: an unbracketed IPv6 source, whose colons split it;
    // parse_address explains that (or the zone, or that it is no address).
    if (fields->size() != 1)
        return parse_address(Field{std::string(text), false}, "source");
    return parse_address(fields->front(), "source");
}

} // namespace

std::string format_address(const IpAddress& address)
{
    return address.is_ipv4() ? address.to_string() : "[" + address.to_string() + "]";
}

std::string format_address(const std::string& text)
{
    const auto address = IpAddress::parse(text);
    return address ? format_address(*address) : text;
}

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
    auto fields = endpoint_fields(main_part, kInputSyntax, kBracketedInputSyntax, 1);
    if (!fields)
        return endpoint_error(kOption, text, fields.error().message());
    auto common = parse_common(kOption, text, *fields, "group");
    if (!common)
        return common.error();
    RuleInput input{common->interface, common->address, common->port, std::nullopt};
    if (source_text) {
        auto source = parse_source(*source_text);
        if (!source)
            return endpoint_error(kOption, text, source.error().message());
        input.source = *source;
    }
    return input;
}

Result<RuleOutput> parse_output_endpoint(std::string_view text)
{
    constexpr std::string_view kOption = "--out";
    auto fields = endpoint_fields(text, kOutputSyntax, kBracketedOutputSyntax, 2);
    if (!fields)
        return endpoint_error(kOption, text, fields.error().message());
    auto common = parse_common(kOption, text, *fields, "address");
    if (!common)
        return common.error();
    RuleOutput output{common->interface, common->address, common->port, std::nullopt};
    if (fields->size() == 4) {
        // The IPv6 name of the same field: the hop limit.
        const char* label = output.address.is_ipv4() ? "TTL" : "hop limit";
        auto ttl = parse_number((*fields)[3].text, 1, 255);
        if (!ttl || (*fields)[3].bracketed)
            return endpoint_error(kOption, text, std::string(label) + " '" + (*fields)[3].text + "' must be 1..255");
        output.ttl = static_cast<std::uint8_t>(*ttl);
    }
    return output;
}

std::string format_input_endpoint(const RuleInput& input)
{
    std::string text = input.interface + ":" + format_address(input.address) + ":" + std::to_string(input.port);
    if (input.source)
        text += "@" + format_address(*input.source);
    return text;
}

std::string format_output_endpoint(const RuleOutput& output)
{
    std::string text = output.interface + ":" + format_address(output.address) + ":" + std::to_string(output.port);
    if (output.ttl)
        text += ":" + std::to_string(*output.ttl);
    return text;
}

} // namespace mcr::ctl
