# One measurement for bench/run: send a stream from src through the relay to
# every sink, and report what arrived and what it cost.

readonly BENCH_NS_PER_TICK=$((1000000000 / $(getconf CLK_TCK)))
BENCH_TRIAL=0
# How delivered frames are counted (bench/run --count):
#   interface  the sink interface's rx_packets: frames the relay's veth
#              handed to the sink's input queue, read from the counter after
#              the run, with nothing in the sink doing per-packet work but
#              the stack's early drop (no socket joined the group). Needs
#              nothing else to arrive there: count_at_interfaces_only.
#   receiver   an mcrgen receiver per sink: unique packets (exact, duplicates
#              not counted), but the receivers' own CPU is part of the limit.
BENCH_COUNT=${BENCH_COUNT:-interface}
# How mcrgen sends (bench/run --sender): raw (AF_PACKET frames, a refused
# frame lost as on a wire) or socket (UDP socket).
BENCH_SENDER=${BENCH_SENDER:-raw}

# count_at_interfaces_only NS IFACE...: no IPv6 on these interfaces, so no
# neighbour discovery or MLD frame arrives at a counted interface during a
# trial (the stream is IPv4, and nothing joins an IPv4 group on them).
count_at_interfaces_only() {
    local ns=$1 iface; shift
    for iface in "$@"; do
        ns_exec "$ns" sysctl -qw "net.ipv6.conf.$iface.disable_ipv6=1" >/dev/null \
            || die "cannot disable IPv6 on $ns/$iface"
    done
}

# rx_packets NS IFACE: the interface's receive counter. On a veth it counts
# what the peer's transmit queued to this side's backlog (the frames a full
# backlog refused are rx_dropped, not counted here).
rx_packets() { ns_exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }

# settled_rx_packets NS IFACE: rx_packets once it stops growing (the relay's
# queues drained after the sender ended), polled every 0.1 s for at most 3 s.
settled_rx_packets() {
    local previous current tries
    current=$(rx_packets "$1" "$2")
    for ((tries = 0; tries < 30; tries++)); do
        sleep 0.1
        previous=$current
        current=$(rx_packets "$1" "$2")
        [ "$current" != "$previous" ] || break
    done
    echo "$current"
}

# cpu_times: "user+nice+system softirq idle+iowait ..." per CPU (cpuN lines
# of /proc/stat, clock ticks), one line per CPU.
cpu_times() { awk '/^cpu[0-9]/ {print $1, $2 + $3 + $4, $8, $5 + $6, $7 + $9}' /proc/stat; }

# cpu_load BEFORE AFTER: per CPU, the share of the interval that was process
# time and softirq time, e.g. "cpu0 62% proc 31% softirq, cpu1 ...".
cpu_load() {
    paste -d' ' <(echo "$1") <(echo "$2") | awk '
        { total = ($7 + $8 + $9 + $10) - ($2 + $3 + $4 + $5); if (total <= 0) total = 1
          printf "%s%s %d%% proc %d%% softirq", sep, $1, 100 * ($7 - $2) / total, 100 * ($8 - $3) / total; sep = ", " }'
}

