// Owners for what C libraries (sd-bus, sd-login, libc) hand over as malloc()ed
// memory: one type for a string, one for a NULL-terminated string list (strv).
#pragma once

#include <cstdlib>
#include <memory>
#include <string>

namespace mcr {

struct FreeDeleter {
    void operator()(void* p) const noexcept { std::free(p); }
};

// A malloc()ed string, e.g. from sd_pid_get_unit() or sd_bus_get_property_string().
using CString = std::unique_ptr<char, FreeDeleter>;

// A malloc()ed, NULL-terminated array of malloc()ed strings.
struct StrvDeleter {
    void operator()(char** list) const noexcept
    {
        if (list == nullptr)
            return;
        for (char** item = list; *item != nullptr; ++item)
            std::free(*item);
        std::free(list);
    }
};
using CStringList = std::unique_ptr<char*, StrvDeleter>;

// The string's text, or "" for none.
inline std::string to_string(const CString& text) { return text ? std::string(text.get()) : std::string(); }

} // namespace mcr
