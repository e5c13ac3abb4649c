// The JSON5 extras that MCR's config files use, turned into plain JSON so
// that nlohmann-json parses the result: // and /* */ comments, trailing
// commas, unquoted (identifier) keys, single-quoted strings, hex numbers,
// leading '+', and leading/trailing decimal points.
#pragma once

#include "result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace mcr {

// Errors carry "line N, column M: reason" in Error::path / Error::reason.
[[nodiscard]] Result<std::string> json5_to_json(std::string_view text);

// Error{"line N, column M", reason} for the byte at 0-based `offset` in
// `text` (line and column 1-based, columns counted in bytes).
[[nodiscard]] Error error_at_offset(std::string_view text, std::size_t offset, std::string reason);

} // namespace mcr
