// The HTTP side of mcrd-metrics: libmicrohttpd serving GET /metrics on a
// listening socket it is given (from systemd or from --listen), with its
// own polling thread. Other paths get 404, other methods 405; connections,
// the memory per request (headers included) and the time a client may take
// are bounded, so that local clients cannot starve a scrape for long.
#pragma once

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "metrics/exposition_text.hpp"

#include <microhttpd.h>

#include <functional>
#include <memory>
#include <string>

namespace mcr::metrics {

// A scraper connects and asks at once; anything else is a client to drop.
// Connections beyond the limit wait in the kernel's accept queue: a flood of
// idle ones delays a scrape by about (flood / connections) * timeout, which
// the short timeout keeps to seconds (tests/integration/test_metrics.sh).
struct HttpLimits {
    unsigned connections = 64;             // served at once
    unsigned timeout_seconds = 5;          // a connection idle this long is closed
    std::size_t request_memory_bytes = std::size_t{32} * 1024;   // per connection, request line and headers included
};

// The body of one scrape in `format`, on the endpoint's thread.
using ScrapeHandler = std::function<std::string(ExpositionFormat format)>;

struct DaemonStopper {
    void operator()(MHD_Daemon* daemon) const noexcept { MHD_stop_daemon(daemon); }
};

class HttpEndpoint {
public:
    // Starts serving on `listening` (a bound, listening stream socket), whose
    // ownership passes to libmicrohttpd.
    [[nodiscard]] static Result<std::unique_ptr<HttpEndpoint>> start(unique_fd listening, const HttpLimits& limits,
                                                                     ScrapeHandler scrape);
    HttpEndpoint(const HttpEndpoint&) = delete;
    HttpEndpoint& operator=(const HttpEndpoint&) = delete;
    ~HttpEndpoint() = default;

private:
    explicit HttpEndpoint(ScrapeHandler scrape) : scrape_(std::move(scrape)) {}

    static MHD_Result on_request(void* self, MHD_Connection* connection, const char* url, const char* method,
                                 const char* version, const char* upload_data, std::size_t* upload_data_size,
                                 void** request_state) noexcept;
    MHD_Result answer(MHD_Connection* connection, const char* url, const char* method);

    ScrapeHandler scrape_;
    // Declared last, stopped first: its thread calls back into this object.
    std::unique_ptr<MHD_Daemon, DaemonStopper> daemon_;
};

} // namespace mcr::metrics
