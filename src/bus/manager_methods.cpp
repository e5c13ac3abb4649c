// org.mcr.Relay.Manager: methods and properties of /org/mcr/Relay. Each
// write reads its arguments, validates them, asks polkit (asynchronously;
// the handler runs again when polkit answers), applies through RelayApi and
// replies. Signals and PropertiesChanged come from the daemon's announcements.
#include "manager_methods.hpp"

#include "bus/bus_marshal.hpp"
#include "bus/bus_names.hpp"
#include "bus/relay_bus.hpp"
#include "core/log.hpp"
#include "core/rule_json.hpp"

#include "mcr_config.h"

#include <nlohmann/json.hpp>

#include <string>

namespace mcr::bus {

namespace {

RelayBus& relay(void* userdata) { return *static_cast<RelayBus*>(userdata); }

// 1 = go on, 0 = polkit will call us again (return 1, no reply), < 0 = error set.
int authorize(RelayBus& self, sd_bus_message* m, const char* action, sd_bus_error* error)
{
    return self.polkit().verify_bus_call(m, action, error);
}

// Authorizes `action`, then runs `apply` (which replies). polkit answering
// later re-dispatches the message, so 0 from polkit means "handled for now".
template <typename Apply>
int authorize_then(RelayBus& self, sd_bus_message* m, const char* action, sd_bus_error* error, Apply&& apply)
{
    const int r = authorize(self, m, action, error);
    if (r <= 0)
        return r == 0 ? 1 : r;
    return apply();
}

// Replies "()" to a write that succeeded, or the API error.
int reply_empty_or_error(sd_bus_message* m, const ApiOutcome& outcome, sd_bus_error* error)
{
    if (!outcome.ok())
        return set_api_error(*outcome.failure, error);
    return sd_bus_reply_method_return(m, "");
}

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

// Reads AddRule's flat arguments into the JSON schema so that the core
// parser produces the same field paths and messages as AddRuleJSON.
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

// Authorizes and applies a parsed rule; shared by AddRule and AddRuleJSON.
int add_parsed_rule(RelayBus& self, sd_bus_message* m, Result<Rule> rule, sd_bus_error* error)
{
    if (!rule)
        return sd_bus_error_set(error, kErrorInvalidRule, rule.error().message().c_str());
    return authorize_then(self, m, kActionManageRules, error, [&]() -> int {
        const std::string path = rule_object_path(rule->name);
        ApiOutcome outcome = self.api().add_rule(std::move(*rule));
        if (!outcome.ok())
            return set_api_error(*outcome.failure, error);
        return sd_bus_reply_method_return(m, "o", path.c_str());
    });
}

int method_add_rule(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        nlohmann::json rule_json;
        const int r = read_rule_arguments(m, rule_json);
        if (r < 0)
            return r;
        return add_parsed_rule(relay(userdata), m, rule_from_json(rule_json), error);
    });
}

int method_add_rule_json(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        const char* text = nullptr;
        const int r = sd_bus_message_read(m, "s", &text);
        if (r < 0)
            return r;
        const Result<nlohmann::json> parsed = parse_json_text(text);
        if (!parsed)
            return sd_bus_error_set(error, kErrorInvalidRule, parsed.error().message().c_str());
        return add_parsed_rule(relay(userdata), m, rule_from_json(*parsed), error);
    });
}

int method_remove_rule(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        RelayBus& self = relay(userdata);
        const char* name = nullptr;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
            return r;
        if (!self.api().find_rule(name))
            return sd_bus_error_setf(error, kErrorNoSuchRule, "No rule named '%s'", name);
        return authorize_then(self, m, kActionManageRules, error, [&]() -> int {
            return reply_empty_or_error(m, self.api().remove_rule(name), error);
        });
    });
}

int method_list_rules(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        return reply_with_array(m, "(sssqsa(ssqy)s)", [&](sd_bus_message* reply) -> int {
            for (const RuleStatus& status : relay(userdata).api().rules()) {
                const RuleInput& in = status.rule.input;
                const std::string source = in.source ? in.source->to_string() : std::string();
                int r = sd_bus_message_open_container(reply, 'r', "sssqsa(ssqy)s");
                if (r >= 0)
                    r = sd_bus_message_append(reply, "sssqs", status.rule.name.c_str(), in.interface.c_str(),
                                              in.address.to_string().c_str(), in.port, source.c_str());
                if (r >= 0)
                    r = append_outputs(reply, status.rule.outputs);
                if (r >= 0)
                    r = sd_bus_message_append(reply, "s", status.state.c_str());
                if (r >= 0)
                    r = sd_bus_message_close_container(reply);
                if (r < 0)
                    return r;
            }
            return 0;
        });
    });
}

int method_get_rule(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        const char* name = nullptr;
        const int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
            return r;
        const auto status = relay(userdata).api().find_rule(name);
        if (!status)
            return sd_bus_error_setf(error, kErrorNoSuchRule, "No rule named '%s'", name);
        return sd_bus_reply_method_return(m, "s", rule_to_json(status->rule).dump().c_str());
    });
}

