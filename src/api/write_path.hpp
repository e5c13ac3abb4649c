// The one way a write reaches the daemon: WritePath authorizes the caller,
// applies the request through RelayApi and writes its audit record, for
// every front end alike (D-Bus methods, the JSON control socket, SIGHUP).
// A front end reads its transport's arguments into a WriteRequest, passes a
// CallerGate that knows its caller, and turns the WriteResult into its reply.
#pragma once

#include "api/relay_api.hpp"
#include "core/audit.hpp"
#include "core/result.hpp"
#include "core/rule.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mcr {

// polkit actions (polkit/org.mcr.relay.policy). Which one a request needs
// follows from its kind alone, never from an argument the caller chose.
inline constexpr const char* kActionManageRules = "org.mcr.relay.manage-rules";
inline constexpr const char* kActionReload = "org.mcr.relay.reload";
inline constexpr const char* kActionSetLogLevel = "org.mcr.relay.set-log-level";

// ---- requests, as front ends read them --------------------------------------

struct AddRuleRequest {
    Result<Rule> rule;        // structurally parsed, or why the arguments are not a rule
    std::string name;         // the name as the caller gave it ("" if none): the audit's MCR_RULE
    std::string requested;    // what the caller sent, as JSON: the audit's MCR_AFTER until applied
};

struct RemoveRuleRequest {
    std::string name;
};

struct ImportRulesRequest {
    // Text (mcrd's JSON or MCR's json5) is parsed only once the caller is
    // authorized, so a refused caller learns nothing about its content; a
    // RuleSet comes parsed and validated from its front end.
    std::variant<std::string, RuleSet> rules;
    bool replace = false;      // replace the run-time rules instead of merging
};

struct ReloadRequest {};

struct SetLogLevelRequest {
    std::string level;         // as the caller named it ("debug", "error", ...); parsed here
};

struct ResetStatsRequest {};

using WriteRequest = std::variant<AddRuleRequest, RemoveRuleRequest, ImportRulesRequest, ReloadRequest,
                                  SetLogLevelRequest, ResetStatsRequest>;

// ---- results and callers ----------------------------------------------------

struct [[nodiscard]] WriteResult {
    std::optional<std::string> denied{};   // authorization refused it: why
    ApiOutcome outcome{};                  // else: applied, or refused for its content / not applied
    std::uint32_t imported = 0;            // ImportRulesRequest: rules in the imported set

    [[nodiscard]] bool ok() const { return !denied && outcome.ok(); }
};

using WriteDone = std::function<void(WriteResult)>;

struct AccessDecision {
    bool allowed = false;
    std::string reason;        // why not, shown to the caller and in the audit record
};

// The caller of one write as its front end knows it: over what it came,
// who it is, and how to ask whether it may.
class CallerGate {
public:
    using Decided = std::function<void(const AccessDecision&)>;

    CallerGate() = default;
    CallerGate(const CallerGate&) = delete;
    CallerGate& operator=(const CallerGate&) = delete;
    virtual ~CallerGate() = default;

    [[nodiscard]] virtual audit::Via via() const = 0;
    // Who asks, for the audit record; looked up when the record is written.
    [[nodiscard]] virtual audit::Caller caller() const = 0;
    // Asks whether the caller may run polkit action `action`: calls
    // `decided` exactly once, now or later, or never when the front end
    // will submit the same request again once the answer is known (a D-Bus
    // call that polkit re-dispatches).
    virtual void authorize(const char* action, Decided decided) = 0;

protected:
    CallerGate(CallerGate&&) = default;
    CallerGate& operator=(CallerGate&&) = default;
};

// Where audit records go: audit::emit (the journal) in the daemon.
using AuditSink = std::function<void(const audit::Record&)>;

class WritePath {
public:
    explicit WritePath(RelayApi& api, AuditSink audit_sink = audit::emit)
        : api_(api), audit_sink_(std::move(audit_sink)) {}

    // Takes what the record shows from before the change, authorizes the
    // caller, applies, and writes one audit record, then calls `done` with
    // the result: refusals of the request's content and changes that change
    // nothing are answered before authorization. `done` is called exactly
    // once, now or after polkit answers, unless the gate drops the decision
    // (see CallerGate::authorize): then nothing was applied or audited.
    void submit(WriteRequest request, std::shared_ptr<CallerGate> gate, WriteDone done);

private:
    RelayApi& api_;
    AuditSink audit_sink_;
};

} // namespace mcr
