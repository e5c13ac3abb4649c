// Proves the polkit re-dispatch of a D-Bus write whose state changed while
// polkit decided: the call comes back to its handler once polkit answers,
// the handler decides on the state as it is then, and no answer is left
// behind in the PolkitAuthorizer, whether the handler consumed it (AddRule:
// authorized, then refused by the API) or answered before authorization
// (RemoveRule of a rule removed meanwhile).
//
// No bus daemon and no polkitd: mcrd's end of a socketpair is a direct
// sd-bus connection serving the Manager vtable; the other end is the
// caller and polkit at once, answering CheckAuthorization when the test
// says so. Calls carry a sender name and no credentials, so the caller is
// not root to PolkitAuthorizer and polkit is asked.
#include "api/write_path.hpp"
#include "bus/bus_names.hpp"
#include "bus/polkit.hpp"
#include "bus/relay_bus.hpp"
#include "core/rule_json.hpp"
#include "core/sd_ptr.hpp"
#include "fake_relay_api.hpp"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

using namespace mcr;
using namespace mcr::bus;

namespace {

using BusPtr = SdPtr<sd_bus, sd_bus_close_unref>;

Rule make_rule(const std::string& name)
{
    Result<Rule> rule = rule_from_json(nlohmann::json{
        {"name", name},
        {"input", {{"interface", "in0"}, {"address", "239.1.1.1"}, {"port", 5000}}},
        {"outputs", {{{"interface", "out0"}, {"address", "239.2.2.2"}, {"port", 6000}}}}});
    REQUIRE(rule.ok());
    return *rule;
}

// The peer: records every CheckAuthorization call and every reply or error
// it receives (to the method calls the test makes in its name).
struct Peer {
    std::vector<BusMessagePtr> polkit_calls;
    std::vector<std::string> answers;   // "ok" or the D-Bus error name, per reply

    static int on_message(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/)
    {
        auto& self = *static_cast<Peer*>(userdata);
        if (sd_bus_message_is_method_call(m, "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization")) {
            self.polkit_calls.emplace_back(sd_bus_message_ref(m));
            return 1;
        }
        std::uint64_t cookie = 0;
        if (const sd_bus_error* e = sd_bus_message_get_error(m))
            self.answers.emplace_back(e->name);
        else if (sd_bus_message_get_reply_cookie(m, &cookie) >= 0)
            self.answers.emplace_back("ok");
        return 0;
    }
};

// Both ends of a socketpair in this thread.
class Fixture {
public:
    Fixture() : writes(api, [this](const audit::Record& record) { records.push_back(record); }), relay(api, writes, polkit)
    {
        int fds[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
        mcrd_ = start(fds[0], false);
        peer_ = start(fds[1], true);
        REQUIRE(sd_bus_add_filter(peer_.get(), nullptr, &Peer::on_message, &peer) >= 0);
        REQUIRE(relay.attach(mcrd_.get()) >= 0);
    }
    ~Fixture() { relay.detach(); }
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    // A Manager method call from ":1.42" (arguments added by `append`), as
    // mcrd's bus would read it.
    void call(const char* member, const std::function<int(sd_bus_message*)>& append)
    {
        sd_bus_message* raw = nullptr;
        REQUIRE(sd_bus_message_new_method_call(mcrd_.get(), &raw, "org.mcr.Relay", kObjectPath,
                                               "org.mcr.Relay.Manager", member) >= 0);
        BusMessagePtr m(raw);
        REQUIRE(append(m.get()) >= 0);
        REQUIRE(sd_bus_message_set_sender(m.get(), ":1.42") >= 0);
        REQUIRE(sd_bus_message_seal(m.get(), ++cookie_, 0) >= 0);
        REQUIRE(sd_bus_enqueue_for_read(mcrd_.get(), m.get()) >= 0);
    }

    // polkit's answer to the oldest unanswered CheckAuthorization.
    void polkit_answers(bool authorized)
    {
        REQUIRE(answered_ < peer.polkit_calls.size());
        REQUIRE(sd_bus_reply_method_return(peer.polkit_calls[answered_++].get(), "(bba{ss})", authorized ? 1 : 0, 0,
                                           0) >= 0);
    }

    // Runs both ends until `done` holds (bounded: 5 s).
    void run_until(const std::function<bool()>& done)
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!done()) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            bool progress = false;
            for (sd_bus* bus : {mcrd_.get(), peer_.get()}) {
                const int r = sd_bus_process(bus, nullptr);
                REQUIRE(r >= 0);
                progress = progress || r > 0;
            }
            if (!progress) {
                pollfd fds[2] = {{sd_bus_get_fd(mcrd_.get()), static_cast<short>(sd_bus_get_events(mcrd_.get())), 0},
                                 {sd_bus_get_fd(peer_.get()), static_cast<short>(sd_bus_get_events(peer_.get())), 0}};
                (void)poll(fds, 2, 10);
            }
        }
    }

    testing::FakeRelayApi api;
    std::vector<audit::Record> records;   // what would go to the journal
    WritePath writes;
    PolkitAuthorizer polkit;
    RelayBus relay;
    Peer peer;

