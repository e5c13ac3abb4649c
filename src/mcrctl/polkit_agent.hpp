// A polkit text agent for mcrctl's own process, as systemctl runs one: when
// a write may need a password and someone can type it, pkttyagent is
// started for this pid and stopped when mcrctl is done.
#pragma once

#include <sys/types.h>

namespace mcr::ctl {

class PolkitAgent {
public:
    PolkitAgent() = default;
    PolkitAgent(const PolkitAgent&) = delete;
    PolkitAgent& operator=(const PolkitAgent&) = delete;
    ~PolkitAgent();

    // Starts pkttyagent unless already running, we are root (polkit never
    // asks root), or stdin/stdout are not terminals. Waits until the agent
    // has registered (it closes its notify fd) so the call that follows can
    // use it. A missing pkttyagent is not an error: the call then fails with
    // "interactive authorization required" as it would without an agent.
    void start_if_useful();

private:
    pid_t pid_ = -1;
};

} // namespace mcr::ctl
