// Proves mcrctl's --in/--out parsing (strict, errors naming the bad part),
// the endpoint printing that mirrors it, and the exit-code mapping.
#include "endpoint_args.hpp"
#include "exit_status.hpp"

#include <doctest/doctest.h>

#include <cerrno>

using namespace mcr;
using namespace mcr::ctl;

namespace {
std::string input_error(const char* text)
{
    auto result = parse_input_endpoint(text);
    REQUIRE(!result.ok());
    return result.error().message();
}
std::string output_error(const char* text)
{
    auto result = parse_output_endpoint(text);
    REQUIRE(!result.ok());
    return result.error().message();
}
} // namespace

TEST_CASE("--in parses IF:GROUP:PORT with an optional @SOURCE")
{
    // All three fields and the SSM source land in the RuleInput.
    auto plain = parse_input_endpoint("eth0:239.1.1.1:5000");
    REQUIRE(plain.ok());
    CHECK(plain->interface == "eth0");
    CHECK(plain->address.to_string() == "239.1.1.1");
    CHECK(plain->port == 5000);
    CHECK(!plain->source.has_value());
    auto ssm = parse_input_endpoint("veth-in.100:232.1.1.1:65535@192.0.2.10");
    REQUIRE(ssm.ok());
    CHECK(ssm->interface == "veth-in.100");
    CHECK(ssm->port == 65535);
    CHECK(ssm->source->to_string() == "192.0.2.10");
}

TEST_CASE("--out parses IF:ADDRESS:PORT with an optional TTL")
{
    // TTL is optional; when present it must be 1..255.
    auto plain = parse_output_endpoint("wg0:203.0.113.7:6000");
    REQUIRE(plain.ok());
    CHECK(plain->interface == "wg0");
    CHECK(plain->address.to_string() == "203.0.113.7");
    CHECK(plain->port == 6000);
    CHECK(!plain->ttl.has_value());
    auto with_ttl = parse_output_endpoint("eth1:239.2.2.2:6000:16");
    REQUIRE(with_ttl.ok());
    CHECK(with_ttl->ttl == std::optional<std::uint8_t>(16));
}

TEST_CASE("--out takes a +listeners suffix for \"listeners\": \"required\"")
{
    // After the port or the TTL; default is "always".
    CHECK(parse_output_endpoint("eth1:239.2.2.2:6000")->listeners == mcr::ListenerPolicy::always);
    auto required = parse_output_endpoint("eth1:239.2.2.2:6000+listeners");
    REQUIRE(required.ok());
    CHECK(required->listeners == mcr::ListenerPolicy::required);
    CHECK(required->port == 6000);
    auto with_ttl = parse_output_endpoint("eth1:239.2.2.2:6000:16+listeners");
    REQUIRE(with_ttl.ok());
    CHECK(with_ttl->ttl == std::optional<std::uint8_t>(16));
    CHECK(with_ttl->listeners == mcr::ListenerPolicy::required);
    CHECK(output_error("eth1:239.2.2.2:6000+listen") ==
          "--out 'eth1:239.2.2.2:6000+listen': port '6000+listen' must be 1..65535");
    CHECK(output_error("eth1:239.2.2.2+listeners") ==
          "--out 'eth1:239.2.2.2+listeners': expected IF:ADDRESS:PORT[:TTL][+listeners]");
}

TEST_CASE("bracketed IPv6 addresses keep their colons")
{
    // Brackets protect IPv6 colons from the field separator.
    auto input = parse_input_endpoint("eth0:[ff05::1]:5000@[2001:db8::1]");
    REQUIRE(input.ok());
    CHECK(input->address.to_string() == "ff05::1");
    CHECK(input->source->to_string() == "2001:db8::1");
    auto output = parse_output_endpoint("eth1:[2001:db8::7]:6000:3");
    REQUIRE(output.ok());
    CHECK(output->address.to_string() == "2001:db8::7");
    CHECK(output->ttl == std::optional<std::uint8_t>(3));
    CHECK(output_error("eth1:[2001:db8::7:6000") == "--out 'eth1:[2001:db8::7:6000': '[' without a closing ']'");
    auto link_local = parse_output_endpoint("eth1:[ff02::fb]:5353");
    REQUIRE(link_local.ok()); // refused or not by the daemon's validation, not by the syntax
    CHECK(link_local->address.to_string() == "ff02::fb");
    auto translated = parse_input_endpoint("eth0:239.1.1.1:5000@192.0.2.1");
    REQUIRE(translated.ok());
}

