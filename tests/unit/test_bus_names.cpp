// Proves the public names mcrd derives from user input: per-namespace bus
// names (escaped so any namespace gives a valid name), namespace checks and
// rule object paths (sd_bus_path_encode, reversible).
#include "bus/bus_names.hpp"

#include <doctest/doctest.h>

using namespace mcr::bus;

// The host suite uses the plain name; namespaces get .ns.<escaped>.
TEST_CASE("relay_bus_name escapes namespaces")
{
    CHECK(relay_bus_name("") == "org.mcr.Relay");
    CHECK(relay_bus_name("red") == "org.mcr.Relay.ns.red");
    CHECK(relay_bus_name("red-1") == "org.mcr.Relay.ns.red_2d1");
    CHECK(relay_bus_name("1blue") == "org.mcr.Relay.ns._31blue");
    CHECK(relay_bus_name("a.b_c") == "org.mcr.Relay.ns.a_2eb_5fc");
}

// Bytes outside [A-Za-z0-9] are escaped as lowercase hex, high bytes too.
TEST_CASE("escape_bus_name_element")
{
    CHECK(escape_bus_name_element("x\xff") == "x_ff");
    CHECK(escape_bus_name_element("0") == "_30");
    CHECK(escape_bus_name_element("A9") == "A9");
}

// What --namespace accepts, with the reason quoting the value.
TEST_CASE("namespace_name_problem")
{
    CHECK(namespace_name_problem("red") == "");
    CHECK(namespace_name_problem("") == "must not be empty");
    CHECK(namespace_name_problem("..") == "must not be '..'");
    CHECK(namespace_name_problem("a/b") == "must not contain '/', got 'a/b'");
    CHECK(namespace_name_problem("a b") == "must be printable ASCII without spaces, got 'a b'");
    CHECK(namespace_name_problem(std::string(65, 'x')) == "must be at most 64 bytes, got 65");
}

// Rule names map to object paths and back, including characters that are
// not valid in a path element.
TEST_CASE("rule object paths round-trip")
{
    CHECK(rule_object_path("video1") == "/org/mcr/Relay/rule/video1");
    CHECK(rule_object_path("cam-1.a") == "/org/mcr/Relay/rule/cam_2d1_2ea");
    CHECK(rule_name_from_path("/org/mcr/Relay/rule/cam_2d1_2ea") == "cam-1.a");
    CHECK(rule_name_from_path("/org/mcr/Relay") == "");
    CHECK(rule_name_from_path("/org/mcr/Relay/rule/a/b") == "");
}
