// Proves who may read over the control socket (a pure decision) and that
// each command reaches the right ControlHandler method with the peer's
// credentials, and that handler answers become MCR responses.
#include "control_auth.hpp"
#include "control_dispatch.hpp"
#include "control_response.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mcr;
using namespace mcr::control;

namespace {

constexpr uid_t kDaemonUid = 990;
constexpr gid_t kMcrGid = 991;

// Records calls and answers from fixed data (mocks belong in unit tests).
class RecordingHandler final : public ControlHandler {
public:
    std::string last_call;
    PeerCredentials last_peer;
    Rule last_rule;
    bool last_replace = false;
    bool fail_writes = false;
    Completion<Ok> pending;   // kept when defer_writes is set
    bool defer_writes = false;

    void add_rule(const PeerCredentials& peer, Rule rule, Completion<Ok> done) override
    {
        record("add_rule", peer);
        last_rule = std::move(rule);
        finish(std::move(done));
    }
    void remove_rule(const PeerCredentials& peer, std::string name, Completion<Ok> done) override
    {
        record("remove_rule:" + name, peer);
        if (name == "missing")
            done(Error{"", "no rule named 'missing'"});
        else
            finish(std::move(done));
    }
    void import_rules(const PeerCredentials& peer, RuleSet rules, bool replace, Completion<std::size_t> done) override
    {
        record("import_rules", peer);
        last_replace = replace;
        done(rules.rules.size());
    }
    void set_log_level(const PeerCredentials& peer, LogLevel level, Completion<Ok> done) override
    {
        record("set_log_level:" + std::string(log_level_name(level)), peer);
        finish(std::move(done));
    }
    void list_rules(Completion<RuleSet> done) override
    {
        last_call = "list_rules";
        done(RuleSet{});
    }
    void get_stats(Completion<std::vector<RuleStats>> done) override
    {
        last_call = "get_stats";
        done(std::vector<RuleStats>{});
    }
    void list_workers(Completion<std::vector<WorkerStatus>> done) override
    {
        last_call = "list_workers";
        done(std::vector<WorkerStatus>{});
    }
    [[nodiscard]] LogLevel log_level() const override { return LogLevel::notice; }

private:
    void record(std::string call, const PeerCredentials& peer)
    {
        last_call = std::move(call);
        last_peer = peer;
    }
    void finish(Completion<Ok> done)
    {
        if (defer_writes)
            pending = std::move(done);
        else if (fail_writes)
            done(Error{"", "access denied: polkit said no"});
        else
            done(Ok{});
    }
};

struct Exchange {
    RecordingHandler handler;
    std::string response;
    int responses = 0;

    void run(const std::string& request, const PeerCredentials& peer, bool may_read_state)
    {
        auto command = parse_control_request(request, kMaxRequestBytes);
        REQUIRE(command.ok());
        dispatch_command(std::move(*command), peer, may_read_state, handler, [this](std::string r) {
            response = std::move(r);
            ++responses;
        });
    }
    static constexpr std::size_t kMaxRequestBytes = std::size_t{64} * 1024;
};

const PeerCredentials kUser{1234, 1000, 1000, {100, 27}};

// The response to one request from kUser.
std::string answer(const std::string& request, bool may_read_state)
{
    Exchange exchange;
    exchange.run(request, kUser, may_read_state);
    CHECK(exchange.responses == 1);
    return exchange.response;
}

} // namespace

TEST_CASE("root and the daemon's own user may read")
{
    // uid 0 and the daemon's uid pass without any group.
    CHECK(may_read(PeerCredentials{1, 0, 0, {}}, kDaemonUid, kMcrGid));
    CHECK(may_read(PeerCredentials{1, kDaemonUid, 5, {}}, kDaemonUid, std::nullopt));
}

TEST_CASE("members of group mcr may read, by primary or supplementary group")
{
    // Either the primary gid or any supplementary gid grants reads.
    CHECK(may_read(PeerCredentials{1, 1000, kMcrGid, {}}, kDaemonUid, kMcrGid));
    CHECK(may_read(PeerCredentials{1, 1000, 1000, {27, kMcrGid, 100}}, kDaemonUid, kMcrGid));
}

TEST_CASE("other users may not read, nor anyone when the group does not exist")
{
    // No group mcr on the system means only root and the daemon read.
    CHECK_FALSE(may_read(PeerCredentials{1, 1000, 1000, {27, 100}}, kDaemonUid, kMcrGid));
    CHECK_FALSE(may_read(PeerCredentials{1, 1000, kMcrGid, {kMcrGid}}, kDaemonUid, std::nullopt));
}

