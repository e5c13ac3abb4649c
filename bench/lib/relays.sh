# The relays bench/run compares, each started in the "relay" namespace of
# relay_topology (tests/integration/lib/netns.sh) and pinned to
# $MCRT_RELAY_CPU:
#   mcrd    mcrd-worker via mcrd-test-launch, 239.1.1.1:5000 -> 239.2.2.<i+1>:6000:
#           the userspace path (the launcher hands over no fast path)
#   fastpath  the same rule through mcrd itself (--bus none, a spawned worker,
#           the rule added with `mcrctl --socket`): the in-kernel fast path
#           (tc), its cost in the relay CPU's softirq time
#   kernel  the kernel's multicast forwarding, routes installed by smcrouted;
#           no rewrite, so sinks listen to 239.1.1.1:5000
#   socat   one socat per sink (socat has one destination), same mapping as mcrd
#   none    no relay: the sinks listen in the relay namespace on in0 itself,
#           one veth hop from the sender (the limit every relay is held to)
# IPv6 (issue 18), each as its IPv4 namesake with [ff3e::1]:5000 in and
# [ff3e::2<i+1>]:6000 out, measured against "mcrd" of the same run:
#   none6 mcrd6 socat6
#   mcrd46  translation: 239.1.1.1:5000 in, [ff3e::2<i+1>]:6000 out (IPv6
#           copies from out<i>'s address 2001:db8:10<i>::1)
#   mcrd64  translation: [ff3e::1]:5000 in, 239.2.2.<i+1>:6000 out
# The worker's fast path, for both families: "tc", "tc6", "tc46" and "tc64"
# are mcrd, mcrd6, mcrd46 and mcrd64 with the launcher attaching the fast
# path (as mcrd's supervisor does), measured against "tc" of the same run.
# Each trial dies unless the worker still reports the rule's path as tc.
# RELAY_PIDS holds the processes whose CPU time is the relay's cost.

RELAY_PIDS=()
# MCRT_REALTIME=1: traffic tools and relay run under SCHED_FIFO, so that on
# a machine busy with other work (builds) the figures are the relay's, not
# the scheduler's. Compare only runs with the same setting.
if [ "${MCRT_REALTIME:-0}" = 1 ]; then
    require_tools chrt
    MCRT_TRAFFIC_PIN+=(chrt -f 10)
    MCRT_RELAY_PIN+=(chrt -f 10)
fi
readonly BENCH_INPUT_GROUP=239.1.1.1 BENCH_INPUT_PORT=5000 BENCH_SOURCE=192.0.2.2 BENCH_INPUT_GROUP6=ff3e::1

# input_group KIND: the group KIND's stream is sent to.
input_group() {
    case $1 in
        none6|mcrd6|mcrd64|socat6|tc6|tc64) echo "$BENCH_INPUT_GROUP6" ;;
        *) echo "$BENCH_INPUT_GROUP" ;;
    esac
}

# output_group KIND I: the group sink I listens on (relays that rewrite).
output_group() {
    case $1 in
        mcrd6|mcrd46|socat6|tc6|tc46) echo "ff3e::2$(($2 + 1))" ;;
        *) echo "239.2.2.$(($2 + 1))" ;;
    esac
}

# steer_receive_work: a veth receives on the CPU that transmitted, so without
# help the relay's whole receive path (AF_PACKET delivery, the kernel's
# forwarding) would run in the sender's softirq on the traffic CPU. RPS moves
# the relay's ingress processing to the relay CPU and the sinks' to the
# traffic CPU, so CPU 1 is the relay box and CPU 0 the rest of the network.
# BENCH_INGRESS=napi (experimental): the relay's in0 receives through the
# veth's own NAPI (GRO on) in a threaded-NAPI kernel thread pinned to the
# relay CPU instead of RPS, like a NIC whose NAPI runs on the relay box.
steer_receive_work() {
    local i
    if [ "${BENCH_INGRESS:-rps}" = napi ]; then
        napi_thread_on relay in0 "$MCRT_RELAY_CPU"
    else
        set_rps relay in0 "$MCRT_RELAY_CPU"
    fi
    for ((i = 0; i < 3; i++)); do set_rps "sink$i" eth0 "$MCRT_TRAFFIC_CPU"; done
}

BENCH_NAPI_PIDS=()
# napi_thread_on NS IF CPU: GRO on (veth then receives through its NAPI),
# threaded NAPI, and the new napi/ kernel threads pinned to CPU.
napi_thread_on() {
    local before pid
    before=$(pgrep '^napi/' | sort) || true
    ns_exec "$1" ethtool -K "$2" gro on >/dev/null || die "cannot turn GRO on for $1/$2"
    ns_exec "$1" sh -c "echo 1 > /sys/class/net/$2/threaded" || die "no threaded NAPI on $1/$2"
    sleep 0.2
    for pid in $(comm -13 <(echo "$before") <(pgrep '^napi/' | sort || true)); do
        taskset -p -c "$3" "$pid" >/dev/null || die "cannot pin NAPI thread $pid"
        BENCH_NAPI_PIDS+=("$pid")
        log "NAPI thread $pid ($(cat "/proc/$pid/comm")) of $1/$2 pinned to CPU $3"
    done
}

