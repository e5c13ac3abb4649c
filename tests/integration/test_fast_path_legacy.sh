#!/bin/bash
# The fast path's second attach mode, tc-legacy (a clsact qdisc and a
# direct-action cls_bpf filter: what kernels without tcx, such as Debian
# 12's 6.1, get), forced on this kernel with --fast-path-attach tc-legacy:
# a rule relayed exactly by the filter (mode and path "tc-legacy", frames
# counted by the program, none at the worker's socket); a worker killed -9
# at 10 kpps loses nothing and keeps the program; mcrd killed -9 at 10 kpps
# loses nothing either (the kernel's filter holds the program, no process
# does) and the next mcrd takes the filter's place in one step (one filter,
# a new program); removing the rule removes the filter and the clsact qdisc
# mcrd made, a clsact someone else made stays, and a filter an earlier mcrd
# left on an interface no rule uses is removed at start; someone else's
# filter keeps the interface on the userspace path with its reason. Then,
# in both attach modes: the ingress interface deleted and re-created (same
# name and addresses) while mcrd runs gets a program again, relays on the
# fast path exactly, and the counts from before the deletion stay in the
# totals; mcrd in mode tc replaces a tc-legacy filter an earlier one left.
#
#   +-------------+          +--------------------------------+          +---------------+
#   | src         |          | relay                          |----------| sink0 eth0    |
#   | eth0        |----------| in0 [clsact: cls_bpf      out0 |          | 198.51.100.2  |
#   | 192.0.2.2   |          | 192.0.2.1  mcr_relay]     out1 |----------| sink1 eth0    |
#   +-------------+          +--------------------------------+          | 198.51.100.18 |
#   mcrgen send               mcrd (spawn) -> mcrd-worker                 +---------------+
#   239.1.1.1:5000            r1: -> out0 239.2.2.2:6000, out1 239.2.2.3:6001
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker
require_tools tc
find_binary MCRCTL src/mcrctl/mcrctl
[ "${MCRD_TEST_FAST_PATH:-auto}" = auto ] || skip "the fast path is forced off (MCRD_TEST_FAST_PATH)"

readonly PACKETS=1000 RATE=3000 SIZE=200 CRASH_RATE=10000 CRASH_PACKETS=10000 RESTART_PACKETS=80000
# src/fastpath/fast_path.hpp: our slot (priority 0x6d63) and the handle
# that says whether mcrd made the clsact qdisc.
readonly OUR_PREF=28003 HANDLE_MADE=0x6d637201 HANDLE_FOUND=0x6d637200
bus_setup
relay_topology 2

relay_tc() { tc -n "$(ns_name relay)" "$@"; }
# Filters on in0's ingress: cls_bpf ones have a handle, the test's u32 one a flowid.
ingress_filters() { relay_tc filter show dev in0 ingress | grep -cE ' handle |flowid ' || true; }
# "PREF HANDLE ID" of the mcr_relay filter on in0's ingress, "" without one.
our_filter() {
    relay_tc filter show dev in0 ingress | awk '/ handle .*mcr_relay:\[/ {
        for (i = 1; i <= NF; i++) { if ($i == "pref") p = $(i + 1); if ($i == "handle") h = $(i + 1); if ($i == "id") d = $(i + 1) }
        print p, h, d }'
}
clsact_on_in0() { relay_tc qdisc show dev in0 | grep -c '^qdisc clsact' || true; }
tcx_programs() { ns_exec relay "$MCRT_PYTHON" "$MCRT_LIB_DIR/tcx_programs.py" in0 | wc -l; }
mode_is() { [ "$(relay_stat workers.0.fast_path.mode 2>/dev/null)" = "$1" ]; }
reason_is() { [ "$(relay_stat workers.0.fast_path.reason 2>/dev/null)" = "$1" ]; }
program_is_not() { [ "$(relay_stat workers.0.fast_path.program_id 2>/dev/null)" != "$1" ] && mode_is tc-legacy; }
no_filter() { [ "$(ingress_filters)" = 0 ]; }
process_gone() { ! kill -0 "$1" 2>/dev/null; }
# The FAST PATH of `mcrctl workers` and the PATH of `mcrctl stats` for in0 and r1.
ctl_paths() {
    local workers stats
    workers=$(MCRCTL_BUS_ADDRESS=$BUS_ADDRESS "$MCRCTL" --no-ask-password --json workers) || return 1
    stats=$(MCRCTL_BUS_ADDRESS=$BUS_ADDRESS "$MCRCTL" --no-ask-password --json stats) || return 1
    echo "$(json_of "$workers" 0.fast_path.mode) $(json_of "$stats" rules.name=r1.path)"
}

