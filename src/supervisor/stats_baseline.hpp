// Counter documents from workers minus a baseline taken at ResetStats: the
// workers' counters only grow (until a restart), so a reset is a snapshot
// subtracted from later reads; and plus what earlier runs of a restarted
// worker counted, so totals survive a worker crash.
#pragma once

#include <nlohmann/json.hpp>

namespace mcr::supervisor {

// Every counter of `current` minus the same counter of `baseline`. Array
// elements are matched by their identity fields (name, interface, address,
// port), never by position; identity fields and uptime_ms are copied. A
// counter smaller than its baseline (the worker restarted) is kept as is.
[[nodiscard]] nlohmann::json subtract_counters(const nlohmann::json& current, const nlohmann::json& baseline);

// Every counter of `current` plus the same counter of `earlier` (matched the
// same way). Only what `current` holds is kept: a rule or output that no
// longer exists drops out. Identity fields and uptime_ms come from `current`.
// A null `earlier` returns `current`.
[[nodiscard]] nlohmann::json add_counters(const nlohmann::json& current, const nlohmann::json& earlier);

// Whether two documents count the fast path from the same maps ("fast_path"
// "maps" equal and set): a worker restarted from its FD store continues the
// counters of its predecessor's maps.
[[nodiscard]] bool same_fast_path_maps(const nlohmann::json& a, const nlohmann::json& b);

// `doc` without what the fast path counted (rule and output packets and bytes,
// send errors, the "fast_path" numbers), leaving the userspace path's share.
[[nodiscard]] nlohmann::json without_fast_path_share(const nlohmann::json& doc);

} // namespace mcr::supervisor
