// How mcrgen prints its results: one JSON object for scripts (--json), or
// a few aligned lines for people.
#pragma once

#include "receiver.hpp"
#include "sender.hpp"

#include <string>

namespace mcr::gen {

[[nodiscard]] std::string send_report_json(const SendReport& report);
[[nodiscard]] std::string send_report_text(const SendReport& report);
[[nodiscard]] std::string receive_report_json(const ReceiveReport& report);
[[nodiscard]] std::string receive_report_text(const ReceiveReport& report);

} // namespace mcr::gen
