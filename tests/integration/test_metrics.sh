#!/bin/bash
# mcrd-metrics against a real mcrd on the private bus: the exporter is
# started by systemd-socket-activate (a real socket activator, LISTEN_FDS) on
# 127.0.0.1 inside the relay's namespace and scraped with curl in both
# formats; promtool finds nothing to lint in the Prometheus text; the rule's
# and the output's packet counters equal what mcrgen sent; other paths get
# 404, other methods 405; a real Prometheus server scrapes it (OpenMetrics)
# and holds the same numbers; with mcrd stopped a scrape still gives a valid
# exposition with mcrd_up 0. An output that requires listeners gives its
# held copies exactly, its listening 0 then 1 once sink0 joins, and the
# IGMP querier's samples on out0, promtool clean. Hostile clients (a huge header, an idle and a
# trickling client, 200 connections at once) stay bounded and the exporter
# keeps answering.
#
#   +-------------+          +------------------------------+          +---------------+
#   | src         |          | relay                        |          | sink0         |
#   | eth0        |----------| in0                   out0   |----------| eth0          |
#   | 192.0.2.2   |          | 192.0.2.1       198.51.100.1 |          | 198.51.100.2  |
#   +-------------+          | lo 127.0.0.1:10998           |          +---------------+
#   mcrgen send               |  systemd-socket-activate     |          mcrgen recv
#   239.1.1.1:5000            |   -> mcrd-metrics --bus ...  |          239.2.2.2:6000
#                             | mcrd (spawn) -> mcrd-worker  |
#                             +------------------------------+
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker
find_binary MCRD_METRICS src/metrics/mcrd-metrics
require_tools systemd-socket-activate curl ss
# CI installs promtool (tools/packages.txt: prometheus); only a machine
# without it skips.
require_tools promtool

readonly PACKETS=1000 RATE=2000 SIZE=200 PORT=10998
readonly URL="http://127.0.0.1:$PORT/metrics"
# What Prometheus sends when it prefers OpenMetrics.
readonly OPENMETRICS_ACCEPT='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
HTTP_CLIENTS="$MCRT_PYTHON $(dirname "$0")/lib/http_clients.py"

bus_relay_setup 1
mcrd_start relay

# The activator listens; mcrd-metrics starts on the first connection with the
# socket as fd 3 (LISTEN_FDS=1) and serves it from then on.
bg_start relay "$(scratch metrics.log)" systemd-socket-activate -l "127.0.0.1:$PORT" \
    "$MCRD_METRICS" --bus "$BUS_ADDRESS" --log-level debug
METRICS_PID=$BG_PID
listening() { ns_exec relay ss -Htln "sport = :$PORT" | grep -q LISTEN; }
wait_until 10 "the activator to listen on $PORT" listening

