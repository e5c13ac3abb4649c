// libFuzzer target: the frame parser and per-output rewriter on frames of
// any length and content. ASan catches out-of-bounds reads/writes; the
// target aborts when a rewritten IPv4 or UDP checksum does not verify.
#include "dataplane/checksum.hpp"
#include "dataplane/frame.hpp"
#include "dataplane/packet_rewrite.hpp"
#include "fuzz_fail.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

using namespace mcr::dataplane;

namespace {

constexpr std::size_t kIpChecksumOffset = 10;
constexpr std::size_t kUdpChecksumOffset = 6;

// Sum of the pseudo-header and the UDP segment (checksum field included).
std::uint32_t udp_sum(const std::uint8_t* ip, std::size_t ip_length)
{
    std::array<std::uint8_t, 12> pseudo{};
    std::memcpy(pseudo.data(), ip + 12, 8);
    pseudo[9] = kIpProtocolUdp;
    store_be16(pseudo.data() + 10, static_cast<std::uint16_t>(ip_length - kIpv4MinHeaderBytes));
    const std::uint32_t sum = checksum_accumulate(pseudo, 0);
    return checksum_accumulate({ip + kIpv4MinHeaderBytes, ip_length - kIpv4MinHeaderBytes}, sum);
}

// Makes both checksums of an accepted frame correct, as a sender would,
// keeping a zero UDP checksum ("none") as it is.
void fix_checksums(std::uint8_t* ip, std::size_t ip_length)
{
    store_be16(ip + kIpChecksumOffset, 0);
    store_be16(ip + kIpChecksumOffset, internet_checksum({ip, kIpv4MinHeaderBytes}));
    std::uint8_t* udp = ip + kIpv4MinHeaderBytes;
    if (load_be16(udp + kUdpChecksumOffset) == 0)
        return;
    store_be16(udp + kUdpChecksumOffset, 0);
    const std::uint16_t check = static_cast<std::uint16_t>(~checksum_fold(udp_sum(ip, ip_length)));
    store_be16(udp + kUdpChecksumOffset, check == 0 ? std::uint16_t{0xffff} : check);
}

// The output description comes from the frame's first bytes, so the
// fuzzer explores addresses, ports and TTLs together with the frame.
OutputRewrite output_from(const std::uint8_t* data, std::size_t size, bool multicast)
{
    std::array<std::uint8_t, 8> seed{};
    std::memcpy(seed.data(), data, size < seed.size() ? size : seed.size());
    OutputRewrite out;
    out.multicast = multicast;
    out.destination_address = load_be32(seed.data());
    out.destination_port = load_be16(seed.data() + 4);
    if ((seed[6] & 1U) != 0)  // rule validation allows an output TTL of 1..255 only
        out.ttl = seed[7] == 0 ? std::uint8_t{1} : seed[7];
    out.destination_mac = multicast_mac(out.destination_address);
    out.source_mac = {0x02, 0, 0, 0, 0, 1};
    return out;
}

void check_rewrite(const UdpFrameView& view, const OutputRewrite& out)
{
    // The worker always passes a real buffer; one spare byte keeps data()
    // non-null for an empty unicast payload (memcpy of 0 bytes to nullptr is UB).
    std::vector<std::uint8_t> storage(rewritten_length(view, out) + 1);
    const std::span<std::uint8_t> buffer = std::span(storage).first(storage.size() - 1);
    if (!buffer.empty() && rewrite_for_output(view, out, buffer.first(buffer.size() - 1)) != 0)
        fuzz_fail("rewrite wrote into a buffer one byte too small");
    const std::size_t length = rewrite_for_output(view, out, buffer);
    if (length != buffer.size())
        fuzz_fail("rewrite length differs from rewritten_length()");
    if (!out.multicast) {
        if (std::memcmp(buffer.data(), view.payload().data(), length) != 0)
            fuzz_fail("unicast payload differs");
        return;
    }
    const std::uint8_t* ip = buffer.data() + kEthernetHeaderBytes;
    if (checksum_fold(checksum_accumulate({ip, kIpv4MinHeaderBytes}, 0)) != 0xffff)
        fuzz_fail("rewritten IPv4 header checksum does not verify");
    if (load_be32(ip + 16) != out.destination_address || ip[8] != output_ttl(view, out) || ip[8] == 0)
        fuzz_fail("rewritten destination or TTL wrong");
    if (load_be16(ip + kIpv4MinHeaderBytes + kUdpChecksumOffset) != 0 &&
        checksum_fold(udp_sum(ip, view.ip_total_length)) != 0xffff)
        fuzz_fail("rewritten UDP checksum does not verify");
    if ((load_be16(ip + kIpv4MinHeaderBytes + kUdpChecksumOffset) == 0) != (view.udp_checksum == 0))
        fuzz_fail("a UDP checksum appeared or vanished");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    // Exact-size copy, so ASan sees any read past the frame's end.
    std::vector<std::uint8_t> frame(data, data + size);
    const ParsedFrame parsed = parse_frame(frame);
    if (parsed.kind != FrameClass::accepted) {
        // The offload completion must refuse or stay inside any frame.
        std::size_t start = size > 0 ? data[0] : 0;
        std::size_t offset = size > 1 ? data[1] : 0;
        (void)complete_partial_checksum(frame, start, offset);
        return 0;
    }
    if (parsed.udp.payload_offset + parsed.udp.payload_length > size)
        fuzz_fail("accepted frame's payload runs past its end");
    fix_checksums(frame.data() + kEthernetHeaderBytes, parsed.udp.ip_total_length);
    const ParsedFrame fixed = parse_frame(frame);
    if (fixed.kind != FrameClass::accepted)
        fuzz_fail("fixing checksums changed the classification");
    check_rewrite(fixed.udp, output_from(data, size, true));
    check_rewrite(fixed.udp, output_from(data, size, false));
    return 0;
}
