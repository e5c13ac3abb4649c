#!/bin/bash
# The in-kernel fast path, end to end through mcrd: a rule added over D-Bus
# is relayed by the tc program mcrd attaches to in0 (exact counts at both
# sinks, none of the frames reaches the worker's socket, GetStats sums both
# paths); a rule moved to the userspace path (out1 down) and back keeps its
# totals exact over both paths; a worker killed mid-stream at 10 kpps loses
# nothing (mcrd holds the link in spawn mode, as the FD store does for units,
# so the program relays on) and every packet is counted once; mcrd killed -9 takes its workers and so the
# program with it (spawn mode: the loss is logged) and a new mcrd relays
# again; mcrd stopping detaches it (none left behind);
# `--fast-path off` and a program someone else attached first both leave
# the rule on the userspace path, with the reason in GetStats.
#
#   +-------------+          +-----------------------------+          +---------------+
#   | src         |          | relay                       |----------| sink0 eth0    |
#   | eth0        |----------| in0   [tc: mcr_relay]  out0 |          | 198.51.100.2  |
#   | 192.0.2.2   |          | 192.0.2.1              out1 |----------| sink1 eth0    |
#   +-------------+          +-----------------------------+          | 198.51.100.18 |
#   mcrgen send               mcrd (spawn) -> mcrd-worker              +---------------+
#   239.1.1.1:5000            r1: -> out0 239.2.2.2:6000, out1 239.2.2.3:6001
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker
find_binary MCRCTL src/mcrctl/mcrctl
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
[ -x "$BPFTOOL" ] || skip "bpftool not installed"
[ "${MCRD_TEST_FAST_PATH:-auto}" = auto ] || skip "the fast path is forced off (MCRD_TEST_FAST_PATH)"

readonly PACKETS=3000 RATE=3000 SIZE=200 CRASH_RATE=10000 CRASH_PACKETS=10000
bus_setup
relay_topology 2

# Programs named mcr_relay on in0's tcx ingress: one while mcrd's link holds
# it. Only this test's in0: `bpftool prog show` would also list the programs
# of a test running beside this one (the system tier's mcrd, for one).
relay_programs() {
    local id count=0
    for id in $(ns_exec relay "$MCRT_PYTHON" "$MCRT_LIB_DIR/tcx_programs.py" in0); do
        # Captured whole, not piped to grep -q: under pipefail, grep leaving
        # at the first line's match can fail bpftool's next write, and the
        # program went uncounted ("expected '1', got '0'", 2026-12-05).
        [[ "$("$BPFTOOL" prog show id "$id" 2>/dev/null)" == *" name mcr_relay "* ]] && count=$((count + 1))
    done
    echo "$count"
}
# Whether the kernel still holds program $1 (attached or not).
program_exists() { "$BPFTOOL" prog show id "$1" >/dev/null 2>&1; }
fast_path_mode() { relay_stat workers.0.fast_path.mode; }
tc_mode() { [ "$(fast_path_mode)" = tc ]; }
reason_is() { [ "$(relay_stat workers.0.fast_path.reason 2>/dev/null)" = "$1" ]; }
program_freed() { ! program_exists "$1"; }
process_gone() { ! kill -0 "$1" 2>/dev/null; }
# The FAST PATH column of `mcrctl workers` for in0.
ctl_fast_path() {
    MCRCTL_BUS_ADDRESS=$BUS_ADDRESS "$MCRCTL" --no-ask-password --json workers |
        "$MCRT_PYTHON" -c 'import json,sys; w=json.load(sys.stdin)[0]["fast_path"]; print(w["mode"], w["reason"])'
}

# send_and_count NAME COUNT: COUNT packets (TTL 9) src -> relay -> both sinks, exactly.
send_and_count() {
    gen_recv_start sink0 "$1-0" --group 239.2.2.2 --port 6000 --interface eth0 --duration 60 --expect "$2"
    gen_recv_start sink1 "$1-1" --group 239.2.2.3 --port 6001 --interface eth0 --duration 60 --expect "$2"
    gen_send src "$1-tx" --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$2" \
        --ttl 9
    gen_recv_wait "$1-0" || die "sink0 did not get $2 packets ($1)"
    gen_recv_wait "$1-1" || die "sink1 did not get $2 packets ($1)"
    for i in 0 1; do
        check_eq "unique packets at sink$i ($1)" "$2" "$(json_get "$(scratch "$1-$i.json")" unique)"
        check_eq "duplicates at sink$i ($1)" 0 "$(json_get "$(scratch "$1-$i.json")" duplicated)"
    done
}
add_rule() {
    relay_call AddRule 'sssqsa(ssqy)' r1 in0 239.1.1.1 5000 "" 2 out0 239.2.2.2 6000 0 out1 239.2.2.3 6001 0 >/dev/null
    wait_rule_property r1 State 's "active"' 20
}

