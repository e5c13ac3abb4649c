// Open addressing with linear probing, one table per family: a few cache
// lines per lookup, no pointers to chase, no allocation after build().
#include "rule_table.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

namespace mcr::dataplane {

namespace {

// splitmix64 finaliser: good spread for groups that differ only in their
// low bits (239.1.1.1, 239.1.1.2, ..., ff3e::1, ff3e::2, ...).
std::uint64_t mix(std::uint64_t x) noexcept
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t hash_key(const Ipv4RuleKey& key) noexcept
{
    return mix((std::uint64_t{key.destination_address} << 32) ^ (std::uint64_t{key.destination_port} << 8) ^
               key.protocol ^ (std::uint64_t{key.source_address} * 0x9e3779b97f4a7c15ULL));
}

std::uint64_t word_at(const AddressBytes& bytes, std::size_t offset) noexcept
{
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + offset, sizeof(word));
    return word;
}

} // namespace

bool operator==(const Ipv6RuleKey& a, const Ipv6RuleKey& b) noexcept
{
    const std::uint64_t differ = (word_at(a.destination_address, 0) ^ word_at(b.destination_address, 0)) |
                                 (word_at(a.destination_address, 8) ^ word_at(b.destination_address, 8)) |
                                 (word_at(a.source_address, 0) ^ word_at(b.source_address, 0)) |
                                 (word_at(a.source_address, 8) ^ word_at(b.source_address, 8));
    return differ == 0 && a.destination_port == b.destination_port && a.protocol == b.protocol;
}

namespace {

std::uint64_t hash_key(const Ipv6RuleKey& key) noexcept
{
    const std::uint64_t destination = word_at(key.destination_address, 0) ^
                                      (word_at(key.destination_address, 8) * 0xc2b2ae3d27d4eb4fULL);
    const std::uint64_t source = word_at(key.source_address, 0) ^ (word_at(key.source_address, 8) * 0x165667b19e3779f9ULL);
    return mix(destination ^ (std::uint64_t{key.destination_port} << 40) ^ (std::uint64_t{key.protocol} << 56) ^
               (source * 0x9e3779b97f4a7c15ULL));
}

// Open addressing with linear probing over one family's slots.
template <typename Key>
bool insert_key(std::vector<RuleSlot<Key>>& slots, const Key& key, std::uint32_t rule_index)
{
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        RuleSlot<Key>& slot = slots[i];
        if (!slot.used) {
            slot = RuleSlot<Key>{key, rule_index, true};
            return true;
        }
        if (slot.key == key)
            return false;
    }
}

constexpr std::uint32_t kNoRule = 0xffffffffU;

// The rule index of `key`, or kNoRule. A plain integer rather than an
// optional: this runs twice per frame, and the optional's round trip through
// the stack cost more than the probe itself.
template <typename Key>
std::uint32_t find_key(const std::vector<RuleSlot<Key>>& slots, const Key& key) noexcept
{
    if (slots.empty())
        return kNoRule;
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        const RuleSlot<Key>& slot = slots[i];
        if (!slot.used)
            return kNoRule; // table is never full, so this ends
        if (slot.key == key)
            return slot.rule_index;
    }
}

// SSM rules first, then the any-source rule of the same group and port.
template <typename Key>
std::optional<std::size_t> find_ssm_first(const std::vector<RuleSlot<Key>>& slots, Key key) noexcept
{
    std::uint32_t index = find_key(slots, key);
    if (index == kNoRule) {
        key.source_address = {};
        index = find_key(slots, key);
    }
    if (index == kNoRule)
        return std::nullopt;
    return index;
}

std::size_t table_size(std::size_t entries)
{
    // Load factor <= 0.5 keeps probe chains short.
    return std::bit_ceil(std::max<std::size_t>(entries * 2, 8));
}

} // namespace

Result<RuleTable> RuleTable::build(std::span<const Rule> rules)
{
    RuleTable table;
    std::size_t ipv4_inputs = 0;
    for (const Rule& rule : rules)
        ipv4_inputs += rule.input.address.is_ipv4() ? 1 : 0;
    table.slots4_.resize(table_size(ipv4_inputs));
    table.slots6_.resize(table_size(rules.size() - ipv4_inputs));
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const RuleInput& input = rules[i].input;
        const std::string path = "rules[" + std::to_string(i) + "].input";
        if (input.source && input.source->family() != input.address.family())
            return Error{path + ".source", "SSM source " + input.source->to_string() + " is not of the group's family"};
        const auto index = static_cast<std::uint32_t>(i);
        const bool inserted =
            input.address.is_ipv4()
                ? insert_key(table.slots4_, Ipv4RuleKey{input.address.ipv4(), input.source ? input.source->ipv4() : 0,
                                                        input.port, kIpProtocolUdp},
                             index)
                : insert_key(table.slots6_, Ipv6RuleKey{input.address.bytes(),
                                                        input.source ? input.source->bytes() : kAnySource, input.port,
                                                        kIpProtocolUdp},
                             index);
        if (!inserted)
            return Error{path, "same input as another rule (" + input.address.to_string() + ":" +
                                   std::to_string(input.port) + ")"};
        ++table.entries_;
    }
    return table;
}

std::optional<std::size_t> RuleTable::lookup(AddressFamily family, const AddressBytes& destination_address,
                                             std::uint16_t destination_port, std::uint8_t protocol,
                                             const AddressBytes& source_address) const noexcept
{
    if (family == AddressFamily::ipv4)
        return find_ssm_first(slots4_, Ipv4RuleKey{load_be32(destination_address.data()),
                                                   load_be32(source_address.data()), destination_port, protocol});
    return find_ssm_first(slots6_, Ipv6RuleKey{destination_address, source_address, destination_port, protocol});
}

} // namespace mcr::dataplane
