// Connects mcrctl to the relay's bus and runs method calls synchronously.
#include "relay_client.hpp"

#include "bus/bus_connect.hpp"
#include "bus/bus_names.hpp"
#include "core/c_owned.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

namespace mcr::ctl {
namespace {

// Interactive polkit may wait for a human typing a password.
constexpr std::uint64_t kInteractiveCallTimeoutUsec = 300ULL * 1000 * 1000;

// Methods polkit guards; only these may need a password.
bool is_write_method(std::string_view method)
{
    for (std::string_view write : {"AddRule", "AddRuleJSON", "RemoveRule", "ImportRules", "ResetStats", "Reload",
                                   "SetLogLevel"})
        if (method == write)
            return true;
    return false;
}

BusPtr connect_bus(const std::string& address)
{
    BusPtr bus;
    if (const int r = bus::open_bus(address.empty() ? "system" : address, nullptr, bus); r < 0)
        throw CommandFailure(exit_code_for_errno(r),
                             std::string("Failed to connect to ") + (address.empty() ? "the system bus" : address) +
                                 ": " + std::strerror(-r));
    return bus;
}

[[noreturn]] void throw_call_failure(const std::string& bus_name, const char* method, int r, const BusError& error)
{
    if (error.is_set()) {
        ExitCode code = exit_code_for_bus_error(error.get()->name);
        std::string message = bus_error_text(error.get());
        if (code == ExitCode::unreachable)
            message = "mcrd is not reachable as " + bus_name + ": " + message;
        throw CommandFailure(code, message);
    }
    throw CommandFailure(exit_code_for_errno(r), std::string("Failed to call ") + method + ": " + std::strerror(-r));
}

} // namespace

RelayClient::RelayClient(const ConnectOptions& options)
{
    if (auto problem = bus::namespace_name_problem(options.ns); !options.ns.empty() && !problem.empty())
        throw CommandFailure(ExitCode::usage, "--namespace '" + options.ns + "': " + problem);
    bus_name_ = bus::relay_bus_name(options.ns);

    std::string address = options.bus_address;
    if (address.empty()) {
        if (const char* from_env = std::getenv("MCRCTL_BUS_ADDRESS"))
            address = from_env;
    }
    bus_ = connect_bus(address);
    // Like systemctl: ask for a password only when someone can type it.
    interactive_ = options.ask_password && isatty(STDIN_FILENO) == 1;
    (void)sd_bus_set_allow_interactive_authorization(bus_.get(), interactive_ ? 1 : 0);
}

BusMessagePtr RelayClient::call(const char* method, const AppendArgs& append_args)
{
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_.get(), &raw, bus_name_.c_str(), bus::kObjectPath,
                                           bus::kManagerInterface, method);
    if (r < 0)
        throw CommandFailure(ExitCode::failure, std::string("Failed to create call: ") + std::strerror(-r));
    BusMessagePtr message(raw);
    if (interactive_ && is_write_method(method))
        agent_.start_if_useful();
    if (append_args && (r = append_args(message.get())) < 0)
        throw CommandFailure(ExitCode::failure, std::string("Failed to build call: ") + std::strerror(-r));

    BusError error;
    sd_bus_message* reply = nullptr;
    r = sd_bus_call(bus_.get(), message.get(), interactive_ ? kInteractiveCallTimeoutUsec : 0, error.get(), &reply);
    if (r < 0)
        throw_call_failure(bus_name_, method, r, error);
    return BusMessagePtr(reply);
}

std::string RelayClient::get_string_property(const char* property)
{
    BusError error;
    char* value = nullptr;
    int r = sd_bus_get_property_string(bus_.get(), bus_name_.c_str(), bus::kObjectPath, bus::kManagerInterface,
                                       property, error.get(), &value);
    if (r < 0)
        throw_call_failure(bus_name_, property, r, error);
    // sd_bus_get_property_string hands over a malloc()ed string.
    return to_string(CString(value));
}

void check_read(int r, const char* what)
{
    if (r < 0)
        throw CommandFailure(ExitCode::failure, std::string("Failed to parse reply (") + what + "): " + std::strerror(-r));
}

} // namespace mcr::ctl
