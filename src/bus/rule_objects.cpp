// org.mcr.Relay.Rule properties. The definition of a rule never changes in
// place (a replaced rule is removed and added again), so those properties
// are CONST; State and the counters emit PropertiesChanged.
#include "rule_objects.hpp"

#include "bus/bus_marshal.hpp"
#include "bus/bus_names.hpp"
#include "bus/relay_bus.hpp"
#include "core/c_owned.hpp"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace mcr::bus {

namespace {

// The property handlers get the RelayBus as userdata (find_rule_object
// passes it through) and look the rule up by the path's name.
std::optional<RuleStatus> rule_at(const char* path, void* userdata)
{
    const std::string name = rule_name_from_path(path);
    if (name.empty())
        return std::nullopt;
    return static_cast<RelayBus*>(userdata)->api().find_rule(name);
}

template <typename Append>
int append_rule_property(const char* path, void* userdata, sd_bus_error* error, Append&& append) noexcept
{
    return run_guarded(error, [&]() -> int {
        const auto status = rule_at(path, userdata);
        if (!status)
            return sd_bus_error_setf(error, kErrorNoSuchRule, "No rule at '%s'", path);
        return append(*status);
    });
}

#define MCR_RULE_PROPERTY(function_name, body)                                                                  \
    int function_name(sd_bus*, const char* path, const char*, const char*, sd_bus_message* reply,              \
                      void* userdata, sd_bus_error* error) noexcept                                              \
    {                                                                                                            \
        return append_rule_property(path, userdata, error, [&](const RuleStatus& s) -> int { body });           \
    }

MCR_RULE_PROPERTY(property_get_name, return sd_bus_message_append(reply, "s", s.rule.name.c_str());)
MCR_RULE_PROPERTY(property_get_in_interface, return sd_bus_message_append(reply, "s", s.rule.input.interface.c_str());)
MCR_RULE_PROPERTY(property_get_in_address,
                  return sd_bus_message_append(reply, "s", s.rule.input.address.to_string().c_str());)
MCR_RULE_PROPERTY(property_get_in_port, return sd_bus_message_append(reply, "q", s.rule.input.port);)
MCR_RULE_PROPERTY(property_get_in_source, {
    const std::string source = s.rule.input.source ? s.rule.input.source->to_string() : std::string();
    return sd_bus_message_append(reply, "s", source.c_str());
})
MCR_RULE_PROPERTY(property_get_outputs, return append_outputs(reply, s.rule.outputs);)
MCR_RULE_PROPERTY(property_get_state, return sd_bus_message_append(reply, "s", s.state.c_str());)
MCR_RULE_PROPERTY(property_get_packets, return sd_bus_message_append(reply, "t", s.packets);)
MCR_RULE_PROPERTY(property_get_bytes, return sd_bus_message_append(reply, "t", s.bytes);)
MCR_RULE_PROPERTY(property_get_drops, return sd_bus_message_append(reply, "t", s.drops);)

#undef MCR_RULE_PROPERTY

constexpr auto kConst = SD_BUS_VTABLE_PROPERTY_CONST;
constexpr auto kEmits = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;

const sd_bus_vtable kRuleVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Name", "s", property_get_name, 0, kConst),
    SD_BUS_PROPERTY("InInterface", "s", property_get_in_interface, 0, kConst),
    SD_BUS_PROPERTY("InAddress", "s", property_get_in_address, 0, kConst),
    SD_BUS_PROPERTY("InPort", "q", property_get_in_port, 0, kConst),
    SD_BUS_PROPERTY("InSource", "s", property_get_in_source, 0, kConst),
    SD_BUS_PROPERTY("Outputs", "a(ssqy)", property_get_outputs, 0, kConst),
    SD_BUS_PROPERTY("State", "s", property_get_state, 0, kEmits),
    SD_BUS_PROPERTY("Packets", "t", property_get_packets, 0, kEmits),
    SD_BUS_PROPERTY("Bytes", "t", property_get_bytes, 0, kEmits),
    SD_BUS_PROPERTY("Drops", "t", property_get_drops, 0, kEmits),
    SD_BUS_VTABLE_END,
};

} // namespace

const sd_bus_vtable* rule_vtable() { return kRuleVtable; }

int find_rule_object(sd_bus*, const char* path, const char*, void* userdata, void** found, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        if (!rule_at(path, userdata))
            return 0;
        *found = userdata;
        return 1;
    });
}

int enumerate_rule_objects(sd_bus*, const char*, void* userdata, char*** nodes, sd_bus_error* error) noexcept
{
    return run_guarded(error, [&]() -> int {
        const auto rules = static_cast<RelayBus*>(userdata)->api().rules();
        // sd-bus takes a malloc()ed, NULL-terminated strv and frees it. Zeroed
        // by calloc, the list is terminated after every entry added, so its
        // owner frees exactly those on a failure.
        CStringList list(static_cast<char**>(std::calloc(rules.size() + 1, sizeof(char*))));
        if (!list)
            return -ENOMEM;
        std::size_t n = 0;
        for (const RuleStatus& status : rules) {
            const std::string path = rule_object_path(status.rule.name);
            char* copy = path.empty() ? nullptr : strdup(path.c_str());
            if (!copy)
                return -ENOMEM;
            list.get()[n++] = copy;
        }
        *nodes = list.release();
        return 1;
    });
}

} // namespace mcr::bus