int method_export_rules(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_reply_method_return(m, "s", relay(userdata).api().export_rules().c_str());
    });
}

int method_import_rules(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        RelayBus& self = relay(userdata);
        const char* text = nullptr;
        int replace = 0;
        int r = sd_bus_message_read(m, "sb", &text, &replace);
        if (r < 0)
            return r;
        return authorize_then(self, m, kActionManageRules, error, [&]() -> int {
            std::uint32_t added = 0;
            ApiOutcome outcome = self.api().import_rules(text, replace != 0, added);
            if (!outcome.ok())
                return set_api_error(*outcome.failure, error);
            return sd_bus_reply_method_return(m, "u", added);
        });
    });
}

int method_get_stats(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_reply_method_return(m, "s", relay(userdata).api().stats_json().c_str());
    });
}

int method_reset_stats(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        RelayBus& self = relay(userdata);
        return authorize_then(self, m, kActionManageRules, error, [&]() -> int {
            self.api().reset_stats();
            return sd_bus_reply_method_return(m, "");
        });
    });
}

int method_list_workers(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        return reply_with_array(m, "(ssssu)", [&](sd_bus_message* reply) -> int {
            for (const WorkerStatus& worker : relay(userdata).api().workers()) {
                const int r = sd_bus_message_append(reply, "(ssssu)", worker.interface.c_str(), worker.unit.c_str(),
                                                    worker.state.c_str(), worker.sub_state.c_str(), worker.pid);
                if (r < 0)
                    return r;
            }
            return 0;
        });
    });
}

int method_reload(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        RelayBus& self = relay(userdata);
        return authorize_then(self, m, kActionReload, error, [&]() -> int {
            return reply_empty_or_error(m, self.api().reload(), error);
        });
    });
}

int method_set_log_level(sd_bus_message* m, void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        RelayBus& self = relay(userdata);
        const char* level = nullptr;
        int r = sd_bus_message_read(m, "s", &level);
        if (r < 0)
            return r;
        LogLevel parsed{};
        if (!parse_log_level(level, parsed))
            return sd_bus_error_setf(error, kErrorInvalidArgument,
                                     "level: must be one of err, warning, notice, info, debug, got '%s'", level);
        if (self.api().log_level_name() == log_level_name(parsed))
            return sd_bus_reply_method_return(m, "");   // nothing changes: no authorization needed
        return authorize_then(self, m, kActionSetLogLevel, error, [&]() -> int {
            return reply_empty_or_error(m, self.api().set_log_level(level), error);
        });
    });
}

int property_get_version(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*,
                         sd_bus_error*)
{
    return sd_bus_message_append(reply, "s", MCR_VERSION);
}

int property_get_namespace(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                           sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_message_append(reply, "s", relay(userdata).api().namespace_name().c_str());
    });
}

int property_get_log_level(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                           sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_message_append(reply, "s", relay(userdata).api().log_level_name().c_str());
    });
}

int property_get_rule_count(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                            sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_message_append(reply, "u", static_cast<std::uint32_t>(relay(userdata).api().rules().size()));
    });
}

int property_get_worker_count(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                              void* userdata, sd_bus_error* error)
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_message_append(reply, "u",
                                     static_cast<std::uint32_t>(relay(userdata).api().workers().size()));
    });
}

// Methods are UNPRIVILEGED on the bus level: polkit decides, per method.
const sd_bus_vtable kManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Namespace", "s", property_get_namespace, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("LogLevel", "s", property_get_log_level, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("RuleCount", "u", property_get_rule_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("WorkerCount", "u", property_get_worker_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_METHOD_WITH_ARGS("AddRule",
                            SD_BUS_ARGS("s", name, "s", in_interface, "s", in_address, "q", in_port, "s", in_source,
                                        "a(ssqy)", outputs),
                            SD_BUS_RESULT("o", rule_path), method_add_rule, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("AddRuleJSON", SD_BUS_ARGS("s", rule_json), SD_BUS_RESULT("o", rule_path),
                            method_add_rule_json, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("RemoveRule", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_remove_rule,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("ListRules", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssqsa(ssqy)s)", rules),
                            method_list_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("GetRule", SD_BUS_ARGS("s", name), SD_BUS_RESULT("s", rule_json), method_get_rule,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("ExportRules", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", rule_set_json),
                            method_export_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("ImportRules", SD_BUS_ARGS("s", json, "b", replace), SD_BUS_RESULT("u", added),
                            method_import_rules, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("GetStats", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", stats_json), method_get_stats,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("ResetStats", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reset_stats,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("ListWorkers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssssu)", workers),
                            method_list_workers, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("SetLogLevel", SD_BUS_ARGS("s", level), SD_BUS_NO_RESULT, method_set_log_level,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_ARGS("RuleAdded", SD_BUS_ARGS("s", name, "o", path), 0),
    SD_BUS_SIGNAL_WITH_ARGS("RuleRemoved", SD_BUS_ARGS("s", name, "o", path), 0),
    SD_BUS_VTABLE_END,
};

} // namespace

const sd_bus_vtable* manager_vtable() { return kManagerVtable; }

} // namespace mcr::bus
