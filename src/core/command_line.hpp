// The command-line parse mcrctl and mcrgen share (header-only: only binaries
// that link CLI11 include it). --help prints the help and ends the program
// with 0; a usage error prints CLI11's message and ends it with `usage_exit`.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>

namespace mcr {

// The exit code when the program must stop now, nullopt when it runs.
[[nodiscard]] inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, int usage_exit)
{
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        (void)app.exit(e);
        return usage_exit;
    }
    return std::nullopt;
}

} // namespace mcr
