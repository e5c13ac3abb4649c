#!/bin/bash
# Soak: a paced stream through two steady rules for MCRD_SOAK_SECONDS (default
# 120; tools/test runs 90 since the IPv6 tiers came, to stay within CI's 25
# minutes; MCRD_SOAK_SECONDS=600 is the 10-minute campaign of tests/README.md)
# while a churn rule is added and the previous one removed every second,
# alternating between the busy ingress in0 and in1. Asserts 0 loss / 0
# duplicates at every sink, GetStats == sink counts (per rule and per
# output), every frame reached each worker's socket (kernel count == sent,
# no kernel drop, nothing unmatched), no worker or supervisor restart,
# bounded RSS growth and no fd growth. Prints one "SOAK ..." line with the
# figures, and each hop's counters (sender link, relay link, socket,
# worker) so that a loss says where it happened. Duration: the soak plus
# ~40 s; receivers are stopped a bounded drain time after the senders end,
# so a lost frame cannot stretch the run. MCRD_SOAK_JOURNAL=FILE keeps the
# container's journal there.
#
#   mcrt-src  [src0] --- [in0]          [out0] --- [dst0] mcrt-dst
#                               mcrd +
#   mcrt-src2 [src1] --- [in1] workers  [out1] --- [dst1] mcrt-dst2
#   steady0 (in0): 239.1.1.1:5000 -> out0 239.2.2.2:6000 + out1 239.2.2.3:6001
#                  (in-kernel fast path)
#   steady1 (in1): 239.1.1.2:5002 -> out0 239.2.2.4:6004 (userspace path: fast_path off)
#
# Rate (MCRD_SOAK_RATE, default 50 000 pps of 64-byte UDP payloads on in0,
# plus a tenth of it on in1): the fan-out doubles in0's egress work, so that
# is 105 000 egress frames a second, half of mcrd's 64-byte lossless rate on
# this 2-vCPU machine type (bench/README.md: ~206 000 frames/s, 1 sink).
. "$(dirname "$0")/lib/preamble.sh"
readonly DURATION=${MCRD_SOAK_SECONDS:-120} RATE=${MCRD_SOAK_RATE:-50000}
[[ "$DURATION" =~ ^[0-9]+$ ]] && ((DURATION >= 30 && DURATION <= 3600)) ||
    { echo "FAIL: MCRD_SOAK_SECONDS must be 30..3600, got '$DURATION'"; exit 1; }
[[ "$RATE" =~ ^[0-9]+$ ]] && ((RATE >= 100 && RATE <= 100000)) ||
    { echo "FAIL: MCRD_SOAK_RATE must be 100..100000, got '$RATE'"; exit 1; }
readonly RATE1=$((RATE / 10)) WARMUP=10 SAMPLE_EVERY=5 DRAIN_SECONDS=15
system_boot --topology

# The second ingress and egress, each with its own stub namespace.
add_veth() {   # add_veth RELAY_IF RELAY_ADDR PEER_IF PEER_ADDR PEER_NS
    sys_exec ip netns add "$5" &&
        sys_exec ip link add "$1" type veth peer name "$3" netns "$5" &&
        sys_exec ip addr add "$2" dev "$1" && sys_exec ip link set "$1" up &&
        sys_exec ip -n "$5" addr add "$4" dev "$3" && sys_exec ip -n "$5" link set lo up &&
        sys_exec ip -n "$5" link set "$3" up && sys_exec ip -n "$5" route add 239.0.0.0/8 dev "$3"
}
add_veth in1 203.0.113.2/25 src1 203.0.113.1/25 "$p-src2" || die "veth in1"
add_veth out1 203.0.113.129/25 dst1 203.0.113.130/25 "$p-dst2" || die "veth out1"

sys_exec systemctl start mcrd.socket
# steady0 and the churn rules run on the in-kernel fast path, steady1 on the
# worker's userspace path (fast_path off): the soak covers both paths, and
# the churn rewrites the fast path's maps under traffic. The 50 kpps stream
# is the fast path's: on a loaded 2-vCPU machine the userspace path's ring
# overflows at that rate (11 566 of 1 500 000 dropped in a 30 s run beside a
# sanitizer test run and a second developer's tests); its lossless rate is
# the benchmark's business (bench/README.md).
out=$(relay_call_as root AddRule 'sssqsa(ssqy)' steady0 in0 239.1.1.1 5000 "" 2 \
    out0 239.2.2.2 6000 8 out1 239.2.2.3 6001 8); rc=$?
