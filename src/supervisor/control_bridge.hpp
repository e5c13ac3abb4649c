// The JSON control socket's view of the daemon: implements the control
// library's ControlHandler on top of the same operations and the same polkit
// actions as the D-Bus API (subject = the peer process from SO_PEERCRED).
#pragma once

#include "bus/polkit.hpp"
#include "api/relay_api.hpp"
#include "control_handler.hpp"
#include "core/audit.hpp"

#include <systemd/sd-bus.h>

namespace mcr::supervisor {

class ControlBridge final : public control::ControlHandler {
public:
    // `bus` carries the polkit queries (the system bus in production).
    ControlBridge(RelayApi& api, bus::PolkitAuthorizer& polkit, sd_bus* bus)
        : api_(api), polkit_(polkit), bus_(bus) {}

    void add_rule(const control::PeerCredentials& peer, Rule rule, control::Completion<Ok> done) override;
    void remove_rule(const control::PeerCredentials& peer, std::string name, control::Completion<Ok> done) override;
    void import_rules(const control::PeerCredentials& peer, RuleSet rules, bool replace,
                      control::Completion<std::size_t> done) override;
    void set_log_level(const control::PeerCredentials& peer, LogLevel level, control::Completion<Ok> done) override;
    void list_rules(control::Completion<RuleSet> done) override;
    void get_stats(control::Completion<std::vector<control::RuleStats>> done) override;
    void list_workers(control::Completion<std::vector<control::WorkerState>> done) override;
    [[nodiscard]] LogLevel log_level() const override;

private:
    // Runs `apply(record)` once polkit allows `action` for `peer` (never
    // interactive: there is no agent on this socket); else audits the
    // refusal and completes `done` with "access denied: …".
    template <typename T, typename Apply>
    void authorized(const control::PeerCredentials& peer, const char* action, audit::Record record,
                    control::Completion<T> done, Apply apply);

    RelayApi& api_;
    bus::PolkitAuthorizer& polkit_;
    sd_bus* bus_;
};

} // namespace mcr::supervisor
