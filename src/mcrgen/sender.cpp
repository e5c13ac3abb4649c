// The mcrgen send loop: pace, stamp, sendmmsg, retry on a full queue.
#include "sender.hpp"

#include "pacer.hpp"
#include "payload_header.hpp"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace mcr::gen {
namespace {

constexpr std::uint64_t kRetryBackoffNs = 50'000;

bool transient_send_error(int error_number)
{
    // ENOBUFS: the device queue is full; EAGAIN: the socket buffer is.
    // Both clear once the NIC drains, and retrying keeps counts exact.
    return error_number == ENOBUFS || error_number == EAGAIN || error_number == EINTR;
}

void pause_ns(std::uint64_t ns)
{
    const timespec pause{0, static_cast<long>(ns)};
    (void)nanosleep(&pause, nullptr);
}

// Payload buffers for one batch, each pre-filled with the check pattern.
class BatchBuffers {
public:
    // `rtp`: an RTP header (kRtpPrefixBytes) goes before ours.
    BatchBuffers(std::size_t payload_bytes, const SocketAddress& destination, bool rtp)
        : destination_(destination), payloads_(kMaxBatchPackets, std::vector<std::byte>(payload_bytes)),
          header_offset_(rtp ? kRtpPrefixBytes : 0), rtp_(rtp)
    {
        for (auto& payload : payloads_)
            for (std::size_t i = header_offset_ + kPayloadHeaderBytes; i < payload.size(); ++i)
                payload[i] = payload_fill_byte(i - header_offset_ - kPayloadHeaderBytes);
        for (std::size_t i = 0; i < kMaxBatchPackets; ++i) {
            iovecs_[i] = iovec{payloads_[i].data(), payloads_[i].size()};
            messages_[i] = mmsghdr{};
            messages_[i].msg_hdr.msg_name = &destination_.storage;
            messages_[i].msg_hdr.msg_namelen = destination_.length;
            messages_[i].msg_hdr.msg_iov = &iovecs_[i];
            messages_[i].msg_hdr.msg_iovlen = 1;
        }
    }

    // Stamps `n` payloads with consecutive sequence numbers from `first`.
    void stamp(std::uint32_t stream_id, std::uint64_t first, std::uint64_t n)
    {
        const std::uint64_t now = monotonic_ns();
        for (std::uint64_t i = 0; i < n; ++i) {
            if (rtp_)
                (void)encode_rtp_prefix(stream_id, first + i, payloads_[i]);
            (void)encode_payload_header(PayloadHeader{stream_id, first + i, now},
                                        std::span(payloads_[i]).subspan(header_offset_));
        }
    }

    mmsghdr* messages() { return messages_.data(); }
    // After a partial send, moves the unsent tail to the front.
    void drop_front(std::uint64_t sent, std::uint64_t batch)
    {
        for (std::uint64_t i = sent; i < batch; ++i)
            std::swap(payloads_[i - sent], payloads_[i]);
        for (std::size_t i = 0; i < kMaxBatchPackets; ++i)
            iovecs_[i] = iovec{payloads_[i].data(), payloads_[i].size()};
    }

private:
    SocketAddress destination_;
    std::vector<std::vector<std::byte>> payloads_;
    std::size_t header_offset_ = 0;   // where our header starts (after the RTP header with --rtp)
    bool rtp_ = false;
    std::array<iovec, kMaxBatchPackets> iovecs_{};
    std::array<mmsghdr, kMaxBatchPackets> messages_{};
};

} // namespace

Result<SendReport> run_sender(const SendOptions& options)
{
    auto socket = open_sender_socket(options.socket);
    if (!socket)
        return socket.error();
    // Default timer slack (50 us) would make every paced sleep late.
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

    const std::uint64_t limit = options.count ? *options.count : kMaxSendPackets;
    const double seconds = options.duration_s ? *options.duration_s : kMaxSendSeconds;
    BatchBuffers buffers(options.payload_bytes, to_socket_address(options.socket.destination, options.socket.port),
                         options.rtp);

    SendReport report;
    report.stream_id = options.stream_id;
    const std::uint64_t start = monotonic_ns();
    const std::uint64_t end = start + static_cast<std::uint64_t>(seconds * static_cast<double>(kNsPerSecond));
    const Pacer pacer(options.rate_pps, start);
    std::uint64_t last_progress = start;

    while (report.sent < limit && monotonic_ns() < end) {
        std::uint64_t batch = std::min(pacer.wait_for_due(report.sent), limit - report.sent);
        buffers.stamp(options.stream_id, report.sent, batch);
        while (batch > 0) {
            const int n = ::sendmmsg(socket->get(), buffers.messages(), static_cast<unsigned>(batch), 0);
            const std::uint64_t now = monotonic_ns();
            if (n > 0) {
                report.sent += static_cast<std::uint64_t>(n);
                buffers.drop_front(static_cast<std::uint64_t>(n), batch);
                batch -= static_cast<std::uint64_t>(n);
                last_progress = now;
                continue;
            }
            if (n < 0 && !transient_send_error(errno))
                return Error{"sendmmsg to " + options.socket.destination.to_string(), std::strerror(errno)};
            if (now - last_progress > kSendStallLimitNs)
                return Error{"sendmmsg to " + options.socket.destination.to_string(),
                             "no progress for 5 s (device queue stays full)"};
            ++report.retries;
            pause_ns(kRetryBackoffNs);
        }
    }
    report.elapsed_ns = monotonic_ns() - start;
    report.bytes = report.sent * options.payload_bytes;
    return report;
}

} // namespace mcr::gen
