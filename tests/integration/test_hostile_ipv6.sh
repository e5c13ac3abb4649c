#!/bin/bash
# Hostile IPv6: while a valid mcrgen stream (20 000 packets at 4 kpps)
# crosses the relay, lib/hostile_frames.py (ipv6) pushes 12 kinds of
# malformed and borderline IPv6 frames, round-robin, into the same ingress.
# Proves: the valid stream arrives complete; each bad kind is counted under
# its reason in the worker's stats with exact counts:
#   malformed             UDP header cut after the ports; payload length past
#                         the frame (a base header cut short, destination
#                         address and all, never reaches the worker: the
#                         ingress filter cannot match it and drops it in the
#                         kernel; the fast path counts it as malformed)
#   ipv6_extension_chain  a destination options header past the packet; nine
#                         of them in a row (the relay walks eight); hop-by-hop
#                         after another header
#   ipv6_fragment         a fragment header
#   ipv6_routing_header   a routing header
#   zero_udp_checksum     UDP checksum 0 (invalid in IPv6, RFC 8200)
#   ttl_expired           hop limit 0 and 1 (rule hl)
# and hop-by-hop + destination options headers (router alert) are walked and
# the datagram relayed (rule hbh). None of the bad ones is forwarded; the
# worker never restarts and the kernel drops nothing. ~15 s.
#
#   +---------------------+     +---------------------------+     +-----------------+
#   | src eth0            |-----| in0  mcrd-worker     out0 |-----| sink0 eth0      |
#   | mcrgen + scapy      |     |                           |     | mcrgen recv x3  |
#   +---------------------+     +---------------------------+     +-----------------+
#   r1:  [ff3e::1]:5000 -> out0 [ff3e::11]:6000   valid stream and the broken kinds
#   hbh: [ff3e::2]:5000 -> out0 [ff3e::12]:6000   extension headers walked, relayed
#   hl:  [ff3e::3]:5000 -> out0 [ff3e::13]:6000   hop limit 0 and 1 (expired)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly STREAM=20000 STREAM_RATE=4000 ROUNDS=1500 HOSTILE_RATE=4400 KINDS=12
relay_topology_ipv6 1
worker_start relay w in0 \
    'name=r1 in=in0:[ff3e::1]:5000 out=out0:[ff3e::11]:6000' \
    'name=hbh in=in0:[ff3e::2]:5000 out=out0:[ff3e::12]:6000' \
    'name=hl in=in0:[ff3e::3]:5000 out=out0:[ff3e::13]:6000'
worker_pid=${MCRT_JOBS[w]}
gen_recv_start sink0 valid --group ff3e::11 --port 6000 --interface eth0 --duration 90 --expect "$STREAM"
gen_recv_start sink0 hbh --group ff3e::12 --port 6000 --interface eth0 --duration 90
gen_recv_start sink0 hl --group ff3e::13 --port 6000 --interface eth0 --duration 90

bg_start src "$(scratch hostile.log)" timeout 90 "$MCRT_PYTHON" "$MCRT_LIB_DIR/hostile_frames.py" eth0 \
    "$ROUNDS" "$HOSTILE_RATE" "$(scratch hostile.json)" ipv6
hostile_pid=$BG_PID
gen_send src stream --group ff3e::1 --port 5000 --interface eth0 --rate "$STREAM_RATE" --count "$STREAM" --size 128
wait_pid "$hostile_pid" 80 || die "hostile sender failed: $(cat "$(scratch hostile.log)")"
log "hostile frames sent: $(cat "$(scratch hostile.json)")"
check_eq "hostile rounds completed (frames per kind)" "$ROUNDS" "$(json_get "$(scratch hostile.json)" hop_by_hop)"
check_eq "valid stream sent" "$STREAM" "$(json_get "$(scratch stream.json)" sent)"
gen_recv_wait valid 30 || die "valid stream incomplete: $(cat "$(scratch valid.json)")"

