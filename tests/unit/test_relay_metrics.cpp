// Proves the exporter's model (src/metrics/relay_metrics.cpp) from a crafted
// GetStats reply: exact per-rule, per-output and per-interface counters,
// drops by reason, the fast/userspace split, worker state and restarts,
// mcrd_up 0 alone when mcrd did not answer, valid names everywhere; and the
// rate limit of scrape failure lines (failure_log.cpp).
#include "metrics/exposition_text.hpp"
#include "metrics/failure_log.hpp"
#include "metrics/relay_metrics.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace mcr::metrics;

namespace {

// As GetStats answers (org.mcr.Relay(5), core/worker_protocol.hpp): r1 on the
// fast path with a share of its packets moved in the kernel, r2 on the
// userspace path, r3 with no worker report yet.
const char* kStats = R"({"rules":[
  {"name":"r1","packets":1000,"bytes":200000,"drops":3,"ttl_expired":1,"path":"tc",
   "fast_path":{"packets":900,"bytes":180000},
   "outputs":[{"interface":"out0","address":"239.2.2.2","port":6000,"packets":998,"bytes":199600,
               "drops":{"no_buffer":0,"would_block":1,"too_big":0,"send_error":1},
               "fast_path":{"packets":900,"bytes":180000,"errors":1}}]},
  {"name":"say \"hi\"","packets":5,"bytes":50,"drops":0,"ttl_expired":0,"path":"userspace",
   "path_reason":"output-interface-down","outputs":[]},
  {"name":"r3","packets":0,"bytes":0,"drops":0,"ttl_expired":0,"outputs":[]}],
 "workers":[{"interface":"in0","uptime_ms":2500,"kernel":{"packets":1010,"drops":4},
   "ingress":{"frames":1010,"bytes":250000,"not_ip":2,"malformed":1,"fragment":0,"ip_options":0,
              "not_matched":3,"no_buffer":0},
   "fast_path":{"mode":"tc","reason":"","relayed":900,"pass":{"not-ipv4":7,"no-rule":2}}}]})";

RelayReading reading()
{
    RelayReading r;
    r.version = "0.1.0";
    r.rule_count = 3;
    r.worker_count = 2;
    r.stats = nlohmann::json::parse(kStats);
    r.workers = {WorkerReading{"in0", "mcrd-worker@in0.service", "active", 42, 2},
                 WorkerReading{"in1", "spawned", "waiting for interface", 0, std::nullopt}};
    return r;
}

std::string prometheus_text(const std::optional<RelayReading>& r)
{
    return write_exposition(relay_metrics(r), ExpositionFormat::prometheus_text);
}

bool has_line(const std::string& text, const std::string& line)
{
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

} // namespace

TEST_CASE("mcrd not answering: mcrd_up 0 and nothing else")
{
    CHECK(prometheus_text(std::nullopt) == "# HELP mcrd_up Whether mcrd answered this scrape on D-Bus (1) or not (0)\n"
                                           "# TYPE mcrd_up gauge\n"
                                           "mcrd_up 0\n");
}

TEST_CASE("supervisor: up, build info, rule and worker counts")
{
    const std::string text = prometheus_text(reading());
    CHECK(has_line(text, "mcrd_up 1"));
    CHECK(has_line(text, "mcrd_build_info{version=\"0.1.0\"} 1"));
    CHECK(has_line(text, "mcrd_rules 3"));
    CHECK(has_line(text, "mcrd_workers 2"));
}

TEST_CASE("per rule: packets, bytes, drops by reason, escaped rule names")
{
    const std::string text = prometheus_text(reading());
    CHECK(has_line(text, "mcrd_rule_packets_total{rule=\"r1\"} 1000"));
    CHECK(has_line(text, "mcrd_rule_bytes_total{rule=\"r1\"} 200000"));
    CHECK(has_line(text, "mcrd_rule_drops_total{rule=\"r1\",reason=\"ttl_expired\"} 1"));
    CHECK(has_line(text, "mcrd_rule_packets_total{rule=\"say \\\"hi\\\"\"} 5"));
    CHECK(has_line(text, "mcrd_rule_packets_total{rule=\"r3\"} 0"));
}

