// Proves the MCR-compatible control protocol: every request shape parses to
// the right typed command, malformed requests get precise errors, and
// responses have MCR's exact JSON shape.
#include "control_command.hpp"
#include "control_response.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace mcr;
using namespace mcr::control;
using nlohmann::json;

namespace {

constexpr std::size_t kLimit = std::size_t{64} * 1024;

ControlCommand parsed(const std::string& request)
{
    auto command = parse_control_request(request, kLimit);
    REQUIRE_MESSAGE(command.ok(), (command.ok() ? "" : command.error().message()));
    return *command;
}

std::string parse_error(const std::string& request)
{
    auto command = parse_control_request(request, kLimit);
    REQUIRE(!command.ok());
    return command.error().message();
}

const char* kAddRule = R"({"AddRule":{"rule_id":"","name":"video1","input_interface":"eth0",
    "input_group":"239.1.1.1","input_port":5000,"input_protocol":17,
    "outputs":[{"group":"239.2.2.2","port":6000,"interface":"eth1"},
               {"group":"203.0.113.7","port":6001,"interface":"wg0","ttl":16}]}})";

} // namespace

TEST_CASE("unit commands parse from a bare string and from {name: null}")
{
    // serde serializes unit variants as "Name"; both forms must be accepted.
    CHECK(std::holds_alternative<ListRulesCommand>(parsed(R"("ListRules")")));
    CHECK(std::holds_alternative<ListRulesCommand>(parsed(R"({"ListRules":null})")));
    CHECK(std::holds_alternative<GetStatsCommand>(parsed(R"("GetStats")")));
    CHECK(std::holds_alternative<ListWorkersCommand>(parsed(R"("ListWorkers")")));
    CHECK(std::holds_alternative<PingCommand>(parsed(R"("Ping")")));
    CHECK(std::holds_alternative<GetVersionCommand>(parsed(R"("GetVersion")")));
    CHECK(std::holds_alternative<GetLogLevelsCommand>(parsed(R"("GetLogLevels")")));
    CHECK(std::holds_alternative<GetConfigCommand>(parsed("\"GetConfig\"\n")));
}

TEST_CASE("AddRule maps MCR fields onto an mcrd rule")
{
    // name wins over rule_id; outputs keep order; unset TTL becomes MCR's 1.
    auto command = std::get<AddRuleCommand>(parsed(kAddRule));
    const Rule& rule = command.rule;
    CHECK(rule.name == "video1");
    CHECK(rule.input.interface == "eth0");
    CHECK(rule.input.address.to_string() == "239.1.1.1");
    CHECK(rule.input.port == 5000);
    CHECK(!rule.input.source.has_value());
    REQUIRE(rule.outputs.size() == 2);
    CHECK(rule.outputs[0].interface == "eth1");
    CHECK(rule.outputs[0].address.to_string() == "239.2.2.2");
    CHECK(rule.outputs[0].port == 6000);
    CHECK(rule.outputs[0].ttl == std::optional<std::uint8_t>(1));
    CHECK(rule.outputs[1].address.to_string() == "203.0.113.7");
    CHECK(rule.outputs[1].ttl == std::optional<std::uint8_t>(16));
    CHECK(is_write_command(ControlCommand{command}));
}

TEST_CASE("AddRule names: rule_id when no name, else derived from the input")
{
    // MCR's mcrctl sends rule_id "" and no name by default.
    auto with_id = std::get<AddRuleCommand>(parsed(
        R"({"AddRule":{"rule_id":"abc123","input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"outputs":[]}})"));
    CHECK(with_id.rule.name == "abc123");
    auto derived = std::get<AddRuleCommand>(parsed(
        R"({"AddRule":{"rule_id":"","name":null,"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"input_source":"192.0.2.9","outputs":[]}})"));
    CHECK(derived.rule.name == "eth0-239.1.1.1-5000");
    CHECK(derived.rule.input.source->to_string() == "192.0.2.9");
}