# set_rps NS IF CPU
set_rps() {
    ns_exec "$1" sh -c "printf '%x' $((1 << $3)) > /sys/class/net/$2/queues/rx-0/rps_cpus" \
        || die "cannot set RPS on $1/$2"
}

# sink_endpoint KIND I: "NAMESPACE INTERFACE GROUP PORT" sink I listens on.
sink_endpoint() {
    case $1 in
        kernel) echo "sink$2 eth0 $BENCH_INPUT_GROUP $BENCH_INPUT_PORT" ;;
        none|none6) echo "relay in0 $(input_group "$1") $BENCH_INPUT_PORT" ;;
        *) echo "sink$2 eth0 $(output_group "$1" "$2") 6000" ;;
    esac
}

# relay_unavailable KIND: why KIND cannot run on this machine (nothing if it can).
relay_unavailable() {
    if [ "$1" = kernel ] && ! ns_exec relay test -e /proc/net/ip_mr_vif; then
        echo "this kernel has no multicast routing (CONFIG_IP_MROUTE): no kernel MFC rows"
    fi
}

# relay_require KIND: the binaries KIND runs (found through MCRT_BUILD_DIR).
relay_require() {
    case $1 in
        mcrd|mcrd-rtp|mcrd6|mcrd46|mcrd64|tc|tc6|tc46|tc64) require_worker ;;
        fastpath) require_worker; find_binary MCRD src/supervisor/mcrd; find_binary MCRCTL src/mcrctl/mcrctl ;;
    esac
}

relay_start_none() { RELAY_PIDS=(); }

# The IPv6 rows need IPv6 where their frames are sent from: src's eth0 for
# every one (count_at_interfaces_only turned it off), and the relay's
# outputs for socat6 (it sends through the stack) and mcrd46 (the copies'
# source address). The sinks stay without IPv6 (frames are counted at the
# interface, or received by a socket joined on a link-local-only eth0).
# Neighbour discovery and MLD reports of an interface just enabled settle
# before the first trial.
BENCH_IPV6_ON=()
bench_ipv6_on() {
    local sinks=$1 outputs=$2 i
    ipv6_enable src eth0 2001:db8:1::2/64
    ipv6_enable relay in0 2001:db8:1::1/64
    if [ "$outputs" = outputs ]; then
        for ((i = 0; i < sinks; i++)); do ipv6_enable relay "out$i" "2001:db8:10$i::1/64"; done
    fi
    sleep 2
}

# ipv6_enable NS IF CIDR: IPv6 on (again) with the address, undone by relay_stop.
ipv6_enable() {
    ns_exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0" >/dev/null || die "cannot enable IPv6 on $1/$2"
    ip -n "$(ns_name "$1")" addr replace "$3" dev "$2" nodad || die "cannot add $3 to $1/$2"
    BENCH_IPV6_ON+=("$1 $2")
}

# bench_ipv6_off: IPv6 off again where bench/run counts frames (it removes
# the addresses too); in0 only loses its address.
bench_ipv6_off() {
    local entry ns iface
    for entry in "${BENCH_IPV6_ON[@]}"; do
        read -r ns iface <<<"$entry"
        if [ "$BENCH_COUNT" = interface ] && [ "$iface" != in0 ]; then
            ns_exec "$ns" sysctl -qw "net.ipv6.conf.$iface.disable_ipv6=1" >/dev/null
        elif [ "$iface" = in0 ]; then
            ip -n "$(ns_name "$ns")" addr flush dev in0 scope global to 2001:db8::/32 2>/dev/null || true
        fi
    done
    BENCH_IPV6_ON=()
}

relay_start_none6() { RELAY_PIDS=(); bench_ipv6_on "$1" no-outputs; }