private:
    static BusPtr start(int fd, bool server)
    {
        sd_bus* raw = nullptr;
        REQUIRE(sd_bus_new(&raw) >= 0);
        BusPtr bus(raw);
        REQUIRE(sd_bus_set_fd(bus.get(), fd, fd) >= 0);
        if (server) {
            sd_id128_t id;
            REQUIRE(sd_id128_randomize(&id) >= 0);
            REQUIRE(sd_bus_set_server(bus.get(), 1, id) >= 0);
        }
        REQUIRE(sd_bus_start(bus.get()) >= 0);
        return bus;
    }

    BusPtr mcrd_;
    BusPtr peer_;
    std::uint64_t cookie_ = 0;
    std::size_t answered_ = 0;
};

int append_nothing(sd_bus_message* /*m*/) { return 0; }

} // namespace

TEST_CASE("RemoveRule of a rule removed while polkit decided: no such rule, and polkit's answer is not kept")
{
    Fixture f;
    REQUIRE(f.api.add_rule(make_rule("old")).ok());
    f.call("RemoveRule", [](sd_bus_message* m) { return sd_bus_message_append(m, "s", "old"); });
    f.run_until([&] { return f.peer.polkit_calls.size() == 1; });
    CHECK(f.polkit.bus_queries_held() == 1);
    CHECK(f.peer.answers.empty());   // no reply while polkit decides

    REQUIRE(f.api.remove_rule("old").ok());   // someone else removes it meanwhile
    f.api.applied = 0;
    f.polkit_answers(true);
    f.run_until([&] { return !f.peer.answers.empty(); });

    CHECK(f.peer.answers == std::vector<std::string>{kErrorNoSuchRule});
    CHECK(f.api.applied == 0);
    REQUIRE(f.records.size() == 1);   // audited once, when it was answered
    CHECK(f.records[0].outcome == audit::Outcome::invalid);
    CHECK(f.polkit.bus_queries_held() == 0);
}

TEST_CASE("AddRule of a name taken while polkit decided: authorized, refused by the state as it is then")
{
    Fixture f;
    f.call("AddRuleJSON", [](sd_bus_message* m) {
        return sd_bus_message_append(m, "s", rule_to_json(make_rule("new")).dump().c_str());
    });
    f.run_until([&] { return f.peer.polkit_calls.size() == 1; });
    REQUIRE(f.api.add_rule(make_rule("new")).ok());   // someone else adds it meanwhile
    f.polkit_answers(true);
    f.run_until([&] { return !f.peer.answers.empty(); });

    CHECK(f.peer.answers == std::vector<std::string>{kErrorRuleExists});
    CHECK(f.polkit.bus_queries_held() == 0);
}

TEST_CASE("a call polkit refuses is refused once, whatever changed meanwhile, and nothing is kept")
{
    Fixture f;
    f.call("RemoveRule", [](sd_bus_message* m) { return sd_bus_message_append(m, "s", "gone"); });
    // Unknown rule: D-Bus answers before asking polkit at all.
    f.run_until([&] { return !f.peer.answers.empty(); });
    CHECK(f.peer.answers == std::vector<std::string>{kErrorNoSuchRule});
    CHECK(f.peer.polkit_calls.empty());

    REQUIRE(f.api.add_rule(make_rule("kept")).ok());
    f.call("Reload", append_nothing);
    f.run_until([&] { return f.peer.polkit_calls.size() == 1; });
    f.polkit_answers(false);
    f.run_until([&] { return f.peer.answers.size() == 2; });
    CHECK(f.peer.answers[1] == "org.freedesktop.DBus.Error.AccessDenied");
    REQUIRE(f.records.size() == 2);
    CHECK(f.records[1].outcome == audit::Outcome::denied);
    CHECK(f.polkit.bus_queries_held() == 0);
}
