// Proves the JSON5 -> JSON converter: every JSON5 extra MCR files use is
// turned into JSON, strings pass through untouched, and errors point at the
// line and column of the offending text.
#include "core/json5.hpp"
#include "core_test_helpers.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace mcr;
using mcr::test::check_error;
using nlohmann::json;

namespace {

// The converted text, parsed; fails the test when conversion fails.
json converted(std::string_view json5)
{
    auto text = json5_to_json(json5);
    REQUIRE_MESSAGE(text.ok(), text.error().message());
    return json::parse(*text);
}

} // namespace

TEST_CASE("comments become whitespace and keep the line count")
{
    // Both comment styles vanish; newlines inside /* */ survive.
    auto text = json5_to_json("// head\n{ /* a\nb */ \"a\": 1 // tail\n}");
    REQUIRE(text.ok());
    CHECK(*text == "       \n{     \n     \"a\": 1        \n}");
    CHECK(json::parse(*text) == json{{"a", 1}});
}

TEST_CASE("string contents pass through untouched")
{
    // Comment markers, commas and brackets inside strings are data.
    CHECK(converted(R"({"url": "http://x//y", "c": "/* no */", "t": "a,]}"})") ==
          json{{"url", "http://x//y"}, {"c", "/* no */"}, {"t", "a,]}"}});
    CHECK(converted(R"(['//', "it's", "\"q\"", "\u00e9"])") == json{"//", "it's", "\"q\"", "\xc3\xa9"});
}

TEST_CASE("trailing commas in objects and arrays are dropped")
{
    // Including before a comment and across lines; inner commas stay.
    CHECK(converted("{\"a\": [1, 2, ], \"b\": 3, // x\n}") == json{{"a", {1, 2}}, {"b", 3}});
    CHECK(converted("[[],{},]") == json{json::array(), json::object()});
}

TEST_CASE("identifier keys are quoted")
{
    // Unquoted keys, with _ and $, and keywords used as keys.
    CHECK(converted("{name: 'x', _a$: 1, true: false, null: null}") ==
          json{{"name", "x"}, {"_a$", 1}, {"true", false}, {"null", nullptr}});
    CHECK(converted("{ a /* c */ : 1 }") == json{{"a", 1}});
}

TEST_CASE("single-quoted strings and JSON5 escapes become JSON strings")
{
    // \' \" \x41 \v \0, line continuation and a raw tab.
    CHECK(converted(R"(['it\'s', 'say "hi"', 'A=\x41', '\v|\0|\n'])") ==
          json{"it's", "say \"hi\"", "A=A", std::string("\v|\0|\n", 5)});
    CHECK(converted("['one \\\ntwo', 'tab\there', '\\q']") == json{"one two", "tab\there", "q"});
}

TEST_CASE("JSON5 numbers become JSON numbers")
{
    // Hex, leading '+', leading and trailing decimal points, exponents.
    CHECK(converted("[0x10, 0XfF, -0x1, +5, +.5, .5, 5., -5.e2, 1e3, 0, 0.25]") ==
          json::parse("[16, 255, -1, 5, 0.5, 0.5, 5.0, -5.0e2, 1e3, 0, 0.25]"));
    CHECK(*json5_to_json("[5.]") == "[5.0]"); // stays a float: not a valid port
}

TEST_CASE("Infinity and NaN are refused as not representable")
{
    // With the position of the word.
    check_error(json5_to_json("{a: Infinity}"), "line 1, column 5", "\"Infinity\" is not representable in JSON");
    check_error(json5_to_json("[\n  NaN]"), "line 2, column 3", "\"NaN\" is not representable in JSON");
    check_error(json5_to_json("[1, -Infinity]"), "line 1, column 5", "\"-Infinity\" is not representable in JSON");
}

TEST_CASE("unterminated strings and comments are located")
{
    // The error points at where the construct began.
    check_error(json5_to_json("{\n a: 'abc\n}"), "line 2, column 5", "unterminated string");
    check_error(json5_to_json("[1] /* open"), "line 1, column 5", "unterminated /* comment");
    check_error(json5_to_json("\"abc\\"), "line 1, column 5", "unterminated string");
}

TEST_CASE("bad numbers, words and characters are refused")
{
    // Each with a reason quoting the text.
    check_error(json5_to_json("[007]"), "line 1, column 2", "leading zeros are not allowed in \"007\"");
    check_error(json5_to_json("[0x]"), "line 1, column 2", "hex number without digits");
    check_error(json5_to_json("[1.2.3]"), "line 1, column 2", "invalid number \"1.2.\"");
    check_error(json5_to_json("[1e]"), "line 1, column 2", "exponent without digits in \"1e]\"");
    check_error(json5_to_json("[-]"), "line 1, column 2", "invalid number \"-]\"");
    check_error(json5_to_json("[0x1ffffffffffffffff]"), "line 1, column 2",
                "hex number \"0x1ffffffffffffffff\" is too large");
    check_error(json5_to_json("{a: eth0}"), "line 1, column 5", "unexpected word \"eth0\" (strings need quotes)");
    check_error(json5_to_json("{a: #}"), "line 1, column 5", "unexpected character \"#\"");
    check_error(json5_to_json("[1] / 2"), "line 1, column 5", "unexpected character \"/\"");
    check_error(json5_to_json("['\\1']"), "line 1, column 3", "octal escapes are not allowed");
    check_error(json5_to_json("['\\x4']"), "line 1, column 3", "\\x needs 2 hex digits");
}

TEST_CASE("plain JSON and a byte order mark pass")
{
    // JSON is JSON5; a UTF-8 BOM is dropped.
    const std::string plain = R"({"a": [1, -2.5e-3, true, null, "x\ny"], "b": {}})";
    CHECK(converted(plain) == json::parse(plain));
    CHECK(converted("\xEF\xBB\xBF{}") == json::object());
}

TEST_CASE("error_at_offset counts lines and byte columns from 1")
{
    // Offsets at line starts, mid-line and past the end.
    CHECK(error_at_offset("ab\ncd", 0, "r").path == "line 1, column 1");
    CHECK(error_at_offset("ab\ncd", 4, "r").path == "line 2, column 2");
    CHECK(error_at_offset("ab\ncd", 99, "r").path == "line 2, column 3");
    CHECK(error_at_offset("ab\ncd", 3, "why").message() == "line 2, column 1: why");
}
