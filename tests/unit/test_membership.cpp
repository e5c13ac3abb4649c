// Proves the router-side engine: membership state by the RFC 3376 tables,
// timers and last-member queries, older-version compatibility, querier
// election both ways, startup and general query scheduling, and the group
// limit under a flood. Time is a fake steady clock moved by the tests.
#include "membership/interface_membership.hpp"
#include "membership/message_parse.hpp"
#include "membership_packets.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace mcr::membership;
using namespace membership_test;
using Kind = MembershipEvent::Kind;

namespace {

// Short timers, as tests configure mcrd: QI 10 s, QRI 1 s, LMQI 200 ms, R 2.
MembershipConfig test_config()
{
    MembershipConfig config;
    config.query_interval = Milliseconds{10'000};
    config.query_response_interval = Milliseconds{1'000};
    config.last_member_interval = Milliseconds{200};
    return config;
}

struct Fixture {
    explicit Fixture(const MembershipConfig& config = test_config(), const std::string& own = "192.0.2.1")
        : engine(mcr::AddressFamily::ipv4, config)
    {
        engine.set_own_address(ip(own), now);
        engine.start(now);
        engine.advance(now); // the first startup query
        (void)engine.take_queries();
        (void)engine.take_events();
    }

    void at(Milliseconds offset)
    {
        now = start + offset;
        engine.advance(now);
    }

    // Runs the engine at each deadline up to `offset` after start, as the
    // supervisor's timer would.
    void run_until(Milliseconds offset)
    {
        const TimePoint end = start + offset;
        for (auto next = engine.next_deadline(); next && *next <= end; next = engine.next_deadline()) {
            now = std::max(now, *next);
            engine.advance(now);
        }
        now = end;
        engine.advance(now);
    }

    void receive(const Bytes& payload, const std::string& source = "192.0.2.10")
    {
        auto message = parse_igmp(igmp_packet(payload, source));
        REQUIRE(message.ok());
        engine.receive(*message, ip(source), now);
    }

    void report(const std::vector<RecordSpec>& records, const std::string& source = "192.0.2.10")
    {
        receive(igmp_v3_report(records), source);
    }

    bool forwards(const std::string& group, const std::string& source = "0.0.0.0") const
    {
        return engine.forwards(ip(group), ip(source));
    }

    TimePoint start = TimePoint{} + std::chrono::hours{1};
    TimePoint now = start;
    InterfaceMembership engine;
};

std::vector<MembershipEvent> events_of(Fixture& f)
{
    return f.engine.take_events();
}

} // namespace

TEST_CASE("startup: querier at once, robustness startup queries at QI/4, then one each QI")
{
    const MembershipConfig config = test_config();
    InterfaceMembership engine(mcr::AddressFamily::ipv4, config);
    const TimePoint t0 = TimePoint{} + std::chrono::hours{1};
    engine.set_own_address(ip("192.0.2.1"), t0);
    engine.start(t0);
    CHECK(engine.is_querier());
    CHECK(engine.take_events() == std::vector<MembershipEvent>{{Kind::became_querier, ip("192.0.2.1")}});
    engine.advance(t0);
    auto first = engine.take_queries();
    REQUIRE(first.size() == 1);
    CHECK(first[0].group.is_unspecified());
    CHECK(first[0].destination == ip("224.0.0.1"));
    CHECK(first[0].max_response == Milliseconds{1'000});
    CHECK(*engine.next_deadline() == t0 + Milliseconds{2'500});
    engine.advance(t0 + Milliseconds{2'499});
    CHECK(engine.take_queries().empty());
    engine.advance(t0 + Milliseconds{2'500});
    CHECK(engine.take_queries().size() == 1);
    CHECK(*engine.next_deadline() == t0 + Milliseconds{12'500}); // startup done: QI
    CHECK(engine.counters().queries_sent == 2);
}

TEST_CASE("no address: never querier, sends nothing, still tracks reports")
{
    InterfaceMembership engine(mcr::AddressFamily::ipv4, test_config());
    const TimePoint t0 = TimePoint{} + std::chrono::hours{1};
    engine.start(t0);
    engine.advance(t0);
    CHECK_FALSE(engine.is_querier());
    CHECK(engine.take_queries().empty());
    auto message = parse_igmp(igmp_packet(igmp_v3_report({{2, "239.1.1.1", {}}})));
    REQUIRE(message.ok());
    engine.receive(*message, ip("192.0.2.10"), t0);
    CHECK(engine.forwards(ip("239.1.1.1"), ip("0.0.0.0")));
    engine.set_own_address(ip("192.0.2.1"), t0);
    CHECK(engine.is_querier());
}

TEST_CASE("join, then leave: listener gained at once, lost after the last-member queries (LMQT)")
{
    Fixture f;
    f.report({{4, "239.1.1.1", {}}}); // TO_EX({}): a join
    CHECK(f.forwards("239.1.1.1"));
    CHECK(events_of(f) == std::vector<MembershipEvent>{{Kind::listeners_gained, ip("239.1.1.1")}});
    CHECK(f.engine.take_queries().empty());

    f.at(Milliseconds{1'000});
    f.report({{3, "239.1.1.1", {}}}); // TO_IN({}): a leave
    auto queries = f.engine.take_queries();
    REQUIRE(queries.size() == 1);
    CHECK(queries[0].group == ip("239.1.1.1"));
    CHECK(queries[0].destination == ip("239.1.1.1"));
    CHECK(queries[0].max_response == Milliseconds{200});
    CHECK_FALSE(queries[0].suppress_router_processing);
    CHECK(f.forwards("239.1.1.1"));

    f.run_until(Milliseconds{1'399});
    CHECK(f.forwards("239.1.1.1"));
    auto retransmitted = f.engine.take_queries();
    CHECK(std::count_if(retransmitted.begin(), retransmitted.end(),
                        [](const OutgoingQuery& q) { return !q.group.is_unspecified(); }) == 1);
    f.at(Milliseconds{1'400}); // LMQT = 2 * 200 ms after the leave
    CHECK_FALSE(f.forwards("239.1.1.1"));
    CHECK(events_of(f) == std::vector<MembershipEvent>{{Kind::listeners_lost, ip("239.1.1.1")}});
    CHECK(f.engine.group_count() == 0);
}

TEST_CASE("second listener answers the group-specific query: the group stays, later queries carry S")
{
    Fixture f;
    f.report({{4, "239.1.1.1", {}}}, "192.0.2.10");
    f.report({{4, "239.1.1.1", {}}}, "192.0.2.11");
    f.report({{3, "239.1.1.1", {}}}, "192.0.2.10");
    CHECK(f.engine.take_queries().size() == 1);
    f.at(Milliseconds{100});
    f.report({{2, "239.1.1.1", {}}}, "192.0.2.11"); // IS_EX({}): still here
    f.run_until(Milliseconds{200});
    auto queries = f.engine.take_queries();
    REQUIRE(queries.size() == 1);
    CHECK(queries[0].suppress_router_processing); // group timer is GMI again
    f.run_until(Milliseconds{5'000});
    CHECK(f.forwards("239.1.1.1"));
    (void)events_of(f);
    // Without further reports the group times out after GMI (2*10 s + 1 s).
    f.run_until(Milliseconds{100 + 21'000 - 1});
    CHECK(f.forwards("239.1.1.1"));
    f.run_until(Milliseconds{100 + 21'000});
    CHECK_FALSE(f.forwards("239.1.1.1"));
}

TEST_CASE("INCLUDE mode (SSM): only the named sources forward; BLOCK queries them and they expire after LMQT")
{
    Fixture f;
    f.report({{1, "232.1.1.1", {"192.0.2.50", "192.0.2.51"}}}); // IS_IN
    CHECK(f.forwards("232.1.1.1", "192.0.2.50"));
    CHECK(f.forwards("232.1.1.1", "192.0.2.51"));
    CHECK_FALSE(f.forwards("232.1.1.1", "192.0.2.52"));
    CHECK(f.forwards("232.1.1.1")); // some listener
    (void)events_of(f);
    f.report({{6, "232.1.1.1", {"192.0.2.51", "192.0.2.99"}}}); // BLOCK: Q(G, A*B)
    auto queries = f.engine.take_queries();
    REQUIRE(queries.size() == 1);
    CHECK(queries[0].group == ip("232.1.1.1"));
    CHECK(queries[0].sources == std::vector{ip("192.0.2.51")});
    f.run_until(Milliseconds{400});
    CHECK(f.forwards("232.1.1.1", "192.0.2.50"));
    CHECK_FALSE(f.forwards("232.1.1.1", "192.0.2.51"));
    CHECK(events_of(f) == std::vector<MembershipEvent>{{Kind::sources_changed, ip("232.1.1.1")}});
}

TEST_CASE("EXCLUDE mode: excluded sources stop, others forward; TO_IN switches back after the group timer")
{
    Fixture f;
    f.report({{4, "239.2.2.2", {"192.0.2.66"}}}); // TO_EX({S}): all but S
    CHECK(f.forwards("239.2.2.2", "192.0.2.50"));
    CHECK_FALSE(f.forwards("239.2.2.2", "192.0.2.66"));
    auto views = f.engine.groups(f.now);
    REQUIRE(views.size() == 1);
    CHECK(views[0].mode == FilterMode::exclude);
    CHECK(views[0].group_remaining == Milliseconds{21'000});
    REQUIRE(views[0].sources.size() == 1);
    CHECK_FALSE(views[0].sources[0].remaining.has_value());

    f.report({{3, "239.2.2.2", {"192.0.2.50"}}}); // TO_IN({S50}): Q(G,X-A), Q(G)
    auto queries = f.engine.take_queries();
    REQUIRE(queries.size() == 1); // X is empty, so only Q(G)
    CHECK(queries[0].sources.empty());
    f.run_until(Milliseconds{400});
    views = f.engine.groups(f.now);
    REQUIRE(views.size() == 1);
    CHECK(views[0].mode == FilterMode::include);
    CHECK(f.forwards("239.2.2.2", "192.0.2.50"));
    CHECK_FALSE(f.forwards("239.2.2.2", "192.0.2.51"));
    CHECK_FALSE(f.forwards("239.2.2.2", "192.0.2.66"));
}

TEST_CASE("EXCLUDE table rows: IS_EX replaces the lists; BLOCK adds to X with the group timer; ALLOW moves Y to X")
{
    Fixture f;
    f.report({{2, "239.3.3.3", {"192.0.2.1", "192.0.2.2"}}}); // INCLUDE{} -> EXCLUDE({}, {1,2})
    f.report({{2, "239.3.3.3", {"192.0.2.2", "192.0.2.3"}}}); // EXCLUDE(A-Y={3}, Y*A={2}), 1 deleted
    auto view = f.engine.groups(f.now).at(0);
    REQUIRE(view.sources.size() == 2);
    CHECK(view.sources[0].source == ip("192.0.2.2"));
    CHECK_FALSE(view.sources[0].remaining.has_value());
    CHECK(view.sources[1].source == ip("192.0.2.3"));
    CHECK(view.sources[1].remaining == Milliseconds{21'000});
    CHECK(f.forwards("239.3.3.3", "192.0.2.1"));
    CHECK_FALSE(f.forwards("239.3.3.3", "192.0.2.2"));
    f.report({{5, "239.3.3.3", {"192.0.2.2"}}}); // ALLOW: Y -> X
    CHECK(f.forwards("239.3.3.3", "192.0.2.2"));
    (void)f.engine.take_queries();
    f.at(Milliseconds{1'000});
    f.report({{6, "239.3.3.3", {"192.0.2.9"}}}); // BLOCK new source: X gets it with the group timer, Q(G,{9})
    auto queries = f.engine.take_queries();
    REQUIRE(queries.size() == 1);
    CHECK(queries[0].sources == std::vector{ip("192.0.2.9")});
    f.run_until(Milliseconds{1'000 + 400});
    CHECK_FALSE(f.forwards("239.3.3.3", "192.0.2.9")); // its timer ran out: moved to Y
    CHECK(f.forwards("239.3.3.3", "192.0.2.2"));
}

TEST_CASE("IGMPv2 host on a group: compatibility mode ignores BLOCK and TO_EX sources; a leave still works")
{
    Fixture f;
    f.receive(igmp_short(0x16, "239.4.4.4"));
    CHECK(f.engine.groups(f.now).at(0).compatibility == ProtocolVersion::v2);
    f.report({{4, "239.4.4.4", {"192.0.2.66"}}}, "192.0.2.11"); // TO_EX({S}) read as TO_EX({})
    CHECK(f.forwards("239.4.4.4", "192.0.2.66"));
    f.report({{6, "239.4.4.4", {"192.0.2.50"}}}, "192.0.2.11");
    CHECK(f.engine.counters().records_ignored == 1);
    f.receive(igmp_short(0x17, "239.4.4.4"));
    CHECK(f.engine.take_queries().size() == 1);
    f.run_until(Milliseconds{400});
    CHECK_FALSE(f.forwards("239.4.4.4"));
    // After the older-host-present interval the group is IGMPv3 again.
    f.receive(igmp_short(0x16, "239.4.4.5"));
    f.run_until(Milliseconds{400 + 21'000});
    f.report({{2, "239.4.4.5", {}}});
    CHECK(f.engine.groups(f.now).at(0).compatibility == ProtocolVersion::v3);
}

TEST_CASE("IGMPv1 host on a group: leaves are ignored until the v1 host timer runs out")
{
    Fixture f;
    f.receive(igmp_short(0x12, "239.5.5.5"));
    f.receive(igmp_short(0x17, "239.5.5.5"), "192.0.2.11");
    CHECK(f.engine.take_queries().empty());
    f.run_until(Milliseconds{2'000});
    CHECK(f.forwards("239.5.5.5"));
    CHECK(f.engine.counters().records_ignored == 1);
}

TEST_CASE("election: a lower-addressed querier takes over; we resume after the other-querier-present interval")
{
    Fixture f(test_config(), "192.0.2.5");
    f.report({{4, "239.1.1.1", {}}});
    (void)events_of(f);
    OutgoingQuery general;
    general.group = ip("0.0.0.0");
    general.destination = ip("224.0.0.1");
    general.max_response = Milliseconds{1'000};
    general.robustness = 3;
    general.query_interval = Milliseconds{20'000};
    f.receive(build_query(general, ip("192.0.2.9")), "192.0.2.9"); // higher: ignored
    CHECK(f.engine.is_querier());
    f.receive(build_query(general, ip("192.0.2.2")), "192.0.2.2"); // lower: we defer
    CHECK_FALSE(f.engine.is_querier());
    CHECK(f.engine.other_querier() == ip("192.0.2.2"));
    CHECK(events_of(f) == std::vector<MembershipEvent>{{Kind::other_querier, ip("192.0.2.2")}});
    CHECK(f.engine.effective_config().robustness == 3); // adopted from the querier
    CHECK(f.engine.effective_config().query_interval == Milliseconds{20'000});

    // As non-querier: a leave sends nothing; we wait for the querier's queries.
    f.report({{3, "239.1.1.1", {}}});
    CHECK(f.engine.take_queries().empty());
    CHECK(f.forwards("239.1.1.1"));
    // Its group-specific query (S clear) lowers our group timer to LMQT (3 * 200 ms).
    OutgoingQuery specific = general;
    specific.group = ip("239.1.1.1");
    specific.destination = specific.group;
    f.receive(build_query(specific, ip("192.0.2.2")), "192.0.2.2");
    f.run_until(Milliseconds{600});
    CHECK_FALSE(f.forwards("239.1.1.1"));

    // OQPI with adopted values: 3 * 20 s + 1 s / 2 = 60.5 s after its last query.
    f.run_until(Milliseconds{60'499});
    CHECK_FALSE(f.engine.is_querier());
    CHECK(f.engine.take_queries().empty());
    f.run_until(Milliseconds{60'500});
    CHECK(f.engine.is_querier());
    CHECK(f.engine.effective_config().robustness == 2); // our own values again
    auto queries = f.engine.take_queries();
    REQUIRE(queries.size() == 1);
    CHECK(queries[0].group.is_unspecified());
    auto events = events_of(f);
    CHECK(std::find(events.begin(), events.end(), MembershipEvent{Kind::became_querier, ip("192.0.2.5")}) !=
          events.end());
}

TEST_CASE("election: on taking over, listeners the old querier tracked keep forwarding until our first query is answered")
{
    Fixture f(test_config(), "192.0.2.5"); // our QRI: 1 s
    OutgoingQuery general;
    general.group = ip("0.0.0.0");
    general.destination = ip("224.0.0.1");
    general.max_response = Milliseconds{1'000};
    general.robustness = 2;
    general.query_interval = Milliseconds{1'000};
    f.receive(build_query(general, ip("192.0.2.2")), "192.0.2.2"); // its last query, at 0
    REQUIRE_FALSE(f.engine.is_querier());
    // The host answers 200 ms later: GMI (2 * 1 s + 1 s) runs to 3.2 s.
    f.at(Milliseconds{200});
    f.report({{2, "239.1.1.1", {}}});
    (void)events_of(f);
    // OQPI (2 * 1 s + 0.5 s) after its last query we take over and query;
    // the answer may take our QRI, to 3.5 s, past the group's 3.2 s.
    f.run_until(Milliseconds{2'500});
    REQUIRE(f.engine.is_querier());
    REQUIRE(f.engine.take_queries().size() == 1);
    f.run_until(Milliseconds{3'400});
    CHECK(f.forwards("239.1.1.1"));
    auto events = events_of(f);
    CHECK(std::find(events.begin(), events.end(), MembershipEvent{Kind::listeners_lost, ip("239.1.1.1")}) ==
          events.end());

    SUBCASE("the host answers our query: the group stays")
    {
        f.report({{2, "239.1.1.1", {}}});
        f.run_until(Milliseconds{5'000});
        CHECK(f.forwards("239.1.1.1"));
    }
    SUBCASE("no answer: the group ends when our query's response interval does, not later")
    {
        f.run_until(Milliseconds{3'499});
        CHECK(f.forwards("239.1.1.1"));
        f.run_until(Milliseconds{3'500});
        CHECK_FALSE(f.forwards("239.1.1.1"));
    }
}

TEST_CASE("election: queries from 0.0.0.0 (a snooping switch) and our own address do not make us defer")
{
    Fixture f;
    f.receive(igmp_short(0x11, "0.0.0.0", 100), "0.0.0.0");
    CHECK(f.engine.is_querier());
    CHECK(f.engine.counters().queries_received == 1);
    f.receive(igmp_short(0x11, "0.0.0.0", 100), "192.0.2.1");
    CHECK(f.engine.is_querier());
    CHECK(f.engine.counters().queries_received == 1);
}

TEST_CASE("link-local groups and the other family's groups keep no state")
{
    Fixture f;
    f.report({{2, "224.0.0.251", {}}, {2, "239.1.1.1", {}}});
    CHECK(f.engine.group_count() == 1);
    CHECK(f.engine.counters().records_ignored == 1);
    CHECK(f.engine.counters().records == 1);
}

TEST_CASE("flood: 10 000 reports for distinct groups keep at most max_groups, report the limit once")
{
    Fixture f;
    for (unsigned i = 0; i < 10'000; ++i) {
        const std::string group = "239.10." + std::to_string(i / 256) + "." + std::to_string(i % 256);
        f.report({{2, group, {}}}, "192.0.2." + std::to_string(10 + i % 200));
    }
    CHECK(f.engine.group_count() == 1024);
    CHECK(f.engine.counters().groups_refused == 10'000 - 1024);
    auto events = events_of(f);
    CHECK(std::count_if(events.begin(), events.end(),
                        [](const MembershipEvent& e) { return e.kind == Kind::listeners_gained; }) == 1024);
    CHECK(std::count_if(events.begin(), events.end(),
                        [](const MembershipEvent& e) { return e.kind == Kind::group_limit_reached; }) == 1);
    // Known groups are still served, refused ones are not.
    CHECK(f.forwards("239.10.0.0"));
    CHECK_FALSE(f.forwards("239.10.39.15"));
    // Once they time out there is room again, and a new limit is reported anew.
    f.run_until(Milliseconds{21'000});
    CHECK(f.engine.group_count() == 0);
    f.report({{2, "239.10.39.15", {}}});
    CHECK(f.forwards("239.10.39.15"));
}

TEST_CASE("sources per group are bounded; an INCLUDE record past the bound adds nothing more")
{
    MembershipConfig config = test_config();
    config.max_sources_per_group = 4;
    Fixture f(config);
    std::vector<std::string> sources;
    for (int i = 1; i <= 6; ++i)
        sources.push_back("192.0.2." + std::to_string(100 + i));
    f.report({{1, "232.1.1.1", sources}});
    CHECK(f.engine.groups(f.now).at(0).sources.size() == 4);
    CHECK(f.engine.counters().sources_refused == 2);
}

TEST_CASE("rejected messages are counted by reason and change nothing")
{
    Fixture f;
    f.engine.note_rejected(ParseError::bad_checksum);
    f.engine.note_rejected(ParseError::bad_checksum);
    f.engine.note_rejected(ParseError::truncated);
    CHECK(f.engine.counters().rejected[static_cast<std::size_t>(ParseError::bad_checksum)] == 2);
    CHECK(f.engine.counters().rejected[static_cast<std::size_t>(ParseError::truncated)] == 1);
    CHECK(f.engine.group_count() == 0);
}

TEST_CASE("MLD: the same engine on IPv6 tracks an MLDv1 listener and sends MLDv2 queries to ff02::1")
{
    InterfaceMembership engine(mcr::AddressFamily::ipv6, test_config());
    const TimePoint t0 = TimePoint{} + std::chrono::hours{1};
    engine.set_own_address(ip("fe80::1"), t0);
    engine.start(t0);
    engine.advance(t0);
    auto general = engine.take_queries();
    REQUIRE(general.size() == 1);
    CHECK(general[0].destination == ip("ff02::1"));
    CHECK(general[0].group == IpAddress::from_ipv6({}));
    const IpAddress host = ip("fe80::10");
    auto report = parse_mld({mld_v1(131, "ff3e::4001", host, ip("ff3e::4001")), host, ip("ff3e::4001"), 1, true});
    REQUIRE(report.ok());
    engine.receive(*report, host, t0);
    CHECK(engine.forwards(ip("ff3e::4001"), IpAddress::from_ipv6({})));
    CHECK(engine.groups(t0).at(0).compatibility == ProtocolVersion::v2);
    auto done = parse_mld({mld_v1(132, "ff3e::4001", host, ip("ff02::2")), host, ip("ff02::2"), 1, true});
    REQUIRE(done.ok());
    engine.receive(*done, host, t0);
    auto specific = engine.take_queries();
    REQUIRE(specific.size() == 1);
    CHECK(specific[0].destination == ip("ff3e::4001"));
    const Bytes wire = build_query(specific[0], ip("fe80::1"));
    CHECK(parse_mld({wire, ip("fe80::1"), specific[0].destination, 1, true}).ok());
    engine.advance(t0 + Milliseconds{200});
    engine.advance(t0 + Milliseconds{400});
    CHECK_FALSE(engine.forwards(ip("ff3e::4001"), IpAddress::from_ipv6({})));
    // A lower link-local querier wins on IPv6 as on IPv4.
    const OutgoingQuery query = general[0];
    auto lower = parse_mld({build_query(query, ip("fe80::")), ip("fe80::"), query.destination, 1, true});
    REQUIRE(lower.ok());
    engine.receive(*lower, ip("fe80::"), t0 + Milliseconds{500});
    CHECK_FALSE(engine.is_querier());
}
