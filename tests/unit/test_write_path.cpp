// Proves WritePath, the one authorize -> apply -> audit path: the same
// request writes the same audit record whichever front end brought it; a
// refused caller is audited once and nothing is applied; what D-Bus answers
// before authorization and the socket does not; a decision that comes later
// applies to the state as it is then; import text is parsed only once the
// caller is authorized.
#include "api/write_path.hpp"
#include "fake_relay_api.hpp"
#include "core/rule_json.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace mcr;

namespace {

Rule make_rule(const std::string& name, const std::string& group)
{
    Result<Rule> rule = rule_from_json(nlohmann::json{
        {"name", name},
        {"input", {{"interface", "in0"}, {"address", group}, {"port", 5000}}},
        {"outputs", {{{"interface", "out0"}, {"address", "239.2.2.2"}, {"port", 6000}}}}});
    REQUIRE(rule.ok());
    return *rule;
}

// A caller that allows, denies, or holds the decision until decide().
class FakeGate final : public CallerGate {
public:
    enum class Answer { allow, deny, hold };

    FakeGate(audit::Via via, Answer answer) : via_(via), answer_(answer) {}

    [[nodiscard]] audit::Via via() const override { return via_; }
    [[nodiscard]] audit::Caller caller() const override { return audit::Caller{1000, 4242, "session-3.scope", "3"}; }
    void authorize(const char* action, Decided decided) override
    {
        actions.emplace_back(action);
        if (answer_ == Answer::allow)
            decided(AccessDecision{true, {}});
        else if (answer_ == Answer::deny)
            decided(AccessDecision{false, "Not authorized"});
        else
            held = std::move(decided);
    }

    std::vector<std::string> actions;   // what was asked, in order
    Decided held;

private:
    audit::Via via_;
    Answer answer_;
};

// A WritePath over its own FakeRelayApi, keeping every audit record and result.
struct Harness {
    testing::FakeRelayApi api;
    std::vector<audit::Record> records;
    std::vector<WriteResult> results;
    WritePath writes{api, [this](const audit::Record& record) { records.push_back(record); }};

    std::shared_ptr<FakeGate> submit(WriteRequest request, audit::Via via,
                                     FakeGate::Answer answer = FakeGate::Answer::allow)
    {
        auto gate = std::make_shared<FakeGate>(via, answer);
        writes.submit(std::move(request), gate, [this](WriteResult result) { results.push_back(std::move(result)); });
        return gate;
    }
};

AddRuleRequest add_request(const Rule& rule) { return AddRuleRequest{rule, rule.name, rule_to_json(rule).dump()}; }

// Every field of a record but MCR_VIA, which names the front end.
std::vector<audit::Field> fields_but_via(const audit::Record& record)
{
    std::vector<audit::Field> fields;
    for (audit::Field& field : audit::fields_of(record))
        if (field.first != "MCR_VIA")
            fields.push_back(std::move(field));
    return fields;
}

} // namespace

TEST_CASE("the same request writes the same audit record over D-Bus and the socket")
{
    const Rule existing = make_rule("old", "239.1.1.1");
    RuleSet imported;
    imported.rules.push_back(make_rule("imported", "239.1.1.3"));
    const std::vector<std::pair<const char*, WriteRequest>> requests = {
        {"add", add_request(make_rule("video1", "239.1.1.2"))},
        {"remove", RemoveRuleRequest{"old"}},
        {"import", ImportRulesRequest{imported, false}},
        {"set log level", SetLogLevelRequest{"debug"}},
    };
    for (const auto& [what_request, request] : requests) {
        const char* what = what_request;   // clang 14 cannot capture a structured binding, and CAPTURE does
        CAPTURE(what);
        Harness dbus;
        Harness socket;
        REQUIRE(dbus.api.add_rule(existing).ok());
        REQUIRE(socket.api.add_rule(existing).ok());
        (void)dbus.submit(request, audit::Via::dbus);
        (void)socket.submit(request, audit::Via::socket);
        REQUIRE(dbus.records.size() == 1);
        REQUIRE(socket.records.size() == 1);
        CHECK(dbus.records[0].via == audit::Via::dbus);
        CHECK(socket.records[0].via == audit::Via::socket);
        CHECK(dbus.records[0].outcome == audit::Outcome::allowed);
        CHECK(fields_but_via(dbus.records[0]) == fields_but_via(socket.records[0]));
        CHECK(dbus.api.export_rules() == socket.api.export_rules());
        REQUIRE(dbus.results.size() == 1);
        CHECK(dbus.results[0].ok());
    }
}

