// Counts of rules that left the fast path (retired_fast_path.hpp).
#include "retired_fast_path.hpp"

#include <set>

namespace mcr::worker {
namespace {

// An output's identity as the stats document spells it (stats_to_json()).
std::string output_key(const std::string& interface, const std::string& address, std::uint64_t port)
{
    return interface + "|" + address + "|" + std::to_string(port);
}

std::uint64_t counter(const nlohmann::json& object, const char* key)
{
    auto it = object.find(key);
    return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

} // namespace

void RetiredFastPath::add(const Rule& rule, const FastCounts& counts)
{
    Kept& kept = rules_[rule.name];
    kept.packets += counts.packets;
    kept.bytes += counts.bytes;
    for (std::size_t o = 0; o < counts.outputs.size() && o < rule.outputs.size(); ++o) {
        const RuleOutput& output = rule.outputs[o];
        FastCounts::Output& sum = kept.outputs[output_key(output.interface, output.address.to_string(), output.port)];
        sum.packets += counts.outputs[o].packets;
        sum.bytes += counts.outputs[o].bytes;
        sum.errors += counts.outputs[o].errors;
        sum.no_listener += counts.outputs[o].no_listener;
    }
}

void RetiredFastPath::keep_only(const std::vector<Rule>& rules)
{
    std::set<std::string> names;
    for (const Rule& rule : rules)
        names.insert(rule.name);
    std::erase_if(rules_, [&names](const auto& entry) { return names.count(entry.first) == 0; });
}

void RetiredFastPath::add_to_stats(nlohmann::json& document) const
{
    if (rules_.empty() || !document.contains("rules") || !document["rules"].is_array())
        return;
    for (nlohmann::json& rule : document["rules"]) {
        if (!rule.is_object() || !rule.contains("name") || !rule["name"].is_string())
            continue;
        const auto kept = rules_.find(rule["name"].get<std::string>());
        if (kept == rules_.end())
            continue;
        rule["packets"] = counter(rule, "packets") + kept->second.packets;
        rule["bytes"] = counter(rule, "bytes") + kept->second.bytes;
        if (!rule.contains("outputs") || !rule["outputs"].is_array())
            continue;
        for (nlohmann::json& output : rule["outputs"]) {
            if (!output.is_object())
                continue;
            const auto sum = kept->second.outputs.find(output_key(output.value("interface", ""),
                                                                  output.value("address", ""),
                                                                  counter(output, "port")));
            if (sum == kept->second.outputs.end())
                continue;
            output["packets"] = counter(output, "packets") + sum->second.packets;
            output["bytes"] = counter(output, "bytes") + sum->second.bytes;
            nlohmann::json& drops = output["drops"];
            if (!drops.is_object())
                drops = nlohmann::json::object();
            drops["send_error"] = counter(drops, "send_error") + sum->second.errors;
            // Present for outputs that require listeners (core/worker_protocol.hpp).
            if (sum->second.no_listener != 0 || output.contains("no_listener"))
                output["no_listener"] = counter(output, "no_listener") + sum->second.no_listener;
        }
    }
}

} // namespace mcr::worker