# send_and_count NAME COUNT [RATE]: COUNT packets (TTL 9) src -> relay -> both sinks, exactly.
send_and_count() {
    gen_recv_start sink0 "$1-0" --group 239.2.2.2 --port 6000 --interface eth0 --duration 60 --expect "$2"
    gen_recv_start sink1 "$1-1" --group 239.2.2.3 --port 6001 --interface eth0 --duration 60 --expect "$2"
    gen_send src "$1-tx" --group 239.1.1.1 --port 5000 --interface eth0 --rate "${3:-$RATE}" --size "$SIZE" \
        --count "$2" --ttl 9
    sinks_got "$1" "$2"
}
# sinks_got NAME COUNT: both receivers of NAME got COUNT packets, once each.
sinks_got() {
    for i in 0 1; do
        gen_recv_wait "$1-$i" || die "sink$i did not get $2 packets ($1)"
        check_eq "unique packets at sink$i ($1)" "$2" "$(json_get "$(scratch "$1-$i.json")" unique)"
        check_eq "duplicates at sink$i ($1)" 0 "$(json_get "$(scratch "$1-$i.json")" duplicated)"
    done
}
# send_in_background NAME COUNT: COUNT packets at CRASH_RATE, receivers
# waiting; the sender's PID in $SENDER.
send_in_background() {
    gen_recv_start sink0 "$1-0" --group 239.2.2.2 --port 6000 --interface eth0 --duration 60 --expect "$2"
    gen_recv_start sink1 "$1-1" --group 239.2.2.3 --port 6001 --interface eth0 --duration 60 --expect "$2"
    bg_start src "$(scratch "$1-tx.log")" "$MCRGEN" send --group 239.1.1.1 --port 5000 --interface eth0 \
        --rate "$CRASH_RATE" --size "$SIZE" --count "$2" --ttl 9
    SENDER=$BG_PID
}
add_rule() {
    relay_call AddRule 'sssqsa(ssqy)' r1 in0 239.1.1.1 5000 "" 2 out0 239.2.2.2 6000 0 out1 239.2.2.3 6001 0 >/dev/null
    wait_rule_property r1 State 's "active"' 20
}

log "--- --fast-path-attach tc-legacy: a cls_bpf filter on a clsact mcrd makes relays the rule"
check_eq "no clsact on in0 at first" 0 "$(clsact_on_in0)"
mcrd_start relay --fast-path-attach tc-legacy
add_rule
wait_until 20 "the fast path to be in use" mode_is tc-legacy
PROGRAM=$(relay_stat workers.0.fast_path.program_id)
check_eq "our filter: our slot, 'mcrd made the qdisc', the program GetStats names" \
    "$OUR_PREF $HANDLE_MADE $PROGRAM" "$(our_filter)"
check_eq "filters on in0's ingress" 1 "$(ingress_filters)"
check_eq "clsact qdiscs on in0" 1 "$(clsact_on_in0)"
check_eq "tcx programs on in0" 0 "$(tcx_programs)"
check_eq "mcrctl workers and stats: the attach mode" "tc-legacy tc-legacy" "$(ctl_paths)"
send_and_count legacy "$PACKETS"
wait_rule_property r1 Packets "t $PACKETS"
check_eq "GetStats r1 path" tc-legacy "$(relay_stat rules.name=r1.path)"
check_eq "GetStats r1 fast-path packets" "$PACKETS" "$(relay_stat rules.name=r1.fast_path.packets)"
check_eq "GetStats out1 fast-path packets" "$PACKETS" "$(relay_stat rules.name=r1.outputs.1.fast_path.packets)"
check_eq "frames that reached the worker" 0 "$(relay_stat workers.0.ingress.frames)"
check_eq "frames the program relayed" "$PACKETS" "$(relay_stat workers.0.fast_path.relayed)"

log "--- worker killed -9 at $CRASH_RATE pkt/s: the filter relays on, the new worker gets the same maps"
WORKER=$(relay_call ListWorkers | awk '{print $NF}')
send_in_background worker-kill "$CRASH_PACKETS"
sleep 0.3
kill -KILL "$WORKER"
wait_pid "$SENDER" 20 || die "the sender did not finish"
sinks_got worker-kill "$CRASH_PACKETS"
wait_until 20 "a new worker" test "$(relay_call ListWorkers | awk '{print $NF}')" != "$WORKER"
wait_rule_property r1 Packets "t $((PACKETS + CRASH_PACKETS))"
check_eq "the same program after the worker's restart" "$PROGRAM" "$(relay_stat workers.0.fast_path.program_id)"
check_eq "filters on in0's ingress after the worker's restart" 1 "$(ingress_filters)"
check_eq "frames that reached a worker" 0 "$(relay_stat workers.0.ingress.frames)"

