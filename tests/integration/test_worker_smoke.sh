#!/bin/bash
# Smoke test of mcrd-worker, one rule 239.1.1.1:5000 -> 239.2.2.2:6000:
# 1. started by mcrd-test-launch (sockets as LISTEN_FDS): 1000 paced UDP
#    packets from src all reach dst (exact count) and the final stats file
#    says 1000 for the rule and its output, no drops;
# 2. started with --supervisor-socket against mcrd-fake-supervisor (sockets
#    and config over the p2p D-Bus link): 1000 relayed and reported by
#    GetStats; the supervisor is stopped, 1000 more are still relayed, and
#    after the supervisor is back the worker reconnects and reports 2000.
#
#   src:eth0 198.51.100.2/24 --- relay:in0 198.51.100.1/24
#                                relay:out0 203.0.113.1/24 --- dst:eth0 203.0.113.2/24
. "$(dirname "$0")/lib/netns.sh"

PACKETS=1000
MCRT_BUILD_DIR=${MCRT_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
MCRD_WORKER=${MCRD_WORKER:-$MCRT_BUILD_DIR/src/worker/mcrd-worker}
MCRD_TEST_LAUNCH=${MCRD_TEST_LAUNCH:-$MCRT_BUILD_DIR/tests/tools/mcrd-test-launch}
[ -x "$MCRD_WORKER" ] || skip "mcrd-worker not built ($MCRD_WORKER)"
MCRD_FAKE_SUPERVISOR=${MCRD_FAKE_SUPERVISOR:-$MCRT_BUILD_DIR/tests/tools/mcrd-fake-supervisor}
[ -x "$MCRD_TEST_LAUNCH" ] || skip "mcrd-test-launch not built ($MCRD_TEST_LAUNCH)"
[ -x "$MCRD_FAKE_SUPERVISOR" ] || skip "mcrd-fake-supervisor not built ($MCRD_FAKE_SUPERVISOR)"

# An unknown receive mode is refused before anything starts, naming the choices.
if mode_error=$("$MCRD_WORKER" --receive-mode bogus 2>&1); then
    die "mcrd-worker accepted --receive-mode bogus"
fi
case $mode_error in *"--receive-mode"*"ring"*"socket"*) ;; *) die "unclear --receive-mode error: $mode_error" ;; esac
# So is an unknown fast path choice of the launcher (before it reads the config).
if launch_error=$("$MCRD_TEST_LAUNCH" --config /nonexistent --fast-path bogus -- /bin/true 2>&1); then
    die "mcrd-test-launch accepted --fast-path bogus"
fi
check_match "mcrd-test-launch names the --fast-path choices" '--fast-path: expected on, auto or off, got "bogus"' \
    "$launch_error"

ns_create src; ns_create relay; ns_create dst
veth_add src eth0 relay in0
veth_add relay out0 dst eth0
addr_add src eth0 198.51.100.2/24
addr_add relay in0 198.51.100.1/24
addr_add relay out0 203.0.113.1/24
addr_add dst eth0 203.0.113.2/24
full_checksums src eth0

CONFIG=$(scratch worker.json)
STATS=$(scratch stats.json)
cat >"$CONFIG" <<'JSON'
{ "interface": "in0",
  "rules": [ { "name": "smoke",
               "input": { "interface": "in0", "address": "239.1.1.1", "port": 5000 },
               "outputs": [ { "interface": "out0", "address": "239.2.2.2", "port": 6000 } ] } ],
  "egress": { "out0": { "mtu": 1500 } },
  "receive_buffer_bytes": 16777216 }
JSON

bg_start relay "$(scratch worker.log)" \
    "$MCRD_TEST_LAUNCH" --config "$CONFIG" -- "$MCRD_WORKER" --stats-file "$STATS" --stats-interval-ms 200
WORKER_PID=$BG_PID
wait_until 15 "the worker's first stats file" test -s "$STATS"
kill -0 "$WORKER_PID" || die "worker exited: $(cat "$(scratch worker.log)")"

# Receiver: counts distinct sequence numbers; stops at the expected count or
# after 5 s without traffic (60 s at most), then writes the count.
cat >"$(scratch recv.py)" <<'PY'
import socket, struct, sys, time
ready, result, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("239.2.2.2", 6000))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("239.2.2.2") + socket.inet_aton("203.0.113.2"))
s.settimeout(5.0)
open(ready, "w").close()
seen, deadline = set(), time.monotonic() + 60
while len(seen) < expected and time.monotonic() < deadline:
    try:
        data = s.recv(2048)
    except socket.timeout:
        if seen:
            break
        continue
    seen.add(struct.unpack("!I", data[:4])[0])
