#!/bin/bash
# Outputs with "listeners": "required" (issue 19), against Linux hosts that
# join and leave with ordinary sockets (their kernels send the IGMPv3
# reports), on a bridged segment with two hosts; mcrd runs the IGMP querier
# with test timers (query interval 2 s, response 1 s, last member 200 ms,
# robustness 2: the last-member query time is 400 ms).
#   - no listener: 0 frames of the group on the segment (the hosts' own
#     AF_PACKET view), every copy counted as no_listener, the "always"
#     output gets every packet;
#   - a join: the stream arrives (time to the first frame measured);
#   - a leave: it stops within the last-member interval (measured), and no
#     frame follows;
#   - two listeners, one leaves: the other keeps the stream, losing 0;
#   - a host forced to IGMPv2 (force_igmp_version=2) joins and leaves too.
#
#   +-----------+   +---------------------------+   +------ lan (bridge, snooping off) ------+
#   | src eth0  |---| in0   relay         out0  |---| p0    br0       p1 ---- hosta eth0 .2  |
#   | 192.0.2.2 |   | 192.0.2.1   198.51.100.1  |   |                 p2 ---- hostb eth0 .3  |
#   +-----------+   |                     out1  |   +-----------------------------------------+
#                   |               198.51.100.17|--- sink1 eth0 198.51.100.18 ("always")
#                   +---------------------------+
#   r1: in0 239.1.1.1:5000 -> out0 239.2.2.1:6000 listeners required, out1 239.2.2.2:6001
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker
require_root

readonly RATE=1000 SIZE=100
PROBE="$MCRT_LIB_DIR/listener_probe.py"

bus_setup
ns_create src; ns_create relay; ns_create lan; ns_create hosta; ns_create hostb; ns_create sink1
veth_add src eth0 relay in0
addr_add src eth0 192.0.2.2/24
addr_add relay in0 192.0.2.1/24
ip -n "$(ns_name src)" route add 239.0.0.0/8 dev eth0
full_checksums src eth0
veth_add relay out0 lan p0
veth_add lan p1 hosta eth0
veth_add lan p2 hostb eth0
ip -n "$(ns_name lan)" link add br0 type bridge mcast_snooping 0
for port in p0 p1 p2; do ip -n "$(ns_name lan)" link set "$port" master br0; done
ip -n "$(ns_name lan)" link set br0 up
addr_add relay out0 198.51.100.1/28
addr_add hosta eth0 198.51.100.2/28
addr_add hostb eth0 198.51.100.3/28
veth_add relay out1 sink1 eth0
addr_add relay out1 198.51.100.17/28
addr_add sink1 eth0 198.51.100.18/28
for host in hosta hostb sink1; do
    ip -n "$(ns_name "$host")" route add 239.0.0.0/8 dev eth0
    # Unsolicited reports are repeated (robustness 2) within 1 s: short, as the relay's timers.
    ns_exec "$host" sysctl -qw net.ipv4.conf.eth0.igmpv3_unsolicited_report_interval=100 >/dev/null
done

mcrd_start relay --robustness 2 --query-interval-ms 2000 --query-response-interval-ms 1000 \
    --last-member-interval-ms 200
RULE='{"name": "r1", "input": {"interface": "in0", "address": "239.1.1.1", "port": 5000},
       "outputs": [{"interface": "out0", "address": "239.2.2.1", "port": 6000, "listeners": "required"},
                   {"interface": "out1", "address": "239.2.2.2", "port": 6001}]}'
relay_call AddRuleJSON s "$RULE" >/dev/null
wait_rule_property r1 State 's "active"' 20
wait_until 10 "the IGMP querier on out0" grep -q "IGMP querier on out0 is this relay (198.51.100.1)" \
    "$(scratch mcrd.1.log)"

# probe HOST NAME ARGS...: listener_probe.py in HOST, JSON in $(scratch NAME.json).
probe_start() {
    local host=$1 name=$2; shift 2
    bg_start "$host" "$(scratch "$name.json")" "$MCRT_PYTHON" "$PROBE" --interface eth0 --group 239.2.2.1 \
        --port 6000 --ready-file "$(scratch "$name.ready")" "$@"
    MCRT_JOBS[$name]=$BG_PID
    wait_started "$name" "$(scratch "$name.ready")"
}
probe_wait() { wait_pid "${MCRT_JOBS[$1]}" 60 || die "probe $1 failed: $(cat "$(scratch "$1.json")")"; }
probe_value() { json_get "$(scratch "$1.json")" "$2"; }

