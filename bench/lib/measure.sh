# One measurement for bench/run: send a stream from src through the relay to
# every sink, and report what arrived and what it cost.

readonly BENCH_NS_PER_TICK=$((1000000000 / $(getconf CLK_TCK)))
BENCH_TRIAL=0

# trial KIND SINKS SIZE RATE SECONDS: RATE 0 = as fast as mcrgen can.
# Sets TRIAL_SENT, TRIAL_DELIVERED (the fewest unique packets any sink got),
# TRIAL_ELAPSED_MS (sender), TRIAL_RELAY_TICKS, TRIAL_SOFTIRQ_TICKS,
# TRIAL_BACKLOG_DROPS. Runs in
# the caller's shell (no subshell) so the fixture tracks every PID.
trial() {
    local kind=$1 sinks=$2 size=$3 rate=$4 seconds=$5 i group port
    local tag expect=() bound=() rtp=()
    # mcrd-rtp inspects RTP: mcrgen's payloads then start with an RTP header.
    [ "$kind" != mcrd-rtp ] || rtp=(--rtp)
    BENCH_TRIAL=$((BENCH_TRIAL + 1))
    tag="t$BENCH_TRIAL"
    if [ "$rate" -gt 0 ]; then
        bound=(--count "$((rate * seconds))")
        expect=(--expect "$((rate * seconds))")
    else
        bound=(--duration "$seconds")
    fi
    local ns ifname
    for ((i = 0; i < sinks; i++)); do
        read -r ns ifname group port < <(sink_endpoint "$kind" "$i")
        gen_recv_start "$ns" "${tag}_$i" --group "$group" --port "$port" --interface "$ifname" \
            --duration "$((seconds + 30))" "${expect[@]}" "${rtp[@]}"
    done
    local relay_before softirq_before
    local backlog_before
    relay_before=$(relay_cpu_ticks); softirq_before=$(softirq_ticks); backlog_before=$(softnet_drops)
    gen_send src "${tag}_send" --group "$BENCH_INPUT_GROUP" --port "$BENCH_INPUT_PORT" --interface eth0 \
        --rate "$rate" --size "$size" "${bound[@]}" "${rtp[@]}"
    # Receivers with --expect end by themselves; give the relay's queues a
    # moment to drain, then stop the rest (they still report).
    for ((i = 0; i < sinks; i++)); do gen_recv_wait "${tag}_${i}" 2 || true; done
    TRIAL_RELAY_TICKS=$(($(relay_cpu_ticks) - relay_before))
    TRIAL_SOFTIRQ_TICKS=$(($(softirq_ticks) - softirq_before))
    TRIAL_BACKLOG_DROPS=$(($(softnet_drops) - backlog_before))
    { read -r TRIAL_SENT; read -r TRIAL_ELAPSED_MS; } < <(json_get "$(scratch "${tag}_send.json")" sent elapsed_ms)
    TRIAL_DELIVERED=""
    local unique
    for ((i = 0; i < sinks; i++)); do
        unique=$(json_get "$(scratch "${tag}_$i.json")" unique)
        if [ -z "$TRIAL_DELIVERED" ] || [ "$unique" -lt "$TRIAL_DELIVERED" ]; then TRIAL_DELIVERED=$unique; fi
    done
}

# softnet_drops: packets the kernel dropped because a CPU's input backlog
# (net.core.netdev_max_backlog, where RPS and veth queue frames) was full,
# summed over CPUs (/proc/net/softnet_stat, column 2, hex). Machine-wide.
softnet_drops() {
    local total=0 _processed dropped _rest
    while read -r _processed dropped _rest; do total=$((total + 16#$dropped)); done </proc/net/softnet_stat
    echo "$total"
}

# trial_losses KIND: where packets were lost in the last trial, for the log:
# backlog drops (machine-wide) and, for mcrd, the worker's own cumulative
# counters (socket drops from PACKET_STATISTICS, egress would-block).
trial_losses() {
    local text="backlog drops $TRIAL_BACKLOG_DROPS"
    if [ "$1" = mcrd ]; then
        local kernel_drops would_block
        kernel_drops=$(worker_stat bench_worker kernel.drops)
        would_block=$(worker_stat bench_worker rules.name=bench.outputs.0.drops.would_block)
        text+=", worker total: socket drops $kernel_drops, egress would-block $would_block"
    fi
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
