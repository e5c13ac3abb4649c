// Rule-set changes: validation through the core, persistence with
// write_file_atomic, and the corrupt-state policy.
#include "rule_store.hpp"

#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "core/message_ids.hpp"
#include "core/rule_json.hpp"
#include "core/rule_validation.hpp"

#include <algorithm>
#include <cstring>
#include <set>

namespace mcr::supervisor {

namespace {

std::string join_path(const std::string& prefix, const std::string& field)
{
    if (prefix.empty())
        return field;
    return field.empty() ? prefix : prefix + "." + field;
}

RuleSet to_rule_set(const std::vector<StoredRule>& rules)
{
    RuleSet set;
    for (const StoredRule& stored : rules)
        set.rules.push_back(stored.rule);
    return set;
}

// Names in `after` but not in `before`, or whose definition changed.
std::vector<std::string> names_not_in(const std::vector<StoredRule>& after, const std::vector<StoredRule>& before)
{
    std::vector<std::string> names;
    for (const StoredRule& a : after) {
        const bool same = std::any_of(before.begin(), before.end(), [&](const StoredRule& b) {
            return b.rule == a.rule && b.from_admin_config == a.from_admin_config;
        });
        if (!same)
            names.push_back(a.rule.name);
    }
    return names;
}

} // namespace

ApiOutcome check_addition(const RuleSet& set, const Rule& rule, std::size_t max_rules, const std::string& path)
{
    if (Status valid = validate_rule(rule, path); !valid)
        return ApiOutcome::fail(ApiError::invalid_rule, valid.error().message());
    Status fits = validate_new_rule(set, rule, max_rules);
    if (fits)
        return ApiOutcome::success();
    // validate_new_rule checks, after the rule itself: the count (no path),
    // the name ("name") and the input ("input").
    const Error& error = fits.error();
    const std::string message = Error{join_path(path, error.path), error.reason}.message();
    if (error.path.empty())
        return ApiOutcome::fail(ApiError::too_many_rules, message);
    if (error.path == "name")
        return ApiOutcome::fail(ApiError::rule_exists, message);
    if (error.path == "input")
        return ApiOutcome::fail(ApiError::input_conflict, message);
    return ApiOutcome::fail(ApiError::invalid_rule, message);
}

Status RuleStore::load_state(bool reset_state)
{
    Result<std::string> text = read_file_limited(state_file_, kMaxConfigBytes);
    if (!text) {
        if (text.error().reason == "not found")
            return Ok{};
        if (!reset_state)
            return text.error();
    }
    Result<RuleSet> parsed = text ? parse_rule_set(*text) : Result<RuleSet>(text.error());
    if (parsed) {
        rules_.clear();
        for (Rule& rule : parsed->rules)
            rules_.push_back(StoredRule{std::move(rule), false});
        return Ok{};
    }
    Result<std::string> moved = move_aside(state_file_);
    const std::string where = moved ? "moved to " + *moved : "could not be moved aside: " + moved.error().message();
    log_event(LogLevel::err, message_id::kStateFileCorrupt,
              "State file " + state_file_ + " is unusable (" + parsed.error().message() + "); " + where,
              {{"MCR_STATE_FILE", state_file_}});
    if (reset_state)
        return Ok{};
    return Error{state_file_, "unusable state (" + parsed.error().message() + "); " + where +
                                  "; fix it or start once with --reset-state"};
}

Result<RuleChanges> RuleStore::set_admin_rules(const RuleSet& admin)
{
    std::vector<StoredRule> next;
    RuleSet combined;
    for (const Rule& rule : admin.rules) {
        next.push_back(StoredRule{rule, true});
        combined.rules.push_back(rule);
    }
    for (const StoredRule& stored : rules_) {
        if (stored.from_admin_config)
            continue;
        ApiOutcome fits = check_addition(combined, stored.rule, max_rules_);
        if (!fits.ok()) {
            log_warning("Dropping run-time rule '" + stored.rule.name + "': " + fits.failure->message +
                            " (the admin configuration takes precedence)",
                        {{"MCR_RULE", stored.rule.name}});
            continue;
        }
        combined.rules.push_back(stored.rule);
        next.push_back(stored);
    }
    RuleChanges changes;
    changes.removed = names_not_in(rules_, next);
    changes.added = names_not_in(next, rules_);
    const bool dropped_runtime = std::any_of(changes.removed.begin(), changes.removed.end(), [&](const auto& name) {
        const StoredRule* old = find(name);
        return old && !old->from_admin_config;
    });
    if (dropped_runtime) {
        if (ApiOutcome saved = persist(next); !saved.ok())
            return Error{state_file_, saved.failure->message};
    }
    rules_ = std::move(next);
    return changes;
}

ApiOutcome RuleStore::add(Rule rule, RuleChanges& changes)
{
    if (ApiOutcome fits = check_addition(rule_set(), rule, max_rules_); !fits.ok())
        return fits;
    std::vector<StoredRule> next = rules_;
    next.push_back(StoredRule{std::move(rule), false});
    return commit(std::move(next), changes);
}

ApiOutcome RuleStore::remove(const std::string& name, RuleChanges& changes)
{
    const StoredRule* existing = find(name);
    if (!existing)
        return ApiOutcome::fail(ApiError::no_such_rule, "No rule named '" + name + "'");
    if (existing->from_admin_config)
        return ApiOutcome::fail(ApiError::admin_rule, "Rule '" + name +
                                                          "' comes from the admin configuration and cannot be "
                                                          "removed at run time; edit the configuration instead");
    std::vector<StoredRule> next;
    for (const StoredRule& stored : rules_)
        if (stored.rule.name != name)
            next.push_back(stored);
    return commit(std::move(next), changes);
}

ApiOutcome RuleStore::import(const RuleSet& rules, bool replace, RuleChanges& changes)
{
    std::vector<StoredRule> next;
    for (const StoredRule& stored : rules_)
        if (!replace || stored.from_admin_config)
            next.push_back(stored);
    RuleSet scratch = to_rule_set(next);
    for (std::size_t i = 0; i < rules.rules.size(); ++i) {
        const Rule& rule = rules.rules[i];
        if (ApiOutcome fits = check_addition(scratch, rule, max_rules_, "rules[" + std::to_string(i) + "]");
            !fits.ok())
            return fits;
        scratch.rules.push_back(rule);
        next.push_back(StoredRule{rule, false});
    }
    return commit(std::move(next), changes);
}

ApiOutcome RuleStore::commit(std::vector<StoredRule> next, RuleChanges& changes)
{
    if (ApiOutcome saved = persist(next); !saved.ok())
        return saved;
    changes.removed = names_not_in(rules_, next);
    changes.added = names_not_in(next, rules_);
    rules_ = std::move(next);
    return ApiOutcome::success();
}

ApiOutcome RuleStore::persist(const std::vector<StoredRule>& rules) const
{
    RuleSet runtime;
    for (const StoredRule& stored : rules)
        if (!stored.from_admin_config)
            runtime.rules.push_back(stored.rule);
    const int r = write_file_atomic(state_file_, rule_set_to_json(runtime).dump(2) + "\n", 0640);
    if (r < 0) {
        const std::string message = "Failed to save the rules to " + state_file_ + ": " + std::strerror(-r);
        log_error(message, {{"MCR_STATE_FILE", state_file_}});
        return ApiOutcome::fail(ApiError::persist_failed, message);
    }
    return ApiOutcome::success();
}

const StoredRule* RuleStore::find(const std::string& name) const
{
    for (const StoredRule& stored : rules_)
        if (stored.rule.name == name)
            return &stored;
    return nullptr;
}

RuleSet RuleStore::rule_set() const { return to_rule_set(rules_); }

std::string RuleStore::export_json() const { return rule_set_to_json(rule_set()).dump(2); }

} // namespace mcr::supervisor
