// JSON and text renderings of send and receive results.
#include "report.hpp"

#include "pacer.hpp"

#include <nlohmann/json.hpp>

#include <sstream>

namespace mcr::gen {
namespace {

double per_second(std::uint64_t count, std::uint64_t elapsed_ns)
{
    if (elapsed_ns == 0)
        return 0.0;
    return static_cast<double>(count) * static_cast<double>(kNsPerSecond) / static_cast<double>(elapsed_ns);
}

} // namespace

std::string send_report_json(const SendReport& report)
{
    const nlohmann::json doc = {
        {"sent", report.sent},
        {"bytes", report.bytes},
        {"retries", report.retries},
        {"refused", report.refused},
        {"elapsed_ms", report.elapsed_ns / kNsPerMs},
        {"rate_pps", static_cast<std::uint64_t>(per_second(report.sent, report.elapsed_ns))},
        {"stream_id", report.stream_id},
    };
    return doc.dump();
}

std::string send_report_text(const SendReport& report)
{
    std::ostringstream out;
    out << "sent     " << report.sent << " packets, " << report.bytes << " payload bytes\n"
        << "elapsed  " << report.elapsed_ns / kNsPerMs << " ms ("
        << static_cast<std::uint64_t>(per_second(report.sent, report.elapsed_ns)) << " pps)\n"
        << "retries  " << report.retries << "\n"
        << "refused  " << report.refused << "\n";
    return out.str();
}

std::string receive_report_json(const ReceiveReport& report)
{
    const auto& t = report.totals;
    const auto& l = report.latency;
    nlohmann::json doc = {
        {"received", t.received},
        {"unique", t.unique},
        {"lost", t.lost},
        {"duplicated", t.duplicated},
        {"reordered", t.reordered},
        {"invalid", t.invalid},
        {"corrupt", report.corrupt},
        {"streams", t.streams},
        {"bytes", report.bytes},
        {"socket_drops", report.socket_drops},
        {"receive_buffer_bytes", report.receive_buffer_bytes},
        {"elapsed_ms", report.elapsed_ns / kNsPerMs},
        {"latency_ns", {{"samples", l.samples}, {"p50", l.p50_ns}, {"p90", l.p90_ns}, {"p99", l.p99_ns}, {"max", l.max_ns}}},
    };
    doc["expected"] = report.expected ? nlohmann::json(*report.expected) : nlohmann::json(nullptr);
    return doc.dump();
}

std::string receive_report_text(const ReceiveReport& report)
{
    const auto& t = report.totals;
    const auto& l = report.latency;
    std::ostringstream out;
    out << "received   " << t.received << " (unique " << t.unique << ", streams " << t.streams << ")\n"
        << "lost       " << t.lost << "\n"
        << "duplicated " << t.duplicated << "\n"
        << "reordered  " << t.reordered << "\n"
        << "invalid    " << t.invalid << ", corrupt " << report.corrupt << ", socket drops " << report.socket_drops
        << "\n"
        << "latency us p50 " << l.p50_ns / 1000 << ", p90 " << l.p90_ns / 1000 << ", p99 " << l.p99_ns / 1000
        << ", max " << l.max_ns / 1000 << "\n";
    return out.str();
}

} // namespace mcr::gen
