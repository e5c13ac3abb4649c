// Proves IGMP/MLD message validation and parsing against crafted and
// hostile datagrams (bad checksums, truncation, source counts longer than
// the packet), the time codes, and that built queries parse back equal.
#include "membership/ip_envelope.hpp"
#include "membership/membership_config.hpp"
#include "membership/message_parse.hpp"
#include "membership/query_build.hpp"
#include "membership/time_codes.hpp"
#include "membership_packets.hpp"

#include <doctest/doctest.h>

using namespace mcr::membership;
using namespace membership_test;

namespace {

ParseError igmp_error(const Bytes& m, int ttl = 1, bool router_alert = true, const std::string& source = "192.0.2.10")
{
    ReceivedPacket packet{m, ip(source), ip("224.0.0.22"), ttl, router_alert};
    auto result = parse_igmp(packet);
    REQUIRE_FALSE(result.ok());
    return result.error();
}

const IpAddress kLinkLocal = ip("fe80::10");
const IpAddress kMldReports = ip("ff02::16");

ReceivedPacket mld_packet(const Bytes& m, const IpAddress& source = kLinkLocal, int hops = 1, bool alert = true)
{
    return {m, source, kMldReports, hops, alert};
}

} // namespace

TEST_CASE("time codes: small values verbatim, large ones as mantissa and exponent, round trip within precision")
{
    CHECK(decode_code8(100) == 100);
    CHECK(decode_code8(0x80) == 128);         // (0|0x10) << 3
    CHECK(decode_code8(0xff) == 31744);       // (0xf|0x10) << 10
    CHECK(encode_code8(125) == 125);
    CHECK(decode_code8(encode_code8(1250)) == 1216); // rounds down to a representable value
    CHECK(encode_code8(40000) == 0xff);
    CHECK(decode_code16(10000) == 10000);
    CHECK(decode_code16(0xffff) == 8387584);
    for (std::uint32_t v : {0U, 127U, 128U, 129U, 500U, 4000U, 31744U})
        CHECK(decode_code8(encode_code8(v)) <= v);
    for (std::uint32_t v : {0U, 32767U, 32768U, 100000U, 8387584U}) {
        CHECK(decode_code16(encode_code16(v)) <= v);
        CHECK(decode_code16(encode_code16(v)) * 1.01 >= v * 0.99);
    }
}

