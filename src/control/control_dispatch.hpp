// Routes one parsed control command: answers what needs no daemon state
// (Ping, GetVersion, CheckConfig), refuses reads the peer may not make, and
// hands the rest to the ControlHandler, formatting its answer MCR's way.
#pragma once

#include "control_command.hpp"
#include "control_handler.hpp"

#include <functional>
#include <string>

namespace mcr::control {

// Receives the one response document for a request.
using Respond = std::function<void(std::string response)>;

// `respond` is called exactly once, now or when the handler completes.
// Exceptions from the handler propagate to the caller (the server answers
// "internal error" for them).
void dispatch_command(ControlCommand command, const PeerCredentials& peer, bool peer_may_read,
                      ControlHandler& handler, Respond respond);

} // namespace mcr::control