# scrape NAME [curl args...]: the body to $(scratch NAME.body), headers to NAME.headers.
scrape() {
    local name=$1; shift
    ns_exec relay curl -sS --max-time 10 -D "$(scratch "$name.headers")" -o "$(scratch "$name.body")" "$@" "$URL"
}
status_of() { ns_exec relay curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
# sample NAME METRIC{LABELS}: the value of one sample line of a scraped body.
sample() { awk -v want="$2" '$1 == want { print $2 }' "$(scratch "$1.body")"; }
header() { tr -d '\r' <"$(scratch "$1.headers")" | sed -n "s/^$2: //Ip"; }

check_eq "AddRule" 'o "/org/mcr/Relay/rule/r1"' \
    "$(relay_call AddRule 'sssqsa(ssqy)' r1 in0 239.1.1.1 5000 "" 1 out0 239.2.2.2 6000 0)"
wait_rule_property r1 State 's "active"' 20

log "--- $PACKETS packets src -> relay -> sink0, then both formats"
gen_recv_start sink0 recv --group 239.2.2.2 --port 6000 --interface eth0 --duration 60 --expect "$PACKETS"
gen_send src send --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$PACKETS"
gen_recv_wait recv || die "sink0 did not get $PACKETS packets"
check_eq "unique packets at sink0" "$PACKETS" "$(json_get "$(scratch recv.json)" unique)"
wait_rule_property r1 Packets "t $PACKETS"

scrape text
check_eq "Prometheus text content type" "text/plain; version=0.0.4; charset=utf-8" "$(header text Content-Type)"
check_eq "mcrd_up" 1 "$(sample text mcrd_up)"
check_eq "mcrd_rules" 1 "$(sample text mcrd_rules)"
check_eq "mcrd_build_info" 1 "$(sample text 'mcrd_build_info{version="0.1.0"}')"
check_eq "rule packets = what mcrgen sent" "$PACKETS" "$(sample text 'mcrd_rule_packets_total{rule="r1"}')"
check_eq "rule bytes" "$((PACKETS * SIZE))" "$(sample text 'mcrd_rule_bytes_total{rule="r1"}')"
out0='rule="r1",interface="out0",address="239.2.2.2",port="6000"'
check_eq "output packets = what mcrgen sent" "$PACKETS" "$(sample text "mcrd_output_packets_total{$out0}")"
check_eq "output send errors" 0 "$(sample text "mcrd_output_drops_total{$out0,reason=\"send_error\"}")"
check_eq "rule TTL drops" 0 "$(sample text 'mcrd_rule_drops_total{rule="r1",reason="ttl_expired"}')"
fast=$(sample text 'mcrd_rule_path_packets_total{rule="r1",path="fast"}')
user=$(sample text 'mcrd_rule_path_packets_total{rule="r1",path="userspace"}')
check_eq "fast + userspace packets = the rule's packets ($fast + $user)" "$PACKETS" "$((fast + user))"
path=$(relay_stat rules.name=r1.path)
case $path in tc|tc-legacy) path=fast ;; esac
check_match "the rule's path as GetStats says ($path)" "^mcrd_rule_path_info\\{rule=\"r1\",path=\"$path\"," \
    "$(grep '^mcrd_rule_path_info' "$(scratch text.body)")"
# The worker reads only what the fast path leaves to it.
check_eq "ingress frames >= the userspace share" yes \
    "$([ "$(sample text 'mcrd_ingress_frames_total{interface="in0"}')" -ge "$user" ] && echo yes || echo no)"
check_eq "worker state" 1 "$(sample text 'mcrd_worker_info{interface="in0",unit="spawned",state="active"}')"
if promtool check metrics <"$(scratch text.body)" >"$(scratch promtool.out)" 2>&1; then
    ok "promtool check metrics: clean"
else
    fail "promtool check metrics: $(cat "$(scratch promtool.out)")"
fi

scrape openmetrics -H "Accept: $OPENMETRICS_ACCEPT"
check_eq "OpenMetrics content type" "application/openmetrics-text; version=1.0.0; charset=utf-8" \
    "$(header openmetrics Content-Type)"
check_eq "OpenMetrics ends in # EOF" "# EOF" "$(tail -n 1 "$(scratch openmetrics.body)")"
check_eq "OpenMetrics counter family" "# TYPE mcrd_rule_packets counter" \
    "$(grep -x '# TYPE mcrd_rule_packets counter' "$(scratch openmetrics.body)")"
check_eq "OpenMetrics unit" "# UNIT mcrd_rule_bytes bytes" "$(grep -x '# UNIT mcrd_rule_bytes bytes' "$(scratch openmetrics.body)")"
check_eq "OpenMetrics rule packets" "$PACKETS" "$(sample openmetrics 'mcrd_rule_packets_total{rule="r1"}')"
check_eq "one exporter process served every scrape" 1 "$(grep -c 'Serving /metrics' "$(scratch metrics.log)")"

log "--- a real Prometheus scrapes it every second (it asks for OpenMetrics)"
cat >"$(scratch prometheus.yml)" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: mcrd
    static_configs: [{targets: ['127.0.0.1:$PORT']}]
YAML
bg_start relay "$(scratch prometheus.log)" prometheus --config.file="$(scratch prometheus.yml)" \
    --storage.tsdb.path="$(scratch tsdb)" --web.listen-address=127.0.0.1:19090
