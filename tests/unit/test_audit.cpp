// Proves audit records: MESSAGE_ID per event kind and outcome, the exact
// journal fields, the human message, rule-set change summaries, the
// log-level independence of emit(), and which unparsable socket requests
// count as write attempts.
#include "control_command.hpp"
#include "core/audit.hpp"
#include "core/audit_caller.hpp"
#include "core/log.hpp"
#include "core/message_ids.hpp"
#include "core/unique_fd.hpp"

#include <doctest/doctest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>

using namespace mcr;
using audit::Action;
using audit::Outcome;
using audit::Record;
using audit::Via;

namespace {

Record sample_add()
{
    Record record;
    record.action = Action::add_rule;
    record.via = Via::dbus;
    record.rule = "video1";
    record.caller.uid = 1000;
    record.caller.pid = 4242;
    record.caller.unit = "session-3.scope";
    record.after = R"({"name":"video1"})";
    return record;
}

std::string field(const std::vector<audit::Field>& fields, const std::string& name)
{
    for (const auto& [key, value] : fields)
        if (key == name)
            return value;
    return "<absent>";
}

} // namespace

TEST_CASE("each allowed action has its own MESSAGE_ID; refusals share two")
{
    Record record = sample_add();
    const std::pair<Action, std::string_view> expected[] = {
        {Action::add_rule, message_id::kRuleAdded},         {Action::remove_rule, message_id::kRuleRemoved},
        {Action::import_rules, message_id::kRuleChanged},   {Action::reload, message_id::kConfigReloaded},
        {Action::set_log_level, message_id::kLogLevelChanged}, {Action::reset_stats, message_id::kStatsReset},
    };
    for (const auto& [action, id] : expected) {
        record.action = action;
        record.outcome = Outcome::allowed;
        CHECK(audit::message_id_of(record) == id);
        record.outcome = Outcome::denied;
        CHECK(audit::message_id_of(record) == message_id::kAuthorizationDenied);
        record.outcome = Outcome::invalid;
        CHECK(audit::message_id_of(record) == message_id::kWriteRejected);
        record.outcome = Outcome::failed;
        CHECK(audit::message_id_of(record) == message_id::kWriteRejected);
    }
}

TEST_CASE("audit ids are distinct 32-hex-digit ids")
{
    std::set<std::string_view> seen;
    for (std::string_view id : message_id::kAuditIds) {
        CHECK(id.size() == 32);
        CHECK(id.find_first_not_of("0123456789abcdef") == std::string_view::npos);
        seen.insert(id);
    }
    CHECK(seen.size() == message_id::kAuditIds.size());
}

TEST_CASE("a denied add carries exactly the documented fields")
{
    Record record = sample_add();
    record.outcome = Outcome::denied;
    record.detail = "Not authorized";
    const std::vector<audit::Field> expected = {
        {"MESSAGE_ID", std::string(message_id::kAuthorizationDenied)},
        {"MCR_ACTION", "add-rule"},
        {"MCR_RULE", "video1"},
        {"MCR_RESULT", "denied"},
        {"MCR_VIA", "dbus"},
        {"MCR_CALLER_UID", "1000"},
        {"MCR_CALLER_PID", "4242"},
        {"MCR_CALLER_UNIT", "session-3.scope"},
        {"MCR_AFTER", R"({"name":"video1"})"},
        {"MCR_DETAIL", "Not authorized"},
    };
    CHECK(audit::fields_of(record) == expected);
    CHECK(audit::message_of(record) ==
          "Refused add-rule of rule video1 by uid 1000 (pid 4242, session-3.scope) via dbus: Not authorized");
}

TEST_CASE("unknown caller and empty parts leave their fields out")
{
    Record record;
    record.action = Action::reload;
    record.via = Via::signal;
    const auto fields = audit::fields_of(record);
    CHECK(fields.size() == 4);   // MESSAGE_ID, MCR_ACTION, MCR_RESULT, MCR_VIA
    CHECK(field(fields, "MCR_CALLER_UID") == "<absent>");
    CHECK(field(fields, "MCR_RULE") == "<absent>");
    CHECK(field(fields, "MCR_VIA") == "signal");
    CHECK(audit::message_of(record) == "Configuration reloaded: 0 rules added, 0 removed by unknown uid via signal");
}