TEST_CASE("AddRule errors name the field and quote the value")
{
    // Each malformed field is reported with its path, so users can fix it.
    const std::string base = R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"outputs":[]}})";
    CHECK(parse_error(R"({"AddRule":{"input_group":"239.1.1.1","input_port":5000,"outputs":[]}})") ==
          "AddRule.input_interface: missing required key");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1","input_port":5000,"outputs":[]}})") ==
          "AddRule.input_group: must be an IP address, got \"239.1.1\"");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":"5000","outputs":[]}})") ==
          "AddRule.input_port: must be an integer 1..65535, got \"5000\"");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":0,"outputs":[]}})") ==
          "AddRule.input_port: must be an integer 1..65535, got 0");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":70000,"outputs":[]}})") ==
          "AddRule.input_port: must be an integer 1..65535, got 70000");
    CHECK(parse_error(R"({"AddRule":{"input_interface":7,"input_group":"239.1.1.1","input_port":5000,"outputs":[]}})") ==
          "AddRule.input_interface: must be a string, got 7");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"outputs":{}}})") ==
          "AddRule.outputs: must be an array, got {}");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"input_protocol":50,"outputs":[]}})") ==
          "AddRule.input_protocol: only UDP (17) is supported, got 50");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"bogus":1,"outputs":[]}})") ==
          "AddRule.bogus: unknown key");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"outputs":[{"group":"239.2.2.2","port":6000,"interface":"eth1","ttl":0}]}})") ==
          "AddRule.outputs[0].ttl: must be an integer 1..255, got 0");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"outputs":[{"group":"239.2.2.2","port":6000}]}})") ==
          "AddRule.outputs[0].interface: missing required key");
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"outputs":[{"group":"239.2.2.2","port":6000,"interface":"eth1","source_ip":"192.0.2.1"}]}})") ==
          "AddRule.outputs[0].source_ip: not supported by mcrd (the kernel picks the source of unicast copies)");
    CHECK(parse_error(R"({"AddRule":[]})") == "AddRule: must be an object, got []");
    CHECK(parse_control_request(base, kLimit).ok());
}

TEST_CASE("AddRule and LoadConfig refuse IPv6 and say where to add it instead")
{
    // Input group, source and any output: MCR's protocol is IPv4-only; the path names the field.
    const std::string where = " cannot be added through the MCR control socket (MCR's protocol is IPv4-only): "
                              "add IPv6 rules with mcrctl without --socket, the D-Bus API (org.mcr.Relay) or a "
                              "rule file (mcrd.json(5))";
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"ff3e::1","input_port":5000,"outputs":[]}})") ==
          "AddRule.input_group: IPv6 address \"ff3e::1\"" + where);
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"ff3e::1","input_port":5000,"input_source":"2001:db8::1","outputs":[]}})") ==
          "AddRule.input_group: IPv6 address \"ff3e::1\"" + where);
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"input_source":"2001:db8::1","outputs":[]}})") ==
          "AddRule.input_source: IPv6 address \"2001:db8::1\"" + where);
    CHECK(parse_error(R"({"AddRule":{"input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,
        "outputs":[{"group":"239.2.2.2","port":6000,"interface":"eth1"},{"group":"ff3e::2","port":6000,"interface":"eth1"}]}})") ==
          "AddRule.outputs[1].group: IPv6 address \"ff3e::2\"" + where);
    CHECK(parse_error(R"({"LoadConfig":{"replace":false,"config":{"rules":[
        {"name":"a","input":{"interface":"eth0","group":"239.1.1.1","port":5000},"outputs":[{"interface":"eth1","group":"239.2.2.2","port":6000}]},
        {"name":"b","input":{"interface":"eth0","group":"239.1.1.2","port":5000},"outputs":[{"interface":"eth1","group":"2001:db8::9","port":6000}]}]}}})") ==
          "LoadConfig.config.rules[1].outputs[0].group: IPv6 address \"2001:db8::9\"" + where);
    auto check = std::get<CheckConfigCommand>(parsed(R"({"CheckConfig":{"config":{"rules":[{"name":"a",
        "input":{"interface":"eth0","group":"ff3e::1","port":5000},"outputs":[{"interface":"eth1","group":"239.2.2.2","port":6000}]}]}}})"));
    CHECK(!check.valid);
    REQUIRE(check.errors.size() == 1);
    CHECK(check.errors[0] == "CheckConfig.config.rules[0].input.group: IPv6 address \"ff3e::1\"" + where);
}

