#!/bin/bash
# IPv6 outputs with "listeners": "required" (issue 19, the MLD half),
# against Linux hosts that join and leave with ordinary sockets: sink0's
# kernel sends MLDv2 reports, sink1 is forced to MLDv1
# (force_mld_version=1). mcrd runs an MLD querier on each output interface
# from its link-local address, with the test timers of test_listeners.sh
# (query interval 2 s, response 1 s, last listener 200 ms, robustness 2:
# the last-listener query time is 400 ms). One 4 s stream at 1000 pps:
#   - before the join (1 s): 0 frames of the group on either segment, the
#     copies counted as no_listener;
#   - a join at 1 s: the stream arrives (time to the first frame measured);
#   - the rule comes while out1's link-local address is still tentative
#     (duplicate detection, made 3 s long): its querier starts once the
#     address is usable;
#   - a leave at 3 s: it stops within the last-listener interval (measured);
#   - a listener that stays past the multicast address listening interval
#     (2 x 2 s + 1 s) keeps the stream, losing 0: its kernel answered our
#     general queries, so they are valid MLD on the wire (hop limit 1,
#     router alert, link-local source, checksum).
#
#   src eth0 2001:db8:1::2 -- in0 relay out0 -- sink0 eth0 (MLDv2)
#                                       out1 -- sink1 eth0 (MLDv1)
#   r6: in0 ff3e::1:5000 -> out0 ff3e::2:6000 required, out1 ff3e::3:6001 required
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker
require_root

readonly RATE=1000 SIZE=100 LEAVE_BOUND_MS=900
PROBE="$MCRT_LIB_DIR/listener_probe.py"

bus_setup
relay_topology_ipv6 2
ns_exec sink1 sysctl -qw net.ipv6.conf.eth0.force_mld_version=1 >/dev/null
for host in sink0 sink1; do
    # Unsolicited reports are repeated within 100 ms: short, as the relay's timers.
    ns_exec "$host" sysctl -qw net.ipv6.conf.eth0.mldv2_unsolicited_report_interval=100 >/dev/null
    ns_exec "$host" sysctl -qw net.ipv6.conf.eth0.mldv1_unsolicited_report_interval=100 >/dev/null
done
# MLD needs link-local sources on both sides (RFC 3810 5.1.14, 5.2.13): wait
# for duplicate address detection to finish.
link_local_ready() { # NS IF
    local shown
    shown=$(ip -n "$(ns_name "$1")" -6 addr show dev "$2" scope link) || return 1
    [[ $shown == *fe80::* && $shown != *tentative* ]]
}
for end in "relay out0" "relay out1" "sink0 eth0" "sink1 eth0"; do
    # shellcheck disable=SC2086 # two words: namespace and interface
    wait_until 10 "a link-local address on $end" link_local_ready $end
done

mcrd_start relay --robustness 2 --query-interval-ms 2000 --query-response-interval-ms 1000 \
    --last-member-interval-ms 200
RULE='{"name": "r6", "input": {"interface": "in0", "address": "ff3e::1", "port": 5000},
       "outputs": [{"interface": "out0", "address": "ff3e::2", "port": 6000, "listeners": "required"},
                   {"interface": "out1", "address": "ff3e::3", "port": 6001, "listeners": "required"}]}'
# out1's link-local address goes through duplicate detection again, for 3 s.
ip netns exec "$(ns_name relay)" sysctl -qw net.ipv6.conf.out1.dad_transmits=3 >/dev/null
ip -n "$(ns_name relay)" link set out1 down
ip -n "$(ns_name relay)" link set out1 up
relay_call AddRuleJSON s "$RULE" >/dev/null
wait_rule_property r6 State 's "active"' 20
for out in out0 out1; do
    wait_until 10 "the MLD querier on $out" grep -q "MLD querier on $out is this relay (fe80::" "$(scratch mcrd.1.log)"
done
check_eq "out1 querier start failures logged (once, while tentative)" 1 \
    "$(grep -c "Failed to start the MLD querier: .*out1.*retrying\|out1.*Failed to start the MLD querier.*retrying" "$(scratch mcrd.1.log)")"
wait_until 10 "a link-local address on relay out1" link_local_ready relay out1
expect_fast_path r6 # the program holds the outputs (MCRD_TEST_FAST_PATH=off: the worker)

# probe HOST NAME GROUP PORT ARGS...: listener_probe.py, JSON in $(scratch NAME.json).
probe_start() {
    local host=$1 name=$2 group=$3 port=$4; shift 4
    bg_start "$host" "$(scratch "$name.json")" "$MCRT_PYTHON" "$PROBE" --interface eth0 --group "$group" \
        --port "$port" --ready-file "$(scratch "$name.ready")" "$@"
    MCRT_JOBS[$name]=$BG_PID
    wait_started "$name" "$(scratch "$name.ready")"
}
probe_wait() { wait_pid "${MCRT_JOBS[$1]}" 60 || die "probe $1 failed: $(cat "$(scratch "$1.json")")"; }
probe_value() { json_get "$(scratch "$1.json")" "$2"; }

