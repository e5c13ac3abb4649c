// Glue between the membership engine and the supervisor's loop: datagrams
// in, queries out, timers at the engine's deadlines, events to the journal
// and to the workers' gates.
#include "listener_tracker.hpp"

#include "core/c_callback.hpp"
#include "core/log.hpp"
#include "core/message_ids.hpp"
#include "membership/ip_envelope.hpp"
#include "membership/message_parse.hpp"
#include "membership/query_build.hpp"

#include <cerrno>
#include <cstring>
#include <set>

namespace mcr::supervisor {

namespace m = membership;

namespace {

// Datagrams read per wake-up, so that a report flood cannot hold the loop
// (the D-Bus API, the workers' links) for long; the rest wait a turn.
constexpr int kDatagramsPerWakeup = 256;
constexpr std::size_t kDatagramBytes = 65536;

std::uint64_t monotonic_usec(m::TimePoint at)
{
    // steady_clock is CLOCK_MONOTONIC on Linux (libstdc++ and libc++).
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count());
}

std::set<std::pair<std::string, AddressFamily>> required_ports(const RuleSet& rules)
{
    std::set<std::pair<std::string, AddressFamily>> ports;
    for (const Rule& rule : rules.rules)
        for (const RuleOutput& output : rule.outputs)
            if (output.listeners == ListenerPolicy::required)
                ports.emplace(output.interface, output.address.family());
    return ports;
}

const char* protocol_name(AddressFamily family)
{
    return family == AddressFamily::ipv4 ? "IGMP" : "MLD";
}

IpAddress any_source(AddressFamily family)
{
    return family == AddressFamily::ipv4 ? IpAddress::from_ipv4(0) : IpAddress::from_ipv6({});
}

// The version as the protocol numbers it: MLDv1 and MLDv2 behave as (and
// are kept as) IGMPv2 and IGMPv3.
int wire_version(AddressFamily family, m::ProtocolVersion version)
{
    const int number = static_cast<int>(version);
    return family == AddressFamily::ipv4 ? number : number - 1;
}

// The source of our queries on a link: its lowest address (the best
// claim in the election), IPv4 for IGMP, and for MLD the lowest usable
// link-local IPv6 one (RFC 3810 5.1.14; the lists are sorted and hold no
// tentative addresses, which could not be bound yet).
std::optional<IpAddress> own_address_on(AddressFamily family, const std::vector<IpAddress>& ipv4,
                                        const std::vector<IpAddress>& ipv6)
{
    if (family == AddressFamily::ipv4)
        return ipv4.empty() ? std::nullopt : std::optional<IpAddress>(ipv4.front());
    for (const IpAddress& address : ipv6)
        if (address.is_link_local_unicast())
            return address;
    return std::nullopt;
}

Result<MembershipSockets> open_sockets(AddressFamily family, const std::string& ifname, int ifindex,
                                       const IpAddress& own_address)
{
    return family == AddressFamily::ipv4 ? open_igmp_sockets(ifname, ifindex, own_address)
                                         : open_mld_sockets(ifname, ifindex, own_address);
}

} // namespace

struct ListenerTracker::Port {
    Port(ListenerTracker& owner_, std::string ifname_, AddressFamily family_, const m::MembershipConfig& config)
        : owner(owner_), ifname(std::move(ifname_)), family(family_), protocol(protocol_name(family_)),
          engine(family_, config)
    {
    }
    ListenerTracker& owner;
    std::string ifname;
    AddressFamily family;
    std::string protocol; // "IGMP" or "MLD", for the journal
    int ifindex = 0;
    IpAddress own_address;
    MembershipSockets sockets;
    m::InterfaceMembership engine;
    std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(kDatagramBytes);
    std::uint64_t send_errors = 0;
    // Declared last: disabled before the sockets and engine they use go.
    EventSourcePtr io;
    EventSourcePtr timer;
};

ListenerTracker::ListenerTracker(sd_event* event, const m::MembershipConfig& config, ListenerObserver& observer)
    : event_(event), config_(config), observer_(observer)
{
}

