// The exposition model mcrd-metrics builds once per scrape and both text
// writers (exposition_text.hpp) render: metric families with a type, an
// optional unit, help text and samples. Names here are family names as
// OpenMetrics defines them: a counter "mcrd_rule_packets" is exposed as the
// sample "mcrd_rule_packets_total", an info family "mcrd_build" as
// "mcrd_build_info"; the writers add those suffixes, the model never does.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mcr::metrics {

enum class MetricType { gauge, counter, info };

struct Label {
    std::string name;
    std::string value;   // any UTF-8; the writers escape it
};

// Counters and most gauges are exact integers (64-bit packet counts must not
// lose precision in a double); a few gauges are fractional (seconds).
using SampleValue = std::variant<std::uint64_t, double>;

struct Sample {
    std::vector<Label> labels;
    SampleValue value = std::uint64_t{0};
};

struct MetricFamily {
    std::string name;    // [a-zA-Z_][a-zA-Z0-9_]*, no type suffix
    MetricType type = MetricType::gauge;
    std::string unit;    // "" or the name's last component ("bytes", "seconds")
    std::string help;
    std::vector<Sample> samples;

    MetricFamily& add(std::vector<Label> labels, SampleValue value)
    {
        samples.push_back(Sample{std::move(labels), value});
        return *this;
    }
};

using Exposition = std::vector<MetricFamily>;

} // namespace mcr::metrics
