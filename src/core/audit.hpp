// Audit records: one journal entry per write attempt on any interface
// (D-Bus, JSON socket, SIGHUP), allowed or refused, with who asked and what changed.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcr::audit {

enum class Action { add_rule, remove_rule, import_rules, reload, set_log_level, reset_stats };
// invalid: the request was refused for its content (bad rule, unknown
// name, conflict); failed: it was valid but the daemon could not apply it.
enum class Outcome { allowed, denied, invalid, failed };
enum class Via { dbus, socket, signal };

struct Caller {
    std::optional<uid_t> uid;
    std::optional<pid_t> pid;
    std::string unit;      // systemd unit of the caller's process, if any
    std::string session;   // login session, if any

    friend bool operator==(const Caller&, const Caller&) = default;
};

struct Record {
    Action action = Action::add_rule;
    Via via = Via::dbus;
    Outcome outcome = Outcome::allowed;
    Caller caller;
    std::string rule;     // rule name; empty when the action has none or it is unknown
    std::string before;   // JSON of the state before (empty: not applicable)
    std::string after;    // JSON of the state after, or of what was requested when refused
    std::string detail;   // why it was refused, or a summary
};

using Field = std::pair<std::string, std::string>;

[[nodiscard]] std::string_view action_name(Action action);
[[nodiscard]] std::string_view outcome_name(Outcome outcome);
[[nodiscard]] std::string_view via_name(Via via);

// MESSAGE_ID of a record: authorization-denied for every refusal by
// polkit, write-rejected for invalid/failed, else the action's own id.
[[nodiscard]] std::string_view message_id_of(const Record& record);
// The human MESSAGE=, e.g. "Rule video1 added by uid 0 (pid 42, via dbus)".
[[nodiscard]] std::string message_of(const Record& record);
// Every journal field except MESSAGE/PRIORITY, in a fixed order.
[[nodiscard]] std::vector<Field> fields_of(const Record& record);

// "2 rules added, 1 removed": rule names in `after` and not in `before`,
// and the reverse, for two rule-set JSON documents ({"rules": [...]}).
[[nodiscard]] std::string rule_set_change(std::string_view before, std::string_view after);

// Sends the record to the journal whenever one is reachable (to stderr as
// one line of KEY=value fields, MESSAGE_ID= first, when none is). Never filtered by the log level. Blocks while
// journald's socket queue is full: a write waits for its audit entry
// rather than going unrecorded.
void emit(const Record& record);

} // namespace mcr::audit