ListenerTracker::~ListenerTracker() = default;

void ListenerTracker::apply(const RuleSet& rules)
{
    rules_ = rules;
    const std::set<PortKey> wanted = required_ports(rules_);
    for (auto it = ports_.begin(); it != ports_.end();) {
        const PortKey key = it->first;
        ++it;
        if (!wanted.contains(key))
            close_port(key);
    }
    std::erase_if(failing_, [&wanted](const PortKey& key) { return !wanted.contains(key); });
    for (const PortKey& key : wanted)
        if (!ports_.contains(key))
            open_port(key);
    observer_.listeners_changed();
}

void ListenerTracker::open_port(const PortKey& key)
{
    const auto& [ifname, family] = key;
    const char* protocol = protocol_name(family);
    // Retries of a port that failed the same way stay out of the journal.
    const bool first_failure = failing_.insert(key).second;
    auto log_failure = [first_failure](LogLevel level, const std::string& message, const std::string& interface) {
        if (first_failure)
            log_event(level, {}, message, {{"MCR_INTERFACE", interface}});
    };
    const std::optional<LinkInfo> link = query_link(ifname);
    if (!link)
        return; // link_changed() opens it when the interface appears
    // A query needs a source; without one we could only listen, and a
    // router that never queries loses every member after GMI.
    // (An IPv6 link-local address in duplicate detection is not usable yet:
    // the link monitor reports it when it is, and link_changed() opens us.)
    const std::optional<IpAddress> own = own_address_on(family, link->ipv4_addresses, link->ipv6_addresses);
    if (!own) {
        log_failure(LogLevel::warning,
                    "Interface " + ifname + " has no " +
                        (family == AddressFamily::ipv4 ? "IPv4 address" : "usable IPv6 link-local address") +
                        ": no " + protocol + " querier there yet, its outputs that require listeners stay held",
                    ifname);
        return;
    }
    auto port = std::make_unique<Port>(*this, ifname, family, config_);
    port->ifindex = link->ifindex;
    port->own_address = *own;
    Result<MembershipSockets> sockets = open_sockets(family, ifname, port->ifindex, port->own_address);
    if (!sockets) {
        log_failure(LogLevel::err, std::string("Failed to start the ") + protocol + " querier: " +
                                       sockets.error().message() + "; trying again at the link's next change",
                    ifname);
        return;
    }
    port->sockets = std::move(*sockets);
    sd_event_source* source = nullptr;
    if (int r = sd_event_add_io(event_, &source, port->sockets.receive.get(), EPOLLIN, on_readable, port.get());
        r < 0) {
        log_error(std::string("Failed to watch the ") + protocol + " socket: " + std::strerror(-r),
                  {{"MCR_INTERFACE", ifname}});
        return;
    }
    port->io.reset(source);
    if (int r = sd_event_add_time(event_, &source, CLOCK_MONOTONIC, 0, 0, on_timer, port.get()); r < 0) {
        log_error(std::string("Failed to add the ") + protocol + " timer: " + std::strerror(-r),
                  {{"MCR_INTERFACE", ifname}});
        return;
    }
    port->timer.reset(source);
    const m::TimePoint now = m::Clock::now();
    port->engine.set_own_address(port->own_address, now);
    port->engine.start(now);
    Port& started = *port;
    ports_.emplace(key, std::move(port));
    failing_.erase(key);
    log_info(std::string(protocol) + " querier started on " + ifname + " as " + started.own_address.to_string(),
             {{"MCR_INTERFACE", ifname}});
    flush(started);
}

