// Shared (un)marshalling between the bus glue files: rule outputs as
// a(ssqy) and API failures as D-Bus errors. (The catch-all that keeps C++
// exceptions out of sd-bus method handlers is run_guarded() in
// core/c_callback.hpp.)
#pragma once

#include "api/relay_api.hpp"
#include "core/c_callback.hpp"
#include "core/rule.hpp"
#include "core/sd_ptr.hpp"

#include <nlohmann/json_fwd.hpp>

#include <systemd/sd-bus.h>

#include <vector>

namespace mcr::bus {

// a(ssqy): interface, address, port, ttl (0 = default).
[[nodiscard]] int append_outputs(sd_bus_message* message, const std::vector<RuleOutput>& outputs);

// Sets `error` to the org.mcr.Relay.Error.* name of `failure`; returns a
// negative errno as sd-bus handlers do.
int set_api_error(const ApiFailure& failure, sd_bus_error* error);

// Replies with one array of `element_signature`; `append_elements` adds
// the elements and returns 0 or a negative errno.
template <typename AppendElements>
int reply_with_array(sd_bus_message* m, const char* element_signature, AppendElements&& append_elements)
{
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_return(m, &raw);
    if (r < 0)
        return r;
    BusMessagePtr reply(raw);
    if ((r = sd_bus_message_open_container(reply.get(), 'a', element_signature)) < 0 ||
        (r = append_elements(reply.get())) < 0 || (r = sd_bus_message_close_container(reply.get())) < 0)
        return r;
    return sd_bus_send(nullptr, reply.get(), nullptr);
}

// Reads AddRule's flat arguments (sssqsa(ssqy)) into the JSON rule schema,
// so that the core parser reports the same field paths as for AddRuleJSON.
[[nodiscard]] int read_rule_arguments(sd_bus_message* m, nlohmann::json& out);

} // namespace mcr::bus
