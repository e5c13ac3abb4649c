// Proves the supervisor's pure logic: worker unit names (systemd escaping),
// the classification of rule additions into D-Bus error kinds, the rule
// store's persistence and corrupt-state policy, admin-rule precedence, the
// ResetStats baseline arithmetic and command-line defaults/errors.
#include "core/rule_json.hpp"
#include "supervisor/options.hpp"
#include "supervisor/rule_store.hpp"
#include "supervisor/stats_baseline.hpp"
#include "supervisor/worker_identity.hpp"
#include "supervisor/worker_units.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace mcr;
using namespace mcr::supervisor;
using mcr::ApiError;
namespace fs = std::filesystem;

namespace {

using mcr::testing::TempDir;

Rule make_rule(const std::string& name, const std::string& group, std::uint16_t port = 5000)
{
    Result<Rule> rule = rule_from_json(nlohmann::json{
        {"name", name},
        {"input", {{"interface", "in0"}, {"address", group}, {"port", port}}},
        {"outputs", {{{"interface", "out0"}, {"address", "239.2.2.2"}, {"port", 6000}}}}});
    REQUIRE(rule.ok());
    return *rule;
}

std::string read_all(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

ApiError kind_of(const ApiOutcome& outcome)
{
    REQUIRE_FALSE(outcome.ok());
    return outcome.failure->kind;
}

} // namespace

// systemd-escape semantics: '-' and a leading '.' are escaped, ':' is kept.
TEST_CASE("worker unit names")
{
    CHECK(escape_unit_instance("eth0") == "eth0");
    CHECK(escape_unit_instance("red:veth-in.100") == "red:veth\\x2din.100");
    CHECK(escape_unit_instance(".x") == "\\x2ex");
    CHECK(escape_unit_instance("a/b") == "a-b");
    CHECK(worker_unit_name("", "eth0") == "mcrd-worker@eth0.service");
    CHECK(worker_unit_name("red", "in-0") == "mcrd-worker@red:in\\x2d0.service");
}

// Each way an addition can fail maps to its own D-Bus error kind.
TEST_CASE("check_addition classifies failures")
{
    RuleSet set;
    set.rules.push_back(make_rule("a", "239.1.1.1"));
    CHECK(check_addition(set, make_rule("b", "239.1.1.2"), 10).ok());
    CHECK(kind_of(check_addition(set, make_rule("a", "239.1.1.2"), 10)) == ApiError::rule_exists);
    CHECK(kind_of(check_addition(set, make_rule("b", "239.1.1.1"), 10)) == ApiError::input_conflict);
    CHECK(kind_of(check_addition(set, make_rule("b", "239.1.1.2"), 1)) == ApiError::too_many_rules);
    Rule bad = make_rule("b", "239.1.1.2");
    bad.outputs.clear();
    const auto outcome = check_addition(set, bad, 10, "rules[3]");
    CHECK(kind_of(outcome) == ApiError::invalid_rule);
    CHECK(outcome.failure->message.rfind("rules[3].outputs", 0) == 0);
}

// Every change is on disk before it is visible, and a new store reads it back.
TEST_CASE("RuleStore persists and restores")
{
    TempDir dir;
    const std::string file = dir.path() + "/rules.json";
    {
        RuleStore store(file, 10);
        REQUIRE(store.load_state(false).ok());
        RuleChanges changes;
        REQUIRE(store.add(make_rule("a", "239.1.1.1"), changes).ok());
        CHECK(changes.added == std::vector<std::string>{"a"});
        REQUIRE(store.add(make_rule("b", "239.1.1.2"), changes).ok());
        RuleChanges removal;
        REQUIRE(store.remove("a", removal).ok());
        CHECK(removal.removed == std::vector<std::string>{"a"});
        CHECK(kind_of(store.remove("a", removal)) == ApiError::no_such_rule);
    }
    RuleStore again(file, 10);
    REQUIRE(again.load_state(false).ok());
    REQUIRE(again.rules().size() == 1);
    CHECK(again.rules()[0].rule == make_rule("b", "239.1.1.2"));
}

// A corrupt state file is moved aside and start-up is refused, unless reset.
TEST_CASE("RuleStore corrupt state")
{
    TempDir dir;
    const std::string file = dir.path() + "/rules.json";
    std::ofstream(file) << "{\"rules\": [";
    RuleStore store(file, 10);
    Status loaded = store.load_state(false);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error().path == file);
    CHECK(loaded.error().reason.find("fix it or start once with --reset-state") != std::string::npos);
    CHECK_FALSE(fs::exists(file));
    std::size_t aside = 0;
    for (const auto& entry : fs::directory_iterator(dir.path()))
        aside += entry.path().filename().string().rfind("rules.json.corrupt-", 0) == 0 ? 1 : 0;
    CHECK(aside == 1);
    std::ofstream(file) << "garbage";
    CHECK(RuleStore(file, 10).load_state(true).ok());
}

