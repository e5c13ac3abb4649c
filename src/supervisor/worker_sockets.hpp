// The sockets the supervisor makes for one worker (ingress, membership with
// the input joins, pkt./udp. egress, config memfd), kept here so they can be
// handed out again (AcquireSockets, restart) and the joins follow the rules.
#pragma once

#include "core/address.hpp"
#include "core/result.hpp"
#include "core/rule.hpp"
#include "core/unique_fd.hpp"
#include "supervisor/worker_link.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mcr::supervisor {

struct WorkerSockets {
    std::map<std::string, unique_fd> by_name;   // worker_protocol fd names
    std::set<std::pair<IpAddress, std::optional<IpAddress>>> joins;   // (group, SSM source) on "membership"

    [[nodiscard]] bool empty() const { return by_name.empty(); }
    [[nodiscard]] NamedFds named(const std::vector<std::string>& names) const;
    [[nodiscard]] NamedFds all() const;
};

// The worker config JSON for the rules whose input is on `interface`;
// output interfaces in `unusable` (down or missing) are marked so.
[[nodiscard]] std::string worker_config_json(const std::string& interface, const std::vector<Rule>& rules,
                                             const worker_protocol::ListeningOutputs& listening,
                                             const std::set<std::string>& unusable = {});

// Makes the sockets `rules` need that `sockets` lacks, drops egress sockets
// no output uses any more, follows the joins, and replaces the config memfd
// when `config` changed. Outputs on `missing_interfaces` get no socket (a
// socket held for one is dropped). Returns the names made or replaced (what
// a running worker must be sent). Error names the interface and the step.
[[nodiscard]] Result<std::vector<std::string>> update_worker_sockets(const std::string& interface,
                                                                     const std::vector<Rule>& rules,
                                                                     const std::string& config,
                                                                     const std::set<std::string>& missing_interfaces,
                                                                     WorkerSockets& sockets);

} // namespace mcr::supervisor
