# The one traffic helper for integration tests (source after netns.sh):
# mcrgen receivers/senders in namespaces, the worker via mcrd-test-launch with
# a generated config, stats read back as JSON, tshark captures.
#
#   gen_recv_start sink0 a --group 239.2.2.2 --port 6000 --interface eth0 --duration 20 --expect 1000
#   gen_send src s --group 239.1.1.1 --port 5000 --interface eth0 --rate 20000 --size 100 --count 1000
#   gen_recv_wait a; json_get "$(scratch a.json)" unique
#   worker_start relay w in0 'name=r1 in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000'
#   worker_stop w; json_get "$(scratch w.stats.json)" rules.name=r1.packets
#
# The worker gets the in-kernel fast path on its ingress interface by default
# (mcrd-test-launch attaches it as the supervisor does, and the test fails if
# it cannot); MCRD_TEST_FAST_PATH=off runs it on the userspace path alone,
# =auto uses the fast path where it attaches. Counts a test asserts are the
# same on both paths unless it says otherwise (worker_fast_path).

MCRT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MCRT_BUILD_DIR=${MCRT_BUILD_DIR:-$(cd "$MCRT_LIB_DIR/../../.." && pwd)/build}
declare -A MCRT_JOBS=()
declare -A MCRT_WORKER_INGRESS=()   # worker name -> "NS IFACE" of its fast path
# Optional CPU pinning (bench/ sets MCRT_TRAFFIC_CPU / MCRT_RELAY_CPU before
# sourcing): traffic tools on one CPU, the relay under test on another.
MCRT_TRAFFIC_PIN=()
MCRT_RELAY_PIN=()
[ -z "${MCRT_TRAFFIC_CPU:-}" ] || MCRT_TRAFFIC_PIN=(taskset -c "$MCRT_TRAFFIC_CPU")
[ -z "${MCRT_RELAY_CPU:-}" ] || MCRT_RELAY_PIN=(taskset -c "$MCRT_RELAY_CPU")

# find_binary VAR RELATIVE_PATH: $VAR if set (meson passes it), else the
# file under the build directory; skips the test when neither exists.
find_binary() {
    local var=$1 relative=$2 value=${!1:-}
    [ -n "$value" ] || value="$MCRT_BUILD_DIR/$relative"
    [ -x "$value" ] || skip "$var not built ($value)"
    printf -v "$var" '%s' "$value"
}

require_mcrgen() { find_binary MCRGEN src/mcrgen/mcrgen; }
require_worker() {
    require_mcrgen
    find_binary MCRD_WORKER src/worker/mcrd-worker
    find_binary MCRD_TEST_LAUNCH tests/tools/mcrd-test-launch
}

# wait_started NAME FILE: job NAME is up once it has written FILE; fails if
# it exits first or takes over 15 s.
wait_started() {
    local pid=${MCRT_JOBS[$1]} deadline=$((SECONDS + 15))
    until [ -s "$2" ]; do
        kill -0 "$pid" 2>/dev/null || die "$1 exited early: $(cat "$(scratch "$1.log")")"
        [ "$SECONDS" -lt "$deadline" ] || die "$1 did not write $(basename "$2") within 15s"
        sleep 0.05
    done
}

# gen_recv_start NS NAME mcrgen-recv-args...: starts a receiver and returns
# once it has joined; results go to $(scratch NAME.json).
gen_recv_start() {
    local ns=$1 name=$2; shift 2
    local ready
    ready=$(scratch "$name.ready")
    bg_start "$ns" "$(scratch "$name.log")" \
        "${MCRT_TRAFFIC_PIN[@]}" sh -c 'exec "$@" >"$0"' "$(scratch "$name.json")" "$MCRGEN" recv --json --ready-file "$ready" "$@"
    MCRT_JOBS[$name]=$BG_PID
    wait_started "$name" "$ready"
}