TEST_CASE("an allowed add records the caller, the rule as stored and the action it needed")
{
    Harness h;
    const Rule rule = make_rule("video1", "239.1.1.2");
    auto gate = h.submit(add_request(rule), audit::Via::socket);
    CHECK(gate->actions == std::vector<std::string>{kActionManageRules});
    REQUIRE(h.records.size() == 1);
    const audit::Record& record = h.records[0];
    CHECK(record.action == audit::Action::add_rule);
    CHECK(record.rule == "video1");
    CHECK(record.caller == audit::Caller{1000, 4242, "session-3.scope", "3"});
    CHECK(record.after == rule_to_json(rule).dump());
    CHECK(record.before.empty());
    CHECK(h.api.applied == 1);
}

TEST_CASE("a refused caller is audited once and nothing is applied")
{
    for (const audit::Via via : {audit::Via::dbus, audit::Via::socket}) {
        CAPTURE(std::string(audit::via_name(via)));
        Harness h;
        REQUIRE(h.api.add_rule(make_rule("old", "239.1.1.1")).ok());
        h.api.applied = 0;
        const std::string before = h.api.export_rules();
        (void)h.submit(add_request(make_rule("video1", "239.1.1.2")), via, FakeGate::Answer::deny);
        (void)h.submit(RemoveRuleRequest{"old"}, via, FakeGate::Answer::deny);
        (void)h.submit(ImportRulesRequest{std::string("not even json"), true}, via, FakeGate::Answer::deny);
        (void)h.submit(ReloadRequest{}, via, FakeGate::Answer::deny);
        (void)h.submit(SetLogLevelRequest{"debug"}, via, FakeGate::Answer::deny);
        (void)h.submit(ResetStatsRequest{}, via, FakeGate::Answer::deny);
        CHECK(h.api.applied == 0);
        CHECK(h.api.export_rules() == before);
        REQUIRE(h.records.size() == 6);
        REQUIRE(h.results.size() == 6);
        for (std::size_t i = 0; i < 6; ++i) {
            CHECK(h.records[i].outcome == audit::Outcome::denied);
            CHECK(h.records[i].detail == "Not authorized");
            CHECK(h.results[i].denied == std::optional<std::string>("Not authorized"));
        }
        // The text of a refused import was never parsed: denied, not invalid.
        CHECK(h.records[2].after == "not even json");
        CHECK(h.records[1].before == rule_to_json(make_rule("old", "239.1.1.1")).dump());
    }
}

TEST_CASE("each request asks for its own polkit action")
{
    Harness h;
    REQUIRE(h.api.add_rule(make_rule("old", "239.1.1.1")).ok());
    const std::vector<std::pair<WriteRequest, const char*>> expected = {
        {add_request(make_rule("video1", "239.1.1.2")), kActionManageRules},
        {RemoveRuleRequest{"old"}, kActionManageRules},
        {ImportRulesRequest{RuleSet{}, false}, kActionManageRules},
        {ResetStatsRequest{}, kActionManageRules},
        {ReloadRequest{}, kActionReload},
        {SetLogLevelRequest{"debug"}, kActionSetLogLevel},
    };
    for (const auto& [request, action] : expected) {
        auto gate = h.submit(request, audit::Via::socket);
        CHECK(gate->actions == std::vector<std::string>{action});
    }
}

