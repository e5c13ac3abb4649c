// Parses, differences and renders relay counters for mcrctl.
#include "stats_view.hpp"

#include "endpoint_args.hpp"
#include "output_table.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace mcr::ctl {
namespace {

using nlohmann::json;

std::uint64_t counter(const json& object, const char* key)
{
    auto it = object.find(key);
    return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::string text(const json& object, const char* key)
{
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "drops": 5, or "drops": {"no_buffer": 2, "send_error": 3} -> 5.
std::uint64_t drop_total(const json& object)
{
    auto it = object.find("drops");
    if (it == object.end())
        return 0;
    if (it->is_number_unsigned())
        return it->get<std::uint64_t>();
    std::uint64_t total = 0;
    if (it->is_object())
        for (const auto& [reason, count] : it->items())
            total += count.is_number_unsigned() ? count.get<std::uint64_t>() : 0;
    return total;
}

const json& array_or_empty(const json& object, const char* key)
{
    static const json kEmpty = json::array();
    auto it = object.find(key);
    return it != object.end() && it->is_array() ? *it : kEmpty;
}

std::optional<HealthStatsRow> health_of(const json& rule)
{
    auto it = rule.find("health");
    if (it == rule.end() || !it->is_object())
        return std::nullopt;
    const json& health = *it;
    HealthStatsRow row;
    row.kind = text(health, "kind");
    row.state = text(health, "state");
    row.malformed = counter(health, "malformed");
    row.cc_errors = counter(health, "cc_errors");
    row.duplicates = counter(health, "duplicates");
    // TS in RTP: loss, reordering and jitter are the RTP layer's.
    const auto rtp_layer = health.find("rtp");
    const json& rtp = rtp_layer != health.end() && rtp_layer->is_object() ? *rtp_layer : health;
    row.lost = counter(rtp, "lost");
    row.reordered = counter(rtp, "reordered");
    if (auto jitter = rtp.find("jitter_us"); jitter != rtp.end() && jitter->is_number())
        row.jitter_us = jitter->get<double>();
    if (row.kind == "mpegts") {
        auto pcr = health.find("pcr_pid");
        row.detail = (pcr != health.end() && pcr->is_number_unsigned() ? "pcr pid " + pcr->dump() : "no pcr") + ", " +
                     std::to_string(counter(health, "pids")) + " pids";
    } else {
        auto pt = health.find("payload_type");
        auto ssrc = health.find("ssrc");
        if (pt != health.end() && pt->is_number_unsigned())
            row.detail = "pt " + pt->dump();
        if (ssrc != health.end() && ssrc->is_number_unsigned()) {
            char hex[16];
            std::snprintf(hex, sizeof(hex), "0x%08llx", static_cast<unsigned long long>(ssrc->get<std::uint64_t>()));
            row.detail += (row.detail.empty() ? "ssrc " : ", ssrc ") + std::string(hex);
        }
    }
    return row;
}

std::optional<std::uint64_t> output_gaps(const json& output)
{
    auto health = output.find("health");
    if (health == output.end() || !health->is_object())
        return std::nullopt;
    return counter(*health, "gaps");
}

std::string jitter_text(const std::optional<double>& jitter_us)
{
    if (!jitter_us)
        return "-";
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f", *jitter_us);
    return text;
}

} // namespace

std::string health_text(const HealthStatsRow& health)
{
    std::string out = health.kind + " " + health.state + ": lost " + std::to_string(health.lost) + ", reordered " +
                      std::to_string(health.reordered) + ", duplicates " + std::to_string(health.duplicates) +
                      ", malformed " + std::to_string(health.malformed);
    if (health.kind == "mpegts")
        out += ", cc errors " + std::to_string(health.cc_errors);
    if (health.jitter_us)
        out += ", jitter " + jitter_text(health.jitter_us) + " us";
    if (!health.detail.empty())
        out += " (" + health.detail + ")";
    return out;
}

namespace {

// A worker's "receive" ("receive6") object as "quiet (2/1)": the mode, then
// how often it moved to the ring and back to quiet. "-" when absent.
std::string receive_text(const json& worker, const char* key)
{
    const auto receive = worker.find(key);
    if (receive == worker.end() || !receive->is_object())
        return "-";
    const std::string mode = text(*receive, "mode");
    return (mode.empty() ? "-" : mode) + " (" + std::to_string(counter(*receive, "to_ring")) + "/" +
           std::to_string(counter(*receive, "to_quiet")) + ")";
}

} // namespace

Result<StatsSnapshot> parse_stats(std::string_view json_text)
{
    json document = json::parse(json_text, nullptr, false);
    if (document.is_discarded() || !document.is_object())
        return Error{"", "the daemon's statistics are not a JSON object"};
    StatsSnapshot snapshot;
    for (const auto& rule : array_or_empty(document, "rules")) {
        if (!rule.is_object())
            continue;
        RuleStatsRow counters{text(rule, "name"), counter(rule, "packets"), counter(rule, "bytes"), drop_total(rule),
                              {}, text(rule, "path"), text(rule, "path_reason"), health_of(rule)};
        for (const auto& output : array_or_empty(rule, "outputs"))
            if (output.is_object())
                counters.outputs.push_back({text(output, "interface"), text(output, "address"), counter(output, "port"),
                                            counter(output, "packets"), counter(output, "bytes"), drop_total(output),
                                            output_gaps(output), parse_output_listeners(output)});
        snapshot.rules.push_back(std::move(counters));
    }
    for (const auto& worker : array_or_empty(document, "workers")) {
        if (!worker.is_object())
            continue;
        WorkerStatsRow counters{text(worker, "interface"), 0, 0, {}, {}, receive_text(worker, "receive"),
                                receive_text(worker, "receive6")};
        if (auto kernel = worker.find("kernel"); kernel != worker.end() && kernel->is_object()) {
            counters.kernel_packets = counter(*kernel, "packets");
            counters.kernel_drops = counter(*kernel, "drops");
        }
        if (auto fast_path = worker.find("fast_path"); fast_path != worker.end() && fast_path->is_object()) {
            counters.fast_path_mode = text(*fast_path, "mode");
            counters.fast_path_reason = text(*fast_path, "reason");
        }
        snapshot.workers.push_back(std::move(counters));
    }
    if (auto membership = document.find("membership"); membership != document.end())
        snapshot.membership = parse_membership(*membership);
    return snapshot;
}

std::string path_text(const std::string& path, const std::string& reason)
{
    if (path.empty())
        return "-";
    return reason.empty() ? path : path + " (" + reason + ")";
}

std::map<std::string, RuleRate> rule_rates(const StatsSnapshot& before, const StatsSnapshot& after,
                                           double elapsed_seconds)
{
    std::map<std::string, RuleRate> rates;
    if (elapsed_seconds <= 0)
        return rates;
    std::map<std::string, const RuleStatsRow*> previous;
    for (const auto& rule : before.rules)
        previous[rule.name] = &rule;
    constexpr double kBitsPerByte = 8.0;
    for (const auto& rule : after.rules) {
        auto it = previous.find(rule.name);
        if (it == previous.end() || rule.packets < it->second->packets || rule.bytes < it->second->bytes)
            continue;
        rates[rule.name] = RuleRate{static_cast<double>(rule.packets - it->second->packets) / elapsed_seconds,
                                    static_cast<double>(rule.bytes - it->second->bytes) * kBitsPerByte / elapsed_seconds};
    }
    return rates;
}

std::string render_stats(const StatsSnapshot& stats, const std::map<std::string, RuleRate>* rates)
{
    std::vector<TableColumn> rule_columns = {{"RULE", false}, {"PACKETS", true}, {"BYTES", true}, {"DROPS", true}};
    if (rates != nullptr) {
        rule_columns.push_back({"PKT/S", true});
        rule_columns.push_back({"BIT/S", true});
    }
    rule_columns.push_back({"PATH", false});
    OutputTable rule_table(rule_columns);
    bool inspected = false;
    bool gated = false;   // some output sends only while listeners are known
    for (const auto& rule : stats.rules) {
        inspected = inspected || rule.health.has_value();
        for (const auto& output : rule.outputs)
            gated = gated || output.listeners.has_value();
    }
    std::vector<TableColumn> output_columns = {
        {"RULE", false}, {"OUTPUT", false}, {"PACKETS", true}, {"BYTES", true}, {"DROPS", true}};
    if (inspected)
        output_columns.push_back({"GAPS", true});
    if (gated) {
        output_columns.push_back({"LISTENERS", false});
        output_columns.push_back({"NO-LISTENER", true});
    }
    OutputTable output_table(output_columns);
    OutputTable health_table({{"RULE", false}, {"HEALTH", false}, {"STATE", false}, {"LOST", true},
                              {"REORDERED", true}, {"DUPLICATES", true}, {"MALFORMED", true}, {"CC-ERRORS", true},
                              {"JITTER-US", true}, {"STREAM", false}});
    for (const auto& rule : stats.rules) {
        std::vector<std::string> row = {rule.name, std::to_string(rule.packets), std::to_string(rule.bytes),
                                        std::to_string(rule.drops)};
        if (rates != nullptr) {
            auto it = rates->find(rule.name);
            row.push_back(it == rates->end() ? "-" : human_count(it->second.packets_per_second));
            row.push_back(it == rates->end() ? "-" : human_count(it->second.bits_per_second));
        }
        row.push_back(path_text(rule.path, rule.path_reason));
        rule_table.add_row(std::move(row));
        for (const auto& output : rule.outputs) {
            std::vector<std::string> output_row = {
                rule.name, output.interface + ":" + format_address(output.address) + ":" + std::to_string(output.port),
                std::to_string(output.packets), std::to_string(output.bytes), std::to_string(output.drops)};
            if (inspected)
                output_row.push_back(output.gaps ? std::to_string(*output.gaps) : "-");
            if (gated) {
                output_row.push_back(output.listeners ? "required, " + listener_state_text(output.listeners)
                                                      : listener_policy_text(output.listeners));
                output_row.push_back(output.listeners ? std::to_string(output.listeners->no_listener) : "-");
            }
            output_table.add_row(std::move(output_row));
        }
        if (const auto& h = rule.health)
            health_table.add_row({rule.name, h->kind, h->state, std::to_string(h->lost), std::to_string(h->reordered),
                                  std::to_string(h->duplicates), std::to_string(h->malformed),
                                  h->kind == "mpegts" ? std::to_string(h->cc_errors) : "-", jitter_text(h->jitter_us),
                                  h->detail.empty() ? "-" : h->detail});
    }
    std::string text = rule_table.render();
    if (!output_table.empty())
        text += "\n" + output_table.render();
    if (!health_table.empty())
        text += "\n" + health_table.render();
    if (!stats.workers.empty()) {
        OutputTable worker_table({{"INTERFACE", false},
                                  {"KERNEL-PACKETS", true},
                                  {"KERNEL-DROPS", true},
                                  {"FAST-PATH", false},
                                  {"RECEIVE", false},
                                  {"RECEIVE6", false}});
        for (const auto& worker : stats.workers)
            worker_table.add_row({worker.interface, std::to_string(worker.kernel_packets),
                                  std::to_string(worker.kernel_drops),
                                  path_text(worker.fast_path_mode, worker.fast_path_reason), worker.receive,
                                  worker.receive6});
        text += "\n" + worker_table.render();
    }
    return text;
}

} // namespace mcr::ctl
