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
#     (duplicate detection, made 3 s long): its querier starts when the
#     link monitor reports the address usable;
#   - a leave at 3 s: it stops within the last-listener interval (measured);
#   - a listener that stays past the multicast address listening interval
#     (2 x 2 s + 1 s) keeps the stream, losing 0: its kernel answered our
#     general queries, so they are valid MLD on the wire (hop limit 1,
#     router alert, link-local source, checksum);
#   - while it waits out that interval (and receives a stream):
#     hostile MLD from sink0 (mld_sender.py, scapy frames), as reports and
#     as queries: bad checksums, truncated, source counts past the end, no
#     router alert (Hop-by-Hop without it, or none at all), hop limit 2, a
#     global source; then a flood of 10 000 MLDv2 reports for distinct
#     groups: each counted under its reason exactly, no state change, the
#     groups held at --max-groups with one journal entry, and a stream to
#     a listener beside them loses 0.
# Election and address changes: test_mld_querier.sh.
# MCRT_LISTENERS_DEFAULT_TIMERS=1 measures the join and leave with the RFC
# 3810 default timers instead (LLQT 2 s; by hand, about 15 s) and stops there.
#
#   src eth0 2001:db8:1::2 -- in0 relay out0 -- sink0 eth0 (MLDv2)
#                                       out1 -- sink1 eth0 (MLDv1)
#   r6: in0 ff3e::1:5000 -> out0 ff3e::2:6000 required, out1 ff3e::3:6001 required
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker
require_root

readonly RATE=1000 SIZE=100 MAX_GROUPS=64 HOSTILE_COUNT=50
PROBE="$MCRT_LIB_DIR/listener_probe.py"
MLD_SENDER="$MCRT_LIB_DIR/mld_sender.py"

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

# MCRT_LISTENERS_DEFAULT_TIMERS=1 (by hand, not in CI): the RFC default
# timers instead, for the join and leave timings only (LLQT 2 s).
if [ -n "${MCRT_LISTENERS_DEFAULT_TIMERS:-}" ]; then
    mcrd_start relay --max-groups "$MAX_GROUPS"
    LEAVE_BOUND_MS=2600 LEAVE_WAIT_S=2
else
    mcrd_start relay --robustness 2 --query-interval-ms 2000 --query-response-interval-ms 1000 \
        --last-member-interval-ms 200 --max-groups "$MAX_GROUPS"
    LEAVE_BOUND_MS=900 LEAVE_WAIT_S=0
fi
readonly TX_COUNT=$(((4 + LEAVE_WAIT_S) * RATE + 500))
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
check_eq "out1 without a usable link-local address logged (once, while tentative)" 1 \
    "$(grep -c "Interface out1 has no usable IPv6 link-local address" "$(scratch mcrd.1.log)")"
check_eq "out1 querier start failures" 0 "$(grep -c "Failed to start the MLD querier" "$(scratch mcrd.1.log)")"
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
probe_start sink0 v2 ff3e::2 6000 --join-at 1 --leave-at 3 --until $((4 + LEAVE_WAIT_S)).5
probe_start sink1 v1 ff3e::3 6001 --join-at 1 --leave-at 3 --until $((4 + LEAVE_WAIT_S)).5
gen_send src tx --group ff3e::1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$TX_COUNT"
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
    check_eventually "$out packets + no_listener" "$TX_COUNT" 10 output_total "$out"
    HELD=$(relay_stat "rules.name=r6.outputs.interface=$out.no_listener")
    [ "$HELD" -ge 1000 ] || die "$out: only $HELD copies held back without a listener"
    check_fast_path_count "$out no_listener counted by the program" "$HELD" \
        "rules.name=r6.outputs.interface=$out.fast_path.no_listener"
    check_eq "GetStats $out protocol" mld "$(relay_stat "membership.interface=$out.protocol")"
    check_eq "GetStats $out querier" True "$(relay_stat "membership.interface=$out.querier")"