TEST_CASE("a request refused for its content is audited as invalid without asking anyone")
{
    Harness h;
    auto bad_rule = h.submit(AddRuleRequest{Error{"input.port", "must be 1..65535, got 0"}, "bad", "{}"},
                             audit::Via::dbus, FakeGate::Answer::deny);
    auto bad_level = h.submit(SetLogLevelRequest{"loud"}, audit::Via::socket, FakeGate::Answer::deny);
    CHECK(bad_rule->actions.empty());
    CHECK(bad_level->actions.empty());
    CHECK(h.api.applied == 0);
    REQUIRE(h.records.size() == 2);
    CHECK(h.records[0].outcome == audit::Outcome::invalid);
    CHECK(h.records[0].rule == "bad");
    CHECK(h.records[0].detail == "input.port: must be 1..65535, got 0");
    CHECK(h.records[1].detail == "level: must be one of err, warning, notice, info, debug, got 'loud'");
    CHECK(h.records[1].before == "\"info\"");
    CHECK(h.records[1].after == "\"loud\"");
    REQUIRE(h.results.size() == 2);
    REQUIRE_FALSE(h.results[0].outcome.ok());
    CHECK(h.results[0].outcome.failure->kind == ApiError::invalid_rule);
    CHECK(h.results[1].outcome.failure->kind == ApiError::invalid_argument);
}

TEST_CASE("IPv6 rules reach the audit fields as the rule JSON, refusals with their exact text")
{
    // MCR_AFTER of an allowed 6->4 add carries the IPv6 addresses and allow_link_local as
    // stored; a zone suffix refusal keeps its quotes and '%' in MCR_DETAIL.
    Harness h;
    const nlohmann::json requested = nlohmann::json::parse(R"({"name":"to-v4",
        "input":{"interface":"in0","address":"FF3E::1","port":5000,"source":"2001:db8::1"},
        "outputs":[{"interface":"out0","address":"239.2.2.2","port":6000},
                   {"interface":"out1","address":"ff02::fb","port":5353}],"allow_link_local":true})");
    (void)h.submit(AddRuleRequest{rule_from_json(requested), "to-v4", requested.dump()}, audit::Via::dbus);
    REQUIRE(h.records.size() == 1);
    const auto fields = audit::fields_of(h.records[0]);
    const auto field = [&fields](const std::string& name) {
        for (const auto& [key, value] : fields)
            if (key == name)
                return value;
        return std::string("<absent>");
    };
    CHECK(field("MCR_RESULT") == "allowed");
    CHECK(field("MCR_AFTER") ==
          R"({"allow_link_local":true,"forward_expired_ttl":false,"input":{"address":"ff3e::1","interface":"in0",)"
          R"("port":5000,"source":"2001:db8::1"},"name":"to-v4","outputs":[{"address":"239.2.2.2","interface":"out0",)"
          R"("port":6000},{"address":"ff02::fb","interface":"out1","port":5353}]})");

    const nlohmann::json zoned = nlohmann::json::parse(R"({"name":"bad",
        "input":{"interface":"in0","address":"fe80::1%in0","port":5000},
        "outputs":[{"interface":"out0","address":"ff3e::2","port":6000}]})");
    (void)h.submit(AddRuleRequest{rule_from_json(zoned), "bad", zoned.dump()}, audit::Via::dbus);
    REQUIRE(h.records.size() == 2);
    CHECK(h.records[1].outcome == audit::Outcome::invalid);
    CHECK(h.records[1].detail == "input.address: must not carry a zone suffix (\"%in0\"): the \"interface\" field "
                                 "beside it names the interface, got \"fe80::1%in0\"");
    CHECK(h.records[1].after == zoned.dump());
}