// A write that cannot be persisted changes nothing in memory.
TEST_CASE("RuleStore persist failure keeps the old set")
{
    if (::geteuid() == 0)
        return;   // root writes anyway; the integration test covers it with dropped capabilities
    TempDir dir;
    RuleStore store(dir.path() + "/rules.json", 10);
    REQUIRE(::chmod(dir.path().c_str(), 0500) == 0);
    RuleChanges changes;
    CHECK(kind_of(store.add(make_rule("a", "239.1.1.1"), changes)) == ApiError::persist_failed);
    CHECK(store.rules().empty());
    REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
}

// Admin rules are read-only, not written to the state file, and win over a
// run-time rule with the same input.
TEST_CASE("RuleStore admin rules")
{
    TempDir dir;
    const std::string file = dir.path() + "/rules.json";
    RuleStore store(file, 10);
    RuleChanges changes;
    REQUIRE(store.add(make_rule("runtime", "239.1.1.1"), changes).ok());
    RuleSet admin;
    admin.rules.push_back(make_rule("admin", "239.1.1.1"));
    Result<RuleChanges> merged = store.set_admin_rules(admin);
    REQUIRE(merged.ok());
    CHECK(merged->removed == std::vector<std::string>{"runtime"});
    CHECK(merged->added == std::vector<std::string>{"admin"});
    CHECK(kind_of(store.remove("admin", changes)) == ApiError::admin_rule);
    CHECK(read_all(file).find("\"admin\"") == std::string::npos);
    CHECK(read_all(file).find("\"runtime\"") == std::string::npos);
}

// Import is all or nothing; with replace, only run-time rules are replaced.
TEST_CASE("RuleStore import")
{
    TempDir dir;
    RuleStore store(dir.path() + "/rules.json", 10);
    RuleChanges changes;
    REQUIRE(store.add(make_rule("old", "239.1.1.1"), changes).ok());
    RuleSet incoming;
    incoming.rules = {make_rule("new1", "239.1.1.2"), make_rule("old", "239.1.1.3")};
    const auto clash = store.import(incoming, false, changes);
    CHECK(kind_of(clash) == ApiError::rule_exists);
    CHECK(clash.failure->message == "rules[1].name: a rule named \"old\" already exists");
    CHECK(store.rules().size() == 1);
    RuleChanges replaced;
    REQUIRE(store.import(incoming, true, replaced).ok());
    CHECK(store.rules().size() == 2);
    CHECK(replaced.removed == std::vector<std::string>{"old"});
    CHECK(replaced.added == std::vector<std::string>{"new1", "old"});
}