# bench_worker_start INPUT KIND SINKS [RULE OPTIONS]: the worker with one
# rule from INPUT to a group per sink, on the userspace path alone or, for
# the tc rows, with the fast path attached.
bench_worker_start() {
    local input=$1 kind=$2 sinks=$3 options=${4:-} outputs="" i group fast_path=off
    for ((i = 0; i < sinks; i++)); do
        group=$(output_group "$kind" "$i")
        [[ $group == *:* ]] && group="[$group]"
        outputs+=" out=out$i:$group:6000"
    done
    [[ $input == *:* ]] && input="[$input]"
    # The mcrd rows are the userspace path; the tc rows take the launcher's
    # default (an empty MCRD_TEST_FAST_PATH): the fast path, or worker_start
    # dies.
    [[ $kind != tc* ]] || fast_path=""
    # worker_start waits for the stats file: the previous row's worker left
    # one under the same name, and its fast path mode.
    rm -f "$(scratch bench_worker.stats.json)"
    MCRD_TEST_FAST_PATH=$fast_path worker_start relay bench_worker in0 \
        "name=bench in=in0:$input:$BENCH_INPUT_PORT$outputs${options:+ $options}"
    RELAY_PIDS=("${MCRT_JOBS[bench_worker]}")
    relay_check "$kind"
}

# relay_check KIND: a tc row whose rule the worker no longer relays on the
# fast path would measure the userspace path under the fast path's name.
relay_check() {
    local path
    [[ $1 == tc* ]] || return 0
    path=$(worker_stat bench_worker rules.name=bench.path) || path="(unreadable)"
    [ "$path" = tc ] || die "$1: the worker relays rule bench on the $path path, not tc: $(worker_stat bench_worker rules.name=bench.path_reason)"
}

relay_start_mcrd() { bench_worker_start "$BENCH_INPUT_GROUP" mcrd "$1"; }
relay_start_mcrd6() { bench_ipv6_on "$1" no-outputs; bench_worker_start "$BENCH_INPUT_GROUP6" mcrd6 "$1"; }
relay_start_mcrd46() { bench_ipv6_on "$1" outputs; bench_worker_start "$BENCH_INPUT_GROUP" mcrd46 "$1"; }
relay_start_mcrd64() { bench_ipv6_on "$1" no-outputs; bench_worker_start "$BENCH_INPUT_GROUP6" mcrd64 "$1"; }
relay_start_tc() { bench_worker_start "$BENCH_INPUT_GROUP" tc "$1"; }
relay_start_tc6() { bench_ipv6_on "$1" no-outputs; bench_worker_start "$BENCH_INPUT_GROUP6" tc6 "$1"; }
relay_start_tc46() { bench_ipv6_on "$1" outputs; bench_worker_start "$BENCH_INPUT_GROUP" tc46 "$1"; }
relay_start_tc64() { bench_ipv6_on "$1" no-outputs; bench_worker_start "$BENCH_INPUT_GROUP6" tc64 "$1"; }

# The same worker with the rule's "inspect": "rtp" (stream health; the
# sender puts an RTP header before mcrgen's, trial() passes --rtp): the cost
# of inspection on the userspace path, where it runs.
relay_start_mcrd-rtp() { bench_worker_start "$BENCH_INPUT_GROUP" mcrd-rtp "$1" inspect=rtp; }

relay_start_fastpath() {
    local sinks=$1 i outs=() socket
    # mcrd runs as root here and spawns its worker as nobody, which must
    # reach the scratch directory's files.
    chmod 0711 "$MCRT_TMPDIR"
    for ((i = 0; i < sinks; i++)); do outs+=(--out "out$i:239.2.2.$((i + 1)):6000:16"); done
    socket=$(scratch fastpath-run/control.sock)
    # A fresh state and config each start: mcrd keeps the rules it was given
    # there, and the next sink count's `add bench` would find the old rule.
    rm -rf "$(scratch fastpath-run)" "$(scratch fastpath-state)" "$(scratch fastpath-etc)"
    mkdir -p "$(scratch fastpath-run)" "$(scratch fastpath-state)" "$(scratch fastpath-etc)"
    bg_start relay "$(scratch fastpath-mcrd.log)" "${MCRT_RELAY_PIN[@]}" "$MCRD" --bus none --allow-root \
        --control-socket "$socket" --state-dir "$(scratch fastpath-state)" --config-dir "$(scratch fastpath-etc)" \
        --runtime-dir "$(scratch fastpath-run)" --worker-mode spawn --worker-binary "$MCRD_WORKER" --fast-path auto
    RELAY_PIDS=("$BG_PID")
    wait_until 15 "mcrd's control socket" test -S "$socket"
    ns_exec relay "$MCRCTL" --socket "$socket" add bench --in "in0:$BENCH_INPUT_GROUP:$BENCH_INPUT_PORT" "${outs[@]}" \
        >/dev/null || die "mcrctl --socket add failed: $(tail -n 5 "$(scratch fastpath-mcrd.log)")"
    wait_until 15 "the fast path on in0" sh -c \
        "ip netns exec '$(ns_name relay)' '$MCRT_PYTHON' '$REPO_DIR/tests/integration/lib/tcx_programs.py' in0 | grep -q ."
    # The worker (spawned by mcrd) fills the maps; its CPU time counts too.
    wait_until 15 "mcrd's worker" pgrep -P "${RELAY_PIDS[0]}" -f mcrd-worker
    RELAY_PIDS+=("$(pgrep -P "${RELAY_PIDS[0]}" -f mcrd-worker | head -n 1)")
    sleep 0.5
}

