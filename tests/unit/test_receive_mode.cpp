// Proves the worker's choice between the quiet socket and the ring
// (worker/receive_mode.hpp): it switches to the ring as soon as 200 frames
// arrive within 10 ms, back to quiet only after at least 100 ms below
// 5 kpps, and holds its mode for any rate between the two thresholds.
#include "worker/receive_mode.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mcr::worker;
using namespace std::chrono_literals;

namespace {

ReceiveModeDecision decide(ReceiveMode mode, std::uint64_t frames, std::chrono::nanoseconds elapsed)
{
    return decide_receive_mode(mode, RateWindow{frames, elapsed});
}

} // namespace

TEST_CASE("quiet: 200 frames within the 10 ms window switch to the ring at once")
{
    const auto d = decide(ReceiveMode::quiet, 200, 3ms);
    CHECK(d.mode == ReceiveMode::ring);
    CHECK(d.restart_window);
    CHECK(decide(ReceiveMode::quiet, 200, 10ms).mode == ReceiveMode::ring);
}

TEST_CASE("quiet: fewer frames within the window keep counting in the same window")
{
    const auto d = decide(ReceiveMode::quiet, 199, 9ms);
    CHECK(d.mode == ReceiveMode::quiet);
    CHECK_FALSE(d.restart_window);
}

TEST_CASE("quiet: a window that ran long is judged by its average rate and restarted")
{
    // 199 frames in 10.1 ms: 19.7 kpps, below the threshold.
    auto d = decide(ReceiveMode::quiet, 199, 10100us);
    CHECK(d.mode == ReceiveMode::quiet);
    CHECK(d.restart_window);
    // 400 frames in 19 ms: 21 kpps.
    d = decide(ReceiveMode::quiet, 400, 19ms);
    CHECK(d.mode == ReceiveMode::ring);
    CHECK(d.restart_window);
    // One frame after a second of silence.
    d = decide(ReceiveMode::quiet, 1, 1s);
    CHECK(d.mode == ReceiveMode::quiet);
    CHECK(d.restart_window);
}

TEST_CASE("ring: nothing is decided before 100 ms, however few the frames")
{
    const auto d = decide(ReceiveMode::ring, 0, 99ms);
    CHECK(d.mode == ReceiveMode::ring);
    CHECK_FALSE(d.restart_window);
}

TEST_CASE("ring: below 5 kpps over 100 ms or more switches back to quiet")
{
    auto d = decide(ReceiveMode::ring, 499, 100ms);
    CHECK(d.mode == ReceiveMode::quiet);
    CHECK(d.restart_window);
    d = decide(ReceiveMode::ring, 0, 5s);
    CHECK(d.mode == ReceiveMode::quiet);
}

TEST_CASE("ring: 5 kpps or more stays on the ring and starts a new window")
{
    auto d = decide(ReceiveMode::ring, 500, 100ms);
    CHECK(d.mode == ReceiveMode::ring);
    CHECK(d.restart_window);
    d = decide(ReceiveMode::ring, 1000, 150ms); // 6.7 kpps
    CHECK(d.mode == ReceiveMode::ring);
}

TEST_CASE("between 5 and 20 kpps each mode holds (hysteresis)")
{
    // 10 kpps: 100 frames per 10 ms, 1000 per 100 ms.
    CHECK(decide(ReceiveMode::quiet, 100, 10ms).mode == ReceiveMode::quiet);
    CHECK(decide(ReceiveMode::quiet, 101, 10100us).mode == ReceiveMode::quiet);
    CHECK(decide(ReceiveMode::ring, 1000, 100ms).mode == ReceiveMode::ring);
}

TEST_CASE("mode names as the stats show them")
{
    CHECK(std::string(receive_mode_name(ReceiveMode::quiet)) == "quiet");
    CHECK(std::string(receive_mode_name(ReceiveMode::ring)) == "ring");
}
