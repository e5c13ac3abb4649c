// Proves `mcrctl status` rendering: uptime spans, the text screen (units,
// rules with rates, outputs' listener state, audit lines, unreadable-journal
// note) and the JSON form.
#include "status_report.hpp"

#include <doctest/doctest.h>

using namespace mcr::ctl;

namespace {

StatusReport sample_report()
{
    StatusReport report;
    report.bus_name = "org.mcr.Relay";
    report.version = "0.1.0";
    report.uptime_seconds = 3725;
    report.supervisor = UnitStatus{"mcrd.service", "", "active", "running", 2u, 812, "", ""};
    report.workers.push_back(UnitStatus{"mcrd-worker@in0.service", "in0", "active", "running", 0u, 830, "tc", ""});
    report.workers.push_back(
        UnitStatus{"", "in1", "waiting for interface", "", std::nullopt, 0, "userspace", "foreign-program"});
    report.rules.push_back(RuleLine{"video1", "in0 239.1.1.1:5000", "active", 12000, 3, 1000.0, "tc", "", {}});
    report.rules.push_back(RuleLine{"audio", "in1 239.1.1.2:5002", "waiting for interface", 0, 0, std::nullopt,
                                    "userspace", "output-interface-down", {}});
    report.audit.push_back(AuditLine{1763935200000000ULL, "denied", "add-rule", "video2", "dbus", "1001", "77"});
    return report;
}

} // namespace

TEST_CASE("uptime reads like a systemd timespan")
{
    CHECK(format_uptime(0) == "0s");
    CHECK(format_uptime(59) == "59s");
    CHECK(format_uptime(3725) == "1h 2min 5s");
    CHECK(format_uptime(90061) == "1d 1h 1min 1s");
}

TEST_CASE("the text screen shows units, rules and audit events")
{
    const std::string text = render_status(sample_report());
    CHECK(text.rfind("\u25cf mcrd.service - multicast relay\n", 0) == 0);
    CHECK(text.find("      Active: active (running), up 1h 2min 5s\n") != std::string::npos);
    CHECK(text.find("    Restarts: 2\n") != std::string::npos);
    CHECK(text.find("    Main PID: 812\n") != std::string::npos);
    CHECK(text.find("    Workers: 2\n") != std::string::npos);
    CHECK(text.find("      in0        mcrd-worker@in0.service  active (running)              0  830  tc\n") !=
          std::string::npos);
    CHECK(text.find("      in1        -                        waiting for interface         -    -  "
                    "userspace (foreign-program)\n") != std::string::npos);
    CHECK(text.find("\nRules: 2\n") != std::string::npos);
    CHECK(text.find("  video1  in0 239.1.1.1:5000  active                  1.0K    12000      3  tc\n") !=
          std::string::npos);
    CHECK(text.find("  audio   in1 239.1.1.2:5002  waiting for interface      -        0      0  "
                    "userspace (output-interface-down)\n") != std::string::npos);
    CHECK(text.find("  2025-11-23 22:00:00  denied  add-rule  video2  dbus  1001   77\n") != std::string::npos);
}

TEST_CASE("an unreadable journal is said, not fatal")
{
    StatusReport report = sample_report();
    report.audit.clear();
    report.audit_problem = "audit events not shown: no access";
    CHECK(render_status(report).find("Recent audit events:\n  (audit events not shown: no access)\n") !=
          std::string::npos);
    report.audit_problem.clear();
    CHECK(render_status(report).find("Recent audit events:\n  (none)\n") != std::string::npos);
}

