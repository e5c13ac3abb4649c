// mcrctl --socket PATH: one request on mcrd's JSON control socket (MCR's
// protocol, one request per connection), for hosts without a bus. Failures
// become CommandFailure with the daemon's message unchanged.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace mcr::ctl {

class ControlClient {
public:
    explicit ControlClient(std::string socket_path) : path_(std::move(socket_path)) {}

    // Sends `request` ("ListRules", {"AddRule":{...}}, ...), returns the value
    // of the response's `expected` tag ({"Rules":[...]} -> the array). An
    // {"Error":"..."} response throws CommandFailure with that message, its
    // exit code read from it (access denied, no such rule, invalid).
    [[nodiscard]] nlohmann::json request(const nlohmann::json& request, std::string_view expected) const;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

} // namespace mcr::ctl
