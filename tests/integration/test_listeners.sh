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
#   - a host forced to IGMPv2 (force_igmp_version=2) joins and leaves too;
#   - SSM (r2, input source 192.0.2.2, whose address the copies keep): a
#     host's INCLUDE {192.0.2.2} or EXCLUDE {192.0.2.99} gets every packet,
#     INCLUDE {192.0.2.99} or EXCLUDE {192.0.2.2} none (exact counts);
#   - hostile IGMP (bad checksums, truncated records, source counts longer
#     than the packet, a flood of 10 000 reports for distinct groups while a
#     listener receives a stream): each counted by reason, the groups held
#     at --max-groups with one journal entry, the stream loses 0;
#   - election: a querier with a lower address (hosta) makes mcrd defer, and
#     mcrd takes over once it is silent for the other-querier-present
#     interval (2 x 2 s + 0.5 s); one with a higher address (hostb's .9)
#     changes nothing.
#
#   +-----------+   +---------------------------+   +------ lan (bridge, snooping off) ------+
#   | src eth0  |---| in0   relay         out0  |---| p0    br0       p1 ---- hosta eth0 .2  |
#   | 192.0.2.2 |   | 192.0.2.1   198.51.100.6  |   |                 p2 ---- hostb eth0 .3 .9 |
#   +-----------+   |                     out1  |   +-----------------------------------------+
#                   |               198.51.100.17|--- sink1 eth0 198.51.100.18 ("always")
#                   +---------------------------+
#   r1: in0 239.1.1.1:5000 -> out0 239.2.2.1:6000 listeners required, out1 239.2.2.2:6001
#   r2: in0 239.1.1.3:5002 from 192.0.2.2 -> out0 239.2.2.3:6002 listeners required
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker
require_root

readonly RATE=1000 SIZE=100
PROBE="$MCRT_LIB_DIR/listener_probe.py"
IGMP_SENDER="$MCRT_LIB_DIR/igmp_sender.py"
readonly MAX_GROUPS=256

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
addr_add relay out0 198.51.100.6/28
addr_add hosta eth0 198.51.100.2/28
addr_add hostb eth0 198.51.100.3/28
addr_add hostb eth0 198.51.100.9/28
veth_add relay out1 sink1 eth0
addr_add relay out1 198.51.100.17/28
addr_add sink1 eth0 198.51.100.18/28
for host in hosta hostb sink1; do
    ip -n "$(ns_name "$host")" route add 239.0.0.0/8 dev eth0
    # Unsolicited reports are repeated (robustness 2) within 1 s: short, as the relay's timers.
    ns_exec "$host" sysctl -qw net.ipv4.conf.eth0.igmpv3_unsolicited_report_interval=100 >/dev/null
done

# MCRT_LISTENERS_DEFAULT_TIMERS=1 (by hand, not in CI): the RFC default
# timers instead, for the join and leave timings only (LMQT 2 s).
if [ -n "${MCRT_LISTENERS_DEFAULT_TIMERS:-}" ]; then
    mcrd_start relay --max-groups "$MAX_GROUPS"
    LEAVE_BOUND_MS=2600 LEAVE_WAIT_S=3
else
    mcrd_start relay --robustness 2 --query-interval-ms 2000 --query-response-interval-ms 1000 \
        --last-member-interval-ms 200 --max-groups "$MAX_GROUPS"
    LEAVE_BOUND_MS=900 LEAVE_WAIT_S=0
fi
RULE='{"name": "r1", "input": {"interface": "in0", "address": "239.1.1.1", "port": 5000},
       "outputs": [{"interface": "out0", "address": "239.2.2.1", "port": 6000, "listeners": "required"},
                   {"interface": "out1", "address": "239.2.2.2", "port": 6001}]}'
relay_call AddRuleJSON s "$RULE" >/dev/null
wait_rule_property r1 State 's "active"' 20
# The program holds out0 while no one listens (MCRD_TEST_FAST_PATH=off: the worker).
expect_fast_path r1
wait_until 10 "the IGMP querier on out0" grep -q "IGMP querier on out0 is this relay (198.51.100.6)" \
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
check_fast_path_count "out0 no_listener counted by the program" 1000 \
    rules.name=r1.outputs.interface=out0.fast_path.no_listener
check_eq "r1 drops" "t 0" "$(rule_property r1 Drops)"
check_eq "out1 packets" 1000 "$(relay_stat rules.name=r1.outputs.interface=out1.packets)"
check_fast_path_count "out1 packets relayed by the program" 1000 rules.name=r1.outputs.interface=out1.fast_path.packets

log "--- join at 1 s, leave at 4 s, a 1000 pps stream throughout"
probe_start hosta joinleave --join-at 1 --leave-at 4 --until $((6 + LEAVE_WAIT_S)).5
gen_send src joinleave-tx --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" \
    --count $(((6 + LEAVE_WAIT_S) * RATE))
