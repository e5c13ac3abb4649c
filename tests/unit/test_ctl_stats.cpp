// Proves mcrctl's stats handling: tolerant parsing of the daemon's JSON,
// rates from counter deltas (no negative rates after resets), and the
// aligned table layout.
#include "output_table.hpp"
#include "stats_view.hpp"

#include <doctest/doctest.h>

using namespace mcr::ctl;

namespace {
const char* kStats = R"({"rules":[{"name":"video1","packets":100,"bytes":150000,
    "drops":{"no_buffer":2,"send_error":3},"path":"tc","path_reason":"",
    "outputs":[{"interface":"eth1","address":"239.2.2.2","port":6000,"packets":98,"bytes":147000,"drops":{"too_big":1}}]},
    {"name":"audio","packets":7,"path":"userspace","path_reason":"output-interface-down"},
    {"name":"old","packets":1}],
  "workers":[{"interface":"eth0","kernel":{"packets":120,"drops":4},"fast_path":{"mode":"tc","reason":""},
              "receive":{"mode":"quiet","to_ring":2,"to_quiet":2,"discarded":0},
              "receive6":{"mode":"ring","to_ring":1,"to_quiet":0,"discarded":0}},
             {"interface":"eth1","fast_path":{"mode":"userspace","reason":"foreign-program"},
              "receive":{"mode":"socket","to_ring":0,"to_quiet":0,"discarded":0}},
             {"interface":"eth2"}]})";
}

TEST_CASE("stats JSON parses with drops summed over reasons")
{
    // Per-reason drop objects collapse to one total per rule and output.
    auto stats = parse_stats(kStats);
    REQUIRE(stats.ok());
    REQUIRE(stats->rules.size() == 3);
    CHECK(stats->rules[0].name == "video1");
    CHECK(stats->rules[0].packets == 100);
    CHECK(stats->rules[0].bytes == 150000);
    CHECK(stats->rules[0].drops == 5);
    REQUIRE(stats->rules[0].outputs.size() == 1);
    CHECK(stats->rules[0].outputs[0].drops == 1);
    CHECK(stats->rules[0].outputs[0].port == 6000);
    CHECK(stats->rules[1].bytes == 0);   // missing counters read as 0
    REQUIRE(stats->workers.size() == 3);
    CHECK(stats->workers[0].kernel_packets == 120);
    CHECK(stats->workers[0].kernel_drops == 4);
}

TEST_CASE("each rule's path and each worker's fast path are read, absent ones as unknown")
{
    auto stats = *parse_stats(kStats);
    CHECK(stats.rules[0].path == "tc");
    CHECK(stats.rules[1].path == "userspace");
    CHECK(stats.rules[1].path_reason == "output-interface-down");
    CHECK(stats.rules[2].path.empty()); // a daemon without the fast path's fields
    CHECK(stats.workers[1].fast_path_mode == "userspace");
    CHECK(stats.workers[1].fast_path_reason == "foreign-program");
    CHECK(stats.workers[2].fast_path_mode.empty());
    CHECK(path_text("tc", "") == "tc");
    CHECK(path_text("userspace", "off") == "userspace (off)");
    CHECK(path_text("", "") == "-");
}

TEST_CASE("stats parsing tolerates numbers for drops and rejects non-objects")
{
    // A draft schema variant and garbage.
    auto numeric = parse_stats(R"({"rules":[{"name":"a","drops":9}]})");
    REQUIRE(numeric.ok());
    CHECK(numeric->rules[0].drops == 9);
    CHECK(parse_stats("{}").ok());
    CHECK(!parse_stats("[1,2]").ok());
    CHECK(!parse_stats("not json").ok());
}

TEST_CASE("rates come from deltas between snapshots")
{
    // 50 packets and 75000 bytes more over 2 s = 25 pkt/s, 300000 bit/s.
    auto before = *parse_stats(R"({"rules":[{"name":"video1","packets":100,"bytes":150000}]})");
    auto after = *parse_stats(R"({"rules":[{"name":"video1","packets":150,"bytes":225000},{"name":"new","packets":5}]})");
    auto rates = rule_rates(before, after, 2.0);
    REQUIRE(rates.size() == 1);
    CHECK(rates.at("video1").packets_per_second == doctest::Approx(25.0));
    CHECK(rates.at("video1").bits_per_second == doctest::Approx(300000.0));
}

