#!/bin/bash
# The fast path's tc-legacy attach mode (clsact + cls_bpf, for kernels
# without tcx) under the real systemd, mcrd forced to it by a drop-in:
# mcrd, as user mcrd with only the capabilities its unit grants, attaches
# our filter and the rule is relayed by it exactly (GetStats and mcrctl say
# tc-legacy); a worker killed -9 at 10 kpps is restarted by systemd, loses
# nothing and keeps the same program; "systemctl stop" of the worker unit
# leaves within seconds no filter, no clsact qdisc (mcrd made it) and no
# program or map of ours: mcrd asks systemd for the unit's state once its
# link drops and detaches when the unit is inactive (check_unit_later()).
# A later "systemctl start" of the unit relays on the fast path again.
#
#   mcrt-src [src0] --- [in0 clsact: cls_bpf mcr_relay]  mcrd + worker  [out0] --- [dst0] mcrt-dst
#   239.1.1.1:5000 -----------------------------------------------------> 239.2.2.2:6000
. "$(dirname "$0")/lib/preamble.sh"
command -v tc >/dev/null || skip "tc (iproute2) not installed"
command -v bpftool >/dev/null || skip "bpftool not installed"
system_boot --topology
worker=mcrd-worker@in0.service
# src/fastpath/fast_path.hpp: our slot (priority 0x6d63) and the handle
# that says mcrd made the clsact qdisc.
readonly OUR_PREF=28003 HANDLE_MADE=0x6d637201
# CAP_NET_ADMIN (12), CAP_NET_RAW (13), CAP_BPF (39): units/supervisor-hardening.conf.
readonly MCRD_CAPS=0000008000003000

# "PREF HANDLE ID" of the mcr_relay filter on in0's ingress, "" without one.
our_filter() {
    sys_exec tc filter show dev in0 ingress | awk '/ handle .*mcr_relay:\[/ {
        for (i = 1; i <= NF; i++) { if ($i == "pref") p = $(i + 1); if ($i == "handle") h = $(i + 1); if ($i == "id") d = $(i + 1) }
        print p, h, d }'
}
ingress_filters() { sys_exec tc filter show dev in0 ingress | grep -c ' handle ' || true; }
clsact_on_in0() { sys_exec tc qdisc show dev in0 | grep -c '^qdisc clsact' || true; }
no_filter() { [[ "$(ingress_filters)" == 0 ]]; }
# The kernel is shared with the host (and other tests there): look for
# our program and maps by id, never for any mcr_relay.
prog_exists() { sys_exec bpftool prog show id "$1" >/dev/null 2>&1; }
map_exists() { sys_exec bpftool map show id "$1" >/dev/null 2>&1; }
prog_gone() { ! prog_exists "$1"; }
maps_of() { sys_exec bpftool --json prog show id "$1" | python3 -c 'import json,sys; print(*json.load(sys.stdin).get("map_ids", []))'; }
maps_left() {
    local id left=
    for id in "$@"; do map_exists "$id" && left+="$id "; done
    echo "${left% }"
}
stream() { relay_stream "$p-src" "$p-dst" 239.1.1.1 5000 239.2.2.2 6000 "$1" "$2"; }
received_of() { local n; n=$(json_of "$1" received); echo "${n:-0}"; }
kill_worker() { sys_exec kill -9 "$(sys_main_pid "$worker")"; }
# The FAST-PATH mode of `mcrctl workers` and the PATH of `mcrctl stats` for video1.
ctl_paths() {
    local workers stats
    workers=$(sys_exec mcrctl --json workers) || return 1
    stats=$(sys_exec mcrctl --json stats) || return 1
    echo "$(json_of "$workers" 0.fast_path.mode) $(json_of "$stats" rules.name=video1.path)"
}
mcrd_journal() { sys_exec journalctl -q -o cat -u mcrd.service; }

