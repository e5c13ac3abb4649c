#!/bin/bash
# mcrd's MLD querier among other queriers and across address changes (issue
# 19), on a segment behind a Linux bridge (lan) whose own device is a real
# MLD querier (mcast_querier 1, query interval 1 s, response 500 ms); mcrd
# has the same short timers (robustness 2: the other-querier-present
# interval is 2 x 1 s + 250 ms = 2.25 s).
#   - election, a lower querier: the bridge queries from fe80::1 before mcrd
#     starts; mcrd defers to it, keeps tracking host's listener (the stream
#     flows, gated by that membership), and when the bridge stops querying
#     mcrd takes over after the other-querier-present interval; the stream
#     loses 0 throughout;
#   - an address change on a running out0: a lower link-local address
#     (fe80::2, after duplicate detection) moves mcrd's queries to it, its
#     removal moves them back; the captured queries show the sources in that
#     order, each move is one journal line, host's stream loses 0;
#   - election, a higher querier: MLDv2 general queries from
#     fe80::ffff:ffff:ffff:fffe (mld_sender.py on host) are taken, and mcrd
#     stays the querier;
#   - out0's global address replaced (2001:db8:100::1 -> ::7) under an
#     IPv4 stream translated to IPv6 on out0: the copies leave from the new
#     address once the link monitor reports it (1000 from each, captured).
#
#   +-----------+   +---------------------------+   +---- lan (bridge, snooping on) ----+
#   | src eth0  |---| in0      relay       out0 |---| p0 (router port)  br0   p1 ------ host eth0
#   | 2001:db8:1::2 | 2001:db8:1::1 2001:db8:100::1 |  br0: fe80::1, MLD querier         | 2001:db8:100::2
#   +-----------+   +---------------------------+   +-----------------------------------+
#   r6: in0 ff3e::1:5000 -> out0 ff3e::2:6000 listeners required
#   r4: in0 239.1.1.1:5000 (src 192.0.2.2 -> in0 192.0.2.1) -> out0 ff3e::4:6004
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker
require_root
require_tools tshark

readonly RATE=1000 SIZE=100 HIGHER=fe80::ffff:ffff:ffff:fffe
MLD_SENDER="$MCRT_LIB_DIR/mld_sender.py"

bus_setup
ns_create src; ns_create relay; ns_create lan; ns_create host
veth_add src eth0 relay in0
addr_add src eth0 2001:db8:1::2/64
addr_add relay in0 2001:db8:1::1/64
addr_add src eth0 192.0.2.2/24
addr_add relay in0 192.0.2.1/24
ip -n "$(ns_name src)" route add 239.0.0.0/8 dev eth0
full_checksums src eth0
veth_add relay out0 lan p0
veth_add lan p1 host eth0
addr_add relay out0 2001:db8:100::1/64
addr_add host eth0 2001:db8:100::2/64
# Duplicate detection of the addresses added below takes 100 ms, not 1 s.
ns_exec relay sysctl -qw net.ipv6.conf.out0.dad_transmits=1 net.ipv6.neigh.out0.retrans_time_ms=100 >/dev/null
ns_exec host sysctl -qw net.ipv6.conf.eth0.mldv2_unsolicited_report_interval=100 >/dev/null
# The bridge's querier sends from the bridge device's link-local address:
# only fe80::1 (no automatic one), lower than mcrd's EUI-64 address. Its
# timers are in centiseconds.
ip -n "$(ns_name lan)" link add br0 type bridge mcast_snooping 1 mcast_querier 1 mcast_query_interval 100 \
    mcast_query_response_interval 50 mcast_startup_query_interval 25 mcast_startup_query_count 2
ip -n "$(ns_name lan)" link set br0 addrgenmode none
ip -n "$(ns_name lan)" addr add fe80::1/64 dev br0 nodad
for port in p0 p1; do ip -n "$(ns_name lan)" link set "$port" master br0; done
# Host's reports go to router ports only: out0's side is one for good,
# whether or not mcrd queries.
ip -n "$(ns_name lan)" link set p0 type bridge_slave mcast_router 2
ip -n "$(ns_name lan)" link set br0 up

link_local_ready() { # NS IF
    local shown
    shown=$(ip -n "$(ns_name "$1")" -6 addr show dev "$2" scope link) || return 1
    [[ $shown == *fe80::* && $shown != *tentative* ]]
}
wait_until 10 "a link-local address on relay out0" link_local_ready relay out0
wait_until 10 "a link-local address on host eth0" link_local_ready host eth0
OWN=$(ip -n "$(ns_name relay)" -6 -br addr show dev out0 scope link | awk '{sub("/64", "", $3); print $3}')
[[ $OWN == fe80::* ]] || die "no link-local address on out0: $OWN"
# Every MLD query host sees, from the start: tshark takes seconds to start.
capture_start host eth0 queries "ip6 dst ff02::1 or (ip6 and udp port 6004)"

