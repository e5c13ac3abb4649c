// The one set of readers for fields of JSON objects (mcrd's rule schema, the
// MCR control requests, MCR's config.json5): each checks type and range and
// fails with the key path and the offending value quoted, in one wording
// ("rules[0].input.port: must be an integer 1..65535, got 0").
#pragma once

#include "address.hpp"
#include "result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace mcr {

// A JSON value for an error message: flat values as JSON text cut to one
// line, nested ones as "[...]" or "{...}".
[[nodiscard]] std::string describe_json(const nlohmann::json& value);

// "rules[0].input", or rules[0]["odd key"] when the key is not an identifier;
// just the key when `path` is empty.
[[nodiscard]] std::string key_path(const std::string& path, std::string_view key);

// "<path>: must be <expected>, got <value>".
[[nodiscard]] Error type_error(const std::string& path, std::string_view expected, const nlohmann::json& value);

// `j` is an object with only `allowed` keys ("unknown key") and all
// `required` ones ("missing required key").
[[nodiscard]] Status check_object(const nlohmann::json& j, const std::string& path,
                                  std::initializer_list<std::string_view> allowed,
                                  std::initializer_list<std::string_view> required = {});

// The value of `key`, or nullptr when it is absent or null (serde's Option:
// the MCR protocol sends null for "not given").
[[nodiscard]] const nlohmann::json* optional_field(const nlohmann::json& j, std::string_view key);

// Readers of `j[key]` (`path` names `j`); an absent key is "missing required key".
[[nodiscard]] Result<std::string> string_field(const nlohmann::json& j, const std::string& path,
                                               std::string_view key);
[[nodiscard]] Result<IpAddress> address_field(const nlohmann::json& j, const std::string& path,
                                              std::string_view key);
// Integers only: 5.0 and "5" are refused so that typos do not pass.
[[nodiscard]] Result<std::uint64_t> integer_field(const nlohmann::json& j, const std::string& path,
                                                  std::string_view key, std::uint64_t min, std::uint64_t max);
[[nodiscard]] Result<bool> bool_field(const nlohmann::json& j, const std::string& path, std::string_view key);

// The key names of a rule endpoint's interface/address/port triple: mcrd's
// "interface"/"address"/"port", MCR's "interface"/"group"/"port" and
// "input_interface"/"input_group"/"input_port".
struct EndpointKeys {
    std::string_view interface;
    std::string_view address;
    std::string_view port;
};

// Reads that triple into a RuleInput or RuleOutput (the other fields stay
// as they are default-constructed).
template <typename Endpoint>
[[nodiscard]] Result<Endpoint> endpoint_fields(const nlohmann::json& j, const std::string& path,
                                               const EndpointKeys& keys)
{
    Endpoint endpoint;
    auto interface = string_field(j, path, keys.interface);
    if (!interface)
        return interface.error();
    endpoint.interface = std::move(*interface);
    auto address = address_field(j, path, keys.address);
    if (!address)
        return address.error();
    endpoint.address = *address;
    auto port = integer_field(j, path, keys.port, 1, 65535);
    if (!port)
        return port.error();
    endpoint.port = static_cast<std::uint16_t>(*port);
    return endpoint;
}

} // namespace mcr