TEST_CASE("the JSON form carries the same facts")
{
    const nlohmann::json document = status_to_json(sample_report());
    CHECK(document["version"] == "0.1.0");
    CHECK(document["uptime_seconds"] == 3725);
    CHECK(document["supervisor"]["unit"] == "mcrd.service");
    CHECK(document["supervisor"]["restarts"] == 2);
    CHECK(document["workers"].size() == 2);
    CHECK(document["workers"][1]["restarts"].is_null());
    CHECK(document["workers"][1]["interface"] == "in1");
    CHECK(document["rules"][0]["packets_per_second"] == 1000.0);
    CHECK(document["rules"][1]["packets_per_second"].is_null());
    CHECK(document["rules"][1]["state"] == "waiting for interface");
    CHECK(document["rules"][0]["path"] == "tc");
    CHECK(document["rules"][1]["path_reason"] == "output-interface-down");
    CHECK(document["workers"][1]["fast_path"]["mode"] == "userspace");
    CHECK(document["workers"][1]["fast_path"]["reason"] == "foreign-program");
    CHECK_FALSE(document["supervisor"].contains("fast_path"));
    CHECK(document["audit"][0]["result"] == "denied");
    CHECK(document["audit"][0]["caller_uid"] == "1001");
    CHECK(document["audit_problem"].is_null());
}

namespace {

// video1 with three outputs: always, required with a listener (IGMPv3, any
// source), required without one; audio's output not reported by a worker.
StatusReport gated_report()
{
    StatusReport report = sample_report();
    report.rules[0].outputs = {
        OutputLine{"out0:239.2.2.1:6000", true, std::nullopt, {}},
        OutputLine{"out1:239.2.2.2:6000", true, OutputListenerRow{true, 4},
                   OutputMembership{2, MembershipGroupRow{"239.2.2.2", "exclude", 3, 0}, "IGMP"}},
        OutputLine{"out2:[ff3e::2]:6000", true, OutputListenerRow{false, 1500}, OutputMembership{0, std::nullopt, "MLD"}},
    };
    report.rules[1].outputs = {OutputLine{"out3:239.2.2.3:6000", false, std::nullopt, {}}};
    return report;
}

} // namespace

TEST_CASE("outputs that require listeners show sending or holding with their held count")
{
    const std::string text = render_status(gated_report());
    CHECK(text.find("\nOutputs:\n  RULE    OUTPUT               LISTENERS  STATE         NO-LISTENER  GROUPS  GROUP\n") !=
          std::string::npos);
    CHECK(text.find("  video1  out0:239.2.2.1:6000  always     sending                 -       -  -\n") !=
          std::string::npos);
    CHECK(text.find("  video1  out1:239.2.2.2:6000  required   sending                 4       2  "
                    "IGMPv3 exclude, 0 sources\n") != std::string::npos);
    CHECK(text.find("  video1  out2:[ff3e::2]:6000  required   holding              1500       0  no report\n") !=
          std::string::npos);
    CHECK(text.find("  audio   out3:239.2.2.3:6000  -          not reported            -       -  -\n") !=
          std::string::npos);
}

TEST_CASE("without an output that requires listeners the status has no outputs table")
{
    // The screen of a relay that does not use listeners stays as it was.
    StatusReport report = gated_report();
    report.rules[0].outputs.resize(1);
    CHECK(render_status(report).find("Outputs:") == std::string::npos);
}

TEST_CASE("the JSON form carries each output's listener state")
{
    const nlohmann::json outputs = status_to_json(gated_report())["rules"][0]["outputs"];
    REQUIRE(outputs.size() == 3);
    CHECK(outputs[0] == nlohmann::json{{"endpoint", "out0:239.2.2.1:6000"}, {"listeners", "always"}, {"state", "sending"}});
    CHECK(outputs[1]["listeners"] == "required");
    CHECK(outputs[1]["state"] == "sending");
    CHECK(outputs[1]["no_listener"] == 4);
    CHECK(outputs[1]["groups"] == 2);
    CHECK(outputs[1]["group"] == nlohmann::json{{"mode", "exclude"}, {"version", 3}, {"sources", 0}});
    CHECK(outputs[2]["state"] == "holding");
    CHECK(outputs[2]["no_listener"] == 1500);
    CHECK(outputs[2]["group"].is_null());
    // Not reported: only the endpoint, no guessed policy.
    CHECK(status_to_json(gated_report())["rules"][1]["outputs"][0] == nlohmann::json{{"endpoint", "out3:239.2.2.3:6000"}});
}
