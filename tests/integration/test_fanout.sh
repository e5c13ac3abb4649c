#!/bin/bash
# 1 -> 3 fan-out: one input stream, three outputs on three interfaces; each
# sink gets every packet exactly once and each output counter says so.
#
#                                            +--------------------+   +-----------------+
#                                            |                out0|---| sink0 eth0 .2   |
#   +-------------+   +-----------------+    |                    |   +-----------------+
#   | src eth0    |---| in0   relay     |    |                out1|---| sink1 eth0 .18  |
#   | 192.0.2.2   |   | 192.0.2.1       |----|                    |   +-----------------+
#   +-------------+   +-----------------+    |                out2|---| sink2 eth0 .34  |
#                                            +--------------------+   +-----------------+
#   239.1.1.1:5000 -> r1 -> out0 239.2.2.1:6000, out1 239.2.2.2:6001, out2 239.2.2.3:6002
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly PACKETS=3000
relay_topology 3
worker_start relay w in0 \
    'name=r1 in=in0:239.1.1.1:5000 out=out0:239.2.2.1:6000 out=out1:239.2.2.2:6001 out=out2:239.2.2.3:6002'
for i in 0 1 2; do
    gen_recv_start "sink$i" "r$i" --group "239.2.2.$((i + 1))" --port "$((6000 + i))" --interface eth0 \
        --duration 30 --expect "$PACKETS"
done
gen_send src s --group 239.1.1.1 --port 5000 --interface eth0 --rate 10000 --size 300 --count "$PACKETS"
for i in 0 1 2; do gen_recv_wait "r$i" || die "sink$i did not get $PACKETS packets"; done
worker_stop w

for i in 0 1 2; do
    check_eq "sink$i unique" "$PACKETS" "$(json_get "$(scratch "r$i.json")" unique)"
    check_eq "sink$i duplicated" 0 "$(json_get "$(scratch "r$i.json")" duplicated)"
    check_eq "out$i packets" "$PACKETS" "$(worker_stat w "rules.name=r1.outputs.interface=out$i.packets")"
    check_eq "out$i bytes" "$((PACKETS * 300))" "$(worker_stat w "rules.name=r1.outputs.interface=out$i.bytes")"
done
check_eq "rule r1 packets" "$PACKETS" "$(worker_stat w rules.name=r1.packets)"
check_path w r1 tc
check_fast_share w r1 "$PACKETS"
finish "fan-out delivered $PACKETS packets to each of 3 sinks"
