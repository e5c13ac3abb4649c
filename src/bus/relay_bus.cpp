// Registration of the public objects on a bus and the announcements of
// state changes (RuleAdded/RuleRemoved, InterfacesAdded/Removed,
// PropertiesChanged).
#include "relay_bus.hpp"

#include "bus/bus_names.hpp"
#include "bus/manager_methods.hpp"
#include "bus/rule_objects.hpp"
#include "core/log.hpp"

#include <cstring>
#include <vector>

namespace mcr::bus {

namespace {

void log_emit_failure(const char* what, const std::string& path, int r)
{
    log_warning(std::string("Failed to emit ") + what + " for " + path + ": " + std::strerror(-r) + ", ignoring");
}

} // namespace

int RelayBus::attach(sd_bus* bus)
{
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_object_vtable(bus, &slot, kObjectPath, kManagerInterface, manager_vtable(), this);
    if (r < 0)
        return r;
    slots_.emplace_back(slot);
    r = sd_bus_add_fallback_vtable(bus, &slot, kRulePathPrefix, kRuleInterface, rule_vtable(), find_rule_object,
                                   this);
    if (r < 0)
        return r;
    slots_.emplace_back(slot);
    r = sd_bus_add_node_enumerator(bus, &slot, kRulePathPrefix, enumerate_rule_objects, this);
    if (r < 0)
        return r;
    slots_.emplace_back(slot);
    r = sd_bus_add_object_manager(bus, &slot, kObjectPath);
    if (r < 0)
        return r;
    slots_.emplace_back(slot);
    bus_ = bus;
    return 0;
}

void RelayBus::detach()
{
    slots_.clear();
    bus_ = nullptr;
}

void RelayBus::rule_added(const std::string& name) { announce_rule(name, true); }

void RelayBus::rule_removed(const std::string& name) { announce_rule(name, false); }

void RelayBus::announce_rule(const std::string& name, bool added)
{
    if (!bus_)
        return;
    const std::string path = rule_object_path(name);
    // On removal the rule is already gone from the set: sd-bus then lists
    // the interfaces of the vtables registered for the path, which is what
    // InterfacesRemoved must carry.
    int r = added ? sd_bus_emit_object_added(bus_, path.c_str()) : sd_bus_emit_object_removed(bus_, path.c_str());
    if (r < 0)
        log_emit_failure(added ? "InterfacesAdded" : "InterfacesRemoved", path, r);
    const char* member = added ? "RuleAdded" : "RuleRemoved";
    r = sd_bus_emit_signal(bus_, kObjectPath, kManagerInterface, member, "so", name.c_str(), path.c_str());
    if (r < 0)
        log_emit_failure(member, path, r);
    manager_properties_changed({"RuleCount"});
}

void RelayBus::group_listeners_changed(const std::string& interface, const std::string& group, bool present)
{
    if (!bus_)
        return;
    const int r = sd_bus_emit_signal(bus_, kObjectPath, kManagerInterface, "GroupListenersChanged", "ssb",
                                     interface.c_str(), group.c_str(), static_cast<int>(present));
    if (r < 0)
        log_emit_failure("GroupListenersChanged", kObjectPath, r);
}

void RelayBus::rule_properties_changed(const std::string& name, std::initializer_list<const char*> properties)
{
    emit_properties_changed(rule_object_path(name), kRuleInterface, properties);
}

void RelayBus::manager_properties_changed(std::initializer_list<const char*> properties)
{
    emit_properties_changed(kObjectPath, kManagerInterface, properties);
}

void RelayBus::emit_properties_changed(const std::string& path, const char* interface,
                                       std::initializer_list<const char*> properties)
{
    if (!bus_)
        return;
    std::vector<char*> names;
    for (const char* property : properties)
        names.push_back(const_cast<char*>(property));  // sd-bus takes char** but does not modify
    names.push_back(nullptr);
    const int r = sd_bus_emit_properties_changed_strv(bus_, path.c_str(), interface, names.data());
    if (r < 0)
        log_emit_failure("PropertiesChanged", path, r);
}

} // namespace mcr::bus
