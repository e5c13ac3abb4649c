// Audit records: naming, MESSAGE_ID choice, journal fields and sending.
// Every record goes out unfiltered at NOTICE (refusals at WARNING).
#include "audit.hpp"

#include "log.hpp"
#include "message_ids.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace mcr::audit {

std::string_view action_name(Action action)
{
    switch (action) {
    case Action::add_rule: return "add-rule";
    case Action::remove_rule: return "remove-rule";
    case Action::import_rules: return "import-rules";
    case Action::reload: return "reload";
    case Action::set_log_level: return "set-log-level";
    case Action::reset_stats: return "reset-stats";
    }
    return "unknown";
}

std::string_view outcome_name(Outcome outcome)
{
    switch (outcome) {
    case Outcome::allowed: return "allowed";
    case Outcome::denied: return "denied";
    case Outcome::invalid: return "invalid";
    case Outcome::failed: return "failed";
    }
    return "unknown";
}

std::string_view via_name(Via via)
{
    switch (via) {
    case Via::dbus: return "dbus";
    case Via::socket: return "socket";
    case Via::signal: return "signal";
    }
    return "unknown";
}

std::string_view message_id_of(const Record& record)
{
    if (record.outcome == Outcome::denied)
        return message_id::kAuthorizationDenied;
    if (record.outcome != Outcome::allowed)
        return message_id::kWriteRejected;
    switch (record.action) {
    case Action::add_rule: return message_id::kRuleAdded;
    case Action::remove_rule: return message_id::kRuleRemoved;
    case Action::import_rules: return message_id::kRuleChanged;
    case Action::reload: return message_id::kConfigReloaded;
    case Action::set_log_level: return message_id::kLogLevelChanged;
    case Action::reset_stats: return message_id::kStatsReset;
    }
    return {};
}

namespace {

std::set<std::string> rule_names(std::string_view rule_set_json)
{
    std::set<std::string> names;
    const auto document = nlohmann::json::parse(rule_set_json, nullptr, /*allow_exceptions=*/false);
    if (!document.is_object() || !document.contains("rules") || !document["rules"].is_array())
        return names;
    for (const auto& rule : document["rules"])
        if (rule.is_object() && rule.contains("name") && rule["name"].is_string())
            names.insert(rule["name"].get<std::string>());
    return names;
}

} // namespace

std::string rule_set_change(std::string_view before, std::string_view after)
{
    const std::set<std::string> old_names = rule_names(before);
    const std::set<std::string> new_names = rule_names(after);
    std::size_t added = 0;
    for (const std::string& name : new_names)
        added += old_names.contains(name) ? 0 : 1;
    std::size_t removed = 0;
    for (const std::string& name : old_names)
        removed += new_names.contains(name) ? 0 : 1;
    return std::to_string(added) + " rules added, " + std::to_string(removed) + " removed";
}

namespace {

// What an allowed action did, as the start of MESSAGE=.
std::string done_text(const Record& record)
{
    switch (record.action) {
    case Action::add_rule: return "Rule " + record.rule + " added";
    case Action::remove_rule: return "Rule " + record.rule + " removed";
    case Action::import_rules: return "Rules imported: " + rule_set_change(record.before, record.after);
    case Action::reload: return "Configuration reloaded: " + rule_set_change(record.before, record.after);
    case Action::set_log_level: return "Log level set to " + record.detail;
    case Action::reset_stats: return "Statistics reset";
    }
    return "Unknown action";
}

std::string caller_text(const Caller& caller)
{
    std::string text = caller.uid ? "uid " + std::to_string(*caller.uid) : std::string("unknown uid");
    if (caller.pid)
        text += " (pid " + std::to_string(*caller.pid) + (caller.unit.empty() ? "" : ", " + caller.unit) + ")";
    return text;
}

} // namespace

std::string message_of(const Record& record)
{
    const std::string who = caller_text(record.caller) + " via " + std::string(via_name(record.via));
    if (record.outcome == Outcome::allowed)
        return done_text(record) + " by " + who;
    std::string text = std::string(record.outcome == Outcome::denied ? "Refused" : "Rejected") + " " +
                       std::string(action_name(record.action));
    if (!record.rule.empty())
        text += " of rule " + record.rule;
    text += " by " + who;
    if (!record.detail.empty())
        text += ": " + record.detail;
    return text;
}

std::vector<Field> fields_of(const Record& record)
{
    std::vector<Field> fields;
    fields.emplace_back("MESSAGE_ID", std::string(message_id_of(record)));
    fields.emplace_back("MCR_ACTION", std::string(action_name(record.action)));
    if (!record.rule.empty())
        fields.emplace_back("MCR_RULE", record.rule);
    fields.emplace_back("MCR_RESULT", std::string(outcome_name(record.outcome)));
    fields.emplace_back("MCR_VIA", std::string(via_name(record.via)));
    if (record.caller.uid)
        fields.emplace_back("MCR_CALLER_UID", std::to_string(*record.caller.uid));
    if (record.caller.pid)
        fields.emplace_back("MCR_CALLER_PID", std::to_string(*record.caller.pid));
    if (!record.caller.unit.empty())
        fields.emplace_back("MCR_CALLER_UNIT", record.caller.unit);
    if (!record.caller.session.empty())
        fields.emplace_back("MCR_CALLER_SESSION", record.caller.session);
    if (!record.before.empty())
        fields.emplace_back("MCR_BEFORE", record.before);
    if (!record.after.empty())
        fields.emplace_back("MCR_AFTER", record.after);
    if (!record.detail.empty())
        fields.emplace_back("MCR_DETAIL", record.detail);
    return fields;
}

void emit(const Record& record)
{
    const std::vector<Field> fields = fields_of(record);
    std::vector<LogField> views;
    views.reserve(fields.size());
    // MESSAGE_ID travels as log_event's own argument, not as a field.
    for (auto it = fields.begin() + 1; it != fields.end(); ++it)
        views.emplace_back(it->first, it->second);
    const LogLevel level = record.outcome == Outcome::allowed ? LogLevel::notice : LogLevel::warning;
    log_record(level, fields.front().second, message_of(record), views);
}

} // namespace mcr::audit
