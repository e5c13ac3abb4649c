// Rate limiting of scrape failure lines; see failure_log.hpp.
#include "metrics/failure_log.hpp"

namespace mcr::metrics {

void FailureLog::failed(const std::string& reason, Clock::time_point now)
{
    if (failing_ && now - last_line_ < interval_) {
        ++unlogged_;
        return;
    }
    std::string line = "Cannot read mcrd: " + reason + "; reporting mcrd_up 0";
    if (unlogged_ > 0)
        line += " (" + std::to_string(unlogged_) + " more failed scrapes since the last line)";
    sink_(line);
    failing_ = true;
    last_line_ = now;
    unlogged_ = 0;
}

void FailureLog::succeeded()
{
    if (!failing_)
        return;
    sink_("mcrd answers again");
    failing_ = false;
    unlogged_ = 0;
}

} // namespace mcr::metrics
