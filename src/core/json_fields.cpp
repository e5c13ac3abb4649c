// Field readers shared by every JSON input mcrd reads (see json_fields.hpp).
#include "json_fields.hpp"

#include "quote.hpp"

#include <algorithm>

namespace mcr {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxQuotedJsonChars = 60; // keeps error messages one readable line

Result<const json*> required_field(const json& j, const std::string& path, std::string_view key)
{
    const auto it = j.find(key);
    if (it == j.end())
        return Error{key_path(path, key), "missing required key"};
    return &*it;
}

} // namespace

std::string describe_json(const json& value)
{
    // Only flat values are dumped: dump() recurses, and a value built in code
    // may nest arbitrarily deep.
    const bool flat = !value.is_structured() ||
                      std::none_of(value.begin(), value.end(),
                                   [](const json& element) { return element.is_structured(); });
    if (!flat)
        return value.is_array() ? "[...]" : "{...}";
    std::string text = value.dump(-1, ' ', true, json::error_handler_t::replace);
    if (text.size() > kMaxQuotedJsonChars) {
        text.resize(kMaxQuotedJsonChars - 3);
        text += "...";
    }
    return text;
}

std::string key_path(const std::string& path, std::string_view key)
{
    const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!plain)
        return path + "[" + quoted_text(key) + "]";
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

Error type_error(const std::string& path, std::string_view expected, const json& value)
{
    return Error{path, "must be " + std::string(expected) + ", got " + describe_json(value)};
}

Status check_object(const json& j, const std::string& path, std::initializer_list<std::string_view> allowed,
                    std::initializer_list<std::string_view> required)
{
    if (!j.is_object())
        return type_error(path, "an object", j);
    for (const auto& item : j.items())
        if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end())
            return Error{key_path(path, item.key()), "unknown key"};
    for (std::string_view key : required)
        if (!j.contains(key))
            return Error{key_path(path, key), "missing required key"};
    return Ok{};
}

const json* optional_field(const json& j, std::string_view key)
{
    const auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return nullptr;
    return &*it;
}

Result<std::string> string_field(const json& j, const std::string& path, std::string_view key)
{
    auto value = required_field(j, path, key);
    if (!value)
        return value.error();
    if (!(*value)->is_string())
        return type_error(key_path(path, key), "a string", **value);
    return (*value)->get<std::string>();
}

Result<IpAddress> address_field(const json& j, const std::string& path, std::string_view key)
{
    auto value = required_field(j, path, key);
    if (!value)
        return value.error();
    if ((*value)->is_string()) {
        const std::string& text = (*value)->get_ref<const std::string&>();
        if (auto address = IpAddress::parse(text))
            return *address;
        if (const std::string_view zone = zone_suffix(text); !zone.empty())
            return Error{key_path(path, key), "must not carry a zone suffix (" + quoted_text(zone) +
                                                  "): the \"interface\" field beside it names the interface, got " +
                                                  describe_json(**value)};
    }
    return type_error(key_path(path, key), "an IP address", **value);
}

Result<std::uint64_t> integer_field(const json& j, const std::string& path, std::string_view key,
                                    std::uint64_t min, std::uint64_t max)
{
    auto value = required_field(j, path, key);
    if (!value)
        return value.error();
    const json& v = **value;
    // Parsed text stores non-negative integers as unsigned, JSON built in
    // code (D-Bus, tests) as signed: both are integers.
    const bool integer = v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
    const bool in_range = integer && v.get<std::uint64_t>() >= min && v.get<std::uint64_t>() <= max;
    if (!in_range)
        return type_error(key_path(path, key), "an integer " + std::to_string(min) + ".." + std::to_string(max), v);
    return v.get<std::uint64_t>();
}

Result<bool> bool_field(const json& j, const std::string& path, std::string_view key)
{
    auto value = required_field(j, path, key);
    if (!value)
        return value.error();
    if (!(*value)->is_boolean())
        return type_error(key_path(path, key), "true or false", **value);
    return (*value)->get<bool>();
}

} // namespace mcr
