// Structured logging: native journal entries when stderr is the journal's
// stream (so MESSAGE_ID= and MCR_* fields are searchable), else one line per
// event on stderr for terminals, tests and non-systemd supervisors.
#include "log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cerrno>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

namespace mcr {

namespace {

// The one piece of process-wide state: the level is a property of the
// process (SetLogLevel changes it for every component at once), and threading
// it through every call site would mean passing a logger to every function.
// Atomic so that a worker's helper thread may log while the level changes.
std::atomic<LogLevel> current_level{LogLevel::info};

// Where sd_journal_send*() sends (systemd's fixed path).
constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

std::string field_assignment(std::string_view name, std::string_view value)
{
    std::string text;
    text.reserve(name.size() + 1 + value.size());
    text += name;
    text += '=';
    text += value;
    return text;
}

// Returns false when the journal refused the entry (then stderr is used).
bool send_to_journal(LogLevel level, std::string_view message_id, std::string_view message,
                     std::span<const LogField> fields)
{
    std::vector<std::string> assignments;
    assignments.reserve(4 + fields.size());
    assignments.push_back(field_assignment("MESSAGE", message));
    assignments.push_back(field_assignment("PRIORITY", std::to_string(static_cast<int>(level))));
    assignments.push_back(field_assignment("SYSLOG_IDENTIFIER", program_invocation_short_name));
    if (!message_id.empty())
        assignments.push_back(field_assignment("MESSAGE_ID", message_id));
    for (const auto& [name, value] : fields)
        assignments.push_back(field_assignment(name, value));

    std::vector<iovec> iov;
    iov.reserve(assignments.size());
    for (std::string& a : assignments)
        iov.push_back(iovec{a.data(), a.size()});
    return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

// One line, control characters escaped, so a message can never forge a
// second log line.
void append_escaped(std::string& line, std::string_view text)
{
    for (const char c : text) {
        if (c == '\n')
            line += "\\n";
        else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            line += '?';
        else
            line += c;
    }
}

void write_to_stderr(LogLevel level, std::string_view message, std::span<const LogField> fields)
{
    std::string line = std::string(program_invocation_short_name) + "[" +
                       std::to_string(::getpid()) + "]: " + std::string(log_level_name(level)) + ": ";
    append_escaped(line, message);
    if (!fields.empty()) {
        line += " (";
        bool first = true;
        for (const auto& [name, value] : fields) {
            if (!first)
                line += ' ';
            first = false;
            line += name;
            line += '=';
            append_escaped(line, value);
        }
        line += ')';
    }
    line += '\n';
    // One write() per line so that lines from several processes sharing
    // stderr do not interleave; a failed log write has nowhere to be reported.
    std::string_view rest = line;
    while (!rest.empty()) {
        const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace

std::string_view log_level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::err: return "err";
    case LogLevel::warning: return "warning";
    case LogLevel::notice: return "notice";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
    }
    return "unknown";
}

bool parse_log_level(std::string_view name, LogLevel& out)
{
    static constexpr std::pair<std::string_view, LogLevel> kNames[] = {
        {"err", LogLevel::err},       {"error", LogLevel::err},   {"warning", LogLevel::warning},
        {"notice", LogLevel::notice}, {"info", LogLevel::info},   {"debug", LogLevel::debug},
    };
    for (const auto& [text, level] : kNames) {
        if (name == text) {
            out = level;
            return true;
        }
    }
    return false;
}

void set_log_level(LogLevel level)
{
    current_level.store(level, std::memory_order_relaxed);
}

LogLevel log_level()
{
    return current_level.load(std::memory_order_relaxed);
}

bool stderr_is_journal()
{
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr)
        return false;
    // "DEVICE:INODE", both decimal, nothing else.
    const std::string_view text = stream;
    const auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return false;
    unsigned long long device = 0;
    unsigned long long inode = 0;
    const auto parse = [](std::string_view digits, unsigned long long& out) {
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
        return error == std::errc{} && end == digits.data() + digits.size() && !digits.empty();
    };
    if (!parse(text.substr(0, colon), device) || !parse(text.substr(colon + 1), inode))
        return false;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) < 0)
        return false;
    return st.st_dev == device && st.st_ino == inode;
}

void log_event(LogLevel level, std::string_view message_id, std::string_view message,
               std::initializer_list<LogField> fields)
{
    if (static_cast<int>(level) > static_cast<int>(log_level()))
        return;
    log_event_unfiltered(level, message_id, message, std::span<const LogField>(fields.begin(), fields.size()));
}

void log_event_unfiltered(LogLevel level, std::string_view message_id, std::string_view message,
                          std::span<const LogField> fields)
{
    if (stderr_is_journal() && send_to_journal(level, message_id, message, fields))
        return;
    write_to_stderr(level, message, fields);
}

void log_record(LogLevel level, std::string_view message_id, std::string_view message,
                std::span<const LogField> fields)
{
    // sd_journal_sendv() reports success when the journal's socket does not
    // exist ("fail silently if the journal is not available"), so look first.
    struct stat socket_stat {};
    if (::stat(kJournalSocket, &socket_stat) == 0 && S_ISSOCK(socket_stat.st_mode) &&
        send_to_journal(level, message_id, message, fields))
        return;
    std::vector<LogField> with_id;
    with_id.reserve(fields.size() + 1);
    if (!message_id.empty())
        with_id.emplace_back("MESSAGE_ID", message_id);
    with_id.insert(with_id.end(), fields.begin(), fields.end());
    write_to_stderr(level, message, with_id);
}

} // namespace mcr