TEST_CASE("RemoveRule and RemoveRuleByName both name the rule")
{
    // mcrd rules have one identity, so rule_id and name address the same thing.
    CHECK(std::get<RemoveRuleCommand>(parsed(R"({"RemoveRule":{"rule_id":"video1"}})")).name == "video1");
    CHECK(std::get<RemoveRuleCommand>(parsed(R"({"RemoveRuleByName":{"name":"video2"}})")).name == "video2");
    CHECK(parse_error(R"({"RemoveRule":{}})") == "RemoveRule.rule_id: missing required key");
    CHECK(parse_error(R"({"RemoveRuleByName":{"name":3}})") == "RemoveRuleByName.name: must be a string, got 3");
    CHECK(parse_error(R"("RemoveRule")") == "'RemoveRule' needs fields: {\"RemoveRule\":{...}}");
}

TEST_CASE("SetGlobalLogLevel maps MCR severities onto mcrd levels")
{
    // MCR has nine severities, mcrd five: the extremes fold into err/debug.
    CHECK(std::get<SetLogLevelCommand>(parsed(R"({"SetGlobalLogLevel":{"level":"Debug"}})")).level == LogLevel::debug);
    CHECK(std::get<SetLogLevelCommand>(parsed(R"({"SetGlobalLogLevel":{"level":"Trace"}})")).level == LogLevel::debug);
    CHECK(std::get<SetLogLevelCommand>(parsed(R"({"SetGlobalLogLevel":{"level":"Critical"}})")).level == LogLevel::err);
    CHECK(std::get<SetLogLevelCommand>(parsed(R"({"SetGlobalLogLevel":{"level":"Warning"}})")).level == LogLevel::warning);
    CHECK(std::get<SetLogLevelCommand>(parsed(R"({"SetGlobalLogLevel":{"level":"notice"}})")).level == LogLevel::notice);
    CHECK(parse_error(R"({"SetGlobalLogLevel":{"level":"loud"}})") ==
          "SetGlobalLogLevel.level: unknown level \"loud\" (Emergency, Alert, Critical, Error, Warning, Notice, Info, Debug, Trace)");
}

TEST_CASE("LoadConfig imports an MCR config object; CheckConfig reports validity")
{
    // The config travels as a JSON object, read by the json5 importer.
    auto load = std::get<LoadConfigCommand>(parsed(R"({"LoadConfig":{"replace":true,"config":{"pinning":{},
        "rules":[{"name":"a","input":{"interface":"eth0","group":"239.1.1.1","port":5000},
                  "outputs":[{"interface":"eth1","group":"239.2.2.2","port":6000}]}]}}})"));
    CHECK(load.replace);
    REQUIRE(load.rules.rules.size() == 1);
    CHECK(load.rules.rules[0].name == "a");
    CHECK(load.rules.rules[0].outputs[0].port == 6000);
    CHECK(parse_error(R"({"LoadConfig":{"config":{"rules":[]}}})") == "LoadConfig.replace: missing required key");
    CHECK(parse_error(R"({"LoadConfig":{"replace":"yes","config":{}}})") == "LoadConfig.replace: must be true or false, got \"yes\"");

    auto good = std::get<CheckConfigCommand>(parsed(R"({"CheckConfig":{"config":{"rules":[{"name":"a",
        "input":{"interface":"eth0","group":"239.1.1.1","port":5000},
        "outputs":[{"interface":"eth1","group":"239.2.2.2","port":6000}]}]}}})"));
    CHECK(good.valid);
    CHECK(good.errors.empty());
    auto bad = std::get<CheckConfigCommand>(parsed(R"({"CheckConfig":{"config":{"rules":[{"name":"a",
        "input":{"interface":"eth0","group":"239.1.1.1","port":0},"outputs":[]}]}}})"));
    CHECK(!bad.valid);
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].find("port") != std::string::npos);
    CHECK(!is_write_command(ControlCommand{good}));
}

