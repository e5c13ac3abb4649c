#!/bin/bash
# Multicast -> unicast and unicast -> multicast through one worker.
# m2u: 239.1.1.1:5000 goes out as unicast to 203.0.113.2:7000 (kernel routing
#      via the relay's UDP egress socket bound to uc0).
# u2m_local:  unicast to the relay's own in0 address 192.0.2.1:5001 is
#      relayed to 239.3.3.3:6001 (AF_PACKET sees it before the local stack,
#      which answers port-unreachable; the sender does not care).
# u2m_routed: unicast to 198.51.100.200:5002, which src routes via the relay
#      (a stream addressed "through" the relay; the relay's kernel does not
#      forward, the worker does) -> 239.3.3.4:6002.
#
#   +-------------+     +---------------------------+     +-------------------+
#   | src   eth0  |-----| in0 192.0.2.1   relay     |     | sink0  eth0       |
#   | 192.0.2.2   |     |            out0 .100.1    |-----| 198.51.100.2      |
#   | 198.51.100.200/32 |                           |     | 239.3.3.3, .4     |
#   |  via 192.0.2.1    |            uc0 203.0.113.1|--+  +-------------------+
#   +-------------+     +---------------------------+  |  +-------------------+
#                                                      +--| ucast eth0        |
#                                                         | 203.0.113.2:7000  |
#                                                         +-------------------+
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly PACKETS=2000
relay_topology 1
ns_create ucast
veth_add relay uc0 ucast eth0
addr_add relay uc0 203.0.113.1/24
addr_add ucast eth0 203.0.113.2/24
ip -n "$(ns_name src)" route add 198.51.100.200/32 via 192.0.2.1
# Neighbours pinned: packets queued behind ARP resolution could be dropped.
neigh_pin relay uc0 203.0.113.2 ucast eth0
neigh_pin src eth0 192.0.2.1 relay in0

worker_start relay w in0 \
    'name=m2u in=in0:239.1.1.1:5000 out=uc0:203.0.113.2:7000' \
    'name=u2m_local in=in0:192.0.2.1:5001 out=out0:239.3.3.3:6001' \
    'name=u2m_routed in=in0:198.51.100.200:5002 out=out0:239.3.3.4:6002'
gen_recv_start ucast unicast --group 203.0.113.2 --port 7000 --interface eth0 --duration 40 --expect "$PACKETS"
gen_recv_start sink0 local --group 239.3.3.3 --port 6001 --interface eth0 --duration 40 --expect "$PACKETS"
gen_recv_start sink0 routed --group 239.3.3.4 --port 6002 --interface eth0 --duration 40 --expect "$PACKETS"
gen_send src m --group 239.1.1.1 --port 5000 --interface eth0 --rate 10000 --size 100 --count "$PACKETS"
gen_send src l --group 192.0.2.1 --port 5001 --interface eth0 --rate 10000 --size 100 --count "$PACKETS"
gen_send src r --group 198.51.100.200 --port 5002 --interface eth0 --rate 10000 --size 100 --count "$PACKETS"
gen_recv_wait unicast || die "203.0.113.2:7000 did not get $PACKETS packets"
gen_recv_wait local || die "239.3.3.3:6001 did not get $PACKETS packets"
gen_recv_wait routed || die "239.3.3.4:6002 did not get $PACKETS packets"
worker_stop w

for r in unicast local routed; do
    check_eq "$r unique" "$PACKETS" "$(json_get "$(scratch "$r.json")" unique)"
    check_eq "$r duplicated" 0 "$(json_get "$(scratch "$r.json")" duplicated)"
done
for rule in m2u u2m_local u2m_routed; do
    check_eq "rule $rule packets" "$PACKETS" "$(worker_stat w "rules.name=$rule.packets")"
    check_eq "rule $rule output packets" "$PACKETS" "$(worker_stat w "rules.name=$rule.outputs.0.packets")"
    check_fast_share w "$rule" 0
done
# The program relays multicast to multicast only: these rules stay on the
# userspace path whole, every frame of theirs reaches the worker.
check_path w m2u userspace unicast-output
check_path w u2m_local userspace unicast-input
check_path w u2m_routed userspace unicast-input
finish "multicast->unicast and unicast->multicast (local and routed) each relayed $PACKETS packets"