check_eq "AddRule steady0, 1->2 fan-out ($out)" 0 "$rc"
out=$(sys_exec mcrctl add steady1 --in in1:239.1.1.2:5002 --out out0:239.2.2.4:6004:8 --fast-path off 2>&1); rc=$?
check_eq "mcrctl add steady1, userspace path ($out)" 0 "$rc"
units=(mcrd.service mcrd-worker@in0.service mcrd-worker@in1.service)
for u in "${units[@]:1}"; do sys_wait_active "$u" 30 || die "$u did not start"; done

# --- receivers and senders, bounded by count and time ---
count0=$((RATE * DURATION)) count1=$((RATE1 * DURATION)) recv_secs=$((DURATION * 2 + 60))
recv_pids=()
recv() {   # recv NS IF GROUP PORT EXPECT NAME
    sys_exec ip netns exec "$1" mcrgen recv --interface "$2" --group "$3" --port "$4" --expect "$5" \
        --duration "$recv_secs" --json --ready-file "/run/soak-ready-$6" >"$BOOT_DIR/$6.json" 2>"$BOOT_DIR/$6.err" &
    recv_pids+=($!)
}
recv "$p-dst" dst0 239.2.2.2 6000 "$count0" sink0
recv "$p-dst2" dst1 239.2.2.3 6001 "$count0" sink1
recv "$p-dst" dst0 239.2.2.4 6004 "$count1" sink2
for s in sink0 sink1 sink2; do sys_wait_for 10 test -e "/run/soak-ready-$s" || die "receiver $s not ready"; done
send() {   # send NS IF GROUP PORT COUNT RATE NAME
    timeout $((DURATION * 2 + 60)) $E ip netns exec "$1" mcrgen send --interface "$2" --group "$3" --port "$4" \
        --count "$5" --rate "$6" --size 64 --json >"$BOOT_DIR/$7.json" 2>&1
}
send "$p-src" src0 239.1.1.1 5000 "$count0" "$RATE" send0 &
send0_pid=$!
send "$p-src2" src1 239.1.1.2 5002 "$count1" "$RATE1" send1 &
send1_pid=$!

# --- churn every second, samples every SAMPLE_EVERY s ---
status_of() { sys_exec awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
fds_of() { sys_exec sh -c "ls /proc/$1/fd | wc -l" 2>/dev/null; }
declare -A pid0 rss_first rss_last fds_first fds_last
for u in "${units[@]}"; do pid0[$u]=$(sys_main_pid "$u"); done
# sample TAG: VmRSS (kB) and fd count of each unit's main process.
sample() {
    local u pid rss fds line="# t=$1 s"
    for u in "${units[@]}"; do
        pid=$(sys_main_pid "$u")
        rss=$(status_of "$pid" VmRSS) fds=$(fds_of "$pid")
        line+=" | ${u%.service} pid $pid rss ${rss:-?} kB fds ${fds:-?} restarts $(sys_prop "$u" NRestarts)"
        if [[ "$2" == first ]]; then rss_first[$u]=$rss fds_first[$u]=$fds; fi
        if [[ "$2" != mid ]]; then rss_last[$u]=$rss fds_last[$u]=$fds; fi
    done
    echo "$line"
}
adds=0 removes=0 add_fail=0 remove_fail=0 prev= first_taken=
t0=$SECONDS
for ((i = 1; i <= DURATION; i++)); do
    # Churn rule i: odd on in0 (the busy worker reconfigures), even on in1.
    ifc=in$(( (i + 1) % 2 ))
    name=churn$i
    if out=$(relay_add_rule_as root "$name" "$ifc" "239.3.$((i / 250 % 250)).$((i % 250 + 1))" 7000 \
        out0 239.4.0.1 7000 8); then
        adds=$((adds + 1))
    else
        add_fail=$((add_fail + 1)); echo "# AddRule $name failed: $out"
    fi
    if [[ -n "$prev" ]]; then
        if out=$(relay_call_as root RemoveRule s "$prev"); then
            removes=$((removes + 1))
        else
            remove_fail=$((remove_fail + 1)); echo "# RemoveRule $prev failed: $out"
        fi
    fi
    prev=$name
    # Samples every SAMPLE_EVERY s; first/last only at odd steps (churn rule
    # on in0) after the warm-up, so both see the same rule set.
    if ((i % SAMPLE_EVERY == 0)); then
        tag=mid
        if ((i % 2 == 1 && i >= WARMUP)); then
            if [[ -z "$first_taken" ]]; then tag=first; first_taken=$i; else tag=last; fi
        fi
        sample "$i" "$tag"
    fi
    # Pace to one step a second; a slow step is not made up twice.
    while ((SECONDS < t0 + i)); do sleep 0.1; done
done
relay_call_as root RemoveRule s "$prev" >/dev/null && removes=$((removes + 1)) || remove_fail=$((remove_fail + 1))

wait "$send0_pid"; wait "$send1_pid"
# Receivers end by themselves once they have their count. One that still
# misses frames DRAIN_SECONDS after the senders ended will not get them:
# stop it (SIGTERM, it still reports) rather than wait out its --duration.
# Each receiver is an mcrgen below the background job we started (the job's
# subshell, then nsenter, which does not pass signals on).
mcrgen_below() {   # mcrgen_below PID: the mcrgen among PID's descendants
    local pid child
    for pid in $(pgrep -P "$1"); do
        [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == mcrgen ]] && { echo "$pid"; return 0; }
        child=$(mcrgen_below "$pid") && { echo "$child"; return 0; }
    done
    return 1
}
deadline=$((SECONDS + DRAIN_SECONDS))
for pid in "${recv_pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "# a receiver still waits ${DRAIN_SECONDS} s after the senders ended: stopping it"
        receiver=$(mcrgen_below "$pid") && kill -TERM "$receiver"
    fi
    wait "$pid"
