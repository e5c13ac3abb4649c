#!/bin/bash
# IPv4 <-> IPv6 translation in the relay, exact counts, every relayed frame
# checked by tshark (UDP checksum validation on):
#   v4to6: an IPv4 stream leaves as IPv6 from out0's global address, hop
#          limit = TTL - 1, 33:33 group MAC, UDP checksum good
#   v6to4: the reverse: out1's IPv4 address, TTL = hop limit - 1, IPv4 and
#          UDP checksums good
#   mixed: one IPv4 input, an IPv6 and an IPv4 output
#   zc:    IPv4 without a UDP checksum (0, socat with SO_NO_CHECK) and DSCP
#          EF: the IPv6 copy has a computed checksum and traffic class 0xb8
#   tos6:  IPv6 with traffic class 0xb8 (socat) -> IPv4 with TOS 0xb8
#   nosrc: out2 has no IPv6 at all: no copy is sent, each one is counted
#          under no_source_address (a source is never made up)
# Ports: socat senders bind source ports 40000/40001, which the copies keep.
# ~25 s.
#
#   +------------------+     +-------------------------------+     +-------------------------------------+
#   | src eth0         |-----| in0 192.0.2.1        out0 .1  |-----| sink0 198.51.100.2  2001:db8:100::2 |
#   | 192.0.2.2        |     |     2001:db8:1::1    out1 .17 |-----| sink1 198.51.100.18 2001:db8:101::2 |
#   | 2001:db8:1::2    |     |  relay               out2 .33 |-----| sink2 (relay side: IPv6 disabled)   |
#   +------------------+     +-------------------------------+     +-------------------------------------+
#   v4to6: 239.1.1.1:5000   -> out0 [ff3e::61]:6000
#   v6to4: [ff3e::6]:5000   -> out1 239.2.2.6:6000
#   mixed: 239.1.1.7:5000   -> out0 [ff3e::71]:6001, out1 239.2.2.7:6001
#   zc:    239.1.1.9:5000   -> out1 [ff3e::91]:6009
#   tos6:  [ff3e::a]:5000   -> out0 239.2.2.10:6010
#   nosrc: 239.1.1.11:5000  -> out2 [ff3e::b1]:6011
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker
require_tools socat

readonly PACKETS=10000 RATE=10000 SIZE=200 MIXED=2000 SOCAT=500 SOCAT_SIZE=100 NOSRC=500
relay_topology_ipv6 3
ns_exec relay sysctl -qw net.ipv6.conf.out2.disable_ipv6=1
out0_mac=$(mac_of relay out0); out1_mac=$(mac_of relay out1)

worker_start relay w in0 \
    'name=v4to6 in=in0:239.1.1.1:5000 out=out0:[ff3e::61]:6000' \
    'name=v6to4 in=in0:[ff3e::6]:5000 out=out1:239.2.2.6:6000' \
    'name=mixed in=in0:239.1.1.7:5000 out=out0:[ff3e::71]:6001 out=out1:239.2.2.7:6001' \
    'name=zc in=in0:239.1.1.9:5000 out=out1:[ff3e::91]:6009' \
    'name=tos6 in=in0:[ff3e::a]:5000 out=out0:239.2.2.10:6010' \
    'name=nosrc in=in0:239.1.1.11:5000 out=out2:[ff3e::b1]:6011'
capture_start sink0 eth0 c0
capture_start sink1 eth0 c1

gen_recv_start sink0 v4to6 --group ff3e::61 --port 6000 --interface eth0 --duration 60 --expect "$PACKETS"
gen_recv_start sink1 v6to4 --group 239.2.2.6 --port 6000 --interface eth0 --duration 60 --expect "$PACKETS"
gen_recv_start sink0 mixed6 --group ff3e::71 --port 6001 --interface eth0 --duration 60 --expect "$MIXED"
gen_recv_start sink1 mixed4 --group 239.2.2.7 --port 6001 --interface eth0 --duration 60 --expect "$MIXED"
gen_send src s4 --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$PACKETS"
gen_send src s6 --group ff3e::6 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$PACKETS"
gen_send src sm --group 239.1.1.7 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$MIXED"
gen_send src sn --group 239.1.1.11 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$NOSRC"

# socat: 500 datagrams of 100 bytes each, read whole from a regular file.
head -c "$((SOCAT * SOCAT_SIZE))" /dev/urandom >"$(scratch socat.in)"
socat_send() {
    timeout 60 ip netns exec "$(ns_name src)" socat -u -b "$SOCAT_SIZE" "OPEN:$(scratch socat.in)" "$1" \
        2>"$(scratch socat-send.log)" || die "socat sender failed: $(cat "$(scratch socat-send.log)")"
}
# SOL_SOCKET (1) SO_NO_CHECK (11): no UDP checksum; TOS 0xb8 (DSCP EF).
socat_send "UDP4-SENDTO:239.1.1.9:5000,so-bindtodevice=eth0,sourceport=40000,ip-multicast-ttl=8,ip-tos=184,setsockopt-int=1:11:1"
# IPPROTO_IPV6 (41) IPV6_MULTICAST_HOPS (18): 8, the default 1 would expire.
socat_send "UDP6-SENDTO:[ff3e::a]:5000,so-bindtodevice=eth0,sourceport=40001,setsockopt-int=41:18:8,ipv6-tclass=184"

