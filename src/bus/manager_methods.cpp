// org.mcr.Relay.Manager: methods and properties of /org/mcr/Relay. A write
// method reads its arguments into a WriteRequest and replies with what
// WritePath made of it; WritePath authorizes (through the call's
// BusCallGate: polkit, asynchronously, the handler running again when it
// answers), applies and audits. Signals and PropertiesChanged come from the
// daemon's announcements.
#include "manager_methods.hpp"

#include "api/write_path.hpp"
#include "bus/bus_marshal.hpp"
#include "bus/bus_names.hpp"
#include "bus/manager_properties.hpp"
#include "bus/relay_bus.hpp"
#include "core/audit_caller.hpp"
#include "core/rule_json.hpp"
#include "core/rule_validation.hpp"

#include <nlohmann/json.hpp>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace mcr::bus {

namespace {

// The sender of one method call: polkit decides with its bus name as the
// subject, and the bus daemon vouches for its identity.
class BusCallGate final : public CallerGate {
public:
    BusCallGate(PolkitAuthorizer& polkit, sd_bus_message* call, sd_bus_error* error)
        : polkit_(polkit), call_(call), error_(error) {}

    [[nodiscard]] audit::Via via() const override { return audit::Via::dbus; }
    [[nodiscard]] audit::Caller caller() const override { return audit::caller_of_bus_message(call_); }

    // verify_bus_call(): 1 allowed; 0 polkit was asked and will dispatch the
    // call to its handler again, which submits it anew, so this decision is
    // dropped; < 0 refused, with `error` set.
    void authorize(const char* action, Decided decided) override
    {
        verdict_ = polkit_.verify_bus_call(call_, action, error_);
        if (verdict_ > 0)
            decided(AccessDecision{true, {}});
        else if (verdict_ < 0)
            decided(AccessDecision{false, error_->message ? error_->message : std::strerror(-verdict_)});
    }

    // What the handler returns for a refusal: the negative errno, `error` set.
    [[nodiscard]] int refusal() const { return verdict_; }

private:
    PolkitAuthorizer& polkit_;
    sd_bus_message* call_;
    sd_bus_error* error_;
    int verdict_ = 0;
};

// Submits the write `request` for the sender of `m` and replies: `reply`
// once applied, the refusal or the API's error otherwise, nothing while
// polkit decides. A BusCallGate decides before authorize() returns, so
// `done` runs (if at all) before submit() returns.
template <typename Reply>
int submit(sd_bus_message* m, void* userdata, WriteRequest&& request, sd_bus_error* error, Reply&& reply)
{
    RelayBus& self = relay_of(userdata);
    auto gate = std::make_shared<BusCallGate>(self.polkit(), m, error);
    std::optional<WriteResult> result;
    self.writes().submit(std::move(request), gate, [&result](WriteResult answer) { result = std::move(answer); });
    if (!result)
        return 1;   // polkit is deciding: no reply until the call comes back
    // Answered now. If polkit re-dispatched this call and it was answered
    // before authorization, polkit's answer is still held: drop it.
    self.polkit().forget_answered(m);
    if (result->denied)
        return gate->refusal();
    if (!result->outcome.ok())
        return set_api_error(*result->outcome.failure, error);
    return reply(*result);
}

// The writes whose arguments are one string (RemoveRule, SetLogLevel) or
// none (Reload, ResetStats) and whose reply is empty.
template <typename Request>
int submit_empty_reply(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        Request request{};
        if constexpr (!std::is_empty_v<Request>) {
            const char* argument = nullptr;
            const int r = sd_bus_message_read(m, "s", &argument);
            if (r < 0)
                return r;
            request = Request{argument};
        }
        return submit(m, userdata, std::move(request), error,
                      [&](const WriteResult&) { return sd_bus_reply_method_return(m, ""); });
    });
}

// The request of AddRule and AddRuleJSON, from the rule in the JSON schema.
AddRuleRequest add_request(const nlohmann::json& requested)
{
    std::string name;
    if (requested.is_object() && requested.contains("name") && requested["name"].is_string())
        name = requested["name"].get<std::string>();
    return AddRuleRequest{rule_from_json(requested), std::move(name), requested.dump()};
}

int submit_add_rule(sd_bus_message* m, void* userdata, AddRuleRequest request, sd_bus_error* error)
{
    const std::string path = rule_object_path(request.name);
    return submit(m, userdata, std::move(request), error,
                  [&](const WriteResult&) { return sd_bus_reply_method_return(m, "o", path.c_str()); });
}

