// Socket set per worker, built with the socket factory.
#include "worker_sockets.hpp"

#include "core/log.hpp"
#include "core/rule_json.hpp"
#include "core/worker_protocol.hpp"
#include "netlink/source_addresses.hpp"
#include "sockets/socket_factory.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace mcr::supervisor {

namespace wp = worker_protocol;

namespace {

constexpr unsigned kFallbackMtu = 1500;

// The interface's MTU in our network namespace (sysfs may show another one).
unsigned interface_mtu(const std::string& ifname)
{
    unique_fd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strncpy(request.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (!probe || ::ioctl(probe.get(), SIOCGIFMTU, &request) < 0 || request.ifr_mtu <= 0)
        return kFallbackMtu;
    return static_cast<unsigned>(request.ifr_mtu);
}

// Egress socket names the outputs of `rules` need, except on `missing`.
std::set<std::string> egress_names(const std::vector<Rule>& rules, const std::set<std::string>& missing)
{
    std::set<std::string> names;
    for (const Rule& rule : rules)
        for (const RuleOutput& output : rule.outputs)
            if (!missing.count(output.interface))
                names.insert(wp::egress_fd_name(output.interface, output.address));
    return names;
}

Result<unique_fd> open_egress(const std::string& name)
{
    if (name.starts_with(wp::kPacketEgressPrefix))
        return sockets::open_packet_egress_socket(name.substr(wp::kPacketEgressPrefix.size()));
    if (name.starts_with(wp::kUdp6EgressPrefix))
        return sockets::open_udp6_egress_socket(name.substr(wp::kUdp6EgressPrefix.size()));
    return sockets::open_udp_egress_socket(name.substr(wp::kUdpEgressPrefix.size()));
}

// The kernel caps SO_RCVBUF at net.core.rmem_max without an error; too
// small a buffer cannot hold the stream while a worker restarts, which
// loses packets at every worker crash. Say so once per socket.
void warn_if_receive_buffer_capped(const std::string& interface, int fd)
{
    int granted = 0;
    socklen_t length = sizeof(granted);
    if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length) < 0)
        return;
    // The kernel reports twice the size asked for (bookkeeping overhead).
    if (granted >= 2 * sockets::kDefaultReceiveBufferBytes)
        return;
    log_warning("Ingress receive buffer is " + std::to_string(granted) + " bytes, wanted " +
                    std::to_string(2 * sockets::kDefaultReceiveBufferBytes) +
                    ": net.core.rmem_max caps it (see sysctl.d/50-mcrd.conf); a worker restart may lose packets",
                {{"MCR_INTERFACE", interface}});
}

bool is_egress_name(const std::string& name)
{
    return name.starts_with(wp::kPacketEgressPrefix) || name.starts_with(wp::kUdpEgressPrefix) ||
           name.starts_with(wp::kUdp6EgressPrefix);
}

Status follow_joins(const std::string& interface, const std::vector<Rule>& rules, WorkerSockets& sockets)
{
    std::set<std::pair<IpAddress, std::optional<IpAddress>>> wanted;
    for (const Rule& rule : rules)
        if (rule.input.address.is_multicast())
            wanted.emplace(rule.input.address, rule.input.source);
    const int membership = sockets.by_name.at(std::string(wp::kMembershipFd)).get();
    for (const auto& [group, source] : sockets.joins)
        if (!wanted.count({group, source}))
            (void)sockets::leave_group(membership, interface, group, source);  // best effort: the join goes with the socket anyway
    for (const auto& [group, source] : wanted)
        if (!sockets.joins.count({group, source}))
            if (Status joined = sockets::join_group(membership, interface, group, source); !joined)
                return joined;
    sockets.joins = std::move(wanted);
    return Ok{};
}

} // namespace

NamedFds WorkerSockets::named(const std::vector<std::string>& names) const
{
    NamedFds out;
    for (const std::string& name : names)
        if (auto it = by_name.find(name); it != by_name.end())
            out.emplace_back(name, it->second.get());
    return out;
}

NamedFds WorkerSockets::all() const
{
    NamedFds out;
    for (const auto& [name, fd] : by_name)
        out.emplace_back(name, fd.get());
    return out;
}