for r in v4to6 v6to4 mixed6 mixed4; do gen_recv_wait "$r" 30 || die "$r: $(cat "$(scratch "$r.json")")"; done
wait_stat w rules.name=zc.packets "$SOCAT"
wait_stat w rules.name=tos6.packets "$SOCAT"
wait_stat w rules.name=nosrc.packets "$NOSRC"
# Every copy was counted when it was sent; the last ones need a moment to
# cross the veth into the captures.
sleep 1
capture_stop c0
capture_stop c1
worker_stop w

for r in v4to6 v6to4; do
    check_received "$r" "$PACKETS"
    check_relayed w "$r" "$PACKETS"
done
for r in mixed6 mixed4; do check_received "$r" "$MIXED"; done
check_relayed w mixed "$MIXED"

# Every frame, as tshark decodes it (payload sizes: mcrgen SIZE, socat SOCAT_SIZE).
check_eq "4->6 frames: out0's address, ff3e::61, hop limit 16-1, group MAC, UDP checksum good" "$PACKETS" \
    "$(capture_count c0 ipv6.src=2001:db8:100::1 ipv6.dst=ff3e::61 ipv6.hlim=15 udp.dstport=6000 \
        udp.length=$((SIZE + 8)) udp.checksum.status=1 eth.dst=33:33:00:00:00:61 "eth.src=$out0_mac")"
check_eq "frames to ff3e::61 in all" "$PACKETS" "$(capture_count c0 ipv6.dst=ff3e::61)"
check_eq "6->4 frames: out1's address, 239.2.2.6, TTL 16-1, group MAC, both checksums good" "$PACKETS" \
    "$(capture_count c1 ip.src=198.51.100.17 ip.dst=239.2.2.6 ip.ttl=15 ip.checksum.status=1 udp.dstport=6000 \
        udp.length=$((SIZE + 8)) udp.checksum.status=1 eth.dst=01:00:5e:02:02:06 "eth.src=$out1_mac")"
check_eq "frames to 239.2.2.6 in all" "$PACKETS" "$(capture_count c1 ip.dst=239.2.2.6)"
check_eq "mixed: IPv6 copies" "$MIXED" \
    "$(capture_count c0 ipv6.src=2001:db8:100::1 ipv6.dst=ff3e::71 ipv6.hlim=15 udp.dstport=6001 udp.checksum.status=1)"
check_eq "mixed: IPv4 copies keep the sender's address" "$MIXED" \
    "$(capture_count c1 ip.src=192.0.2.2 ip.dst=239.2.2.7 ip.ttl=15 ip.checksum.status=1 udp.dstport=6001 udp.checksum.status=1)"
check_eq "zc: no checksum in IPv4 -> computed in IPv6, DSCP EF carried, source port kept" "$SOCAT" \
    "$(capture_count c1 ipv6.src=2001:db8:101::1 ipv6.dst=ff3e::91 ipv6.hlim=7 ipv6.tclass=0x000000b8 \
        udp.srcport=40000 udp.dstport=6009 udp.length=$((SOCAT_SIZE + 8)) udp.checksum.status=1)"
check_eq "tos6: traffic class 0xb8 -> TOS 0xb8, source port kept" "$SOCAT" \
    "$(capture_count c0 ip.src=198.51.100.1 ip.dst=239.2.2.10 ip.ttl=7 ip.dsfield=0xb8 ip.checksum.status=1 \
        udp.srcport=40001 udp.dstport=6010 udp.length=$((SOCAT_SIZE + 8)) udp.checksum.status=1)"
check_eq "bad UDP checksums seen (sink0)" 0 "$(capture_count c0 udp.checksum.status=0)"
check_eq "bad UDP checksums seen (sink1)" 0 "$(capture_count c1 udp.checksum.status=0)"
check_eq "rule nosrc: copies not sent for want of an IPv6 source" "$NOSRC" \
    "$(worker_stat w rules.name=nosrc.outputs.0.drops.no_source_address)"
check_eq "rule nosrc: copies sent" 0 "$(worker_stat w rules.name=nosrc.outputs.0.packets)"
check_eq "kernel drops" 0 "$(worker_stat w kernel.drops)"
for r in v4to6 v6to4 mixed zc tos6; do check_path w "$r" tc; done
check_fast_share w v4to6 "$PACKETS"
check_fast_share w v6to4 "$PACKETS"
check_fast_share w mixed "$MIXED"
log "rule nosrc path: $(worker_stat w rules.name=nosrc.path) $(worker_stat w rules.name=nosrc.path_reason 2>/dev/null || true)"
finish "translation 4->6 and 6->4 ($PACKETS each), mixed outputs, checksum-less and DSCP streams exact; no made-up source"
