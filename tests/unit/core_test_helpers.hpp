// Shared fixtures for the core unit tests: a known-good rule to mutate, and
// one way to assert an Error's exact path and reason.
#pragma once

#include "core/result.hpp"
#include "core/rule.hpp"

#include <doctest/doctest.h>

#include <string>

namespace mcr::test {

inline IpAddress ip(const char* text)
{
    auto parsed = IpAddress::parse(text);
    REQUIRE_MESSAGE(parsed.has_value(), text);
    return *parsed;
}

// eth0 239.1.1.1:5000 -> eth1 239.2.2.2:6000; valid as it stands.
inline Rule valid_rule(const std::string& name = "video1")
{
    Rule rule;
    rule.name = name;
    rule.input.interface = "eth0";
    rule.input.address = ip("239.1.1.1");
    rule.input.port = 5000;
    RuleOutput output;
    output.interface = "eth1";
    output.address = ip("239.2.2.2");
    output.port = 6000;
    rule.outputs.push_back(output);
    return rule;
}

template <typename T>
void check_error(const Result<T>& result, const std::string& path, const std::string& reason)
{
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().path == path);
    CHECK(result.error().reason == reason);
}

} // namespace mcr::test
