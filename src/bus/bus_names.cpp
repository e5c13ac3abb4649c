// Derivation of bus names and rule object paths from user-chosen names.
#include "bus_names.hpp"

#include "core/c_owned.hpp"

#include <systemd/sd-bus.h>

#include <cstdlib>
#include <memory>

namespace mcr::bus {

namespace {

constexpr std::size_t kMaxNamespaceLength = 64;
constexpr char kHexDigits[] = "0123456789abcdef";

bool is_ascii_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// Takes ownership of a malloc()ed string from sd-bus.
std::string adopt_c_string(char* text)
{
    return to_string(CString(text));
}

} // namespace

std::string namespace_name_problem(std::string_view ns)
{
    if (ns.empty())
        return "must not be empty";
    if (ns.size() > kMaxNamespaceLength)
        return "must be at most 64 bytes, got " + std::to_string(ns.size());
    if (ns == "." || ns == "..")
        return "must not be '" + std::string(ns) + "'";
    for (char c : ns) {
        if (c == '/')
            return "must not contain '/', got '" + std::string(ns) + "'";
        if (c <= ' ' || c > '~')
            return "must be printable ASCII without spaces, got '" + std::string(ns) + "'";
    }
    return {};
}

std::string escape_bus_name_element(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        // A bus name element must not start with a digit.
        const bool leading_digit = i == 0 && c >= '0' && c <= '9';
        if (is_ascii_alnum(c) && !leading_digit) {
            out += c;
            continue;
        }
        const auto byte = static_cast<unsigned char>(c);
        out += '_';
        out += kHexDigits[byte >> 4];
        out += kHexDigits[byte & 0xf];
    }
    return out;
}

std::string relay_bus_name(std::string_view ns)
{
    if (ns.empty())
        return kBusName;
    return std::string(kBusName) + ".ns." + escape_bus_name_element(ns);
}

std::string rule_object_path(std::string_view rule_name)
{
    char* path = nullptr;
    if (sd_bus_path_encode(kRulePathPrefix, std::string(rule_name).c_str(), &path) < 0)
        return {};
    return adopt_c_string(path);
}

std::string rule_name_from_path(const char* path)
{
    char* name = nullptr;
    if (sd_bus_path_decode(path, kRulePathPrefix, &name) <= 0)
        return {};
    // sd_bus_path_decode takes the whole rest, deeper levels included; no
    // rule name contains '/', so such paths name no rule.
    std::string decoded = adopt_c_string(name);
    return decoded.find('/') == std::string::npos ? decoded : std::string();
}

} // namespace mcr::bus