TEST_CASE("allowed messages say what happened and who did it")
{
    Record record = sample_add();
    CHECK(audit::message_of(record) == "Rule video1 added by uid 1000 (pid 4242, session-3.scope) via dbus");
    record.action = Action::set_log_level;
    record.via = Via::socket;
    record.caller.unit.clear();
    record.detail = "debug";
    CHECK(audit::message_of(record) == "Log level set to debug by uid 1000 (pid 4242) via socket");
    record.action = Action::remove_rule;
    record.outcome = Outcome::invalid;
    record.detail = "No rule named 'video1'";
    CHECK(audit::message_of(record) ==
          "Rejected remove-rule of rule video1 by uid 1000 (pid 4242) via socket: No rule named 'video1'");
}

TEST_CASE("rule_set_change counts names added and removed")
{
    const std::string before = R"({"rules":[{"name":"a"},{"name":"b"}]})";
    const std::string after = R"({"rules":[{"name":"b"},{"name":"c"},{"name":"d"}]})";
    CHECK(audit::rule_set_change(before, after) == "2 rules added, 1 removed");
    CHECK(audit::rule_set_change(after, after) == "0 rules added, 0 removed");
    CHECK(audit::rule_set_change("not json", after) == "3 rules added, 0 removed");
}

TEST_CASE("emit ignores the log level: an audit record is never filtered")
{
    const unique_fd memfd(::memfd_create("audit-capture", MFD_CLOEXEC));
    REQUIRE(memfd.valid());
    const unique_fd saved(::dup(STDERR_FILENO));
    REQUIRE(saved.valid());
    ::unsetenv("JOURNAL_STREAM");
    const LogLevel level = log_level();
    set_log_level(LogLevel::err);
    REQUIRE(::dup2(memfd.get(), STDERR_FILENO) == STDERR_FILENO);
    audit::emit(sample_add());
    REQUIRE(::dup2(saved.get(), STDERR_FILENO) == STDERR_FILENO);
    set_log_level(level);
    std::string text(4096, '\0');
    const ssize_t n = ::pread(memfd.get(), text.data(), text.size(), 0);
    REQUIRE(n > 0);
    text.resize(static_cast<std::size_t>(n));
    CHECK(text.find("notice: Rule video1 added by uid 1000") != std::string::npos);
    CHECK(text.find("MCR_RESULT=allowed") != std::string::npos);
    CHECK(text.find("MCR_CALLER_PID=4242") != std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}

TEST_CASE("caller_of_process keeps the kernel's uid and pid")
{
    const audit::Caller self = audit::caller_of_process(::getpid(), ::getuid());
    CHECK(self.uid == ::getuid());
    CHECK(self.pid == ::getpid());
    const audit::Caller none = audit::caller_of_process(0, 7);
    CHECK(none.uid == 7u);
    CHECK_FALSE(none.pid.has_value());
    CHECK(none.unit.empty());
}

TEST_CASE("unparsable socket writes are recognized, reads and garbage are not")
{
    auto add = control::attempted_write(R"({"AddRule":{"name":"x1","input_port":"bad"}})");
    REQUIRE(add.has_value());
    CHECK(add->action == Action::add_rule);
    CHECK(add->rule == "x1");
    auto remove = control::attempted_write(R"({"RemoveRule":{"rule_id":"r7"}})");
    REQUIRE(remove.has_value());
    CHECK(remove->action == Action::remove_rule);
    CHECK(remove->rule == "r7");
    auto level = control::attempted_write(R"({"SetGlobalLogLevel":{"level":"Loud"}})");
    REQUIRE(level.has_value());
    CHECK(level->action == Action::set_log_level);
    CHECK(level->rule.empty());
    CHECK(control::attempted_write(R"({"LoadConfig":7})")->action == Action::import_rules);
    CHECK_FALSE(control::attempted_write(R"("ListRules")").has_value());
    CHECK_FALSE(control::attempted_write(R"({"GetStats":null})").has_value());
    CHECK_FALSE(control::attempted_write("{not json").has_value());
    CHECK_FALSE(control::attempted_write(R"({"AddRule":{},"RemoveRule":{}})").has_value());
}
