// libFuzzer target: the json5 front end and MCR config.json5 import. Any
// text must give plain JSON / an import or an Error carrying a position,
// never a crash; what json5_to_json emits must be JSON nlohmann accepts.
#include "core/json5.hpp"
#include "core/rule_json.hpp"
#include "fuzz_fail.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const mcr::Result<std::string> json = mcr::json5_to_json(text);
    if (json) {
        // The converted text may still be refused (depth, duplicate keys),
        // but only with an Error.
        if (const auto value = mcr::parse_json_text(*json); !value && value.error().message().empty())
            fuzz_fail("converted JSON refused without a message");
    } else if (json.error().path.rfind("line ", 0) != 0) {
        fuzz_fail("a json5 error without 'line N, column M'");
    }
    const mcr::Result<mcr::Json5Import> imported = mcr::import_mcr_json5(text);
    if (!imported && imported.error().message().empty())
        fuzz_fail("an import refused without a message");
    return 0;
}