TEST_CASE("an unbracketed IPv6 address is refused with the bracketed syntax")
{
    // Whatever split of the colons was meant; also for the source, and with a zone suffix.
    CHECK(input_error("eth0:ff3e::1:5000") ==
          "--in 'eth0:ff3e::1:5000': an IPv6 address must be written in brackets: IF:[GROUP]:PORT[@[SOURCE]]");
    CHECK(input_error("eth0:2001:db8:0:0:0:0:0:1:5000") ==
          "--in 'eth0:2001:db8:0:0:0:0:0:1:5000': an IPv6 address must be written in brackets: "
          "IF:[GROUP]:PORT[@[SOURCE]]");
    CHECK(output_error("eth1:ff3e::2:6000") ==
          "--out 'eth1:ff3e::2:6000': an IPv6 address must be written in brackets: IF:[ADDRESS]:PORT[:HOPLIMIT][+listeners]");
    CHECK(output_error("eth1:ff3e::2:6000:8") ==
          "--out 'eth1:ff3e::2:6000:8': an IPv6 address must be written in brackets: IF:[ADDRESS]:PORT[:HOPLIMIT][+listeners]");
    CHECK(output_error("eth1:fe80::1%eth1:6000") ==
          "--out 'eth1:fe80::1%eth1:6000': an IPv6 address must be written in brackets: IF:[ADDRESS]:PORT[:HOPLIMIT][+listeners]");
    CHECK(input_error("eth0:[ff3e::1]:5000@2001:db8::1") ==
          "--in 'eth0:[ff3e::1]:5000@2001:db8::1': source '2001:db8::1' must be written in brackets: [2001:db8::1]");
    // "eth0::::5000" holds "::" between IF and PORT; "eth0:::5000" holds only ':'.
    CHECK(input_error("eth0::::5000") ==
          "--in 'eth0::::5000': an IPv6 address must be written in brackets: IF:[GROUP]:PORT[@[SOURCE]]");
    CHECK(input_error("eth0:::5000") == "--in 'eth0:::5000': expected IF:GROUP:PORT[@SOURCE]");
}

TEST_CASE("misplaced brackets, bracketed IPv4 and zone suffixes are named")
{
    // Each bracket mistake has its own message; the zone points to the IF part.
    CHECK(input_error("eth0:[ff3e::1:5000") == "--in 'eth0:[ff3e::1:5000': '[' without a closing ']'");
    CHECK(input_error("eth0:ff3e::1]:5000") ==
          "--in 'eth0:ff3e::1]:5000': ']' without '[' before an address; IPv6 addresses are written [ADDR]");
    CHECK(input_error("eth0:[ff3e::1]x:5000") ==
          "--in 'eth0:[ff3e::1]x:5000': brackets must enclose the whole address: [ADDR]");
    CHECK(input_error("eth0:f[f3e::1]:5000") ==
          "--in 'eth0:f[f3e::1]:5000': '[' inside an address; IPv6 addresses are written [ADDR]");
    CHECK(input_error("eth0:[239.1.1.1]:5000") ==
          "--in 'eth0:[239.1.1.1]:5000': group '[239.1.1.1]': brackets are for IPv6 addresses only");
    CHECK(input_error("eth0:239.1.1.1:5000@[192.0.2.1]") ==
          "--in 'eth0:239.1.1.1:5000@[192.0.2.1]': source '[192.0.2.1]': brackets are for IPv6 addresses only");
    CHECK(input_error("eth0:[ff02::1%eth0]:5000") ==
          "--in 'eth0:[ff02::1%eth0]:5000': group '[ff02::1%eth0]' carries the zone suffix '%eth0': the interface "
          "is named by the IF part, so leave it out");
    CHECK(input_error("eth0:[ff3e::1]:5000@[fe80::1%2]") ==
          "--in 'eth0:[ff3e::1]:5000@[fe80::1%2]': source '[fe80::1%2]' carries the zone suffix '%2': the "
          "interface is named by the IF part, so leave it out");
    CHECK(input_error("eth0:[ff3e::1]:5000@[2001:db8::1") ==
          "--in 'eth0:[ff3e::1]:5000@[2001:db8::1': source: '[' without a closing ']'");
    CHECK(output_error("eth1:[ff3e::zz]:6000") == "--out 'eth1:[ff3e::zz]:6000': address '[ff3e::zz]' is not an IP address");
    CHECK(output_error("eth1:[]:6000") == "--out 'eth1:[]:6000': address '[]' is not an IP address");
    CHECK(output_error("[eth1]:[ff3e::2]:6000") ==
          "--out '[eth1]:[ff3e::2]:6000': interface '[eth1]' must not be in brackets");
    CHECK(output_error("eth1:[ff3e::2]:[6000]") == "--out 'eth1:[ff3e::2]:[6000]': port '6000' must be 1..65535");
}