log "--- no listener: 0 frames on the segment, copies counted as no_listener"
gen_recv_start sink1 always --group 239.2.2.2 --port 6001 --interface eth0 --duration 30 --expect 1000
probe_start hosta quiet --until 2.5
gen_send src quiet-tx --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 1000
probe_wait quiet
gen_recv_wait always || die "sink1 (always) did not get 1000 packets"
check_eq "frames of 239.2.2.1 on the segment without a listener" 0 "$(probe_value quiet before_join)"
check_eq "sink1 (always) unique" 1000 "$(json_get "$(scratch always.json)" unique)"
check_eventually "out0 no_listener" 1000 15 relay_stat rules.name=r1.outputs.interface=out0.no_listener
check_eq "out0 packets" 0 "$(relay_stat rules.name=r1.outputs.interface=out0.packets)"
check_eq "r1 drops" "t 0" "$(rule_property r1 Drops)"
check_eq "out1 packets" 1000 "$(relay_stat rules.name=r1.outputs.interface=out1.packets)"

log "--- join at 1 s, leave at 4 s, a 1000 pps stream throughout"
probe_start hosta joinleave --join-at 1 --leave-at 4 --until 6.5
gen_send src joinleave-tx --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 6000
probe_wait joinleave
FIRST_MS=$(probe_value joinleave first_after_join_ms)
LAST_MS=$(probe_value joinleave last_after_leave_ms)
log "first frame ${FIRST_MS} ms after the join, last frame ${LAST_MS} ms after the leave"
check_eq "frames before the join" 0 "$(probe_value joinleave before_join)"
[ "$FIRST_MS" != "None" ] || die "no frame after the join"
"$MCRT_PYTHON" -c "import sys; sys.exit(0 if $FIRST_MS <= 100 else 1)" \
    || die "first frame $FIRST_MS ms after the join (more than 100 ms)"
# Leave -> TO_IN({}) -> two group-specific queries 200 ms apart -> the group
# timer (lowered to 400 ms) runs out. A frame in flight may follow.
"$MCRT_PYTHON" -c "import sys; sys.exit(0 if '$LAST_MS' == 'None' or $LAST_MS <= 600 else 1)" \
    || die "last frame $LAST_MS ms after the leave (the last-member query time is 400 ms)"
grep -q "Group 239.2.2.1 on out0 has its first listener" "$(scratch mcrd.1.log)" || die "no first-listener entry"
grep -q "Group 239.2.2.1 on out0 lost its last listener" "$(scratch mcrd.1.log)" || die "no last-listener entry"

log "--- two listeners: hostb stays, hosta leaves; hostb gets every packet"
gen_recv_start hostb stay --group 239.2.2.1 --port 6000 --interface eth0 --duration 30 --expect 3000
probe_start hosta second --join-at 0 --leave-at 1 --until 3.5
gen_send src second-tx --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 3000
probe_wait second
gen_recv_wait stay || die "hostb did not get 3000 packets"
check_eq "hostb unique" 3000 "$(json_get "$(scratch stay.json)" unique)"
[ "$(probe_value second after_leave)" -ge 1000 ] \
    || die "the stream stopped when hosta left though hostb listens: $(cat "$(scratch second.json)")"

log "--- a host forced to IGMPv2 joins and leaves"
ns_exec hosta sysctl -qw net.ipv4.conf.eth0.force_igmp_version=2 >/dev/null
# hostb's receiver is gone: wait for its leave to take the group away first.
wait_until 10 "the group to lose hostb" sh -c \
    "[ \$(grep -c 'Group 239.2.2.1 on out0 lost its last listener' '$(scratch mcrd.1.log)') -ge 2 ]"
probe_start hosta v2 --join-at 1 --leave-at 3 --until 5
gen_send src v2-tx --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 4500
probe_wait v2
V2_FIRST=$(probe_value v2 first_after_join_ms)
V2_LAST=$(probe_value v2 last_after_leave_ms)
log "IGMPv2 host: first frame ${V2_FIRST} ms after the join, last ${V2_LAST} ms after the leave"
check_eq "IGMPv2: frames before the join" 0 "$(probe_value v2 before_join)"
[ "$V2_FIRST" != "None" ] || die "IGMPv2: no frame after the join"
"$MCRT_PYTHON" -c "import sys; sys.exit(0 if '$V2_LAST' == 'None' or $V2_LAST <= 600 else 1)" \
    || die "IGMPv2: last frame $V2_LAST ms after the leave"

mcrd_stop || die "mcrd did not stop cleanly"
finish "listeners required: 0 frames without a listener, join ${FIRST_MS} ms, leave ${LAST_MS} ms (LMQT 400 ms)"
