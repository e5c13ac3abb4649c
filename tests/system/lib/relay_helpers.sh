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
# receiver's JSON. Bounded: the receiver waits at most COUNT/RATE + 20 s.
relay_stream() {
    local src=$1 dst=$2 group=$3 port=$4 out_group=$5 out_port=$6 count=$7 rate=$8
    local ready=/run/mcrt-ready-$$-$RANDOM duration=$(( count / rate + 20 )) recv_pid
    sys_exec ip netns exec "$dst" mcrgen recv --group "$out_group" --port "$out_port" --interface dst0 \
        --duration "$duration" --expect "$count" --json --ready-file "$ready" >"$BOOT_DIR/recv.json" 2>"$BOOT_DIR/recv.err" &
    recv_pid=$!
    sys_wait_for 10 test -e "$ready"
    sys_exec ip netns exec "$src" mcrgen send --group "$group" --port "$port" --interface src0 \
        --rate "$rate" --size 200 --count "$count" --json >"$BOOT_DIR/send.json" 2>&1
    wait "$recv_pid"
    cat "$BOOT_DIR/recv.json"
}