int method_add_rule(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        nlohmann::json rule_json;
        const int r = read_rule_arguments(m, rule_json);
        if (r < 0)
            return r;
        return submit_add_rule(m, userdata, add_request(rule_json), error);
    });
}

int method_add_rule_json(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        const char* text = nullptr;
        const int r = sd_bus_message_read(m, "s", &text);
        if (r < 0)
            return r;
        Result<nlohmann::json> parsed = parse_json_text(text);
        // Text that is not JSON is refused (and audited) as a rule without a name.
        return submit_add_rule(m, userdata, parsed ? add_request(*parsed) : AddRuleRequest{parsed.error(), {}, {}},
                               error);
    });
}

int method_remove_rule(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return submit_empty_reply<RemoveRuleRequest>(m, userdata, error);
}

int method_list_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        return reply_with_array(m, "(sssqsa(ssqy)s)", [&](sd_bus_message* reply) -> int {
            for (const RuleStatus& status : relay_of(userdata).api().rules()) {
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

int method_get_rule(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        const char* name = nullptr;
        const int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
            return r;
        const auto status = relay_of(userdata).api().find_rule(name);
        if (!status)
            return sd_bus_error_setf(error, kErrorNoSuchRule, "No rule named '%s'", name);
        return sd_bus_reply_method_return(m, "s", rule_to_json(status->rule).dump().c_str());
    });
}

int method_export_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_reply_method_return(m, "s", relay_of(userdata).api().export_rules().c_str());
    });
}

int method_import_rules(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        const char* text = nullptr;
        int replace = 0;
        const int r = sd_bus_message_read(m, "sb", &text, &replace);
        if (r < 0)
            return r;
        return submit(m, userdata, ImportRulesRequest{std::string(text), replace != 0}, error,
                      [&](const WriteResult& result) { return sd_bus_reply_method_return(m, "u", result.imported); });
    });
}

int method_get_stats(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        return sd_bus_reply_method_return(m, "s", relay_of(userdata).api().stats_json().c_str());
    });
}

int method_get_membership(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        const char* interface = nullptr;
        const int r = sd_bus_message_read(m, "s", &interface);
        if (r < 0)
            return r;
        const std::string name(interface);
        if (!name.empty())
            if (const std::string problem = interface_name_problem(name); !problem.empty())
                return sd_bus_error_set(error, kErrorInvalidArgument, problem.c_str());
        const std::optional<std::string> membership = relay_of(userdata).api().membership_json(name);
        if (!membership)
            return sd_bus_error_setf(error, kErrorNoSuchInterface,
                                     "No IGMP or MLD membership is kept on '%s' (no output there requires listeners)",
                                     interface);
        return sd_bus_reply_method_return(m, "s", membership->c_str());
    });
}

int method_reset_stats(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return submit_empty_reply<ResetStatsRequest>(m, userdata, error);
}

int method_list_workers(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        return reply_with_array(m, "(ssssu)", [&](sd_bus_message* reply) -> int {
            for (const WorkerStatus& worker : relay_of(userdata).api().workers()) {
                const int r = sd_bus_message_append(reply, "(ssssu)", worker.interface.c_str(), worker.unit.c_str(),
                                                    worker.state.c_str(), worker.sub_state.c_str(), worker.pid);
                if (r < 0)
                    return r;
            }
            return 0;
        });
    });
}

int method_reload(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return submit_empty_reply<ReloadRequest>(m, userdata, error);
}

int method_set_log_level(sd_bus_message* m, void* userdata, sd_bus_error* error) noexcept
{
    return submit_empty_reply<SetLogLevelRequest>(m, userdata, error);
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
    SD_BUS_METHOD_WITH_ARGS("GetMembership", SD_BUS_ARGS("s", interface), SD_BUS_RESULT("s", membership_json),
                            method_get_membership, SD_BUS_VTABLE_UNPRIVILEGED),
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
    SD_BUS_SIGNAL_WITH_ARGS("GroupListenersChanged", SD_BUS_ARGS("s", interface, "s", group, "b", present), 0),
    SD_BUS_VTABLE_END,
};

} // namespace

const sd_bus_vtable* manager_vtable() { return kManagerVtable; }

} // namespace mcr::bus