log "--- mcrd killed -9 at $CRASH_RATE pkt/s and started again: nothing lost, the filter taken over in one step"
WORKER=$(relay_call ListWorkers | awk '{print $NF}')
send_in_background mcrd-kill "$RESTART_PACKETS"
sleep 0.3
kill -KILL "$MCRD_PID"
wait_until 5 "the worker to follow mcrd" process_gone "$WORKER"
check_eq "the filter outlives mcrd and its worker" "$OUR_PREF $HANDLE_MADE $PROGRAM" "$(our_filter)"
mcrd_start relay --fast-path-attach tc-legacy
wait_until 20 "the new mcrd's program in the filter" program_is_not "$PROGRAM"
# The takeover must have happened under traffic to prove it loses nothing.
check_eq "the sender still running at the takeover" 1 "$(kill -0 "$SENDER" 2>/dev/null && echo 1)"
wait_pid "$SENDER" 20 || die "the sender did not finish"
sinks_got mcrd-kill "$RESTART_PACKETS"
NEW_PROGRAM=$(relay_stat workers.0.fast_path.program_id)
check_eq "one filter after the takeover, same slot and handle, the new program" \
    "$OUR_PREF $HANDLE_MADE $NEW_PROGRAM" "$(our_filter)"
check_eq "filters on in0's ingress after the takeover" 1 "$(ingress_filters)"
grep -q "Fast path attached to in0 (tc-legacy, program id $NEW_PROGRAM, in place of" \
    "$(scratch "mcrd.$MCRD_STARTS.log")" || die "no journal line for the takeover: $(mcrd_log)"
# ResetStats takes the last report as its baseline: let one report (once a
# second) pass after the stream, so that its tail is in the baseline.
sleep 1.5
relay_call ResetStats
send_and_count after-takeover "$PACKETS"
wait_rule_property r1 Packets "t $PACKETS"
check_eq "r1 fast-path packets after the takeover" "$PACKETS" "$(relay_stat rules.name=r1.fast_path.packets)"

log "--- the rule removed: no filter, and the clsact mcrd made is gone too"
relay_call RemoveRule s r1
wait_until 10 "the filter to go" no_filter
check_eq "clsact qdiscs on in0 after the rule's removal" 0 "$(clsact_on_in0)"
mcrd_stop || die "mcrd did not exit cleanly"

log "--- a clsact someone else made: used, and left there when mcrd stops"
relay_tc qdisc add dev in0 clsact || die "cannot add a clsact qdisc"
mcrd_start relay --fast-path-attach tc-legacy
add_rule
wait_until 20 "the fast path to be in use" mode_is tc-legacy
PROGRAM=$(relay_stat workers.0.fast_path.program_id)
check_eq "our filter says the qdisc was there before" "$OUR_PREF $HANDLE_FOUND $PROGRAM" "$(our_filter)"
mcrd_stop || die "mcrd did not exit cleanly"
check_eq "filters on in0's ingress after mcrd's stop" 0 "$(ingress_filters)"
check_eq "the clsact mcrd did not make, after mcrd's stop" 1 "$(clsact_on_in0)"
relay_tc qdisc del dev in0 clsact

log "--- a filter an earlier mcrd left where no rule is: removed at start"
mcrd_start relay --fast-path-attach tc-legacy
wait_until 20 "the fast path to be in use" mode_is tc-legacy
kill -KILL "$MCRD_PID"
check_eq "filters on in0's ingress after mcrd's kill -9" 1 "$(ingress_filters)"
saved_state_dir=$MCRD_STATE_DIR
MCRD_STATE_DIR=$(scratch empty-state); mkdir -p "$MCRD_STATE_DIR"
mcrd_start relay --fast-path-attach tc-legacy
wait_until 10 "the orphaned filter to go" no_filter
check_eq "clsact qdiscs on in0 after the sweep" 0 "$(clsact_on_in0)"
grep -q "Removed an earlier mcrd's fast path from in0" "$(scratch "mcrd.$MCRD_STARTS.log")" \
    || die "no journal line for the sweep: $(mcrd_log)"
mcrd_stop || die "mcrd did not exit cleanly"
MCRD_STATE_DIR=$saved_state_dir

log "--- someone else's filter on in0's ingress: the userspace path, with the reason"
relay_tc qdisc add dev in0 clsact || die "cannot add a clsact qdisc"
relay_tc filter add dev in0 ingress protocol ip prio 1 u32 match u32 0 0 flowid 1:1 \
    || die "cannot add a u32 filter"
