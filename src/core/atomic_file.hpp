// Crash-safe file replacement and bounded file reads, for the rule state.
#pragma once

#include "result.hpp"

#include <string>
#include <string_view>

namespace mcr {

// durable: fsync the file before the rename and the directory after it.
// readers_only: readers never see a partly written file, but a crash may
// leave the old content or none; for files rewritten often on a latency-
// critical thread (the worker's stats file, 5 times a second in the tests
// and bench/: two fsyncs there stalled forwarding by milliseconds).
enum class Durability : bool { durable, readers_only };

// Writes `content` to a temporary file in the same directory, fsyncs it,
// renames it over `path` and fsyncs the directory: after a crash the file
// holds either the old or the new content, never a mix. Returns 0 or a
// negative errno (ENOSPC/EDQUOT/EROFS reach the caller unchanged).
[[nodiscard]] int write_file_atomic(const std::string& path, std::string_view content, unsigned mode = 0644,
                                    Durability durability = Durability::durable);

// Reads a whole regular file, refusing one over `max_bytes` (Error names
// the path and the size). A missing file is Error with reason "not found".
[[nodiscard]] Result<std::string> read_file_limited(const std::string& path, std::size_t max_bytes);

// Moves a state file that failed to parse aside as PATH.corrupt-<unix time>
// so that nothing is lost; returns the new name or an Error.
[[nodiscard]] Result<std::string> move_aside(const std::string& path);

} // namespace mcr
