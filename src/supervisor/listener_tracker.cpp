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

std::set<std::string> required_interfaces(const RuleSet& rules)
{
    std::set<std::string> interfaces;
    for (const Rule& rule : rules.rules)
        for (const RuleOutput& output : rule.outputs)
            if (output.listeners == ListenerPolicy::required && output.address.is_ipv4())
                interfaces.insert(output.interface);
    return interfaces;
}

} // namespace

struct ListenerTracker::Port {
    Port(ListenerTracker& owner_, std::string ifname_, const m::MembershipConfig& config)
        : owner(owner_), ifname(std::move(ifname_)), engine(AddressFamily::ipv4, config)
    {
    }
    ListenerTracker& owner;
    std::string ifname;
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
    const std::set<std::string> wanted = required_interfaces(rules_);
    for (auto it = ports_.begin(); it != ports_.end();) {
        const std::string ifname = it->first;
        ++it;
        if (!wanted.contains(ifname))
            close_port(ifname);
    }
    for (const std::string& ifname : wanted)
        if (!ports_.contains(ifname))
            open_port(ifname);
    observer_.listeners_changed();
}

void ListenerTracker::open_port(const std::string& ifname)
{
    const std::optional<LinkInfo> link = query_link(ifname);
    if (!link)
        return; // link_changed() opens it when the interface appears
    if (link->ipv4_addresses.empty()) {
        // A query needs a source; without one we could only listen, and a
        // router that never queries loses every member after GMI.
        log_warning("Interface " + ifname + " has no IPv4 address: no IGMP querier there yet, its outputs "
                    "that require listeners stay held", {{"MCR_INTERFACE", ifname}});
        return;
    }
    auto port = std::make_unique<Port>(*this, ifname, config_);
    port->ifindex = link->ifindex;
    port->own_address = link->ipv4_addresses.front(); // the lowest: the best claim in the election
    Result<MembershipSockets> sockets = open_igmp_sockets(ifname, port->ifindex, port->own_address);
    if (!sockets) {
        log_error("Failed to start the IGMP querier: " + sockets.error().message(), {{"MCR_INTERFACE", ifname}});
        return;
    }
    port->sockets = std::move(*sockets);
    sd_event_source* source = nullptr;
    if (int r = sd_event_add_io(event_, &source, port->sockets.receive.get(), EPOLLIN, on_readable, port.get());
        r < 0) {
        log_error(std::string("Failed to watch the IGMP socket: ") + std::strerror(-r), {{"MCR_INTERFACE", ifname}});
        return;
    }
    port->io.reset(source);
    if (int r = sd_event_add_time(event_, &source, CLOCK_MONOTONIC, 0, 0, on_timer, port.get()); r < 0) {
        log_error(std::string("Failed to add the IGMP timer: ") + std::strerror(-r), {{"MCR_INTERFACE", ifname}});
        return;
    }
    port->timer.reset(source);
    const m::TimePoint now = m::Clock::now();
    port->engine.set_own_address(port->own_address, now);
    port->engine.start(now);
    Port& started = *port;
    ports_.emplace(ifname, std::move(port));
    log_info("IGMP querier started on " + ifname + " as " + started.own_address.to_string(),
             {{"MCR_INTERFACE", ifname}});
    flush(started);
}

void ListenerTracker::close_port(const std::string& ifname)
{
    if (ports_.erase(ifname) > 0)
        log_info("IGMP querier stopped on " + ifname, {{"MCR_INTERFACE", ifname}});
}

void ListenerTracker::link_changed(const LinkEvent& event)
{
    const bool wanted = required_interfaces(rules_).contains(event.ifname);
    if (!wanted)
        return;
    auto it = ports_.find(event.ifname);
    switch (event.kind) {
    case LinkEventKind::removed:
        close_port(event.ifname);
        observer_.listeners_changed();
        return;
    case LinkEventKind::added:
    case LinkEventKind::address_changed:
        // A new ifindex or a new lowest address: sockets are bound to both.
        if (it != ports_.end() &&
            (it->second->ifindex != event.ifindex || event.ipv4_addresses.empty() ||
             event.ipv4_addresses.front() != it->second->own_address))
            close_port(event.ifname);
        if (!ports_.contains(event.ifname))
            open_port(event.ifname);
        observer_.listeners_changed();
        return;
    case LinkEventKind::up:
    case LinkEventKind::down:
    case LinkEventKind::mtu_changed:
        return; // the sockets survive; members time out by themselves while down
    }
}

