// Structured logging: to the journal (with MESSAGE_ID= and MCR_* fields)
// when stderr is connected to it, to stderr as one line otherwise.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace mcr {

enum class LogLevel { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

[[nodiscard]] std::string_view log_level_name(LogLevel level);
// "err"|"error", "warning", "notice", "info", "debug"; false when unknown.
[[nodiscard]] bool parse_log_level(std::string_view name, LogLevel& out);

void set_log_level(LogLevel level);
[[nodiscard]] LogLevel log_level();

// Whether stderr is the journal's stream ($JOURNAL_STREAM names stderr's
// device:inode, as systemd documents); then log_event sends to the journal.
[[nodiscard]] bool stderr_is_journal();

// A journal field, e.g. {"MCR_RULE", "video1"}.
using LogField = std::pair<std::string_view, std::string_view>;

// One event, one line. `message_id` is a 32-hex-digit id from
// message_ids.hpp or empty. Messages below the current level are dropped.
void log_event(LogLevel level, std::string_view message_id, std::string_view message,
               std::initializer_list<LogField> fields = {});

// The same, whatever the log level: for records that must never be
// dropped (audit entries, src/core/audit.hpp).
void log_event_unfiltered(LogLevel level, std::string_view message_id, std::string_view message,
                          std::span<const LogField> fields);

// An audit record (src/core/audit.hpp), never dropped: to the journal
// whenever one is reachable, even when stderr is not its stream (a container
// with the host's /run/systemd/journal mounted), else one line on stderr
// that carries every field as KEY=value, MESSAGE_ID= included.
void log_record(LogLevel level, std::string_view message_id, std::string_view message,
                std::span<const LogField> fields);

inline void log_error(std::string_view message, std::initializer_list<LogField> fields = {})
{
    log_event(LogLevel::err, {}, message, fields);
}
inline void log_warning(std::string_view message, std::initializer_list<LogField> fields = {})
{
    log_event(LogLevel::warning, {}, message, fields);
}
inline void log_info(std::string_view message, std::initializer_list<LogField> fields = {})
{
    log_event(LogLevel::info, {}, message, fields);
}
inline void log_debug(std::string_view message, std::initializer_list<LogField> fields = {})
{
    log_event(LogLevel::debug, {}, message, fields);
}

} // namespace mcr
