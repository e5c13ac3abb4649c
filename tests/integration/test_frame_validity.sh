#!/bin/bash
# Frames the worker sends are valid on the wire, as tshark sees them: IP and
# UDP checksums verify, TTL is the arriving TTL minus one, the destination MAC
# is the group's 01:00:5e MAC, the source MAC is the relay's egress veth, the
# source address and UDP length are kept.
# Phase 2 sends from a local socket with checksum offload left on (the frame
# carries only the pseudo-header sum, CHECKSUM_PARTIAL) - a container on the
# relay's own host does that - and the relayed copy must still verify.
#
#   +-----------+      +-----------------------+      +-----------------------+
#   | src eth0  |------| in0    relay     out0 |------| sink0 eth0  (tshark)  |
#   | 192.0.2.2 |      | 192.0.2.1  198.51.100.1      | 198.51.100.2          |
#   +-----------+      +-----------------------+      +-----------------------+
#   full:    239.1.1.1:5000 -> out0 239.2.2.2:6000   (sender: full checksums)
#   partial: 239.1.1.3:5000 -> out0 239.2.2.3:6000   (sender: offload on)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly PACKETS=300 SIZE=500
relay_topology 1
relay_mac=$(mac_of relay out0)
worker_start relay w in0 'name=full in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000' \
    'name=partial in=in0:239.1.1.3:5000 out=out0:239.2.2.3:6000'
capture_start sink0 eth0 c
gen_recv_start sink0 full --group 239.2.2.2 --port 6000 --interface eth0 --duration 30 --expect "$PACKETS"
gen_recv_start sink0 partial --group 239.2.2.3 --port 6000 --interface eth0 --duration 30 --expect "$PACKETS"
gen_send src s1 --group 239.1.1.1 --port 5000 --interface eth0 --rate 2000 --size "$SIZE" --count "$PACKETS" --ttl 16
ns_exec src ethtool -K eth0 tx on >/dev/null
gen_send src s2 --group 239.1.1.3 --port 5000 --interface eth0 --rate 2000 --size "$SIZE" --count "$PACKETS" --ttl 16
# Short counts are reported by the frame checks below, which say why.
gen_recv_wait full || true
gen_recv_wait partial || true
worker_stop w
capture_stop c

# pseudo_header_sums GROUP: frames to GROUP:6000 in capture c whose UDP
# checksum field holds the folded pseudo-header sum of their own addresses
# and length, not complemented: what a CHECKSUM_PARTIAL skb carries until
# the device (or the kernel's software fallback) completes it.
pseudo_header_sums() {
    tshark -n -r "$(scratch c.pcap)" -Y "ip.dst == $1 && udp.dstport == 6000" \
        -T fields -e ip.src -e ip.dst -e udp.length -e udp.checksum 2>/dev/null | "$MCRT_PYTHON" -c '
import ipaddress, sys
def fold(total):
    while total > 0xffff:
        total = (total & 0xffff) + (total >> 16)
    return total
count = 0
for line in sys.stdin:
    src, dst, length, checksum = line.split()
    words = int(ipaddress.ip_address(src)).to_bytes(4, "big") + int(ipaddress.ip_address(dst)).to_bytes(4, "big")
    total = sum(int.from_bytes(words[i:i + 2], "big") for i in range(0, 8, 2)) + 17 + int(length)
    count += fold(total) == int(checksum, 16)
print(count)'
}

for group in 239.2.2.2 239.2.2.3; do
    base=("ip.dst=$group" udp.dstport=6000)
    check_eq "$group frames" "$PACKETS" "$(capture_count c "${base[@]}")"
    check_eq "$group IP checksum good" "$PACKETS" "$(capture_count c "${base[@]}" ip.checksum.status=1)"
    if [ "$group" = 239.2.2.3 ] && worker_fast_path w; then
        # The program relays the skb itself, so a local sender's
        # CHECKSUM_PARTIAL stays with it (bpf_l4_csum_replace updated the
        # pseudo-header part): a physical NIC completes the sum as it sends,
        # but a veth hands the skb to its peer as is, and the peer's kernel
        # trusts it (the sink got every datagram, below). The capture on
        # sink0 sees the sum not yet completed, exactly.
        check_eq "$group UDP checksum: the pseudo-header sum (CHECKSUM_PARTIAL kept)" "$PACKETS" \
            "$(pseudo_header_sums "$group")"
    else
        check_eq "$group UDP checksum good" "$PACKETS" "$(capture_count c "${base[@]}" udp.checksum.status=1)"
    fi
    check_eq "$group TTL 16-1" "$PACKETS" "$(capture_count c "${base[@]}" ip.ttl=15)"
    check_eq "$group group MAC" "$PACKETS" "$(capture_count c "${base[@]}" "eth.dst=01:00:5e:02:02:$(printf %02x "${group##*.}")")"
    check_eq "$group relay out0 MAC ($relay_mac)" "$PACKETS" "$(capture_count c "${base[@]}" "eth.src=$relay_mac")"
    check_eq "$group source address kept" "$PACKETS" "$(capture_count c "${base[@]}" ip.src=192.0.2.2)"
    check_eq "$group UDP length" "$PACKETS" "$(capture_count c "${base[@]}" udp.length=$((SIZE + 8)))"
done
check_eq "unique received (full)" "$PACKETS" "$(json_get "$(scratch full.json)" unique)"
check_eq "unique received (partial)" "$PACKETS" "$(json_get "$(scratch partial.json)" unique)"
# With the fast path the frames checked above are the program's copies.
check_path w full tc
check_path w partial tc
check_fast_share w full "$PACKETS"
check_fast_share w partial "$PACKETS"
finish "all $((2 * PACKETS)) relayed frames valid (checksums, TTL, MACs, lengths)"