// ResetStats baselines: counters subtract, identities and uptime are kept,
// array elements match by identity, a restarted counter is kept as is.
TEST_CASE("subtract_counters")
{
    const auto now = nlohmann::json::parse(R"({"uptime_ms": 9000, "kernel": {"drops": 7},
        "rules": [{"name": "b", "packets": 5}, {"name": "a", "packets": 30, "outputs": [
            {"interface": "out0", "address": "239.2.2.2", "port": 6000, "packets": 30}]}]})");
    const auto base = nlohmann::json::parse(R"({"uptime_ms": 4000, "kernel": {"drops": 2},
        "rules": [{"name": "a", "packets": 10, "outputs": [
            {"interface": "out0", "address": "239.2.2.2", "port": 6000, "packets": 10}]}, {"name": "b", "packets": 9}]})");
    const auto diff = subtract_counters(now, base);
    CHECK(diff["uptime_ms"] == 9000);
    CHECK(diff["kernel"]["drops"] == 5);
    CHECK(diff["rules"][0]["name"] == "b");
    CHECK(diff["rules"][0]["packets"] == 5);
    CHECK(diff["rules"][1]["packets"] == 20);
    CHECK(diff["rules"][1]["outputs"][0]["packets"] == 20);
    CHECK(diff["rules"][1]["outputs"][0]["port"] == 6000);
}

// Restart carry-over: counters of earlier runs add up, identities and uptime
// come from the current run, elements only the earlier run had drop out.
TEST_CASE("add_counters")
{
    const auto now = nlohmann::json::parse(R"({"uptime_ms": 300, "kernel": {"drops": 1},
        "rules": [{"name": "a", "packets": 3, "outputs": [
            {"interface": "out0", "address": "239.2.2.2", "port": 6000, "packets": 3}]}]})");
    const auto earlier = nlohmann::json::parse(R"({"uptime_ms": 9000, "kernel": {"drops": 2},
        "rules": [{"name": "gone", "packets": 50}, {"name": "a", "packets": 40, "outputs": [
            {"interface": "out0", "address": "239.2.2.2", "port": 6000, "packets": 39}]}]})");
    const auto sum = add_counters(now, earlier);
    CHECK(sum["uptime_ms"] == 300);
    CHECK(sum["kernel"]["drops"] == 3);
    CHECK(sum["rules"].size() == 1);
    CHECK(sum["rules"][0]["packets"] == 43);
    CHECK(sum["rules"][0]["outputs"][0]["packets"] == 42);
    CHECK(sum["rules"][0]["outputs"][0]["port"] == 6000);
    CHECK(add_counters(now, nlohmann::json()) == now);
}

// A stream's health: its counters add up across restarts and baselines,
// its current values (payload type, SSRC, clock rate, PCR PID, PID count,
// state, jitter) are the current run's.
TEST_CASE("health counters add up, stream values are copied")
{
    const auto now = nlohmann::json::parse(R"({"rules": [{"name": "a", "health": {"kind": "rtp", "state": "ok",
        "lost": 2, "payload_type": 96, "ssrc": 7, "clock_rate": 90000, "jitter_us": 1.5},
        "outputs": [{"interface": "out0", "address": "239.2.2.2", "port": 6000, "health": {"gaps": 1}}]},
        {"name": "t", "health": {"kind": "mpegts", "cc_errors": 4, "pcr_pid": 256, "pids": 3}}]})");
    const auto earlier = nlohmann::json::parse(R"({"rules": [{"name": "a", "health": {"kind": "rtp", "state": "losing",
        "lost": 5, "payload_type": 96, "ssrc": 9, "clock_rate": 90000, "jitter_us": 9.0},
        "outputs": [{"interface": "out0", "address": "239.2.2.2", "port": 6000, "health": {"gaps": 2}}]},
        {"name": "t", "health": {"kind": "mpegts", "cc_errors": 1, "pcr_pid": 256, "pids": 3}}]})");
    const auto sum = add_counters(now, earlier);
    const auto& a = sum["rules"][0]["health"];
    CHECK(a["lost"] == 7);
    CHECK(a["payload_type"] == 96);
    CHECK(a["ssrc"] == 7);
    CHECK(a["clock_rate"] == 90000);
    CHECK(a["state"] == "ok");
    CHECK(a["jitter_us"] == 1.5);
    CHECK(sum["rules"][0]["outputs"][0]["health"]["gaps"] == 3);
    CHECK(sum["rules"][1]["health"]["cc_errors"] == 5);
    CHECK(sum["rules"][1]["health"]["pcr_pid"] == 256);
    CHECK(sum["rules"][1]["health"]["pids"] == 3);
    const auto diff = subtract_counters(now, nlohmann::json::parse(R"({"rules": [{"name": "t",
        "health": {"cc_errors": 3, "pcr_pid": 256, "pids": 3}}]})"));
    CHECK(diff["rules"][1]["health"]["cc_errors"] == 1);
    CHECK(diff["rules"][1]["health"]["pcr_pid"] == 256);
    CHECK(diff["rules"][1]["health"]["pids"] == 3);
}

