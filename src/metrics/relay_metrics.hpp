// The metric families of one scrape: mcrd_up, and when mcrd answered, its
// build, rule and worker counts and every counter of GetStats (per rule, per
// output, per ingress interface, fast path vs. userspace).
#pragma once

#include "metrics/metric_family.hpp"
#include "metrics/relay_reading.hpp"

#include <optional>

namespace mcr::metrics {

// `reading` is nullopt when mcrd could not be read: then only mcrd_up 0.
[[nodiscard]] Exposition relay_metrics(const std::optional<RelayReading>& reading);

} // namespace mcr::metrics