TEST_CASE("an IPv6 output's last field is its hop limit")
{
    // Same range as the IPv4 TTL, named for the family.
    CHECK(output_error("eth1:[ff3e::2]:6000:0") == "--out 'eth1:[ff3e::2]:6000:0': hop limit '0' must be 1..255");
    CHECK(output_error("eth1:[ff3e::2]:6000:256") == "--out 'eth1:[ff3e::2]:6000:256': hop limit '256' must be 1..255");
    CHECK(parse_output_endpoint("eth1:[ff3e::2]:6000:255")->ttl == std::optional<std::uint8_t>(255));
}

TEST_CASE("malformed --out arguments name the bad part")
{
    // The exact messages users see for each kind of mistake.
    CHECK(output_error("eth1:239.2.2.2") == "--out 'eth1:239.2.2.2': expected IF:ADDRESS:PORT[:TTL][+listeners]");
    CHECK(output_error("eth1:239.2.2.2:6000:16:9") == "--out 'eth1:239.2.2.2:6000:16:9': expected IF:ADDRESS:PORT[:TTL][+listeners]");
    CHECK(output_error(":239.2.2.2:6000") == "--out ':239.2.2.2:6000': interface is empty");
    CHECK(output_error("eth1:239.2.2:6000") == "--out 'eth1:239.2.2:6000': address '239.2.2' is not an IP address");
    CHECK(output_error("eth1:239.2.2.2:0") == "--out 'eth1:239.2.2.2:0': port '0' must be 1..65535");
    CHECK(output_error("eth1:239.2.2.2:65536") == "--out 'eth1:239.2.2.2:65536': port '65536' must be 1..65535");
    CHECK(output_error("eth1:239.2.2.2:60x") == "--out 'eth1:239.2.2.2:60x': port '60x' must be 1..65535");
    CHECK(output_error("eth1:239.2.2.2:6000:0") == "--out 'eth1:239.2.2.2:6000:0': TTL '0' must be 1..255");
    CHECK(output_error("eth1:239.2.2.2:6000:256") == "--out 'eth1:239.2.2.2:6000:256': TTL '256' must be 1..255");
    CHECK(output_error("eth1:239.2.2.2:-1") == "--out 'eth1:239.2.2.2:-1': port '-1' must be 1..65535");
}

