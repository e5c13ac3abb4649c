// Rule installation by versions: each rule id owns two slots; a new version
// goes into the slot no frame is reading, then one hash update switches the
// rule's key to it. A slot switched away from is rewritten only after a
// quiesce (an array-of-maps update, which returns once every program run
// that could still read it has finished).
#include "rule_maps.hpp"

#include "relay_abi.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>

namespace mcr::fastpath {

static_assert(kMaxRules == MCR_FP_MAX_RULES);
static_assert(kMaxOutputs == MCR_FP_MAX_OUTPUTS);
// Per-CPU values are read as arrays of these: each CPU's value is 8-byte aligned.
static_assert(sizeof(mcr_fp_rule_traffic) % 8 == 0 && sizeof(mcr_fp_output_traffic) % 8 == 0);

namespace {

constexpr std::uint32_t kSlotsPerRule = MCR_FP_SLOTS_PER_RULE;
constexpr auto kVersionSlots = static_cast<std::size_t>(MCR_FP_VERSION_SLOTS);

Status bpf_status(int result, const std::string& what)
{
    if (result == 0)
        return Ok{};
    return Error{"", what + ": " + std::strerror(-result)};
}

mcr_fp_rule_key key_of(const RuleMatch& match)
{
    mcr_fp_rule_key key{};
    key.group = htonl(match.group);
    key.source = htonl(match.source);
    key.port = htons(match.port);
    return key;
}

RuleMatch match_of(const mcr_fp_rule_key& key)
{
    return RuleMatch{ntohl(key.group), ntohl(key.source), ntohs(key.port)};
}

Status validate(const FastRule& rule)
{
    if (rule.outputs.empty() || rule.outputs.size() > kMaxOutputs)
        return Error{"outputs", "must hold 1.." + std::to_string(kMaxOutputs) + " outputs, got " +
                                    std::to_string(rule.outputs.size())};
    for (std::size_t i = 0; i < rule.outputs.size(); ++i) {
        const Output& output = rule.outputs[i];
        const std::string path = "outputs[" + std::to_string(i) + "]";
        if (!output.rewrite.multicast)
            return Error{path, "a unicast output needs the kernel's routing, which the fast path does not do"};
        if (output.ifindex <= 0)
            return Error{path + ".ifindex", "must be an interface index, got " + std::to_string(output.ifindex)};
        if (output.mtu < kMinMtu || output.mtu > 65535)
            return Error{path + ".mtu", "must be " + std::to_string(kMinMtu) + "..65535, got " +
                                            std::to_string(output.mtu)};
        if (output.rewrite.ttl && *output.rewrite.ttl == 0)
            return Error{path + ".ttl", "must be 1..255, got 0"};
    }
    return Ok{};
}

mcr_fp_output output_entry(const Output& output)
{
    mcr_fp_output entry{};
    std::memcpy(entry.destination_mac, output.rewrite.destination_mac.data(), sizeof(entry.destination_mac));
    std::memcpy(entry.source_mac, output.rewrite.source_mac.data(), sizeof(entry.source_mac));
    entry.ifindex = static_cast<std::uint32_t>(output.ifindex);
    std::memcpy(&entry.destination_address, output.rewrite.destination_address.data(), 4); // network order
    entry.destination_port = htons(output.rewrite.destination_port);
    entry.has_ttl = output.rewrite.ttl ? 1 : 0;
    entry.ttl = output.rewrite.ttl.value_or(0);
    return entry;
}

// One value per possible CPU, as the kernel reads and writes per-CPU maps.
template <typename T>
Result<std::vector<T>> read_per_cpu(const unique_fd& map, std::uint32_t index, std::size_t cpus)
{
    std::vector<T> values(cpus);
    if (const int error = bpf_map_lookup_elem(map.get(), &index, values.data()); error != 0)
        return Error{"", "cannot read counters: " + std::string(std::strerror(-error))};
    return values;
}

template <typename T>
Status zero_per_cpu(const unique_fd& map, std::uint32_t index, std::size_t cpus)
{
    const std::vector<T> zeros(cpus);
    return bpf_status(bpf_map_update_elem(map.get(), &index, zeros.data(), BPF_ANY), "cannot reset counters");
}

} // namespace

RuleMaps::RuleMaps(MapFds fds)
    : fds_(std::move(fds)), rule_id_used_(kMaxRules, false), slot_may_be_read_(kVersionSlots, true)
{
}

Result<RuleMaps> RuleMaps::open(MapFds fds)
{
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0)
        return Error{"", "cannot count the possible CPUs: " + std::string(std::strerror(-cpus))};
    RuleMaps maps(std::move(fds));
    maps.possible_cpus_ = static_cast<std::size_t>(cpus);
    // Nothing says how recently a previous owner switched away from the
    // slots no key names: slot_may_be_read_ starts all true, so the first
    // write waits for a quiesce.
    mcr_fp_rule_key key{};
    mcr_fp_rule_key next{};
    const void* previous = nullptr;
    while (bpf_map_get_next_key(maps.fds_.rules.get(), previous, &next) == 0) {
        std::uint32_t slot = 0;
        if (const int error = bpf_map_lookup_elem(maps.fds_.rules.get(), &next, &slot); error != 0 && error != -ENOENT)
            return Error{"", "cannot read the installed rules: " + std::string(std::strerror(-error))};
        const std::uint32_t rule_id = slot / kSlotsPerRule;
        if (slot >= kVersionSlots || maps.rule_id_used_[rule_id])
            return Error{"", "the installed rules name version slot " + std::to_string(slot) + " twice or out of range"};
        maps.rule_id_used_[rule_id] = true;
        maps.installed_[match_of(next)] = slot;
        key = next;
        previous = &key;
    }
    return maps;
}