TEST_CASE("counters that went backwards give no rate")
{
    // A daemon restart or ResetStats must not show negative rates.
    auto before = *parse_stats(R"({"rules":[{"name":"video1","packets":100,"bytes":150000}]})");
    auto after = *parse_stats(R"({"rules":[{"name":"video1","packets":3,"bytes":4500}]})");
    CHECK(rule_rates(before, after, 1.0).empty());
    CHECK(rule_rates(before, before, 0.0).empty());
}

TEST_CASE("tables align columns, right-align numbers and trim trailing spaces")
{
    // The exact layout of a small table.
    OutputTable table({{"NAME"}, {"PACKETS", true}, {"STATE"}});
    table.add_row({"video1", "5", "active"});
    table.add_row({"a", "12345678", ""});
    CHECK(table.render() == "NAME     PACKETS  STATE\n"
                            "video1         5  active\n"
                            "a       12345678\n");
}

TEST_CASE("stats render as rule, output and worker tables")
{
    // Rates show '-' for rules without a previous sample; the path column
    // says which path relays each rule, the workers' table each interface's
    // fast path ('-' where the daemon does not say).
    auto stats = *parse_stats(kStats);
    std::map<std::string, RuleRate> rates = {{"video1", {25, 300000}}};
    CHECK(render_stats(stats, &rates) ==
          "RULE    PACKETS   BYTES  DROPS  PKT/S   BIT/S  PATH\n"
          "video1      100  150000      5     25  300.0K  tc\n"
          "audio         7       0      0      -       -  userspace (output-interface-down)\n"
          "old           1       0      0      -       -  -\n"
          "\n"
          "RULE    OUTPUT               PACKETS   BYTES  DROPS\n"
          "video1  eth1:239.2.2.2:6000       98  147000      1\n"
          "\n"
          "INTERFACE  KERNEL-PACKETS  KERNEL-DROPS  FAST-PATH                    RECEIVE       RECEIVE6\n"
          "eth0                  120             4  tc                           quiet (2/2)   ring (1/0)\n"
          "eth1                    0             0  userspace (foreign-program)  socket (0/0)  -\n"
          "eth2                    0             0  -                            -             -\n");
}

TEST_CASE("an IPv6 output is shown in brackets in the output table")
{
    // The same IF:[ADDRESS]:PORT spelling as mcrctl list and add.
    auto stats = parse_stats(R"({"rules":[{"name":"v6","packets":3,"bytes":300,"path":"userspace",
        "outputs":[{"interface":"eth1","address":"ff3e::2","port":6000,"packets":3,"bytes":300},
                   {"interface":"eth2","address":"239.2.2.2","port":6000,"packets":3,"bytes":300}]}]})");
    REQUIRE(stats.ok());
    CHECK(render_stats(*stats, nullptr) ==
          "RULE  PACKETS  BYTES  DROPS  PATH\n"
          "v6          3    300      0  userspace\n"
          "\n"
          "RULE  OUTPUT               PACKETS  BYTES  DROPS\n"
          "v6    eth1:[ff3e::2]:6000        3    300      0\n"
          "v6    eth2:239.2.2.2:6000        3    300      0\n");
}

TEST_CASE("human_count abbreviates with one decimal")
{
    // Used for rates in tables.
    CHECK(human_count(999) == "999");
    CHECK(human_count(1500) == "1.5K");
    CHECK(human_count(2500000) == "2.5M");
}

TEST_CASE("health objects are read (TS in RTP: the RTP layer's loss) and shown in their own table, with output gaps")
{
    auto stats = parse_stats(R"({"rules":[
        {"name":"cam","packets":10,"path":"userspace","path_reason":"inspect",
         "health":{"kind":"rtp","state":"losing","lost":3,"reordered":1,"duplicates":2,"malformed":4,
                   "payload_type":96,"ssrc":3735928559,"jitter_us":12.34},
         "outputs":[{"interface":"eth1","address":"239.2.2.2","port":6000,"packets":9,"health":{"gaps":1}}]},
        {"name":"ts","health":{"kind":"mpegts","state":"ok","cc_errors":5,"malformed":0,"pids":3,"pcr_pid":256,
                               "rtp":{"lost":7,"reordered":0,"jitter_us":1.0}}},
        {"name":"plain","outputs":[{"interface":"eth2","address":"239.3.3.3","port":1}]}]})");
    REQUIRE(stats.ok());
    REQUIRE(stats->rules[0].health);
    const HealthStatsRow& cam = *stats->rules[0].health;
    CHECK(cam.state == "losing");
    CHECK(cam.lost == 3);
    CHECK(cam.detail == "pt 96, ssrc 0xdeadbeef");
    CHECK(stats->rules[0].outputs[0].gaps == 1U);
    CHECK(stats->rules[1].health->lost == 7);
    CHECK(stats->rules[1].health->detail == "pcr pid 256, 3 pids");
    CHECK_FALSE(stats->rules[2].health);
    CHECK_FALSE(stats->rules[2].outputs[0].gaps);
    CHECK(health_text(cam) == "rtp losing: lost 3, reordered 1, duplicates 2, malformed 4, jitter 12.3 us "
                              "(pt 96, ssrc 0xdeadbeef)");
    const std::string table = render_stats(*stats, nullptr);
    CHECK(table.find("GAPS") != std::string::npos);
    CHECK(table.find("CC-ERRORS") != std::string::npos);
    CHECK(table.find("pcr pid 256, 3 pids") != std::string::npos);
    // Without inspected rules, neither the health table nor GAPS appear.
    const std::string plain = render_stats(*parse_stats(R"({"rules":[{"name":"p"}]})"), nullptr);
    CHECK(plain.find("GAPS") == std::string::npos);
    CHECK(plain.find("HEALTH") == std::string::npos);
}

