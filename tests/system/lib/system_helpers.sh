# Helpers to act inside the booted container (sourced by boot.sh): run
# commands, run them as a test user, wait for unit states, build veth/netns
# topologies. All waits are bounded.

# sys_exec CMD...: run CMD inside the container as root.
sys_exec() { $E "$@"; }

# sys_as USER CMD...: run CMD inside the container as USER with its groups.
sys_as() {
    local user=$1
    shift
    $E setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
}

# sys_prop UNIT PROPERTY: one property value of a unit.
sys_prop() { $E systemctl show -P "$2" -- "$1" 2>/dev/null; }

# sys_wait_state UNIT STATE DEADLINE_SEC: wait until ActiveState is STATE.
sys_wait_state() {
    local unit=$1 want=$2 deadline=$((SECONDS + $3)) state=
    while ((SECONDS < deadline)); do
        state=$(sys_prop "$unit" ActiveState)
        [[ "$state" == "$want" ]] && return 0
        sleep 0.2
    done
    echo "# $unit: ActiveState '$state', wanted '$want' within $3 s" >&2
    return 1
}

# sys_wait_active UNIT DEADLINE_SEC
sys_wait_active() { sys_wait_state "$1" active "$2"; }

# sys_wait_for DEADLINE_SEC CMD...: retry CMD (inside) until it succeeds.
sys_wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    while ((SECONDS < deadline)); do
        $E "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

# sys_main_pid UNIT: MainPID, as the container's pid namespace numbers it.
sys_main_pid() { sys_prop "$1" MainPID; }

# sys_make_veth_topology PREFIX: inside the container, two stub namespaces
# around the relay's own (the container's) namespace:
#
#   PREFIX-src [src0 192.0.2.1] --- [in0 192.0.2.2]  relay  [out0 198.51.100.1] --- [dst0 198.51.100.2] PREFIX-dst
#
# Sender: `sys_exec ip netns exec PREFIX-src mcrgen send --interface src0 ...`;
# receiver: `... ip netns exec PREFIX-dst mcrgen recv --interface dst0 ...`.
# With RELAY_NS set, in0/out0 go into that namespace instead (for mcrd@NS).
# A topology that cannot be made stops the test (die).
sys_make_veth_topology() {
    sys_veth_topology "$@" || die "cannot make the veth topology $1 (RELAY_NS '${RELAY_NS:-}')"
}
sys_veth_topology() {
    local p=$1 relay=${RELAY_NS:-}
    local in_ns=() ns
    [[ -n "$relay" ]] && in_ns=(ip netns exec "$relay")
    $E ip netns add "$p-src" && $E ip netns add "$p-dst" || return 1
    $E ip link add in0 type veth peer name src0 netns "$p-src" || return 1
    $E ip link add out0 type veth peer name dst0 netns "$p-dst" || return 1
    if [[ -n "$relay" ]]; then
        $E ip link set in0 netns "$relay" && $E ip link set out0 netns "$relay" || return 1
    fi
    $E "${in_ns[@]}" ip addr add 192.0.2.2/24 dev in0 &&
    $E "${in_ns[@]}" ip addr add 198.51.100.1/24 dev out0 &&
    $E "${in_ns[@]}" ip link set in0 up &&
    $E "${in_ns[@]}" ip link set out0 up &&
    $E "${in_ns[@]}" ip link set lo up &&
    $E ip -n "$p-src" addr add 192.0.2.1/24 dev src0 &&
    $E ip -n "$p-dst" addr add 198.51.100.2/24 dev dst0 || return 1
    for ns in "$p-src" "$p-dst"; do
        $E ip -n "$ns" link set lo up || return 1
    done
    $E ip -n "$p-src" link set src0 up && $E ip -n "$p-dst" link set dst0 up &&
    # Multicast leaves through the veth without a default route.
    $E ip -n "$p-src" route add 239.0.0.0/8 dev src0 &&
    $E ip -n "$p-dst" route add 239.0.0.0/8 dev dst0
}
