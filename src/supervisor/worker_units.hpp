// systemd mode: worker unit names (mcrd-worker@<escaped instance>.service)
// and starting/stopping them through org.freedesktop.systemd1.
#pragma once

#include "core/sd_ptr.hpp"

#include <systemd/sd-bus.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace mcr::supervisor {

// systemd-escape(1) of a unit instance: '/' -> '-', bytes outside
// [A-Za-z0-9:_.] and a leading '.' -> \xNN.
[[nodiscard]] std::string escape_unit_instance(std::string_view instance);
// "eth0" for the host, "NS:eth0" for a namespaced suite.
[[nodiscard]] std::string worker_instance(const std::string& namespace_name, const std::string& interface);
[[nodiscard]] std::string worker_unit_name(const std::string& namespace_name, const std::string& interface);

// StartUnit/StopUnit ("replace") without waiting for the job: the worker
// reports in over the worker socket. Failures are logged and reported to
// `on_failure` (interface, message). query_state() asks for a unit's
// ActiveState and whether a job is queued (ListUnitsByNames), answered to
// `on_state`.
class WorkerUnits {
public:
    using FailureCallback = void (*)(void* userdata, const std::string& unit, const std::string& message);
    // active_state as systemctl shows it ("active", "inactive", "failed",
    // "activating"...); job_id 0 when no job is queued for the unit.
    using StateCallback = void (*)(void* userdata, const std::string& unit, const std::string& active_state,
                                   std::uint32_t job_id);

    WorkerUnits(sd_bus* system_bus, FailureCallback on_failure, StateCallback on_state, void* userdata)
        : bus_(system_bus), on_failure_(on_failure), on_state_(on_state), userdata_(userdata) {}

    void start(const std::string& unit) { call("StartUnit", unit); }
    void stop(const std::string& unit) { call("StopUnit", unit); }
    void query_state(const std::string& unit) { call("ListUnitsByNames", unit); }
    // For the reply reader: hands a queried state to `on_state`.
    void report_state(const std::string& unit, const std::string& active_state, std::uint32_t job_id)
    {
        on_state_(userdata_, unit, active_state, job_id);
    }

private:
    struct PendingCall {
        WorkerUnits* owner = nullptr;
        std::uint64_t id = 0;
        std::string unit;
        std::string method;
        BusSlotPtr slot;
    };
    void call(const char* method, const std::string& unit);
    static int on_reply(sd_bus_message* reply, void* userdata, sd_bus_error* error) noexcept;

    sd_bus* bus_;   // not owned
    FailureCallback on_failure_;
    StateCallback on_state_;
    void* userdata_;
    std::map<std::uint64_t, std::unique_ptr<PendingCall>> pending_;
    std::uint64_t next_id_ = 1;
};

} // namespace mcr::supervisor