std::string worker_config_json(const std::string& interface, const std::vector<Rule>& rules,
                               const worker_protocol::ListeningOutputs& listening,
                               const std::set<std::string>& unusable)
{
    nlohmann::json config = {{"interface", interface}, {"rules", nlohmann::json::array()},
                             {"ingress", {{"mtu", interface_mtu(interface)}}},
                             {"egress", nlohmann::json::object()},
                             {"receive_buffer_bytes", sockets::kDefaultReceiveBufferBytes}};
    std::map<std::string, SourceAddresses> sources; // asked once per interface
    for (const Rule& rule : rules) {
        nlohmann::json rule_json = rule_to_json(rule);
        for (std::size_t o = 0; o < rule.outputs.size(); ++o) {
            const RuleOutput& output = rule.outputs[o];
            if (!output.address.is_multicast() || output.address.family() == rule.input.address.family())
                continue; // only translated multicast copies need one (the others keep theirs or are routed)
            auto known = sources.find(output.interface);
            if (known == sources.end())
                known = sources.emplace(output.interface, query_source_addresses(output.interface)).first;
            const auto& source = output.address.is_ipv4() ? known->second.ipv4 : known->second.ipv6;
            if (source)
                rule_json["outputs"][o]["source_address"] = source->to_string();
        }
        config["rules"].push_back(std::move(rule_json));
        for (const RuleOutput& output : rule.outputs) {
            config["egress"][output.interface] = {{"mtu", interface_mtu(output.interface)}};
            // Written only when false: configs stay as they were otherwise.
            if (unusable.count(output.interface))
                config["egress"][output.interface]["usable"] = false;
        }
    }
    // Written only when some output has listeners: configs stay as they were otherwise.
    for (const auto& [rule, output] : listening)
        config["listening"].push_back({rule, output});
    return config.dump();
}

Result<std::vector<std::string>> update_worker_sockets(const std::string& interface, const std::vector<Rule>& rules,
                                                       const std::string& config,
                                                       const std::set<std::string>& missing_interfaces,
                                                       WorkerSockets& sockets)
{
    std::vector<std::string> changed;
    auto add = [&](const std::string& name, Result<unique_fd> fd) -> Status {
        if (!fd)
            return fd.error();
        sockets.by_name[name] = std::move(*fd);
        changed.push_back(name);
        return Ok{};
    };
    // An ingress pair is made together (one fanout group) and stored under
    // its two names; its ring socket's buffer size is checked once.
    auto add_pair = [&](const std::string& ring_name, std::string_view quiet_name,
                        Result<sockets::IngressSockets> made) -> Status {
        if (!made)
            return made.error();
        if (Status s = add(std::string(quiet_name), std::move(made->quiet)); !s)
            return s.error();
        if (Status s = add(ring_name, std::move(made->ring)); !s)
            return s.error();
        warn_if_receive_buffer_capped(interface, sockets.by_name.at(ring_name).get());
        return Ok{};
    };
    const std::string ingress(wp::kIngressFd);
    const std::string membership(wp::kMembershipFd);
    // A worker whose FD store holds only "ingress" (from an older supervisor)
    // keeps it and reads its ring alone: a quiet socket made now could not
    // join that socket's traffic without a group, and would only duplicate it.
    if (!sockets.by_name.count(ingress))
        if (Status s = add_pair(ingress, wp::kIngressQuietFd, sockets::open_ingress_sockets(interface)); !s)
            return s.error();
    // IPv6 arrives on a pair of its own, made once an input needs it and
    // kept (an idle one costs a filter run per IPv6 frame, which its
    // program drops). A store holding "ingress6" alone (older supervisor)
    // keeps it, like "ingress" above.
    const std::string ingress6(wp::kIngress6Fd);
    const bool wants_ipv6 = std::any_of(rules.begin(), rules.end(),
                                        [](const Rule& rule) { return !rule.input.address.is_ipv4(); });
    if (wants_ipv6 && !sockets.by_name.count(ingress6))
        if (Status s = add_pair(ingress6, wp::kIngress6QuietFd, sockets::open_ingress6_sockets(interface)); !s)
            return s.error();
    if (!sockets.by_name.count(membership)) {
        if (Status s = add(membership, sockets::open_membership_socket()); !s)
            return s.error();
        sockets.joins.clear();
    }
    const std::set<std::string> egress = egress_names(rules, missing_interfaces);
    for (auto it = sockets.by_name.begin(); it != sockets.by_name.end();)
        it = is_egress_name(it->first) && !egress.count(it->first) ? sockets.by_name.erase(it) : std::next(it);
    for (const std::string& name : egress)
        if (!sockets.by_name.count(name))
            if (Status s = add(name, open_egress(name)); !s)
                return s.error();
    if (Status s = follow_joins(interface, rules, sockets); !s)
        return s.error();
    const std::string config_name(wp::kConfigFd);
    bool config_changed = true;
    if (auto it = sockets.by_name.find(config_name); it != sockets.by_name.end()) {
        Result<std::string> current = sockets::read_config_memfd(it->second.get(), kMaxConfigBytes);
        config_changed = !current || *current != config;
    }
    if (config_changed)
        if (Status s = add(config_name, sockets::make_config_memfd(config)); !s)
            return s.error();
    return changed;
}

} // namespace mcr::supervisor
