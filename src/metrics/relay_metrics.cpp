// From a RelayReading to metric families. Names follow Prometheus'
// conventions: mcrd_ prefix, base units in the name (_bytes, _seconds),
// counters exposed with _total, every reason or path a label value of one
// family rather than a family of its own. GetStats fields that are absent or
// of the wrong type count as 0 (or leave the sample out where 0 would claim
// something, e.g. a rule's path before its worker reported).
#include "metrics/relay_metrics.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace mcr::metrics {

namespace {

using nlohmann::json;

std::uint64_t unsigned_value(const json& value) { return value.is_number_unsigned() ? value.get<std::uint64_t>() : 0; }

std::uint64_t unsigned_at(const json& object, const char* key)
{
    if (!object.is_object())
        return 0;
    const auto it = object.find(key);
    return it != object.end() ? unsigned_value(*it) : 0;
}

std::string string_at(const json& object, const char* key)
{
    if (!object.is_object())
        return {};
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& array_at(const json& object, const char* key)
{
    static const json empty = json::array();
    if (!object.is_object())
        return empty;
    const auto it = object.find(key);
    return it != object.end() && it->is_array() ? *it : empty;
}

const json& object_at(const json& object, const char* key)
{
    static const json empty = json::object();
    if (!object.is_object())
        return empty;
    const auto it = object.find(key);
    return it != object.end() && it->is_object() ? *it : empty;
}

MetricFamily family(std::string name, MetricType type, std::string unit, std::string help)
{
    return MetricFamily{std::move(name), type, std::move(unit), std::move(help), {}};
}

// A rule's path is its fast path's attach mode in GetStats ("tc" or
// "tc-legacy"); metrics call the two paths "fast" and "userspace", the words
// of mcrd(8). An interface keeps its attach mode (mcrd_fast_path_info).
std::string path_label(const std::string& api_path)
{
    return api_path == "tc" || api_path == "tc-legacy" ? "fast" : api_path;
}

struct RuleFamilies {
    MetricFamily packets = family("mcrd_rule_packets", MetricType::counter, "",
                                  "Packets a rule matched and relayed (both paths)");
    MetricFamily bytes = family("mcrd_rule_bytes", MetricType::counter, "bytes",
                                "UDP payload bytes of the packets a rule relayed (both paths)");
    MetricFamily drops = family("mcrd_rule_drops", MetricType::counter, "",
                                "Packets a rule matched and did not relay, by reason");
    MetricFamily path = family("mcrd_rule_path", MetricType::info, "",
                               "The path relaying a rule now: fast (in-kernel tc program) or userspace, "
                               "with the reason when userspace");
    MetricFamily path_packets = family("mcrd_rule_path_packets", MetricType::counter, "",
                                       "Packets a rule relayed, by the path that moved them");
    MetricFamily path_bytes = family("mcrd_rule_path_bytes", MetricType::counter, "bytes",
                                     "UDP payload bytes a rule relayed, by the path that moved them");
    MetricFamily output_packets = family("mcrd_output_packets", MetricType::counter, "",
                                         "Copies an output sent (accepted by the kernel)");
    MetricFamily output_bytes = family("mcrd_output_bytes", MetricType::counter, "bytes",
                                       "UDP payload bytes of the copies an output sent");
    MetricFamily output_drops = family("mcrd_output_drops", MetricType::counter, "",
                                       "Copies an output could not send, by reason");
    // Stream health of rules with "inspect": "rtp" | "mpegts" (mcrd(8)).
    MetricFamily health = family("mcrd_stream_health", MetricType::info, "",
                                 "An inspected stream: its kind (rtp, mpegts) and state (ok, losing)");
    MetricFamily lost = family("mcrd_stream_lost_packets", MetricType::counter, "",
                               "RTP packets missing from the sequence (expected minus received)");
    MetricFamily reordered = family("mcrd_stream_reordered_packets", MetricType::counter, "",
                                    "RTP packets that arrived after a later one");
    MetricFamily duplicates = family("mcrd_stream_duplicate_packets", MetricType::counter, "",
                                     "RTP packets (rtp) or TS packets (mpegts) seen twice");
    MetricFamily malformed = family("mcrd_stream_malformed_datagrams", MetricType::counter, "",
                                    "Datagrams that are not valid RTP (rtp) or MPEG-TS (mpegts)");
    MetricFamily ssrc_changes = family("mcrd_stream_ssrc_changes", MetricType::counter, "",
                                       "Times the RTP synchronization source changed");
    MetricFamily cc_errors = family("mcrd_stream_continuity_errors", MetricType::counter, "",
                                    "MPEG-TS continuity-counter errors, all PIDs");
    MetricFamily jitter = family("mcrd_stream_jitter_seconds", MetricType::gauge, "seconds",
                                 "RTP interarrival jitter estimate (RFC 3550 6.4.1)");
    MetricFamily output_gaps = family("mcrd_output_gaps", MetricType::counter, "",
                                      "Packets of an inspected stream an output could not send");
    // Outputs with "listeners": "required" only (issue 19): "always" ones
    // have neither sample, so a sum over these is a sum over gated outputs.
    MetricFamily output_listening = family("mcrd_output_listening", MetricType::gauge, "",
                                           "Whether an output that requires listeners has one now (1) or "
                                           "holds its copies (0)");
    MetricFamily output_no_listener = family("mcrd_output_no_listener", MetricType::counter, "",
                                             "Copies an output that requires listeners held while none was "
                                             "known (not drops)");
};

// The RTP part of a health object: the object itself (rtp), or its "rtp"
// member (MPEG-TS carried in RTP).
void add_rtp_health(RuleFamilies& f, const std::string& name, const json& rtp)
{
    f.lost.add({{"rule", name}}, unsigned_at(rtp, "lost"));
    f.reordered.add({{"rule", name}}, unsigned_at(rtp, "reordered"));
    f.ssrc_changes.add({{"rule", name}}, unsigned_at(rtp, "ssrc_changes"));
    f.jitter.add({{"rule", name}}, static_cast<double>(unsigned_at(rtp, "jitter_us")) / 1e6);
}

void add_health(RuleFamilies& f, const std::string& name, const json& health)
{
    const std::string kind = string_at(health, "kind");
    f.health.add({{"rule", name}, {"kind", kind}, {"state", string_at(health, "state")}}, std::uint64_t{1});
    f.duplicates.add({{"rule", name}}, unsigned_at(health, "duplicates"));
    f.malformed.add({{"rule", name}}, unsigned_at(health, "malformed"));
    if (kind == "mpegts") {
        f.cc_errors.add({{"rule", name}}, unsigned_at(health, "cc_errors"));
        if (const json& rtp = object_at(health, "rtp"); !rtp.empty())
            add_rtp_health(f, name, rtp);
    } else {
        add_rtp_health(f, name, health);
    }
}

void add_rule(RuleFamilies& f, const json& rule)
{
    const std::string name = string_at(rule, "name");
    const std::uint64_t packets = unsigned_at(rule, "packets");
    const std::uint64_t bytes = unsigned_at(rule, "bytes");
    f.packets.add({{"rule", name}}, packets);
    f.bytes.add({{"rule", name}}, bytes);
    f.drops.add({{"rule", name}, {"reason", "ttl_expired"}}, unsigned_at(rule, "ttl_expired"));
    // Only a rule a worker reported on has a path.
    if (const std::string path = string_at(rule, "path"); !path.empty()) {
        f.path.add({{"rule", name}, {"path", path_label(path)}, {"reason", string_at(rule, "path_reason")}},
                   std::uint64_t{1});
        // "packets" is the sum of both paths; the fast path's share is listed.
        const json& fast = object_at(rule, "fast_path");
        const std::uint64_t fast_packets = std::min(unsigned_at(fast, "packets"), packets);
        const std::uint64_t fast_bytes = std::min(unsigned_at(fast, "bytes"), bytes);
        f.path_packets.add({{"rule", name}, {"path", "fast"}}, fast_packets);
        f.path_packets.add({{"rule", name}, {"path", "userspace"}}, packets - fast_packets);
        f.path_bytes.add({{"rule", name}, {"path", "fast"}}, fast_bytes);
        f.path_bytes.add({{"rule", name}, {"path", "userspace"}}, bytes - fast_bytes);
    }
    if (const json& health = object_at(rule, "health"); !health.empty())
        add_health(f, name, health);
    for (const json& output : array_at(rule, "outputs")) {
        const std::vector<Label> labels = {{"rule", name},
                                           {"interface", string_at(output, "interface")},
                                           {"address", string_at(output, "address")},
                                           {"port", std::to_string(unsigned_at(output, "port"))}};
        f.output_packets.add(labels, unsigned_at(output, "packets"));
        f.output_bytes.add(labels, unsigned_at(output, "bytes"));
        if (const json& health = object_at(output, "health"); !health.empty())
            f.output_gaps.add(labels, unsigned_at(health, "gaps"));
        // The worker adds no_listener, the supervisor listening: either marks
        // a required output.
        const auto listening = output.find("listening");
        if (listening != output.end() || output.contains("no_listener")) {
            const bool heard = listening != output.end() && listening->is_boolean() && listening->get<bool>();
            f.output_listening.add(labels, std::uint64_t{heard ? 1U : 0U});
            f.output_no_listener.add(labels, unsigned_at(output, "no_listener"));
        }
        // Every reason the worker lists, so that a new one needs no change here.
        for (const auto& [reason, count] : object_at(output, "drops").items()) {
            std::vector<Label> with_reason = labels;
            with_reason.push_back({"reason", reason});
            f.output_drops.add(std::move(with_reason), unsigned_value(count));
        }
    }
}

struct InterfaceFamilies {
    MetricFamily frames = family("mcrd_ingress_frames", MetricType::counter, "",
                                 "Frames a worker read from its ingress interface");
    MetricFamily bytes = family("mcrd_ingress_bytes", MetricType::counter, "bytes",
                                "Bytes of the frames a worker read, link header included");
    MetricFamily discarded = family("mcrd_ingress_discarded_frames", MetricType::counter, "",
                                    "Ingress frames not relayed, by reason (kernel: dropped by the kernel "
                                    "before the worker read them)");
    MetricFamily uptime = family("mcrd_worker_uptime_seconds", MetricType::gauge, "seconds",
                                 "Time since the worker process started");
    MetricFamily fast_path = family("mcrd_fast_path", MetricType::info, "",
                                    "How an ingress interface is attached: tc, tc-legacy or userspace, "
                                    "with the reason");
    MetricFamily passed = family("mcrd_fast_path_passed_frames", MetricType::counter, "",
                                 "Frames the fast path left to the userspace path, by reason");
};

void add_interface(InterfaceFamilies& f, const json& worker)
{
    const std::string interface = string_at(worker, "interface");
    const json& ingress = object_at(worker, "ingress");
    f.frames.add({{"interface", interface}}, unsigned_at(ingress, "frames"));
    f.bytes.add({{"interface", interface}}, unsigned_at(ingress, "bytes"));
    for (const auto& [reason, count] : ingress.items())
        if (reason != "frames" && reason != "bytes")
            f.discarded.add({{"interface", interface}, {"reason", reason}}, unsigned_value(count));
    f.discarded.add({{"interface", interface}, {"reason", "kernel"}},
                    unsigned_at(object_at(worker, "kernel"), "drops"));
    f.uptime.add({{"interface", interface}}, static_cast<double>(unsigned_at(worker, "uptime_ms")) / 1000.0);
    const json& fast_path = object_at(worker, "fast_path");
    if (const std::string mode = string_at(fast_path, "mode"); !mode.empty())
        f.fast_path.add({{"interface", interface}, {"mode", mode}, {"reason", string_at(fast_path, "reason")}},
                        std::uint64_t{1});
    for (const auto& [reason, count] : object_at(fast_path, "pass").items())
        f.passed.add({{"interface", interface}, {"reason", reason}}, unsigned_value(count));
}

// GetStats' "membership": one entry per interface and protocol where mcrd
// runs IGMP or MLD.
struct MembershipFamilies {
    MetricFamily groups = family("mcrd_membership_groups", MetricType::gauge, "",
                                 "Groups with a listener that the IGMP or MLD querier knows on an interface");
    MetricFamily querier = family("mcrd_membership_querier", MetricType::gauge, "",
                                  "Whether mcrd is the querier on an interface (1) or another router is (0)");
    MetricFamily reports = family("mcrd_membership_reports", MetricType::counter, "",
                                  "Membership reports taken on an interface");
    MetricFamily queries = family("mcrd_membership_queries", MetricType::counter, "",
                                  "Queries mcrd sent or received on an interface");
    MetricFamily refused = family("mcrd_membership_refused_groups", MetricType::counter, "",
                                  "Group records refused because the interface holds its maximum of groups");
    MetricFamily rejected = family("mcrd_membership_rejected_messages", MetricType::counter, "",
                                   "IGMP or MLD messages ignored as invalid, by reason");
};

void add_membership(MembershipFamilies& f, const json& entry)
{
    const std::vector<Label> labels = {{"interface", string_at(entry, "interface")},
                                       {"protocol", string_at(entry, "protocol")}};
    const auto querier = entry.find("querier");
    const bool is_querier = querier != entry.end() && querier->is_boolean() && querier->get<bool>();
    f.groups.add(labels, std::uint64_t{array_at(entry, "groups").size()});
    f.querier.add(labels, std::uint64_t{is_querier ? 1U : 0U});
    const json& counters = object_at(entry, "counters");
    f.reports.add(labels, unsigned_at(counters, "reports"));
    const std::pair<const char*, const char*> directions[] = {{"sent", "queries_sent"},
                                                              {"received", "queries_received"}};
    for (const auto& [direction, key] : directions) {
        std::vector<Label> with_direction = labels;
        with_direction.push_back({"direction", direction});
        f.queries.add(std::move(with_direction), unsigned_at(counters, key));
    }
    f.refused.add(labels, unsigned_at(counters, "groups_refused"));
    for (const auto& [reason, count] : object_at(counters, "rejected").items()) {
        std::vector<Label> with_reason = labels;
        with_reason.push_back({"reason", reason});
        f.rejected.add(std::move(with_reason), unsigned_value(count));
    }
}

void move_into(Exposition& out, std::initializer_list<MetricFamily*> families)
{
    for (MetricFamily* f : families)
        out.push_back(std::move(*f));
}

} // namespace

Exposition relay_metrics(const std::optional<RelayReading>& reading)
{
    Exposition out;
    out.push_back(family("mcrd_up", MetricType::gauge, "", "Whether mcrd answered this scrape on D-Bus (1) or not (0)")
                      .add({}, std::uint64_t{reading ? 1U : 0U}));
    if (!reading)
        return out;
    out.push_back(family("mcrd_build", MetricType::info, "", "The version of the mcrd that answered")
                      .add({{"version", reading->version}}, std::uint64_t{1}));
    out.push_back(family("mcrd_rules", MetricType::gauge, "", "Rules the supervisor holds")
                      .add({}, std::uint64_t{reading->rule_count}));
    out.push_back(family("mcrd_workers", MetricType::gauge, "", "Workers the supervisor manages")
                      .add({}, std::uint64_t{reading->worker_count}));

    RuleFamilies rules;
    for (const json& rule : array_at(reading->stats, "rules"))
        add_rule(rules, rule);
    move_into(out, {&rules.packets, &rules.bytes, &rules.drops, &rules.path, &rules.path_packets, &rules.path_bytes,
                    &rules.output_packets, &rules.output_bytes, &rules.output_drops, &rules.health, &rules.lost,
                    &rules.reordered, &rules.duplicates, &rules.malformed, &rules.ssrc_changes, &rules.cc_errors,
                    &rules.jitter, &rules.output_gaps, &rules.output_listening, &rules.output_no_listener});

    MembershipFamilies membership;
    for (const json& entry : array_at(reading->stats, "membership"))
        add_membership(membership, entry);
    move_into(out, {&membership.groups, &membership.querier, &membership.reports, &membership.queries,
                    &membership.refused, &membership.rejected});

    InterfaceFamilies interfaces;
    for (const json& worker : array_at(reading->stats, "workers"))
        add_interface(interfaces, worker);
    move_into(out, {&interfaces.frames, &interfaces.bytes, &interfaces.discarded, &interfaces.fast_path,
                    &interfaces.passed, &interfaces.uptime});

    MetricFamily state = family("mcrd_worker", MetricType::info, "",
                                "A worker, its unit (or spawned) and its state");
    MetricFamily restarts = family("mcrd_worker_restarts", MetricType::counter, "",
                                   "Automatic restarts of a worker unit (systemd's NRestarts)");
    for (const WorkerReading& worker : reading->workers) {
        state.add({{"interface", worker.interface}, {"unit", worker.unit}, {"state", worker.state}}, std::uint64_t{1});
        if (worker.restarts)
            restarts.add({{"interface", worker.interface}, {"unit", worker.unit}}, *worker.restarts);
    }
    move_into(out, {&state, &restarts});
    return out;
}

} // namespace mcr::metrics