void ListenerTracker::rebind_port(const PortKey& key, const IpAddress& address)
{
    Port& port = *ports_.at(key);
    Result<MembershipSockets> sockets = open_sockets(port.family, port.ifname, port.ifindex, address);
    sd_event_source* source = nullptr;
    int r = sockets ? sd_event_add_io(event_, &source, sockets->receive.get(), EPOLLIN, on_readable, &port) : 0;
    if (!sockets || r < 0) {
        log_error("Failed to move the " + port.protocol + " querier on " + port.ifname + " to " +
                      address.to_string() + ": " +
                      (sockets ? std::string(std::strerror(-r)) : sockets.error().message()) + ", restarting it",
                  {{"MCR_INTERFACE", port.ifname}});
        close_port(key);
        open_port(key);
        return;
    }
    // The old receive source goes before its socket does.
    port.io.reset(source);
    port.sockets = std::move(*sockets);
    const IpAddress previous = port.own_address;
    port.own_address = address;
    port.engine.set_own_address(address, m::Clock::now());
    log_info(port.protocol + " querier on " + port.ifname + " now sends from " + address.to_string() + " (was " +
                 previous.to_string() + ")",
             {{"MCR_INTERFACE", port.ifname}, {"MCR_QUERIER", address.to_string()}, {"MCR_PROTOCOL", port.protocol}});
    flush(port);
}

void ListenerTracker::close_port(const PortKey& key)
{
    if (ports_.erase(key) > 0)
        log_info(std::string(protocol_name(key.second)) + " querier stopped on " + key.first,
                 {{"MCR_INTERFACE", key.first}});
}

void ListenerTracker::link_changed(const LinkEvent& event)
{
    bool any = false;
    for (const AddressFamily family : {AddressFamily::ipv4, AddressFamily::ipv6}) {
        const PortKey key{event.ifname, family};
        if (!required_ports(rules_).contains(key))
            continue;
        any = true;
        auto it = ports_.find(key);
        switch (event.kind) {
        case LinkEventKind::removed:
            close_port(key);
            break;
        case LinkEventKind::added:
        case LinkEventKind::address_changed: {
            // Sockets are bound to the ifindex and to our address: a new
            // ifindex, or no address left, starts over; a new lowest
            // address moves the sockets and keeps the members.
            const std::optional<IpAddress> own =
                own_address_on(family, event.ipv4_addresses, event.ipv6_addresses);
            if (it != ports_.end() && (it->second->ifindex != event.ifindex || !own))
                close_port(key);
            else if (it != ports_.end() && *own != it->second->own_address)
                rebind_port(key, *own);
            if (!ports_.contains(key))
                open_port(key);
            break;
        }
        case LinkEventKind::up:
        case LinkEventKind::down:
        case LinkEventKind::mtu_changed:
            break; // the sockets survive; members time out by themselves while down
        }
    }
    if (any && event.kind != LinkEventKind::up && event.kind != LinkEventKind::down &&
        event.kind != LinkEventKind::mtu_changed)
        observer_.listeners_changed();
}

int ListenerTracker::on_readable(sd_event_source*, int, std::uint32_t, void* userdata) noexcept
{
    auto* port = static_cast<Port*>(userdata);
    return guard_callback("Reading membership reports", [port] {
        const m::TimePoint now = m::Clock::now();
        for (int i = 0; i < kDatagramsPerWakeup; ++i) {
            const int length = receive_membership_datagram(port->sockets.receive.get(), port->buffer);
            if (length == -EAGAIN || length == -EINTR)
                break;
            if (length <= 0)
                continue;
            const std::span<const std::uint8_t> datagram(port->buffer.data(), static_cast<std::size_t>(length));
            const bool igmp = port->family == AddressFamily::ipv4;
            auto packet = igmp ? m::unwrap_ipv4(datagram) : m::unwrap_ipv6(datagram);
            if (!packet) {
                port->engine.note_rejected(packet.error());
                continue;
            }
            auto message = igmp ? m::parse_igmp(*packet) : m::parse_mld(*packet);
            if (!message) {
                port->engine.note_rejected(message.error());
                continue;
            }
            port->engine.receive(*message, packet->source, now);
        }
        port->owner.flush(*port);
        return 0;
    });
}

