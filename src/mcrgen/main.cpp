// mcrgen: a bounded multicast/unicast UDP traffic generator and receiver for
// mcrd's integration tests and benchmarks.
// Exit status: 0 success, 1 --expect not met, 2 bad usage or refused
// destination, 3 runtime failure (socket, send, receive).
#include "destination_policy.hpp"
#include "payload_header.hpp"
#include "receiver.hpp"
#include "report.hpp"
#include "sender.hpp"

#include "core/command_line.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <random>

namespace {

using mcr::IpAddress;

constexpr int kExitExpectNotMet = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRuntime = 3;
constexpr std::uint64_t kMaxRatePps = 100'000'000;

struct SendArguments {
    std::string group;
    std::uint16_t port = 0;
    std::string interface;
    std::string source;
    std::uint64_t rate_pps = 0;
    std::size_t size = 0;
    std::uint64_t count = 0;
    double duration_s = 0;
    int ttl = 16;  // not 1 (the socket default): a relay drops TTL<=1 as expired
    bool force = false;
    std::uint32_t stream_id = 0;
    bool rtp = false;
    bool json = false;
    bool raw = false;
    std::string destination_mac;
    bool no_retry = false;
};

struct ReceiveArguments {
    std::string group;
    std::uint16_t port = 0;
    std::string interface;
    double duration_s = 0;
    std::uint64_t expect = 0;
    std::string ready_file;
    bool rtp = false;
    bool json = false;
};

int fail(const std::string& message, int status)
{
    std::cerr << "mcrgen: " << message << "\n";
    return status;
}

// Prints the usage error itself; nullopt means "exit with kExitUsage".
std::optional<IpAddress> parse_address(const std::string& text, const char* option)
{
    auto address = IpAddress::parse(text);
    if (!address)
        (void)fail(std::string(option) + ": '" + text + "' is not an IP address", kExitUsage);
    return address;
}

std::optional<std::string> optional_text(const std::string& text)
{
    return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

// --raw and --dst-mac; 0 when they are consistent, else the usage error's
// exit status (after printing it).
int set_raw_options(const SendArguments& args, const IpAddress& group, mcr::gen::SendOptions& options)
{
    if (!args.raw) {
        if (!args.destination_mac.empty())
            return fail("--dst-mac needs --raw (a UDP socket leaves the MAC to the kernel)", kExitUsage);
        return 0;
    }
    if (args.interface.empty())
        return fail("--raw needs --interface: the frames bypass routing and go out of that interface alone",
                    kExitUsage);
    mcr::gen::RawSendOptions raw;
    if (!args.destination_mac.empty()) {
        raw.destination_mac = mcr::gen::parse_mac(args.destination_mac);
        if (!raw.destination_mac)
            return fail("--dst-mac: '" + args.destination_mac + "' is not a MAC address (aa:bb:cc:dd:ee:ff)",
                        kExitUsage);
    } else if (!group.is_multicast()) {
        return fail("--raw to the unicast address " + group.to_string() +
                        " needs --dst-mac (the next hop's MAC address; --raw does no neighbour lookup)",
                    kExitUsage);
    }
    options.raw = raw;
    return 0;
}

int run_send(const SendArguments& args, const CLI::App& command)
{
    const auto group = parse_address(args.group, "--group");
    if (!group)
        return kExitUsage;
    if (auto refusal = mcr::gen::destination_refusal(*group); refusal && !args.force)
        return fail(*refusal, kExitUsage);
    mcr::gen::SendOptions options;
    options.socket.destination = *group;
    options.socket.port = args.port;
    options.socket.interface = optional_text(args.interface);
    options.socket.ttl = static_cast<std::uint8_t>(args.ttl);
    if (!args.source.empty()) {
        options.socket.source = parse_address(args.source, "--source");
        if (!options.socket.source)
            return kExitUsage;
        if (options.socket.source->family() != group->family())
            return fail("--source: '" + args.source + "' and --group '" + args.group +
                            "' are of different address families",
                        kExitUsage);
    }
    if (!args.interface.empty() && !args.source.empty() && !args.raw)
        return fail("--interface excludes --source (except with --raw, where --source only fills in the frames)",
                    kExitUsage);
    if (auto status = set_raw_options(args, *group, options); status != 0)
        return status;
    options.no_retry = args.no_retry;
    options.rate_pps = args.rate_pps;
    options.payload_bytes = args.size;
    options.rtp = args.rtp;
    if (args.rtp && args.size < mcr::gen::kRtpPrefixBytes + mcr::gen::kPayloadHeaderBytes)
        return fail("send: --rtp needs --size " + std::to_string(mcr::gen::kRtpPrefixBytes + mcr::gen::kPayloadHeaderBytes) +
                        " or more (RTP header + mcrgen header), got " + std::to_string(args.size),
                    kExitUsage);
    if (command.count("--count") > 0)
        options.count = args.count;
    if (command.count("--duration") > 0)
        options.duration_s = args.duration_s;
    options.stream_id = command.count("--stream-id") > 0 ? args.stream_id : std::random_device{}();

    auto report = mcr::gen::run_sender(options);
    if (!report)
        return fail(report.error().message(), kExitRuntime);
    std::cout << (args.json ? mcr::gen::send_report_json(*report) + "\n" : mcr::gen::send_report_text(*report));
    return 0;
}

int run_receive(const ReceiveArguments& args, const CLI::App& command)
{
    const auto group = parse_address(args.group, "--group");
    if (!group)
        return kExitUsage;
    mcr::gen::ReceiveOptions options;
    options.socket.group = *group;
    options.socket.port = args.port;
    options.socket.interface = optional_text(args.interface);
    options.duration_s = args.duration_s;
    options.ready_file = optional_text(args.ready_file);
    options.rtp = args.rtp;
    if (command.count("--expect") > 0)
        options.expect = args.expect;

    auto report = mcr::gen::run_receiver(options);
    if (!report)
        return fail(report.error().message(), kExitRuntime);
    std::cout << (args.json ? mcr::gen::receive_report_json(*report) + "\n"
                            : mcr::gen::receive_report_text(*report));
    if (options.expect && report->totals.unique < *options.expect)
        return kExitExpectNotMet;
    return 0;
}

int run(int argc, char** argv)
{
    CLI::App app{"mcrgen: bounded UDP multicast traffic generator and receiver for mcrd tests"};
    app.require_subcommand(1);

    SendArguments send;
    CLI::App* send_cmd = app.add_subcommand("send", "send a paced, bounded UDP stream");
    send_cmd->add_option("--group", send.group, "destination group or unicast address")->required();
    send_cmd->add_option("--port", send.port, "UDP destination port")->required()->check(CLI::Range(1, 65535));
    send_cmd->add_option("--interface", send.interface, "egress interface (required with --raw)");
    send_cmd->add_option("--source", send.source,
                         "local source address to send from (of --group's family); with --raw, the source address "
                         "written into the frames (default: the interface's)");
    send_cmd->add_option("--rate", send.rate_pps, "packets per second, 0 = as fast as possible")
        ->required()->check(CLI::Range(std::uint64_t{0}, kMaxRatePps));
    send_cmd->add_option("--size", send.size, "UDP payload bytes (includes the 24-byte header)")
        ->required()->check(CLI::Range(mcr::gen::kPayloadHeaderBytes, mcr::gen::kMaxPayloadBytes));
    send_cmd->add_option("--count", send.count, "packets to send")
        ->check(CLI::Range(std::uint64_t{1}, mcr::gen::kMaxSendPackets));
    send_cmd->add_option("--duration", send.duration_s, "seconds to send for")
        ->check(CLI::Range(0.001, mcr::gen::kMaxSendSeconds));
    send_cmd->add_option("--ttl", send.ttl, "IPv4 TTL or IPv6 hop limit of the datagrams")->check(CLI::Range(1, 255));
    send_cmd->add_option("--stream-id", send.stream_id, "stream id in the payload header (default random)");
    send_cmd->add_flag("--force", send.force, "allow destinations outside 239/8, ff1x::/ff3x:: and the documentation ranges");
    send_cmd->add_flag("--rtp", send.rtp, "put an RTP header (v2, pt 96, 16-bit sequence) before mcrgen's own");
    send_cmd->add_flag("--json", send.json, "print the result as one JSON object");
    send_cmd->add_flag("--raw", send.raw,
                       "write whole Ethernet frames to --interface through an AF_PACKET socket, past the UDP/IP "
                       "stack (needs CAP_NET_RAW)");
    send_cmd->add_flag("--no-retry", send.no_retry,
                       "count a frame the device refuses (ENOBUFS) as sent and lost instead of sending it again");
    send_cmd->add_option("--dst-mac", send.destination_mac,
                         "with --raw: destination MAC address (required for a unicast --group; default for a group: "
                         "its multicast MAC)");

    ReceiveArguments recv;
    CLI::App* recv_cmd = app.add_subcommand("recv", "receive and account a stream for a bounded time");
    recv_cmd->add_option("--group", recv.group, "group to join, or a local unicast address")->required();
    recv_cmd->add_option("--port", recv.port, "UDP port")->required()->check(CLI::Range(1, 65535));
    recv_cmd->add_option("--interface", recv.interface, "interface to join on");
    recv_cmd->add_option("--duration", recv.duration_s, "seconds to receive for at most")
        ->required()->check(CLI::Range(0.001, mcr::gen::kMaxReceiveSeconds));
    recv_cmd->add_option("--expect", recv.expect, "stop (after a short grace) once this many arrived; exit 1 if not")
        ->check(CLI::Range(std::uint64_t{1}, mcr::gen::kMaxTrackedSequence));
    recv_cmd->add_option("--ready-file", recv.ready_file, "write this file once joined and listening");
    recv_cmd->add_flag("--rtp", recv.rtp, "payloads come from mcrgen send --rtp (skip the RTP header)");
    recv_cmd->add_flag("--json", recv.json, "print the result as one JSON object");

    if (const auto stop = mcr::parse_command_line(app, argc, argv, kExitUsage))
        return *stop;
    if (send_cmd->parsed() && send_cmd->count("--count") == 0 && send_cmd->count("--duration") == 0)
        return fail("send: one of --count or --duration is required (unbounded runs are refused)", kExitUsage);
    try {
        return send_cmd->parsed() ? run_send(send, *send_cmd) : run_receive(recv, *recv_cmd);
    } catch (const std::exception& e) {
        return fail(e.what(), kExitRuntime);
    }
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        return fail(std::string("unexpected error: ") + e.what(), kExitRuntime);
    }
}