# gen_recv_wait NAME [TIMEOUT_S]: waits for a receiver that was given
# --expect to finish; after TIMEOUT_S (default 20, counted from now: call it
# once the senders are done) it is stopped with SIGTERM and still reports.
# Returns mcrgen's exit status, 1 if --expect was not met or it was stopped.
gen_recv_wait() {
    local pid=${MCRT_JOBS[$1]} deadline=$((SECONDS + ${2:-20})) status=0
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "receiver $1 still running ${2:-20}s after the send (short of --expect, or none given): stopping it"
        stop_pid "$pid" || true
        status=1
    else
        wait "$pid" || status=$?
    fi
    [ -s "$(scratch "$1.json")" ] || die "receiver $1 wrote no result: $(cat "$(scratch "$1.log")")"
    return "$status"
}

# gen_recv_stop NAME: ends a receiver early (SIGTERM); it still writes its
# report of everything that had arrived.
gen_recv_stop() {
    stop_pid "${MCRT_JOBS[$1]}" || true
    [ -s "$(scratch "$1.json")" ] || die "receiver $1 wrote no result: $(cat "$(scratch "$1.log")")"
}

# gen_send NS NAME mcrgen-send-args...: sends in the foreground (bounded by
# --count/--duration and a hard timeout); fails the test if mcrgen fails.
gen_send() {
    local ns=$1 name=$2; shift 2
    timeout --kill-after=5 300 ip netns exec "$(ns_name "$ns")" "${MCRT_TRAFFIC_PIN[@]}" "$MCRGEN" send --json "$@" \
        >"$(scratch "$name.json")" 2>"$(scratch "$name.log")" \
        || die "mcrgen send $name failed: $(cat "$(scratch "$name.log")")"
    log "sent $name: $(cat "$(scratch "$name.json")")"
}

# craft_send NS IFACE KIND COUNT GROUP PORT: hand-made frames from scapy
# (lib/craft_frames.py lists the kinds: broken headers, TTL 0, fragments).
craft_send() {
    ns_exec "$1" "$MCRT_PYTHON" "$MCRT_LIB_DIR/craft_frames.py" "${@:2}" || die "scapy could not send $3 frames"
}

# worker_start NS NAME IFACE RULE_SPEC...: writes the worker config (see
# mcrt.py config: translated outputs get their interface's address in NS as
# the source, as mcrd's supervisor gives them) and runs the worker through
# mcrd-test-launch; returns once
# the first stats file is written. Stats: $(scratch NAME.stats.json).
# MCRD_WORKER_ARGS: extra worker options (e.g. --busy-poll-usec 0 in bench/).
# MCRD_TEST_FAST_PATH (see the top): the launcher's --fast-path; a worker
# that was given the fast path must report it in use ("tc") from its first
# stats on, one that was not must report the userspace path.
worker_start() {
    local ns=$1 name=$2 iface=$3; shift 3
    local config stats mtu mtu_option=() fast_path mode
    # The values mcrd's --fast-path takes too (lib/bus.sh passes them on).
    case ${MCRD_TEST_FAST_PATH:-} in
        "") fast_path=on ;;
        auto|off) fast_path=$MCRD_TEST_FAST_PATH ;;
        *) die "MCRD_TEST_FAST_PATH must be unset, auto or off, not '$MCRD_TEST_FAST_PATH'" ;;
    esac
    config=$(scratch "$name.config.json"); stats=$(scratch "$name.stats.json")
    # The ingress MTU, as the supervisor sends it (it sizes the receive
    # ring's blocks); an interface not there yet leaves the worker's default.
    mtu=$(ns_exec "$ns" cat "/sys/class/net/$iface/mtu" 2>/dev/null) && mtu_option=(--ingress-mtu "$mtu")
    "$MCRT_PYTHON" "$MCRT_LIB_DIR/mcrt.py" config "${mtu_option[@]}" --netns "$(ns_name "$ns")" "$iface" "$@" >"$config"
    bg_start "$ns" "$(scratch "$name.log")" \
        "${MCRT_RELAY_PIN[@]}" "$MCRD_TEST_LAUNCH" --config "$config" --fast-path "$fast_path" -- \
        "$MCRD_WORKER" --stats-file "$stats" --stats-interval-ms 200 ${MCRD_WORKER_ARGS:-}
    MCRT_JOBS[$name]=$BG_PID
    wait_started "$name" "$stats"
    mode=$(worker_stat "$name" fast_path.mode) || die "worker $name reports no fast_path.mode"
    case $fast_path/$mode in
        on/tc|auto/tc) MCRT_WORKER_INGRESS[$name]="$ns $iface" ;;
        on/*) die "worker $name was given the fast path but runs on the $mode path: $(worker_stat "$name" fast_path)" ;;
        */tc) die "worker $name was not given the fast path but reports it in use" ;;
    esac
    log "worker $name: ${mode/tc/fast path (tc) and userspace} path"
}