// A worker restarted from its FD store keeps the fast path's maps, whose
// counters already include the old run's share: the carry-over keeps only
// the old run's userspace share, so the sum counts every packet once.
TEST_CASE("fast path share across a worker restart")
{
    const auto old_run = nlohmann::json::parse(R"({"uptime_ms": 9000,
        "fast_path": {"mode": "tc", "maps": "17", "program_id": 40, "relayed": 100, "pass": {"no-rule": 4}},
        "rules": [{"name": "a", "packets": 130, "bytes": 1300, "fast_path": {"packets": 100, "bytes": 1000},
                   "outputs": [{"interface": "out0", "address": "239.2.2.2", "port": 6000, "packets": 129,
                                "fast_path": {"packets": 100, "bytes": 1000, "errors": 1},
                                "drops": {"send_error": 2}}]}]})");
    // The new run: 10 more by the program (the maps went on), 5 by the worker.
    const auto new_run = nlohmann::json::parse(R"({"uptime_ms": 500,
        "fast_path": {"mode": "tc", "maps": "17", "program_id": 40, "relayed": 110, "pass": {"no-rule": 4}},
        "rules": [{"name": "a", "packets": 115, "bytes": 1150, "fast_path": {"packets": 110, "bytes": 1100},
                   "outputs": [{"interface": "out0", "address": "239.2.2.2", "port": 6000, "packets": 115,
                                "fast_path": {"packets": 110, "bytes": 1100, "errors": 1},
                                "drops": {"send_error": 1}}]}]})");
    REQUIRE(same_fast_path_maps(old_run, new_run));
    const auto carried = without_fast_path_share(old_run);
    CHECK(carried["rules"][0]["packets"] == 30);
    CHECK(carried["rules"][0]["bytes"] == 300);
    CHECK(carried["rules"][0]["fast_path"]["packets"] == 0);
    CHECK(carried["rules"][0]["outputs"][0]["packets"] == 29);
    CHECK(carried["rules"][0]["outputs"][0]["drops"]["send_error"] == 1);
    CHECK(carried["fast_path"]["relayed"] == 0);
    const auto total = add_counters(new_run, carried);
    CHECK(total["rules"][0]["packets"] == 145);  // 110 by the program + 30 + 5 by the workers
    CHECK(total["rules"][0]["fast_path"]["packets"] == 110);
    CHECK(total["rules"][0]["outputs"][0]["drops"]["send_error"] == 2);
    CHECK(total["fast_path"]["program_id"] == 40);  // an identity, never summed
    CHECK(total["fast_path"]["relayed"] == 110);
    // New maps (the program was attached afresh): both runs' shares count.
    auto fresh = new_run;
    fresh["fast_path"]["maps"] = "18";
    CHECK_FALSE(same_fast_path_maps(old_run, fresh));
    CHECK_FALSE(same_fast_path_maps(nlohmann::json::object(), nlohmann::json::object()));
}

