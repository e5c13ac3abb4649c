# Talking to the relay inside the booted container (sourced by tests that
# need a running mcrd): D-Bus calls as any user, rule counts, rule adds.

relay_dest=org.mcr.Relay
relay_path=/org/mcr/Relay
relay_iface=org.mcr.Relay.Manager

# relay_call_as USER METHOD [SIGNATURE ARGS...]: busctl call, output and status.
relay_call_as() {
    local user=$1
    shift
    if [[ "$user" == root ]]; then
        sys_exec busctl call --timeout=30 "$relay_dest" "$relay_path" "$relay_iface" "$@" 2>&1
    else
        sys_as "$user" busctl call --timeout=30 "$relay_dest" "$relay_path" "$relay_iface" "$@" 2>&1
    fi
}

# relay_rule_count: number of rules ListRules returns (empty on failure).
relay_rule_count() {
    relay_call_as root ListRules | awk 'NR == 1 && $1 ~ /^a\(/ { print $2 }'
}

# relay_add_rule_as USER NAME IN_IF GROUP PORT OUT_IF OUT_GROUP OUT_PORT TTL
relay_add_rule_as() {
    relay_call_as "$1" AddRule 'sssqsa(ssqy)' "$2" "$3" "$4" "$5" "" 1 "$6" "$7" "$8" "$9"
}

# relay_stream SRC_NS DST_NS GROUP PORT OUT_GROUP OUT_PORT COUNT RATE:
# receive on dst0 in DST_NS while sending COUNT packets from src0; prints the
# receiver's JSON. The receiver ends by itself once all COUNT arrived; a
# stream short of that (what a fault lost) is ended RELAY_RECV_GRACE_S after
# the sender and the event (relay_stream_with_event) are done, rather than at
# its --duration bound of COUNT/RATE + 20 s: waiting out that bound took 20 s
# of every link fault (2026-12-05). The grace covers what a restarted worker
# still forwards from its socket's queue; a worker up later than that shows
# as loss. RELAY_SRC_IF / RELAY_DST_IF name other interfaces than src0 / dst0.
RELAY_RECV_GRACE_S=${RELAY_RECV_GRACE_S:-5}
relay_stream() {
    local src=$1 dst=$2 group=$3 port=$4 out_group=$5 out_port=$6 count=$7 rate=$8
    local ready=/run/mcrt-ready-$$-$RANDOM duration=$(( count / rate + 20 )) recv_pid deadline
    local pidfile=/run/mcrt-recv-$$-$RANDOM.pid
    # sh records the receiver's PID (as the container sees it) and execs it.
    sys_exec ip netns exec "$dst" sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
        mcrgen recv --group "$out_group" --port "$out_port" --interface "${RELAY_DST_IF:-dst0}" \
        --duration "$duration" --expect "$count" --json --ready-file "$ready" >"$BOOT_DIR/recv.json" 2>"$BOOT_DIR/recv.err" &
    recv_pid=$!
    sys_wait_for 10 test -e "$ready"
    # relay_stream_with_event's event starts with the sender, not before.
    if ((${#relay_event[@]})); then
        (sleep "$relay_event_delay"; "${relay_event[@]}") >"$BOOT_DIR/event.log" 2>&1 &
        relay_event_pid=$!
    fi
    sys_exec ip netns exec "$src" mcrgen send --group "$group" --port "$port" --interface "${RELAY_SRC_IF:-src0}" \
        --rate "$rate" --size 200 --count "$count" --json >"$BOOT_DIR/send.json" 2>&1
    if [[ -n "$relay_event_pid" ]]; then
        wait "$relay_event_pid"
        relay_event_pid=
    fi
    deadline=$((SECONDS + RELAY_RECV_GRACE_S))
    while kill -0 "$recv_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    # SIGTERM ends mcrgen's receive early; it still writes its report.
    kill -0 "$recv_pid" 2>/dev/null && sys_exec sh -c 'kill -TERM "$(cat "$0")"' "$pidfile"
    wait "$recv_pid"
    sys_exec rm -f "$pidfile" "$ready"
    cat "$BOOT_DIR/recv.json"
}

# relay_stream_with_event DELAY CMD... -- ARGS OF relay_stream: the stream,
# with CMD run in the background DELAY s after the sender starts (output in
# $BOOT_DIR/event.log); prints the receiver's JSON once both are done.
relay_event=()
relay_event_delay=0
relay_event_pid=
relay_stream_with_event() {
    relay_event_delay=$1
    shift
    relay_event=()
    while [[ $# -gt 0 && "$1" != -- ]]; do relay_event+=("$1"); shift; done
    shift
    relay_stream "$@"
    relay_event=()
}

# relay_stat PATH: one value of GetStats' JSON at a dotted json_get PATH
# (e.g. rules.name=video1.outputs.0.packets); empty if it cannot be read.
relay_stat() {
    sys_exec busctl --timeout=30 --json=short call "$relay_dest" "$relay_path" "$relay_iface" GetStats 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])' 2>/dev/null | json_get - "$1" 2>/dev/null
}

# relay_wait_stat SECONDS VALUE PATH: until GetStats shows VALUE at PATH
# (workers report their counters once a second), at most SECONDS; prints
# the last value read, for the caller's check.
relay_wait_stat() {
    local want=$2 path=$3
    relay_stat_is() { [[ "$(relay_stat "$path")" == "$want" ]]; }
    poll_until "$1" relay_stat_is || true
    relay_stat "$path"
}

# relay_restart_buffer_ok: 0 if net.core.rmem_max lets mcrd's 16 MiB ingress
# buffer hold the stream across a worker restart (sysctl.d/50-mcrd.conf sets
# 32 MiB; the sysctl is global, so the container sees the host's value);
# otherwise prints why restart losses are not asserted and returns 1.
relay_restart_buffer_ok() {
    local max
    max=$(sys_exec sysctl -n net.core.rmem_max)
    ((max >= 16777216)) && return 0
    echo "# net.core.rmem_max is $max (< 16 MiB): a worker restart overflows the ingress buffer; restart losses printed, not asserted"
    return 1
}
