# Worker memory for bench/run: mcrd-worker with 64 rules and the default
# 16 MiB ingress receive buffer, after traffic has touched its buffers.

readonly BENCH_RSS_RULES=64 BENCH_RSS_PACKETS=20000

# worker_rss_report CSV: starts a 64-rule worker in the relay namespace,
# sends BENCH_RSS_PACKETS 1400-byte packets (jumbo-sized buffers get touched
# by whatever arrives) spread over 8 of the rules, then prints VmRSS and VmHWM
# of the worker from /proc and writes them to CSV. The receive buffer itself
# is kernel memory (skb truesize, charged to the socket), not in VmRSS.
worker_rss_report() {
    local csv=$1 specs=() i pid rss hwm
    for ((i = 0; i < BENCH_RSS_RULES; i++)); do
        specs+=("name=r$i in=in0:$BENCH_INPUT_GROUP:$((BENCH_INPUT_PORT + i)) out=out0:239.2.2.1:$((6000 + i))")
    done
    # The userspace path's buffers are what is measured (the fast path would
    # relay these frames before they reach them).
    MCRD_TEST_FAST_PATH=off worker_start relay bench_rss in0 "${specs[@]}"
    pid=${MCRT_JOBS[bench_rss]}
    read -r rss hwm < <(awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r, h}' "/proc/$pid/status")
    log "worker $pid with $BENCH_RSS_RULES rules, 16 MiB receive buffer, idle: VmRSS ${rss} kB, VmHWM ${hwm} kB"
    for ((i = 0; i < 8; i++)); do
        gen_send src "rss_send_$i" --group "$BENCH_INPUT_GROUP" --port "$((BENCH_INPUT_PORT + i))" \
            --interface eth0 --rate 0 --size 1400 --count "$((BENCH_RSS_PACKETS / 8))"
    done
    sleep 1
    read -r rss hwm < <(awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r, h}' "/proc/$pid/status")
    local forwarded
    forwarded=$(worker_stat bench_rss ingress.frames)
    worker_stop bench_rss
    {
        echo "rules,receive_buffer_bytes,packets_received,vm_rss_kb,vm_hwm_kb"
        echo "$BENCH_RSS_RULES,16777216,$forwarded,$rss,$hwm"
    } >"$csv"
    echo
    echo "Worker memory: $BENCH_RSS_RULES rules, 16 MiB receive buffer, after $forwarded frames received:" \
        "VmRSS $rss kB, VmHWM $hwm kB (-> $csv)"
}
