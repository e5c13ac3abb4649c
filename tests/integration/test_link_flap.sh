#!/bin/bash
# Interface hot-plug beyond delete/re-create, in spawn mode on a private bus:
# the ingress and an egress link going down and up, an egress interface
# deleted and re-created, an egress MAC change. Rules on a link that is down
# say "waiting for interface", rules on the other links keep forwarding exact
# counts, a rule with one output on each side is "degraded", and forwarding
# resumes by itself within 1 s of the link returning (resume time printed).
# Duration: ~50 s.
#
#   +-----------+        +-------------------------+        +--------------+
#   | src eth0  |--------| in0 192.0.2.1     out0  |--------| sink0 eth0   |
#   | 192.0.2.2 |        |                   out1  |--+     | 198.51.100.2 |
#   +-----------+        +-------------------------+  |     +--------------+
#   239.1.1.1 -> r1 -> out0 239.2.2.1                 +-----| sink1 eth0   |
#   239.1.1.2 -> r2 -> out1 239.2.2.2                       | 198.51.100.18|
#   239.1.1.3 -> r3 -> out0 239.2.2.3 + out1 239.2.2.3      +--------------+
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker

readonly PACKETS=1000 RATE=2000 SIZE=200 FLAP_PACKETS=3000 NEW_MAC=02:00:5e:00:53:42
bus_setup
relay_topology 2
mcrd_start relay

# add_rule NAME GROUP OUT_IF:OUT_GROUP...: a rule from in0 GROUP:5000 to port 6000 on each output.
add_rule() {
    local name=$1 group=$2 outputs=() spec
    shift 2
    for spec in "$@"; do outputs+=("${spec%%:*}" "${spec#*:}" 6000 0); done
    relay_call AddRule 'sssqsa(ssqy)' "$name" in0 "$group" 5000 "" "$#" "${outputs[@]}" >/dev/null
}

# stream NAME SINK OUT_GROUP IN_GROUP COUNT: COUNT packets at RATE through one
# rule; prints the number received (unique) at SINK.
stream() {
    gen_recv_start "$2" "$1" --group "$3" --port 6000 --interface eth0 --duration 60 --expect "$5"
    gen_send src "$1-tx" --group "$4" --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$5"
    gen_recv_wait "$1" 5 || true
    json_get "$(scratch "$1.json")" unique
}

# flap NAME SINK OUT_GROUP IN_GROUP NS IFACE: a FLAP_PACKETS stream during
# which NS/IFACE (down since before) is set up 0.5 s in; checks that every
# packet sent from 1 s after the link returned arrived and prints the resume
# time: packets missing beyond those sent while the link was down.
flap() {
    local name=$1 t_up t_end elapsed lost before_up resume_ms
    gen_recv_start "$2" "$name" --group "$3" --port 6000 --interface eth0 --duration 60 --expect "$FLAP_PACKETS"
    # The link returns 0.5 s into the stream: the fault's timing, not a wait.
    (sleep 0.5; ip -n "$(ns_name "$5")" link set "$6" up; date +%s%3N >"$(scratch "$name.up")") &
    gen_send src "$name-tx" --group "$4" --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" \
        --count "$FLAP_PACKETS"
    t_end=$(date +%s%3N)
    wait $!
    # Short of --expect by what the flap lost, so this always runs to its
    # bound: 2 s is hundreds of times what the last frame needs to arrive.
    gen_recv_wait "$name" 2 || true
    t_up=$(cat "$(scratch "$name.up")")
    elapsed=$(json_get "$(scratch "$name-tx.json")" elapsed_ms)
    lost=$((FLAP_PACKETS - $(json_get "$(scratch "$name.json")" unique)))
    # The sender's first packet left at about t_end - elapsed.
    before_up=$(( (t_up - (t_end - elapsed)) * RATE / 1000 ))
    resume_ms=$(( (lost - before_up) * 1000 / RATE ))
    ((resume_ms < 0)) && resume_ms=0
    log "FLAP $name: lost $lost of $FLAP_PACKETS ($before_up sent while $5/$6 was down), resume $resume_ms ms"
    [ "$resume_ms" -le 1000 ] || die "forwarding resumed $resume_ms ms after $6 came back (limit 1000)"
}

add_rule r1 239.1.1.1 out0:239.2.2.1
add_rule r2 239.1.1.2 out1:239.2.2.2
add_rule r3 239.1.1.3 out0:239.2.2.3 out1:239.2.2.3
for r in r1 r2 r3; do wait_rule_property "$r" State 's "active"' 20; done
check_eq "r1 before any flap" "$PACKETS" "$(stream base-r1 sink0 239.2.2.1 239.1.1.1 "$PACKETS")"
check_eq "r2 before any flap" "$PACKETS" "$(stream base-r2 sink1 239.2.2.2 239.1.1.2 "$PACKETS")"
WORKER=$(relay_call ListWorkers | awk '{print $NF}')

