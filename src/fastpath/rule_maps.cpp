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
#include <array>
#include <cerrno>
#include <limits>
#include <cstring>
#include <set>
#include <utility>
#include <string>

namespace mcr::fastpath {

using dataplane::load_be32;

RuleMatch::RuleMatch(const IpAddress& group_address, const std::optional<IpAddress>& source_address,
                     std::uint16_t udp_port)
    : group(group_address),
      source(source_address ? *source_address
                            : (group_address.is_ipv4() ? IpAddress::from_ipv4(0) : IpAddress::from_ipv6({}))),
      port(udp_port)
{
}

static_assert(kMaxRules == MCR_FP_MAX_RULES);
static_assert(kMaxOutputs == MCR_FP_MAX_OUTPUTS);
// Per-CPU values are read as arrays of these: each CPU's value is 8-byte aligned.
static_assert(sizeof(mcr_fp_rule_traffic) % 8 == 0 && sizeof(mcr_fp_output_traffic) % 8 == 0);
// The program reads a rule's entry in one 8-byte load; its hold mask has a bit per output.
static_assert(sizeof(mcr_fp_rule_ref) == 8);
static_assert(kMaxOutputs <= 32);

namespace {

constexpr std::uint32_t kSlotsPerRule = MCR_FP_SLOTS_PER_RULE;
constexpr auto kVersionSlots = static_cast<std::size_t>(MCR_FP_VERSION_SLOTS);

Status bpf_status(int result, const std::string& what)
{
    if (result == 0)
        return Ok{};
    return Error{"", what + ": " + std::strerror(-result)};
}

void copy_address(const IpAddress& address, __u32 (&words)[4])
{
    const std::size_t bytes = address.is_ipv4() ? 4 : 16;
    std::memset(words, 0, sizeof(words));
    std::memcpy(words, address.bytes().data(), bytes);
}

IpAddress address_of(std::uint8_t family, const __u32 (&words)[4])
{
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), words, bytes.size());
    if (family == MCR_FP_FAMILY_IPV6)
        return IpAddress::from_ipv6(bytes);
    return IpAddress::from_ipv4(load_be32(bytes.data()));
}

std::uint8_t family_of(const IpAddress& address)
{
    return address.is_ipv4() ? MCR_FP_FAMILY_IPV4 : MCR_FP_FAMILY_IPV6;
}

mcr_fp_rule_key key_of(const RuleMatch& match)
{
    mcr_fp_rule_key key{};
    copy_address(match.group, key.group);
    copy_address(match.source, key.source);
    key.port = htons(match.port);
    key.family = family_of(match.group);
    return key;
}

RuleMatch match_of(const mcr_fp_rule_key& key)
{
    RuleMatch match;
    match.group = address_of(key.family, key.group);
    match.source = address_of(key.family, key.source);
    match.port = ntohs(key.port);
    return match;
}

// The IP header a copy of this family carries.
unsigned ip_header_bytes(const IpAddress& address)
{
    return address.is_ipv4() ? 20U : 40U;
}

Status validate(const FastRule& rule)
{
    if (rule.match.source.family() != rule.match.group.family())
        return Error{"match.source", "must be of the group's family"};
    if (rule.outputs.empty() || rule.outputs.size() > kMaxOutputs)
        return Error{"outputs", "must hold 1.." + std::to_string(kMaxOutputs) + " outputs, got " +
                                    std::to_string(rule.outputs.size())};
    for (std::size_t i = 0; i < rule.outputs.size(); ++i) {
        const Output& output = rule.outputs[i];
        const std::string path = "outputs[" + std::to_string(i) + "]";
        if (!output.multicast)
            return Error{path, "a unicast output needs the kernel's routing, which the fast path does not do"};
        if (output.ifindex <= 0)
            return Error{path + ".ifindex", "must be an interface index, got " + std::to_string(output.ifindex)};
        if (output.mtu < kMinMtu || output.mtu > 65535)
            return Error{path + ".mtu", "must be " + std::to_string(kMinMtu) + "..65535, got " +
                                            std::to_string(output.mtu)};
        if (output.ttl && *output.ttl == 0)
            return Error{path + ".ttl", "must be 1..255, got 0"};
        const bool translated = output.destination_address.family() != rule.match.group.family();
        if (translated && !output.source_address)
            return Error{path + ".source_address", "a translated copy needs the egress interface's address of its family"};
        if (translated && output.source_address->family() != output.destination_address.family())
            return Error{path + ".source_address", "must be of the destination's family"};
    }
    return Ok{};
}

mcr_fp_output output_entry(const Output& output, std::size_t counter)
{
    mcr_fp_output entry{};
    std::memcpy(entry.destination_mac, output.destination_mac.data(), sizeof(entry.destination_mac));
    std::memcpy(entry.source_mac, output.source_mac.data(), sizeof(entry.source_mac));
    entry.ifindex = static_cast<std::uint32_t>(output.ifindex);
    copy_address(output.destination_address, entry.destination_address);
    if (output.source_address)
        copy_address(*output.source_address, entry.source_address);
    entry.destination_port = htons(output.destination_port);
    entry.has_ttl = output.ttl ? 1 : 0;
    entry.ttl = output.ttl.value_or(0);
    entry.family = family_of(output.destination_address);
    entry.counter = static_cast<std::uint8_t>(counter);
    return entry;
}

