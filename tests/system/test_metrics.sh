#!/bin/bash
# mcrd-metrics under a real systemd: mcrd-metrics.socket listens on
# 127.0.0.1:10998, the first scrape starts mcrd-metrics.service as its own
# system user (not a dynamic one: the system bus refuses those, see the
# unit) with no capabilities, and the scrape reads mcrd over the system bus
# (mcrd_up 1, the rule count); with mcrd stopped the scrape says mcrd_up 0
# and does not bus-activate it; a stream through a worker unit shows exact
# counts and a kill -9 of that worker shows as systemd's restart count; the
# unit's systemd-analyze security exposure is printed and bounded (<= 2.0).
#
#   mcrt-src [src0] --- [in0]  mcrd + mcrd-worker@in0  [out0] --- [dst0] mcrt-dst
#   239.1.1.1:5000 ------------------------------------------> 239.2.2.2:6000
#                   mcrd-metrics.service <- GET 127.0.0.1:10998/metrics
. "$(dirname "$0")/lib/preamble.sh"
[[ -f "${MESON_BUILD_ROOT:?}/units/mcrd-metrics.service" ]] || skip "mcrd-metrics not built (-Dmetrics, libmicrohttpd)"
system_boot --topology
worker=mcrd-worker@in0.service

readonly URL=http://127.0.0.1:10998/metrics
scrape() { sys_exec curl -sS --max-time 10 "$URL"; }

sys_exec systemctl start mcrd.service || die "mcrd.service did not start"
sys_exec systemctl start mcrd-metrics.socket || die "mcrd-metrics.socket did not start"
check_eq "mcrd-metrics.service waits for the first scrape" inactive "$(sys_prop mcrd-metrics.service ActiveState)"
out=$(relay_add_rule_as root m1 in0 239.1.1.1 5000 out0 239.2.2.2 6000 8) || die "AddRule failed: $out"

body=$(scrape)
check_match "scrape: mcrd_up 1 (read over the system bus)" $'(^|\n)mcrd_up 1(\n|$)' "$body"
check_match "scrape: the supervisor's rule count" $'(^|\n)mcrd_rules 1(\n|$)' "$body"
[[ "$body" == *$'\nmcrd_up 1'* ]] ||
    log "exporter journal: $(sys_exec journalctl -u mcrd-metrics.service --no-pager -o cat 2>&1 | tail -5)"
check_eq "mcrd-metrics.service started by the scrape" active "$(sys_prop mcrd-metrics.service ActiveState)"

pid=$(sys_main_pid mcrd-metrics.service)
check_eq "exporter runs as user mcrd-metrics" "$(sys_exec id -u mcrd-metrics)" \
    "$(sys_exec awk '/^Uid:/ { print $2 }' "/proc/$pid/status")"
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
    check_eq "exporter $cap" 0000000000000000 "$(sys_exec awk -v k="$cap:" '$1 == k { print $2 }' "/proc/$pid/status")"
done
check_eq "exporter NoNewPrivs" 1 "$(sys_exec awk '$1 == "NoNewPrivs:" { print $2 }' "/proc/$pid/status")"

# sample METRIC{LABELS}: one value of a fresh scrape.
sample() { scrape | awk -v want="$1" '$1 == want { print $2 }'; }
sys_wait_active "$worker" 30
result=$(relay_stream "$p-src" "$p-dst" 239.1.1.1 5000 239.2.2.2 6000 500 1000)
check_eq "500 packets crossed the relay" 500 "$(json_of "$result" received)"
relay_wait_stat 10 500 rules.name=m1.packets >/dev/null
check_eq "scrape: the rule's packets = what mcrgen sent" 500 "$(sample 'mcrd_rule_packets_total{rule="m1"}')"
check_eq "scrape: the output's packets" 500 \
    "$(sample 'mcrd_output_packets_total{rule="m1",interface="out0",address="239.2.2.2",port="6000"}')"
check_eq "scrape: the worker unit is active" 1 \
    "$(sample "mcrd_worker_info{interface=\"in0\",unit=\"$worker\",state=\"active\"}")"
restarts=$(sys_prop "$worker" NRestarts)
check_eq "scrape: restarts = systemd's NRestarts ($restarts)" "$restarts" \
    "$(sample "mcrd_worker_restarts_total{interface=\"in0\",unit=\"$worker\"}")"
old_pid=$(sys_main_pid "$worker")
sys_exec kill -9 "$old_pid"
restarted() { [[ "$(sys_prop "$worker" NRestarts)" == $((restarts + 1)) && "$(sys_prop "$worker" ActiveState)" == active ]]; }
poll_until 15 restarted || fail "$worker was not restarted after kill -9"
check_eq "scrape: a kill -9 counts one restart" $((restarts + 1)) \
    "$(sample "mcrd_worker_restarts_total{interface=\"in0\",unit=\"$worker\"}")"

sys_exec systemctl stop mcrd.service
body=$(scrape)
check_match "scrape with mcrd stopped: mcrd_up 0" $'(^|\n)mcrd_up 0(\n|$)' "$body"
check_eq "the scrape did not bus-activate mcrd" inactive "$(sys_prop mcrd.service ActiveState)"
check_match "the failure is in the journal" 'Cannot read mcrd' \
    "$(sys_exec journalctl -u mcrd-metrics.service --no-pager -o cat 2>/dev/null)"

exposure=$(sys_exec systemd-analyze security --no-pager mcrd-metrics.service 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "# mcrd-metrics.service exposure (running unit): ${exposure:-none}"
check_le "mcrd-metrics.service exposure" 2.0 "$exposure"
finish