# Once the last reasons are counted, every frame has been classified.
wait_stat w rules.name=hbh.packets "$ROUNDS" 30
wait_stat w ingress.zero_udp_checksum "$ROUNDS" 30
check_eq "worker still the same process (never restarted)" 0 "$(kill -0 "$worker_pid" 2>/dev/null; echo $?)"
worker_stop w
gen_recv_stop hbh
gen_recv_stop hl

check_received valid "$STREAM"
check_eq "valid stream: no foreign datagram at its sink" 0 "$(json_get "$(scratch valid.json)" invalid)"
check_relayed w r1 "$STREAM"
check_eq "ingress malformed (truncated UDP header, payload length past the frame)" "$((2 * ROUNDS))" \
    "$(worker_stat w ingress.malformed)"
check_eq "ingress ipv6_extension_chain (overlong, nine headers, late hop-by-hop)" "$((3 * ROUNDS))" \
    "$(worker_stat w ingress.ipv6_extension_chain)"
check_eq "ingress ipv6_fragment" "$ROUNDS" "$(worker_stat w ingress.ipv6_fragment)"
check_eq "ingress ipv6_routing_header" "$ROUNDS" "$(worker_stat w ingress.ipv6_routing_header)"
check_eq "ingress zero_udp_checksum" "$ROUNDS" "$(worker_stat w ingress.zero_udp_checksum)"
check_eq "rule hl: hop limit 0 and 1 expired" "$((2 * ROUNDS))" "$(worker_stat w rules.name=hl.ttl_expired)"
check_eq "rule hl: nothing forwarded" 0 "$(worker_stat w rules.name=hl.outputs.0.packets)"
check_eq "hop-limit-expired datagrams at their sink" 0 "$(json_get "$(scratch hl.json)" invalid)"
check_eq "rule hbh: walked and relayed" "$ROUNDS" "$(worker_stat w rules.name=hbh.outputs.0.packets)"
check_eq "hbh datagrams at their sink (scapy payloads: no mcrgen header)" "$ROUNDS" \
    "$(json_get "$(scratch hbh.json)" invalid)"
check_eq "IPv4 reasons untouched: fragment" 0 "$(worker_stat w ingress.fragment)"
check_eq "IPv4 reasons untouched: ip_options" 0 "$(worker_stat w ingress.ip_options)"
check_eq "kernel drops" 0 "$(worker_stat w kernel.drops)"
# Frames at the worker's socket: the stream (unless the program relayed
# it) and 11 kinds; the namespaces' own MLD and neighbour discovery that
# the filter lets through are not_matched, and counted apart.
expected_frames=$((11 * ROUNDS))
worker_fast_path w || expected_frames=$((expected_frames + STREAM))
check_eq "frames at the worker's socket but the not_matched ones (truncated base headers never)" "$expected_frames" \
    "$(($(worker_stat w ingress.frames) - $(worker_stat w ingress.not_matched)))"
log "ingress not_matched $(worker_stat w ingress.not_matched)"
for rule in r1 hbh hl; do check_path w "$rule" tc; done
check_fast_share w r1 "$STREAM"
check_fast_share w hl 0
# The fast path leaves every frame with extension headers to the stack, so
# the worker relays hbh (v6design point 5).
check_fast_share w hbh 0
if worker_fast_path w; then
    # Each kind the program met, under its pass reason: fragment and routing
    # headers are extension headers to it, as are the walkable ones.
    check_eq "left to the stack as malformed (3 kinds)" "$((3 * ROUNDS))" "$(fast_pass w malformed)"
    check_eq "left to the stack as ipv6_extension_headers (6 kinds)" "$((6 * ROUNDS))" \
        "$(fast_pass w ipv6_extension_headers)"
    check_eq "left to the stack as zero_udp_checksum" "$ROUNDS" "$(fast_pass w zero_udp_checksum)"
    check_eq "left to the stack as ttl-expired" "$((2 * ROUNDS))" "$(fast_pass w ttl-expired)"
    for reason in fragment ip-options bad-ip-checksum rule-changing kernel-refused; do
        check_eq "left to the stack as $reason" 0 "$(fast_pass w "$reason")"
    done
fi
finish "$STREAM valid IPv6 packets relayed exactly among $((KINDS * ROUNDS)) hostile frames ($KINDS kinds), each counted by reason"