// The copies the program held for want of a listener are in the maps too:
// only the worker's share of the old run's no_listener is carried.
TEST_CASE("fast path share of no_listener across a worker restart")
{
    const auto old_run = nlohmann::json::parse(R"({"fast_path": {"mode": "tc", "maps": "17", "relayed": 50},
        "rules": [{"name": "a", "packets": 50, "fast_path": {"packets": 50, "bytes": 500},
                   "outputs": [{"interface": "out0", "address": "239.2.2.2", "port": 6000, "packets": 10,
                                "no_listener": 43,
                                "fast_path": {"packets": 10, "bytes": 100, "errors": 0, "no_listener": 40}}]}]})");
    const auto new_run = nlohmann::json::parse(R"({"fast_path": {"mode": "tc", "maps": "17", "relayed": 60},
        "rules": [{"name": "a", "packets": 60, "fast_path": {"packets": 60, "bytes": 600},
                   "outputs": [{"interface": "out0", "address": "239.2.2.2", "port": 6000, "packets": 10,
                                "no_listener": 50,
                                "fast_path": {"packets": 10, "bytes": 100, "errors": 0, "no_listener": 50}}]}]})");
    const auto carried = without_fast_path_share(old_run);
    CHECK(carried["rules"][0]["outputs"][0]["no_listener"] == 3);
    const auto total = add_counters(new_run, carried);
    CHECK(total["rules"][0]["outputs"][0]["no_listener"] == 53); // 50 by the program + 3 by the old worker
}

// Defaults come from systemd's environment; bad values are refused by name.
TEST_CASE("parse_options")
{
    ::setenv("STATE_DIRECTORY", "/var/lib/mcrd:/other", 1);
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("LISTEN_FDS");
    const char* ok_args[] = {"mcrd", "--runtime-dir", "/run/x", "--namespace", "red"};
    int exit_code = -1;
    Result<Options> ok = parse_options(5, const_cast<char**>(ok_args), exit_code);
    REQUIRE(ok.ok());
    CHECK(exit_code == 0);
    CHECK(ok->state_dir == "/var/lib/mcrd");
    CHECK(ok->worker_socket == "/run/x/worker.sock");
    CHECK(ok->worker_mode == WorkerMode::spawn);
    CHECK(ok->idle_exit_sec == 0);
    CHECK(ok->bus == "system");
    CHECK(ok->fast_path);
    ::unsetenv("STATE_DIRECTORY");

    const char* off_args[] = {"mcrd", "--fast-path", "off"};
    Result<Options> off = parse_options(3, const_cast<char**>(off_args), exit_code);
    REQUIRE(off.ok());
    CHECK_FALSE(off->fast_path);
    const char* bad_fast_path[] = {"mcrd", "--fast-path", "on"};
    Result<Options> fast_path = parse_options(3, const_cast<char**>(bad_fast_path), exit_code);
    REQUIRE_FALSE(fast_path.ok());
    CHECK(exit_code == 2);
    CHECK(fast_path.error().message().find("--fast-path") != std::string::npos);
    CHECK(ok->fast_path_attach == FastPathAttach::automatic);
    const char* legacy_args[] = {"mcrd", "--fast-path-attach", "tc-legacy"};
    Result<Options> legacy = parse_options(3, const_cast<char**>(legacy_args), exit_code);
    REQUIRE(legacy.ok());
    CHECK(legacy->fast_path_attach == FastPathAttach::tc_legacy);
    const char* tcx_args[] = {"mcrd", "--fast-path-attach", "tc"};
    Result<Options> tcx = parse_options(3, const_cast<char**>(tcx_args), exit_code);
    REQUIRE(tcx.ok());
    CHECK(tcx->fast_path_attach == FastPathAttach::tc);
    const char* bad_attach[] = {"mcrd", "--fast-path-attach", "tcx"};
    Result<Options> attach = parse_options(3, const_cast<char**>(bad_attach), exit_code);
    REQUIRE_FALSE(attach.ok());
    CHECK(exit_code == 2);
    CHECK(attach.error().message().find("--fast-path-attach") != std::string::npos);
    CHECK(attach.error().message().find("tcx") != std::string::npos);

    const char* bad_ns[] = {"mcrd", "--namespace", "a/b"};
    Result<Options> ns = parse_options(3, const_cast<char**>(bad_ns), exit_code);
    REQUIRE_FALSE(ns.ok());
    CHECK(exit_code == 2);
    CHECK(ns.error().message() == "--namespace: must not contain '/', got 'a/b'");

    const char* bad_level[] = {"mcrd", "--log-level", "loud"};
    Result<Options> level = parse_options(3, const_cast<char**>(bad_level), exit_code);
    REQUIRE_FALSE(level.ok());
    CHECK(level.error().message() == "--log-level: must be one of err, warning, notice, info, debug, got 'loud'");

    const char* bad_idle[] = {"mcrd", "--idle-exit-sec", "-3"};
    Result<Options> idle = parse_options(3, const_cast<char**>(bad_idle), exit_code);
    REQUIRE_FALSE(idle.ok());
    CHECK(idle.error().message() == "--idle-exit-sec: must be a number of seconds, got '-3'");
}

