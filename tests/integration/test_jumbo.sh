#!/bin/bash
# Jumbo frames: on MTU 9000 veths an 8000-byte payload is relayed intact
# (mcrgen checks every payload byte), and a copy for an output whose egress
# MTU is 1500 is not sent but counted as too_big.
#
#   +-----------+  MTU 9000  +-----------------------+  MTU 9000  +------------+
#   | src eth0  |------------| in0   relay      out0 |------------| sink0 eth0 |
#   | 192.0.2.2 |            | 192.0.2.1        out1 |----+       +------------+
#   +-----------+            +-----------------------+    |       +------------+
#                               out1 set to MTU 1500:     +-------| sink1 eth0 |
#                               the 8028-byte packet does not fit +------------+
#   big: 239.1.1.1:5000 -> out0 239.2.2.2:6000, out1 239.2.2.3:6000
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly PACKETS=1000 SIZE=8000
relay_topology 2 9000
ip -n "$(ns_name relay)" link set out1 mtu 1500
ip -n "$(ns_name sink1)" link set eth0 mtu 1500
worker_start relay w in0 'name=big in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000 out=out1:239.2.2.3:6000 mtu=out0:9000 mtu=out1:1500'
gen_recv_start sink0 jumbo --group 239.2.2.2 --port 6000 --interface eth0 --duration 30 --expect "$PACKETS"
gen_recv_start sink1 small --group 239.2.2.3 --port 6000 --interface eth0 --duration 60
gen_send src s --group 239.1.1.1 --port 5000 --interface eth0 --rate 2000 --size "$SIZE" --count "$PACKETS"
gen_recv_wait jumbo || die "sink0 did not get $PACKETS jumbo packets"
worker_stop w
gen_recv_stop small

check_eq "jumbo unique" "$PACKETS" "$(json_get "$(scratch jumbo.json)" unique)"
check_eq "jumbo payload bytes" "$((PACKETS * SIZE))" "$(json_get "$(scratch jumbo.json)" bytes)"
check_eq "jumbo corrupt payloads" 0 "$(json_get "$(scratch jumbo.json)" corrupt)"
check_eq "packets through the MTU 1500 output" 0 "$(json_get "$(scratch small.json)" received)"
check_eq "rule packets" "$PACKETS" "$(worker_stat w rules.name=big.packets)"
check_eq "out0 packets" "$PACKETS" "$(worker_stat w rules.name=big.outputs.0.packets)"
check_eq "out1 packets" 0 "$(worker_stat w rules.name=big.outputs.1.packets)"
check_eq "out1 too_big" "$PACKETS" "$(worker_stat w rules.name=big.outputs.1.drops.too_big)"
# The program sends a frame to all outputs or none: one over out1's MTU goes
# to the worker, which sends it on out0 alone and counts out1's too_big.
check_path w big tc
check_fast_share w big 0
worker_fast_path w && check_eq "left to the stack as too-big" "$PACKETS" "$(fast_pass w too-big)"
finish "$PACKETS x $SIZE-byte payloads relayed intact on MTU 9000; MTU 1500 output counted too_big"
