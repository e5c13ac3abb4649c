// Which of the two ingress sockets the worker has the kernel fill, chosen by
// the frame rate: the quiet socket (a wake-up per frame, no block timer:
// lowest latency, but a wake-up, an skb clone and a copy per frame, which
// livelocks under a flood) while traffic is light, the ring (frames copied
// into blocks, one wake-up per block: the least CPU per frame) once it is
// heavy. A plain function of the mode and one window of counted frames, so
// that the unit tests drive it without a kernel (test_receive_mode.cpp).
#pragma once

#include <chrono>
#include <cstdint>

namespace mcr::worker {

enum class ReceiveMode : std::uint8_t { quiet, ring };

[[nodiscard]] const char* receive_mode_name(ReceiveMode mode) noexcept;

// Frames read since the window began, and how long ago that was.
struct RateWindow {
    std::uint64_t frames = 0;
    std::chrono::nanoseconds elapsed{0};
};

// Hysteresis: quiet -> ring above 20 kpps, judged over 10 ms (so a burst
// switches within 10 ms, before the quiet socket's per-frame cost shows);
// ring -> quiet below 5 kpps over at least 100 ms (so a stream near the
// threshold does not flap, and a switch costs at most ten grace periods a
// second). Between the two rates the mode stays as it is.
inline constexpr std::chrono::milliseconds kQuietWindow{10};
inline constexpr std::uint64_t kQuietMaxFrames = 200;        // 20 kpps over kQuietWindow
inline constexpr std::chrono::milliseconds kRingWindow{100};
inline constexpr std::uint64_t kRingMinFramesPerSecond = 5000;

struct ReceiveModeDecision {
    ReceiveMode mode = ReceiveMode::quiet;
    bool restart_window = false;  // start counting a new window from now
};

[[nodiscard]] ReceiveModeDecision decide_receive_mode(ReceiveMode current, RateWindow window) noexcept;

} // namespace mcr::worker
