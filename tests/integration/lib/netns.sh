# The one network-namespace fixture every integration test sources: unique
# namespaces, veth pairs, background processes, bounded waits, and a trap
# that removes all of it (by name and by PID) however the test ends.
#
# Usage (in a test):  . "$(dirname "$0")/lib/netns.sh"
#   ns_create relay                 -> namespace "mcrt-<pid>-relay"
#   veth_add src src0 relay in0 [MTU]
#   addr_add relay in0 192.0.2.1/24
#   ns_exec relay ip -br addr
#   bg_start relay LOG cmd...       -> $BG_PID, killed at exit
# Exit status: 0 pass, 1 fail, 77 skip (the vocabulary: tests/lib/check.sh).
# A failed test prints the tail of every log/JSON file it made; with
# MCRT_KEEP_LOGS=1 the scratch directory is kept instead.

set -eu -o pipefail

MCRT_PREFIX="mcrt-$$-"
MCRT_NAMESPACES=()
MCRT_PIDS=()
MCRT_TMPDIR=""
MCRT_PYTHON=${MCRT_PYTHON:-/usr/bin/python3}   # the interpreter that has scapy
MCRT_KILL_GRACE_S=3
BG_PID=""

# log, skip, die, fail, ok, check_*, finish, wait_until, poll_until, json_get:
# the shared vocabulary of every shell tier.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../lib" && pwd)/check.sh"

require_root() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, veth, AF_PACKET)"
}

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || skip "'$tool' is not installed"
    done
}

# A file path inside the per-test scratch directory (removed at exit).
scratch() { printf '%s/%s' "$MCRT_TMPDIR" "$1"; }

ns_name() { printf '%s%s' "$MCRT_PREFIX" "$1"; }

ns_exec() {
    local ns=$1; shift
    ip netns exec "$(ns_name "$ns")" "$@"
}

# A namespace with loopback up and reverse-path filtering off (forwarded
# streams keep their original, off-link source address; a new netns inherits
# the host's rp_filter otherwise) and IP forwarding off (only the relay under
# test forwards; bench/ turns it on for the kernel case).
ns_create() {
    local ns
    ns=$(ns_name "$1")
    ip netns add "$ns" || die "cannot create namespace $ns"
    MCRT_NAMESPACES+=("$ns")
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.ip_forward=0 >/dev/null
}

# veth_add NS_A IF_A NS_B IF_B [MTU]: a veth pair between two namespaces, up.
veth_add() {
    local ns_a ns_b mtu=${5:-1500}
    ns_a=$(ns_name "$1"); ns_b=$(ns_name "$3")
    ip link add "$2" netns "$ns_a" mtu "$mtu" type veth peer name "$4" netns "$ns_b" mtu "$mtu" \
        || die "cannot create veth $1/$2 <-> $3/$4"
    ip -n "$ns_a" link set "$2" up
    ip -n "$ns_b" link set "$4" up
}

# addr_add NS IF CIDR: addresses only from the documentation ranges.
addr_add() {
    case "$3" in
        192.0.2.*|198.51.100.*|203.0.113.*|2001:db8:*) ;;
        *) die "addr_add: $3 is not a documentation address" ;;
    esac
    ip -n "$(ns_name "$1")" addr add "$3" dev "$2" nodad 2>/dev/null || ip -n "$(ns_name "$1")" addr add "$3" dev "$2"
}

# full_checksums NS IF: the kernel fills in UDP checksums before frames leave
# IF. Without it a local sender's veth frames carry only the pseudo-header
# sum (checksum offload, CHECKSUM_PARTIAL); frames from a physical network
# always carry the full sum, and that is what the relay tests model.
full_checksums() {
    ns_exec "$1" ethtool -K "$2" tx off >/dev/null || die "cannot turn off tx checksum offload on $1/$2"
}

mac_of() { ip -n "$(ns_name "$1")" -br link show dev "$2" | awk '{print $3}'; }

# neigh_pin NS IF ADDR PEER_NS PEER_IF: a permanent ARP entry for ADDR (the
# address of PEER_NS/PEER_IF), so unicast streams never wait on (or lose
# packets queued behind) neighbour resolution.
neigh_pin() {
    ip -n "$(ns_name "$1")" neigh replace "$3" lladdr "$(mac_of "$4" "$5")" dev "$2" nud permanent \
        || die "cannot pin neighbour $3 on $1/$2"
}