TEST_CASE("path taken: fast and userspace shares add up to the rule's totals")
{
    const std::string text = prometheus_text(reading());
    CHECK(has_line(text, "mcrd_rule_path_info{rule=\"r1\",path=\"fast\",reason=\"\"} 1"));
    CHECK(has_line(text, "mcrd_rule_path_packets_total{rule=\"r1\",path=\"fast\"} 900"));
    CHECK(has_line(text, "mcrd_rule_path_packets_total{rule=\"r1\",path=\"userspace\"} 100"));
    CHECK(has_line(text, "mcrd_rule_path_bytes_total{rule=\"r1\",path=\"fast\"} 180000"));
    CHECK(has_line(text, "mcrd_rule_path_bytes_total{rule=\"r1\",path=\"userspace\"} 20000"));
    CHECK(has_line(text, "mcrd_rule_path_info{rule=\"say \\\"hi\\\"\",path=\"userspace\",reason=\"output-interface-down\"} 1"));
    CHECK(has_line(text, "mcrd_rule_path_packets_total{rule=\"say \\\"hi\\\"\",path=\"userspace\"} 5"));
    // A rule no worker reported on has no path yet: no sample claims one.
    CHECK(text.find("mcrd_rule_path_info{rule=\"r3\"") == std::string::npos);
    CHECK(text.find("mcrd_rule_path_packets_total{rule=\"r3\"") == std::string::npos);
}

TEST_CASE("per output: packets, bytes and every drop reason the worker lists")
{
    const std::string text = prometheus_text(reading());
    const std::string out = "rule=\"r1\",interface=\"out0\",address=\"239.2.2.2\",port=\"6000\"";
    CHECK(has_line(text, "mcrd_output_packets_total{" + out + "} 998"));
    CHECK(has_line(text, "mcrd_output_bytes_total{" + out + "} 199600"));
    CHECK(has_line(text, "mcrd_output_drops_total{" + out + ",reason=\"would_block\"} 1"));
    CHECK(has_line(text, "mcrd_output_drops_total{" + out + ",reason=\"send_error\"} 1"));
    CHECK(has_line(text, "mcrd_output_drops_total{" + out + ",reason=\"no_buffer\"} 0"));
    CHECK(has_line(text, "mcrd_output_drops_total{" + out + ",reason=\"too_big\"} 0"));
}

TEST_CASE("per ingress interface: frames, discards by reason, attach mode, fast path passes, uptime")
{
    const std::string text = prometheus_text(reading());
    CHECK(has_line(text, "mcrd_ingress_frames_total{interface=\"in0\"} 1010"));
    CHECK(has_line(text, "mcrd_ingress_bytes_total{interface=\"in0\"} 250000"));
    CHECK(has_line(text, "mcrd_ingress_discarded_frames_total{interface=\"in0\",reason=\"not_ip\"} 2"));
    CHECK(has_line(text, "mcrd_ingress_discarded_frames_total{interface=\"in0\",reason=\"not_matched\"} 3"));
    CHECK(has_line(text, "mcrd_ingress_discarded_frames_total{interface=\"in0\",reason=\"kernel\"} 4"));
    CHECK(text.find("reason=\"frames\"") == std::string::npos);
    CHECK(has_line(text, "mcrd_fast_path_info{interface=\"in0\",mode=\"tc\",reason=\"\"} 1"));
    CHECK(has_line(text, "mcrd_fast_path_passed_frames_total{interface=\"in0\",reason=\"not-ipv4\"} 7"));
    CHECK(has_line(text, "mcrd_worker_uptime_seconds{interface=\"in0\"} 2.5"));
}

TEST_CASE("workers: state as an info metric, restarts only where systemd counted them")
{
    const std::string text = prometheus_text(reading());
    CHECK(has_line(text, "mcrd_worker_info{interface=\"in0\",unit=\"mcrd-worker@in0.service\",state=\"active\"} 1"));
    CHECK(has_line(text, "mcrd_worker_info{interface=\"in1\",unit=\"spawned\",state=\"waiting for interface\"} 1"));
    CHECK(has_line(text, "mcrd_worker_restarts_total{interface=\"in0\",unit=\"mcrd-worker@in0.service\"} 2"));
    CHECK(text.find("mcrd_worker_restarts_total{interface=\"in1\"") == std::string::npos);
}

TEST_CASE("every family and label name is valid, every family has help, units end the name")
{
    for (const MetricFamily& family : relay_metrics(reading())) {
        CHECK_MESSAGE(is_valid_name(family.name), family.name);
        CHECK_MESSAGE(!family.help.empty(), family.name);
        if (!family.unit.empty())
            CHECK_MESSAGE(family.name.size() > family.unit.size(), family.name);
        if (!family.unit.empty())
            CHECK_MESSAGE(family.name.substr(family.name.size() - family.unit.size()) == family.unit, family.name);
        for (const Sample& sample : family.samples)
            for (const Label& label : sample.labels)
                CHECK_MESSAGE(is_valid_name(label.name), label.name);
    }
}

