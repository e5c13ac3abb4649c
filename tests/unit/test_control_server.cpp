// Proves the control server's socket behaviour on a real AF_UNIX socket with
// a stub handler: MCR framing (half-close) and newline framing, the size
// limit, the slow-client deadline, the connection limit, and that a late
// handler completion after the client left is harmless.
#include "control_server.hpp"

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

using namespace mcr;
using namespace mcr::control;

namespace {

// Answers reads from fixed data; can hold one write completion back.
class StubHandler final : public ControlHandler {
public:
    Completion<Ok> held;
    bool hold_writes = false;
    int calls = 0;

    void add_rule(const PeerCredentials&, Rule, Completion<Ok> done) override { complete(std::move(done)); }
    void remove_rule(const PeerCredentials&, std::string, Completion<Ok> done) override { complete(std::move(done)); }
    void import_rules(const PeerCredentials&, RuleSet, bool, Completion<std::size_t> done) override { done(0); }
    void set_log_level(const PeerCredentials&, LogLevel, Completion<Ok> done) override { complete(std::move(done)); }
    void list_rules(Completion<RuleSet> done) override
    {
        ++calls;
        done(RuleSet{});
    }
    void get_stats(Completion<std::vector<RuleStats>> done) override { done(std::vector<RuleStats>{}); }
    void list_workers(Completion<std::vector<WorkerStatus>> done) override { done(std::vector<WorkerStatus>{}); }
    [[nodiscard]] LogLevel log_level() const override { return LogLevel::info; }

private:
    void complete(Completion<Ok> done)
    {
        ++calls;
        if (hold_writes)
            held = std::move(done);
        else
            done(Ok{});
    }
};

unique_fd connect_to(const std::string& path)
{
    unique_fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) < 0)
        return unique_fd();
    timeval timeout{10, 0};   // a broken server fails the test instead of hanging it
    (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return fd;
}

void send_all(int fd, const std::string& data)
{
    std::size_t sent = 0;
    while (sent < data.size()) {
        ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0)
            return;   // the server may close early (size limit)
        sent += static_cast<std::size_t>(n);
    }
}

std::string read_all(int fd)
{
    std::string text;
    char buffer[4096];
    ssize_t n = 0;
    while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0)
        text.append(buffer, static_cast<std::size_t>(n));
    return text;
}

// One request the MCR way: write, shut down the write side, read to EOF.
std::string request_response(const std::string& path, const std::string& request)
{
    unique_fd fd = connect_to(path);
    if (!fd)
        return "connect failed";
    send_all(fd.get(), request);
    (void)shutdown(fd.get(), SHUT_WR);
    return read_all(fd.get());
}

// Runs the server's loop on this thread while `client` runs on another.
struct Fixture {
    std::string dir;
    std::string path;
    EventPtr event;
    StubHandler handler;
    std::unique_ptr<ControlServer> server;

    explicit Fixture(ControlServerLimits limits = {})
    {
        char pattern[] = "/tmp/mcr-control-test-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        dir = pattern;
        path = dir + "/control.sock";
        sd_event* raw = nullptr;
        REQUIRE(sd_event_new(&raw) >= 0);
        event.reset(raw);
        auto listening = ControlServer::listen_on_path(path, 0600);
        REQUIRE(listening.ok());
        auto created = ControlServer::create(event.get(), std::move(*listening), handler, limits);
        REQUIRE(created.ok());
        server = std::move(*created);
    }
    ~Fixture()
    {
        server.reset();
        (void)unlink(path.c_str());
        (void)rmdir(dir.c_str());
    }
    void run_with(const std::function<void()>& client)
    {
        std::atomic<bool> done{false};
        std::thread thread([&] {
            client();
            done = true;
        });
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!done && std::chrono::steady_clock::now() < give_up)
            (void)sd_event_run(event.get(), 10'000);
        thread.join();
    }
};

} // namespace

TEST_CASE("a request ended by shutdown(SHUT_WR) gets one response and EOF")
{
    // MCR's framing: one JSON document per connection.
    Fixture fixture;
    std::string ping, rules;
    fixture.run_with([&] {
        ping = request_response(fixture.path, "\"Ping\"");
        rules = request_response(fixture.path, "{\"ListRules\":null}");
    });
    CHECK(ping == "{\"Success\":\"pong\"}\n");
    CHECK(rules == "{\"Rules\":[]}\n");   // the test runs as root or the daemon's uid: reads allowed
    CHECK(fixture.server->connection_count() == 0);
}