log "--- the fast path relays a rule added over D-Bus"
mcrd_start relay
add_rule
wait_until 20 "the fast path to be in use" tc_mode
check_eq "one mcr_relay program" 1 "$(relay_programs)"
check_eq "mcrctl workers: fast path" "tc " "$(ctl_fast_path)"
capture_start sink1 eth0 fast-cap "udp port 6001"
send_and_count fast "$PACKETS"
capture_stop fast-cap
# Every copy as the worker would have built it: out1's MAC, the group's MAC,
# the new address and port, TTL 9 - 1, both checksums verified by tshark.
check_eq "frames on sink1 rewritten exactly (tshark)" "$PACKETS" "$(capture_count fast-cap \
    eth.src="$(mac_of relay out1)" eth.dst=01:00:5e:02:02:03 ip.src=192.0.2.2 ip.dst=239.2.2.3 ip.ttl=8 \
    ip.checksum.status=1 udp.dstport=6001 udp.length=$((SIZE + 8)) udp.checksum.status=1)"
wait_rule_property r1 Packets "t $PACKETS"
check_eq "GetStats r1 path" tc "$(relay_stat rules.name=r1.path)"
check_eq "GetStats r1 fast-path packets" "$PACKETS" "$(relay_stat rules.name=r1.fast_path.packets)"
check_eq "GetStats r1 bytes" "$((PACKETS * SIZE))" "$(relay_stat rules.name=r1.bytes)"
for i in 0 1; do
    check_eq "GetStats out$i packets" "$PACKETS" "$(relay_stat rules.name=r1.outputs.$i.packets)"
    check_eq "GetStats out$i fast-path packets" "$PACKETS" "$(relay_stat rules.name=r1.outputs.$i.fast_path.packets)"
    check_eq "GetStats out$i fast-path errors" 0 "$(relay_stat rules.name=r1.outputs.$i.fast_path.errors)"
done
check_eq "rule Drops" "t 0" "$(rule_property r1 Drops)"
# The program ends every frame it relays: the worker's ETH_P_IP socket sits
# after tc and never sees them.
check_eq "frames that reached the worker" 0 "$(relay_stat workers.0.ingress.frames)"
check_eq "frames the program relayed" "$PACKETS" "$(relay_stat workers.0.fast_path.relayed)"

log "--- a rule with \"fast_path\": \"off\" (mcrctl add --fast-path off) stays with the worker"
MCRCTL_BUS_ADDRESS=$BUS_ADDRESS "$MCRCTL" --no-ask-password add r2 --in in0:239.1.1.2:5002 \
    --out out0:239.2.2.4:6004 --fast-path off || die "mcrctl add --fast-path off failed"
wait_rule_property r2 State 's "active"' 20
gen_recv_start sink0 r2 --group 239.2.2.4 --port 6004 --interface eth0 --duration 60 --expect 500
gen_send src r2-tx --group 239.1.1.2 --port 5002 --interface eth0 --rate "$RATE" --size "$SIZE" --count 500
gen_recv_wait r2 || die "sink0 did not get 500 packets for r2"
check_eq "unique packets for r2" 500 "$(json_get "$(scratch r2.json)" unique)"
wait_rule_property r2 Packets "t 500"
check_eq "GetStats r2 path" "userspace off" \
    "$(relay_stat rules.name=r2.path) $(relay_stat rules.name=r2.path_reason)"
check_eq "frames that reached the worker (r2's)" 500 "$(relay_stat workers.0.ingress.frames)"
check_eq "r1 still on the fast path" tc "$(relay_stat rules.name=r1.path)"
relay_call RemoveRule s r2