// Kept as it was before the write path was shared: D-Bus answers a remove
// of an unknown rule and a log level already set before polkit; the socket
// asks first.
TEST_CASE("D-Bus answers unknown rules and unchanged log levels before authorization; the socket asks")
{
    Harness h;
    auto dbus_remove = h.submit(RemoveRuleRequest{"none"}, audit::Via::dbus, FakeGate::Answer::deny);
    auto dbus_level = h.submit(SetLogLevelRequest{"info"}, audit::Via::dbus, FakeGate::Answer::deny);
    CHECK(dbus_remove->actions.empty());
    CHECK(dbus_level->actions.empty());
    auto socket_remove = h.submit(RemoveRuleRequest{"none"}, audit::Via::socket, FakeGate::Answer::deny);
    auto socket_level = h.submit(SetLogLevelRequest{"info"}, audit::Via::socket, FakeGate::Answer::deny);
    CHECK(socket_remove->actions == std::vector<std::string>{kActionManageRules});
    CHECK(socket_level->actions == std::vector<std::string>{kActionSetLogLevel});
    CHECK(h.api.applied == 0);
    REQUIRE(h.records.size() == 4);
    CHECK(h.records[0].outcome == audit::Outcome::invalid);
    CHECK(h.records[0].detail == "No rule named 'none'");
    CHECK(h.records[1].outcome == audit::Outcome::allowed);
    CHECK(h.records[1].detail == "info");
    CHECK(h.records[2].outcome == audit::Outcome::denied);
    CHECK(h.records[3].outcome == audit::Outcome::denied);
}

TEST_CASE("a decision that comes later applies to the state as it is then")
{
    Harness h;
    const Rule rule = make_rule("old", "239.1.1.1");
    REQUIRE(h.api.add_rule(rule).ok());
    auto gate = h.submit(RemoveRuleRequest{"old"}, audit::Via::socket, FakeGate::Answer::hold);
    CHECK(h.records.empty());
    CHECK(h.results.empty());
    REQUIRE(h.api.remove_rule("old").ok());   // gone while polkit decides
    REQUIRE(gate->held);
    // A decision is answered once and then let go, as polkit's query is: the
    // callback keeps the gate alive until then.
    const CallerGate::Decided decide = std::exchange(gate->held, nullptr);
    decide(AccessDecision{true, {}});
    REQUIRE(h.records.size() == 1);
    CHECK(h.records[0].outcome == audit::Outcome::invalid);
    CHECK(h.records[0].before == rule_to_json(rule).dump());   // as it was when asked
    CHECK(h.records[0].detail == "No rule named 'old'");
    REQUIRE(h.results.size() == 1);
    CHECK(h.results[0].outcome.failure->kind == ApiError::no_such_rule);
}

TEST_CASE("a dropped decision applies and audits nothing (D-Bus re-dispatches the call)")
{
    Harness h;
    auto gate = h.submit(add_request(make_rule("video1", "239.1.1.2")), audit::Via::dbus, FakeGate::Answer::hold);
    gate->held = nullptr;
    CHECK(h.records.empty());
    CHECK(h.results.empty());
    CHECK(h.api.applied == 0);
}

TEST_CASE("an import as text is parsed once authorized; the record shows the set before and after")
{
    Harness h;
    const RuleSet set{{make_rule("a", "239.1.1.1"), make_rule("b", "239.1.1.2")}};
    const std::string text = rule_set_to_json(set).dump();
    (void)h.submit(ImportRulesRequest{text, false}, audit::Via::dbus);
    (void)h.submit(ImportRulesRequest{std::string("{\"rules\": 7}"), false}, audit::Via::dbus);
    REQUIRE(h.results.size() == 2);
    CHECK(h.results[0].ok());
    CHECK(h.results[0].imported == 2);
    REQUIRE(h.records.size() == 2);
    CHECK(h.records[0].before == R"({"rules":[]})");
    CHECK(h.records[0].after == h.api.export_rules());
    CHECK(h.records[1].outcome == audit::Outcome::invalid);
    CHECK(h.records[1].after == "{\"rules\": 7}");
    CHECK(h.api.applied == 1);
}

TEST_CASE("a reload by signal is audited with the rule set before and after")
{
    Harness h;
    REQUIRE(h.api.add_rule(make_rule("a", "239.1.1.1")).ok());
    auto gate = h.submit(ReloadRequest{}, audit::Via::signal);
    CHECK(gate->actions == std::vector<std::string>{kActionReload});
    REQUIRE(h.records.size() == 1);
    CHECK(h.records[0].action == audit::Action::reload);
    CHECK(h.records[0].via == audit::Via::signal);
    CHECK(h.records[0].before == h.api.export_rules());
    CHECK(h.records[0].after == h.api.export_rules());
}