mcrd_start relay --robustness 2 --query-interval-ms 1000 --query-response-interval-ms 500 \
    --last-member-interval-ms 200
RULE='{"name": "r6", "input": {"interface": "in0", "address": "ff3e::1", "port": 5000},
       "outputs": [{"interface": "out0", "address": "ff3e::2", "port": 6000, "listeners": "required"}]}'
relay_call AddRuleJSON s "$RULE" >/dev/null
relay_call AddRuleJSON s '{"name": "r4", "input": {"interface": "in0", "address": "239.1.1.1", "port": 5000},
    "outputs": [{"interface": "out0", "address": "ff3e::4", "port": 6004}]}' >/dev/null
wait_rule_property r6 State 's "active"' 20
wait_rule_property r4 State 's "active"' 20
MCRD_LOG=$(scratch mcrd.1.log)

log "--- a lower querier (the bridge, fe80::1): mcrd defers, tracks host's listener, takes over when it stops"
wait_until 10 "mcrd to defer to fe80::1" grep -q "MLD querier on out0 is fe80::1; this relay listens" "$MCRD_LOG"
check_eq "GetStats querier while deferring" False "$(relay_stat membership.interface=out0.querier)"
check_eq "GetStats other querier" fe80::1 "$(relay_stat membership.interface=out0.other_querier)"
gen_recv_start host elect-rx --group ff3e::2 --port 6000 --interface eth0 --duration 30 --expect 5000
wait_until 5 "host's membership while deferring" grep -q "Group ff3e::2 on out0 has its first listener" "$MCRD_LOG"
gen_send src elect-tx --group ff3e::1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 5000 &
SENDER=$!
MCRT_PIDS+=("$SENDER")
sleep 1 # the stream flows for 1 s while mcrd listens only
check_eq "GetStats querier with the stream" False "$(relay_stat membership.interface=out0.querier)"
ip -n "$(ns_name lan)" link set br0 type bridge mcast_querier 0
STOPPED_AT=${EPOCHREALTIME/./}
# (The first "is this relay" line is from mcrd's start, before it heard the bridge.)
querier_again() { [ "$(grep -c "MLD querier on out0 is this relay" "$MCRD_LOG")" -ge 2 ]; }
wait_until 10 "mcrd to take over" querier_again
TAKEOVER_MS=$(((${EPOCHREALTIME/./} - STOPPED_AT) / 1000))
log "mcrd took over ${TAKEOVER_MS} ms after the bridge stopped querying (its last query up to 1 s before; OQPI 2.25 s)"
# The bridge's last query was at most one query interval (1 s) before it stopped.
[ "$TAKEOVER_MS" -ge 1250 ] || die "took over after ${TAKEOVER_MS} ms, before the other-querier-present interval"
wait_pid "$SENDER" 30 || die "the sender failed"
gen_recv_wait elect-rx || die "host lost packets across the election: $(cat "$(scratch elect-rx.json)")"
check_eq "host unique across the election" 5000 "$(json_get "$(scratch elect-rx.json)" unique)"
check_eq "GetStats querier after the takeover" True "$(relay_stat membership.interface=out0.querier)"

