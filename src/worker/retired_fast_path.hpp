// What the fast path counted for rules that left it while the worker runs
// (an output interface went down, the rule's "fast_path" was switched off,
// its match changed): their map counters go with the removed entry, so the
// worker keeps them and adds them to the rule's totals, which stay exact and
// monotonic whichever path relays it next.
#pragma once

#include "core/rule.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mcr::worker {

// The fast path's counts of one rule: the rule's and each output's, in the
// rule's output order (fastpath::RuleTraffic without the fastpath library).
struct FastCounts {
    struct Output {
        std::uint64_t packets = 0;
        std::uint64_t bytes = 0;
        std::uint64_t errors = 0;
        std::uint64_t no_listener = 0; // copies held while no listener was known
    };
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::vector<Output> outputs;
};

class RetiredFastPath {
public:
    // Adds a removed rule's final counts under its name; outputs by their
    // identity (interface, address, port), taken from `rule` as installed.
    void add(const Rule& rule, const FastCounts& counts);

    // Forgets the rules `rules` no longer holds (by name): a removed rule's
    // totals drop out of the statistics, as the userspace path's do.
    void keep_only(const std::vector<Rule>& rules);

    // Adds the kept counts to a stats document's rules and outputs (matched
    // by name and identity), into "packets", "bytes" and the outputs'
    // "drops"."send_error" and "no_listener" — not into "fast_path", which is what the maps
    // hold now: the supervisor carries the rest over a worker restart (as
    // the userspace path's share), and so these counts too.
    void add_to_stats(nlohmann::json& document) const;

    [[nodiscard]] bool empty() const noexcept { return rules_.empty(); }

private:
    struct Kept {
        std::uint64_t packets = 0;
        std::uint64_t bytes = 0;
        std::map<std::string, FastCounts::Output> outputs; // by output_key()
    };
    std::map<std::string, Kept> rules_;
};

} // namespace mcr::worker
