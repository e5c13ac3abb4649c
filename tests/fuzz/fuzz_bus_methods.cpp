// libFuzzer target: org.mcr.Relay.Manager method argument handling. Builds
// a method call with the method's exact signature (what sd-bus lets reach
// a handler) and fuzzed values, as systemd's fuzz-bus-message does, and
// runs the vtable handler, with the real WritePath, against a fake
// RelayApi. As root the caller is authorized (peer credentials of the
// private connection), so the apply, audit and reply paths run too;
// otherwise the polkit query path does.
#include "api/relay_api.hpp"
#include "api/write_path.hpp"
#include "bus/manager_methods.hpp"
#include "bus/polkit.hpp"
#include "bus/relay_bus.hpp"
#include "core/log.hpp"
#include "core/rule_json.hpp"
#include "core/rule_validation.hpp"
#include "core/sd_ptr.hpp"
#include "fake_relay_api.hpp"
#include "fuzz_fail.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace mcr;
using namespace mcr::bus;

namespace {

std::vector<const sd_bus_vtable*> manager_methods()
{
    std::vector<const sd_bus_vtable*> out;
    for (const sd_bus_vtable* v = manager_vtable(); v->type != _SD_BUS_VTABLE_END; ++v)
        if (v->type == _SD_BUS_VTABLE_METHOD)
            out.push_back(v);
    return out;
}

// Appends one complete type from `signature` (advanced past it) with
// values from the fuzzer. Returns < 0 when sd-bus refuses a value (e.g. a
// string that is not UTF-8): the real bus would never deliver that call.
int append_value(sd_bus_message* m, const char*& signature, FuzzedDataProvider& in)
{
    const char type = *signature++;
    switch (type) {
    case 's': {
        const std::string s = in.ConsumeRandomLengthString(512);
        return sd_bus_message_append_basic(m, 's', s.c_str());
    }
    case 'q': {
        const std::uint16_t q = in.ConsumeIntegral<std::uint16_t>();
        return sd_bus_message_append_basic(m, 'q', &q);
    }
    case 'y': {
        const std::uint8_t y = in.ConsumeIntegral<std::uint8_t>();
        return sd_bus_message_append_basic(m, 'y', &y);
    }
    case 'b': {
        const int b = in.ConsumeBool() ? 1 : 0;
        return sd_bus_message_append_basic(m, 'b', &b);
    }
    case 'a': {
        // Only a(...) of structs occurs in our signatures.
        const char* element = signature;
        const char* end = std::strchr(element, ')');
        const std::string element_signature(element, end + 1);
        int r = sd_bus_message_open_container(m, 'a', element_signature.c_str());
        const unsigned count = in.ConsumeIntegralInRange<unsigned>(0, 70);
        for (unsigned i = 0; r >= 0 && i < count; ++i) {
            const char* s = element;
            r = append_value(m, s, in);
        }
        signature = end + 1;
        return r < 0 ? r : sd_bus_message_close_container(m);
    }
    case '(': {
        const char* end = std::strchr(signature, ')');
        const std::string contents(signature, end);
        int r = sd_bus_message_open_container(m, 'r', contents.c_str());
        while (r >= 0 && *signature != ')')
            r = append_value(m, signature, in);
        ++signature;
        return r < 0 ? r : sd_bus_message_close_container(m);
    }
    default:
        fuzz_fail("a new signature type: teach this target about it");
    }
}

// A bus object on one end of a socketpair: started (so messages can be
// built and replies queued) but never connected to a daemon.
// Closed without flushing: the peer never answers, so a flush would wait.
using UnflushedBusPtr = SdPtr<sd_bus, sd_bus_close_unref>;
UnflushedBusPtr private_bus(int fd)
{
    sd_bus* raw = nullptr;
    if (sd_bus_new(&raw) < 0)
        fuzz_fail("sd-bus refused to set up the call");
    UnflushedBusPtr bus(raw);
    if (sd_bus_set_fd(bus.get(), fd, fd) < 0 || sd_bus_start(bus.get()) < 0)
        fuzz_fail("sd-bus refused to set up the call");
    return bus;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const std::vector<const sd_bus_vtable*> methods = manager_methods();
    FuzzedDataProvider in(data, size);
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
        fuzz_fail("sd-bus refused to set up the call");
    UnflushedBusPtr bus = private_bus(fds[0]);
    testing::FakeRelayApi api;
    WritePath writes(api);
    PolkitAuthorizer polkit;
    RelayBus relay(api, writes, polkit);
    // Several calls per input, so that e.g. AddRule then GetRule/RemoveRule
    // see the state the first one left.
    for (int call = 0; call < 4 && in.remaining_bytes() > 0; ++call) {
        const sd_bus_vtable* method = methods[in.ConsumeIntegralInRange<std::size_t>(0, methods.size() - 1)];
        sd_bus_message* raw = nullptr;
        if (sd_bus_message_new_method_call(bus.get(), &raw, "org.mcr.Relay", "/org/mcr/Relay",
                                           "org.mcr.Relay.Manager", method->x.method.member) < 0)
            fuzz_fail("sd-bus refused to set up the call");
        BusMessagePtr m(raw);
        // SD_BUS_NO_ARGS leaves the signature NULL.
        const char* signature = method->x.method.signature != nullptr ? method->x.method.signature : "";
        int r = 0;
        while (r >= 0 && *signature != '\0')
            r = append_value(m.get(), signature, in);
        if (r < 0)
            continue;
        if (sd_bus_message_seal(m.get(), static_cast<std::uint64_t>(call) + 1, 0) < 0)
            fuzz_fail("sd-bus refused to set up the call");
        sd_bus_error error{};  // SD_BUS_ERROR_NULL, without the C compound literal
        r = method->x.method.handler(m.get(), &relay, &error);
        // A handler fails with a named D-Bus error or a plain errno, never half of one.
        if (r < 0 && sd_bus_error_is_set(&error) && error.message == nullptr)
            fuzz_fail("a D-Bus error without a message");
        sd_bus_error_free(&error);
    }
    ::close(fds[1]);
    return 0;
}
