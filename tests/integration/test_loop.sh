#!/bin/bash
# Two workers whose rules point at each other (side A -> side B and side B ->
# side A, same group and port): each packet is forwarded exactly once, never
# back (a worker's ingress ignores frames the relay itself sends), so there
# is no storm. Counts are exact in both directions.
#
#   +-------------+      +-------------------------------+      +-------------+
#   | sidea eth0  |------| a0 192.0.2.1   relay   b0     |------| sideb eth0  |
#   | 192.0.2.2   |      | worker A (a0): a->b           |      | 198.51.100.2|
#   +-------------+      | worker B (b0): b->a  .100.1   |      +-------------+
#                        +-------------------------------+
#   a_to_b: a0 239.1.1.1:5000 -> b0 239.1.1.1:5000
#   b_to_a: b0 239.1.1.1:5000 -> a0 239.1.1.1:5000
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly PACKETS=2000
ns_create sidea; ns_create relay; ns_create sideb
veth_add sidea eth0 relay a0
veth_add relay b0 sideb eth0
addr_add sidea eth0 192.0.2.2/24
full_checksums sidea eth0
full_checksums sideb eth0
addr_add relay a0 192.0.2.1/24
addr_add relay b0 198.51.100.1/24
addr_add sideb eth0 198.51.100.2/24

worker_start relay wa a0 'name=a_to_b in=a0:239.1.1.1:5000 out=b0:239.1.1.1:5000'
worker_start relay wb b0 'name=b_to_a in=b0:239.1.1.1:5000 out=a0:239.1.1.1:5000'

# Phase 1: A sends. B must get each packet once; A must get none back.
gen_recv_start sideb b1 --group 239.1.1.1 --port 5000 --interface eth0 --duration 30 --expect "$PACKETS"
gen_recv_start sidea a1 --group 239.1.1.1 --port 5000 --interface eth0 --duration 60
gen_send sidea s1 --group 239.1.1.1 --port 5000 --interface eth0 --rate 5000 --size 100 --count "$PACKETS"
gen_recv_wait b1 || die "side B did not get $PACKETS packets"
sleep 1   # not a wait for an event: the grace period in which an echo, if there were one, would arrive
gen_recv_stop a1
check_eq "phase 1: unique at side B" "$PACKETS" "$(json_get "$(scratch b1.json)" unique)"
check_eq "phase 1: duplicates at side B" 0 "$(json_get "$(scratch b1.json)" duplicated)"
check_eq "phase 1: packets echoed back to side A" 0 "$(json_get "$(scratch a1.json)" received)"

# Phase 2: B sends, the mirror image.
gen_recv_start sidea a2 --group 239.1.1.1 --port 5000 --interface eth0 --duration 30 --expect "$PACKETS"
gen_recv_start sideb b2 --group 239.1.1.1 --port 5000 --interface eth0 --duration 60
gen_send sideb s2 --group 239.1.1.1 --port 5000 --interface eth0 --rate 5000 --size 100 --count "$PACKETS"
gen_recv_wait a2 || die "side A did not get $PACKETS packets"
sleep 1   # the grace period for an echo, as in phase 1
gen_recv_stop b2
worker_stop wa
worker_stop wb
check_eq "phase 2: unique at side A" "$PACKETS" "$(json_get "$(scratch a2.json)" unique)"
check_eq "phase 2: duplicates at side A" 0 "$(json_get "$(scratch a2.json)" duplicated)"
check_eq "phase 2: packets echoed back to side B" 0 "$(json_get "$(scratch b2.json)" received)"

check_eq "worker A forwarded (phase 1 only)" "$PACKETS" "$(worker_stat wa rules.name=a_to_b.packets)"
check_eq "worker A output packets" "$PACKETS" "$(worker_stat wa rules.name=a_to_b.outputs.0.packets)"
check_eq "worker B forwarded (phase 2 only)" "$PACKETS" "$(worker_stat wb rules.name=b_to_a.packets)"
check_eq "worker B output packets" "$PACKETS" "$(worker_stat wb rules.name=b_to_a.outputs.0.packets)"
# Each worker's program (one per ingress) relays its side's stream; what it
# sends out of the other side's interface never reaches that side's ingress.
check_path wa a_to_b tc
check_path wb b_to_a tc
check_fast_share wa a_to_b "$PACKETS"
check_fast_share wb b_to_a "$PACKETS"
finish "looped rules forwarded each of $PACKETS packets exactly once per direction, no storm"