log "--- no listener for 1 s, a join at 1 s, a leave at 3 s; MLDv2 on out0, MLDv1 on out1"
probe_start sink0 v2 ff3e::2 6000 --join-at 1 --leave-at 3 --until 4.5
probe_start sink1 v1 ff3e::3 6001 --join-at 1 --leave-at 3 --until 4.5
gen_send src tx --group ff3e::1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 4500
probe_wait v2
probe_wait v1
for name in v2 v1; do
    FIRST=$(probe_value "$name" first_after_join_ms)
    LAST=$(probe_value "$name" last_after_leave_ms)
    log "MLD$name host: first frame ${FIRST} ms after the join, last ${LAST} ms after the leave"
    check_eq "MLD$name: frames before the join" 0 "$(probe_value "$name" before_join)"
    [ "$FIRST" != "None" ] || die "MLD$name: no frame after the join: $(cat "$(scratch "$name.json")")"
    "$MCRT_PYTHON" -c "import sys; sys.exit(0 if $FIRST <= 100 else 1)" \
        || die "MLD$name: first frame $FIRST ms after the join (more than 100 ms)"
    [ "$(probe_value "$name" while_joined)" -ge 1500 ] \
        || die "MLD$name: too few frames while joined: $(cat "$(scratch "$name.json")")"
    "$MCRT_PYTHON" -c "import sys; sys.exit(0 if '$LAST' == 'None' or $LAST <= $LEAVE_BOUND_MS else 1)" \
        || die "MLD$name: last frame $LAST ms after the leave (more than $LEAVE_BOUND_MS ms)"
    eval "${name^^}_FIRST=\$FIRST ${name^^}_LAST=\$LAST"
done
# Sent + held back = every packet: the gate only ever chose between the two.
output_total() {
    echo $(($(relay_stat "rules.name=r6.outputs.interface=$1.packets") + \
        $(relay_stat "rules.name=r6.outputs.interface=$1.no_listener")))
}
for pair in "out0 ff3e::2" "out1 ff3e::3"; do
    read -r out group <<<"$pair"
    grep -q "Group $group on $out has its first listener" "$(scratch mcrd.1.log)" || die "no first-listener entry on $out"
    grep -q "Group $group on $out lost its last listener" "$(scratch mcrd.1.log)" || die "no last-listener entry on $out"
    check_eventually "$out packets + no_listener" 4500 10 output_total "$out"
    HELD=$(relay_stat "rules.name=r6.outputs.interface=$out.no_listener")
    [ "$HELD" -ge 1000 ] || die "$out: only $HELD copies held back without a listener"
    check_fast_path_count "$out no_listener counted by the program" "$HELD" \
        "rules.name=r6.outputs.interface=$out.fast_path.no_listener"
    check_eq "GetStats $out protocol" mld "$(relay_stat "membership.interface=$out.protocol")"
    check_eq "GetStats $out querier" True "$(relay_stat "membership.interface=$out.querier")"
done
check_eq "r6 drops" "t 0" "$(rule_property r6 Drops)"

log "--- a listener past the listening interval (5 s) keeps the stream: it answered our queries"
QUERIES_BEFORE=$(relay_stat membership.interface=out0.counters.queries_sent)
REPORTS_BEFORE=$(relay_stat membership.interface=out0.counters.reports)
probe_start sink0 kept ff3e::2 6000 --join-at 0 --until 8
# Waiting out the interval is the point here (the timers are already short).
sleep 6
check_eq "GetStats version of ff3e::2 (MLDv2)" 2 "$(relay_stat membership.interface=out0.groups.group=ff3e::2.version)"
find_binary MCRCTL src/mcrctl/mcrctl
"$MCRCTL" --bus-address "$BUS_ADDRESS" groups out0 >"$(scratch groups.txt)"
grep -q "out0: MLD querier this relay (fe80::" "$(scratch groups.txt)" || die "mcrctl groups: $(cat "$(scratch groups.txt)")"
grep -Eq "out0 +ff3e::2 +exclude +MLDv2" "$(scratch groups.txt)" || die "mcrctl groups: $(cat "$(scratch groups.txt)")"
gen_send src kept-tx --group ff3e::1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 1000
probe_wait kept
check_eq "frames after 6 s of membership" 1000 "$(probe_value kept while_joined)"
QUERIES=$(relay_stat membership.interface=out0.counters.queries_sent)
REPORTS=$(relay_stat membership.interface=out0.counters.reports)
[ $((QUERIES - QUERIES_BEFORE)) -ge 2 ] || die "only $((QUERIES - QUERIES_BEFORE)) general queries in 6 s"
[ $((REPORTS - REPORTS_BEFORE)) -ge 3 ] || die "only $((REPORTS - REPORTS_BEFORE)) reports in 6 s (join + answers)"
log "in 6 s: $((QUERIES - QUERIES_BEFORE)) queries sent, $((REPORTS - REPORTS_BEFORE)) reports taken"
check_eq "rejected MLD messages" 0 "$(relay_string GetStats | "$MCRT_PYTHON" -c \
    'import json,sys; print(sum(sum(m["counters"]["rejected"].values()) for m in json.load(sys.stdin)["membership"]))')"

mcrd_stop || die "mcrd did not stop cleanly"
finish "MLD listeners: v2 join ${V2_FIRST} ms, leave ${V2_LAST} ms; v1 join ${V1_FIRST} ms, leave ${V1_LAST} ms (LMQT 400 ms)"