# worker_fast_path NAME: whether worker NAME has the fast path (its rules
# the program can do are relayed in the kernel and never reach its socket).
worker_fast_path() { [ -n "${MCRT_WORKER_INGRESS[$1]:-}" ]; }

# worker_stop NAME: SIGTERM; the worker writes its final stats and exits 0.
# It held the fast path's only link: no program may be left on its ingress.
worker_stop() {
    local status=0 ns iface
    stop_pid "${MCRT_JOBS[$1]}" || status=$?
    [ "$status" -eq 0 ] || die "worker $1 exited with status $status: $(tail -n 20 "$(scratch "$1.log")")"
    if worker_fast_path "$1"; then
        read -r ns iface <<<"${MCRT_WORKER_INGRESS[$1]}"
        check_eventually "tc programs left on $iface after worker $1 exited" "" 5 \
            ns_exec "$ns" "$MCRT_PYTHON" "$MCRT_LIB_DIR/tcx_programs.py" "$iface"
    fi
}

# check_path NAME RULE PATH [REASON]: RULE's path in worker NAME's stats,
# "tc" or "userspace" (and why) when the worker has the fast path; without
# it every rule is on the userspace path.
check_path() {
    if worker_fast_path "$1"; then
        check_eq "rule $2 path" "$3" "$(worker_stat "$1" "rules.name=$2.path")"
        [ -z "${4:-}" ] || check_eq "rule $2 path_reason" "$4" "$(worker_stat "$1" "rules.name=$2.path_reason")"
    else
        check_eq "rule $2 path (no fast path)" userspace "$(worker_stat "$1" "rules.name=$2.path")"
    fi
}