done
check_eq "r6 drops" "t 0" "$(rule_property r6 Drops)"
# mcrd made the worker an IPv6 ingress pair for r6's input, and GetStats
# shows how it reads it (the ramp itself: test_receive_switch).
case $(relay_stat "workers.interface=in0.receive6.mode") in
    quiet|ring) ok "GetStats shows in0's IPv6 receive mode" ;;
    *) fail "GetStats has no receive6.mode for in0: $(cat "$(scratch getstats.json)")" ;;
esac
if [ -n "${MCRT_LISTENERS_DEFAULT_TIMERS:-}" ]; then
    mcrd_stop || die "mcrd did not stop cleanly"
    finish "default timers: MLDv2 join ${V2_FIRST} ms, leave ${V2_LAST} ms; MLDv1 join ${V1_FIRST} ms, leave ${V1_LAST} ms (LLQT 2 s)"
fi

log "--- a listener past the listening interval (5 s) keeps the stream; hostile MLD and a flood meanwhile"
check_eq "rejected MLD messages before the hostile ones" 0 "$(relay_string GetStats | "$MCRT_PYTHON" -c \
    'import json,sys; print(sum(sum(m["counters"]["rejected"].values()) for m in json.load(sys.stdin)["membership"]))')"
# out0_groups FILE: the groups mcrd holds on out0 in a GetStats reply, one line.
out0_groups() {
    "$MCRT_PYTHON" -c 'import json,sys
print(" ".join(sorted(g["group"] for m in json.load(sys.stdin)["membership"] if m["interface"]=="out0" for g in m["groups"])))' \
        <"$1"
}
# rejected_total FILE: out0's rejected messages of every reason.
rejected_total() {
    "$MCRT_PYTHON" -c 'import json,sys
print(sum(sum(m["counters"]["rejected"].values()) for m in json.load(sys.stdin)["membership"] if m["interface"]=="out0"))' \
        <"$1"
}
out0_rejected_now() { relay_string GetStats >"$(scratch rejected.json)" && rejected_total "$(scratch rejected.json)"; }
# "kept" stays joined until it has both streams (5000 during the hostile
# MLD, 1000 once 6 s have passed): only answers to our queries keep it.
gen_recv_start sink0 kept --group ff3e::2 --port 6000 --interface eth0 --duration 40 --expect 6000
KEPT_AT=$SECONDS
wait_until 5 "sink0's membership" sh -c "[ \$(grep -c 'Group ff3e::2 on out0 has its first listener' '$(scratch mcrd.1.log)') -ge 2 ]"
relay_string GetStats >"$(scratch before-hostile.json)"
check_eq "groups on out0 before the hostile MLD" ff3e::2 "$(out0_groups "$(scratch before-hostile.json)")"
gen_send src hostile-tx --group ff3e::1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 5000 &
SENDER=$!
MCRT_PIDS+=("$SENDER")
ns_exec sink0 "$MCRT_PYTHON" "$MLD_SENDER" --interface eth0 --interval-ms 0.2 hostile "$HOSTILE_COUNT" \
    || die "mld_sender hostile failed"
# Seven kinds, as reports and as queries.
check_eventually "out0 rejected messages" $((14 * HOSTILE_COUNT)) 10 out0_rejected_now
relay_string GetStats >"$(scratch after-hostile.json)"
# truncated and long-sources both count as truncated, no-alert and
# no-hop-by-hop (let through by the socket filter for this) as missing_router_alert.
for pair in "bad_checksum 2" "truncated 4" "missing_router_alert 4" "bad_hop_limit 2" "bad_source 2"; do
    read -r reason times <<<"$pair"
    check_eq "rejected $reason" $((times * HOSTILE_COUNT)) \
        "$(json_get "$(scratch after-hostile.json)" "membership.interface=out0.counters.rejected.$reason")"
done
# (Reports are not compared: sink0's kernel answers the general queries meanwhile.)
check_eq "hostile: queries taken" \
    "$(json_get "$(scratch before-hostile.json)" membership.interface=out0.counters.queries_received)" \
    "$(json_get "$(scratch after-hostile.json)" membership.interface=out0.counters.queries_received)"
