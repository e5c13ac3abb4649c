// The worker's per-packet rule lookup: an open-addressing hash table keyed on
// (family, destination address, destination port, protocol, source) built
// once per config; lookups never allocate. Source-specific (SSM) rules win over
// any-source rules for the same group and port.
#pragma once

#include "core/result.hpp"
#include "core/rule.hpp"
#include "frame.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace mcr::dataplane {

// 0.0.0.0 and :: are never a valid SSM source.
inline constexpr AddressBytes kAnySource{};

struct RuleKey {
    AddressBytes destination_address{};    // as AddressBytes says (frame.hpp)
    AddressBytes source_address = kAnySource;
    std::uint16_t destination_port = 0;
    std::uint8_t protocol = 0;
    AddressFamily family = AddressFamily::ipv4;

    friend bool operator==(const RuleKey&, const RuleKey&) = default;
};

class RuleTable {
public:
    RuleTable() = default;

    // Indexes `rules` by input, either family. Errors (path "rules[i].input")
    // for an SSM source of another family than the group and for two rules
    // with the same input.
    [[nodiscard]] static Result<RuleTable> build(std::span<const Rule> rules);

    // Index into the `rules` given to build(), SSM match first.
    [[nodiscard]] std::optional<std::size_t> lookup(AddressFamily family, const AddressBytes& destination_address,
                                                    std::uint16_t destination_port, std::uint8_t protocol,
                                                    const AddressBytes& source_address) const noexcept;
    // The rule for an accepted UDP frame.
    [[nodiscard]] std::optional<std::size_t> lookup(const UdpFrameView& udp) const noexcept
    {
        return lookup(udp.family, udp.destination_address, udp.destination_port, kIpProtocolUdp, udp.source_address);
    }

    [[nodiscard]] std::size_t size() const noexcept { return entries_; }

private:
    struct Slot {
        RuleKey key;
        std::uint32_t rule_index = 0;
        bool used = false;
    };
    [[nodiscard]] std::optional<std::size_t> find(const RuleKey& key) const noexcept;
    [[nodiscard]] bool insert(const RuleKey& key, std::uint32_t rule_index);

    std::vector<Slot> slots_; // power-of-two size, at most half full
    std::size_t entries_ = 0;
};

} // namespace mcr::dataplane
