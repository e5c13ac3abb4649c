// Baseline subtraction and restart carry-over for worker counter documents.
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

} // namespace mcr::supervisor
