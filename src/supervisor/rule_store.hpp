// The rule set the supervisor serves: rules an operator added at run time
// (persisted to STATE_DIR/rules.json on every change) and read-only rules
// from the admin configuration (CONFIG_DIR/*.json, --config). Every change
// is validated as a whole and is all-or-nothing.
#pragma once

#include "api/relay_api.hpp"
#include "core/result.hpp"
#include "core/rule.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace mcr::supervisor {

struct StoredRule {
    Rule rule;
    bool from_admin_config = false;
};

// What a change did, so the caller can announce it and update workers.
struct RuleChanges {
    std::vector<std::string> added;     // names, in set order
    std::vector<std::string> removed;

    [[nodiscard]] bool empty() const { return added.empty() && removed.empty(); }
};

// Whether `rule` may join `set`: InvalidRule, RuleExists, InputConflict or
// TooManyRules with the core's message (prefixed by `path`, e.g. "rules[2]").
[[nodiscard]] ApiOutcome check_addition(const RuleSet& set, const Rule& rule, std::size_t max_rules,
                                        const std::string& path = {});

class RuleStore {
public:
    RuleStore(std::string state_file, std::size_t max_rules)
        : state_file_(std::move(state_file)), max_rules_(max_rules) {}

    // Reads the state file (missing = no rules). A file that does not parse
    // is moved aside (PATH.corrupt-<time>); then, unless `reset_state`,
    // an Error says so and the daemon must not start.
    [[nodiscard]] Status load_state(bool reset_state);

    // Replaces the admin rules (config reload). A run-time rule that now
    // collides with an admin rule is dropped with a warning (the admin wins).
    [[nodiscard]] Result<RuleChanges> set_admin_rules(const RuleSet& admin);

    [[nodiscard]] ApiOutcome add(Rule rule, RuleChanges& changes);
    [[nodiscard]] ApiOutcome remove(const std::string& name, RuleChanges& changes);
    // `replace`: the run-time rules become exactly `rules`; else they are
    // added to the set. All or nothing.
    [[nodiscard]] ApiOutcome import(const RuleSet& rules, bool replace, RuleChanges& changes);

    [[nodiscard]] const std::vector<StoredRule>& rules() const { return rules_; }
    [[nodiscard]] const StoredRule* find(const std::string& name) const;
    [[nodiscard]] RuleSet rule_set() const;
    [[nodiscard]] std::string export_json() const;   // every rule, importable
    [[nodiscard]] const std::string& state_file() const { return state_file_; }

private:
    // Writes the run-time rules; on failure the in-memory set is restored
    // by the caller (so memory and disk never disagree).
    [[nodiscard]] ApiOutcome persist(const std::vector<StoredRule>& rules) const;
    [[nodiscard]] ApiOutcome commit(std::vector<StoredRule> next, RuleChanges& changes);

    std::string state_file_;
    std::size_t max_rules_;
    std::vector<StoredRule> rules_;
};

} // namespace mcr::supervisor