TEST_CASE("a newline-terminated request is answered without a half-close")
{
    // socat-style clients that keep the write side open still get answers.
    Fixture fixture;
    std::string response;
    fixture.run_with([&] {
        unique_fd fd = connect_to(fixture.path);
        send_all(fd.get(), "\"GetVersion\"\n");
        response = read_all(fd.get());
    });
    CHECK(response == "{\"Version\":{\"protocol_version\":1}}\n");
}

TEST_CASE("an oversize request is refused and the next client is served")
{
    // 1 MiB against the 64 KiB limit: error, close, daemon still answers.
    Fixture fixture;
    std::string refused, next;
    fixture.run_with([&] {
        refused = request_response(fixture.path, "\"" + std::string(std::size_t{1024} * 1024, 'x') + "\"");
        next = request_response(fixture.path, "\"Ping\"");
    });
    CHECK(refused == "{\"Error\":\"request exceeds the limit of 65536 bytes\"}\n");
    CHECK(next == "{\"Success\":\"pong\"}\n");
}

TEST_CASE("malformed JSON gets an Error response")
{
    // The parser's message travels to the client unchanged.
    Fixture fixture;
    std::string response;
    fixture.run_with([&] { response = request_response(fixture.path, "{\"ListRules\""); });
    CHECK(response.rfind("{\"Error\":\"request is not valid JSON: parse error at line 1, column 13", 0) == 0);
}

TEST_CASE("a silent client times out while others are served")
{
    // The deadline frees the slot; a concurrent client is unaffected.
    ControlServerLimits limits;
    limits.request_timeout_usec = 300'000;
    Fixture fixture(limits);
    std::string silent_answer, other;
    fixture.run_with([&] {
        unique_fd silent = connect_to(fixture.path);
        other = request_response(fixture.path, "\"Ping\"");
        silent_answer = read_all(silent.get());
    });
    CHECK(other == "{\"Success\":\"pong\"}\n");
    CHECK(silent_answer == "{\"Error\":\"request not received in time\"}\n");
}

TEST_CASE("clients beyond the connection limit wait in the backlog, then get served")
{
    // With a limit of 2 and two silent clients, a third is answered once a
    // silent one times out.
    ControlServerLimits limits;
    limits.max_connections = 2;
    limits.request_timeout_usec = 300'000;
    Fixture fixture(limits);
    std::string third;
    fixture.run_with([&] {
        unique_fd first = connect_to(fixture.path);
        unique_fd second = connect_to(fixture.path);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        third = request_response(fixture.path, "\"Ping\"");
    });
    CHECK(third == "{\"Success\":\"pong\"}\n");
}

TEST_CASE("a completion after the client left is dropped")
{
    // polkit may answer after the client hung up; nothing must break.
    Fixture fixture;
    fixture.handler.hold_writes = true;
    fixture.run_with([&] {
        unique_fd fd = connect_to(fixture.path);
        send_all(fd.get(), "{\"RemoveRule\":{\"rule_id\":\"a\"}}");
        (void)shutdown(fd.get(), SHUT_WR);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    });   // fd closed here: the client is gone
    fixture.run_with([] { std::this_thread::sleep_for(std::chrono::milliseconds(100)); });
    CHECK(fixture.handler.calls == 1);
    CHECK(fixture.server->connection_count() == 0);
    REQUIRE(fixture.handler.held);
    fixture.handler.held(Ok{});   // must not crash or write anywhere
    std::string after;
    fixture.run_with([&] { after = request_response(fixture.path, "\"Ping\""); });
    CHECK(after == "{\"Success\":\"pong\"}\n");
}

TEST_CASE("200 rapid connections are all answered")
{
    // Accept loop and connection cleanup keep up with a burst.
    Fixture fixture;
    int answered = 0;
    fixture.run_with([&] {
        for (int i = 0; i < 200; ++i)
            answered += request_response(fixture.path, "\"Ping\"") == "{\"Success\":\"pong\"}\n" ? 1 : 0;
    });
    CHECK(answered == 200);
    CHECK(fixture.server->connection_count() == 0);
}