open(result, "w").write(str(len(seen)))
PY
# Sender: COUNT datagrams at ~2000/s, TTL 8 (the relay drops TTL <= 1).
cat >"$(scratch send.py)" <<'PY'
import socket, struct, sys, time
count = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("198.51.100.2"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
payload = bytes(96)
for seq in range(count):
    s.sendto(struct.pack("!I", seq) + payload, ("239.1.1.1", 5000))
    time.sleep(0.0005)
PY

# relay_stream NAME COUNT: sends COUNT packets from src and checks that dst
# received exactly COUNT distinct ones.
relay_stream() {
    local name=$1 count=$2 ready result pid
    ready=$(scratch "$name.ready"); result=$(scratch "$name.count")
    bg_start dst "$(scratch "$name.log")" "$MCRT_PYTHON" "$(scratch recv.py)" "$ready" "$result" "$count"
    pid=$BG_PID
    wait_until 15 "receiver $name to join" test -e "$ready"
    ns_exec src "$MCRT_PYTHON" "$(scratch send.py)" "$count" || die "sender $name failed"
    wait_pid "$pid" 90 || die "receiver $name failed: $(cat "$(scratch "$name.log")")"
    check_eq "packets received in dst ($name)" "$count" "$(cat "$result")"
}

# stats_value FILE PYTHON_EXPR: evaluates EXPR on the JSON document d.
stats_value() { "$MCRT_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"; }

# stats_equal FILE PYTHON_EXPR VALUE: true when EXPR evaluates to VALUE.
stats_equal() { [ "$(stats_value "$1" "$2" 2>/dev/null)" = "$3" ]; }

# --- 1. sockets through LISTEN_FDS (mcrd-test-launch), stats file --------
relay_stream launched "$PACKETS"
stop_pid "$WORKER_PID" || die "worker did not exit 0 on SIGTERM: $(tail -n 20 "$(scratch worker.log)")"
check_eq "rule packets" "$PACKETS" "$(stats_value "$STATS" 'd["rules"][0]["packets"]')"
check_eq "output packets" "$PACKETS" "$(stats_value "$STATS" 'd["rules"][0]["outputs"][0]["packets"]')"
check_eq "output drops" "0 0 0 0 0" "$(stats_value "$STATS" '" ".join(str(v) for v in d["rules"][0]["outputs"][0]["drops"].values())')"
check_eq "rule ttl_expired" 0 "$(stats_value "$STATS" 'd["rules"][0]["ttl_expired"]')"

# --- 2. sockets and config from a supervisor over the p2p D-Bus link -----
# The worker keeps forwarding while the supervisor is gone and reconnects
# (GetStats answers again) once it is back.
SOCKET=$(scratch worker.sock)
LINK_STATS=$(scratch link-stats.json)
start_supervisor() {
    rm -f "$LINK_STATS"
    bg_start relay "$(scratch "supervisor$1.log")" \
        "$MCRD_FAKE_SUPERVISOR" --config "$CONFIG" --socket "$SOCKET" --stats-out "$LINK_STATS"
    SUPERVISOR_PID=$BG_PID
    wait_until 10 "the supervisor socket" test -S "$SOCKET"
}
start_supervisor 1
bg_start relay "$(scratch worker2.log)" "$MCRD_WORKER" --supervisor-socket "$SOCKET"
WORKER_PID=$BG_PID
wait_until 15 "GetStats over the link" test -s "$LINK_STATS"
relay_stream linked "$PACKETS"
wait_until 10 "GetStats to report $PACKETS" stats_equal "$LINK_STATS" 'd["rules"][0]["packets"]' "$PACKETS"
check_eq "rule packets (GetStats)" "$PACKETS" "$(stats_value "$LINK_STATS" 'd["rules"][0]["packets"]')"

stop_pid "$SUPERVISOR_PID" || true
relay_stream supervisor-down "$PACKETS"
start_supervisor 2
wait_until 20 "the worker to reconnect" test -s "$LINK_STATS"
check_eq "rule packets after reconnect" "$((2 * PACKETS))" "$(stats_value "$LINK_STATS" 'd["rules"][0]["packets"]')"
stop_pid "$WORKER_PID" || die "linked worker did not exit 0: $(tail -n 20 "$(scratch worker2.log)")"
finish "$PACKETS packets relayed via LISTEN_FDS; $((2 * PACKETS)) via the supervisor link, across a supervisor restart"
