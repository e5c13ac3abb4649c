// libFuzzer target: mcrd's JSON rule reader (config files, the state file,
// AddRuleJSON). Any text must give a rule set or an Error, never a crash;
// an accepted set must survive a write/read round trip unchanged.
#include "core/rule_json.hpp"
#include "fuzz_fail.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const mcr::Result<mcr::RuleSet> set = mcr::parse_rule_set(text);
    if (!set) {
        if (set.error().message().empty())
            fuzz_fail("a refusal without a message");
        return 0;
    }
    const nlohmann::json written = mcr::rule_set_to_json(*set);
    const mcr::Result<mcr::RuleSet> again = mcr::parse_rule_set(written.dump());
    if (!again)
        fuzz_fail("a written rule set does not parse again");
    if (mcr::rule_set_to_json(*again) != written)
        fuzz_fail("a written rule set reads back different");
    // The single-rule reader (AddRuleJSON) on each parsed value.
    if (const auto value = mcr::parse_json_text(text); value && value->is_object())
        (void)mcr::rule_from_json(*value);
    return 0;
}
