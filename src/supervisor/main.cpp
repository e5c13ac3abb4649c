// mcrd: the multicast relay supervisor. Parses the command line, gives up
// every privilege but CAP_NET_RAW, and runs the Context.
#include "core/log.hpp"
#include "supervisor/capabilities.hpp"
#include "supervisor/fast_path_attach.hpp"
#include "supervisor/context.hpp"
#include "supervisor/options.hpp"

#include <cstdio>
#include <filesystem>
#include <system_error>

int main(int argc, char** argv)
{
    using namespace mcr;
    int exit_code = 0;
    Result<supervisor::Options> options = supervisor::parse_options(argc, argv, exit_code);
    if (!options) {
        std::fprintf(exit_code == 0 ? stdout : stderr, "%s\n", options.error().message().c_str());
        return exit_code;
    }
    LogLevel level{};
    if (parse_log_level(options->log_level, level))
        set_log_level(level);
    // The state directory is made before capabilities go (systemd's
    // StateDirectory= does this for the unit; plain runs need it here).
    std::error_code ec;
    std::filesystem::create_directories(options->state_dir, ec);
    if (Status restricted = supervisor::restrict_capabilities(options->allow_root, supervisor::drops_worker_user(*options),
                                                              options->fast_path);
        !restricted) {
        log_error("Failed to start: " + restricted.error().message());
        return 1;
    }
    supervisor::route_libbpf_log();   // libbpf writes to stderr otherwise
    supervisor::Context context(std::move(*options));
    return context.run();
}
