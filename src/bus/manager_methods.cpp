// org.mcr.Relay.Manager: methods and properties of /org/mcr/Relay. Each
// write reads its arguments, validates them, asks polkit (asynchronously;
// the handler runs again when polkit answers), applies through RelayApi and
// replies. Signals and PropertiesChanged come from the daemon's announcements.
#include "manager_methods.hpp"

#include "bus/bus_marshal.hpp"
#include "bus/bus_names.hpp"
#include "bus/manager_properties.hpp"
#include "bus/relay_bus.hpp"
#include "core/audit_caller.hpp"
#include "api/audit_outcome.hpp"
#include "core/log.hpp"
#include "core/rule_json.hpp"

#include <nlohmann/json.hpp>

#include <cstring>
#include <string>

namespace mcr::bus {

namespace {

RelayBus& relay(void* userdata) { return *static_cast<RelayBus*>(userdata); }

// 1 = go on, 0 = polkit will call us again (return 1, no reply), < 0 = error set.
int authorize(RelayBus& self, sd_bus_message* m, const char* action, sd_bus_error* error)
{
    return self.polkit().verify_bus_call(m, action, error);
}

// Writes one audit entry for the call `m` (caller from its bus credentials).
void audit_call(sd_bus_message* m, audit::Record& record)
{
    record.via = audit::Via::dbus;
    record.caller = audit::caller_of_bus_message(m);
    audit::emit(record);
}

// Audits a write refused before authorization (bad arguments), then sets the error.
int reject_invalid(sd_bus_message* m, audit::Record record, const char* error_name, const std::string& message,
                   sd_bus_error* error)
{
    record.outcome = audit::Outcome::invalid;
    record.detail = message;
    audit_call(m, record);
    return sd_bus_error_set(error, error_name, message.c_str());
}

// Audits what the API did with an authorized write.
void audit_outcome(sd_bus_message* m, audit::Record& record, const ApiOutcome& outcome)
{
    audit::set_outcome(record, outcome);
    audit_call(m, record);
}

// Authorizes `action`, then runs `apply` (which replies). polkit answering
// later re-dispatches the message, so 0 from polkit means "handled for now"
// and nothing is audited yet; a refusal is audited here, once.
template <typename Apply>
int authorize_then(RelayBus& self, sd_bus_message* m, const char* action, sd_bus_error* error,
                   audit::Record& record, Apply&& apply)
{
    const int r = authorize(self, m, action, error);
    if (r == 0)
        return 1;
    if (r < 0) {
        record.outcome = audit::Outcome::denied;
        record.detail = error->message ? error->message : std::strerror(-r);
        audit_call(m, record);
        return r;
    }
    return apply();
}

// Audits, then replies "()" to a write that succeeded, or the API error:
// the entry is queued before the caller learns the result.
int reply_empty_or_error(sd_bus_message* m, audit::Record& record, const ApiOutcome& outcome, sd_bus_error* error)
{
    audit_outcome(m, record, outcome);
    if (!outcome.ok())
        return set_api_error(*outcome.failure, error);
    return sd_bus_reply_method_return(m, "");
}

// The audit draft of an add: the rule's name and the requested JSON.
audit::Record add_record(const nlohmann::json& requested)
{
    audit::Record record;
    record.action = audit::Action::add_rule;
    if (requested.is_object() && requested.contains("name") && requested["name"].is_string())
        record.rule = requested["name"].get<std::string>();
    record.after = requested.dump();
    return record;
}

// Authorizes and applies a parsed rule; shared by AddRule and AddRuleJSON.
int add_parsed_rule(RelayBus& self, sd_bus_message* m, const nlohmann::json& requested, sd_bus_error* error)
{
    audit::Record record = add_record(requested);
    Result<Rule> rule = rule_from_json(requested);
    if (!rule)
        return reject_invalid(m, std::move(record), kErrorInvalidRule, rule.error().message(), error);
    return authorize_then(self, m, kActionManageRules, error, record, [&]() -> int {
        const std::string path = rule_object_path(rule->name);
        ApiOutcome outcome = self.api().add_rule(std::move(*rule));
        if (outcome.ok())
            if (auto added = self.api().find_rule(record.rule))
                record.after = rule_to_json(added->rule).dump();
        audit_outcome(m, record, outcome);
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
        return add_parsed_rule(relay(userdata), m, rule_json, error);
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
        if (!parsed) {
            audit::Record record;
            record.action = audit::Action::add_rule;
            return reject_invalid(m, std::move(record), kErrorInvalidRule, parsed.error().message(), error);
        }
        return add_parsed_rule(relay(userdata), m, *parsed, error);
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
        audit::Record record;
        record.action = audit::Action::remove_rule;
        record.rule = name;
        const auto existing = self.api().find_rule(name);
        if (!existing)
            return reject_invalid(m, std::move(record), kErrorNoSuchRule, std::string("No rule named '") + name + "'",
                                  error);
        record.before = rule_to_json(existing->rule).dump();
        return authorize_then(self, m, kActionManageRules, error, record, [&]() -> int {
            return reply_empty_or_error(m, record, self.api().remove_rule(name), error);
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
        audit::Record record;
        record.action = audit::Action::import_rules;
        record.before = self.api().export_rules();
        record.after = text;   // what was asked for, replaced by the result once applied
        return authorize_then(self, m, kActionManageRules, error, record, [&]() -> int {
            std::uint32_t added = 0;
            ApiOutcome outcome = self.api().import_rules(text, replace != 0, added);
            if (outcome.ok())
                record.after = self.api().export_rules();
            audit_outcome(m, record, outcome);
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
        audit::Record record;
        record.action = audit::Action::reset_stats;
        return authorize_then(self, m, kActionManageRules, error, record, [&]() -> int {
            self.api().reset_stats();
            audit_call(m, record);
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
        audit::Record record;
        record.action = audit::Action::reload;
        record.before = self.api().export_rules();
        return authorize_then(self, m, kActionReload, error, record, [&]() -> int {
            const ApiOutcome outcome = self.api().reload();
            record.after = self.api().export_rules();
            return reply_empty_or_error(m, record, outcome, error);
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
        audit::Record record;
        record.action = audit::Action::set_log_level;
        record.before = nlohmann::json(self.api().log_level_name()).dump();
        record.after = nlohmann::json(level).dump();
        LogLevel parsed{};
        if (!parse_log_level(level, parsed))
            return reject_invalid(m, std::move(record), kErrorInvalidArgument,
                                  "level: must be one of err, warning, notice, info, debug, got '" +
                                      std::string(level) + "'",
                                  error);
        record.detail = log_level_name(parsed);
        if (self.api().log_level_name() == record.detail) {
            audit_call(m, record);   // nothing changes: no authorization needed, still one entry
            return sd_bus_reply_method_return(m, "");
        }
        return authorize_then(self, m, kActionSetLogLevel, error, record, [&]() -> int {
            return reply_empty_or_error(m, record, self.api().set_log_level(level), error);
        });
    });
}

// Methods are UNPRIVILEGED on the bus level: polkit decides, per method.
const sd_bus_vtable kManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", manager_property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Namespace", "s", manager_property_get_namespace, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("LogLevel", "s", manager_property_get_log_level, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("RuleCount", "u", manager_property_get_rule_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("WorkerCount", "u", manager_property_get_worker_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
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
