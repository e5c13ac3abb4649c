// Worker unit naming and the systemd1 Manager calls.
#include "worker_units.hpp"

#include "core/c_callback.hpp"
#include "core/log.hpp"

#include <cstring>

namespace mcr::supervisor {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

bool keeps_literal(char c, bool first)
{
    if (c == '.')
        return !first;
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '_';
}

// ListUnitsByNames' one entry: name, description, load state, active
// state, sub state, followed unit, object path, job id, job type, job path.
void read_unit_state(sd_bus_message* reply, WorkerUnits& owner, const std::string& unit);

} // namespace

std::string escape_unit_instance(std::string_view instance)
{
    std::string out;
    for (std::size_t i = 0; i < instance.size(); ++i) {
        const char c = instance[i];
        if (c == '/') {
            out += '-';
        } else if (keeps_literal(c, i == 0)) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += "\\x";
            out += kHexDigits[byte >> 4];
            out += kHexDigits[byte & 0xf];
        }
    }
    return out;
}

std::string worker_instance(const std::string& namespace_name, const std::string& interface)
{
    return namespace_name.empty() ? interface : namespace_name + ":" + interface;
}

std::string worker_unit_name(const std::string& namespace_name, const std::string& interface)
{
    return "mcrd-worker@" + escape_unit_instance(worker_instance(namespace_name, interface)) + ".service";
}

void WorkerUnits::call(const char* method, const std::string& unit)
{
    auto pending = std::make_unique<PendingCall>();
    pending->owner = this;
    pending->unit = unit;
    pending->method = method;
    const std::uint64_t id = next_id_++;
    pending->id = id;
    sd_bus_slot* slot = nullptr;
    const bool query = std::strcmp(method, "ListUnitsByNames") == 0;
    // sd-bus reads an "as" argument as a count, then that many strings
    // (not a NULL-terminated vector).
    const int r = query ? sd_bus_call_method_async(bus_, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                                   "org.freedesktop.systemd1.Manager", method, on_reply,
                                                   pending.get(), "as", 1U, unit.c_str())
                        : sd_bus_call_method_async(bus_, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                                   "org.freedesktop.systemd1.Manager", method, on_reply,
                                                   pending.get(), "ss", unit.c_str(), "replace");
    if (r < 0) {
        const std::string message = std::string("Failed to ask systemd to ") + method + " " + unit + ": " +
                                    std::strerror(-r);
        log_error(message, {{"MCR_UNIT", unit}});
        on_failure_(userdata_, unit, message);
        return;
    }
    pending->slot.reset(slot);
    pending_.emplace(id, std::move(pending));
}

int WorkerUnits::on_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) noexcept
{
    // The slot lives in the PendingCall, so this never runs after it is freed.
    auto* pending = static_cast<PendingCall*>(userdata);
    WorkerUnits* owner = pending->owner;
    return guard_callback("Handling a systemd reply", [&]() -> int {
        auto node = owner->pending_.extract(pending->id);
        if (const sd_bus_error* e = sd_bus_message_get_error(reply)) {
            const std::string message = "systemd refused to " + pending->method + " " + pending->unit + ": " +
                                        bus_error_text(e);
            log_error(message, {{"MCR_UNIT", pending->unit}});
            // A failed state query leaves the unit as it was: only calls
            // that change it report failures.
            if (pending->method != "ListUnitsByNames")
                owner->on_failure_(owner->userdata_, pending->unit, message);
            return 0;
        }
        if (pending->method == "ListUnitsByNames")
            read_unit_state(reply, *owner, pending->unit);
        return 0;
    });
}

namespace {

void read_unit_state(sd_bus_message* reply, WorkerUnits& owner, const std::string& unit)
{
    const char* name = nullptr;
    const char* description = nullptr;
    const char* load_state = nullptr;
    const char* active_state = nullptr;
    const char* sub_state = nullptr;
    const char* following = nullptr;
    const char* path = nullptr;
    std::uint32_t job_id = 0;
    const char* job_type = nullptr;
    const char* job_path = nullptr;
    if (sd_bus_message_enter_container(reply, 'a', "(ssssssouso)") <= 0 ||
        sd_bus_message_read(reply, "(ssssssouso)", &name, &description, &load_state, &active_state, &sub_state,
                            &following, &path, &job_id, &job_type, &job_path) <= 0) {
        log_warning("Unreadable unit state from systemd for " + unit + ", ignoring", {{"MCR_UNIT", unit}});
        return;
    }
    owner.report_state(unit, active_state, job_id);
}

} // namespace

} // namespace mcr::supervisor