int ListenerTracker::on_timer(sd_event_source*, std::uint64_t, void* userdata) noexcept
{
    auto* port = static_cast<Port*>(userdata);
    return guard_callback("Running membership timers", [port] {
        port->engine.advance(m::Clock::now());
        port->owner.flush(*port);
        return 0;
    });
}

void ListenerTracker::flush(Port& port)
{
    for (const m::OutgoingQuery& query : port.engine.take_queries()) {
        const std::vector<std::uint8_t> message = m::build_query(query, port.own_address);
        const int r = port.family == AddressFamily::ipv4
                          ? send_igmp(port.sockets.send.get(), message, query.destination)
                          : send_mld(port.sockets.send.get(), message, query.destination, port.ifindex);
        if (r < 0 && port.send_errors++ == 0)
            log_warning("Failed to send an " + port.protocol + " query: " + std::strerror(-r) + ", ignoring",
                        {{"MCR_INTERFACE", port.ifname}});
    }
    bool changed = false;
    log_events(port, port.engine.take_events(), changed);
    arm_timer(port);
    if (changed)
        observer_.listeners_changed();
}

void ListenerTracker::arm_timer(Port& port)
{
    const std::optional<m::TimePoint> next = port.engine.next_deadline();
    if (!next) {
        (void)sd_event_source_set_enabled(port.timer.get(), SD_EVENT_OFF);
        return;
    }
    (void)sd_event_source_set_time(port.timer.get(), monotonic_usec(*next));
    (void)sd_event_source_set_enabled(port.timer.get(), SD_EVENT_ONESHOT);
}

bool ListenerTracker::sent_to(const std::string& ifname, const IpAddress& group) const
{
    for (const Rule& rule : rules_.rules)
        for (const RuleOutput& output : rule.outputs)
            if (output.interface == ifname && output.address == group && output.listeners == ListenerPolicy::required)
                return true;
    return false;
}

void ListenerTracker::log_events(Port& port, const std::vector<m::MembershipEvent>& events, bool& changed)
{
    using Kind = m::MembershipEvent::Kind;
    for (const m::MembershipEvent& event : events) {
        const std::string address = event.address.to_string();
        switch (event.kind) {
        case Kind::listeners_gained:
        case Kind::listeners_lost: {
            changed = true;
            const bool present = event.kind == Kind::listeners_gained;
            // Only groups some output sends to: a segment's other groups
            // (or a flood of made-up ones) are no operator's event.
            if (!sent_to(port.ifname, event.address))
                break;
            log_event(LogLevel::info, present ? message_id::kGroupJoined : message_id::kGroupLeft,
                      "Group " + address + " on " + port.ifname +
                          (present ? " has its first listener" : " lost its last listener"),
                      {{"MCR_INTERFACE", port.ifname}, {"MCR_GROUP", address}, {"MCR_PROTOCOL", port.protocol}});
            observer_.group_listeners_changed(port.ifname, event.address, present);
            break;
        }
        case Kind::sources_changed:
            changed = true;
            break;
        case Kind::became_querier:
            log_event(LogLevel::info, message_id::kQuerierElected,
                       port.protocol + " querier on " + port.ifname + " is this relay (" + address + ")",
                      {{"MCR_INTERFACE", port.ifname}, {"MCR_QUERIER", address}, {"MCR_PROTOCOL", port.protocol}});
            break;
        case Kind::other_querier:
            log_event(LogLevel::info, message_id::kQuerierOther,
                      port.protocol + " querier on " + port.ifname + " is " + address + "; this relay listens",
                      {{"MCR_INTERFACE", port.ifname}, {"MCR_QUERIER", address}, {"MCR_PROTOCOL", port.protocol}});
            break;
        case Kind::group_limit_reached:
            log_event(LogLevel::warning, message_id::kGroupLimit,
                      "Interface " + port.ifname + " reached its limit of " + std::to_string(config_.max_groups) +
                          " " + port.protocol + " groups; reports for further groups (first: " + address + ") are ignored",
                      {{"MCR_INTERFACE", port.ifname}, {"MCR_GROUP", address}, {"MCR_PROTOCOL", port.protocol}});
            break;
        }
    }
}