# check_fast_share NAME RULE COUNT: of RULE's packets, COUNT were relayed by
# the program when worker NAME has the fast path (none without it); each
# output's share is the rule's (every output gets every packet it relays).
check_fast_share() {
    local expected=0 got outputs o
    worker_fast_path "$1" && expected=$3
    got=$(worker_stat "$1" "rules.name=$2.fast_path.packets" 2>/dev/null) || got=0
    check_eq "rule $2 packets relayed in the kernel" "$expected" "$got"
    outputs=$(worker_stat "$1" "rules.name=$2.outputs" | "$MCRT_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')
    for ((o = 0; o < outputs; o++)); do
        got=$(worker_stat "$1" "rules.name=$2.outputs.$o.fast_path.packets" 2>/dev/null) || got=0
        check_eq "rule $2 output $o packets relayed in the kernel" "$expected" "$got"
    done
}

# check_received NAME COUNT: receiver NAME got COUNT distinct packets, none
# lost and none twice (the sink side of an exact count).
check_received() {
    check_eq "$1 unique" "$2" "$(json_get "$(scratch "$1.json")" unique)"
    check_eq "$1 lost" 0 "$(json_get "$(scratch "$1.json")" lost)"
    check_eq "$1 duplicated" 0 "$(json_get "$(scratch "$1.json")" duplicated)"
}

# check_relayed NAME RULE COUNT: worker NAME counted COUNT packets for RULE
# and for each of its outputs (the relay side of an exact count).
check_relayed() {
    local outputs o
    check_eq "rule $2 packets" "$3" "$(worker_stat "$1" "rules.name=$2.packets")"
    outputs=$(worker_stat "$1" "rules.name=$2.outputs" | "$MCRT_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')
    for ((o = 0; o < outputs; o++)); do
        check_eq "rule $2 output $o ($(worker_stat "$1" "rules.name=$2.outputs.$o.interface")) packets" "$3" \
            "$(worker_stat "$1" "rules.name=$2.outputs.$o.packets")"
    done
}

# fast_pass NAME REASON: frames the program left to the stack for REASON
# (fastpath/pass_reason.cpp names), from worker NAME's stats.
fast_pass() { worker_stat "$1" "fast_path.pass.$2"; }

# worker_stat NAME PATH: one value from the worker's latest stats file.
worker_stat() { json_get "$(scratch "$1.stats.json")" "$2"; }

# capture_start NS IFACE NAME [BPF filter]: tshark writing $(scratch NAME.pcap);
# returns once the capture is live.
capture_start() {
    local ns=$1 iface=$2 name=$3 filter=${4:-udp}
    local logfile
    logfile=$(scratch "$name.capture.log")
    bg_start "$ns" "$logfile" tshark -n -q -i "$iface" -f "$filter" -w "$(scratch "$name.pcap")"
    MCRT_JOBS[$name]=$BG_PID
    wait_until 20 "tshark on $ns/$iface" grep -q "Capturing on" "$logfile"
}

capture_stop() { stop_pid "${MCRT_JOBS[$1]}" || true; }

# The fields every capture check uses. tshark takes seconds to start on a
# loaded machine, so a capture is decoded once (checksums verified) into
# $(scratch NAME.fields) and every count reads that file. Tab-separated: a
# field the frame lacks (ip.* of an IPv6 frame, ipv6.* of an IPv4 one) is
# an empty column.
readonly MCRT_CAPTURE_FIELDS="eth.src eth.dst ip.src ip.dst ip.ttl ip.checksum.status udp.dstport udp.length udp.checksum.status ipv6.src ipv6.dst ipv6.hlim udp.srcport ip.dsfield ipv6.tclass"

capture_decode() {
    local fields=() field
    for field in $MCRT_CAPTURE_FIELDS; do fields+=(-e "$field"); done
    tshark -n -r "$(scratch "$1.pcap")" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
        -Y udp -T fields -E separator=/t "${fields[@]}" >"$(scratch "$1.fields")" 2>/dev/null \
        || die "tshark cannot read capture $1"
}

# capture_count NAME FIELD=VALUE...: UDP frames in capture NAME whose fields
# all have these values, e.g. capture_count c0 ip.dst=239.2.2.2 ip.ttl=5 or
# capture_count c0 ipv6.dst=ff3e::2 ipv6.hlim=15 (checksum status: 1 good,
# 0 bad, 2 unverified; FIELD= matches a field the frame lacks).
capture_count() {
    local name=$1; shift
    [ -e "$(scratch "$name.fields")" ] || capture_decode "$name"
    awk -F '\t' -v names="$MCRT_CAPTURE_FIELDS" -v wanted="$*" '
        BEGIN { n = split(names, column, " "); for (i = 1; i <= n; i++) index_of[column[i]] = i
                m = split(wanted, condition, " ")
                for (j = 1; j <= m; j++) { split(condition[j], kv, "=")
                    if (!(kv[1] in index_of)) { print "unknown field " kv[1] > "/dev/stderr"; exit 2 }
                    field_of[j] = index_of[kv[1]]; value_of[j] = kv[2] } }
        { for (j = 1; j <= m; j++) if ($field_of[j] != value_of[j]) next; count++ }
        END { print count + 0 }' "$(scratch "$name.fields")"
}

# wait_stat NAME PATH VALUE [TIMEOUT_S]: waits until the worker's periodic
# stats show VALUE at PATH (a half-written file just reads as "not yet").
wait_stat() { check_eventually "$2" "$3" "${4:-15}" worker_stat "$1" "$2"; }