# bg_start NS LOG cmd...: runs cmd in NS in the background, output to LOG;
# its PID is in $BG_PID and it is killed at exit if still running.
bg_start() {
    local ns=$1 logfile=$2; shift 2
    ip netns exec "$(ns_name "$ns")" "$@" >"$logfile" 2>&1 &
    BG_PID=$!
    MCRT_PIDS+=("$BG_PID")
}

# wait_pid PID TIMEOUT_S: waits for a background process of ours; returns its
# exit status; fails the test if it is still running after TIMEOUT_S.
wait_pid() {
    local pid=$1 timeout=$2 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || die "process $pid still running after ${timeout}s"
        sleep 0.1
    done
    local status=0
    wait "$pid" || status=$?
    return "$status"
}

# stop_pid PID: SIGTERM, then SIGKILL after a grace period; returns the exit status.
# stop_pid PID [GRACE_S]: SIGTERM, then SIGKILL after GRACE_S seconds
# (default MCRT_KILL_GRACE_S); returns the process's exit status.
stop_pid() {
    local pid=$1 deadline=$((SECONDS + ${2:-$MCRT_KILL_GRACE_S}))
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    return "$status"
}

mcrt_cleanup() {
    local status=$? pid ns
    status=$(check_exit_status "$status")
    trap - EXIT INT TERM
    set +e
    for pid in "${MCRT_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && stop_pid "$pid"
    done
    for ns in "${MCRT_NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    if [ -n "$MCRT_TMPDIR" ] && [ -d "$MCRT_TMPDIR" ]; then
        if [ "$status" -ne 0 ] && [ "$status" -ne 77 ] && [ -n "${MCRT_KEEP_LOGS:-}" ]; then
            log "logs kept in $MCRT_TMPDIR"
        else
            if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
                # Print the logs of a failed run, they are all we get from meson.
                for f in "$MCRT_TMPDIR"/*.log "$MCRT_TMPDIR"/*.json; do
                    [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -n 20 "$f"; } >&2
                done
            fi
            rm -rf "$MCRT_TMPDIR"
        fi
    fi
    exit "$status"
}

mcrt_setup() {
    require_root
    require_tools ip tshark ethtool "$MCRT_PYTHON"
    MCRT_TMPDIR=$(mktemp -d "/tmp/${MCRT_PREFIX}XXXXXX")
    trap mcrt_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

mcrt_setup

# relay_topology SINKS [MTU]: the layout most tests draw at their top:
#   src:eth0 192.0.2.2/24 -- relay:in0 192.0.2.1/24
#   relay:out<i> 198.51.100.<16i+1>/28 -- sink<i>:eth0 198.51.100.<16i+2>/28   (i < SINKS)
# plus a 239.0.0.0/8 route out of src:eth0 so tools without --interface work,
# and full UDP checksums on src:eth0 (see full_checksums).
relay_topology() {
    local sinks=$1 mtu=${2:-1500} i
    ns_create src; ns_create relay
    veth_add src eth0 relay in0 "$mtu"
    addr_add src eth0 192.0.2.2/24
    addr_add relay in0 192.0.2.1/24
    ip -n "$(ns_name src)" route add 239.0.0.0/8 dev eth0
    full_checksums src eth0
    for ((i = 0; i < sinks; i++)); do
        ns_create "sink$i"
        veth_add relay "out$i" "sink$i" eth0 "$mtu"
        addr_add relay "out$i" "198.51.100.$((16 * i + 1))/28"
        addr_add "sink$i" eth0 "198.51.100.$((16 * i + 2))/28"
    done
}

# relay_topology_ipv6 SINKS [MTU]: relay_topology with IPv6 beside IPv4 on
# every link (the IPv4 addresses stay, so one layout serves translation):
#   src:eth0 2001:db8:1::2/64 -- relay:in0 2001:db8:1::1/64
#   relay:out<i> 2001:db8:10<i>::1/64 -- sink<i>:eth0 2001:db8:10<i>::2/64   (i < SINKS <= 10)
# Groups come from ff3e::/16 and ff15::/16; a sender names its interface
# (every interface has its own ff00::/8 route).
relay_topology_ipv6() {
    local sinks=$1 i
    [ "$sinks" -le 10 ] || die "relay_topology_ipv6: at most 10 sinks"
    relay_topology "$@"
    addr_add src eth0 2001:db8:1::2/64
    addr_add relay in0 2001:db8:1::1/64
    for ((i = 0; i < sinks; i++)); do
        addr_add relay "out$i" "2001:db8:10$i::1/64"
        addr_add "sink$i" eth0 "2001:db8:10$i::2/64"
    done
}