check_eq "hostile: out0 querier" True "$(json_get "$(scratch after-hostile.json)" membership.interface=out0.querier)"
check_eq "hostile: other querier" null "$(json_get "$(scratch after-hostile.json)" membership.interface=out0.other_querier)"
check_eq "hostile: groups on out0" ff3e::2 "$(out0_groups "$(scratch after-hostile.json)")"
grep -q "MLD querier on out0 is .*this relay listens" "$(scratch mcrd.1.log)" && die "mcrd deferred to a hostile query"

FLOOD_STARTED=${EPOCHREALTIME/./}
ns_exec sink0 "$MCRT_PYTHON" "$MLD_SENDER" --interface eth0 --interval-ms 0.05 flood 10000 || die "the flood failed"
FLOOD_MS=$(((${EPOCHREALTIME/./} - FLOOD_STARTED) / 1000))
# ff3e::2 (sink0's receiver) holds one of the MAX_GROUPS places all along.
check_eventually "flood reports refused" $((10000 - MAX_GROUPS + 1)) 10 relay_stat membership.interface=out0.counters.groups_refused
relay_string GetStats >"$(scratch after-flood.json)"
check_eq "groups held at the limit" "$MAX_GROUPS" "$(out0_groups "$(scratch after-flood.json)" | wc -w)"
check_eq "limit entries in the journal" 1 "$(grep -c "reached its limit of $MAX_GROUPS MLD groups" "$(scratch mcrd.1.log)")"
log "flood: 10000 reports in ${FLOOD_MS} ms, $(json_get "$(scratch after-flood.json)" membership.interface=out0.counters.groups_refused) refused"
wait_pid "$SENDER" 30 || die "the sender failed during the hostile MLD"

# Waiting out the listening interval is the point here (the timers are
# already short); the hostile part above usually took longer.
[ $((SECONDS - KEPT_AT)) -ge 6 ] || sleep $((6 - (SECONDS - KEPT_AT)))
check_eq "GetStats version of ff3e::2 (MLDv2)" 2 "$(relay_stat membership.interface=out0.groups.group=ff3e::2.version)"
find_binary MCRCTL src/mcrctl/mcrctl
"$MCRCTL" --bus-address "$BUS_ADDRESS" groups out0 >"$(scratch groups.txt)"
grep -q "out0: MLD querier this relay (fe80::" "$(scratch groups.txt)" || die "mcrctl groups: $(cat "$(scratch groups.txt)")"
grep -Eq "out0 +ff3e::2 +exclude +MLDv2" "$(scratch groups.txt)" || die "mcrctl groups: $(cat "$(scratch groups.txt)")"
gen_send src kept-tx --group ff3e::1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 1000
gen_recv_wait kept || die "sink0 lost packets (hostile MLD, or its membership lapsed): $(cat "$(scratch kept.json)")"
check_eq "sink0 unique: during the hostile MLD and after $((SECONDS - KEPT_AT)) s of membership" 6000 \
    "$(json_get "$(scratch kept.json)" unique)"
relay_string GetStats >"$(scratch after-kept.json)"
counter_delta() { # COUNTER: out0's growth since before the hostile part
    echo $(($(json_get "$(scratch after-kept.json)" "membership.interface=out0.counters.$1") - \
        $(json_get "$(scratch before-hostile.json)" "membership.interface=out0.counters.$1")))
}
QUERIES=$(counter_delta queries_sent)
# Reports beyond the flood's 10 000: sink0's answers to our queries (the
# last one may still be waiting for its random delay).
REPORTS=$(($(counter_delta reports) - 10000))
[ "$QUERIES" -ge 2 ] || die "only $QUERIES general queries in $((SECONDS - KEPT_AT)) s"
[ "$REPORTS" -ge $((QUERIES - 1)) ] || die "only $REPORTS reports besides the flood for $QUERIES queries"
log "in $((SECONDS - KEPT_AT)) s: $QUERIES queries sent, $REPORTS reports taken besides the flood"

mcrd_stop || die "mcrd did not stop cleanly"
finish "MLD listeners: v2 join ${V2_FIRST} ms, leave ${V2_LAST} ms; v1 join ${V1_FIRST} ms, leave ${V1_LAST} ms (LMQT 400 ms)"