TEST_CASE("a GetStats document with missing or mistyped fields counts them as 0, never throws")
{
    RelayReading r;
    r.stats = nlohmann::json::parse(R"({"rules":[{"name":"x","packets":"many","outputs":[{"drops":[1]}]},7],
                                        "workers":{"not":"an array"}})");
    std::string text;
    CHECK_NOTHROW(text = prometheus_text(r));
    CHECK(has_line(text, "mcrd_rule_packets_total{rule=\"x\"} 0"));
    CHECK(has_line(text, "mcrd_output_packets_total{rule=\"x\",interface=\"\",address=\"\",port=\"0\"} 0"));
    CHECK(text.find("mcrd_ingress_frames_total") == std::string::npos);
}

TEST_CASE("stream health: inspected rules and their outputs, RTP and MPEG-TS in RTP; tc-legacy is the fast path")
{
    RelayReading r = reading();
    r.stats = nlohmann::json::parse(R"({"rules":[
      {"name":"audio","packets":100,"bytes":1000,"path":"userspace","path_reason":"inspect",
       "health":{"kind":"rtp","state":"losing","packets":97,"malformed":1,"lost":3,"reordered":2,
                 "duplicates":1,"ssrc_changes":0,"jitter":39,"jitter_us":4840},
       "outputs":[{"interface":"out0","address":"239.2.2.1","port":6000,"packets":99,"bytes":990,
                   "drops":{"too_big":1},"health":{"gaps":1}}]},
      {"name":"video","packets":50,"bytes":65800,"path":"userspace","path_reason":"inspect",
       "health":{"kind":"mpegts","state":"ok","datagrams":50,"malformed":2,"cc_errors":3,"duplicates":0,
                 "rtp":{"lost":4,"reordered":0,"ssrc_changes":1,"jitter_us":250}},"outputs":[]},
      {"name":"plain","packets":10,"bytes":100,"path":"tc-legacy","fast_path":{"packets":10,"bytes":100},
       "outputs":[]}],"workers":[]})");
    const std::string text = prometheus_text(r);
    CHECK(has_line(text, "mcrd_stream_health_info{rule=\"audio\",kind=\"rtp\",state=\"losing\"} 1"));
    CHECK(has_line(text, "mcrd_stream_lost_packets_total{rule=\"audio\"} 3"));
    CHECK(has_line(text, "mcrd_stream_reordered_packets_total{rule=\"audio\"} 2"));
    CHECK(has_line(text, "mcrd_stream_duplicate_packets_total{rule=\"audio\"} 1"));
    CHECK(has_line(text, "mcrd_stream_malformed_datagrams_total{rule=\"audio\"} 1"));
    CHECK(has_line(text, "mcrd_output_gaps_total{rule=\"audio\",interface=\"out0\",address=\"239.2.2.1\",port=\"6000\"} 1"));
    CHECK(text.find("mcrd_stream_jitter_seconds{rule=\"audio\"} 0.00484") != std::string::npos);
    CHECK(has_line(text, "mcrd_stream_health_info{rule=\"video\",kind=\"mpegts\",state=\"ok\"} 1"));
    CHECK(has_line(text, "mcrd_stream_continuity_errors_total{rule=\"video\"} 3"));
    CHECK(has_line(text, "mcrd_stream_lost_packets_total{rule=\"video\"} 4"));
    CHECK(has_line(text, "mcrd_stream_ssrc_changes_total{rule=\"video\"} 1"));
    // Not inspected: no health samples; its tc-legacy path is the fast path.
    CHECK(text.find("mcrd_stream_health_info{rule=\"plain\"") == std::string::npos);
    CHECK(has_line(text, "mcrd_rule_path_info{rule=\"plain\",path=\"fast\",reason=\"\"} 1"));
    CHECK(has_line(text, "mcrd_rule_path_packets_total{rule=\"plain\",path=\"fast\"} 10"));
}

