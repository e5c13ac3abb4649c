// The supervisor's IGMP router side (issue 19): on every interface that
// has an output with "listeners": "required", a querier and membership
// engine (src/membership) on its own sockets and sd-event sources, and the
// resulting set of outputs that have listeners, which the workers gate
// their copies by. IGMP for IPv4 outputs, MLD for IPv6 ones: an interface
// with both runs one engine of each, on sockets of its own.
#pragma once

#include "core/result.hpp"
#include "core/rule.hpp"
#include "core/sd_ptr.hpp"
#include "core/worker_protocol.hpp"
#include "membership/interface_membership.hpp"
#include "netlink/link_monitor.hpp"
#include "supervisor/membership_sockets.hpp"

#include <nlohmann/json.hpp>
#include <systemd/sd-event.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mcr::supervisor {

using worker_protocol::ListeningOutputs;

class ListenerObserver {
public:
    virtual ~ListenerObserver() = default;
    // Some output's listener state may have changed: re-read listening().
    virtual void listeners_changed() = 0;
    // `group` on `interface` gained its first listener or lost its last
    // (only for groups some output sends to).
    virtual void group_listeners_changed(const std::string& interface, const IpAddress& group, bool present) = 0;
};

// One interface's view, for D-Bus and mcrctl.
struct InterfaceMembershipView {
    std::string interface;
    AddressFamily family = AddressFamily::ipv4; // ipv4: IGMP, ipv6: MLD
    bool querier = false;
    std::optional<IpAddress> own_address;
    std::optional<IpAddress> other_querier;
    std::vector<membership::GroupView> groups;
    membership::MembershipCounters counters;
};

class ListenerTracker {
public:
    ListenerTracker(sd_event* event, const membership::MembershipConfig& config, ListenerObserver& observer);
    ~ListenerTracker();
    ListenerTracker(const ListenerTracker&) = delete;
    ListenerTracker& operator=(const ListenerTracker&) = delete;

    // Runs an engine on each interface the rules' required outputs use,
    // stops the others.
    void apply(const RuleSet& rules);
    // Interfaces appearing, going and changing address: engines follow.
    void link_changed(const LinkEvent& event);

    // By the rule's input interface (its worker): the required outputs that
    // have listeners now.
    [[nodiscard]] std::map<std::string, ListeningOutputs> listening() const;
    // Whether output `index` of `rule` sends now ("always" outputs always do).
    [[nodiscard]] bool output_listening(const Rule& rule, std::size_t index) const;
    [[nodiscard]] std::vector<InterfaceMembershipView> interfaces() const;
    // interfaces() as GetStats' "membership" array (org.mcr.Relay(5)).
    [[nodiscard]] nlohmann::json to_json() const;

private:
    struct Port;
    using PortKey = std::pair<std::string, AddressFamily>; // interface, IGMP or MLD

    void open_port(const PortKey& key);
    // The interface's best claim changed (a lower address came, ours
    // went): new sockets from `address`, the same membership state, and
    // the election run again.
    void rebind_port(const PortKey& key, const IpAddress& address);
    void close_port(const PortKey& key);
    void flush(Port& port);
    void arm_timer(Port& port);
    void log_events(Port& port, const std::vector<membership::MembershipEvent>& events, bool& changed);
    [[nodiscard]] bool sent_to(const std::string& ifname, const IpAddress& group) const;

    static int on_readable(sd_event_source* source, int fd, std::uint32_t events, void* userdata) noexcept;
    static int on_timer(sd_event_source* source, std::uint64_t usec, void* userdata) noexcept;

    sd_event* event_; // not owned: the Context's loop outlives us
    membership::MembershipConfig config_;
    ListenerObserver& observer_;
    RuleSet rules_;
    std::map<PortKey, std::unique_ptr<Port>> ports_;
    std::set<PortKey> failing_; // wanted, not open, failure logged once
};

} // namespace mcr::supervisor
