// The mcrgen send loop: pace, stamp, sendmmsg, retry on a full queue; the
// same for the UDP socket and the raw AF_PACKET channel.
#include "sender.hpp"

#include "pacer.hpp"
#include "payload_header.hpp"
#include "raw_sender.hpp"

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

// What every send writes, laid out once: a UDP payload (socket sender) or a
// whole Ethernet frame (raw sender), and where the destination is.
struct Channel {
    unique_fd socket;
    SocketAddress destination;                 // sockaddr_in/in6, or sockaddr_ll for --raw
    std::vector<std::byte> packet;             // the template each batch slot starts from
    std::size_t payload_offset = 0;            // where the UDP payload starts in `packet`
    std::optional<RawFrameTemplate> frame;     // --raw: reseals the UDP checksum per packet
};

// The UDP payload of every packet: the headers (stamped per packet, zero
// here), then the check pattern.
std::vector<std::byte> payload_template(std::size_t payload_bytes, std::size_t stamped_bytes)
{
    std::vector<std::byte> payload(payload_bytes);
    for (std::size_t i = stamped_bytes; i < payload.size(); ++i)
        payload[i] = payload_fill_byte(i - stamped_bytes);
    return payload;
}

Result<Channel> open_udp_channel(const SendOptions& options, std::size_t stamped_bytes)
{
    auto socket = open_sender_socket(options.socket);
    if (!socket)
        return socket.error();
    Channel channel;
    channel.socket = std::move(*socket);
    channel.destination = to_socket_address(options.socket.destination, options.socket.port);
    channel.packet = payload_template(options.payload_bytes, stamped_bytes);
    return channel;
}

Result<Channel> open_raw_channel(const SendOptions& options, std::size_t stamped_bytes)
{
    const auto& destination = options.socket.destination;
    if (!options.socket.interface)
        return Error{"--raw", "needs --interface (the frames bypass routing)"};
    auto sender = open_raw_sender(RawSenderSpec{*options.socket.interface, destination, options.socket.source,
                                                options.raw->destination_mac});
    if (!sender)
        return sender.error();
    // No fragmentation on this path: a frame the link cannot carry is refused.
    const std::size_t ip_bytes = raw_frame_bytes(destination, options.payload_bytes) - dataplane::kEthernetHeaderBytes;
    if (ip_bytes > sender->mtu)
        return Error{"--size", std::to_string(options.payload_bytes) + " makes a " + std::to_string(ip_bytes) +
                                   "-byte IP packet, above the MTU of " + *options.socket.interface + " (" +
                                   std::to_string(sender->mtu) + "); --raw does not fragment"};
    RawFrameSpec spec;
    spec.source_mac = sender->source_mac;
    spec.destination_mac = sender->destination_mac;
    spec.source = sender->source;
    spec.destination = destination;
    // The source port is the destination port: there is no socket to own
    // an ephemeral one, and receivers and relays match on the destination.
    spec.source_port = options.socket.port;
    spec.destination_port = options.socket.port;
    spec.ttl = options.socket.ttl;
    spec.stamped_bytes = stamped_bytes;
    Channel channel;
    channel.socket = std::move(sender->socket);
    channel.destination = sender->link;
    channel.frame.emplace(spec, payload_template(options.payload_bytes, stamped_bytes));
    channel.packet = channel.frame->bytes();
    channel.payload_offset = channel.frame->payload_offset();
    return channel;
}

// The packets of one batch, each a copy of the channel's template.
class BatchBuffers {
public:
    // `rtp`: an RTP header (kRtpPrefixBytes) goes before ours.
    BatchBuffers(const Channel& channel, bool rtp)
        : channel_(channel), destination_(channel.destination), packets_(kMaxBatchPackets, channel.packet), rtp_(rtp)
    {
        for (std::size_t i = 0; i < kMaxBatchPackets; ++i) {
            iovecs_[i] = iovec{packets_[i].data(), packets_[i].size()};
            messages_[i] = mmsghdr{};
            messages_[i].msg_hdr.msg_name = &destination_.storage;
            messages_[i].msg_hdr.msg_namelen = destination_.length;
            messages_[i].msg_hdr.msg_iov = &iovecs_[i];
            messages_[i].msg_hdr.msg_iovlen = 1;
        }
    }