namespace {
// An output that requires listeners (with none now), one that always sends,
// and the IGMP and MLD membership of out1.
const char* kGatedStats = R"({"rules":[{"name":"video","packets":10,
    "outputs":[{"interface":"out0","address":"239.2.2.1","port":6000,"packets":10},
               {"interface":"out1","address":"239.2.2.2","port":6000,"packets":4,"no_listener":6,"listening":false},
               {"interface":"out1","address":"ff3e::2","port":6000,"packets":10,"no_listener":0,"listening":true}]}],
  "membership":[{"interface":"out1","protocol":"igmp","querier":true,"groups":[
                   {"group":"239.9.9.9","mode":"exclude","version":3,"sources":[]}]},
                {"interface":"out1","protocol":"mld","querier":false,"groups":[
                   {"group":"ff3e::2","mode":"include","version":2,"sources":[{"source":"2001:db8::1"},{"source":"2001:db8::2"}]}]},
                "garbage"]})";
}

TEST_CASE("outputs that require listeners are read with their state and held count")
{
    auto stats = parse_stats(kGatedStats);
    REQUIRE(stats.ok());
    const auto& outputs = stats->rules[0].outputs;
    REQUIRE(outputs.size() == 3);
    CHECK_FALSE(outputs[0].listeners.has_value());
    REQUIRE(outputs[1].listeners.has_value());
    CHECK_FALSE(outputs[1].listeners->listening);
    CHECK(outputs[1].listeners->no_listener == 6);
    CHECK(outputs[2].listeners->listening);
    REQUIRE(stats->membership.size() == 2);   // the non-object entry is skipped
    CHECK(stats->membership[0].querier);
    CHECK(stats->membership[1].groups[0].sources == 2);
}

TEST_CASE("an output's membership is its interface's of its own protocol")
{
    const auto stats = *parse_stats(kGatedStats);
    // IPv4 group: IGMP's one group, not this one.
    const OutputMembership igmp = membership_of(stats.membership, "out1", "239.2.2.2");
    CHECK(igmp.groups == 1);
    CHECK_FALSE(igmp.group.has_value());
    CHECK(group_text(igmp) == "no report");
    const OutputMembership mld = membership_of(stats.membership, "out1", "ff3e::2");
    CHECK(mld.groups == 1);
    REQUIRE(mld.group.has_value());
    CHECK(group_text(mld) == "MLDv2 include, 2 sources");
    CHECK(listener_summary(*stats.rules[0].outputs[2].listeners, mld, "out1") ==
          "sending (MLDv2 include, 2 sources; 1 group on out1), 0 held without listener");
    CHECK(membership_of(stats.membership, "out9", "239.2.2.2").groups == 0);
}

TEST_CASE("the outputs table gains LISTENERS and NO-LISTENER only when an output requires listeners")
{
    const std::string gated = render_stats(*parse_stats(kGatedStats), nullptr);
    CHECK(gated.find("RULE   OUTPUT               PACKETS  BYTES  DROPS  LISTENERS          NO-LISTENER\n") !=
          std::string::npos);
    CHECK(gated.find("video  out0:239.2.2.1:6000       10      0      0  always                       -\n") !=
          std::string::npos);
    CHECK(gated.find("video  out1:239.2.2.2:6000        4      0      0  required, holding            6\n") !=
          std::string::npos);
    CHECK(gated.find("video  out1:[ff3e::2]:6000       10      0      0  required, sending            0\n") !=
          std::string::npos);
    CHECK(render_stats(*parse_stats(kStats), nullptr).find("LISTENERS") == std::string::npos);
}
