// Counter bookkeeping across config changes, and the stats JSON document.
#include "stats.hpp"

#include <nlohmann/json.hpp>

namespace mcr::worker {

namespace {

bool same_destination(const RuleOutput& a, const RuleOutput& b)
{
    return a.interface == b.interface && a.address == b.address && a.port == b.port;
}

nlohmann::json receive_json(const ReceiveCounters& receive)
{
    return {{"mode", receive.mode != nullptr ? receive.mode : "none"},
            {"to_ring", receive.to_ring},
            {"to_quiet", receive.to_quiet},
            {"discarded", receive.discarded}};
}

} // namespace

CarriedCounters carry_over_counters(const std::vector<Rule>& old_rules, const std::vector<RuleCounters>& old_counters,
                                   const std::vector<Rule>& rules)
{
    CarriedCounters carried;
    carried.rules.resize(rules.size());
    carried.remap.resize(old_rules.size());
    for (std::size_t old = 0; old < old_rules.size(); ++old)
        carried.remap[old].resize(old_rules[old].outputs.size());
    for (std::size_t r = 0; r < rules.size(); ++r) {
        RuleCounters& counters = carried.rules[r];
        counters.outputs.resize(rules[r].outputs.size());
        for (std::size_t old = 0; old < old_rules.size(); ++old) {
            if (old_rules[old].name != rules[r].name)
                continue;
            const RuleCounters* previous = old < old_counters.size() ? &old_counters[old] : nullptr;
            if (previous) {
                counters.packets = previous->packets;
                counters.bytes = previous->bytes;
                counters.ttl_expired = previous->ttl_expired;
                counters.health = previous->health;
            }
            for (std::size_t o = 0; o < rules[r].outputs.size(); ++o)
                for (std::size_t p = 0; p < old_rules[old].outputs.size(); ++p) {
                    if (!same_destination(old_rules[old].outputs[p], rules[r].outputs[o]))
                        continue;
                    carried.remap[old][p] = OutputRef{static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(o)};
                    if (previous && p < previous->outputs.size())
                        counters.outputs[o] = previous->outputs[p];
                }
        }
        if (rules[r].inspect == StreamInspection::none)
            counters.health.reset();
        else if (!counters.health || counters.health->inspection() != rules[r].inspect)
            counters.health = std::make_shared<StreamHealth>(rules[r].inspect);
    }
    return carried;
}

std::string stats_to_json(const std::string& interface, std::uint64_t uptime_ms, const std::vector<Rule>& rules,
                          const WorkerCounters& counters)
{
    using nlohmann::json;
    const IngressCounters& in = counters.ingress;
    json document = {
        {"interface", interface},
        {"uptime_ms", uptime_ms},
        {"kernel", {{"packets", counters.kernel.packets}, {"drops", counters.kernel.drops}}},
        {"ingress",
         {{"frames", in.frames},
          {"bytes", in.bytes},
          {"not_ip", in.not_ip},
          {"malformed", in.malformed},
          {"fragment", in.fragment},
          {"ip_options", in.ip_options},
          {"not_matched", in.not_matched},
          {"ipv6_fragment", in.ipv6_fragment},
          {"ipv6_routing_header", in.ipv6_routing_header},
          {"ipv6_extension_chain", in.ipv6_extension_chain},
          {"zero_udp_checksum", in.zero_udp_checksum},
          {"no_buffer", in.no_buffer}}},
        {"receive", receive_json(counters.receive)},
        {"rules", json::array()},
    };
    // Only a worker with an IPv6 ingress reads one.
    if (counters.receive6.mode != nullptr)
        document["receive6"] = receive_json(counters.receive6);
    for (std::size_t r = 0; r < rules.size() && r < counters.rules.size(); ++r) {
        const RuleCounters& rc = counters.rules[r];
        json outputs = json::array();
        for (std::size_t o = 0; o < rules[r].outputs.size() && o < rc.outputs.size(); ++o) {
            const RuleOutput& output = rules[r].outputs[o];
            const OutputCounters& oc = rc.outputs[o];
            json entry = {{"interface", output.interface},
                               {"address", output.address.to_string()},
                               {"port", output.port},
                               {"packets", oc.packets},
                               {"bytes", oc.bytes},
                               {"drops",
                                {{"no_buffer", oc.no_buffer},
                                 {"would_block", oc.would_block},
                                 {"too_big", oc.too_big},
                                 {"send_error", oc.send_error},
                                 {"no_source_address", oc.no_source_address}}}};
            // The stream's packets this output lost on top of the input's
            // own loss: every copy the worker could not send.
            if (rc.health)
                entry["health"] = {{"gaps", oc.no_buffer + oc.would_block + oc.too_big + oc.send_error +
                                                oc.no_source_address}};
            // Held copies are the output's policy at work, not a loss: apart from "drops".
            if (output.listeners == ListenerPolicy::required)
                entry["no_listener"] = oc.no_listener;
            outputs.push_back(std::move(entry));
        }
        json rule = {{"name", rules[r].name},
                     {"packets", rc.packets},
                     {"bytes", rc.bytes},
                     {"ttl_expired", rc.ttl_expired},
                     {"outputs", std::move(outputs)}};
        if (rc.health)
            rule["health"] = rc.health->to_json();
        document["rules"].push_back(std::move(rule));
    }
    return document.dump();
}

} // namespace mcr::worker
