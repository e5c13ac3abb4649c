// mcrctl groups [IF]: the IGMP and MLD membership mcrd keeps on the interfaces of
// outputs that require listeners (GetMembership), as MCR users know it from
// "igmp groups".
#include "commands.hpp"
#include "output_table.hpp"

#include <nlohmann/json.hpp>

#include <iostream>

namespace mcr::ctl {

using nlohmann::json;

namespace {

std::string timer_text(const json& value)
{
    return value.is_number() ? std::to_string(value.get<std::int64_t>() / 1000) + "s" : "-";
}

} // namespace

void command_groups(const GlobalOptions& options, const std::string& interface)
{
    RelayClient client(options.connect);
    // The daemon filters by interface and refuses one it keeps no membership
    // on (NoSuchInterface: exit 3, its message unchanged).
    auto reply = client.call("GetMembership",
                             [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", interface.c_str()); });
    const char* text = nullptr;
    check_read(sd_bus_message_read_basic(reply.get(), 's', &text), "membership");
    json shown = json::parse(text, nullptr, false);
    if (!shown.is_array())
        throw CommandFailure(ExitCode::failure, std::string("The daemon's membership is not a JSON array: ") + text);
    OutputTable table({{"INTERFACE"}, {"GROUP"}, {"MODE"}, {"VERSION", true}, {"EXPIRES", true}, {"SOURCES"}});
    std::string queriers;
    for (const json& entry : shown) {
        if (!entry.is_object())
            continue;
        const std::string name = entry.value("interface", "");
        const json other = entry.value("other_querier", json());
        // One querier per family on an interface: say which protocol each is.
        const std::string protocol = entry.value("protocol", "igmp") == "mld" ? "MLD" : "IGMP";
        queriers += name + ": " + protocol + " querier " +
                    (entry.value("querier", false) ? "this relay (" + entry.value("address", json("-")).get<std::string>() + ")"
                                                   : (other.is_string() ? other.get<std::string>() : std::string("none"))) +
                    "\n";
        for (const json& group : entry.value("groups", json::array())) {
            std::string sources;
            for (const json& source : group.value("sources", json::array()))
                sources += (sources.empty() ? "" : ",") + source.value("source", "") +
                           (source.value("timer_ms", json()).is_null() ? "(blocked)" : "");
            table.add_row({name, group.value("group", ""), group.value("mode", ""),
                           protocol + "v" + std::to_string(group.value("version", 3)), timer_text(group.value("timer_ms", json())),
                           sources.empty() ? "-" : sources});
        }
    }
    if (options.json) {
        std::cout << shown.dump(2) << "\n";
        return;
    }
    std::cout << queriers << table.render() << "\n";
}

} // namespace mcr::ctl