Status RuleMaps::quiesce_before_writing(std::initializer_list<std::uint32_t> slots)
{
    if (std::none_of(slots.begin(), slots.end(), [this](std::uint32_t slot) { return slot_may_be_read_[slot]; }))
        return Ok{};
    // The kernel waits for running programs (synchronize_rcu) when an
    // array-of-maps entry is updated, so that the caller knows every later
    // run sees the new value; that wait is what we want, the value is not.
    const std::uint32_t zero = 0;
    const int inner = fds_.quiesce_inner.get();
    if (Status status = bpf_status(bpf_map_update_elem(fds_.quiesce.get(), &zero, &inner, BPF_ANY),
                                   "cannot wait for the fast path's running programs");
        !status)
        return status;
    std::fill(slot_may_be_read_.begin(), slot_may_be_read_.end(), false);
    return Ok{};
}

Status RuleMaps::write_version(std::uint32_t slot, const FastRule& rule)
{
    mcr_fp_rule_version version{};
    version.key = key_of(rule.match);
    version.flags = rule.forward_expired_ttl ? MCR_FP_FORWARD_EXPIRED_TTL : 0U;
    version.output_count = static_cast<std::uint32_t>(rule.outputs.size());
    version.max_ip_bytes = 65535;
    for (std::size_t i = 0; i < rule.outputs.size(); ++i) {
        version.max_ip_bytes = std::min(version.max_ip_bytes, rule.outputs[i].mtu);
        const mcr_fp_output entry = output_entry(rule.outputs[i]);
        const auto index = static_cast<std::uint32_t>(slot * kMaxOutputs + i);
        if (Status status = bpf_status(bpf_map_update_elem(fds_.version_outputs.get(), &index, &entry, BPF_ANY),
                                       "cannot write an output");
            !status)
            return status;
    }
    return bpf_status(bpf_map_update_elem(fds_.rule_versions.get(), &slot, &version, BPF_ANY),
                      "cannot write a rule version");
}

Status RuleMaps::zero_counters(std::uint32_t rule_id)
{
    if (Status status = zero_per_cpu<mcr_fp_rule_traffic>(fds_.rule_traffic, rule_id, possible_cpus_); !status)
        return status;
    for (std::uint32_t i = 0; i < kMaxOutputs; ++i) {
        const auto index = static_cast<std::uint32_t>(rule_id * kMaxOutputs + i);
        if (Status status = zero_per_cpu<mcr_fp_output_traffic>(fds_.output_traffic, index, possible_cpus_); !status)
            return status;
    }
    return Ok{};
}

Status RuleMaps::install(const FastRule& rule)
{
    if (Status status = validate(rule); !status)
        return status;
    const mcr_fp_rule_key key = key_of(rule.match);

    if (auto found = installed_.find(rule.match); found != installed_.end()) {
        const std::uint32_t current = found->second;
        const std::uint32_t next = current ^ 1U; // the rule's other slot
        if (Status status = quiesce_before_writing({next}); !status)
            return status;
        if (Status status = write_version(next, rule); !status)
            return status;
        if (Status status = bpf_status(bpf_map_update_elem(fds_.rules.get(), &key, &next, BPF_EXIST),
                                       "cannot switch the rule to its new version");
            !status)
            return status;
        slot_may_be_read_[current] = true;
        found->second = next;
        return Ok{};
    }

    const auto free_id = std::find(rule_id_used_.begin(), rule_id_used_.end(), false);
    if (free_id == rule_id_used_.end())
        return Error{"", "the fast path holds " + std::to_string(kMaxRules) + " rules already"};
    const auto rule_id = static_cast<std::uint32_t>(free_id - rule_id_used_.begin());
    const std::uint32_t slot = rule_id * kSlotsPerRule;
    // Counters too: a frame of the id's previous rule may still count.
    if (Status status = quiesce_before_writing({slot, slot + 1}); !status)
        return status;
    if (Status status = zero_counters(rule_id); !status)
        return status;
    if (Status status = write_version(slot, rule); !status)
        return status;
    if (Status status = bpf_status(bpf_map_update_elem(fds_.rules.get(), &key, &slot, BPF_NOEXIST),
                                   "cannot add the rule");
        !status)
        return status;
    *free_id = true;
    installed_[rule.match] = slot;
    return Ok{};
}