# trial KIND SINKS SIZE RATE SECONDS: RATE 0 = as fast as mcrgen can.
# Sets TRIAL_SENT, TRIAL_DELIVERED (the fewest packets any sink got; unique
# packets with --count receiver), TRIAL_ELAPSED_MS (sender),
# TRIAL_RELAY_TICKS, TRIAL_SOFTIRQ_TICKS, TRIAL_BACKLOG_DROPS, TRIAL_CPU_LOAD.
# Runs in the caller's shell (no subshell) so the fixture tracks every PID,
# and so that relay_check can end the run.
trial() {
    local kind=$1 sinks=$2 size=$3 rate=$4 seconds=$5 i group port
    local tag expect=() bound=() rtp=() sender=()
    # mcrd-rtp inspects RTP: mcrgen's payloads then start with an RTP header.
    [ "$kind" != mcrd-rtp ] || rtp=(--rtp)
    [ "$BENCH_SENDER" != raw ] || sender=(--raw --no-retry)
    BENCH_TRIAL=$((BENCH_TRIAL + 1))
    tag="t$BENCH_TRIAL"
    if [ "$rate" -gt 0 ]; then
        bound=(--count "$((rate * seconds))")
        expect=(--expect "$((rate * seconds))")
    else
        bound=(--duration "$seconds")
    fi
    local ns ifname rx_before=()
    for ((i = 0; i < sinks; i++)); do
        read -r ns ifname group port < <(sink_endpoint "$kind" "$i")
        if [ "$BENCH_COUNT" = receiver ]; then
            gen_recv_start "$ns" "${tag}_$i" --group "$group" --port "$port" --interface "$ifname" \
                --duration "$((seconds + 30))" "${expect[@]}" "${rtp[@]}"
        else
            rx_before[i]=$(rx_packets "$ns" "$ifname")
        fi
    done
    local relay_before softirq_before backlog_before cpu_before
    relay_before=$(relay_cpu_ticks); softirq_before=$(softirq_ticks); backlog_before=$(softnet_drops)
    cpu_before=$(cpu_times)
    gen_send src "${tag}_send" --group "$(input_group "$kind")" --port "$BENCH_INPUT_PORT" --interface eth0 \
        --rate "$rate" --size "$size" "${bound[@]}" "${rtp[@]}" "${sender[@]}"
    TRIAL_CPU_LOAD=$(cpu_load "$cpu_before" "$(cpu_times)")
    TRIAL_DELIVERED=""
    local got
    if [ "$BENCH_COUNT" = receiver ]; then
        # Receivers with --expect end by themselves; give the relay's queues
        # a moment to drain, then stop the rest (they still report).
        for ((i = 0; i < sinks; i++)); do gen_recv_wait "${tag}_${i}" 2 || true; done
    fi
    for ((i = 0; i < sinks; i++)); do
        if [ "$BENCH_COUNT" = receiver ]; then
            got=$(json_get "$(scratch "${tag}_$i.json")" unique)
        else
            read -r ns ifname group port < <(sink_endpoint "$kind" "$i")
            got=$(($(settled_rx_packets "$ns" "$ifname") - rx_before[i]))
        fi
        if [ -z "$TRIAL_DELIVERED" ] || [ "$got" -lt "$TRIAL_DELIVERED" ]; then TRIAL_DELIVERED=$got; fi
    done
    TRIAL_RELAY_TICKS=$(($(relay_cpu_ticks) - relay_before))
    TRIAL_SOFTIRQ_TICKS=$(($(softirq_ticks) - softirq_before))
    backlog_drops "$backlog_before" "$(softnet_drops)"
    { read -r TRIAL_SENT; read -r TRIAL_ELAPSED_MS; } < <(json_get "$(scratch "${tag}_send.json")" sent elapsed_ms)
    # More than was sent: something else reached a counted interface.
    if [ "$TRIAL_DELIVERED" -gt "$TRIAL_SENT" ]; then
        log "  note: a sink counted $TRIAL_DELIVERED frames of $TRIAL_SENT sent (other traffic on the sink interface)"
    fi
    relay_check "$kind"
}

# softnet_drops: packets the kernel dropped because a CPU's input backlog
# (net.core.netdev_max_backlog, where RPS and veth queue frames) was full,
# one count per CPU in the order of /proc/net/softnet_stat (its column 2,
# hex: the CPU whose backlog refused the frame). Machine-wide.
softnet_drops() {
    local _processed dropped _rest counts=()
    while read -r _processed dropped _rest; do counts+=("$((16#$dropped))"); done </proc/net/softnet_stat
    echo "${counts[*]}"
}

