// The two text formats of one Exposition: OpenMetrics 1.0.0 (what Prometheus
// asks for first) and the Prometheus text format 0.0.4 (what anyone else,
// curl included, gets), and which one a request's Accept header asks for.
#pragma once

#include "metrics/metric_family.hpp"

#include <string>
#include <string_view>

namespace mcr::metrics {

enum class ExpositionFormat { openmetrics, prometheus_text };

inline constexpr const char* kOpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
inline constexpr const char* kPrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";

[[nodiscard]] const char* content_type(ExpositionFormat format);

// OpenMetrics when the Accept header lists application/openmetrics-text
// (without a version or with version 1.0.0) at a quality no lower than the
// best text/plain or wildcard range; the Prometheus text format otherwise
// (no header, "*/*", "text/plain", an unknown OpenMetrics version).
[[nodiscard]] ExpositionFormat negotiate_format(std::string_view accept_header);

// A label value with backslash, double quote and line feed escaped, as both
// formats require.
[[nodiscard]] std::string escape_label_value(std::string_view value);

// Whether `name` is a valid metric or label name ([a-zA-Z_][a-zA-Z0-9_]*;
// the colon is left to recording rules).
[[nodiscard]] bool is_valid_name(std::string_view name);

// The whole body; the OpenMetrics one ends in "# EOF\n".
[[nodiscard]] std::string write_exposition(const Exposition& families, ExpositionFormat format);

} // namespace mcr::metrics
