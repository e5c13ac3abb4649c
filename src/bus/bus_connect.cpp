// Opening the system, session or a private bus; see bus_connect.hpp.
#include "bus/bus_connect.hpp"

#include <string>

namespace mcr::bus {

int open_bus(std::string_view spec, const char* description, BusPtr& out)
{
    sd_bus* bus = nullptr;
    int r = 0;
    if (spec == "system") {
        r = sd_bus_open_system_with_description(&bus, description);
    } else if (spec == "session") {
        r = sd_bus_open_user_with_description(&bus, description);
    } else if ((r = sd_bus_new(&bus)) >= 0) {
        BusPtr owner(bus);   // freed on any failure below
        const std::string address(spec);
        if ((r = sd_bus_set_address(bus, address.c_str())) >= 0 && (r = sd_bus_set_bus_client(bus, 1)) >= 0 &&
            (description == nullptr || (r = sd_bus_set_description(bus, description)) >= 0))
            r = sd_bus_start(bus);
        bus = r >= 0 ? owner.release() : nullptr;
    }
    if (r < 0)
        return r;
    out.reset(bus);
    return 0;
}

} // namespace mcr::bus