# backlog_drops BEFORE AFTER: sets TRIAL_BACKLOG_DROPS (all CPUs) and
# TRIAL_BACKLOG_DROPS_BY_CPU ("cpu0 N, cpu1 M": where the loss happened,
# the relay CPU's backlog or the sinks').
backlog_drops() {
    local before after i delta
    read -ra before <<<"$1"
    read -ra after <<<"$2"
    TRIAL_BACKLOG_DROPS=0 TRIAL_BACKLOG_DROPS_BY_CPU=""
    for i in "${!after[@]}"; do
        delta=$((after[i] - ${before[i]:-0}))
        TRIAL_BACKLOG_DROPS=$((TRIAL_BACKLOG_DROPS + delta))
        TRIAL_BACKLOG_DROPS_BY_CPU+="${TRIAL_BACKLOG_DROPS_BY_CPU:+, }cpu$i $delta"
    done
}

# trial_losses KIND: where packets were lost in the last trial, for the log:
# backlog drops (machine-wide) and, for mcrd, the worker's own cumulative
# counters (socket drops from PACKET_STATISTICS, the quiet socket backlog
# discarded after a switch to a full ring, egress would-block) and,
# for the tc rows, how many of the rule's packets the fast path relayed.
trial_losses() {
    local text="backlog drops $TRIAL_BACKLOG_DROPS ($TRIAL_BACKLOG_DROPS_BY_CPU); $TRIAL_CPU_LOAD"
    case $1 in mcrd|mcrd6|mcrd46|mcrd64|tc|tc6|tc46|tc64)
        local kernel_drops would_block discarded
        kernel_drops=$(worker_stat bench_worker kernel.drops)
        would_block=$(worker_stat bench_worker rules.name=bench.outputs.0.drops.would_block)
        # The input's family has its own ingress pair: "receive6" for an IPv6
        # input (absent from a worker older than the pair: "-").
        local receive=receive
        case $1 in mcrd6|mcrd64|tc6|tc64) receive=receive6 ;; esac
        discarded=$(worker_stat bench_worker "$receive.discarded" 2>/dev/null) || discarded="-"
        text+=", worker total: socket drops $kernel_drops, quiet backlog discarded $discarded, egress would-block $would_block"
        [[ $1 != tc* ]] || text+=", fast path $(worker_stat bench_worker rules.name=bench.fast_path.packets) of $(worker_stat bench_worker rules.name=bench.packets) packets"
        ;;
    esac
    echo "$text"
}

# lossless_ok SENT DELIVERED: loss at most 0.1 %.
lossless_ok() { [ $(( (${1} - ${2}) * 1000 )) -le "$1" ]; }

# lossless_rate KIND SINKS SIZE GUESS UPPER STEPS SECONDS: the highest rate
# (rounded to 100 pps) with at most 0.1 % loss. The first step tries GUESS
# (what the relay delivered under overload, a little less), then bisection
# narrows between the best passing and the lowest failing rate (0 and UPPER
# to start). Sets LOSSLESS_PPS (0 if nothing passed).
lossless_rate() {
    local kind=$1 sinks=$2 size=$3 guess=$4 upper=$5 steps=$6 seconds=$7
    local low=0 high=$upper rate step
    for ((step = 0; step < steps; step++)); do
        if [ "$step" -eq 0 ] && [ "$guess" -ge 100 ]; then rate=$((guess / 100 * 100))
        else rate=$(( (low + high) / 2 / 100 * 100 )); fi
        [ "$rate" -gt "$low" ] && [ "$rate" -lt "$high" ] || break
        trial "$kind" "$sinks" "$size" "$rate" "$seconds"
        if lossless_ok "$TRIAL_SENT" "$TRIAL_DELIVERED"; then low=$rate; else high=$rate; fi
        log "  bisect $kind/$sinks size $size: $rate pps -> sent $TRIAL_SENT delivered $TRIAL_DELIVERED (passing $low, failing $high; $(trial_losses "$kind"))"
    done
    LOSSLESS_PPS=$low
}
