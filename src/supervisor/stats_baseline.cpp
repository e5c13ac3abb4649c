// Baseline subtraction and restart carry-over for worker counter documents.
#include "stats_baseline.hpp"

#include <array>
#include <string>
#include <string_view>

namespace mcr::supervisor {

namespace {

constexpr std::array<std::string_view, 4> kIdentityKeys = {"name", "interface", "address", "port"};

bool is_identity_key(std::string_view key)
{
    for (std::string_view identity : kIdentityKeys)
        if (key == identity)
            return true;
    // Copied, never summed: program ids are identities, not counters; a
    // stream's payload type, SSRC, clock rate, PCR PID and PID count
    // ("health") are values of the stream as it is now.
    for (std::string_view value : {"uptime_ms", "program_id", "payload_type", "ssrc", "clock_rate", "pcr_pid", "pids"})
        if (key == value)
            return true;
    return false;
}

bool same_identity(const nlohmann::json& a, const nlohmann::json& b)
{
    if (!a.is_object() || !b.is_object())
        return false;
    for (std::string_view key : kIdentityKeys) {
        const std::string k(key);
        if (a.contains(k) != b.contains(k) || (a.contains(k) && a[k] != b[k]))
            return false;
    }
    return true;
}

// `current` with each counter replaced by combine(counter, matching counter
// of `other`); the walk shared by subtraction and addition.
template <typename Combine>
nlohmann::json merge_counters(const nlohmann::json& current, const nlohmann::json& other, Combine combine)
{
    if (current.is_number_unsigned() && other.is_number_unsigned())
        return combine(current.get<std::uint64_t>(), other.get<std::uint64_t>());
    if (current.is_object() && other.is_object()) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& [key, value] : current.items())
            out[key] = is_identity_key(key) || !other.contains(key) ? value
                                                                    : merge_counters(value, other[key], combine);
        return out;
    }
    if (current.is_array() && other.is_array()) {
        nlohmann::json out = nlohmann::json::array();
        for (const nlohmann::json& element : current) {
            const nlohmann::json* match = nullptr;
            for (const nlohmann::json& old : other)
                if (same_identity(element, old))
                    match = &old;
            out.push_back(match ? merge_counters(element, *match, combine) : element);
        }
        return out;
    }
    return current;
}

} // namespace

nlohmann::json subtract_counters(const nlohmann::json& current, const nlohmann::json& baseline)
{
    return merge_counters(current, baseline,
                          [](std::uint64_t now, std::uint64_t then) { return now >= then ? now - then : now; });
}

nlohmann::json add_counters(const nlohmann::json& current, const nlohmann::json& earlier)
{
    return merge_counters(current, earlier, [](std::uint64_t now, std::uint64_t before) { return now + before; });
}

bool same_fast_path_maps(const nlohmann::json& a, const nlohmann::json& b)
{
    const auto maps_of = [](const nlohmann::json& doc) -> std::string {
        if (!doc.is_object() || !doc.contains("fast_path") || !doc["fast_path"].is_object())
            return {};
        const nlohmann::json& fast_path = doc["fast_path"];
        return fast_path.contains("maps") && fast_path["maps"].is_string() ? fast_path["maps"].get<std::string>() : "";
    };
    const std::string maps = maps_of(a);
    return !maps.empty() && maps == maps_of(b);
}

nlohmann::json without_fast_path_share(const nlohmann::json& doc)
{
    // A document shaped like `doc` holding only the fast path's numbers,
    // subtracted with the same matching by identity as a baseline.
    const auto share_of = [](const nlohmann::json& object) {
        return object.is_object() && object.contains("fast_path") && object["fast_path"].is_object()
                   ? object["fast_path"]
                   : nlohmann::json::object();
    };
    nlohmann::json share = nlohmann::json::object();
    if (doc.is_object() && doc.contains("fast_path"))
        share["fast_path"] = doc["fast_path"];
    nlohmann::json rules = nlohmann::json::array();
    if (doc.is_object() && doc.contains("rules") && doc["rules"].is_array()) {
        for (const nlohmann::json& rule : doc["rules"]) {
            const nlohmann::json fast = share_of(rule);
            nlohmann::json entry = {{"fast_path", fast},
                                    {"packets", fast.value("packets", std::uint64_t{0})},
                                    {"bytes", fast.value("bytes", std::uint64_t{0})},
                                    {"outputs", nlohmann::json::array()}};
            for (std::string_view key : kIdentityKeys)
                if (rule.is_object() && rule.contains(std::string(key)))
                    entry[std::string(key)] = rule[std::string(key)];
            if (rule.is_object() && rule.contains("outputs") && rule["outputs"].is_array())
                for (const nlohmann::json& output : rule["outputs"]) {
                    const nlohmann::json fast_output = share_of(output);
                    nlohmann::json out = {
                        {"fast_path", fast_output},
                        {"packets", fast_output.value("packets", std::uint64_t{0})},
                        {"bytes", fast_output.value("bytes", std::uint64_t{0})},
                        {"drops", {{"send_error", fast_output.value("errors", std::uint64_t{0})}}},
                        {"no_listener", fast_output.value("no_listener", std::uint64_t{0})}};
                    for (std::string_view key : kIdentityKeys)
                        if (output.is_object() && output.contains(std::string(key)))
                            out[std::string(key)] = output[std::string(key)];
                    entry["outputs"].push_back(std::move(out));
                }
            rules.push_back(std::move(entry));
        }
    }
    share["rules"] = std::move(rules);
    // subtract_counters keeps a counter smaller than its baseline; the share
    // is never larger than the total it is part of.
    return subtract_counters(doc, share);
}

} // namespace mcr::supervisor