mcrd_start relay --fast-path-attach tc-legacy
wait_rule_property r1 State 's "active"' 20
wait_until 20 "the refusal to show" reason_is foreign-program
check_eq "fast path mode beside a foreign filter" userspace "$(relay_stat workers.0.fast_path.mode)"
check_eq "filters on in0's ingress (the foreign one only)" 1 "$(ingress_filters)"
relay_call ResetStats
send_and_count foreign "$PACKETS"
wait_rule_property r1 Packets "t $PACKETS"
check_eq "frames that reached the worker beside a foreign filter" "$PACKETS" "$(relay_stat workers.0.ingress.frames)"
grep -q "Fast path not used on in0.*another tc filter (u32, pref 1)" "$(scratch "mcrd.$MCRD_STARTS.log")" \
    || die "no journal line for the refusal: $(mcrd_log)"
mcrd_stop || die "mcrd did not exit cleanly"
check_eq "the foreign filter after mcrd's stop" 1 "$(ingress_filters)"
relay_tc qdisc del dev in0 clsact

# recreate_case MODE: in0 deleted and re-created while mcrd runs in MODE.
recreate_case() {
    log "--- $1: in0 deleted and re-created while mcrd runs"
    mcrd_start relay --fast-path-attach "$1"
    wait_rule_property r1 State 's "active"' 20
    wait_until 20 "the fast path to be in use" mode_is "$1"
    check_eq "cls_bpf filters on in0 ($1)" "$([ "$1" = tc-legacy ] && echo 1 || echo 0)" "$(ingress_filters)"
    relay_call ResetStats
    send_and_count "$1-before" "$PACKETS"
    wait_rule_property r1 Packets "t $PACKETS"
    local before_index before_program
    before_index=$(ip -n "$(ns_name relay)" -o link show dev in0 | cut -d: -f1)
    before_program=$(relay_stat workers.0.fast_path.program_id)
    ip -n "$(ns_name relay)" link del in0 || die "cannot delete in0"
    wait_rule_property r1 State 's "waiting for interface"' 10
    veth_add src eth0 relay in0
    addr_add src eth0 192.0.2.2/24
    addr_add relay in0 192.0.2.1/24
    ip -n "$(ns_name src)" route add 239.0.0.0/8 dev eth0
    full_checksums src eth0
    check_eq "in0 has a new ifindex" 1 "$([ "$(ip -n "$(ns_name relay)" -o link show dev in0 | cut -d: -f1)" != \
        "$before_index" ] && echo 1)"
    wait_rule_property r1 State 's "active"' 20
    wait_until 20 "the fast path back on the new in0" mode_is "$1"
    if [ "$1" = tc-legacy ]; then
        check_eq "our filter on the new in0" "$OUR_PREF $HANDLE_MADE $(relay_stat workers.0.fast_path.program_id)" \
            "$(our_filter)"
    else
        check_eq "tcx programs on the new in0" 1 "$(tcx_programs)"
    fi
    send_and_count "$1-after" "$PACKETS"
    wait_rule_property r1 Packets "t $((2 * PACKETS))"
    check_eq "r1 path after the re-creation ($1)" "$1" "$(relay_stat rules.name=r1.path)"
    check_eq "a new program on the new in0 ($1)" 1 \
        "$([ "$(relay_stat workers.0.fast_path.program_id)" != "$before_program" ] && echo 1)"
    # Both programs' shares: the first's was carried when its worker stopped.
    check_eq "r1 fast-path packets, both programs ($1)" "$((2 * PACKETS))" \
        "$(relay_stat rules.name=r1.fast_path.packets)"
    check_eq "out1 packets, both programs ($1)" "$((2 * PACKETS))" "$(relay_stat rules.name=r1.outputs.1.packets)"
    check_eq "frames that reached the worker ($1)" 0 "$(relay_stat workers.0.ingress.frames)"
    mcrd_stop || die "mcrd did not exit cleanly"
    check_eq "filters on in0 after mcrd's stop ($1)" 0 "$(ingress_filters)"
    check_eq "tcx programs on in0 after mcrd's stop ($1)" 0 "$(tcx_programs)"
}
recreate_case tc-legacy
log "--- a tc-legacy filter left by an mcrd killed -9, then mcrd in mode tc: the filter gives way to a tcx link"
mcrd_start relay --fast-path-attach tc-legacy
wait_until 20 "the fast path to be in use" mode_is tc-legacy
WORKER=$(relay_call ListWorkers | awk '{print $NF}')
kill -KILL "$MCRD_PID"
wait_until 5 "the worker to follow mcrd" process_gone "$WORKER"
check_eq "filters on in0's ingress after mcrd's kill -9" 1 "$(ingress_filters)"
recreate_case tc

finish "tc-legacy: $PACKETS relayed by the filter, $CRASH_PACKETS across a worker kill -9 and $RESTART_PACKETS across an mcrd kill -9 and restart at $CRASH_RATE pkt/s without loss, no filter or qdisc of ours left behind, a foreign filter respected; in0 re-created gets its program back in both attach modes with exact totals"