done
sent0=$(json_get "$BOOT_DIR/send0.json" sent)
sent1=$(json_get "$BOOT_DIR/send1.json" sent)
declare -A got dup
for s in sink0 sink1 sink2; do
    got[$s]=$(json_get "$BOOT_DIR/$s.json" received)
    dup[$s]=$(json_get "$BOOT_DIR/$s.json" duplicated)
    echo "# $s: $(cat "$BOOT_DIR/$s.json")"
done
echo "# senders: $(cat "$BOOT_DIR/send0.json") $(cat "$BOOT_DIR/send1.json")"
for w in in0 in1; do
    echo "# worker $w: kernel $(relay_stat workers.interface=$w.kernel) ingress $(relay_stat workers.interface=$w.ingress)"
done
for l in "$p-src:src0" "$p-src2:src1"; do
    echo "# sender link ${l#*:}: $(sys_exec ip -n "${l%%:*}" -s -s link show "${l#*:}" | tr -s ' \n' ' ')"
done
for l in in0 in1; do echo "# relay link $l: $(sys_exec ip -s -s link show "$l" | tr -s ' \n' ' ')"; done
echo "# softnet_stat: $(tr '\n' ' ' </proc/net/softnet_stat)"
[[ -n "${MCRD_SOAK_JOURNAL:-}" ]] && sys_exec journalctl -o short-precise --no-pager >"$MCRD_SOAK_JOURNAL" 2>&1

# --- assertions ---
# Every packet of each steady stream reached every sink exactly once.
check_eq "in0 sender sent its count" "$count0" "$sent0"
check_eq "in1 sender sent its count" "$count1" "$sent1"
check_eq "sink0 (steady0 out0) received all" "$count0" "${got[sink0]}"
check_eq "sink1 (steady0 out1) received all" "$count0" "${got[sink1]}"
check_eq "sink2 (steady1 out0) received all" "$count1" "${got[sink2]}"
for s in sink0 sink1 sink2; do check_eq "$s: no duplicates" 0 "${dup[$s]}"; done

# GetStats agrees with the sinks after a second of reconfiguration.
check_eventually "GetStats steady0 packets == sent" "$sent0" 15 relay_stat rules.name=steady0.packets
check_eventually "GetStats steady0 out0 packets == sink0" "${got[sink0]}" 15 relay_stat rules.name=steady0.outputs.0.packets
check_eventually "GetStats steady0 out1 packets == sink1" "${got[sink1]}" 15 relay_stat rules.name=steady0.outputs.1.packets
check_eventually "GetStats steady1 packets == sent" "$sent1" 15 relay_stat rules.name=steady1.packets
check_eventually "GetStats steady1 out0 packets == sink2" "${got[sink2]}" 15 relay_stat rules.name=steady1.outputs.0.packets

# Where a loss happened. Each frame a sender sent is either relayed by the
# in-kernel fast path (it then never reaches the worker's socket) or passed
# to the worker's socket (fewer in all: lost on the way to the relay); the
# kernel dropped none of those (receive ring or buffer full: the worker did
# not keep up), the worker read each one and matched it to its rule.
kernel_and_socket() {
    local relayed packets
    relayed=$(relay_stat "workers.interface=$1.fast_path.relayed" 2>/dev/null) || relayed=0
    packets=$(relay_stat "workers.interface=$1.kernel.packets") || return 1
    echo $((${relayed:-0} + packets))
}
check_eq "steady0's path" tc "$(relay_stat rules.name=steady0.path)"
check_eq "steady1's path" userspace "$(relay_stat rules.name=steady1.path)"
for w in "in0 $sent0" "in1 $sent1"; do
    set -- $w
    echo "# worker $1: path $(relay_stat "workers.interface=$1.fast_path.mode" 2>/dev/null || echo unknown)," \
         "fast path relayed $(relay_stat "workers.interface=$1.fast_path.relayed" 2>/dev/null || echo 0)"
    check_eventually "worker $1: frames relayed by the fast path + frames reaching its socket == sent" "$2" 15 \
        kernel_and_socket "$1"
    check_eq "worker $1: kernel drops" 0 "$(relay_stat workers.interface=$1.kernel.drops)"
    check_eq "worker $1: frames the worker read == frames reaching its socket" \
        "$(relay_stat workers.interface=$1.kernel.packets)" "$(relay_stat workers.interface=$1.ingress.frames)"
    check_eq "worker $1: unmatched frames" 0 "$(relay_stat workers.interface=$1.ingress.not_matched)"
done

# Every churn step's add and remove went through.
check_eq "churn adds" "$DURATION" "$adds"
check_eq "churn removes" "$DURATION" "$removes"
check_eq "churn failures" "0 0" "$add_fail $remove_fail"
check_eq "only the steady rules are left" 2 "$(relay_rule_count)"

# Nothing restarted, nothing grew. RSS bound: 2 MiB or 5 %, whichever is
# larger (a reconfiguration allocates rule tables and io_uring buffers that
# the allocator keeps in its arenas; a leak per churn step, 1 kB x 600 steps,
# exceeds it). fds: the same count as after the warm-up, same rule set.
for u in "${units[@]}"; do
    check_eq "$u: NRestarts" 0 "$(sys_prop "$u" NRestarts)"
    check_eq "$u: same main pid" "${pid0[$u]}" "$(sys_main_pid "$u")"
    bound=$(( rss_first[$u] / 20 > 2048 ? rss_first[$u] / 20 : 2048 ))
    check_le "$u: RSS growth ${rss_first[$u]} -> ${rss_last[$u]} kB (bound $bound kB)" "$bound" \
        $(( rss_last[$u] - rss_first[$u] ))
    check_eq "$u: fds after warm-up == at the end" "${fds_first[$u]}" "${fds_last[$u]}"
done

w0=mcrd-worker@in0.service w1=mcrd-worker@in1.service
echo "SOAK ${DURATION}s at $RATE pps: sent $((sent0 + sent1)), delivered" \
    "$((got[sink0] + got[sink1] + got[sink2])) (loss $((2 * sent0 + sent1 - got[sink0] - got[sink1] - got[sink2])))," \
    "churn $adds adds / $removes removes, mcrd RSS ${rss_first[mcrd.service]}->${rss_last[mcrd.service]} kB," \
    "worker RSS in0 ${rss_first[$w0]}->${rss_last[$w0]} kB in1 ${rss_first[$w1]}->${rss_last[$w1]} kB," \
    "fds mcrd ${fds_first[mcrd.service]}->${fds_last[mcrd.service]} in0 ${fds_first[$w0]}->${fds_last[$w0]}" \
    "in1 ${fds_first[$w1]}->${fds_last[$w1]} (first sample t=${first_taken}s)"
finish
