// libFuzzer target: the control-socket request handler (parse, attempted-
// write audit lookup, dispatch, response formatting) behind a fake
// ControlHandler. Every request must get exactly one response, and that
// response must be valid JSON.
#include "control/control_command.hpp"
#include "control/control_dispatch.hpp"
#include "control/control_handler.hpp"
#include "control/control_server.hpp"
#include "fuzz_fail.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace mcr;
using namespace mcr::control;

namespace {

// Answers from what it was given: writes succeed or fail by the fuzzer's
// choice, and reads echo the rules written so far (so fuzzed names and
// addresses reach the response formatter).
class EchoHandler final : public ControlHandler {
public:
    explicit EchoHandler(bool fail_writes) : fail_(fail_writes) {}

    void add_rule(const PeerCredentials&, Rule rule, Completion<Ok> done) override
    {
        if (fail_)
            return done(Error{"rules[0]", "refused by the fuzz handler"});
        set_.rules.push_back(std::move(rule));
        done(Ok{});
    }
    void remove_rule(const PeerCredentials&, std::string name, Completion<Ok> done) override
    {
        if (fail_)
            return done(Error{"", "no rule named '" + name + "'"});
        done(Ok{});
    }
    void import_rules(const PeerCredentials&, RuleSet rules, bool, Completion<std::size_t> done) override
    {
        if (fail_)
            return done(Error{"", "access denied: fuzz"});
        set_ = std::move(rules);
        done(set_.rules.size());
    }
    void set_log_level(const PeerCredentials&, LogLevel level, Completion<Ok> done) override
    {
        level_ = level;
        done(Ok{});
    }
    void list_rules(Completion<RuleSet> done) override { done(set_); }
    void get_stats(Completion<std::vector<RuleStats>> done) override
    {
        std::vector<RuleStats> stats;
        for (const Rule& r : set_.rules)
            stats.push_back(RuleStats{r.name, r.input, 1, 2, 0.5, 4.0});
        done(std::move(stats));
    }
    void list_workers(Completion<std::vector<WorkerStatus>> done) override
    {
        done(std::vector<WorkerStatus>{WorkerStatus{"eth0", "mcrd-worker@eth0.service", "active", "running", 1}});
    }
    [[nodiscard]] LogLevel log_level() const override { return level_; }

private:
    bool fail_;
    RuleSet set_;
    LogLevel level_ = LogLevel::info;
};

void dispatch_once(ControlCommand command, bool may_read, EchoHandler& handler)
{
    int responses = 0;
    const PeerCredentials peer{1234, 1000, 1000, {1000}};
    dispatch_command(std::move(command), peer, may_read, handler, [&](const std::string& response) {
        ++responses;
        if (!nlohmann::json::accept(response))
            fuzz_fail("a response that is not JSON");
    });
    if (responses != 1)
        fuzz_fail("not exactly one response for a request");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    // First byte: handler behaviour and the peer's read permission.
    const bool fail_writes = (data[0] & 1U) != 0;
    const bool may_read = (data[0] & 2U) != 0;
    const std::string_view request(reinterpret_cast<const char*>(data + 1), size - 1);
    (void)attempted_write(request);
    Result<ControlCommand> command = parse_control_request(request, kMaxRequestBytes);
    if (!command) {
        if (command.error().message().empty())
            fuzz_fail("a refusal without a message");
        return 0;
    }
    EchoHandler handler(fail_writes);
    // Twice: the second run sees the rules the first one stored.
    dispatch_once(*command, may_read, handler);
    dispatch_once(std::move(*command), may_read, handler);
    return 0;
}
