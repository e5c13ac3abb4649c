// The mcrgen recv loop: poll with a deadline, recvmmsg batches, account.
#include "receiver.hpp"

#include "pacer.hpp"
#include "payload_header.hpp"
#include "sender.hpp"

#include "core/signals.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace mcr::gen {
namespace {

constexpr std::size_t kReceiveBatch = 64;
constexpr std::size_t kDatagramBytes = 65'536;
// Room for one SO_RXQ_OVFL control message.
constexpr std::size_t kControlBytes = CMSG_SPACE(sizeof(std::uint32_t));
// Poll at least this often so the deadline is honoured exactly.
constexpr int kMaxPollMs = 100;
// Batches read per wake-up at most, so a stream faster than we can account
// still lets the loop look at the deadline and the stop signal.
constexpr int kMaxBatchesPerWake = 256;

class ReceiveBatch {
public:
    ReceiveBatch() : buffers_(kReceiveBatch, std::vector<std::byte>(kDatagramBytes)) {}

    // recvmmsg without blocking; returns the number of datagrams or -errno.
    int receive(int fd)
    {
        for (std::size_t i = 0; i < kReceiveBatch; ++i) {
            iovecs_[i] = iovec{buffers_[i].data(), buffers_[i].size()};
            messages_[i] = mmsghdr{};
            messages_[i].msg_hdr.msg_iov = &iovecs_[i];
            messages_[i].msg_hdr.msg_iovlen = 1;
            messages_[i].msg_hdr.msg_control = controls_[i].data();
            messages_[i].msg_hdr.msg_controllen = controls_[i].size();
        }
        const int n = ::recvmmsg(fd, messages_.data(), kReceiveBatch, MSG_DONTWAIT, nullptr);
        return n < 0 ? -errno : n;
    }

    [[nodiscard]] std::span<const std::byte> payload(std::size_t i) const
    {
        return {buffers_[i].data(), messages_[i].msg_len};
    }

    // The socket's cumulative drop counter, if the kernel attached it.
    [[nodiscard]] std::optional<std::uint32_t> drops(std::size_t i)
    {
        msghdr& header = messages_[i].msg_hdr;
        for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                std::uint32_t value = 0;
                std::memcpy(&value, CMSG_DATA(c), sizeof(value));
                return value;
            }
        return std::nullopt;
    }

private:
    std::vector<std::vector<std::byte>> buffers_;
    std::array<std::array<std::byte, kControlBytes>, kReceiveBatch> controls_{};
    std::array<iovec, kReceiveBatch> iovecs_{};
    std::array<mmsghdr, kReceiveBatch> messages_{};
};

// mcrgen send --rtp's payloads: our header follows the RTP header. A
// datagram too short for it is left as it is (and counted invalid).
std::span<const std::byte> without_rtp_prefix(std::span<const std::byte> payload)
{
    return payload.size() >= kRtpPrefixBytes ? payload.subspan(kRtpPrefixBytes) : payload;
}

bool payload_intact(std::span<const std::byte> payload)
{
    for (std::size_t i = kPayloadHeaderBytes; i < payload.size(); ++i)
        if (payload[i] != payload_fill_byte(i - kPayloadHeaderBytes))
            return false;
    return true;
}

void account(std::span<const std::byte> payload, std::uint64_t now, ReceiveAccounting& accounting,
             ReceiveReport& report)
{
    const auto header = decode_payload_header(payload);
    if (!header) {
        accounting.record_invalid();
        return;
    }
    report.bytes += payload.size();
    if (!payload_intact(payload))
        ++report.corrupt;
    const std::optional<std::uint64_t> latency =
        now >= header->sent_ns ? std::optional<std::uint64_t>(now - header->sent_ns) : std::nullopt;
    accounting.record(header->stream_id, header->sequence, latency);
}

int actual_receive_buffer(int fd)
{
    int bytes = 0;
    socklen_t length = sizeof(bytes);
    (void)::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, &length);
    return bytes;
}

Status announce_ready(const std::optional<std::string>& ready_file)
{
    if (!ready_file)
        return Ok{};
    std::ofstream out(*ready_file);
    out << "ready\n";
    if (!out)
        return Error{"--ready-file", "cannot write '" + *ready_file + "'"};
    return Ok{};
}

// SIGINT/SIGTERM end the receive early but still print the report (tests
// stop receivers that expect nothing this way). A signalfd keeps this free of
// handlers and global flags.
Result<unique_fd> stop_signal_fd()
{
    sigset_t stop_signals;
    if (const int r = block_signals({SIGINT, SIGTERM}, stop_signals); r < 0)
        return Error{"sigprocmask", std::strerror(-r)};
    unique_fd fd(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd)
        return Error{"signalfd", std::strerror(errno)};
    return fd;
}

} // namespace

Result<ReceiveReport> run_receiver(const ReceiveOptions& options)
{
    auto stop = stop_signal_fd();
    if (!stop)
        return stop.error();
    auto socket = open_receiver_socket(options.socket);
    if (!socket)
        return socket.error();
    if (auto st = announce_ready(options.ready_file); !st)
        return st.error();

    ReceiveReport report;
    report.expected = options.expect;
    report.receive_buffer_bytes = actual_receive_buffer(socket->get());
    ReceiveAccounting accounting;
    ReceiveBatch batch;

    const std::uint64_t start = monotonic_ns();
    std::uint64_t end = start + static_cast<std::uint64_t>(options.duration_s * static_cast<double>(kNsPerSecond));
    bool expectation_met = false;
    for (std::uint64_t now = start; now < end; now = monotonic_ns()) {
        std::array<pollfd, 2> ready{{{socket->get(), POLLIN, 0}, {stop->get(), POLLIN, 0}}};
        const auto wait_ms = std::min<std::uint64_t>((end - now) / kNsPerMs + 1, kMaxPollMs);
        if (::poll(ready.data(), ready.size(), static_cast<int>(wait_ms)) < 0 && errno != EINTR)
            return Error{"poll", std::strerror(errno)};
        // Drain what is queued first, then stop: a stopped receiver reports
        // everything that had arrived.
        const bool stop_requested = (ready[1].revents & POLLIN) != 0;
        for (int round = 0; round < kMaxBatchesPerWake; ++round) {
            const int n = batch.receive(socket->get());
            if (n == -EAGAIN || n == -EINTR || n == 0)
                break;
            if (n < 0)
                return Error{"recvmmsg", std::strerror(-n)};
            const std::uint64_t arrived = monotonic_ns();
            for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
                account(options.rtp ? without_rtp_prefix(batch.payload(i)) : batch.payload(i), arrived, accounting,
                        report);
                if (auto drops = batch.drops(i))
                    report.socket_drops = *drops;
            }
        }
        if (stop_requested)
            break;
        if (!expectation_met && options.expect && accounting.unique() >= *options.expect) {
            expectation_met = true;
            end = std::min(end, monotonic_ns() + kExpectGraceNs);
        }
    }
    report.elapsed_ns = monotonic_ns() - start;
    report.totals = accounting.totals(options.expect);
    report.latency = accounting.latency();
    return report;
}

} // namespace mcr::gen