// The version order of a rule's outputs: those of the input's family first,
// so the program changes a frame's family at most once; position -> the
// rule's output index (which is what each position counts under).
std::vector<std::uint8_t> version_order(const FastRule& rule)
{
    std::vector<std::uint8_t> order(rule.outputs.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = static_cast<std::uint8_t>(i);
    std::stable_partition(order.begin(), order.end(), [&](std::uint8_t i) {
        return rule.outputs[i].destination_address.family() == rule.match.group.family();
    });
    return order;
}

// Held outputs (held[i] for the rule's output i) as the version's positions.
std::uint32_t held_positions(const std::vector<std::uint8_t>& order, const std::vector<bool>& held)
{
    std::uint32_t positions = 0;
    for (std::size_t position = 0; position < order.size(); ++position)
        if (held[order[position]])
            positions |= 1U << position;
    return positions;
}

std::vector<bool> held_of(const FastRule& rule)
{
    std::vector<bool> held;
    for (const Output& output : rule.outputs)
        held.push_back(output.held);
    return held;
}

// A map made by another build of the program (a worker upgraded while its
// maps lived on in the FD store) may lay its values out differently: using
// it would read and write garbage, so it is refused.
Status check_value_size(const unique_fd& map, std::size_t expected, const char* name)
{
    bpf_map_info info{};
    __u32 length = sizeof(info);
    if (const int error = bpf_obj_get_info_by_fd(map.get(), &info, &length); error != 0)
        return Error{"", std::string("cannot read the ") + name + " map's description: " + std::strerror(-error)};
    if (info.value_size != expected)
        return Error{"", std::string("the ") + name + " map holds " + std::to_string(info.value_size) +
                             "-byte values, this build " + std::to_string(expected) +
                             "-byte ones: made by another mcrd version"};
    return Ok{};
}

// Deletes every rule of a rules map we cannot otherwise use (another
// build's layout), if its keys are ours: that build's program then finds no
// rule and passes every frame to the stack, where the worker relays it,
// instead of relaying with rules the worker can no longer change.
// Returns whether it did.
bool empty_foreign_rules(const unique_fd& rules)
{
    bpf_map_info info{};
    __u32 length = sizeof(info);
    if (bpf_obj_get_info_by_fd(rules.get(), &info, &length) != 0 || info.key_size != sizeof(mcr_fp_rule_key))
        return false;
    mcr_fp_rule_key key{};
    // Always the first key: the one before it is gone once deleted.
    while (bpf_map_get_next_key(rules.get(), nullptr, &key) == 0)
        if (bpf_map_delete_elem(rules.get(), &key) != 0)
            return false;
    return true;
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
    const std::pair<const unique_fd*, std::pair<std::size_t, const char*>> layouts[] = {
        {&fds.rules, {sizeof(mcr_fp_rule_ref), "rules"}},
        {&fds.rule_versions, {sizeof(mcr_fp_rule_version), "rule_versions"}},
        {&fds.version_outputs, {sizeof(mcr_fp_output), "version_outputs"}},
        {&fds.rule_traffic, {sizeof(mcr_fp_rule_traffic), "rule_traffic"}},
        {&fds.output_traffic, {sizeof(mcr_fp_output_traffic), "output_traffic"}},
    };
    for (const auto& [map, layout] : layouts)
        if (Status status = check_value_size(*map, layout.first, layout.second); !status) {
            if (!empty_foreign_rules(fds.rules))
                return status.error();
            return Error{"", status.error().message() + "; its rules were removed, so every frame goes to the worker"};
        }
    RuleMaps maps(std::move(fds));
    maps.possible_cpus_ = static_cast<std::size_t>(cpus);
    // Nothing says how recently a previous owner switched away from the
    // slots no key names: slot_may_be_read_ starts all true, so the first
    // write waits for a quiesce.
    mcr_fp_rule_key key{};
    mcr_fp_rule_key next{};
    const void* previous = nullptr;
    while (bpf_map_get_next_key(maps.fds_.rules.get(), previous, &next) == 0) {
        mcr_fp_rule_ref ref{};
        if (const int error = bpf_map_lookup_elem(maps.fds_.rules.get(), &next, &ref); error != 0 && error != -ENOENT)
            return Error{"", "cannot read the installed rules: " + std::string(std::strerror(-error))};
        const std::uint32_t rule_id = ref.slot / kSlotsPerRule;
        if (ref.slot >= kVersionSlots || maps.rule_id_used_[rule_id])
            return Error{"", "the installed rules name version slot " + std::to_string(ref.slot) +
                                 " twice or out of range"};
        auto order = maps.read_order(ref.slot);
        if (!order)
            return order.error();
        maps.rule_id_used_[rule_id] = true;
        // The hold state stays as the maps have it until the owner changes it.
        maps.installed_[match_of(next)] = Installed{ref.slot, std::move(*order), ref.held_positions};
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

Result<std::vector<std::uint8_t>> RuleMaps::read_order(std::uint32_t slot) const
{
    mcr_fp_rule_version version{};
    if (const int error = bpf_map_lookup_elem(fds_.rule_versions.get(), &slot, &version); error != 0)
        return Error{"", "cannot read the installed rules: " + std::string(std::strerror(-error))};
    if (version.output_count == 0 || version.output_count > kMaxOutputs)
        return Error{"", "version slot " + std::to_string(slot) + " holds " + std::to_string(version.output_count) +
                             " outputs"};
    std::vector<std::uint8_t> order;
    for (std::uint32_t position = 0; position < version.output_count; ++position) {
        mcr_fp_output entry{};
        const auto index = static_cast<std::uint32_t>(slot * kMaxOutputs + position);
        if (const int error = bpf_map_lookup_elem(fds_.version_outputs.get(), &index, &entry); error != 0)
            return Error{"", "cannot read the installed outputs: " + std::string(std::strerror(-error))};
        if (entry.counter >= version.output_count)
            return Error{"", "version slot " + std::to_string(slot) + " counts an output under index " +
                                 std::to_string(entry.counter)};
        order.push_back(entry.counter);
    }
    return order;
}

Status RuleMaps::write_version(std::uint32_t slot, const FastRule& rule, const std::vector<std::uint8_t>& order)
{
    mcr_fp_rule_version version{};
    version.key = key_of(rule.match);
    version.flags = rule.forward_expired_ttl ? MCR_FP_FORWARD_EXPIRED_TTL : 0U;
    version.output_count = static_cast<std::uint32_t>(rule.outputs.size());
    version.max_ip_bytes = std::numeric_limits<std::uint32_t>::max();
    const auto same_family = [&](std::size_t i) {
        return rule.outputs[i].destination_address.family() == rule.match.group.family();
    };
    const unsigned input_header = ip_header_bytes(rule.match.group);
    for (std::size_t position = 0; position < order.size(); ++position) {
        const Output& output = rule.outputs[order[position]];
        if (!same_family(order[position]))
            version.flags |= MCR_FP_TRANSLATES;
        // The arriving packet's length at which this copy just fits.
        const unsigned fits = output.mtu + input_header - ip_header_bytes(output.destination_address);
        version.max_ip_bytes = std::min(version.max_ip_bytes, fits);
        const mcr_fp_output entry = output_entry(output, order[position]);
        const auto index = static_cast<std::uint32_t>(slot * kMaxOutputs + position);
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
    std::vector<std::uint8_t> order = version_order(rule);
    const std::uint32_t held = held_positions(order, held_of(rule));

    if (auto found = installed_.find(rule.match); found != installed_.end()) {
        const std::uint32_t current = found->second.slot;
        const mcr_fp_rule_ref next{current ^ 1U, held}; // the rule's other slot
        if (Status status = quiesce_before_writing({next.slot}); !status)
            return status;
        if (Status status = write_version(next.slot, rule, order); !status)
            return status;
        // The new version and its hold state in one update.
        if (Status status = bpf_status(bpf_map_update_elem(fds_.rules.get(), &key, &next, BPF_EXIST),
                                       "cannot switch the rule to its new version");
            !status)
            return status;
        slot_may_be_read_[current] = true;
        found->second = Installed{next.slot, std::move(order), held};
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
    if (Status status = write_version(slot, rule, order); !status)
        return status;
    const mcr_fp_rule_ref ref{slot, held};
    if (Status status = bpf_status(bpf_map_update_elem(fds_.rules.get(), &key, &ref, BPF_NOEXIST),
                                   "cannot add the rule");
        !status)
        return status;
    *free_id = true;
    installed_[rule.match] = Installed{slot, std::move(order), held};
    return Ok{};
}

Status RuleMaps::hold_outputs(const RuleMatch& match, const std::vector<bool>& held)
{
    const auto found = installed_.find(match);
    if (found == installed_.end())
        return Error{"", "no such rule in the fast path"};
    Installed& installed = found->second;
    if (held.size() != installed.order.size())
        return Error{"", "the rule has " + std::to_string(installed.order.size()) + " outputs, got hold states for " +
                             std::to_string(held.size())};
    const std::uint32_t positions = held_positions(installed.order, held);
    if (positions == installed.held_positions)
        return Ok{};
    const mcr_fp_rule_key key = key_of(match);
    const mcr_fp_rule_ref ref{installed.slot, positions};
    if (Status status = bpf_status(bpf_map_update_elem(fds_.rules.get(), &key, &ref, BPF_EXIST),
                                   "cannot change which outputs are held");
        !status)
        return status;
    installed.held_positions = positions;
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
    const std::uint32_t rule_id = found->second.slot / kSlotsPerRule;
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
    for (const auto& [match, installed] : installed_)
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
    const std::uint32_t slot = found->second.slot;
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
    return traffic_of(found->second.slot);
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
            sum.no_listener += cpu.no_listener;
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
