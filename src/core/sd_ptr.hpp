// RAII owners for libsystemd objects: one unique_ptr alias per type whose
// deleter is the matching *_unref (or flush_close_unref for buses, close for
// a journal).
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include <memory>
#include <string>

namespace mcr {

template <typename T, T* (*Unref)(T*)>
struct SdDeleter {
    void operator()(T* p) const noexcept { (void)Unref(p); }
};

template <typename T, T* (*Unref)(T*)>
using SdPtr = std::unique_ptr<T, SdDeleter<T, Unref>>;

// A bus is flushed before it is dropped so that queued replies and signals
// (e.g. the reply to the call that made us exit) still reach their peer.
using BusPtr = SdPtr<sd_bus, sd_bus_flush_close_unref>;
using BusMessagePtr = SdPtr<sd_bus_message, sd_bus_message_unref>;
using BusSlotPtr = SdPtr<sd_bus_slot, sd_bus_slot_unref>;
using BusCredsPtr = SdPtr<sd_bus_creds, sd_bus_creds_unref>;
using EventPtr = SdPtr<sd_event, sd_event_unref>;
using EventSourcePtr = SdPtr<sd_event_source, sd_event_source_disable_unref>;

// sd_journal has no reference count (sd_journal_close returns void): the
// one owner of a journal opened for reading. Writing needs no handle
// (sd_journal_sendv is stateless).
struct JournalCloser {
    void operator()(sd_journal* journal) const noexcept { sd_journal_close(journal); }
};
using JournalPtr = std::unique_ptr<sd_journal, JournalCloser>;

// An error's text for a log line or a reply: its message, which sd-bus
// allows to be NULL, else its name, else `fallback`.
inline std::string bus_error_text(const sd_bus_error* error, const char* fallback = "unknown error")
{
    if (error != nullptr && error->message != nullptr)
        return error->message;
    if (error != nullptr && error->name != nullptr)
        return error->name;
    return fallback;
}

// sd_bus_error lives on the stack in callbacks; this frees its strings.
class BusError {
public:
    BusError() = default;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    ~BusError() { sd_bus_error_free(&error_); }
    sd_bus_error* get() noexcept { return &error_; }
    [[nodiscard]] const sd_bus_error* get() const noexcept { return &error_; }
    [[nodiscard]] bool is_set() const noexcept { return sd_bus_error_is_set(&error_) > 0; }

private:
    // SD_BUS_ERROR_NULL is a C99 compound literal, which -Wpedantic refuses in C++.
    sd_bus_error error_{nullptr, nullptr, 0};
};

} // namespace mcr