log "--- out1 down, then up: r1 moves to the userspace path and back, its totals stay exact"
r1_path_is() { [ "$(relay_stat rules.name=r1.path 2>/dev/null)" = "$1" ]; }
ip -n "$(ns_name relay)" link set out1 down
wait_until 20 "r1 to leave the fast path" r1_path_is userspace
check_eq "r1's reason with out1 down" output-interface-down "$(relay_stat rules.name=r1.path_reason)"
check_eq "r1 packets after the move (the fast path's kept)" "$PACKETS" "$(relay_stat rules.name=r1.packets)"
gen_recv_start sink0 moved --group 239.2.2.2 --port 6000 --interface eth0 --duration 60 --expect 500
gen_send src moved-tx --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 500 \
    --ttl 9
gen_recv_wait moved || die "sink0 did not get 500 packets with out1 down"
wait_rule_property r1 Packets "t $((PACKETS + 500))"
check_eq "r1 bytes over both paths" "$(((PACKETS + 500) * SIZE))" "$(relay_stat rules.name=r1.bytes)"
check_eq "out0 packets over both paths" "$((PACKETS + 500))" "$(relay_stat rules.name=r1.outputs.0.packets)"
check_eq "out1 packets (the fast path's, kept)" "$PACKETS" "$(relay_stat rules.name=r1.outputs.1.packets)"
ip -n "$(ns_name relay)" link set out1 up
wait_rule_property r1 State 's "active"' 20
wait_until 20 "r1 back on the fast path" r1_path_is tc
send_and_count back 500
wait_rule_property r1 Packets "t $((PACKETS + 1000))"
check_eq "out0 packets after the way back" "$((PACKETS + 1000))" "$(relay_stat rules.name=r1.outputs.0.packets)"
check_eq "out1 packets after the way back" "$((PACKETS + 500))" "$(relay_stat rules.name=r1.outputs.1.packets)"
check_eq "r1 fast-path packets (this installation's)" 500 "$(relay_stat rules.name=r1.fast_path.packets)"
MOVED=1000

log "--- worker killed mid-stream at $CRASH_RATE pkt/s: the program relays on, the new worker continues its counters"
PROGRAM=$(relay_stat workers.0.fast_path.program_id)
FRAMES_BEFORE=$(relay_stat workers.0.ingress.frames)
FIRST_PID=$(relay_call ListWorkers | awk '{print $NF}')
gen_recv_start sink0 crash-0 --group 239.2.2.2 --port 6000 --interface eth0 --duration 60 --expect "$CRASH_PACKETS"
gen_recv_start sink1 crash-1 --group 239.2.2.3 --port 6001 --interface eth0 --duration 60 --expect "$CRASH_PACKETS"
bg_start src "$(scratch crash-tx.log)" "$MCRGEN" send --group 239.1.1.1 --port 5000 --interface eth0 \
    --rate "$CRASH_RATE" --size "$SIZE" --count "$CRASH_PACKETS"
SENDER=$BG_PID
sleep 0.3
kill -KILL "$FIRST_PID"
wait_pid "$SENDER" 20 || die "the sender did not finish"
for i in 0 1; do
    gen_recv_wait "crash-$i" || die "sink$i did not get $CRASH_PACKETS packets across the crash"
    check_eq "unique packets at sink$i (crash)" "$CRASH_PACKETS" "$(json_get "$(scratch "crash-$i.json")" unique)"
    check_eq "duplicates at sink$i (crash)" 0 "$(json_get "$(scratch "crash-$i.json")" duplicated)"
done
wait_until 20 "the fast path to be back" tc_mode
wait_rule_property r1 Packets "t $((PACKETS + MOVED + CRASH_PACKETS))"
check_eq "one mcr_relay program after the restart" 1 "$(relay_programs)"
check_eq "the same program after the restart" "$PROGRAM" "$(relay_stat workers.0.fast_path.program_id)"
check_eq "frames that reached a worker across the crash (none new)" "$FRAMES_BEFORE" \
    "$(relay_stat workers.0.ingress.frames)"

log "--- mcrd killed -9 mid-stream (spawn mode): the fast path goes with it; a new mcrd relays again"
# In spawn mode the workers are mcrd's children with PR_SET_PDEATHSIG
# (worker_spawn.cpp): they end with it, the last fd of the tcx link closes,
# and the kernel detaches the program. Nothing relays until mcrd is back:
# the packets sent meanwhile are lost (logged, not a limit). Under systemd
# the worker units and their FD store outlive mcrd.service (system tier).
SECOND_PID=$(relay_call ListWorkers | awk '{print $NF}')
gen_recv_start sink0 mcrd-kill --group 239.2.2.2 --port 6000 --interface eth0 --duration 30 \
    --expect "$CRASH_PACKETS"