relay_start_kernel() {
    local sinks=$1 conf outs="" i
    conf=$(scratch smcroute.conf)
    {
        echo "phyint in0 enable"
        for ((i = 0; i < sinks; i++)); do echo "phyint out$i enable"; outs+=" out$i"; done
        echo "mroute from in0 source $BENCH_SOURCE group $BENCH_INPUT_GROUP to$outs"
    } >"$conf"
    # Multicast forwarding needs IP forwarding on; rp_filter is already off.
    ns_exec relay sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.forwarding=1 >/dev/null
    bg_start relay "$(scratch smcroute.log)" "${MCRT_RELAY_PIN[@]}" smcrouted -n -N -f "$conf" \
        -i "mcrt-bench-$$" -P "$(scratch smcroute.pid)" -u "$(scratch smcroute.sock)" -l notice
    RELAY_PIDS=("$BG_PID")
    wait_until 15 "smcrouted to install (S,G)" sh -c \
        "ip -n '$(ns_name relay)' mroute show | grep -q '($BENCH_SOURCE,$BENCH_INPUT_GROUP)'"
}

relay_start_socat() {
    local sinks=$1 i
    RELAY_PIDS=()
    for ((i = 0; i < sinks; i++)); do
        bg_start relay "$(scratch "socat$i.log")" "${MCRT_RELAY_PIN[@]}" socat -u -b 65536 \
            "UDP4-RECV:$BENCH_INPUT_PORT,ip-add-membership=$BENCH_INPUT_GROUP:192.0.2.1,reuseaddr,rcvbuf=16777216" \
            "UDP4-SENDTO:239.2.2.$((i + 1)):6000,ip-multicast-if=198.51.100.$((16 * i + 1)),ip-multicast-ttl=16"
        RELAY_PIDS+=("$BG_PID")
    done
    # socat has no readiness signal: wait for its group membership.
    wait_until 15 "socat to join $BENCH_INPUT_GROUP" sh -c \
        "ip netns exec '$(ns_name relay)' ip maddr show dev in0 | grep -q '$BENCH_INPUT_GROUP'"
    sleep 0.2
}

# socat over IPv6: as socat, hop limit 16 (IPPROTO_IPV6 41, IPV6_MULTICAST_HOPS 18).
relay_start_socat6() {
    local sinks=$1 i
    bench_ipv6_on "$sinks" outputs
    RELAY_PIDS=()
    for ((i = 0; i < sinks; i++)); do
        bg_start relay "$(scratch "socat6-$i.log")" "${MCRT_RELAY_PIN[@]}" socat -u -b 65536 \
            "UDP6-RECV:$BENCH_INPUT_PORT,ipv6-join-group=[$BENCH_INPUT_GROUP6]:in0,reuseaddr,rcvbuf=16777216" \
            "UDP6-SENDTO:[$(output_group socat6 "$i")]:6000,so-bindtodevice=out$i,setsockopt-int=41:18:16"
        RELAY_PIDS+=("$BG_PID")
    done
    wait_until 15 "socat to join $BENCH_INPUT_GROUP6" sh -c \
        "ip -n '$(ns_name relay)' -6 maddr show dev in0 | grep -qw '$BENCH_INPUT_GROUP6'"
    sleep 0.2
}

relay_start() {
    local kind=$1 sinks=$2
    "relay_start_$kind" "$sinks"
}

relay_stop() {
    local pid
    for pid in "${RELAY_PIDS[@]}"; do stop_pid "$pid" || true; done
    RELAY_PIDS=()
    ns_exec relay sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.forwarding=0 >/dev/null
    bench_ipv6_off
}

# relay_cpu_ticks: utime+stime of every relay process and its threads (clock ticks).
relay_cpu_ticks() {
    local pid total=0 fields
    for pid in "${RELAY_PIDS[@]}"; do
        # Fields after the ")" of comm: state is field 3, utime 14, stime 15.
        fields=$(sed 's/.*) //' "/proc/$pid/stat")
        total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
    done
    echo "$total"
}

# softirq_ticks: softirq time of all CPUs (the kernel relay's cost, plus
# every other network activity on the machine), and the time of the bench's
# NAPI threads (BENCH_INGRESS=napi: the receive work softirq did otherwise).
softirq_ticks() {
    local total pid
    total=$(awk '/^cpu / {print $8}' /proc/stat)
    for pid in "${BENCH_NAPI_PIDS[@]}"; do
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}
