// Marshalling helpers shared by the Manager and Rule objects.
#include "bus_marshal.hpp"

#include "bus/bus_names.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace mcr::bus {

int append_outputs(sd_bus_message* message, const std::vector<RuleOutput>& outputs)
{
    int r = sd_bus_message_open_container(message, 'a', "(ssqy)");
    if (r < 0)
        return r;
    for (const RuleOutput& output : outputs) {
        r = sd_bus_message_append(message, "(ssqy)", output.interface.c_str(), output.address.to_string().c_str(),
                                  output.port, output.ttl.value_or(0));
        if (r < 0)
            return r;
    }
    return sd_bus_message_close_container(message);
}

int set_api_error(const ApiFailure& failure, sd_bus_error* error)
{
    const char* name = kErrorInvalidArgument;
    switch (failure.kind) {
    case ApiError::invalid_rule: name = kErrorInvalidRule; break;
    case ApiError::no_such_rule: name = kErrorNoSuchRule; break;
    case ApiError::rule_exists: name = kErrorRuleExists; break;
    case ApiError::input_conflict: name = kErrorInputConflict; break;
    case ApiError::too_many_rules: name = kErrorTooManyRules; break;
    case ApiError::persist_failed: name = kErrorPersistFailed; break;
    case ApiError::invalid_argument: name = kErrorInvalidArgument; break;
    case ApiError::admin_rule: name = kErrorAdminRule; break;
    }
    return sd_bus_error_set(error, name, failure.message.c_str());
}

int read_rule_arguments(sd_bus_message* m, nlohmann::json& out)
{
    const char* name = nullptr;
    const char* in_interface = nullptr;
    const char* in_address = nullptr;
    std::uint16_t in_port = 0;
    const char* in_source = nullptr;
    int r = sd_bus_message_read(m, "sssqs", &name, &in_interface, &in_address, &in_port, &in_source);
    if (r < 0)
        return r;
    nlohmann::json input = {{"interface", in_interface}, {"address", in_address}, {"port", in_port}};
    if (*in_source != '\0')
        input["source"] = in_source;
    nlohmann::json outputs = nlohmann::json::array();
    r = sd_bus_message_enter_container(m, 'a', "(ssqy)");
    if (r < 0)
        return r;
    const char* interface = nullptr;
    const char* address = nullptr;
    std::uint16_t port = 0;
    std::uint8_t ttl = 0;
    while ((r = sd_bus_message_read(m, "(ssqy)", &interface, &address, &port, &ttl)) > 0) {
        nlohmann::json output = {{"interface", interface}, {"address", address}, {"port", port}};
        if (ttl != 0)
            output["ttl"] = ttl;
        outputs.push_back(std::move(output));
    }
    if (r < 0)
        return r;
    r = sd_bus_message_exit_container(m);
    if (r < 0)
        return r;
    out = {{"name", name}, {"input", std::move(input)}, {"outputs", std::move(outputs)}};
    return 0;
}

} // namespace mcr::bus
