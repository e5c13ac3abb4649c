// The one stand-in for the daemon behind the API (RelayApi), for unit tests
// and fuzzers that drive the real WritePath, control dispatch or bus method
// handlers without a supervisor: rules in memory, validated as the daemon
// validates them, at most max_rules of them, the set round-tripped through
// the JSON writer. `applied` counts every write that reached it, so a test
// can prove that a refused or stale request changed nothing.
#pragma once

#include "api/relay_api.hpp"
#include "core/log.hpp"
#include "core/rule_json.hpp"
#include "core/rule_validation.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mcr::testing {

class FakeRelayApi final : public RelayApi {
public:
    ApiOutcome add_rule(Rule rule) override
    {
        ++applied;
        if (Status s = validate_rule(rule); !s)
            return ApiOutcome::fail(ApiError::invalid_rule, s.error().message());
        if (rules_.count(rule.name) != 0)
            return ApiOutcome::fail(ApiError::rule_exists, "rule exists");
        if (rules_.size() >= max_rules)
            return ApiOutcome::fail(ApiError::too_many_rules, "too many rules");
        rules_.emplace(rule.name, std::move(rule));
        return ApiOutcome::success();
    }
    ApiOutcome remove_rule(const std::string& name) override
    {
        ++applied;
        return rules_.erase(name) != 0 ? ApiOutcome::success()
                                       : ApiOutcome::fail(ApiError::no_such_rule, "No rule named '" + name + "'");
    }
    // All or nothing, as the daemon imports: the new set is built aside.
    ApiOutcome import_rules(const RuleSet& rules, bool replace) override
    {
        ++applied;
        std::map<std::string, Rule> next = replace ? std::map<std::string, Rule>{} : rules_;
        for (const Rule& rule : rules.rules)
            next.insert_or_assign(rule.name, rule);
        if (next.size() > max_rules)
            return ApiOutcome::fail(ApiError::too_many_rules, "too many rules");
        rules_ = std::move(next);
        return ApiOutcome::success();
    }
    void reset_stats() override { ++applied; }
    ApiOutcome reload() override
    {
        ++applied;
        return ApiOutcome::success();
    }
    void set_log_level(LogLevel level) override
    {
        ++applied;
        level_ = level;
    }

    [[nodiscard]] std::vector<RuleStatus> rules() const override
    {
        std::vector<RuleStatus> out;
        for (const auto& [name, rule] : rules_)
            out.push_back(status_of(rule));
        return out;
    }
    [[nodiscard]] std::optional<RuleStatus> find_rule(const std::string& name) const override
    {
        const auto it = rules_.find(name);
        if (it == rules_.end())
            return std::nullopt;
        return status_of(it->second);
    }
    [[nodiscard]] std::string export_rules() const override
    {
        RuleSet set;
        for (const auto& [name, rule] : rules_)
            set.rules.push_back(rule);
        return rule_set_to_json(set).dump();
    }
    [[nodiscard]] std::string stats_json() const override { return "{}"; }
    // No output requires listeners here: only "all interfaces" has an answer.
    [[nodiscard]] std::optional<std::string> membership_json(const std::string& interface) const override
    {
        return interface.empty() ? std::optional<std::string>("[]") : std::nullopt;
    }
    [[nodiscard]] std::vector<WorkerStatus> workers() const override
    {
        return {WorkerStatus{"eth0", "spawned", "active", "", 1}};
    }
    [[nodiscard]] std::string log_level_name() const override { return std::string(mcr::log_level_name(level_)); }
    [[nodiscard]] std::string namespace_name() const override { return ""; }

    int applied = 0;
    std::size_t max_rules = 8;

private:
    // Non-zero counters, so readers format real numbers.
    static RuleStatus status_of(const Rule& rule) { return RuleStatus{rule, false, "active", 1, 2, 3}; }

    std::map<std::string, Rule> rules_;
    LogLevel level_ = LogLevel::info;
};

}   // namespace mcr::testing