TEST_CASE("malformed requests get precise errors")
{
    // Not JSON, wrong top-level shapes, unknown and unsupported commands.
    CHECK(parse_error("{\"ListRules\"").rfind("request is not valid JSON: parse error at line 1, column 13: syntax error while parsing object separator", 0) == 0);
    CHECK(parse_error("").rfind("request is not valid JSON: ", 0) == 0);
    CHECK(parse_error("42") == "request must be a command name (\"ListRules\") or an object with one command key "
                               "({\"RemoveRule\":{...}}), got 42");
    CHECK(parse_error(R"({"Ping":null,"ListRules":null})").rfind("request must be a command name", 0) == 0);
    CHECK(parse_error(R"("Explode")") == "unknown command 'Explode'");
    CHECK(parse_error(R"({"Ping":{"x":1}})") == "Ping: takes no fields, got {\"x\":1}");
    CHECK(parse_error(R"("GetPimNeighbors")") == "'GetPimNeighbors' is not supported by mcrd: mcrd is a static relay "
                                                 "without PIM, IGMP, MSDP, RPF or event subscriptions");
    CHECK(parse_error(R"({"SetFacilityLogLevel":{"facility":"Ingress","level":"Debug"}})") ==
          "'SetFacilityLogLevel' is not supported by mcrd: mcrd has one global log level; use SetGlobalLogLevel");
}

TEST_CASE("oversize requests are refused before parsing")
{
    // The limit protects the daemon; one byte over is enough to refuse.
    const std::string big = "\"" + std::string(kLimit, 'x') + "\"";
    auto result = parse_control_request(big, kLimit);
    REQUIRE(!result.ok());
    CHECK(result.error().message() == "request exceeds the limit of 65536 bytes");
    CHECK(parse_control_request("\"Ping\"", 6).ok());
    CHECK(!parse_control_request("\"Ping\"", 5).ok());
}

TEST_CASE("responses have MCR's externally tagged shapes")
{
    // Each formatter produces exactly what MCR's serde Response would.
    CHECK(format_success("pong") == "{\"Success\":\"pong\"}\n");
    CHECK(format_error("Rule x not found") == "{\"Error\":\"Rule x not found\"}\n");
    CHECK(format_version(1) == "{\"Version\":{\"protocol_version\":1}}\n");
    CHECK(json::parse(format_log_levels(LogLevel::debug)) ==
          json::parse(R"({"LogLevels":{"global":"Debug","facility_overrides":{}}})"));
    CHECK(json::parse(format_config_validation(false, {"bad port"})) ==
          json::parse(R"({"ConfigValidation":{"valid":false,"errors":["bad port"]}})"));
}

TEST_CASE("Rules and Config responses carry every rule field")
{
    // ForwardingRule/ConfigRule fields; ttl only when set, source only when SSM.
    RuleSet set;
    Rule rule = std::get<AddRuleCommand>(parsed(kAddRule)).rule;
    rule.outputs[0].ttl.reset();
    rule.input.source = IpAddress::parse("192.0.2.1");
    set.rules.push_back(rule);
    CHECK(json::parse(format_rules(set)) == json::parse(R"({"Rules":[{"rule_id":"video1","name":"video1",
        "input_interface":"eth0","input_group":"239.1.1.1","input_port":5000,"input_protocol":17,
        "input_source":"192.0.2.1","source":"Static",
        "outputs":[{"group":"239.2.2.2","port":6000,"interface":"eth1"},
                   {"group":"203.0.113.7","port":6001,"interface":"wg0","ttl":16}]}]})"));
    CHECK(json::parse(format_config(set)) == json::parse(R"({"Config":{"pinning":{},"multicast_ttl":null,
        "rules":[{"name":"video1","input":{"interface":"eth0","group":"239.1.1.1","port":5000},
        "outputs":[{"group":"239.2.2.2","port":6000,"interface":"eth1"},
                   {"group":"203.0.113.7","port":6001,"interface":"wg0","ttl":16}]}]}})"));
}