probe_wait joinleave
FIRST_MS=$(probe_value joinleave first_after_join_ms)
LAST_MS=$(probe_value joinleave last_after_leave_ms)
log "first frame ${FIRST_MS} ms after the join, last frame ${LAST_MS} ms after the leave"
check_eq "frames before the join" 0 "$(probe_value joinleave before_join)"
[ "$FIRST_MS" != "None" ] || die "no frame after the join"
"$MCRT_PYTHON" -c "import sys; sys.exit(0 if $FIRST_MS <= 100 else 1)" \
    || die "first frame $FIRST_MS ms after the join (more than 100 ms)"
# Leave -> TO_IN({}) -> two group-specific queries 200 ms apart -> the group
# timer (lowered to 400 ms) runs out; the bound leaves 500 ms for the host's
# report and the loaded machine (without the leave it would be GMI, 5 s).
"$MCRT_PYTHON" -c "import sys; sys.exit(0 if '$LAST_MS' == 'None' or $LAST_MS <= $LEAVE_BOUND_MS else 1)" \
    || die "last frame $LAST_MS ms after the leave (more than $LEAVE_BOUND_MS ms)"
grep -q "Group 239.2.2.1 on out0 has its first listener" "$(scratch mcrd.1.log)" || die "no first-listener entry"
grep -q "Group 239.2.2.1 on out0 lost its last listener" "$(scratch mcrd.1.log)" || die "no last-listener entry"
if [ -n "${MCRT_LISTENERS_DEFAULT_TIMERS:-}" ]; then
    mcrd_stop || die "mcrd did not stop cleanly"
    finish "default timers: join ${FIRST_MS} ms, leave ${LAST_MS} ms (LMQT 2 s)"
fi

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
"$MCRT_PYTHON" -c "import sys; sys.exit(0 if '$V2_LAST' == 'None' or $V2_LAST <= $LEAVE_BOUND_MS else 1)" \
    || die "IGMPv2: last frame $V2_LAST ms after the leave"

log "--- SSM: the source lists of hostb's IGMPv3 reports decide for r2 (copies keep 192.0.2.2)"
RULE2='{"name": "r2", "input": {"interface": "in0", "address": "239.1.1.3", "port": 5002, "source": "192.0.2.2"},
        "outputs": [{"interface": "out0", "address": "239.2.2.3", "port": 6002, "listeners": "required"}]}'
relay_call AddRuleJSON s "$RULE2" >/dev/null
wait_rule_property r2 State 's "active"' 20
expect_fast_path r2
# group_filter: how the querier holds 239.2.2.3 on out0: "include S,..." (the
# sources asked for), "exclude S,..." (only the sources excluded, those with
# no timer: a source just blocked is still forwarded until its
# group-and-source query goes unanswered), or "none".
group_filter() {
    relay_string GetMembership s out0 | "$MCRT_PYTHON" -c '
import json, sys
for interface in json.load(sys.stdin):
    for g in interface["groups"]:
        if g["group"] == "239.2.2.3":
            shown = [s["source"] for s in g["sources"] if g["mode"] == "include" or s["timer_ms"] is None]
            print(g["mode"], ",".join(sorted(shown)) or "-")
            sys.exit(0)
print("none")'
}
filter_is() { [ "$(group_filter)" = "$1" ]; }
r2_out0() { relay_stat "rules.name=r2.outputs.interface=out0.$1"; }
# ssm_case NAME FILTER-OPTION SOURCE EXPECTED-STATE FRAMES: hostb joins with
# the filter, 1000 packets once the querier holds EXPECTED-STATE; FRAMES of
# them must reach the segment and out0's packets, the rest no_listener.
ssm_case() {
    local name=$1 option=$2 source=$3 state=$4 frames=$5 packets_before held_before
    packets_before=$(r2_out0 packets) held_before=$(r2_out0 no_listener)
    probe_start hostb "$name" --group 239.2.2.3 --port 6002 "$option" "$source" --join-at 0 --until 4
    wait_until 5 "239.2.2.3 on out0 to be held as '$state'" filter_is "$state"
    gen_send src "$name-tx" --group 239.1.1.3 --port 5002 --interface eth0 --rate "$RATE" --size "$SIZE" --count 1000
    probe_wait "$name"
    check_eq "SSM $name: frames of 239.2.2.3 on the segment" "$frames" "$(probe_value "$name" while_joined)"
    check_eventually "SSM $name: r2 out0 packets" $((packets_before + frames)) 10 r2_out0 packets
    check_eventually "SSM $name: r2 out0 no_listener" $((held_before + 1000 - frames)) 10 r2_out0 no_listener
    # The probe's socket is closed: its leave takes the record away (LMQT 400 ms).
    wait_until 5 "hostb's record of 239.2.2.3 to go" filter_is none
}
ssm_case include-sender --include 192.0.2.2 "include 192.0.2.2" 1000
ssm_case include-other --include 192.0.2.99 "include 192.0.2.99" 0
ssm_case exclude-sender --exclude 192.0.2.2 "exclude 192.0.2.2" 0
ssm_case exclude-other --exclude 192.0.2.99 "exclude 192.0.2.99" 1000

