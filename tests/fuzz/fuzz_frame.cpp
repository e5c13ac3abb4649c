// libFuzzer target: the frame parser and per-output rewriter on frames of
// any length and content, IPv4 and IPv6, same family and translated. ASan
// catches out-of-bounds reads/writes; the target aborts when a rewritten
// IPv4 header or UDP checksum does not verify, when a copy does not parse
// back as what was asked for, or when a translated copy without a source
// address is built.
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
using mcr::AddressFamily;

namespace {

constexpr std::size_t kIpChecksumOffset = 10;
constexpr std::size_t kUdpChecksumOffset = 6;

// Sum of the pseudo-header and the UDP segment (checksum field included)
// of either family; `udp` points at the UDP header.
std::uint32_t udp_sum(AddressFamily family, const std::uint8_t* source, const std::uint8_t* destination,
                      const std::uint8_t* udp, std::size_t udp_length)
{
    const std::size_t n = family == AddressFamily::ipv4 ? 4 : 16;
    std::uint32_t sum = checksum_accumulate({source, n}, 0);
    sum = checksum_accumulate({destination, n}, sum);
    // Length and protocol words sum alike in both pseudo-headers.
    sum += static_cast<std::uint32_t>(udp_length) + kIpProtocolUdp;
    return checksum_accumulate({udp, udp_length}, sum);
}

// Makes the checksums of an accepted frame correct, as a sender would,
// keeping a zero IPv4 UDP checksum ("none") as it is.
void fix_checksums(std::vector<std::uint8_t>& frame, const UdpFrameView& view)
{
    std::uint8_t* ip = frame.data() + view.ip_offset;
    std::uint8_t* udp = frame.data() + view.udp_offset;
    const std::uint8_t* source = ip + (view.is_ipv4() ? 12 : 8);
    const std::uint8_t* destination = ip + (view.is_ipv4() ? 16 : 24);
    if (view.is_ipv4()) {
        store_be16(ip + kIpChecksumOffset, 0);
        store_be16(ip + kIpChecksumOffset, internet_checksum({ip, kIpv4MinHeaderBytes}));
        if (load_be16(udp + kUdpChecksumOffset) == 0)
            return;
    }
    store_be16(udp + kUdpChecksumOffset, 0);
    const auto check =
        static_cast<std::uint16_t>(~checksum_fold(udp_sum(view.family, source, destination, udp, view.udp_length)));
    store_be16(udp + kUdpChecksumOffset, check == 0 ? std::uint16_t{0xffff} : check);
}

// The output description comes from the frame's first bytes, so the
// fuzzer explores families, addresses, ports and TTLs with the frame.
OutputRewrite output_from(const std::uint8_t* data, std::size_t size, bool multicast)
{
    std::array<std::uint8_t, 24> seed{};
    std::memcpy(seed.data(), data, size < seed.size() ? size : seed.size());
    OutputRewrite out;
    out.multicast = multicast;
    out.family = (seed[6] & 2U) != 0 ? AddressFamily::ipv6 : AddressFamily::ipv4;
    if (out.family == AddressFamily::ipv4) {
        std::memcpy(out.destination_address.data(), seed.data(), 4);
    } else {
        out.destination_address[0] = 0xff;
        std::memcpy(out.destination_address.data() + 1, seed.data() + 8, 15);
    }
    out.destination_port = load_be16(seed.data() + 4);
    if ((seed[6] & 1U) != 0) // rule validation allows an output TTL of 1..255 only
        out.ttl = seed[7] == 0 ? std::uint8_t{1} : seed[7];
    if ((seed[6] & 4U) != 0) {
        AddressBytes source{};
        std::memcpy(source.data(), seed.data() + 8, out.family == AddressFamily::ipv4 ? 4 : 16);
        out.source_address = source;
    }
    out.destination_mac = multicast_mac(out.family, out.destination_address);
    out.source_mac = {0x02, 0, 0, 0, 0, 1};
    return out;
}

void check_rewrite(const UdpFrameView& view, const OutputRewrite& out)
{
    // The worker always passes a real buffer; one spare byte keeps data()
    // non-null for an empty unicast payload (memcpy of 0 bytes to nullptr is UB).
    std::vector<std::uint8_t> storage(rewritten_length(view, out) + 1);
    const std::span<std::uint8_t> buffer = std::span(storage).first(storage.size() - 1);
    if (lacks_source_address(view, out)) {
        if (rewrite_for_output(view, out, buffer) != 0)
            fuzz_fail("a translated copy was built without a source address");
        return;
    }
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
    const ParsedFrame copy = parse_frame(buffer);
    const std::uint8_t* ip = buffer.data() + kEthernetHeaderBytes;
    if (copy.kind == FrameClass::zero_udp_checksum)
        fuzz_fail("an IPv6 copy left with UDP checksum 0");
    if (copy.kind != FrameClass::accepted || copy.udp.family != out.family)
        fuzz_fail("the copy does not parse back as a UDP frame of the output's family");
    const UdpFrameView& c = copy.udp;
    if (c.destination_address != out.destination_address || c.destination_port != out.destination_port ||
        c.ttl != output_ttl(view, out) || c.ttl == 0 || c.payload_length != view.payload_length ||
        c.traffic_class != view.traffic_class)
        fuzz_fail("rewritten destination, port, TTL, payload or traffic class wrong");
    if (out.family == AddressFamily::ipv4 && checksum_fold(checksum_accumulate({ip, kIpv4MinHeaderBytes}, 0)) != 0xffff)
        fuzz_fail("rewritten IPv4 header checksum does not verify");
    const std::uint8_t* source = ip + (c.is_ipv4() ? 12 : 8);
    const std::uint8_t* destination = ip + (c.is_ipv4() ? 16 : 24);
    const std::uint8_t* udp = buffer.data() + c.udp_offset;
    if (c.udp_checksum != 0 && checksum_fold(udp_sum(c.family, source, destination, udp, c.udp_length)) != 0xffff)
        fuzz_fail("rewritten UDP checksum does not verify");
    // Only an IPv4 -> IPv4 copy of a frame sent without one keeps "none".
    if ((c.udp_checksum == 0) != (view.udp_checksum == 0 && !translates(view, out)))
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
    if (parsed.udp.payload_offset + parsed.udp.payload_length > size ||
        parsed.udp.udp_offset + parsed.udp.udp_length > size)
        fuzz_fail("accepted frame's UDP segment runs past its end");
    fix_checksums(frame, parsed.udp);
    const ParsedFrame fixed = parse_frame(frame);
    if (fixed.kind != FrameClass::accepted)
        fuzz_fail("fixing checksums changed the classification");
    check_rewrite(fixed.udp, output_from(data, size, true));
    check_rewrite(fixed.udp, output_from(data, size, false));
    return 0;
}
