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
readonly BENCH_INPUT_GROUP=239.1.1.1 BENCH_INPUT_PORT=5000 BENCH_SOURCE=192.0.2.2

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
        none) echo "relay in0 $BENCH_INPUT_GROUP $BENCH_INPUT_PORT" ;;
        *) echo "sink$2 eth0 239.2.2.$(($2 + 1)) 6000" ;;
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
        mcrd|mcrd-rtp) require_worker ;;
        fastpath) require_worker; find_binary MCRD src/supervisor/mcrd; find_binary MCRCTL src/mcrctl/mcrctl ;;
    esac
}

relay_start_none() { RELAY_PIDS=(); }

relay_start_mcrd() {
    local sinks=$1 outputs="" i
    for ((i = 0; i < sinks; i++)); do outputs+=" out=out$i:239.2.2.$((i + 1)):6000"; done
    # The userspace worker's row: the fast path has a row of its own (fastpath).
    MCRD_TEST_FAST_PATH=off worker_start relay bench_worker in0 \
        "name=bench in=in0:$BENCH_INPUT_GROUP:$BENCH_INPUT_PORT$outputs"
    RELAY_PIDS=("${MCRT_JOBS[bench_worker]}")
}

# The same worker with the rule's "inspect": "rtp" (stream health; the
# sender puts an RTP header before mcrgen's, trial() passes --rtp): the cost
# of inspection on the userspace path, where it runs.
relay_start_mcrd-rtp() {
    local sinks=$1 outputs="" i
    for ((i = 0; i < sinks; i++)); do outputs+=" out=out$i:239.2.2.$((i + 1)):6000"; done
    MCRD_TEST_FAST_PATH=off worker_start relay bench_worker in0 \
        "name=bench in=in0:$BENCH_INPUT_GROUP:$BENCH_INPUT_PORT$outputs inspect=rtp"
    RELAY_PIDS=("${MCRT_JOBS[bench_worker]}")
}

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

relay_start() {
    local kind=$1 sinks=$2
    "relay_start_$kind" "$sinks"
}

relay_stop() {
    local pid
    for pid in "${RELAY_PIDS[@]}"; do stop_pid "$pid" || true; done
    RELAY_PIDS=()
    ns_exec relay sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.forwarding=0 >/dev/null
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
