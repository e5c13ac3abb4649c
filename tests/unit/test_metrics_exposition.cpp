// Proves the exporter's text writers (src/metrics/exposition_text.cpp): label
// values escaped (backslash, quote, line feed) in both formats, counter and
// info names per format, # UNIT and # EOF only in OpenMetrics, exact 64-bit
// integers, and the Accept negotiation Prometheus relies on.
#include "metrics/exposition_text.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

using namespace mcr::metrics;

namespace {

Exposition sample_exposition()
{
    Exposition families;
    families.push_back(MetricFamily{"mcrd_rule_bytes", MetricType::counter, "bytes", "Payload \"bytes\"\nrelayed", {}}
                           .add({{"rule", "a\\b\"c\nd"}}, std::uint64_t{18446744073709551615ULL}));
    families.push_back(MetricFamily{"mcrd_build", MetricType::info, "", "Build", {}}
                           .add({{"version", "0.1.0"}}, std::uint64_t{1}));
    families.push_back(MetricFamily{"mcrd_worker_uptime_seconds", MetricType::gauge, "seconds", "Uptime", {}}
                           .add({{"interface", "in0"}}, 1.5));
    families.push_back(MetricFamily{"mcrd_empty", MetricType::gauge, "", "No samples", {}});
    return families;
}

} // namespace

TEST_CASE("label values escape backslash, double quote and line feed, nothing else")
{
    CHECK(escape_label_value("plain") == "plain");
    CHECK(escape_label_value("a\\b") == "a\\\\b");
    CHECK(escape_label_value("say \"hi\"") == "say \\\"hi\\\"");
    CHECK(escape_label_value("two\nlines") == "two\\nlines");
    CHECK(escape_label_value("tab\there, ütf-8") == "tab\there, ütf-8");
}

TEST_CASE("metric and label names: [a-zA-Z_][a-zA-Z0-9_]*")
{
    CHECK(is_valid_name("mcrd_rule_packets"));
    CHECK(is_valid_name("_x9"));
    CHECK_FALSE(is_valid_name(""));
    CHECK_FALSE(is_valid_name("9lives"));
    CHECK_FALSE(is_valid_name("has-dash"));
    CHECK_FALSE(is_valid_name("colon:name"));
}

TEST_CASE("OpenMetrics: family names in metadata, _total and _info on samples, # UNIT, # EOF")
{
    const std::string text = write_exposition(sample_exposition(), ExpositionFormat::openmetrics);
    CHECK(text == "# HELP mcrd_rule_bytes Payload \\\"bytes\\\"\\nrelayed\n"
                  "# TYPE mcrd_rule_bytes counter\n"
                  "# UNIT mcrd_rule_bytes bytes\n"
                  "mcrd_rule_bytes_total{rule=\"a\\\\b\\\"c\\nd\"} 18446744073709551615\n"
                  "# HELP mcrd_build Build\n"
                  "# TYPE mcrd_build info\n"
                  "mcrd_build_info{version=\"0.1.0\"} 1\n"
                  "# HELP mcrd_worker_uptime_seconds Uptime\n"
                  "# TYPE mcrd_worker_uptime_seconds gauge\n"
                  "# UNIT mcrd_worker_uptime_seconds seconds\n"
                  "mcrd_worker_uptime_seconds{interface=\"in0\"} 1.5\n"
                  "# EOF\n");
}

TEST_CASE("Prometheus text 0.0.4: sample names in metadata, info as gauge, no # UNIT, no # EOF")
{
    const std::string text = write_exposition(sample_exposition(), ExpositionFormat::prometheus_text);
    CHECK(text == "# HELP mcrd_rule_bytes_total Payload \"bytes\"\\nrelayed\n"
                  "# TYPE mcrd_rule_bytes_total counter\n"
                  "mcrd_rule_bytes_total{rule=\"a\\\\b\\\"c\\nd\"} 18446744073709551615\n"
                  "# HELP mcrd_build_info Build\n"
                  "# TYPE mcrd_build_info gauge\n"
                  "mcrd_build_info{version=\"0.1.0\"} 1\n"
                  "# HELP mcrd_worker_uptime_seconds Uptime\n"
                  "# TYPE mcrd_worker_uptime_seconds gauge\n"
                  "mcrd_worker_uptime_seconds{interface=\"in0\"} 1.5\n");
}

TEST_CASE("an empty exposition is a valid document in both formats")
{
    CHECK(write_exposition({}, ExpositionFormat::openmetrics) == "# EOF\n");
    CHECK(write_exposition({}, ExpositionFormat::prometheus_text).empty());
}

TEST_CASE("non-finite gauges are written as the formats spell them")
{
    Exposition families;
    families.push_back(MetricFamily{"g", MetricType::gauge, "", "h", {}}
                           .add({{"k", "nan"}}, std::numeric_limits<double>::quiet_NaN())
                           .add({{"k", "inf"}}, std::numeric_limits<double>::infinity())
                           .add({{"k", "-inf"}}, -std::numeric_limits<double>::infinity()));
    const std::string text = write_exposition(families, ExpositionFormat::prometheus_text);
    CHECK(text.find("g{k=\"nan\"} NaN\n") != std::string::npos);
    CHECK(text.find("g{k=\"inf\"} +Inf\n") != std::string::npos);
    CHECK(text.find("g{k=\"-inf\"} -Inf\n") != std::string::npos);
}

TEST_CASE("Accept negotiation: OpenMetrics only when asked for at least as much as text")
{
    // What Prometheus 2.x sends when it prefers OpenMetrics.
    CHECK(negotiate_format("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                           "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1") == ExpositionFormat::openmetrics);
    CHECK(negotiate_format("application/openmetrics-text") == ExpositionFormat::openmetrics);
    CHECK(negotiate_format("Application/OpenMetrics-Text; Version=\"1.0.0\"; charset=utf-8") ==
          ExpositionFormat::openmetrics);
    // Anything else gets the 0.0.4 text.
    CHECK(negotiate_format("") == ExpositionFormat::prometheus_text);
    CHECK(negotiate_format("*/*") == ExpositionFormat::prometheus_text);
    CHECK(negotiate_format("text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5") ==
          ExpositionFormat::prometheus_text);
    CHECK(negotiate_format("application/openmetrics-text;version=2.0.0") == ExpositionFormat::prometheus_text);
    CHECK(negotiate_format("application/openmetrics-text;q=0") == ExpositionFormat::prometheus_text);
    CHECK(negotiate_format("application/openmetrics-text;q=bogus") == ExpositionFormat::prometheus_text);
    CHECK(content_type(ExpositionFormat::openmetrics) ==
          std::string("application/openmetrics-text; version=1.0.0; charset=utf-8"));
    CHECK(content_type(ExpositionFormat::prometheus_text) == std::string("text/plain; version=0.0.4; charset=utf-8"));
}
