// Counters: aggregation of worker documents into per-rule numbers, GetStats
// JSON, ResetStats baselines, and the at-most-1 Hz PropertiesChanged of
// rule State/Packets/Bytes/Drops.
#include "context.hpp"

#include "supervisor/stats_baseline.hpp"

namespace mcr::supervisor {

namespace {

std::uint64_t counter(const nlohmann::json& object, const char* key)
{
    if (!object.is_object() || !object.contains(key) || !object[key].is_number_unsigned())
        return 0;
    return object[key].get<std::uint64_t>();
}

std::uint64_t sum_of_counters(const nlohmann::json& object)
{
    std::uint64_t sum = 0;
    if (object.is_object())
        for (const auto& [key, value] : object.items())
            sum += value.is_number_unsigned() ? value.get<std::uint64_t>() : 0;
    return sum;
}

RuleTotals counters_of(const nlohmann::json& rule)
{
    RuleTotals c;
    c.packets = counter(rule, "packets");
    c.bytes = counter(rule, "bytes");
    c.drops = counter(rule, "ttl_expired");
    if (rule.contains("outputs") && rule["outputs"].is_array())
        for (const nlohmann::json& output : rule["outputs"])
            c.drops += output.contains("drops") ? sum_of_counters(output["drops"]) : 0;
    return c;
}

} // namespace

std::map<std::string, nlohmann::json> Context::stats_since_reset() const
{
    std::map<std::string, nlohmann::json> out;
    if (!workers_)
        return out;
    for (auto& [interface, doc] : workers_->stats()) {
        auto base = stats_baseline_.find(interface);
        // The manager's totals survive worker restarts: the baseline applies.
        out.emplace(interface, base != stats_baseline_.end() ? subtract_counters(doc, base->second) : doc);
    }
    return out;
}

std::map<std::string, RuleTotals> Context::rule_counters() const
{
    std::map<std::string, RuleTotals> out;
    for (const auto& [interface, doc] : stats_since_reset()) {
        if (!doc.contains("rules") || !doc["rules"].is_array())
            continue;
        for (const nlohmann::json& rule : doc["rules"])
            if (rule.contains("name") && rule["name"].is_string())
                out[rule["name"].get<std::string>()] = counters_of(rule);
    }
    return out;
}

std::string Context::stats_json() const
{
    const std::map<std::string, nlohmann::json> docs = stats_since_reset();
    nlohmann::json rules = nlohmann::json::array();
    for (const StoredRule& stored : store_.rules()) {
        nlohmann::json entry = {{"name", stored.rule.name}, {"packets", 0}, {"bytes", 0}, {"drops", 0},
                                {"ttl_expired", 0}, {"outputs", nlohmann::json::array()}};
        if (auto doc = docs.find(stored.rule.input.interface); doc != docs.end() && doc->second.contains("rules")) {
            for (const nlohmann::json& rule : doc->second["rules"]) {
                if (rule.value("name", "") != stored.rule.name)
                    continue;
                const RuleTotals c = counters_of(rule);
                entry["packets"] = c.packets;
                entry["bytes"] = c.bytes;
                entry["drops"] = c.drops;
                entry["ttl_expired"] = counter(rule, "ttl_expired");
                entry["outputs"] = rule.value("outputs", nlohmann::json::array());
                // Which path relays the rule, the fast path's share of the
                // totals, and the inspected stream's health ("inspect").
                for (const char* key : {"path", "path_reason", "fast_path", "health"})
                    if (rule.contains(key))
                        entry[key] = rule[key];
            }
        }
        // Outputs that require listeners say whether they have one now.
        for (std::size_t o = 0; o < stored.rule.outputs.size() && o < entry["outputs"].size(); ++o)
            if (stored.rule.outputs[o].listeners == ListenerPolicy::required && listeners_)
                entry["outputs"][o]["listening"] = listeners_->output_listening(stored.rule, o);
        rules.push_back(std::move(entry));
    }
    nlohmann::json workers = nlohmann::json::array();
    for (const auto& [interface, doc] : docs) {
        nlohmann::json worker{{"interface", interface},
                              {"uptime_ms", counter(doc, "uptime_ms")},
                              {"kernel", doc.value("kernel", nlohmann::json::object())},
                              {"ingress", doc.value("ingress", nlohmann::json::object())},
                              {"fast_path", doc.value("fast_path", nlohmann::json::object())}};
        // How each family's ingress is read; "receive6" only from a worker
        // with an IPv6 ingress.
        for (const char* key : {"receive", "receive6"})
            if (doc.contains(key) && doc[key].is_object())
                worker[key] = doc[key];
        workers.push_back(std::move(worker));
    }
    nlohmann::json document{{"rules", std::move(rules)}, {"workers", std::move(workers)}};
    if (listeners_)
        document["membership"] = listeners_->to_json();
    return document.dump();
}

std::optional<std::string> Context::membership_json(const std::string& interface) const
{
    nlohmann::json shown = nlohmann::json::array();
    if (listeners_)
        for (nlohmann::json& entry : listeners_->to_json())
            if (interface.empty() || entry.value("interface", "") == interface)
                shown.push_back(std::move(entry));
    if (!interface.empty() && shown.empty())
        return std::nullopt;
    return shown.dump();
}

void Context::reset_stats()
{
    stats_baseline_ = workers_ ? workers_->stats() : std::map<std::string, nlohmann::json>{};
    stats_tick();
}

void Context::workers_changed()
{
    for (const StoredRule& stored : store_.rules()) {
        const std::string state = workers_ ? workers_->rule_state(stored.rule) : "";
        std::string& emitted = emitted_states_[stored.rule.name];
        if (emitted != state) {
            emitted = state;
            relay_bus_.rule_properties_changed(stored.rule.name, {"State"});
        }
    }
    const std::size_t count = workers().size();
    if (count != emitted_worker_count_) {
        emitted_worker_count_ = count;
        relay_bus_.manager_properties_changed({"WorkerCount"});
    }
    notify_status();
}

void Context::stats_tick()
{
    const std::map<std::string, RuleTotals> now = rule_counters();
    std::uint64_t total_packets = 0;
    for (const StoredRule& stored : store_.rules()) {
        auto it = now.find(stored.rule.name);
        const RuleTotals current = it == now.end() ? RuleTotals{} : it->second;
        total_packets += current.packets;
        RuleTotals& emitted = emitted_counters_[stored.rule.name];
        if (emitted == current)
            continue;
        emitted = current;
        relay_bus_.rule_properties_changed(stored.rule.name, {"Packets", "Bytes", "Drops"});
    }
    packets_per_second_ = total_packets >= last_total_packets_ ? total_packets - last_total_packets_ : 0;
    last_total_packets_ = total_packets;
    notify_status();
}

} // namespace mcr::supervisor
