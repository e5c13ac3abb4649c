// The D-Bus side of a scrape; see relay_reader.hpp.
#include "metrics/relay_reader.hpp"

#include "bus/bus_connect.hpp"
#include "bus/bus_names.hpp"
#include "core/c_owned.hpp"

#include <cstring>
#include <utility>

namespace mcr::metrics {

namespace {

// A scrape must answer within Prometheus' default 10 s scrape timeout even
// when mcrd hangs; systemd answers at once or not at all.
constexpr std::uint64_t kRelayCallTimeoutUsec = 3ULL * 1000 * 1000;
constexpr std::uint64_t kSystemdCallTimeoutUsec = 1ULL * 1000 * 1000;

constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";
constexpr const char* kSystemdBusName = "org.freedesktop.systemd1";
constexpr const char* kSystemdUnitPathPrefix = "/org/freedesktop/systemd1/unit";

Error bus_failure(const char* what, int r, const sd_bus_error* error = nullptr)
{
    return Error{what, error != nullptr && sd_bus_error_is_set(error) ? bus_error_text(error) : std::strerror(-r)};
}

// A reply's variant holding one basic value of type `type`.
template <typename T>
int read_variant(sd_bus_message* reply, char type, T* value)
{
    const char signature[2] = {type, '\0'};
    int r = sd_bus_message_enter_container(reply, 'v', signature);
    if (r < 0)
        return r;
    if ((r = sd_bus_message_read_basic(reply, type, value)) < 0)
        return r;
    return sd_bus_message_exit_container(reply);
}

} // namespace

RelayReader::RelayReader(std::string bus, std::string bus_name) : bus_(std::move(bus)), bus_name_(std::move(bus_name)) {}

Status RelayReader::connect()
{
    if (connection_ && sd_bus_is_open(connection_.get()) > 0)
        return Ok{};
    connection_.reset();
    if (const int r = bus::open_bus(bus_, "mcrd-metrics", connection_); r < 0)
        return Error{"connecting to " + (bus_ == "system" ? std::string("the system bus") : bus_), std::strerror(-r)};
    return Ok{};
}

Result<BusMessagePtr> RelayReader::call(const char* destination, const char* path, const char* interface,
                                        const char* member, const char* property_interface, const char* property)
{
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(connection_.get(), &raw, destination, path, interface, member);
    if (r < 0)
        return bus_failure(member, r);
    BusMessagePtr message(raw);
    // Reading must never bus-activate mcrd (org.mcr.Relay.service would).
    if ((r = sd_bus_message_set_auto_start(message.get(), 0)) < 0)
        return bus_failure(member, r);
    if (property_interface != nullptr &&
        (r = sd_bus_message_append(message.get(), "ss", property_interface, property)) < 0)
        return bus_failure(member, r);
    const bool to_systemd = std::strcmp(destination, kSystemdBusName) == 0;
    BusError error;
    sd_bus_message* reply = nullptr;
    r = sd_bus_call(connection_.get(), message.get(), to_systemd ? kSystemdCallTimeoutUsec : kRelayCallTimeoutUsec,
                    error.get(), &reply);
    if (r < 0)
        return bus_failure(property != nullptr ? property : member, r, error.get());
    return BusMessagePtr(reply);
}

Status RelayReader::read_stats(RelayReading& reading)
{
    auto reply = call(bus_name_.c_str(), bus::kObjectPath, bus::kManagerInterface, "GetStats");
    if (!reply)
        return reply.error();
    const char* text = nullptr;
    if (int r = sd_bus_message_read(reply->get(), "s", &text); r < 0)
        return bus_failure("GetStats", r);
    reading.stats = nlohmann::json::parse(text, nullptr, false);
    if (reading.stats.is_discarded() || !reading.stats.is_object())
        return Error{"GetStats", "the reply is not a JSON object"};
    return Ok{};
}

Status RelayReader::read_manager_properties(RelayReading& reading)
{
    struct Wanted {
        const char* name;
        char type;
        void* value;
    };
    const char* version = nullptr;
    const Wanted wanted[] = {{"Version", 's', static_cast<void*>(&version)},
                             {"RuleCount", 'u', &reading.rule_count},
                             {"WorkerCount", 'u', &reading.worker_count}};
    for (const Wanted& w : wanted) {
        auto reply = call(bus_name_.c_str(), bus::kObjectPath, kPropertiesInterface, "Get", bus::kManagerInterface,
                          w.name);
        if (!reply)
            return reply.error();
        if (int r = read_variant(reply->get(), w.type, w.value); r < 0)
            return bus_failure(w.name, r);
        // The string lives in the reply: copy it before the reply goes.
        if (w.type == 's')
            reading.version = version != nullptr ? version : "";
    }
    return Ok{};
}

Status RelayReader::read_workers(RelayReading& reading)
{
    auto reply = call(bus_name_.c_str(), bus::kObjectPath, bus::kManagerInterface, "ListWorkers");
    if (!reply)
        return reply.error();
    sd_bus_message* m = reply->get();
    int r = sd_bus_message_enter_container(m, 'a', "(ssssu)");
    if (r < 0)
        return bus_failure("ListWorkers", r);
    for (;;) {
        const char* interface = nullptr;
        const char* unit = nullptr;
        const char* state = nullptr;
        const char* sub_state = nullptr;
        std::uint32_t pid = 0;
        r = sd_bus_message_read(m, "(ssssu)", &interface, &unit, &state, &sub_state, &pid);
        if (r < 0)
            return bus_failure("ListWorkers", r);
        if (r == 0)
            break;
        reading.workers.push_back(WorkerReading{interface, unit, state, pid, std::nullopt});
    }
    if ((r = sd_bus_message_exit_container(m)) < 0)
        return bus_failure("ListWorkers", r);
    for (WorkerReading& worker : reading.workers)
        if (worker.unit != "spawned")
            worker.restarts = unit_restarts(worker.unit);
    return Ok{};
}

std::optional<std::uint64_t> RelayReader::unit_restarts(const std::string& unit)
{
    char* encoded = nullptr;
    if (sd_bus_path_encode(kSystemdUnitPathPrefix, unit.c_str(), &encoded) < 0)
        return std::nullopt;
    const CString path(encoded);
    auto reply = call(kSystemdBusName, path.get(), kPropertiesInterface, "Get", "org.freedesktop.systemd1.Service",
                      "NRestarts");
    std::uint32_t restarts = 0;
    // Without systemd on this bus (tests, mcrd --worker-mode spawn) there is
    // no count: the sample is left out rather than reported as 0.
    if (!reply || read_variant(reply->get(), 'u', &restarts) < 0)
        return std::nullopt;
    return restarts;
}

Result<RelayReading> RelayReader::read()
{
    if (Status connected = connect(); !connected)
        return connected.error();
    RelayReading reading;
    Status status = read_stats(reading);
    if (status)
        status = read_manager_properties(reading);
    if (status)
        status = read_workers(reading);
    if (!status) {
        // A bus that went away is reopened on the next scrape.
        if (sd_bus_is_open(connection_.get()) <= 0)
            connection_.reset();
        return status.error();
    }
    return reading;
}

} // namespace mcr::metrics
