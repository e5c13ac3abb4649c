#!/bin/bash
# TTL handling: an output with ttl=5 sends TTL 5; an output without ttl sends
# the arriving TTL minus one; packets arriving with TTL 1 (or 0) are dropped
# and counted as ttl_expired, unless the rule sets forward_expired_ttl. TTLs
# are read from the frames with tshark.
#
#   +-----------+      +----------------------+      +---------------------+
#   | src eth0  |------| in0    relay    out0 |------| sink0 eth0 (tshark) |
#   | 192.0.2.2 |      | 192.0.2.1       out1 |--+   +---------------------+
#   +-----------+      +----------------------+  |   +---------------------+
#                                                +---| sink1 eth0 (tshark) |
#                                                    +---------------------+
#   fixed:   239.1.1.1:5000 -> out0 239.2.2.2:6000 ttl 5, out1 239.2.2.3:6000 (TTL-1)
#   expired: 239.1.1.2:5000 (forward_expired_ttl) -> out0 239.2.2.4:6000 ttl 7
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly NORMAL=500 EXPIRED=300 TTL_ZERO=50 FORWARDED_EXPIRED=200
relay_topology 2
worker_start relay w in0 \
    'name=fixed in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000:ttl=5 out=out1:239.2.2.3:6000' \
    'name=expired in=in0:239.1.1.2:5000 expired=1 out=out0:239.2.2.4:6000:ttl=7'
capture_start sink0 eth0 c0
capture_start sink1 eth0 c1
gen_recv_start sink0 fixed0 --group 239.2.2.2 --port 6000 --interface eth0 --duration 30 --expect "$NORMAL"
gen_recv_start sink1 fixed1 --group 239.2.2.3 --port 6000 --interface eth0 --duration 30 --expect "$NORMAL"
gen_recv_start sink0 expired0 --group 239.2.2.4 --port 6000 --interface eth0 --duration 30 \
    --expect "$FORWARDED_EXPIRED"
gen_send src normal --group 239.1.1.1 --port 5000 --interface eth0 --rate 5000 --size 64 --count "$NORMAL" --ttl 16
gen_send src ttl1 --group 239.1.1.1 --port 5000 --interface eth0 --rate 5000 --size 64 --count "$EXPIRED" --ttl 1
gen_send src forced --group 239.1.1.2 --port 5000 --interface eth0 --rate 5000 --size 64 \
    --count "$FORWARDED_EXPIRED" --ttl 1
# TTL 0 cannot come from a socket: scapy sends those frames.
craft_send src eth0 ttl0 "$TTL_ZERO" 239.1.1.1 5000
gen_recv_wait fixed0 || die "sink0 missed packets of rule fixed"
gen_recv_wait fixed1 || die "sink1 missed packets of rule fixed"
gen_recv_wait expired0 || die "sink0 missed packets of rule expired"
worker_stop w
capture_stop c0
capture_stop c1

check_eq "frames to 239.2.2.2 (out0)" "$NORMAL" "$(capture_count c0 ip.dst=239.2.2.2)"
check_eq "frames to 239.2.2.2 with TTL 5" "$NORMAL" "$(capture_count c0 ip.dst=239.2.2.2 ip.ttl=5)"
check_eq "frames to 239.2.2.3 (out1)" "$NORMAL" "$(capture_count c1 ip.dst=239.2.2.3)"
check_eq "frames to 239.2.2.3 with TTL 16-1" "$NORMAL" "$(capture_count c1 ip.dst=239.2.2.3 ip.ttl=15)"
check_eq "frames to 239.2.2.4 (expired, forced)" "$FORWARDED_EXPIRED" "$(capture_count c0 ip.dst=239.2.2.4)"
check_eq "frames to 239.2.2.4 with TTL 7" "$FORWARDED_EXPIRED" "$(capture_count c0 ip.dst=239.2.2.4 ip.ttl=7)"
check_eq "sink0 unique (fixed)" "$NORMAL" "$(json_get "$(scratch fixed0.json)" unique)"
check_eq "rule fixed packets" "$NORMAL" "$(worker_stat w rules.name=fixed.packets)"
check_eq "rule fixed ttl_expired (TTL 1 and TTL 0)" "$((EXPIRED + TTL_ZERO))" "$(worker_stat w rules.name=fixed.ttl_expired)"
check_eq "rule fixed out0 packets" "$NORMAL" "$(worker_stat w rules.name=fixed.outputs.0.packets)"
check_eq "rule fixed out1 packets" "$NORMAL" "$(worker_stat w rules.name=fixed.outputs.1.packets)"
check_eq "rule expired packets" "$FORWARDED_EXPIRED" "$(worker_stat w rules.name=expired.packets)"
check_eq "rule expired ttl_expired" 0 "$(worker_stat w rules.name=expired.ttl_expired)"
# The program relays the TTL 16 frames and the forced ones, and leaves the
# expired ones to the worker, which counts them above.
check_path w fixed tc
check_path w expired tc
check_fast_share w fixed "$NORMAL"
check_fast_share w expired "$FORWARDED_EXPIRED"
worker_fast_path w && check_eq "left to the stack as ttl-expired" "$((EXPIRED + TTL_ZERO))" "$(fast_pass w ttl-expired)"
finish "TTL set per output, TTL-1 by default, TTL 1 and 0 dropped ($((EXPIRED + TTL_ZERO))) unless forward_expired_ttl"
