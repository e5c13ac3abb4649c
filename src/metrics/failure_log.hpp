// The log lines of failed scrapes: the first failure at once, then at most
// one line per interval saying how many more failed, and one line when
// mcrd answers again. A Prometheus scraping every 15 s at a stopped mcrd
// writes a line a minute, not four.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace mcr::metrics {

class FailureLog {
public:
    using Clock = std::chrono::steady_clock;
    using Sink = std::function<void(const std::string& line)>;

    explicit FailureLog(Sink sink, Clock::duration interval = std::chrono::seconds(60))
        : sink_(std::move(sink)), interval_(interval) {}

    void failed(const std::string& reason, Clock::time_point now = Clock::now());
    void succeeded();

private:
    Sink sink_;
    Clock::duration interval_;
    bool failing_ = false;
    Clock::time_point last_line_{};
    std::uint64_t unlogged_ = 0;   // failures since the last line
};

} // namespace mcr::metrics
