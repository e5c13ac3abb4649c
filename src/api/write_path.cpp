// Authorize -> apply -> audit, written once for every front end. A request
// first becomes a Draft: its audit record as far as it is known before the
// change (the rule as it was, what was asked for), the polkit action it
// needs, and how to apply it; the record is completed once it is applied.
#include "write_path.hpp"

#include "core/log.hpp"
#include "core/rule_json.hpp"

#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

namespace mcr {

namespace {

struct Draft {
    audit::Record record;
    const char* action = kActionManageRules;
    std::optional<ApiFailure> refusal;   // refused for its content, before authorization
    bool changes_nothing = false;        // answered (and audited) without authorization
    // Runs once authorized; may complete the record (the state after).
    std::function<WriteResult(audit::Record&)> apply;
};

// D-Bus methods answer a request that cannot succeed (an unknown rule) or
// changes nothing (the current log level) before asking polkit, as
// hostnamed does. The control socket has always asked polkit first and
// still does; if the two should agree, this is the one place to change.
bool answers_before_authorizing(audit::Via via) { return via == audit::Via::dbus; }

// Persist failures are "failed" (the daemon's problem); every other refusal
// is about the request ("invalid"). Success leaves the record as it is.
void set_outcome(audit::Record& record, const ApiOutcome& outcome)
{
    if (outcome.ok())
        return;
    record.outcome = outcome.failure->kind == ApiError::persist_failed ? audit::Outcome::failed
                                                                       : audit::Outcome::invalid;
    record.detail = outcome.failure->message;
}

void write_audit(audit::Record& record, const CallerGate& gate, const AuditSink& sink)
{
    record.caller = gate.caller();
    sink(record);
}

Draft draft_of(RelayApi& api, AddRuleRequest request, bool /*answers_early*/)
{
    Draft draft;
    draft.record.action = audit::Action::add_rule;
    draft.record.rule = std::move(request.name);
    draft.record.after = std::move(request.requested);
    if (!request.rule) {
        draft.refusal = ApiFailure{ApiError::invalid_rule, request.rule.error().message()};
        return draft;
    }
    draft.apply = [&api, rule = std::move(*request.rule)](audit::Record& record) mutable {
        const std::string name = rule.name;
        WriteResult result{.outcome = api.add_rule(std::move(rule))};
        // The record shows the rule as stored.
        if (result.outcome.ok())
            if (auto added = api.find_rule(name))
                record.after = rule_to_json(added->rule).dump();
        return result;
    };
    return draft;
}

Draft draft_of(RelayApi& api, RemoveRuleRequest request, bool answers_early)
{
    Draft draft;
    draft.record.action = audit::Action::remove_rule;
    draft.record.rule = request.name;
    if (auto existing = api.find_rule(request.name)) {
        draft.record.before = rule_to_json(existing->rule).dump();
    } else if (answers_early) {
        draft.refusal = ApiFailure{ApiError::no_such_rule, "No rule named '" + request.name + "'"};
        return draft;
    }
    draft.apply = [&api, name = std::move(request.name)](audit::Record&) {
        return WriteResult{.outcome = api.remove_rule(name)};
    };
    return draft;
}

// The rule set of an import: parsed now if it came as text.
Result<RuleSet> rules_of(const std::variant<std::string, RuleSet>& rules)
{
    if (const auto* set = std::get_if<RuleSet>(&rules))
        return *set;
    std::vector<std::string> warnings;
    Result<RuleSet> parsed = parse_rules_text(std::get<std::string>(rules), warnings);
    for (const std::string& warning : warnings)
        log_warning("Import: " + warning + ", ignoring");
    return parsed;
}

Draft draft_of(RelayApi& api, ImportRulesRequest request, bool /*answers_early*/)
{
    Draft draft;
    draft.record.action = audit::Action::import_rules;
    draft.record.before = api.export_rules();
    // What was asked for, until the result replaces it.
    if (const auto* text = std::get_if<std::string>(&request.rules))
        draft.record.after = *text;
    else
        draft.record.after = rule_set_to_json(std::get<RuleSet>(request.rules)).dump();
    draft.apply = [&api, request = std::move(request)](audit::Record& record) {
        Result<RuleSet> rules = rules_of(request.rules);
        if (!rules)
            return WriteResult{.outcome = ApiOutcome::fail(ApiError::invalid_rule, rules.error().message())};
        WriteResult result{.outcome = api.import_rules(*rules, request.replace)};
        if (result.outcome.ok()) {
            record.after = api.export_rules();
            result.imported = static_cast<std::uint32_t>(rules->rules.size());
        }
        return result;
    };
    return draft;
}

Draft draft_of(RelayApi& api, ReloadRequest /*request*/, bool /*answers_early*/)
{
    Draft draft;
    draft.record.action = audit::Action::reload;
    draft.action = kActionReload;
    draft.record.before = api.export_rules();
    draft.apply = [&api](audit::Record& record) {
        WriteResult result{.outcome = api.reload()};
        // A failed reload keeps the rules: the record says so with before == after.
        record.after = api.export_rules();
        return result;
    };
    return draft;
}

Draft draft_of(RelayApi& api, const SetLogLevelRequest& request, bool answers_early)
{
    Draft draft;
    draft.record.action = audit::Action::set_log_level;
    draft.action = kActionSetLogLevel;
    const std::string current = api.log_level_name();
    draft.record.before = nlohmann::json(current).dump();
    draft.record.after = nlohmann::json(request.level).dump();
    LogLevel level{};
    if (!parse_log_level(request.level, level)) {
        draft.refusal = ApiFailure{ApiError::invalid_argument,
                                   "level: must be one of err, warning, notice, info, debug, got '" + request.level +
                                       "'"};
        return draft;
    }
    draft.record.detail = log_level_name(level);
    draft.changes_nothing = answers_early && draft.record.detail == current;
    draft.apply = [&api, level](audit::Record&) {
        api.set_log_level(level);
        return WriteResult{};
    };
    return draft;
}

Draft draft_of(RelayApi& api, ResetStatsRequest /*request*/, bool /*answers_early*/)
{
    Draft draft;
    draft.record.action = audit::Action::reset_stats;
    draft.apply = [&api](audit::Record&) {
        api.reset_stats();
        return WriteResult{};
    };
    return draft;
}

} // namespace

void WritePath::submit(WriteRequest request, std::shared_ptr<CallerGate> gate, WriteDone done)
{
    const bool answers_early = answers_before_authorizing(gate->via());
    Draft draft = std::visit(
        [&](auto& alternative) { return draft_of(api_, std::move(alternative), answers_early); }, request);
    draft.record.via = gate->via();
    if (draft.refusal) {
        draft.record.outcome = audit::Outcome::invalid;
        draft.record.detail = draft.refusal->message;
        write_audit(draft.record, *gate, audit_sink_);
        done(WriteResult{.outcome = ApiOutcome{std::move(draft.refusal)}});
        return;
    }
    if (draft.changes_nothing) {
        write_audit(draft.record, *gate, audit_sink_);   // no authorization needed, still one entry
        done(WriteResult{});
        return;
    }
    // The continuation owns the gate: the decision may come after this returns.
    CallerGate& asking = *gate;
    asking.authorize(draft.action, [gate = std::move(gate), sink = audit_sink_, record = std::move(draft.record),
                                    apply = std::move(draft.apply),
                                    done = std::move(done)](const AccessDecision& decision) mutable {
        if (!decision.allowed) {
            record.outcome = audit::Outcome::denied;
            record.detail = decision.reason;
            write_audit(record, *gate, sink);
            done(WriteResult{.denied = decision.reason});
            return;
        }
        WriteResult result = apply(record);
        set_outcome(record, result.outcome);
        // The entry is queued before the caller learns the result.
        write_audit(record, *gate, sink);
        done(std::move(result));
    });
}

} // namespace mcr
