// Maps what the RelayApi said about a write onto its audit record; shared by
// every front end (D-Bus, JSON socket, SIGHUP) so they classify alike.
#pragma once

#include "api/relay_api.hpp"
#include "core/audit.hpp"

namespace mcr::audit {

// Persist failures are "failed" (the daemon's problem); every other refusal
// is about the request ("invalid"). Success leaves the record as it is.
inline void set_outcome(Record& record, const ApiOutcome& outcome)
{
    if (outcome.ok())
        return;
    record.outcome = outcome.failure->kind == ApiError::persist_failed ? Outcome::failed : Outcome::invalid;
    record.detail = outcome.failure->message;
}

} // namespace mcr::audit
