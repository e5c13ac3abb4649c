// The public D-Bus objects: org.mcr.Relay.Manager at /org/mcr/Relay, one
// org.mcr.Relay.Rule object per rule under the ObjectManager, and the
// announcements (signals, PropertiesChanged, InterfacesAdded/Removed) the
// daemon makes when its state changes.
#pragma once

#include "api/relay_api.hpp"
#include "api/write_path.hpp"
#include "bus/polkit.hpp"
#include "core/sd_ptr.hpp"

#include <systemd/sd-bus.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace mcr::bus {

class RelayBus {
public:
    // Reads go to `api`, writes through `writes`; `polkit` decides for the
    // senders of write calls.
    RelayBus(const RelayApi& api, WritePath& writes, PolkitAuthorizer& polkit)
        : api_(api), writes_(writes), polkit_(polkit) {}
    RelayBus(const RelayBus&) = delete;
    RelayBus& operator=(const RelayBus&) = delete;

    // Registers the vtables, the ObjectManager and the rule enumerator on
    // `bus` (not yet owning the name). Returns 0 or a negative errno.
    [[nodiscard]] int attach(sd_bus* bus);
    // Stops announcing and serving (shutdown: the bus is about to go).
    void detach();

    // Announcements; each is a no-op before attach(). Failures to emit are
    // logged, never fatal: the state change has already happened.
    void rule_added(const std::string& name);
    void rule_removed(const std::string& name);
    void rule_properties_changed(const std::string& name, std::initializer_list<const char*> properties);
    void manager_properties_changed(std::initializer_list<const char*> properties);
    // GroupListenersChanged: a group some output requiring listeners sends
    // to gained its first listener on `interface` (present) or lost its last.
    void group_listeners_changed(const std::string& interface, const std::string& group, bool present);

    // Used by the vtable callbacks (C linkage targets, defined in
    // manager_methods.cpp / rule_objects.cpp).
    [[nodiscard]] const RelayApi& api() const { return api_; }
    WritePath& writes() { return writes_; }
    PolkitAuthorizer& polkit() { return polkit_; }

private:
    void announce_rule(const std::string& name, bool added);
    void emit_properties_changed(const std::string& path, const char* interface,
                                 std::initializer_list<const char*> properties);

    const RelayApi& api_;
    WritePath& writes_;
    PolkitAuthorizer& polkit_;
    sd_bus* bus_ = nullptr;                 // not owned: the daemon's Context owns it
    std::vector<BusSlotPtr> slots_;
};

// The RelayBus behind a vtable callback's userdata (attach() registers
// every vtable with `this`).
inline RelayBus& relay_of(void* userdata) { return *static_cast<RelayBus*>(userdata); }

} // namespace mcr::bus
