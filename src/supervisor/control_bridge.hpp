// The JSON control socket's view of the daemon: implements the control
// library's ControlHandler as a front end of WritePath (writes) and
// RelayApi (reads). A write's caller is the peer process from SO_PEERCRED,
// authorized through polkit with the same actions as the D-Bus API; without
// a bus (mcrd --bus none) there is no polkit, and the peer's credentials
// decide: root, mcrd's own user, or a member of group "mcr".
#pragma once

#include "api/relay_api.hpp"
#include "api/write_path.hpp"
#include "bus/polkit.hpp"
#include "control_handler.hpp"

#include <systemd/sd-bus.h>
#include <sys/types.h>

#include <optional>

namespace mcr::supervisor {

class ControlBridge final : public control::ControlHandler {
public:
    // `polkit_bus` carries the polkit queries (the system bus in production);
    // null means there is no bus: the credentials rule decides writes.
    ControlBridge(const RelayApi& api, WritePath& writes, bus::PolkitAuthorizer& polkit, sd_bus* polkit_bus);

    void add_rule(const control::PeerCredentials& peer, Rule rule, control::Completion<Ok> done) override;
    void remove_rule(const control::PeerCredentials& peer, std::string name, control::Completion<Ok> done) override;
    void import_rules(const control::PeerCredentials& peer, RuleSet rules, bool replace,
                      control::Completion<std::size_t> done) override;
    void set_log_level(const control::PeerCredentials& peer, LogLevel level, control::Completion<Ok> done) override;
    void list_rules(control::Completion<RuleSet> done) override;
    void get_stats(control::Completion<std::vector<control::RuleStats>> done) override;
    void list_workers(control::Completion<std::vector<WorkerStatus>> done) override;
    [[nodiscard]] LogLevel log_level() const override;

private:
    // Submits `request` for `peer`; `done` gets `value_of(result)` once it
    // is applied, else the refusal's message ("access denied: …" for polkit's).
    template <typename T, typename ValueOf>
    void submit(const control::PeerCredentials& peer, WriteRequest&& request, control::Completion<T> done,
                ValueOf value_of);

    const RelayApi& api_;
    WritePath& writes_;
    bus::PolkitAuthorizer& polkit_;
    sd_bus* polkit_bus_;
    uid_t daemon_uid_;                 // without a bus: writers besides root
    std::optional<gid_t> writer_gid_;  // without a bus: group "mcr", if it exists
};

} // namespace mcr::supervisor