TEST_CASE("an IPv6 or translation rule is listed in the same fields, addresses as RFC 5952 text")
{
    // Added by D-Bus or a rule file, shown over the socket: Rules, Config and Stats.
    Rule rule;
    rule.name = "v6";
    rule.input = RuleInput{"eth0", *IpAddress::parse("ff3e::1"), 5000, IpAddress::parse("2001:db8::1")};
    rule.outputs.push_back(RuleOutput{"eth1", *IpAddress::parse("239.2.2.2"), 6000, std::nullopt});
    rule.outputs.push_back(RuleOutput{"eth2", *IpAddress::parse("FF3E:0::2"), 6000, std::uint8_t{8}});
    const RuleSet set{{rule}};
    CHECK(json::parse(format_rules(set)) == json::parse(R"({"Rules":[{"rule_id":"v6","name":"v6",
        "input_interface":"eth0","input_group":"ff3e::1","input_port":5000,"input_protocol":17,
        "input_source":"2001:db8::1","source":"Static",
        "outputs":[{"group":"239.2.2.2","port":6000,"interface":"eth1"},
                   {"group":"ff3e::2","port":6000,"interface":"eth2","ttl":8}]}]})"));
    CHECK(json::parse(format_config(set)) == json::parse(R"({"Config":{"pinning":{},"multicast_ttl":null,
        "rules":[{"name":"v6","input":{"interface":"eth0","group":"ff3e::1","port":5000},
        "outputs":[{"group":"239.2.2.2","port":6000,"interface":"eth1"},
                   {"group":"ff3e::2","port":6000,"interface":"eth2","ttl":8}]}]}})"));
    RuleStats stats{"v6", rule.input, 3, 300, 0.0, 0};
    CHECK(json::parse(format_stats({stats}))["Stats"][0]["input_group"] == "ff3e::1");
}

TEST_CASE("Stats and Workers responses use MCR's FlowStats and WorkerInfo")
{
    // Counters pass through unchanged; non-active workers show as Restarting.
    RuleStats stats{"video1", RuleInput{"eth0", *IpAddress::parse("239.1.1.1"), 5000, std::nullopt}, 10, 13370, 2.5, 800};
    CHECK(json::parse(format_stats({stats})) == json::parse(R"({"Stats":[{"input_group":"239.1.1.1","input_port":5000,
        "input_protocol":17,"packets_relayed":10,"bytes_relayed":13370,"packets_per_second":2.5,"bits_per_second":800.0}]})"));
    std::vector<WorkerStatus> workers = {{"eth0", "mcrd-worker@eth0.service", "active", "running", 42},
                                        {"eth1", "mcrd-worker@eth1.service", "activating", "auto-restart", 0}};
    CHECK(json::parse(format_workers(workers)) == json::parse(R"({"Workers":[
        {"pid":42,"worker_type":"DataPlane","core_id":null,"interface":"eth0","status":"Running"},
        {"pid":0,"worker_type":"DataPlane","core_id":null,"interface":"eth1","status":{"Restarting":{"backoff_ms":0}}}]})"));
}

TEST_CASE("a number beyond double's range is refused as invalid JSON (fuzz finding)")
{
    // nlohmann reports it as out_of_range.406, which used to escape as "internal error".
    CHECK(parse_error(R"({"AddRule":{"input_port":1e999}})") == "request is not valid JSON: number overflow parsing '1e999'");
}