log "--- membership on the surfaces: GetStats, mcrctl groups, the GroupListenersChanged signal"
find_binary MCRCTL src/mcrctl/mcrctl
monitor_start signals
gen_recv_start hostb shown --group 239.2.2.1 --port 6000 --interface eth0 --duration 30 --expect 2000
wait_until 10 "hostb's membership" sh -c "'$MCRCTL' --bus-address '$BUS_ADDRESS' groups out0 | grep -q 239.2.2.1"
"$MCRCTL" --bus-address "$BUS_ADDRESS" groups out0 >"$(scratch groups.txt)"
grep -q "out0: IGMP querier this relay (198.51.100.6)" "$(scratch groups.txt)" || die "mcrctl groups: $(cat "$(scratch groups.txt)")"
grep -Eq "out0 +239.2.2.1 +exclude +IGMPv3" "$(scratch groups.txt)" || die "mcrctl groups: $(cat "$(scratch groups.txt)")"
check_eq "GetStats out0 listening" True "$(relay_stat rules.name=r1.outputs.interface=out0.listening)"
check_eq "GetStats membership querier" True "$(relay_stat membership.interface=out0.querier)"
monitor_stop signals
# grep -c, not -q: read to the end, no SIGPIPE upstream under pipefail.
grep 'GroupListenersChanged' "$(scratch signals.monitor)" | grep '"out0"' | grep '"239.2.2.1"' | grep -c true >/dev/null \
    || die "no GroupListenersChanged(out0, 239.2.2.1, true): $(grep GroupListeners "$(scratch signals.monitor)")"

log "--- hostile IGMP while hostb receives a stream"
for mode in bad-checksum truncated long-sources; do
    ns_exec hosta "$MCRT_PYTHON" "$IGMP_SENDER" --interface eth0 --source 198.51.100.2 "$mode" 100
done
check_eventually "bad checksums counted" 100 10 relay_stat membership.interface=out0.counters.rejected.bad_checksum
check_eventually "truncated counted" 200 10 relay_stat membership.interface=out0.counters.rejected.truncated
gen_send src hostile-tx --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 2000 &
SENDER=$!
MCRT_PIDS+=("$SENDER")
ns_exec hosta "$MCRT_PYTHON" "$IGMP_SENDER" --interface eth0 --source 198.51.100.2 --interval-ms 0.05 flood 10000
HELD_GROUPS=$(relay_string GetStats | "$MCRT_PYTHON" -c \
    'import json,sys; d=json.load(sys.stdin); print(len([m for m in d["membership"] if m["interface"]=="out0"][0]["groups"]))')
check_eq "groups held at the limit" "$MAX_GROUPS" "$HELD_GROUPS"
wait_pid "$SENDER" 30 || die "the sender failed during the flood"
gen_recv_wait shown || die "hostb lost packets during the flood"
check_eq "hostb unique during the flood" 2000 "$(json_get "$(scratch shown.json)" unique)"
check_eq "limit entries in the journal" 1 "$(grep -c "reached its limit of $MAX_GROUPS IGMP groups" "$(scratch mcrd.1.log)")"
# 239.2.2.1 (hostb) holds one of the MAX_GROUPS places all along.
REFUSED=$(relay_stat membership.interface=out0.counters.groups_refused)
check_eq "flood reports refused" $((10000 - MAX_GROUPS + 1)) "$REFUSED"
log "flood: $(relay_stat membership.interface=out0.counters.reports) reports taken, $REFUSED refused"

log "--- election: a lower querier (hosta .2) wins, mcrd takes over when it is silent"
ns_exec hosta "$MCRT_PYTHON" "$IGMP_SENDER" --interface eth0 --source 198.51.100.2 --interval-ms 1000 query 3
SILENT_AT=${EPOCHREALTIME/./}
wait_until 5 "mcrd to defer" grep -q "IGMP querier on out0 is 198.51.100.2; this relay listens" "$(scratch mcrd.1.log)"
check_eq "GetStats querier while deferring" False "$(relay_stat membership.interface=out0.querier)"
wait_until 15 "mcrd to take over" sh -c \
    "[ \$(grep -c 'IGMP querier on out0 is this relay' '$(scratch mcrd.1.log)') -ge 2 ]"
TAKEOVER_MS=$(((${EPOCHREALTIME/./} - SILENT_AT) / 1000))
log "mcrd queried again ${TAKEOVER_MS} ms after the other querier's sender ended (its last query 1 s before; OQPI 4.5 s)"
[ "$TAKEOVER_MS" -ge 3000 ] || die "took over after ${TAKEOVER_MS} ms, before the other-querier-present interval"
log "--- election: a higher querier (hostb .9) changes nothing"
ns_exec hostb "$MCRT_PYTHON" "$IGMP_SENDER" --interface eth0 --source 198.51.100.9 --interval-ms 500 query 4
check_eq "GetStats querier after a higher query" True "$(relay_stat membership.interface=out0.querier)"
grep -q "is 198.51.100.9" "$(scratch mcrd.1.log)" && die "mcrd deferred to a higher address"

mcrd_stop || die "mcrd did not stop cleanly"
finish "listeners required: 0 frames without a listener, join ${FIRST_MS} ms, leave ${LAST_MS} ms (LMQT 400 ms)"