log "--- out0 gains a lower link-local address (fe80::2) and loses it again while host receives"
gen_recv_start host addr-rx --group ff3e::2 --port 6000 --interface eth0 --duration 30 --expect 4000
gen_send src addr-tx --group ff3e::1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 4000 &
SENDER=$!
MCRT_PIDS+=("$SENDER")
queries_sent() { relay_stat membership.interface=out0.counters.queries_sent; }
queries_sent_above() { [ "$(queries_sent)" -gt "$1" ]; }
# nodad: the address is usable at once (tentative addresses are the
# listeners-ipv6 test's and the link monitor unit test's).
ip -n "$(ns_name relay)" addr add fe80::2/64 dev out0 nodad
wait_until 5 "the querier to move to fe80::2" grep -q "MLD querier on out0 now sends from fe80::2 (was $OWN)" "$MCRD_LOG"
check_eq "GetStats address after the add" fe80::2 "$(relay_stat membership.interface=out0.address)"
SENT=$(queries_sent)
wait_until 5 "a query from fe80::2" queries_sent_above "$SENT"
ip -n "$(ns_name relay)" addr del fe80::2/64 dev out0
wait_until 5 "the querier to move back" grep -q "MLD querier on out0 now sends from $OWN (was fe80::2)" "$MCRD_LOG"
check_eq "GetStats address after the removal" "$OWN" "$(relay_stat membership.interface=out0.address)"
SENT=$(queries_sent)
wait_until 5 "a query from $OWN again" queries_sent_above "$SENT"
check_eq "GetStats querier after the moves" True "$(relay_stat membership.interface=out0.querier)"
wait_pid "$SENDER" 30 || die "the sender failed"
gen_recv_wait addr-rx || die "host lost packets across the address change: $(cat "$(scratch addr-rx.json)")"
check_eq "host unique across the address change" 4000 "$(json_get "$(scratch addr-rx.json)" unique)"
# "(was": out0's own link-local address is random and may itself begin with
# fe80::2 (fe80::2062:...), so the bare prefix also matched the move back
# (the "logged twice" flake of 2026-12-05, which DAD had nothing to do with).
check_eq "journal lines for the move to fe80::2" 1 "$(grep -c "now sends from fe80::2 (was" "$MCRD_LOG")"
check_eq "journal lines for the move back" 1 "$(grep -c "(was fe80::2)" "$MCRD_LOG")"

log "--- a higher querier ($HIGHER): mcrd stays the querier"
TAKEN=$(relay_stat membership.interface=out0.counters.queries_received)
ns_exec host "$MCRT_PYTHON" "$MLD_SENDER" --interface eth0 --source "$HIGHER" --interval-ms 200 query 4 \
    || die "mld_sender query failed"
check_eventually "higher queries taken" $((TAKEN + 4)) 5 relay_stat membership.interface=out0.counters.queries_received
check_eq "GetStats querier after higher queries" True "$(relay_stat membership.interface=out0.querier)"
grep -q "is $HIGHER" "$MCRD_LOG" && die "mcrd deferred to a higher address"

log "--- out0's global address replaced under a translated stream: its copies follow"
gen_recv_start host xlat-rx --group ff3e::4 --port 6004 --interface eth0 --duration 30 --expect 2000
gen_send src xlat-old --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 1000
configs_applied() { grep -c "Config applied" "$MCRD_LOG"; }
configs_above() { [ "$(configs_applied)" -gt "$1" ]; }
CONFIGS=$(configs_applied)
addr_add relay out0 2001:db8:100::7/64
wait_until 5 "the worker's config after the add" configs_above "$CONFIGS"
CONFIGS=$(configs_applied)
ip -n "$(ns_name relay)" addr del 2001:db8:100::1/64 dev out0
wait_until 5 "the worker's config after the removal" configs_above "$CONFIGS"
gen_send src xlat-new --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 1000
gen_recv_wait xlat-rx || die "host lost translated packets: $(cat "$(scratch xlat-rx.json)")"
check_eq "host unique of the translated stream" 2000 "$(json_get "$(scratch xlat-rx.json)" unique)"

capture_stop queries
check_eq "translated copies from 2001:db8:100::1 (before)" 1000 \
    "$(capture_count queries ipv6.src=2001:db8:100::1 ipv6.dst=ff3e::4 udp.dstport=6004 udp.checksum.status=1)"
check_eq "translated copies from 2001:db8:100::7 (after)" 1000 \
    "$(capture_count queries ipv6.src=2001:db8:100::7 ipv6.dst=ff3e::4 udp.dstport=6004 udp.checksum.status=1)"
# The MLD query sources in capture order. mcrd's startup queries and the
# bridge's may interleave at first; after the bridge's last one, mcrd's
# (runs collapsed) go OWN, fe80::2, OWN; the higher querier's are counted apart.
tshark -n -r "$(scratch queries.pcap)" -Y "icmpv6.type == 130" -T fields -e ipv6.src \
    >"$(scratch query-sources.txt)" 2>/dev/null || die "tshark cannot read the capture"
check_eq "queries from $HIGHER on the wire" 4 "$(grep -c "^$HIGHER\$" "$(scratch query-sources.txt)")"
check_eq "mcrd's query sources after the bridge's last query" "$OWN fe80::2 $OWN" \
    "$(grep -v "^$HIGHER\$" "$(scratch query-sources.txt)" | awk '$1 == "fe80::1" { n = 0; next } { seen[n++] = $1 }
        END { for (i = 0; i < n; i++) print seen[i] }' | uniq | tr '\n' ' ' | sed 's/ $//')"
check_eq "queries from fe80::1 (the bridge) before it stopped" yes \
    "$(grep -q '^fe80::1$' "$(scratch query-sources.txt)" && echo yes || echo no)"

mcrd_stop || die "mcrd did not stop cleanly"
finish "MLD querier: deferred to the bridge, took over ${TAKEOVER_MS} ms after it stopped; followed out0's address there and back"