int ListenerTracker::on_readable(sd_event_source*, int, std::uint32_t, void* userdata) noexcept
{
    auto* port = static_cast<Port*>(userdata);
    return guard_callback("Reading IGMP", [port] {
        const m::TimePoint now = m::Clock::now();
        for (int i = 0; i < kDatagramsPerWakeup; ++i) {
            const int length = receive_membership_datagram(port->sockets.receive.get(), port->buffer);
            if (length == -EAGAIN || length == -EINTR)
                break;
            if (length <= 0)
                continue;
            const std::span<const std::uint8_t> datagram(port->buffer.data(), static_cast<std::size_t>(length));
            auto packet = m::unwrap_ipv4(datagram);
            if (!packet) {
                port->engine.note_rejected(packet.error());
                continue;
            }
            auto message = m::parse_igmp(*packet);
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
    return guard_callback("Running IGMP timers", [port] {
        port->engine.advance(m::Clock::now());
        port->owner.flush(*port);
        return 0;
    });
}

void ListenerTracker::flush(Port& port)
{
    for (const m::OutgoingQuery& query : port.engine.take_queries()) {
        const std::vector<std::uint8_t> message = m::build_query(query, port.own_address);
        if (int r = send_igmp(port.sockets.send.get(), message, query.destination); r < 0 && port.send_errors++ == 0)
            log_warning(std::string("Failed to send an IGMP query: ") + std::strerror(-r) + ", ignoring",
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
                      {{"MCR_INTERFACE", port.ifname}, {"MCR_GROUP", address}});
            observer_.group_listeners_changed(port.ifname, event.address, present);
            break;
        }
        case Kind::sources_changed:
            changed = true;
            break;
        case Kind::became_querier:
            log_event(LogLevel::info, message_id::kQuerierElected,
                      "IGMP querier on " + port.ifname + " is this relay (" + address + ")",
                      {{"MCR_INTERFACE", port.ifname}, {"MCR_QUERIER", address}});
            break;
        case Kind::other_querier:
            log_event(LogLevel::info, message_id::kQuerierOther,
                      "IGMP querier on " + port.ifname + " is " + address + "; this relay listens",
                      {{"MCR_INTERFACE", port.ifname}, {"MCR_QUERIER", address}});
            break;
        case Kind::group_limit_reached:
            log_event(LogLevel::warning, message_id::kGroupLimit,
                      "Interface " + port.ifname + " reached its limit of " + std::to_string(config_.max_groups) +
                          " IGMP groups; reports for further groups (first: " + address + ") are ignored",
                      {{"MCR_INTERFACE", port.ifname}, {"MCR_GROUP", address}});
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
    auto it = ports_.find(output.interface);
    if (it == ports_.end() || !output.address.is_ipv4())
        return false;
    // Copies keep the sender's address: an SSM listener names it.
    const IpAddress source = rule.input.source.value_or(IpAddress::from_ipv4(0));
    return it->second->engine.forwards(output.address, source);
}

std::vector<InterfaceMembershipView> ListenerTracker::interfaces() const
{
    std::vector<InterfaceMembershipView> views;
    const m::TimePoint now = m::Clock::now();
    for (const auto& [ifname, port] : ports_) {
        InterfaceMembershipView view;
        view.interface = ifname;
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
                              {"version", static_cast<int>(group.compatibility)},
                              {"timer_ms", group.group_remaining ? nlohmann::json(group.group_remaining->count())
                                                                 : nlohmann::json(nullptr)},
                              {"sources", std::move(sources)}});
        }
        nlohmann::json rejected = nlohmann::json::object();
        for (std::size_t e = 0; e < m::kParseErrorCount; ++e)
            rejected[std::string(m::to_string(static_cast<m::ParseError>(e)))] = view.counters.rejected[e];
        const m::MembershipCounters& c = view.counters;
        interfaces.push_back({{"interface", view.interface},
                              {"protocol", "igmp"},
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
