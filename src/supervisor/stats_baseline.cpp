// Baseline subtraction for worker counter documents.
#include "stats_baseline.hpp"

#include <array>
#include <string_view>

namespace mcr::supervisor {

namespace {

constexpr std::array<std::string_view, 4> kIdentityKeys = {"name", "interface", "address", "port"};

bool is_identity_key(std::string_view key)
{
    for (std::string_view identity : kIdentityKeys)
        if (key == identity)
            return true;
    return key == "uptime_ms";
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

} // namespace

nlohmann::json subtract_counters(const nlohmann::json& current, const nlohmann::json& baseline)
{
    if (current.is_number_unsigned() && baseline.is_number_unsigned()) {
        const auto now = current.get<std::uint64_t>();
        const auto then = baseline.get<std::uint64_t>();
        return now >= then ? now - then : now;
    }
    if (current.is_object() && baseline.is_object()) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& [key, value] : current.items())
            out[key] = is_identity_key(key) || !baseline.contains(key) ? value : subtract_counters(value, baseline[key]);
        return out;
    }
    if (current.is_array() && baseline.is_array()) {
        nlohmann::json out = nlohmann::json::array();
        for (const nlohmann::json& element : current) {
            const nlohmann::json* match = nullptr;
            for (const nlohmann::json& old : baseline)
                if (same_identity(element, old))
                    match = &old;
            out.push_back(match ? subtract_counters(element, *match) : element);
        }
        return out;
    }
    return current;
}

} // namespace mcr::supervisor
