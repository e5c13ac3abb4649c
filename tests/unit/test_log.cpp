// Proves logging: level names and filtering, the one-line stderr format with
// fields, journal detection from $JOURNAL_STREAM, and well-formed message ids.
#include "core/log.hpp"
#include "core/message_ids.hpp"
#include "core/unique_fd.hpp"

#include <doctest/doctest.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>

using namespace mcr;

namespace {

// Runs `body` with stderr redirected to a memfd and returns what it wrote.
template <typename Body>
std::string capture_stderr(Body body)
{
    const unique_fd memfd(::memfd_create("stderr-capture", MFD_CLOEXEC));
    REQUIRE(memfd.valid());
    const unique_fd saved(::dup(STDERR_FILENO));
    REQUIRE(saved.valid());
    REQUIRE(::dup2(memfd.get(), STDERR_FILENO) == STDERR_FILENO);
    body();
    REQUIRE(::dup2(saved.get(), STDERR_FILENO) == STDERR_FILENO);
    std::string text(4096, '\0');
    const ssize_t n = ::pread(memfd.get(), text.data(), text.size(), 0);
    REQUIRE(n >= 0);
    text.resize(static_cast<std::size_t>(n));
    return text;
}

std::string prefix(std::string_view level)
{
    return std::string(program_invocation_short_name) + "[" + std::to_string(::getpid()) + "]: " +
           std::string(level) + ": ";
}

// Restores the process log level when a test ends.
struct LevelGuard {
    LogLevel saved = log_level();
    ~LevelGuard() { set_log_level(saved); }
};

} // namespace

TEST_CASE("log level names parse and print")
{
    // Every name, the "error" alias, and refusal of unknown names.
    LogLevel level = LogLevel::info;
    CHECK(parse_log_level("debug", level));
    CHECK(level == LogLevel::debug);
    CHECK(parse_log_level("error", level));
    CHECK(level == LogLevel::err);
    CHECK(parse_log_level("warning", level));
    CHECK(level == LogLevel::warning);
    CHECK_FALSE(parse_log_level("verbose", level));
    CHECK(level == LogLevel::warning); // untouched on failure
    CHECK(log_level_name(LogLevel::notice) == "notice");
    CHECK(log_level_name(LogLevel::err) == "err");
}

TEST_CASE("stderr gets one line per event, with fields, filtered by level")
{
    // Debug is dropped at level info; fields follow in parentheses.
    LevelGuard guard;
    ::unsetenv("JOURNAL_STREAM");
    set_log_level(LogLevel::info);
    const std::string text = capture_stderr([] {
        log_debug("hidden");
        log_info("Rule added", {{"MCR_RULE", "video1"}, {"MCR_INTERFACE", "eth0"}});
        log_event(LogLevel::err, message_id::kWorkerFailed, "Worker failed");
    });
    CHECK(text == prefix("info") + "Rule added (MCR_RULE=video1 MCR_INTERFACE=eth0)\n" +
                      prefix("err") + "Worker failed\n");
    set_log_level(LogLevel::debug);
    CHECK(log_level() == LogLevel::debug);
    CHECK(capture_stderr([] { log_debug("shown"); }) == prefix("debug") + "shown\n");
}

TEST_CASE("a message cannot forge a second log line")
{
    // Newlines are escaped, other control bytes replaced.
    LevelGuard guard;
    ::unsetenv("JOURNAL_STREAM");
    set_log_level(LogLevel::info);
    const std::string text =
        capture_stderr([] { log_warning("two\nlines\x07", {{"MCR_RULE", "a\nb"}}); });
    CHECK(text == prefix("warning") + "two\\nlines? (MCR_RULE=a\\nb)\n");
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names its dev:inode")
{
    // Matching pair -> true; other inode, garbage or unset -> false.
    struct stat st {};
    REQUIRE(::fstat(STDERR_FILENO, &st) == 0);
    const std::string match = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    ::setenv("JOURNAL_STREAM", match.c_str(), 1);
    CHECK(stderr_is_journal());
    const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
    ::setenv("JOURNAL_STREAM", other.c_str(), 1);
    CHECK_FALSE(stderr_is_journal());
    ::setenv("JOURNAL_STREAM", (match + "x").c_str(), 1);
    CHECK_FALSE(stderr_is_journal());
    ::unsetenv("JOURNAL_STREAM");
    CHECK_FALSE(stderr_is_journal());
}

TEST_CASE("message ids are distinct 128-bit ids in journal form")
{
    // 32 lowercase hex digits each, no two equal.
    const std::string_view ids[] = {
        message_id::kRuleAdded,       message_id::kRuleRemoved,         message_id::kRuleChanged,
        message_id::kConfigReloaded,  message_id::kLogLevelChanged,     message_id::kAuthorizationDenied,
        message_id::kWorkerStarted,   message_id::kWorkerRestarted,     message_id::kWorkerFailed,
        message_id::kInterfaceLost,   message_id::kInterfaceBack,       message_id::kStateFileCorrupt,
        message_id::kGroupJoined,     message_id::kGroupLeft,           message_id::kQuerierElected,
        message_id::kQuerierOther,    message_id::kGroupLimit,
    };
    std::set<std::string_view> seen;
    for (std::string_view id : ids) {
        CHECK(id.size() == 32);
        CHECK(id.find_first_not_of("0123456789abcdef") == std::string_view::npos);
        CHECK(seen.insert(id).second);
    }
}