PROMETHEUS_PID=$BG_PID
# query PROMQL: the value of the first series of an instant query, "" if none.
query() {
    ns_exec relay curl -s --max-time 5 http://127.0.0.1:19090/api/v1/query --data-urlencode "query=$1" |
        "$MCRT_PYTHON" -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
check_eventually "Prometheus: up{job=\"mcrd\"}" 1 30 query 'up{job="mcrd"}'
check_eventually "Prometheus: the rule's packets" "$PACKETS" 10 query 'mcrd_rule_packets_total{rule="r1"}'
check_eventually "Prometheus: the rule's bytes" "$((PACKETS * SIZE))" 10 query 'mcrd_rule_bytes_total{rule="r1"}'
check_eventually "Prometheus: the build info" 1 10 query 'mcrd_build_info{version="0.1.0"}'
# Only Prometheus asked for OpenMetrics more than once (curl did once above).
check_eq "Prometheus got OpenMetrics" yes \
    "$([ "$(grep -c 'Scrape answered as application/openmetrics-text' "$(scratch metrics.log)")" -gt 1 ] && echo yes || echo no)"
stop_pid "$PROMETHEUS_PID" || true

log "--- other paths and methods"
check_eq "GET / -> 404" 404 "$(status_of "http://127.0.0.1:$PORT/")"
check_eq "GET /metrics/x -> 404" 404 "$(status_of "http://127.0.0.1:$PORT/metrics/x")"
check_eq "POST /metrics -> 405" 405 "$(status_of -X POST --data x "$URL")"
check_eq "DELETE /metrics -> 405" 405 "$(status_of -X DELETE "$URL")"
check_eq "HEAD /metrics -> 200" 200 "$(status_of -I "$URL")"

log "--- hostile clients"
check_eq "a 100 KiB header -> 431" 431 \
    "$(status_of -H "X-Big: $(head -c 102400 /dev/zero | tr '\0' a)" "$URL")"
check_eq "a 60 KiB URL -> 414" 414 "$(status_of "$URL?$(head -c 61440 /dev/zero | tr '\0' a)")"
ns_exec relay $HTTP_CLIENTS trickle 127.0.0.1 "$PORT" 6 >"$(scratch trickle.json)" &
TRICKLE_PID=$!
MCRT_PIDS+=("$TRICKLE_PID")
sleep 1
started=$(date +%s%N)
check_eq "a scrape while a client trickles its header" 200 "$(status_of "$URL")"
check_le "that scrape's time (ms)" 2000 "$(( ($(date +%s%N) - started) / 1000000 ))"
wait_pid "$TRICKLE_PID" 20 || true
ns_exec relay $HTTP_CLIENTS idle 127.0.0.1 "$PORT" 20 >"$(scratch idle.json)"
idle_s=$(json_get "$(scratch idle.json)" closed_after_s)
check_match "an idle client is cut after the 5 s timeout (${idle_s} s)" '^[5-6]\.' "$idle_s"

ns_exec relay $HTTP_CLIENTS hold 127.0.0.1 "$PORT" 200 40 >"$(scratch hold.json)" &
HOLD_PID=$!
MCRT_PIDS+=("$HOLD_PID")
sleep 2
# The exporter takes 64 connections at a time (its fds: those plus stdio,
# the listening socket, epoll, the bus); the rest wait in the kernel's queue.
fds=$(ls "/proc/$METRICS_PID/fd" | wc -l)
check_le "exporter fds while 200 idle connections are open" 74 "$fds"
# Each batch of 64 idle connections is closed after 5 s, although the client
# keeps them: a scrape queued behind 200 is answered within 4 batches.
answered() { [ "$(status_of --max-time 30 "$URL")" = 200 ]; }
started=$SECONDS
wait_until 30 "a scrape answered while 200 connections are held" answered
check_le "seconds until a scrape was answered behind 200 idle connections" 25 "$((SECONDS - started))"
wait_pid "$HOLD_PID" 50 || true
check_eq "connections opened by the flood" 200 "$(json_get "$(scratch hold.json)" opened)"
check_eq "every flood connection closed by the server" 200 "$(json_get "$(scratch hold.json)" closed_by_server)"
check_eq "the exporter still runs" yes "$(kill -0 "$METRICS_PID" 2>/dev/null && echo yes || echo no)"

log "--- an inspected stream (\"inspect\": \"rtp\"): its health samples, promtool clean"
check_eq "AddRuleJSON with inspect rtp" 'o "/org/mcr/Relay/rule/rtp"' \
    "$(relay_call AddRuleJSON s '{"name":"rtp","input":{"interface":"in0","address":"239.1.1.3","port":5004},"outputs":[{"interface":"out0","address":"239.2.2.3","port":6004}],"inspect":"rtp"}')"
wait_rule_property rtp State 's "active"' 20
gen_send src send_rtp --group 239.1.1.3 --port 5004 --interface eth0 --rate 1000 --size "$SIZE" --count 200 --rtp
wait_rule_property rtp Packets "t 200"
scrape health
check_eq "stream health info" 1 "$(sample health 'mcrd_stream_health_info{rule="rtp",kind="rtp",state="ok"}')"
check_eq "stream lost packets" 0 "$(sample health 'mcrd_stream_lost_packets_total{rule="rtp"}')"
check_eq "stream malformed datagrams" 0 "$(sample health 'mcrd_stream_malformed_datagrams_total{rule="rtp"}')"
check_eq "inspected rule on the userspace path" 200 \
    "$(sample health 'mcrd_rule_path_packets_total{rule="rtp",path="userspace"}')"
if promtool check metrics <"$(scratch health.body)" >"$(scratch promtool-health.out)" 2>&1; then
    ok "promtool check metrics with stream health: clean"
else
    fail "promtool check metrics with stream health: $(cat "$(scratch promtool-health.out)")"
fi

log "--- an output that requires listeners: held copies, listening, IGMP membership, promtool clean"
check_eq "AddRuleJSON with listeners required" 'o "/org/mcr/Relay/rule/gated"' \
    "$(relay_call AddRuleJSON s '{"name":"gated","input":{"interface":"in0","address":"239.1.1.5","port":5005},"outputs":[{"interface":"out0","address":"239.2.2.5","port":6005,"listeners":"required"}]}')"
wait_rule_property gated State 's "active"' 20
gen_send src send_gated --group 239.1.1.5 --port 5005 --interface eth0 --rate 1000 --size "$SIZE" --count 150
wait_rule_property gated Packets "t 150"
gated='rule="gated",interface="out0",address="239.2.2.5",port="6005"'
held() { scrape gated; sample gated "mcrd_output_no_listener_total{$gated}"; }
check_eventually "copies held without a listener" 150 10 held
check_eq "listening without a listener" 0 "$(sample gated "mcrd_output_listening{$gated}")"
check_eq "nothing sent without a listener" 0 "$(sample gated "mcrd_output_packets_total{$gated}")"
check_eq "mcrd queries on out0" 1 "$(sample gated 'mcrd_membership_querier{interface="out0",protocol="igmp"}')"
check_eq "IGMP groups on out0 before the join" 0 "$(sample gated 'mcrd_membership_groups{interface="out0",protocol="igmp"}')"
check_eq "r1's \"always\" output has no listener sample" "" "$(sample gated "mcrd_output_listening{$out0}")"
gen_recv_start sink0 recv_gated --group 239.2.2.5 --port 6005 --interface eth0 --duration 30
listening_now() { scrape gated_joined; sample gated_joined "mcrd_output_listening{$gated}"; }
check_eventually "listening once sink0 joined" 1 10 listening_now
check_eq "IGMP groups on out0 after the join" 1 \
    "$(sample gated_joined 'mcrd_membership_groups{interface="out0",protocol="igmp"}')"
gen_recv_stop recv_gated
if promtool check metrics <"$(scratch gated_joined.body)" >"$(scratch promtool-gated.out)" 2>&1; then
    ok "promtool check metrics with listener state: clean"
else
    fail "promtool check metrics with listener state: $(cat "$(scratch promtool-gated.out)")"
fi

log "--- mcrd stopped: mcrd_up 0, still a valid exposition"
mcrd_stop
scrape down
check_eq "mcrd_up with mcrd stopped" 0 "$(sample down mcrd_up)"
check_eq "nothing but mcrd_up" 3 "$(wc -l <"$(scratch down.body)")"
if promtool check metrics <"$(scratch down.body)" >"$(scratch promtool-down.out)" 2>&1; then
    ok "promtool check metrics (mcrd down): clean"
else
    fail "promtool check metrics (mcrd down): $(cat "$(scratch promtool-down.out)")"
fi
check_match "the failure logged" 'Cannot read mcrd: GetStats' "$(cat "$(scratch metrics.log)")"
scrape down-again
check_eq "second scrape while down" 0 "$(sample down-again mcrd_up)"
check_eq "failure lines rate limited (one for two scrapes)" 1 "$(grep -c 'Cannot read mcrd' "$(scratch metrics.log)")"
mcrd_start relay
scrape up-again
check_eq "mcrd_up once mcrd is back" 1 "$(sample up-again mcrd_up)"
check_match "recovery logged" 'mcrd answers again' "$(cat "$(scratch metrics.log)")"
stop_pid "$METRICS_PID" || true
finish