TEST_CASE("config: RFC defaults validate and derive the RFC intervals; out-of-range values name their field")
{
    MembershipConfig config;
    CHECK(validate(config).ok());
    CHECK(config.group_membership_interval() == Milliseconds{260'000});
    CHECK(config.other_querier_present_interval() == Milliseconds{255'000});
    CHECK(config.startup_query_interval() == Milliseconds{31'250});
    CHECK(config.last_member_query_time() == Milliseconds{2'000});
    config.robustness = 0;
    CHECK(validate(config).error().path == "robustness");
    config = {};
    config.query_response_interval = Milliseconds{125'000};
    CHECK(validate(config).error().message() ==
          "query_response_interval: must be below query_interval (125000 ms), not 125000 ms");
    config = {};
    config.last_member_interval = Milliseconds{50};
    CHECK(validate(config).error().path == "last_member_interval");
    config = {};
    config.max_groups = 0;
    CHECK(validate(config).error().path == "max_groups");
}

TEST_CASE("IGMPv3 report: records with sources parse in order")
{
    const Bytes m = igmp_v3_report({{1, "239.1.1.1", {"192.0.2.1", "192.0.2.2"}}, {4, "239.1.1.2", {}}});
    auto result = parse_igmp(igmp_packet(m));
    REQUIRE(result.ok());
    CHECK(result->kind == Message::Kind::report);
    CHECK(result->version == ProtocolVersion::v3);
    REQUIRE(result->records.size() == 2);
    CHECK(result->records[0].type == RecordType::is_include);
    CHECK(result->records[0].group == ip("239.1.1.1"));
    CHECK(result->records[0].sources == std::vector{ip("192.0.2.1"), ip("192.0.2.2")});
    CHECK(result->records[1].type == RecordType::to_exclude);
    CHECK(result->records[1].sources.empty());
}

TEST_CASE("IGMPv1/v2 reports become IS_EX({}) and a leave TO_IN({}), tagged with their version")
{
    auto v1 = parse_igmp({igmp_short(0x12, "239.1.1.1"), ip("192.0.2.10"), ip("239.1.1.1"), 1, false});
    REQUIRE(v1.ok()); // IGMPv1 needs no router alert
    CHECK(v1->version == ProtocolVersion::v1);
    CHECK(v1->records[0].type == RecordType::is_exclude);
    auto v2 = parse_igmp(igmp_packet(igmp_short(0x16, "239.1.1.1")));
    REQUIRE(v2.ok());
    CHECK(v2->version == ProtocolVersion::v2);
    CHECK(v2->records[0].type == RecordType::is_exclude);
    auto leave = parse_igmp(igmp_packet(igmp_short(0x17, "239.1.1.1"), "192.0.2.10", "224.0.0.2"));
    REQUIRE(leave.ok());
    CHECK(leave->records[0].type == RecordType::to_include);
    CHECK(leave->records[0].group == ip("239.1.1.1"));
}

TEST_CASE("IGMP queries: v1 (code 0), v2 (code set) and v3 with S, QRV, QQIC and sources")
{
    auto v1 = parse_igmp({igmp_short(0x11, "0.0.0.0"), ip("192.0.2.1"), ip("224.0.0.1"), 1, false});
    REQUIRE(v1.ok());
    CHECK(v1->version == ProtocolVersion::v1);
    CHECK(v1->query.max_response == Milliseconds{10'000});
    auto v2 = parse_igmp(igmp_packet(igmp_short(0x11, "239.1.1.1", 10), "192.0.2.1", "239.1.1.1"));
    REQUIRE(v2.ok());
    CHECK(v2->version == ProtocolVersion::v2);
    CHECK(v2->query.max_response == Milliseconds{1'000});
    CHECK(v2->query.group == ip("239.1.1.1"));

    OutgoingQuery query;
    query.group = ip("239.1.1.1");
    query.destination = ip("239.1.1.1");
    query.sources = {ip("192.0.2.7"), ip("192.0.2.8")};
    query.suppress_router_processing = true;
    query.max_response = Milliseconds{1'000};
    query.robustness = 3;
    query.query_interval = Milliseconds{60'000};
    const Bytes built = build_query(query, ip("192.0.2.1"));
    CHECK(built.size() == 12 + 8);
    auto v3 = parse_igmp(igmp_packet(built, "192.0.2.1", "239.1.1.1"));
    REQUIRE(v3.ok());
    CHECK(v3->version == ProtocolVersion::v3);
    CHECK(v3->query.group == query.group);
    CHECK(v3->query.sources == query.sources);
    CHECK(v3->query.suppress_router_processing);
    CHECK(v3->query.max_response == Milliseconds{1'000});
    CHECK(v3->query.robustness == 3);
    CHECK(v3->query.query_interval == Milliseconds{60'000});
}

TEST_CASE("IGMP validation: checksum, TTL, router alert, lengths and groups each give their error")
{
    Bytes bad_sum = igmp_v3_report({{2, "239.1.1.1", {}}});
    bad_sum[2] ^= 0x01;
    CHECK(igmp_error(bad_sum) == ParseError::bad_checksum);
    const Bytes good = igmp_v3_report({{2, "239.1.1.1", {}}});
    CHECK(igmp_error(good, 2) == ParseError::bad_hop_limit);
    CHECK(igmp_error(good, 64) == ParseError::bad_hop_limit);
    CHECK(igmp_error(good, 1, false) == ParseError::missing_router_alert);
    CHECK(igmp_error(igmp_short(0x16, "239.1.1.1"), 1, false) == ParseError::missing_router_alert);
    CHECK(igmp_error(good, 1, true, "224.0.0.5") == ParseError::bad_source);
    CHECK(igmp_error(Bytes{0x22, 0, 0}) == ParseError::truncated);
    CHECK(igmp_error(igmp_short(0x16, "192.0.2.1")) == ParseError::bad_group);
    CHECK(igmp_error(igmp_short(0x11, "192.0.2.1", 10)) == ParseError::bad_group);
    Bytes nine = igmp_short(0x11, "0.0.0.0", 10);
    nine.push_back(0);
    set_igmp_checksum(nine);
    CHECK(igmp_error(nine) == ParseError::bad_length);
    Bytes long_v2 = igmp_short(0x16, "239.1.1.1");
    long_v2.insert(long_v2.end(), 4, 0);
    set_igmp_checksum(long_v2);
    CHECK(igmp_error(long_v2) == ParseError::bad_length);
    CHECK(igmp_error(igmp_v3_report({{7, "239.1.1.1", {}}})) == ParseError::bad_record);
    CHECK(igmp_error(igmp_v3_report({{1, "239.1.1.1", {"239.9.9.9"}}})) == ParseError::bad_record);
    CHECK(igmp_error(igmp_v3_report({{1, "239.1.1.1", {"0.0.0.0"}}})) == ParseError::bad_record);
    CHECK(igmp_error(igmp_short(0x13, "0.0.0.0")) == ParseError::not_membership); // DVMRP
}

TEST_CASE("hostile IGMPv3: source and record counts longer than the packet are truncation, not reads past the end")
{
    Bytes m = igmp_v3_report({{1, "239.1.1.1", {"192.0.2.1"}}});
    m[10] = 0xff; // 65281 sources claimed, one present
    m[11] = 0x01;
    set_igmp_checksum(m);
    CHECK(igmp_error(m) == ParseError::truncated);

    Bytes records = igmp_v3_report({{1, "239.1.1.1", {"192.0.2.1"}}});
    records[6] = 0xff; // 65535 records claimed
    records[7] = 0xff;
    set_igmp_checksum(records);
    CHECK(igmp_error(records) == ParseError::truncated);

    Bytes aux = igmp_v3_report({{1, "239.1.1.1", {}}});
    aux[9] = 200; // 800 bytes of auxiliary data claimed
    set_igmp_checksum(aux);
    CHECK(igmp_error(aux) == ParseError::truncated);

    OutgoingQuery query;
    query.group = ip("239.1.1.1");
    query.destination = query.group;
    query.sources = {ip("192.0.2.7")};
    Bytes q = build_query(query, ip("192.0.2.1"));
    q[11] = 50;
    set_igmp_checksum(q);
    CHECK(igmp_error(q) == ParseError::truncated);

    // Every truncation of a valid report is refused, whatever its length.
    const Bytes full = igmp_v3_report({{1, "239.1.1.1", {"192.0.2.1", "192.0.2.2"}}, {2, "239.1.1.2", {}}});
    for (std::size_t n = 0; n < full.size(); ++n) {
        Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        if (cut.size() >= 4)
            set_igmp_checksum(cut);
        auto result = parse_igmp(igmp_packet(cut));
        CHECK_FALSE(result.ok());
    }
}

TEST_CASE("MLDv2 report and MLDv1 report and done parse with the pseudo-header checksum")
{
    Bytes m = v3_report({{1, "ff3e::4001", {"2001:db8::1"}}, {6, "ff3e::4002", {"2001:db8::2"}}}, true);
    set_mld_checksum(m, kLinkLocal, kMldReports);
    auto result = parse_mld(mld_packet(m));
    REQUIRE(result.ok());
    CHECK(result->version == ProtocolVersion::v3);
    REQUIRE(result->records.size() == 2);
    CHECK(result->records[0].group == ip("ff3e::4001"));
    CHECK(result->records[0].sources == std::vector{ip("2001:db8::1")});
    CHECK(result->records[1].type == RecordType::block);

    auto report = parse_mld(mld_packet(mld_v1(131, "ff3e::4001", kLinkLocal, kMldReports)));
    REQUIRE(report.ok());
    CHECK(report->version == ProtocolVersion::v2);
    CHECK(report->records[0].type == RecordType::is_exclude);
    auto done = parse_mld(mld_packet(mld_v1(132, "ff3e::4001", kLinkLocal, kMldReports)));
    REQUIRE(done.ok());
    CHECK(done->records[0].type == RecordType::to_include);
}

TEST_CASE("MLD validation: link-local source, hop limit 1, router alert, checksum with the right addresses")
{
    const Bytes m = mld_v1(131, "ff3e::4001", kLinkLocal, kMldReports);
    CHECK(parse_mld(mld_packet(m, kLinkLocal, 255)).error() == ParseError::bad_hop_limit);
    CHECK(parse_mld(mld_packet(m, kLinkLocal, 1, false)).error() == ParseError::missing_router_alert);
    const Bytes global = mld_v1(131, "ff3e::4001", ip("2001:db8::10"), kMldReports);
    CHECK(parse_mld(mld_packet(global, ip("2001:db8::10"))).error() == ParseError::bad_source);
    const Bytes unspecified = mld_v1(131, "ff3e::4001", ip("::"), kMldReports);
    CHECK(parse_mld(mld_packet(unspecified, ip("::"))).error() == ParseError::bad_source);
    // The same bytes from another sender fail the pseudo-header checksum.
    CHECK(parse_mld(mld_packet(m, ip("fe80::11"))).error() == ParseError::bad_checksum);
    CHECK(parse_mld(mld_packet(Bytes(m.begin(), m.begin() + 20))).error() == ParseError::truncated);
    Bytes not_mld = {128, 0, 0, 0, 0, 0, 0, 0}; // echo request
    CHECK(parse_mld(mld_packet(not_mld)).error() == ParseError::not_membership);
    Bytes hostile = v3_report({{1, "ff3e::4001", {"2001:db8::1"}}}, true);
    hostile[10] = 0x10; // 4097 sources claimed
    set_mld_checksum(hostile, kLinkLocal, kMldReports);
    CHECK(parse_mld(mld_packet(hostile)).error() == ParseError::truncated);
    Bytes unicast_group = v3_report({{2, "2001:db8::5", {}}}, true);
    set_mld_checksum(unicast_group, kLinkLocal, kMldReports);
    CHECK(parse_mld(mld_packet(unicast_group)).error() == ParseError::bad_group);
}

TEST_CASE("MLDv2 queries built for general and group-and-source use parse back with their fields")
{
    OutgoingQuery general;
    general.group = IpAddress::from_ipv6({});
    general.destination = all_systems_group(mcr::AddressFamily::ipv6);
    general.max_response = Milliseconds{10'000};
    general.robustness = 2;
    general.query_interval = Milliseconds{125'000};
    const Bytes built = build_query(general, kLinkLocal);
    CHECK(built.size() == 28);
    auto parsed = parse_mld({built, kLinkLocal, general.destination, 1, true});
    REQUIRE(parsed.ok());
    CHECK(parsed->kind == Message::Kind::query);
    CHECK(parsed->version == ProtocolVersion::v3);
    CHECK(parsed->query.group.is_unspecified());
    CHECK(parsed->query.max_response == Milliseconds{10'000});
    CHECK(parsed->query.query_interval == Milliseconds{125'000});

    OutgoingQuery specific = general;
    specific.group = ip("ff3e::4001");
    specific.destination = specific.group;
    specific.sources = {ip("2001:db8::1")};
    specific.max_response = Milliseconds{40'000}; // above 32767 ms: the exponent form
    auto source_query = parse_mld({build_query(specific, kLinkLocal), kLinkLocal, specific.group, 1, true});
    REQUIRE(source_query.ok());
    CHECK(source_query->query.sources == specific.sources);
    CHECK(source_query->query.max_response <= Milliseconds{40'000});
    CHECK(source_query->query.max_response >= Milliseconds{39'900});

    auto v1_query = parse_mld(mld_packet(mld_v1(130, "::", kLinkLocal, kMldReports)));
    REQUIRE(v1_query.ok());
    CHECK(v1_query->version == ProtocolVersion::v2);
}

TEST_CASE("router alert constants: IPv4 option 148 length 4, IPv6 hop-by-hop option 5 value 0 (MLD)")
{
    CHECK(kIpv4RouterAlertOption[0] == 0x94);
    CHECK(kIpv4RouterAlertOption[1] == 4);
    CHECK(kIpv6RouterAlertHopByHop[2] == 5);
    CHECK(kIpv6RouterAlertHopByHop[3] == 2);
    CHECK(report_group(mcr::AddressFamily::ipv4) == ip("224.0.0.22"));
    CHECK(report_group(mcr::AddressFamily::ipv6) == ip("ff02::16"));
}

TEST_CASE("IPv4 envelope: TTL, router alert among other options, addresses, payload by total length")
{
    const Bytes igmp = igmp_v3_report({{2, "239.1.1.1", {}}});
    // IHL 6: the 20-byte header and the 4-byte router alert option.
    Bytes d = {0x46, 0xc0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 192, 0, 2, 10, 224, 0, 0, 22, 0x94, 0x04, 0x00, 0x00};
    d.insert(d.end(), igmp.begin(), igmp.end());
    d.insert(d.end(), {0xee, 0xee}); // Ethernet padding past the total length
    const std::size_t total = d.size() - 2;
    d[2] = static_cast<std::uint8_t>(total >> 8);
    d[3] = static_cast<std::uint8_t>(total);
    auto packet = unwrap_ipv4(d);
    REQUIRE(packet.ok());
    CHECK(packet->router_alert);
    CHECK(packet->hop_limit == 1);
    CHECK(packet->source == ip("192.0.2.10"));
    CHECK(packet->destination == ip("224.0.0.22"));
    CHECK(Bytes(packet->payload.begin(), packet->payload.end()) == igmp);
    CHECK(parse_igmp(*packet).ok());

    Bytes no_alert = d;
    no_alert[20] = 0x01; // NOP, NOP, NOP, End instead of the alert
    no_alert[21] = 0x01;
    no_alert[22] = 0x01;
    auto plain = unwrap_ipv4(no_alert);
    REQUIRE(plain.ok());
    CHECK_FALSE(plain->router_alert);

    Bytes overrun = d;
    overrun[21] = 40; // the alert claims 40 bytes
    CHECK(unwrap_ipv4(overrun).error() == ParseError::truncated);
    Bytes fragment = d;
    fragment[6] = 0x20; // MF
    CHECK(unwrap_ipv4(fragment).error() == ParseError::truncated);
    Bytes udp = d;
    udp[9] = 17;
    CHECK(unwrap_ipv4(udp).error() == ParseError::not_membership);
    Bytes long_total = d;
    long_total[2] = 0x40;
    CHECK(unwrap_ipv4(long_total).error() == ParseError::truncated);
    CHECK(unwrap_ipv4(Bytes(d.begin(), d.begin() + 19)).error() == ParseError::truncated);
}

TEST_CASE("IPv6 envelope: hop-by-hop router alert, then ICMPv6; other headers are not MLD")
{
    const IpAddress source = ip("fe80::10");
    const IpAddress destination = ip("ff02::16");
    Bytes mld = v3_report({{2, "ff3e::4001", {}}}, true);
    set_mld_checksum(mld, source, destination);
    Bytes d = {0x60, 0, 0, 0, 0, 0, 0, 1};
    put_address(d, source);
    put_address(d, destination);
    d.insert(d.end(), {58, 0, 5, 2, 0, 0, 1, 0}); // HbH: RA (MLD), PadN
    d.insert(d.end(), mld.begin(), mld.end());
    const std::size_t payload = d.size() - 40;
    d[4] = static_cast<std::uint8_t>(payload >> 8);
    d[5] = static_cast<std::uint8_t>(payload);
    auto packet = unwrap_ipv6(d);
    REQUIRE(packet.ok());
    CHECK(packet->router_alert);
    CHECK(packet->hop_limit == 1);
    CHECK(packet->source == source);
    CHECK(packet->destination == destination);
    CHECK(parse_mld(*packet).ok());

    Bytes overrun = d;
    overrun[41] = 9; // HbH claims 80 bytes
    CHECK(unwrap_ipv6(overrun).error() == ParseError::truncated);
    Bytes routing = d;
    routing[40] = 43; // HbH followed by a routing header
    CHECK(unwrap_ipv6(routing).error() == ParseError::not_membership);
    Bytes short_payload = d;
    short_payload[5] = static_cast<std::uint8_t>(payload + 1);
    CHECK(unwrap_ipv6(short_payload).error() == ParseError::truncated);
}
