// libmicrohttpd glue for the /metrics endpoint; see http_endpoint.hpp.
#include "metrics/http_endpoint.hpp"

#include "core/c_callback.hpp"
#include "core/log.hpp"

#include <cstring>

namespace mcr::metrics {

namespace {

constexpr const char* kMetricsPath = "/metrics";
constexpr const char* kTextPlain = "text/plain; charset=utf-8";

MHD_Result respond(MHD_Connection* connection, unsigned status, const std::string& body, const char* type,
                   const char* allow = nullptr)
{
    MHD_Response* response =
        MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr)
        return MHD_NO;
    MHD_Result result = MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (result == MHD_YES && allow != nullptr)
        result = MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
    if (result == MHD_YES)
        result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

} // namespace

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::start(unique_fd listening, const HttpLimits& limits,
                                                          ScrapeHandler scrape)
{
    std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint(std::move(scrape)));
    const int fd = listening.get();
    // One internal thread polls every connection and runs the handler: scrapes
    // are answered one at a time, which the reader (one sd-bus connection)
    // needs, and a slow client costs a connection slot, not a thread.
    MHD_Daemon* daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD, 0, nullptr, nullptr, &HttpEndpoint::on_request, endpoint.get(),
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, limits.connections,
        MHD_OPTION_CONNECTION_TIMEOUT, limits.timeout_seconds,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits.request_memory_bytes,
        MHD_OPTION_END);
    if (daemon == nullptr)
        return Error{"libmicrohttpd", "cannot start serving on the listening socket (fd " + std::to_string(fd) + ")"};
    // The daemon owns the socket now and closes it when stopped.
    (void)listening.release();
    endpoint->daemon_.reset(daemon);
    return endpoint;
}

MHD_Result HttpEndpoint::on_request(void* self, MHD_Connection* connection, const char* url, const char* method,
                                    const char*, const char*, std::size_t* upload_data_size,
                                    void** request_state) noexcept
{
    // A request body (none is expected) arrives in further calls: drop it;
    // the answer was queued on the first call.
    if (*request_state != nullptr) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    *request_state = self;
    const int r = guard_callback("Answering an HTTP request", [&] {
        return static_cast<int>(static_cast<HttpEndpoint*>(self)->answer(connection, url, method));
    }, static_cast<int>(MHD_NO));
    return r == static_cast<int>(MHD_YES) ? MHD_YES : MHD_NO;
}

MHD_Result HttpEndpoint::answer(MHD_Connection* connection, const char* url, const char* method)
{
    if (std::strcmp(url, kMetricsPath) != 0)
        return respond(connection, MHD_HTTP_NOT_FOUND, "Not found: only /metrics is served\n", kTextPlain);
    if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 && std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed: use GET\n", kTextPlain,
                       "GET, HEAD");
    const char* accept = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    const ExpositionFormat format = negotiate_format(accept != nullptr ? accept : "");
    log_debug(std::string("Scrape answered as ") + content_type(format));
    return respond(connection, MHD_HTTP_OK, scrape_(format), content_type(format));
}

} // namespace mcr::metrics