# --- mcrd forced to tc-legacy by a drop-in (this kernel has tcx) ---
mcrd_bin=$(sys_prop mcrd.service ExecStart | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
[[ -n "$mcrd_bin" ]] || die "cannot read mcrd.service's ExecStart"
sys_exec mkdir -p /run/systemd/system/mcrd.service.d
printf '[Service]\nExecStart=\nExecStart=%s --fast-path-attach tc-legacy\n' "$mcrd_bin" |
    sys_exec tee /run/systemd/system/mcrd.service.d/50-tc-legacy.conf >/dev/null
sys_exec systemctl daemon-reload
check_eq "no clsact on in0 at first" 0 "$(clsact_on_in0)"
sys_exec systemctl start mcrd.socket

# --- a rule: the filter attached by mcrd (user mcrd, its unit's capabilities), traffic on it ---
out=$(relay_add_rule_as root video1 in0 239.1.1.1 5000 out0 239.2.2.2 6000 8); rc=$?
check_eq "AddRule video1 ($out)" 0 "$rc"
sys_wait_active "$worker" 30
check_eq "worker fast path mode" tc-legacy "$(relay_wait_stat 20 tc-legacy workers.0.fast_path.mode)"
program=$(relay_stat workers.0.fast_path.program_id)
check_match "GetStats names the program" '^[1-9][0-9]*$' "$program"
check_eq "our filter: our slot, 'mcrd made the qdisc', the program GetStats names" \
    "$OUR_PREF $HANDLE_MADE $program" "$(our_filter)"
check_eq "filters on in0's ingress" 1 "$(ingress_filters)"
check_eq "clsact qdiscs on in0" 1 "$(clsact_on_in0)"
check_match "the filter's program is mcr_relay" "^$program: sched_cls +name mcr_relay " \
    "$(sys_exec bpftool prog show id "$program" | head -n 1)"
maps=$(maps_of "$program")
check_match "the program's maps" '^[0-9]+( [0-9]+)+$' "$maps"
mcrd_pid=$(sys_main_pid mcrd.service)
check_eq "mcrd runs as user mcrd" "$(sys_exec id -u mcrd)" \
    "$(sys_exec awk '/^Uid:/ { print $2 }' "/proc/$mcrd_pid/status" 2>/dev/null)"
check_eq "mcrd's effective capabilities: its unit's ambient set" "$MCRD_CAPS" \
    "$(sys_exec awk '/^CapEff:/ { print $2 }' "/proc/$mcrd_pid/status" 2>/dev/null)"
check_eq "mcrd.service's AmbientCapabilities" "cap_net_admin cap_net_raw cap_bpf" \
    "$(sys_prop mcrd.service AmbientCapabilities)"
check_match "mcrd's journal: it attached the program" \
    "Fast path attached to in0 \\(tc-legacy, program id $program[,)]" "$(mcrd_journal | grep 'Fast path attached')"
check_eq "mcrctl workers and stats: the attach mode" "tc-legacy tc-legacy" "$(ctl_paths)"

result=$(stream 2000 2000)
echo "# steady stream: $result"
check_eq "2000 packets at 2 kpps cross the relay" 2000 "$(received_of "$result")"
check_eq "no duplicates" 0 "$(json_of "$result" duplicated)"
check_eq "video1's fast-path packets" 2000 "$(relay_wait_stat 10 2000 rules.name=video1.fast_path.packets)"
check_eq "video1's path" tc-legacy "$(relay_stat rules.name=video1.path)"
check_eq "frames the program relayed" 2000 "$(relay_stat workers.0.fast_path.relayed)"
check_eq "frames that reached the worker's socket" 0 "$(relay_stat workers.0.ingress.frames)"

# --- kill -9 of the worker at 10 kpps: systemd restarts it, the filter relays on ---
restarts=$(sys_prop "$worker" NRestarts)
old_pid=$(sys_main_pid "$worker")
result=$(relay_stream_with_event 0.5 kill_worker -- "$p-src" "$p-dst" 239.1.1.1 5000 239.2.2.2 6000 20000 10000)
echo "# kill -9 during a 10 kpps stream: $result"
check_eq "worker restarted once after kill -9" $((restarts + 1)) "$(sys_prop "$worker" NRestarts)"
sys_wait_active "$worker" 10
new_pid=$(sys_main_pid "$worker")
check_eq "a new worker process (pid $new_pid, was $old_pid)" yes "$([[ "$new_pid" != 0 && "$new_pid" != "$old_pid" ]] && echo yes)"
check_eq "packets lost across the worker's kill -9" 0 $((20000 - $(received_of "$result")))
check_eq "no duplicates across the kill" 0 "$(json_of "$result" duplicated)"
check_eq "the same filter and program after the restart" "$OUR_PREF $HANDLE_MADE $program" "$(our_filter)"
check_eq "filters on in0's ingress after the restart" 1 "$(ingress_filters)"
check_eq "video1's fast-path packets after the restart" 22000 \
    "$(relay_wait_stat 10 22000 rules.name=video1.fast_path.packets)"
check_eq "the restarted worker reports the same program" "$program" "$(relay_stat workers.0.fast_path.program_id)"
# mcrd asks systemd 1 s after the link dropped: the unit was back by then.
sleep 1.5
check_eq "the filter is still there once mcrd checked the unit" "$OUR_PREF $HANDLE_MADE $program" "$(our_filter)"

# --- systemctl stop of the worker unit: nothing of the fast path is left ---
stop_start=$(date +%s%3N)
failures_before_stop=$check_failures
sys_exec systemctl stop "$worker"
check_eq "$worker inactive after systemctl stop" inactive "$(sys_prop "$worker" ActiveState)"
poll_until 5 no_filter || true
echo "# filter gone $(($(date +%s%3N) - stop_start)) ms after systemctl stop"
check_eq "filters on in0's ingress within 5 s of the stop" 0 "$(ingress_filters)"
check_eq "clsact qdiscs on in0 (mcrd made it)" 0 "$(clsact_on_in0)"
poll_until 5 prog_gone "$program" || true
check_eq "program $program left in the kernel" "" "$(prog_exists "$program" && echo "$program")"
check_eq "maps of program $program left in the kernel" "" "$(maps_left $maps)"
check_match "mcrd's journal: it detached the program" \
    "Fast path detached from in0 \\(tc-legacy, program id $program\\)" "$(mcrd_journal | grep 'Fast path detached')"
check_eq "$worker still inactive (mcrd does not start it again)" inactive "$(sys_prop "$worker" ActiveState)"
check_eq "rule video1 kept" 1 "$(relay_rule_count)"
if ((check_failures > failures_before_stop)); then
    echo "# journal of mcrd and $worker since the stop:"
    sys_exec journalctl -q -o short-monotonic -u mcrd.service -u "$worker" --since "@${stop_start:0:-3}" | sed 's/^/#   /'
fi

# --- systemctl start of the unit again: a new program, relaying exactly ---
sys_exec systemctl start "$worker"
sys_wait_active "$worker" 10
new_program=
program_changed() { new_program=$(relay_stat workers.0.fast_path.program_id); [[ -n "$new_program" && "$new_program" != "$program" ]]; }
poll_until 10 program_changed || true
check_eq "a new program in our filter after the unit's start" "$OUR_PREF $HANDLE_MADE $new_program" "$(our_filter)"
result=$(stream 1000 2000)
check_eq "1000 packets cross the relay after the unit's start" 1000 "$(received_of "$result")"
check_eq "frames that reached the restarted worker's socket" 0 "$(relay_wait_stat 5 0 workers.0.ingress.frames)"
# A crash of mcrd (and its Restart=) would hide in the results above: the
# ListUnitsByNames query once crashed it right after the stop.
check_eq "mcrd's restarts (none: it did not crash)" 0 "$(sys_prop mcrd.service NRestarts)"
check_eq "mcrd's pid unchanged" "$mcrd_pid" "$(sys_main_pid mcrd.service)"

finish
