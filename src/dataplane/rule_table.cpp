// Open addressing with linear probing: a few cache lines per lookup, no
// pointers to chase, no allocation after build().
#include "rule_table.hpp"

#include <bit>
#include <cstring>
#include <string>

namespace mcr::dataplane {

namespace {

std::uint64_t word_at(const AddressBytes& bytes, std::size_t offset) noexcept
{
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + offset, sizeof(word));
    return word;
}

std::uint64_t hash_key(const RuleKey& key) noexcept
{
    // splitmix64 finaliser over the folded key: good spread for groups that
    // differ only in their low bits (239.1.1.1, 239.1.1.2, ..., ff3e::1,
    // ff3e::2, ...). An IPv4 key's upper words are zero.
    const std::uint64_t destination = word_at(key.destination_address, 0) ^
                                      (word_at(key.destination_address, 8) * 0xc2b2ae3d27d4eb4fULL);
    const std::uint64_t source = word_at(key.source_address, 0) ^ (word_at(key.source_address, 8) * 0x165667b19e3779f9ULL);
    std::uint64_t x = destination ^ (std::uint64_t{key.destination_port} << 40) ^
                      (std::uint64_t{key.protocol} << 56) ^ static_cast<std::uint64_t>(key.family) ^
                      (source * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

} // namespace

Result<RuleTable> RuleTable::build(std::span<const Rule> rules)
{
    RuleTable table;
    // Load factor <= 0.5 keeps probe chains short.
    table.slots_.resize(std::bit_ceil(std::max<std::size_t>(rules.size() * 2, 8)));
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const RuleInput& input = rules[i].input;
        const std::string path = "rules[" + std::to_string(i) + "].input";
        if (input.source && input.source->family() != input.address.family())
            return Error{path + ".source", "SSM source " + input.source->to_string() + " is not of the group's family"};
        const RuleKey key{input.address.bytes(), input.source ? input.source->bytes() : kAnySource, input.port,
                          kIpProtocolUdp, input.address.family()};
        if (!table.insert(key, static_cast<std::uint32_t>(i)))
            return Error{path, "same input as another rule (" + input.address.to_string() + ":" +
                                   std::to_string(input.port) + ")"};
    }
    return table;
}

bool RuleTable::insert(const RuleKey& key, std::uint32_t rule_index)
{
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        Slot& slot = slots_[i];
        if (!slot.used) {
            slot = Slot{key, rule_index, true};
            ++entries_;
            return true;
        }
        if (slot.key == key)
            return false;
    }
}

std::optional<std::size_t> RuleTable::find(const RuleKey& key) const noexcept
{
    if (slots_.empty())
        return std::nullopt;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        const Slot& slot = slots_[i];
        if (!slot.used)
            return std::nullopt; // table is never full, so this ends
        if (slot.key == key)
            return slot.rule_index;
    }
}

std::optional<std::size_t> RuleTable::lookup(AddressFamily family, const AddressBytes& destination_address,
                                             std::uint16_t destination_port, std::uint8_t protocol,
                                             const AddressBytes& source_address) const noexcept
{
    if (auto ssm = find(RuleKey{destination_address, source_address, destination_port, protocol, family}))
        return ssm;
    return find(RuleKey{destination_address, kAnySource, destination_port, protocol, family});
}

} // namespace mcr::dataplane