Status RuleMaps::remove(const RuleMatch& match)
{
    const auto found = installed_.find(match);
    if (found == installed_.end())
        return Error{"", "no such rule in the fast path"};
    const mcr_fp_rule_key key = key_of(match);
    if (Status status = bpf_status(bpf_map_delete_elem(fds_.rules.get(), &key), "cannot remove the rule"); !status)
        return status;
    const std::uint32_t rule_id = found->second / kSlotsPerRule;
    const std::uint32_t first_slot = rule_id * kSlotsPerRule;
    slot_may_be_read_[first_slot] = true;
    slot_may_be_read_[first_slot + 1] = true;
    rule_id_used_[rule_id] = false;
    installed_.erase(found);
    return Ok{};
}

Status RuleMaps::replace_all(std::span<const FastRule> rules)
{
    std::set<RuleMatch> wanted;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const std::string path = "rules[" + std::to_string(i) + "]";
        if (!wanted.insert(rules[i].match).second)
            return Error{path, "same match as an earlier rule"};
        if (Status status = validate(rules[i]); !status)
            return Error{path + "." + status.error().path, status.error().reason};
    }
    if (wanted.size() > kMaxRules)
        return Error{"", "more than " + std::to_string(kMaxRules) + " rules for the fast path"};
    // Removals first, so their ids are free for the new rules.
    std::vector<RuleMatch> unwanted;
    for (const auto& [match, slot] : installed_)
        if (wanted.count(match) == 0)
            unwanted.push_back(match);
    for (const RuleMatch& match : unwanted)
        if (Status status = remove(match); !status)
            return status;
    for (const FastRule& rule : rules)
        if (Status status = install(rule); !status)
            return status;
    return Ok{};
}

Result<RuleTraffic> RuleMaps::retire(const RuleMatch& match)
{
    const auto found = installed_.find(match);
    if (found == installed_.end())
        return Error{"", "no such rule in the fast path"};
    const std::uint32_t slot = found->second;
    if (Status status = remove(match); !status)
        return status.error();
    // The removed key is no longer found, but a run that looked it up before
    // may still be counting: wait for those runs. The id is not reused
    // before this read (install() takes it only after the caller's next call).
    const std::uint32_t first_slot = slot / kSlotsPerRule * kSlotsPerRule;
    if (Status status = quiesce_before_writing({first_slot, first_slot + 1}); !status)
        return status.error();
    return traffic_of(slot);
}

Result<RuleTraffic> RuleMaps::traffic(const RuleMatch& match) const
{
    const auto found = installed_.find(match);
    if (found == installed_.end())
        return Error{"", "no such rule in the fast path"};
    return traffic_of(found->second);
}

Result<RuleTraffic> RuleMaps::traffic_of(std::uint32_t slot) const
{
    const std::uint32_t rule_id = slot / kSlotsPerRule;
    mcr_fp_rule_version version{};
    if (const int error = bpf_map_lookup_elem(fds_.rule_versions.get(), &slot, &version); error != 0)
        return Error{"", "cannot read the rule: " + std::string(std::strerror(-error))};

    RuleTraffic traffic;
    auto per_rule = read_per_cpu<mcr_fp_rule_traffic>(fds_.rule_traffic, rule_id, possible_cpus_);
    if (!per_rule)
        return per_rule.error();
    for (const auto& cpu : *per_rule) {
        traffic.packets += cpu.packets;
        traffic.bytes += cpu.bytes;
    }
    const std::uint32_t outputs = std::min<std::uint32_t>(version.output_count, kMaxOutputs);
    for (std::uint32_t i = 0; i < outputs; ++i) {
        auto per_output = read_per_cpu<mcr_fp_output_traffic>(fds_.output_traffic,
                                                               static_cast<std::uint32_t>(rule_id * kMaxOutputs + i),
                                                               possible_cpus_);
        if (!per_output)
            return per_output.error();
        OutputTraffic& sum = traffic.outputs.emplace_back();
        for (const auto& cpu : *per_output) {
            sum.packets += cpu.packets;
            sum.bytes += cpu.bytes;
            sum.errors += cpu.errors;
        }
    }
    return traffic;
}

Result<PassCounts> RuleMaps::pass_counts() const
{
    PassCounts counts{};
    for (std::uint32_t reason = 0; reason < kPassReasons; ++reason) {
        auto per_cpu = read_per_cpu<std::uint64_t>(fds_.pass_counts, reason, possible_cpus_);
        if (!per_cpu)
            return per_cpu.error();
        for (const std::uint64_t count : *per_cpu)
            counts[reason] += count;
    }
    return counts;
}

} // namespace mcr::fastpath