TEST_CASE("malformed --in arguments name the bad part")
{
    // Including a TTL on an input and a bad SSM source.
    CHECK(input_error("eth0:239.1.1.1") == "--in 'eth0:239.1.1.1': expected IF:GROUP:PORT[@SOURCE]");
    CHECK(input_error("eth0:239.1.1.1:5000:4") == "--in 'eth0:239.1.1.1:5000:4': expected IF:GROUP:PORT[@SOURCE]");
    CHECK(input_error("eth0:group:5000") == "--in 'eth0:group:5000': group 'group' is not an IP address");
    CHECK(input_error("eth0:239.1.1.1:5000@") == "--in 'eth0:239.1.1.1:5000@': source '' is not an IP address");
    CHECK(input_error("eth0:239.1.1.1:5000@host") == "--in 'eth0:239.1.1.1:5000@host': source 'host' is not an IP address");
    CHECK(input_error("") == "--in '': expected IF:GROUP:PORT[@SOURCE]");
}

TEST_CASE("endpoints print back in the syntax they parse from")
{
    // format(parse(x)) == x, so `mcrctl list` output can be pasted into add.
    for (const char* text : {"eth0:239.1.1.1:5000", "eth0:239.1.1.1:5000@192.0.2.10", "eth0:[ff05::1]:5000@[2001:db8::1]"})
        CHECK(format_input_endpoint(*parse_input_endpoint(text)) == text);
    for (const char* text : {"eth1:239.2.2.2:6000", "eth1:239.2.2.2:6000:16", "eth1:[2001:db8::7]:6000:3",
                             "eth1:239.2.2.2:6000+listeners", "eth1:239.2.2.2:6000:16+listeners"})
        CHECK(format_output_endpoint(*parse_output_endpoint(text)) == text);
    // The daemon's RFC 5952 spelling is what is printed, whatever was typed.
    CHECK(format_input_endpoint(*parse_input_endpoint("eth0:[FF3E:0::1]:5000")) == "eth0:[ff3e::1]:5000");
    CHECK(format_address(std::string("ff3e::1")) == "[ff3e::1]");
    CHECK(format_address(std::string("239.1.1.1")) == "239.1.1.1");
    CHECK(format_address(std::string("not an address")) == "not an address");
}

TEST_CASE("D-Bus errors map onto the documented exit codes")
{
    // Scripts branch on these numbers.
    CHECK(exit_code_for_bus_error("org.mcr.Relay.Error.NoSuchRule") == ExitCode::not_found);
    CHECK(exit_code_for_bus_error("org.mcr.Relay.Error.NoSuchInterface") == ExitCode::not_found);
    CHECK(static_cast<int>(ExitCode::not_found) == 3);
    CHECK(exit_code_for_bus_error("org.freedesktop.DBus.Error.AccessDenied") == ExitCode::access_denied);
    CHECK(exit_code_for_bus_error("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired") == ExitCode::access_denied);
    CHECK(static_cast<int>(ExitCode::access_denied) == 4);
    CHECK(exit_code_for_bus_error("org.mcr.Relay.Error.InvalidRule") == ExitCode::invalid);
    CHECK(exit_code_for_bus_error("org.mcr.Relay.Error.InvalidArgument") == ExitCode::invalid);
    CHECK(exit_code_for_bus_error("org.mcr.Relay.Error.RuleExists") == ExitCode::invalid);
    CHECK(static_cast<int>(ExitCode::invalid) == 5);
    CHECK(exit_code_for_bus_error("org.freedesktop.DBus.Error.ServiceUnknown") == ExitCode::unreachable);
    CHECK(exit_code_for_bus_error("org.freedesktop.DBus.Error.Spawn.ChildExited") == ExitCode::unreachable);
    CHECK(static_cast<int>(ExitCode::unreachable) == 6);
    CHECK(exit_code_for_bus_error("org.mcr.Relay.Error.PersistFailed") == ExitCode::failure);
    CHECK(exit_code_for_bus_error("com.example.Whatever") == ExitCode::failure);
}

TEST_CASE("connection errnos map onto exit codes")
{
    // No bus socket or a refused connection means the daemon is unreachable.
    CHECK(exit_code_for_errno(-ENOENT) == ExitCode::unreachable);
    CHECK(exit_code_for_errno(-ECONNREFUSED) == ExitCode::unreachable);
    CHECK(exit_code_for_errno(-EACCES) == ExitCode::access_denied);
    CHECK(exit_code_for_errno(-EIO) == ExitCode::failure);
}