bg_start src "$(scratch mcrd-kill-tx.log)" "$MCRGEN" send --group 239.1.1.1 --port 5000 --interface eth0 \
    --rate "$CRASH_RATE" --size "$SIZE" --count "$CRASH_PACKETS"
SENDER=$BG_PID
sleep 0.3 # 3000 packets in before the kill: the fault's timing
kill -KILL "$MCRD_PID"
wait_until 5 "the worker to follow mcrd" process_gone "$SECOND_PID"
wait_until 5 "the program to be freed after mcrd's kill -9" program_freed "$PROGRAM"
check_eq "no mcr_relay program on in0 after mcrd's kill -9" 0 "$(relay_programs)"
wait_pid "$SENDER" 20 || die "the sender did not finish"
gen_recv_wait mcrd-kill 2 || true
log "mcrd kill -9 at $CRASH_RATE pkt/s: $(json_get "$(scratch mcrd-kill.json)" unique) of $CRASH_PACKETS relayed" \
    "(the rest were sent while no mcrd ran)"
mcrd_start relay
wait_rule_property r1 State 's "active"' 20
wait_until 20 "the fast path after mcrd's restart" tc_mode
check_eventually "one mcr_relay program after mcrd's restart" 1 10 relay_programs
PROGRAM=$(relay_stat workers.0.fast_path.program_id)
relay_call ResetStats
send_and_count after-mcrd-kill 1000
wait_rule_property r1 Packets "t 1000"
check_eq "r1 on the fast path after mcrd's restart" tc "$(relay_stat rules.name=r1.path)"

log "--- mcrd stops: its workers go, and so does the program"
mcrd_stop || die "mcrd did not exit cleanly"
check_eq "no mcr_relay program on in0 after the stop" 0 "$(relay_programs)"
wait_until 10 "the program to be freed" program_freed "$PROGRAM"

log "--- --fast-path off: the userspace path, exact, with the reason"
mcrd_start relay --fast-path off
wait_rule_property r1 State 's "active"' 20
wait_until 20 "the worker's first counters" reason_is off
check_eq "fast path mode with --fast-path off" userspace "$(fast_path_mode)"
check_eq "fast path reason with --fast-path off" off "$(relay_stat workers.0.fast_path.reason)"
check_eq "no mcr_relay program" 0 "$(relay_programs)"
relay_call ResetStats
send_and_count off 1000
wait_rule_property r1 Packets "t 1000"
check_eq "frames that reached the worker (off)" 1000 "$(relay_stat workers.0.ingress.frames)"
mcrd_stop || die "mcrd did not exit cleanly"

log "--- someone else's tc program on in0 first: fallback, with the reason"
bg_start relay "$(scratch foreign.log)" "$MCRT_PYTHON" "$MCRT_LIB_DIR/foreign_tc.py" in0 --seconds 120 \
    --ready-file "$(scratch foreign.ready)"
FOREIGN_PID=$BG_PID
wait_until 10 "the foreign program to be attached" test -s "$(scratch foreign.ready)"
mcrd_start relay
wait_rule_property r1 State 's "active"' 20
wait_until 20 "the refusal to show" reason_is foreign-program
check_eq "fast path mode beside a foreign program" userspace "$(fast_path_mode)"
check_eq "mcrctl workers: fast path beside a foreign program" "userspace foreign-program" "$(ctl_fast_path)"
check_eq "no mcr_relay program beside it" 0 "$(relay_programs)"
relay_call ResetStats
send_and_count foreign 1000
wait_rule_property r1 Packets "t 1000"
grep -q "Fast path not used on in0.*another tc program" "$(scratch "mcrd.$MCRD_STARTS.log")" \
    || die "no journal line for the refusal: $(mcrd_log)"
mcrd_stop || die "mcrd did not exit cleanly"
stop_pid "$FOREIGN_PID" || true

finish "fast path: $PACKETS, out1 down and up ($MOVED over both paths), $CRASH_PACKETS at $CRASH_RATE pkt/s (worker kill -9) relayed in the kernel exactly, detached after mcrd kill -9 and on stop; off and foreign-program fall back exactly"
