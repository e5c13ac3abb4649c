// Writers of the OpenMetrics and Prometheus text formats, and the Accept
// header negotiation between them. The two formats differ only in what the
// metadata lines name (family vs. sample name), the info type (none in
// 0.0.4: a gauge), # UNIT and the closing # EOF; samples are written alike.
#include "metrics/exposition_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

namespace mcr::metrics {

namespace {

std::string_view trim(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

std::string lowercase(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// One media range of an Accept header: "type/subtype; version=...; q=0.5".
struct MediaRange {
    std::string type;
    std::string version;
    double quality = 1.0;
};

MediaRange parse_media_range(std::string_view text)
{
    MediaRange range;
    std::size_t semicolon = text.find(';');
    range.type = lowercase(trim(text.substr(0, semicolon)));
    while (semicolon != std::string_view::npos) {
        text.remove_prefix(semicolon + 1);
        semicolon = text.find(';');
        const std::string_view parameter = trim(text.substr(0, semicolon));
        const std::size_t equals = parameter.find('=');
        if (equals == std::string_view::npos)
            continue;
        const std::string key = lowercase(trim(parameter.substr(0, equals)));
        std::string_view value = trim(parameter.substr(equals + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        if (key == "version") {
            range.version = std::string(value);
        } else if (key == "q") {
            double quality = 0;
            // A malformed quality counts as 0: that range is not acceptable.
            const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), quality);
            range.quality = error == std::errc() && end == value.data() + value.size() ? quality : 0.0;
        }
    }
    return range;
}

std::string sample_name(const MetricFamily& family)
{
    switch (family.type) {
    case MetricType::counter:
        return family.name + "_total";
    case MetricType::info:
        return family.name + "_info";
    case MetricType::gauge:
        break;
    }
    return family.name;
}

// The metadata name: OpenMetrics names the family, 0.0.4 the sample.
std::string metadata_name(const MetricFamily& family, ExpositionFormat format)
{
    return format == ExpositionFormat::openmetrics ? family.name : sample_name(family);
}

const char* type_name(MetricType type, ExpositionFormat format)
{
    switch (type) {
    case MetricType::counter:
        return "counter";
    case MetricType::info:
        // The 0.0.4 format has no info type: an info metric is a gauge of 1.
        return format == ExpositionFormat::openmetrics ? "info" : "gauge";
    case MetricType::gauge:
        break;
    }
    return "gauge";
}

// HELP text: both formats escape backslash and line feed; OpenMetrics also
// the double quote (0.0.4 parsers refuse \" in HELP, so it stays literal).
std::string escape_help(std::string_view text, ExpositionFormat format)
{
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && format == ExpositionFormat::openmetrics)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

void append_value(std::string& out, const SampleValue& value)
{
    std::array<char, 32> buffer{};
    if (const auto* integer = std::get_if<std::uint64_t>(&value)) {
        const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), *integer);
        out.append(buffer.data(), result.ptr);
        return;
    }
    const double real = std::get<double>(value);
    if (std::isnan(real)) {
        out += "NaN";
    } else if (std::isinf(real)) {
        out += real > 0 ? "+Inf" : "-Inf";
    } else {
        const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), real);
        out.append(buffer.data(), result.ptr);
    }
}

void append_sample(std::string& out, const std::string& name, const Sample& sample)
{
    out += name;
    if (!sample.labels.empty()) {
        out += '{';
        bool first = true;
        for (const Label& label : sample.labels) {
            if (!first)
                out += ',';
            first = false;
            out += label.name;
            out += "=\"";
            out += escape_label_value(label.value);
            out += '"';
        }
        out += '}';
    }
    out += ' ';
    append_value(out, sample.value);
    out += '\n';
}

} // namespace

const char* content_type(ExpositionFormat format)
{
    return format == ExpositionFormat::openmetrics ? kOpenMetricsContentType : kPrometheusTextContentType;
}

ExpositionFormat negotiate_format(std::string_view accept_header)
{
    double openmetrics_quality = 0;
    double text_quality = 0;
    while (!accept_header.empty()) {
        const std::size_t comma = accept_header.find(',');
        const MediaRange range = parse_media_range(accept_header.substr(0, comma));
        accept_header = comma == std::string_view::npos ? std::string_view{} : accept_header.substr(comma + 1);
        if (range.type == "application/openmetrics-text" && (range.version.empty() || range.version == "1.0.0"))
            openmetrics_quality = std::max(openmetrics_quality, range.quality);
        else if ((range.type == "text/plain" && (range.version.empty() || range.version == "0.0.4")) ||
                 range.type == "text/*" || range.type == "*/*")
            text_quality = std::max(text_quality, range.quality);
    }
    return openmetrics_quality > 0 && openmetrics_quality >= text_quality ? ExpositionFormat::openmetrics
                                                                          : ExpositionFormat::prometheus_text;
}

std::string escape_label_value(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

bool is_valid_name(std::string_view name)
{
    if (name.empty())
        return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (!letter && !(digit && i > 0))
            return false;
    }
    return true;
}

std::string write_exposition(const Exposition& families, ExpositionFormat format)
{
    std::string out;
    for (const MetricFamily& family : families) {
        // A family without samples says nothing a scraper can use.
        if (family.samples.empty())
            continue;
        const std::string meta = metadata_name(family, format);
        out += "# HELP " + meta + ' ' + escape_help(family.help, format) + '\n';
        out += "# TYPE " + meta + ' ' + type_name(family.type, format) + '\n';
        if (format == ExpositionFormat::openmetrics && !family.unit.empty())
            out += "# UNIT " + meta + ' ' + family.unit + '\n';
        const std::string name = sample_name(family);
        for (const Sample& sample : family.samples)
            append_sample(out, name, sample);
    }
    if (format == ExpositionFormat::openmetrics)
        out += "# EOF\n";
    return out;
}

} // namespace mcr::metrics