log "--- ingress in0 down: every rule waits; up: forwarding resumes on the same worker"
ip -n "$(ns_name relay)" link set in0 down
for r in r1 r2 r3; do wait_rule_property "$r" State 's "waiting for interface"'; done
flap ingress-up sink0 239.2.2.1 239.1.1.1 relay in0
for r in r1 r2 r3; do wait_rule_property "$r" State 's "active"'; done
check_eq "r1 after in0 returned" "$PACKETS" "$(stream after-in0 sink0 239.2.2.1 239.1.1.1 "$PACKETS")"
check_eq "same worker across the ingress flap" "$WORKER" "$(relay_call ListWorkers | awk '{print $NF}')"

log "--- egress out1 down: r2 waits, r3 is degraded, r1 and r3's out0 copies are exact"
ip -n "$(ns_name relay)" link set out1 down
wait_rule_property r2 State 's "waiting for interface"'
wait_rule_property r3 State 's "degraded: waiting for interface out1"'
check_eq "r1 state while out1 is down" 's "active"' "$(rule_property r1 State)"
check_eq "r1 while out1 is down" "$PACKETS" "$(stream out1-down-r1 sink0 239.2.2.1 239.1.1.1 "$PACKETS")"
check_eq "r3's out0 copies while out1 is down" "$PACKETS" \
    "$(stream out1-down-r3 sink0 239.2.2.3 239.1.1.3 "$PACKETS")"
flap egress-up sink1 239.2.2.2 239.1.1.2 relay out1
wait_rule_property r2 State 's "active"'
wait_rule_property r3 State 's "active"'
check_eq "r2 after out1 returned" "$PACKETS" "$(stream after-out1 sink1 239.2.2.2 239.1.1.2 "$PACKETS")"

log "--- egress out1 deleted: the worker keeps forwarding r1; re-created: r2 comes back"
ip -n "$(ns_name relay)" link del out1
wait_rule_property r2 State 's "waiting for interface"'
wait_rule_property r3 State 's "degraded: waiting for interface out1"'
check_eq "r1 while out1 is gone" "$PACKETS" "$(stream out1-gone-r1 sink0 239.2.2.1 239.1.1.1 "$PACKETS")"
check_eq "r3's out0 copies while out1 is gone" "$PACKETS" \
    "$(stream out1-gone-r3 sink0 239.2.2.3 239.1.1.3 "$PACKETS")"
check_eq "same worker while out1 is gone" "$WORKER" "$(relay_call ListWorkers | awk '{print $NF}')"
# Counters reach GetStats once a second.
send_errors_are() { [ "$(relay_stat rules.name=r3.outputs.interface=out1.drops.send_error)" = "$1" ]; }
wait_until 5 "r3's out1 send errors to settle" send_errors_are "$((2 * PACKETS))" || true
check_eq "r3's out1 copies (out1 down, then gone) are counted as send errors" "$((2 * PACKETS))" \
    "$(relay_stat rules.name=r3.outputs.interface=out1.drops.send_error)"
ip -n "$(ns_name sink1)" link del eth0 2>/dev/null || true
ip link add out1 netns "$(ns_name relay)" type veth peer name eth0 netns "$(ns_name sink1)"
ip -n "$(ns_name sink1)" link set eth0 up
addr_add relay out1 198.51.100.17/28
addr_add sink1 eth0 198.51.100.18/28
ip -n "$(ns_name relay)" link set out1 down
wait_rule_property r2 State 's "waiting for interface"'
flap egress-recreated sink1 239.2.2.2 239.1.1.2 relay out1
wait_rule_property r2 State 's "active"'
check_eq "r2 after out1 was re-created" "$PACKETS" "$(stream after-recreate sink1 239.2.2.2 239.1.1.2 "$PACKETS")"

log "--- egress MAC change: copies leave with the new source MAC"
ip -n "$(ns_name relay)" link set out0 address "$NEW_MAC"
capture_start sink0 eth0 mac "udp and dst host 239.2.2.1"
check_eq "r1 after the MAC change" "$PACKETS" "$(stream after-mac sink0 239.2.2.1 239.1.1.1 "$PACKETS")"
capture_stop mac
check_eq "copies from the new MAC" "$PACKETS" "$(capture_count mac eth.src="$NEW_MAC")"

mcrd_stop || die "mcrd did not exit cleanly"
finish "link down/up of in0 and out1, out1 re-created, out0 MAC change: exact counts, resume <= 1 s"