TEST_CASE("listeners: required outputs' state and held copies, IGMP and MLD membership per interface")
{
    // gated: out0 requires listeners and has none, out1's IPv6 one has one,
    // out2 always sends; out0 runs the IGMP querier, out1 defers to another
    // MLD querier.
    RelayReading r = reading();
    r.stats = nlohmann::json::parse(R"({"rules":[
      {"name":"gated","packets":10,"bytes":100,"outputs":[
        {"interface":"out0","address":"239.2.2.1","port":6000,"packets":0,"no_listener":10,"listening":false},
        {"interface":"out1","address":"ff3e::1","port":6000,"packets":10,"no_listener":0,"listening":true},
        {"interface":"out2","address":"239.2.2.2","port":6001,"packets":10}]}],
     "workers":[],
     "membership":[
      {"interface":"out0","protocol":"igmp","querier":true,"groups":[],
       "counters":{"reports":7,"queries_sent":3,"queries_received":0,"groups_refused":2,
                   "rejected":{"bad_checksum":4,"truncated":1}}},
      {"interface":"out1","protocol":"mld","querier":false,
       "groups":[{"group":"ff3e::1","mode":"exclude","version":2,"sources":[]}],
       "counters":{"reports":1,"queries_sent":0,"queries_received":5}}]})");
    const std::string text = prometheus_text(r);
    const std::string out0 = "rule=\"gated\",interface=\"out0\",address=\"239.2.2.1\",port=\"6000\"";
    const std::string out1 = "rule=\"gated\",interface=\"out1\",address=\"ff3e::1\",port=\"6000\"";
    CHECK(has_line(text, "mcrd_output_listening{" + out0 + "} 0"));
    CHECK(has_line(text, "mcrd_output_no_listener_total{" + out0 + "} 10"));
    CHECK(has_line(text, "mcrd_output_listening{" + out1 + "} 1"));
    CHECK(has_line(text, "mcrd_output_no_listener_total{" + out1 + "} 0"));
    // "always" outputs have no listener samples.
    CHECK(text.find("mcrd_output_listening{rule=\"gated\",interface=\"out2\"") == std::string::npos);
    CHECK(text.find("mcrd_output_no_listener_total{rule=\"gated\",interface=\"out2\"") == std::string::npos);
    CHECK(has_line(text, "mcrd_membership_groups{interface=\"out0\",protocol=\"igmp\"} 0"));
    CHECK(has_line(text, "mcrd_membership_groups{interface=\"out1\",protocol=\"mld\"} 1"));
    CHECK(has_line(text, "mcrd_membership_querier{interface=\"out0\",protocol=\"igmp\"} 1"));
    CHECK(has_line(text, "mcrd_membership_querier{interface=\"out1\",protocol=\"mld\"} 0"));
    CHECK(has_line(text, "mcrd_membership_reports_total{interface=\"out0\",protocol=\"igmp\"} 7"));
    CHECK(has_line(text, "mcrd_membership_queries_total{interface=\"out0\",protocol=\"igmp\",direction=\"sent\"} 3"));
    CHECK(has_line(text, "mcrd_membership_queries_total{interface=\"out1\",protocol=\"mld\",direction=\"received\"} 5"));
    CHECK(has_line(text, "mcrd_membership_refused_groups_total{interface=\"out0\",protocol=\"igmp\"} 2"));
    CHECK(has_line(text,
                   "mcrd_membership_rejected_messages_total{interface=\"out0\",protocol=\"igmp\",reason=\"bad_checksum\"} 4"));
    // Without membership in GetStats (no output requires listeners): no samples, only help and type.
    CHECK(prometheus_text(reading()).find("mcrd_membership_groups{") == std::string::npos);
}

TEST_CASE("failure lines: the first at once, then one per interval with the count, one on recovery")
{
    std::vector<std::string> lines;
    FailureLog log([&](const std::string& line) { lines.push_back(line); }, std::chrono::seconds(60));
    const auto t0 = FailureLog::Clock::time_point{} + std::chrono::hours(1);
    log.failed("GetStats: no owner", t0);
    log.failed("GetStats: no owner", t0 + std::chrono::seconds(15));
    log.failed("GetStats: no owner", t0 + std::chrono::seconds(30));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "Cannot read mcrd: GetStats: no owner; reporting mcrd_up 0");
    log.failed("GetStats: no owner", t0 + std::chrono::seconds(61));
    REQUIRE(lines.size() == 2);
    CHECK(lines[1] == "Cannot read mcrd: GetStats: no owner; reporting mcrd_up 0 (2 more failed scrapes since the "
                      "last line)");
    log.succeeded();
    log.succeeded();
    REQUIRE(lines.size() == 3);
    CHECK(lines[2] == "mcrd answers again");
    log.failed("GetStats: no owner", t0 + std::chrono::seconds(62));
    CHECK(lines.size() == 4);
}