// --bus none: spawn mode only, the control socket required; --worker-user
// defaults by the running uid and never names root.
TEST_CASE("parse_options: --bus none and --worker-user")
{
    ::unsetenv("NOTIFY_SOCKET");
    int exit_code = -1;
    const char* none_args[] = {"mcrd", "--bus", "none"};
    Result<Options> none = parse_options(3, const_cast<char**>(none_args), exit_code);
    REQUIRE(none.ok());
    CHECK(without_bus(*none));
    CHECK(none->worker_mode == WorkerMode::spawn);
    CHECK(none->worker_user == (::geteuid() == 0 ? "nobody" : "-"));
    CHECK(drops_worker_user(*none) == (::geteuid() == 0));

    const char* systemd_args[] = {"mcrd", "--bus", "none", "--worker-mode", "systemd"};
    Result<Options> systemd = parse_options(5, const_cast<char**>(systemd_args), exit_code);
    REQUIRE_FALSE(systemd.ok());
    CHECK(exit_code == 2);
    CHECK(systemd.error().message() == "--bus none: workers cannot be systemd units without a bus (systemd is "
                                       "asked over D-Bus); use --worker-mode spawn");

    const char* no_socket_args[] = {"mcrd", "--bus", "none", "--control-socket", "-"};
    Result<Options> no_socket = parse_options(5, const_cast<char**>(no_socket_args), exit_code);
    REQUIRE_FALSE(no_socket.ok());
    CHECK(no_socket.error().message() ==
          "--bus none: needs the control socket: it is the only API left (not --control-socket -)");

    const char* keep_args[] = {"mcrd", "--worker-user", "-"};
    Result<Options> keep = parse_options(3, const_cast<char**>(keep_args), exit_code);
    REQUIRE(keep.ok());
    CHECK_FALSE(drops_worker_user(*keep));

    const char* root_args[] = {"mcrd", "--worker-user", "root"};
    Result<Options> root = parse_options(3, const_cast<char**>(root_args), exit_code);
    REQUIRE_FALSE(root.ok());
    CHECK(root.error().message() == "--worker-user: workers never run as root; name an unprivileged user, or '-'");
}

// A user name or uid resolves to its uid and primary group; root and
// unknown users are refused by name.
TEST_CASE("resolve_worker_user")
{
    Result<WorkerIdentity> nobody = resolve_worker_user("nobody");
    REQUIRE(nobody.ok());
    CHECK(nobody->uid != 0);
    Result<WorkerIdentity> by_uid = resolve_worker_user(std::to_string(nobody->uid));
    REQUIRE(by_uid.ok());
    CHECK(by_uid->gid == nobody->gid);
    Result<WorkerIdentity> root = resolve_worker_user("0");
    REQUIRE_FALSE(root.ok());
    CHECK(root.error().message() ==
          "--worker-user: workers never run as root ('0'); name an unprivileged user, or '-' for mcrd's own");
    Result<WorkerIdentity> unknown = resolve_worker_user("mcrt-no-such-user");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message() == "--worker-user: no such user 'mcrt-no-such-user'");
}
