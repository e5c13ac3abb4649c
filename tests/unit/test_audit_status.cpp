// Proves `mcrctl status` rendering: uptime spans, the text screen (units,
// rules with rates, audit lines, unreadable-journal note) and the JSON form.
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
    report.rules.push_back(RuleLine{"video1", "in0 239.1.1.1:5000", "active", 12000, 3, 1000.0, "tc", ""});
    report.rules.push_back(RuleLine{"audio", "in1 239.1.1.2:5002", "waiting for interface", 0, 0, std::nullopt,
                                    "userspace", "output-interface-down"});
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