TEST_CASE("reads are refused without read access; Ping and GetVersion are not")
{
    // Health checks stay open to anyone who can connect.
    for (const char* request : {"\"ListRules\"", "\"GetStats\"", "\"ListWorkers\"", "\"GetConfig\"", "\"GetLogLevels\""}) {
        Exchange exchange;
        exchange.run(request, kUser, false);
        CHECK(exchange.response ==
              "{\"Error\":\"access denied: reading mcrd state needs root or membership in group 'mcr'\"}\n");
        CHECK(exchange.handler.last_call.empty());
    }
    CHECK(answer("\"Ping\"", false) == "{\"Success\":\"pong\"}\n");
    CHECK(answer("\"GetVersion\"", false) == "{\"Version\":{\"protocol_version\":1}}\n");
}

TEST_CASE("writes reach the handler with the peer's credentials even without read access")
{
    // polkit, not group membership, decides writes; the handler gets the peer.
    Exchange exchange;
    exchange.run(R"({"AddRule":{"name":"v1","input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,
                   "outputs":[{"group":"239.2.2.2","port":6000,"interface":"eth1"}]}})",
                 kUser, false);
    CHECK(exchange.handler.last_call == "add_rule");
    CHECK(exchange.handler.last_peer == kUser);
    CHECK(exchange.handler.last_rule.name == "v1");
    CHECK(exchange.response == "{\"Success\":\"Rule v1 added\"}\n");
}

TEST_CASE("handler errors become Error responses with the message unchanged")
{
    // The reason the handler gives is what the client sees.
    Exchange denied;
    denied.handler.fail_writes = true;
    denied.run(R"({"SetGlobalLogLevel":{"level":"Debug"}})", kUser, true);
    CHECK(denied.handler.last_call == "set_log_level:debug");
    CHECK(denied.response == "{\"Error\":\"access denied: polkit said no\"}\n");
    Exchange missing;
    missing.run(R"({"RemoveRuleByName":{"name":"missing"}})", kUser, true);
    CHECK(missing.response == "{\"Error\":\"no rule named 'missing'\"}\n");
}

TEST_CASE("asynchronous completions answer once, later")
{
    // A polkit check completes after dispatch returns; the response follows.
    Exchange exchange;
    exchange.handler.defer_writes = true;
    exchange.run(R"({"RemoveRule":{"rule_id":"video1"}})", kUser, true);
    CHECK(exchange.responses == 0);
    REQUIRE(exchange.handler.pending);
    exchange.handler.pending(Ok{});
    CHECK(exchange.responses == 1);
    CHECK(exchange.response == "{\"Success\":\"Rule video1 removed\"}\n");
}

TEST_CASE("reads are answered from the handler in MCR's shapes")
{
    // Each read command calls the matching handler method once.
    Exchange rules;
    rules.run("\"ListRules\"", kUser, true);
    CHECK(rules.handler.last_call == "list_rules");
    CHECK(rules.response == "{\"Rules\":[]}\n");
    Exchange config;
    config.run("\"GetConfig\"", kUser, true);
    CHECK(config.handler.last_call == "list_rules");
    CHECK(config.response == "{\"Config\":{\"multicast_ttl\":null,\"pinning\":{},\"rules\":[]}}\n");
    CHECK(answer("\"GetStats\"", true) == "{\"Stats\":[]}\n");
    CHECK(answer("\"ListWorkers\"", true) == "{\"Workers\":[]}\n");
    CHECK(answer("\"GetLogLevels\"", true) == "{\"LogLevels\":{\"facility_overrides\":{},\"global\":\"Notice\"}}\n");
}

TEST_CASE("LoadConfig reports the count and the keys mcrd ignored")
{
    // Merge vs replace wording follows MCR; warnings are appended.
    Exchange exchange;
    exchange.run(R"({"LoadConfig":{"replace":false,"config":{"pinning":{"eth0":[0]},"rules":[{"name":"a",
                   "input":{"interface":"eth0","group":"239.1.1.1","port":5000},
                   "outputs":[{"interface":"eth1","group":"239.2.2.2","port":6000}]}]}}})",
                 kUser, true);
    CHECK(exchange.handler.last_call == "import_rules");
    CHECK_FALSE(exchange.handler.last_replace);
    CHECK(exchange.response.rfind("{\"Success\":\"Configuration merged (1 rules imported); warning: ", 0) == 0);
    CHECK(exchange.response.find("pinning") != std::string::npos);
}
