// Marshalling helpers shared by the Manager and Rule objects.
#include "bus_marshal.hpp"

#include "bus/bus_names.hpp"

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

} // namespace mcr::bus
