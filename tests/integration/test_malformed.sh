#!/bin/bash
# Malformed frames crafted with scapy reach the worker's ingress, are counted
# under their drop reason and are never forwarded. Valid crafted frames go
# first to prove the crafted path does reach the worker. With the fast path
# the program relays the valid frames and leaves each bad one to the stack
# (so to the worker) under the same reason, counted exactly in its maps.
#
#   +--------------------+      +------------------------+      +----------------+
#   | src eth0           |------| in0     relay     out0 |------| sink0 eth0     |
#   | scapy sendp frames |      | mcrd-worker            |      | mcrgen recv    |
#   +--------------------+      +------------------------+      +----------------+
#   r1:  239.1.1.1:5000    -> out0 239.2.2.2:6000
#   ihl: 239.1.19.136:5000 -> out0 239.2.2.3:6000
# Why the odd group of rule "ihl": the ingress BPF reads the UDP port at
# offset IHL*4, so for IHL=4 it reads the last two bytes of the destination
# address; 19.136 is 0x1388 = 5000, so an IHL=4 frame passes the filter and
# the parser itself has to reject it.
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly VALID=100 BAD=50 MARKERS=10
relay_topology 1
worker_start relay w in0 'name=r1 in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000' \
    'name=ihl in=in0:239.1.19.136:5000 out=out0:239.2.2.3:6000'
# The receivers run until gen_recv_stop below; their bound is the whole
# test's, which a loaded machine stretches (each scapy run takes seconds):
# at 60 s the last markers once arrived after the receiver had ended.
gen_recv_start sink0 r1 --group 239.2.2.2 --port 6000 --interface eth0 --duration 240
gen_recv_start sink0 ihl --group 239.2.2.3 --port 6000 --interface eth0 --duration 240

craft() { craft_send src eth0 "$1" "$2" "$3" 5000; }

craft valid "$VALID" 239.1.1.1
wait_stat w rules.name=r1.packets "$VALID"
wait_stat w rules.name=r1.outputs.0.packets "$VALID"

malformed=0
for kind in truncated bad_total_length bad_udp_length; do
    craft "$kind" "$BAD" 239.1.1.1
    malformed=$((malformed + BAD))
    wait_stat w ingress.malformed "$malformed"
done
craft ihl_short "$BAD" 239.1.19.136
malformed=$((malformed + BAD))
wait_stat w ingress.malformed "$malformed"
craft ip_options "$BAD" 239.1.1.1
wait_stat w ingress.ip_options "$BAD"
craft fragment_first "$BAD" 239.1.1.1
craft fragment_later "$BAD" 239.1.1.1
wait_stat w ingress.fragment "$((2 * BAD))"
# Valid frames after the bad ones are still relayed. (Not a barrier for the
# counts above: with the fast path the program relays these, never ordered
# with the worker's socket; each count above was waited for on its own.)
craft valid "$MARKERS" 239.1.1.1
wait_stat w rules.name=r1.packets "$((VALID + MARKERS))"

worker_stop w
gen_recv_stop r1
gen_recv_stop ihl
# The crafted payloads carry no mcrgen header: the receiver counts them as invalid.
check_eq "datagrams at 239.2.2.2:6000 (valid frames only)" "$((VALID + MARKERS))" "$(json_get "$(scratch r1.json)" invalid)"
check_eq "datagrams at 239.2.2.3:6000" 0 "$(json_get "$(scratch ihl.json)" invalid)"
check_eq "rule r1 packets (valid frames only)" "$((VALID + MARKERS))" "$(worker_stat w rules.name=r1.packets)"
check_eq "rule r1 out0 packets" "$((VALID + MARKERS))" "$(worker_stat w rules.name=r1.outputs.0.packets)"
check_eq "rule ihl packets" 0 "$(worker_stat w rules.name=ihl.packets)"
check_eq "ingress malformed" "$((4 * BAD))" "$(worker_stat w ingress.malformed)"
check_eq "ingress ip_options" "$BAD" "$(worker_stat w ingress.ip_options)"
check_eq "ingress fragment" "$((2 * BAD))" "$(worker_stat w ingress.fragment)"
# The program relays the valid frames and leaves every bad one to the stack
# (so to the worker, which counted them above), each under the same reason.
check_path w r1 tc
check_path w ihl tc
check_fast_share w r1 "$((VALID + MARKERS))"
check_fast_share w ihl 0
if worker_fast_path w; then
    check_eq "left to the stack as malformed" "$((4 * BAD))" "$(fast_pass w malformed)"
    check_eq "left to the stack as ip-options" "$BAD" "$(fast_pass w ip-options)"
    check_eq "left to the stack as fragment" "$((2 * BAD))" "$(fast_pass w fragment)"
    check_eq "frames at the worker's socket (the bad ones)" "$((7 * BAD))" "$(worker_stat w ingress.frames)"
else
    check_eq "frames at the worker's socket" "$((VALID + MARKERS + 7 * BAD))" "$(worker_stat w ingress.frames)"
fi
finish "malformed frames counted by reason (4x$BAD malformed, $BAD options, $((2 * BAD)) fragments), none forwarded"