std::map<std::string, ListeningOutputs> ListenerTracker::listening() const
{
    std::map<std::string, ListeningOutputs> by_input;
    for (const Rule& rule : rules_.rules)
        for (std::size_t o = 0; o < rule.outputs.size(); ++o)
            if (rule.outputs[o].listeners == ListenerPolicy::required && output_listening(rule, o))
                by_input[rule.input.interface].emplace(rule.name, static_cast<std::uint32_t>(o));
    return by_input;
}

bool ListenerTracker::output_listening(const Rule& rule, std::size_t index) const
{
    const RuleOutput& output = rule.outputs.at(index);
    if (output.listeners == ListenerPolicy::always)
        return true;
    auto it = ports_.find(PortKey{output.interface, output.address.family()});
    if (it == ports_.end())
        return false;
    // Copies keep the sender's address: an SSM listener names it. (A
    // translated copy's source is of the other family: any listener counts.)
    const IpAddress source = rule.input.source && rule.input.source->family() == output.address.family()
                                 ? *rule.input.source
                                 : any_source(output.address.family());
    return it->second->engine.forwards(output.address, source);
}

std::vector<InterfaceMembershipView> ListenerTracker::interfaces() const
{
    std::vector<InterfaceMembershipView> views;
    const m::TimePoint now = m::Clock::now();
    for (const auto& [key, port] : ports_) {
        InterfaceMembershipView view;
        view.interface = key.first;
        view.family = key.second;
        view.querier = port->engine.is_querier();
        view.own_address = port->own_address;
        view.other_querier = port->engine.other_querier();
        view.groups = port->engine.groups(now);
        view.counters = port->engine.counters();
        views.push_back(std::move(view));
    }
    return views;
}

nlohmann::json ListenerTracker::to_json() const
{
    auto optional_address = [](const std::optional<IpAddress>& address) {
        return address ? nlohmann::json(address->to_string()) : nlohmann::json(nullptr);
    };
    nlohmann::json interfaces = nlohmann::json::array();
    for (const InterfaceMembershipView& view : this->interfaces()) {
        nlohmann::json groups = nlohmann::json::array();
        for (const m::GroupView& group : view.groups) {
            nlohmann::json sources = nlohmann::json::array();
            for (const m::SourceView& source : group.sources)
                sources.push_back({{"source", source.source.to_string()},
                                   {"timer_ms", source.remaining ? nlohmann::json(source.remaining->count())
                                                                 : nlohmann::json(nullptr)}});
            groups.push_back({{"group", group.group.to_string()},
                              {"mode", group.mode == m::FilterMode::exclude ? "exclude" : "include"},
                              {"version", wire_version(view.family, group.compatibility)},
                              {"timer_ms", group.group_remaining ? nlohmann::json(group.group_remaining->count())
                                                                 : nlohmann::json(nullptr)},
                              {"sources", std::move(sources)}});
        }
        nlohmann::json rejected = nlohmann::json::object();
        for (std::size_t e = 0; e < m::kParseErrorCount; ++e)
            rejected[std::string(m::to_string(static_cast<m::ParseError>(e)))] = view.counters.rejected[e];
        const m::MembershipCounters& c = view.counters;
        interfaces.push_back({{"interface", view.interface},
                              {"protocol", view.family == AddressFamily::ipv4 ? "igmp" : "mld"},
                              {"querier", view.querier},
                              {"address", optional_address(view.own_address)},
                              {"other_querier", optional_address(view.other_querier)},
                              {"groups", std::move(groups)},
                              {"counters",
                               {{"reports", c.reports},
                                {"records", c.records},
                                {"records_ignored", c.records_ignored},
                                {"queries_received", c.queries_received},
                                {"queries_sent", c.queries_sent},
                                {"groups_refused", c.groups_refused},
                                {"sources_refused", c.sources_refused},
                                {"rejected", std::move(rejected)}}}});
    }
    return interfaces;
}

} // namespace mcr::supervisor