    // Stamps `n` packets with consecutive sequence numbers from `first`.
    void stamp(std::uint32_t stream_id, std::uint64_t first, std::uint64_t n)
    {
        const std::uint64_t now = monotonic_ns();
        for (std::uint64_t i = 0; i < n; ++i) {
            const auto payload = std::span(packets_[i]).subspan(channel_.payload_offset);
            if (rtp_)
                (void)encode_rtp_prefix(stream_id, first + i, payload);
            (void)encode_payload_header(PayloadHeader{stream_id, first + i, now},
                                        payload.subspan(rtp_ ? kRtpPrefixBytes : 0));
            if (channel_.frame)
                channel_.frame->seal(packets_[i]);
        }
    }

    mmsghdr* messages() { return messages_.data(); }
    // After a partial send, moves the unsent tail to the front.
    void drop_front(std::uint64_t sent, std::uint64_t batch)
    {
        for (std::uint64_t i = sent; i < batch; ++i)
            std::swap(packets_[i - sent], packets_[i]);
        for (std::size_t i = 0; i < kMaxBatchPackets; ++i)
            iovecs_[i] = iovec{packets_[i].data(), packets_[i].size()};
    }

private:
    const Channel& channel_;
    SocketAddress destination_;   // sendmmsg wants it writable
    std::vector<std::vector<std::byte>> packets_;
    bool rtp_ = false;
    std::array<iovec, kMaxBatchPackets> iovecs_{};
    std::array<mmsghdr, kMaxBatchPackets> messages_{};
};

} // namespace

Result<SendReport> run_sender(const SendOptions& options)
{
    const std::size_t stamped_bytes = (options.rtp ? kRtpPrefixBytes : 0) + kPayloadHeaderBytes;
    auto channel = options.raw ? open_raw_channel(options, stamped_bytes) : open_udp_channel(options, stamped_bytes);
    if (!channel)
        return channel.error();
    // Default timer slack (50 us) would make every paced sleep late.
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

    const std::uint64_t limit = options.count ? *options.count : kMaxSendPackets;
    const double seconds = options.duration_s ? *options.duration_s : kMaxSendSeconds;
    BatchBuffers buffers(*channel, options.rtp);

    SendReport report;
    report.stream_id = options.stream_id;
    const std::uint64_t start = monotonic_ns();
    const std::uint64_t end = start + static_cast<std::uint64_t>(seconds * static_cast<double>(kNsPerSecond));
    const Pacer pacer(options.rate_pps, start);
    std::uint64_t last_progress = start;
    // --no-retry: the device dropped the first frame of the batch; it
    // counts as sent (and refused), as a frame a wire lost would.
    const auto refuse_front = [&](std::uint64_t& batch) {
        ++report.sent;
        ++report.refused;
        buffers.drop_front(1, batch);
        --batch;
    };

    while (report.sent < limit && monotonic_ns() < end) {
        std::uint64_t batch = std::min(pacer.wait_for_due(report.sent), limit - report.sent);
        buffers.stamp(options.stream_id, report.sent, batch);
        while (batch > 0) {
            const int n = ::sendmmsg(channel->socket.get(), buffers.messages(), static_cast<unsigned>(batch), 0);
            const std::uint64_t now = monotonic_ns();
            if (n > 0) {
                report.sent += static_cast<std::uint64_t>(n);
                buffers.drop_front(static_cast<std::uint64_t>(n), batch);
                batch -= static_cast<std::uint64_t>(n);
                last_progress = now;
                // sendmmsg stops at the first message that fails, and
                // drops its error: with --no-retry that one was refused.
                if (options.no_retry && batch > 0)
                    refuse_front(batch);
                continue;
            }
            if (n < 0 && !transient_send_error(errno))
                return Error{"sendmmsg to " + options.socket.destination.to_string(), std::strerror(errno)};
            if (options.no_retry && errno == ENOBUFS) {
                refuse_front(batch);
                last_progress = now;
                continue;
            }
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
