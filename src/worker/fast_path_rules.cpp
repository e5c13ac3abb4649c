// Rules into the fast path's maps and its counters out (fast_path_rules.hpp).
// Without the fast path in the build, every rule runs on the userspace path.
#include "fast_path_rules.hpp"

#include "retired_fast_path.hpp"

#include "core/log.hpp"
#include "core/worker_protocol.hpp"

#ifdef MCR_HAVE_FASTPATH
#include "fastpath/fast_path.hpp"
#include "fastpath/rule_maps.hpp"

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#endif

namespace mcr::worker {

namespace wp = worker_protocol;

#ifdef MCR_HAVE_FASTPATH

namespace {

// The egress interface index of a bound AF_PACKET socket (pkt.<if>).
int bound_ifindex(int packet_fd)
{
    sockaddr_ll address{};
    socklen_t length = sizeof(address);
    if (getsockname(packet_fd, reinterpret_cast<sockaddr*>(&address), &length) < 0)
        return 0;
    return address.sll_ifindex;
}

fastpath::RuleMatch match_of(const Rule& rule)
{
    return fastpath::RuleMatch{rule.input.address, rule.input.source, rule.input.port};
}

// RFC 2464: 33:33 followed by the low 32 bits of the IPv6 group.
dataplane::MacAddress ipv6_multicast_mac(const IpAddress& group)
{
    const auto& bytes = group.bytes();
    return {0x33, 0x33, bytes[12], bytes[13], bytes[14], bytes[15]};
}

// The rule as the tc program runs it, or why it cannot (a pass reason's
// sibling: shown as the rule's "path_reason").
// held[o]: output o requires a listener and has none now (held_outputs()).
Result<fastpath::FastRule, std::string> translate(const Rule& rule, std::size_t rule_index,
                                                  const std::vector<EgressTarget>& targets, const WorkerConfig& config,
                                                  const std::vector<bool>& held)
{
    if (!rule.fast_path)
        return std::string("off");   // the rule's "fast_path": "off"
    if (rule.inspect != StreamInspection::none)
        return std::string("inspect"); // stream health is tracked by the worker (core/rule.hpp)
    if (!rule.input.address.is_multicast())
        return std::string("unicast-input");
    if (rule.outputs.size() > fastpath::kMaxOutputs || rule.outputs.size() != targets.size())
        return std::string("too-many-outputs");
    fastpath::FastRule fast;
    fast.match = match_of(rule);
    fast.forward_expired_ttl = rule.forward_expired_ttl;
    for (std::size_t i = 0; i < rule.outputs.size(); ++i) {
        const RuleOutput& output = rule.outputs[i];
        const EgressTarget& target = targets[i];
        if (!output.address.is_multicast())
            return std::string("unicast-output"); // the kernel's routing: the userspace path's UDP socket
        // A translated copy's IP source is the egress interface's address
        // of its family, which the supervisor resolves into the worker
        // config; without one the worker counts the copies (no_source_address).
        std::optional<IpAddress> source;
        if (output.address.family() != rule.input.address.family()) {
            source = config.source_address(rule_index, i);
            if (!source)
                return std::string("no-source-address");
        }
        if (target.fd < 0)
            return std::string("output-interface-missing");
        const int ifindex = bound_ifindex(target.fd);
        if (ifindex <= 0)
            return std::string("output-interface-unknown");
        const auto egress = config.egress.find(output.interface);
        if (egress != config.egress.end() && !egress->second.usable)
            return std::string("output-interface-down");
        fastpath::Output out;
        out.ifindex = ifindex;
        out.mtu = egress == config.egress.end() ? kDefaultEgressMtu : std::min(egress->second.mtu, 65535U);
        out.destination_mac = output.address.is_ipv4() ? dataplane::multicast_mac(output.address.ipv4())
                                                       : ipv6_multicast_mac(output.address);
        out.source_mac = target.rewrite.source_mac;
        out.destination_address = output.address;
        out.destination_port = output.port;
        out.ttl = output.ttl;
        out.source_address = source;
        out.held = i < held.size() && held[i];
        fast.outputs.push_back(out);
    }
    return fast;
}

std::optional<fastpath::MapFds> duplicate_map_fds(const NamedFds& sockets)
{
    fastpath::MapFds fds;
    unique_fd* const members[] = {&fds.rules,       &fds.rule_versions, &fds.version_outputs, &fds.pass_counts,
                                  &fds.rule_traffic, &fds.output_traffic, &fds.quiesce,        &fds.quiesce_inner,
                                  &fds.attachment};
    static_assert(std::size(members) == std::size(wp::kFastPathMapFds));
    for (std::size_t i = 0; i < std::size(members); ++i) {
        const int fd = fd_named(sockets, wp::kFastPathMapFds[i]);
        if (fd < 0)
            return std::nullopt;
        // RuleMaps owns its copies; the originals stay in `sockets` (and the FD store).
        *members[i] = unique_fd(fcntl(fd, F_DUPFD_CLOEXEC, 3));
        if (!*members[i])
            return std::nullopt;
    }
    return fds;
}

FastCounts counts_of(const fastpath::RuleTraffic& traffic)
{
    FastCounts counts{traffic.packets, traffic.bytes, {}};
    for (const fastpath::OutputTraffic& output : traffic.outputs)
        counts.outputs.push_back({output.packets, output.bytes, output.errors, output.no_listener});
    return counts;
}

} // namespace

struct FastPathRules::State {
    int attachment_fd = -1;              // the handed-over attachment map this state was opened for
    std::optional<fastpath::RuleMaps> maps;
    std::uint32_t program_id = 0;
    fastpath::AttachMode mode = fastpath::AttachMode::tc;
    std::uint32_t maps_id = 0;           // the rule_traffic map's id: the counters' identity
    std::string reason = "not-handed-over"; // why nothing is on the fast path ("" when maps are open)
    // Per config rule: its match when installed, else why not.
    std::vector<std::optional<fastpath::RuleMatch>> installed;
    std::vector<std::string> path_reasons;
    // The rules in the maps, as installed (names and outputs for `retired`).
    std::map<fastpath::RuleMatch, Rule> in_maps;
    // Kept over resets of the rest: counts of this worker's whole run.
    RetiredFastPath retired;
};

namespace {

// Every rule's counts into `retired` before the maps are given up (the link
// went away or other maps came): the removed program counts no more.
void keep_counts_of_all(const std::optional<fastpath::RuleMaps>& maps, std::map<fastpath::RuleMatch, Rule>& in_maps,
                        RetiredFastPath& retired)
{
    if (maps)
        for (const auto& [match, rule] : in_maps)
            if (auto traffic = maps->traffic(match))
                retired.add(rule, counts_of(*traffic));
    in_maps.clear();
}

// Removes the rules leaving the maps one by one, keeping their final counts.
void retire_leaving(fastpath::RuleMaps& maps, std::map<fastpath::RuleMatch, Rule>& in_maps,
                    const std::map<fastpath::RuleMatch, Rule>& staying, RetiredFastPath& retired,
                    const std::string& interface)
{
    for (auto it = in_maps.begin(); it != in_maps.end();) {
        if (staying.count(it->first) != 0) {
            ++it;
            continue;
        }
        if (auto traffic = maps.retire(it->first))
            retired.add(it->second, counts_of(*traffic));
        else
            log_warning("Cannot read the final fast path counters of rule " + it->second.name +
                            ", its totals miss them: " + traffic.error().message(),
                        {{"MCR_INTERFACE", interface}, {"MCR_RULE", it->second.name}});
        it = in_maps.erase(it);
    }
}

} // namespace

FastPathRules::FastPathRules() : state_(std::make_unique<State>()) {}
FastPathRules::~FastPathRules() = default;

void FastPathRules::apply(const WorkerConfig& config, const NamedFds& sockets,
                          const std::vector<std::vector<EgressTarget>>& targets)
{
    State& state = *state_;
    // Every handover carries the attachment map; a tcx one the link too.
    const int attachment = fd_named(sockets, wp::kFastPathAttachmentFd);
    state.installed.assign(config.rules.size(), std::nullopt);
    state.path_reasons.assign(config.rules.size(), "");
    if (attachment < 0) {
        keep_counts_of_all(state.maps, state.in_maps, state.retired);
        RetiredFastPath retired = std::move(state.retired);
        state = State{};
        state.retired = std::move(retired);
        state.retired.keep_only(config.rules);
        state.installed.assign(config.rules.size(), std::nullopt);
        state.path_reasons.assign(config.rules.size(), state.reason);
        return;
    }
    if (attachment != state.attachment_fd || !state.maps) {
        state.attachment_fd = attachment;
        std::optional<fastpath::MapFds> fds = duplicate_map_fds(sockets);
        // (Not an optional: GCC 12 warns that its payload may be read uninitialized.)
        fastpath::Attachment attached{};
        bool is_attached = false;
        if (fds)
            if (auto read = fastpath::read_attachment(fds->attachment.get())) {
                attached = *read;
                is_attached = true;
            }
        // A tcx program is attached while its link is held: without the
        // link fd (or with another program's) these maps are not in use.
        if (is_attached && attached.mode == fastpath::AttachMode::tc) {
            const int link = fd_named(sockets, wp::kFastPathLinkFd);
            bool linked = false;
            if (link >= 0)
                if (auto id = fastpath::linked_program_id(link))
                    linked = *id == attached.program_id;
            is_attached = linked;
        }
        // The same maps under new fds continue their counters; other maps
        // start from what they hold, so the old ones' counts are kept.
        bool same_maps = false;
        if (fds && state.maps)
            if (auto id = fastpath::map_id(fds->rule_traffic.get()))
                same_maps = *id == state.maps_id;
        if (!same_maps)
            keep_counts_of_all(state.maps, state.in_maps, state.retired);
        state.maps.reset();
        if (!fds || !is_attached) {
            state.reason = "incomplete-handover";
        } else if (auto maps_id = fastpath::map_id(fds->rule_traffic.get()); !maps_id) {
            state.reason = "incomplete-handover";
        } else if (auto opened = fastpath::RuleMaps::open(std::move(*fds)); !opened) {
            state.reason = "maps-unusable";
            log_warning("Fast path maps unusable, every rule runs on the userspace path: " + opened.error().message(),
                        {{"MCR_INTERFACE", config.interface}});
        } else {
            state.maps.emplace(std::move(*opened));
            // A predecessor's rules still in the maps, by the config's
            // matches: one leaving the fast path keeps its counts too.
            for (const Rule& rule : config.rules)
                if (state.maps->traffic(match_of(rule)))
                    state.in_maps.emplace(match_of(rule), rule);
            state.program_id = attached.program_id;
            state.mode = attached.mode;
            state.maps_id = *maps_id;
            state.reason.clear();
            log_info("Fast path in use (" + std::string(fastpath::attach_mode_name(attached.mode)) +
                         " program id " + std::to_string(attached.program_id) + ", " +
                         std::to_string(state.maps->size()) + " rules already installed)",
                     {{"MCR_INTERFACE", config.interface}});
        }
    }
    state.retired.keep_only(config.rules);
    if (!state.maps) {
        state.path_reasons.assign(config.rules.size(), state.reason);
        return;
    }

    const std::vector<std::vector<bool>> held = held_outputs(config);
    std::vector<Result<fastpath::FastRule, std::string>> translated;
    for (std::size_t r = 0; r < config.rules.size(); ++r)
        translated.push_back(translate(config.rules[r], r,
                                       r < targets.size() ? targets[r] : std::vector<EgressTarget>{}, config,
                                       held[r]));
    // The program looks up the exact source, then any source: an any-source
    // rule on the fast path would take the frames of a source-specific rule
    // of the same group and port left on the userspace path.
    for (std::size_t r = 0; r < config.rules.size(); ++r) {
        const Rule& rule = config.rules[r];
        if (translated[r] || !rule.input.source)
            continue;
        for (std::size_t other = 0; other < config.rules.size(); ++other) {
            const RuleInput& input = config.rules[other].input;
            if (!input.source && input.address == rule.input.address && input.port == rule.input.port &&
                translated[other])
                translated[other] = std::string("source-specific-rule-on-userspace");
        }
    }
    std::vector<fastpath::FastRule> fast_rules;
    std::map<fastpath::RuleMatch, Rule> in_maps;
    for (std::size_t r = 0; r < config.rules.size(); ++r) {
        if (translated[r]) {
            fast_rules.push_back(translated[r].value());
            state.installed[r] = translated[r]->match;
            in_maps.emplace(translated[r]->match, config.rules[r]);
        } else {
            state.path_reasons[r] = translated[r].error();
        }
    }
    // Rules leaving the maps first, each with its final counts: replace_all()
    // would drop them with the entries.
    retire_leaving(*state.maps, state.in_maps, in_maps, state.retired, config.interface);
    state.in_maps = std::move(in_maps);
    if (Status installed = state.maps->replace_all(fast_rules); !installed) {
        log_warning("Cannot install rules into the fast path, they run on the userspace path: " +
                        installed.error().message(),
                    {{"MCR_INTERFACE", config.interface}});
        // Nothing is reported as relayed by the program from here on; what
        // it did relay stays in the totals.
        retire_leaving(*state.maps, state.in_maps, {}, state.retired, config.interface);
        (void)state.maps->replace_all({});
        state.installed.assign(config.rules.size(), std::nullopt);
        state.path_reasons.assign(config.rules.size(), "install-failed");
    }
}

void FastPathRules::hold(const WorkerConfig& config, const std::vector<std::vector<bool>>& held)
{
    State& state = *state_;
    if (!state.maps)
        return;
    for (std::size_t r = 0; r < config.rules.size() && r < state.installed.size() && r < held.size(); ++r) {
        if (!state.installed[r])
            continue;
        // Every output is in the maps (translate() refuses a rule otherwise),
        // so the rule's hold states apply one to one.
        if (Status status = state.maps->hold_outputs(*state.installed[r], held[r]); !status)
            log_warning("Cannot hold or release the fast path outputs of rule " + config.rules[r].name +
                            ", they keep their previous state: " + status.error().message(),
                        {{"MCR_INTERFACE", config.interface}, {"MCR_RULE", config.rules[r].name}});
    }
}

void FastPathRules::add_to_stats(nlohmann::json& document) const
{
    const State& state = *state_;
    std::uint64_t relayed = 0;
    nlohmann::json& rules = document["rules"];
    for (std::size_t r = 0; r < rules.size() && r < state.installed.size(); ++r) {
        nlohmann::json& rule = rules[r];
        if (!state.installed[r] || !state.maps) {
            rule["path"] = "userspace";
            rule["path_reason"] = state.path_reasons[r];
            continue;
        }
        rule["path"] = fastpath::attach_mode_name(state.mode);
        auto traffic = state.maps->traffic(*state.installed[r]);
        if (!traffic)
            continue;
        relayed += traffic->packets;
        rule["packets"] = rule.value("packets", std::uint64_t{0}) + traffic->packets;
        rule["bytes"] = rule.value("bytes", std::uint64_t{0}) + traffic->bytes;
        rule["fast_path"] = {{"packets", traffic->packets}, {"bytes", traffic->bytes}};
        nlohmann::json& outputs = rule["outputs"];
        for (std::size_t o = 0; o < outputs.size() && o < traffic->outputs.size(); ++o) {
            nlohmann::json& output = outputs[o];
            const fastpath::OutputTraffic& t = traffic->outputs[o];
            output["packets"] = output.value("packets", std::uint64_t{0}) + t.packets;
            output["bytes"] = output.value("bytes", std::uint64_t{0}) + t.bytes;
            output["drops"]["send_error"] = output["drops"].value("send_error", std::uint64_t{0}) + t.errors;
            output["fast_path"] = {{"packets", t.packets}, {"bytes", t.bytes}, {"errors", t.errors}};
            // Present for outputs that require listeners (core/worker_protocol.hpp).
            if (t.no_listener != 0 || output.contains("no_listener")) {
                output["no_listener"] = output.value("no_listener", std::uint64_t{0}) + t.no_listener;
                output["fast_path"]["no_listener"] = t.no_listener;
            }
        }
    }
    nlohmann::json fast_path = {{"mode", state.maps ? fastpath::attach_mode_name(state.mode) : "userspace"},
                                {"reason", state.reason}};
    if (state.maps) {
        fast_path["program_id"] = state.program_id;
        fast_path["maps"] = std::to_string(state.maps_id);
        fast_path["relayed"] = relayed;
        nlohmann::json pass = nlohmann::json::object();
        if (auto counts = state.maps->pass_counts())
            for (std::size_t i = 0; i < fastpath::kPassReasons; ++i)
                pass[std::string(fastpath::pass_reason_name(static_cast<fastpath::PassReason>(i)))] = (*counts)[i];
        fast_path["pass"] = std::move(pass);
    }
    document["fast_path"] = std::move(fast_path);
    state.retired.add_to_stats(document);
}

#else

struct FastPathRules::State {
    std::size_t rules = 0;
};

FastPathRules::FastPathRules() : state_(std::make_unique<State>()) {}
FastPathRules::~FastPathRules() = default;

void FastPathRules::apply(const WorkerConfig& config, const NamedFds&, const std::vector<std::vector<EgressTarget>>&)
{
    state_->rules = config.rules.size();
}

void FastPathRules::hold(const WorkerConfig&, const std::vector<std::vector<bool>>&) {}

void FastPathRules::add_to_stats(nlohmann::json& document) const
{
    for (nlohmann::json& rule : document["rules"]) {
        rule["path"] = "userspace";
        rule["path_reason"] = "not-built";
    }
    document["fast_path"] = {{"mode", "userspace"}, {"reason", "not-built"}};
}

#endif

} // namespace mcr::worker
