#!/bin/bash
# iperf 2 in multicast mode through the relay: the client sends to
# 239.4.4.4:5001 (TTL 4) from src, the worker relays to 239.4.4.5:5001, and
# the iperf server joined on sink0 must report every datagram, 0 lost.
#
#   +--------------------+     +----------------------+     +------------------------+
#   | src eth0           |-----| in0   relay     out0 |-----| sink0 eth0             |
#   | iperf -c 239.4.4.4 |     | 239.4.4.4:5001 ->    |     | iperf -s -u            |
#   |   -u -T 4 -b 1M    |     |   239.4.4.5:5001     |     |   -B 239.4.4.5%eth0    |
#   +--------------------+     +----------------------+     +------------------------+
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker
require_tools iperf stdbuf

relay_topology 1
# The iperf 2 server connect()s its UDP socket to the client's address, which
# needs a route (nothing is sent back over it).
ip -n "$(ns_name sink0)" route add 192.0.2.0/24 via 198.51.100.1
worker_start relay w in0 'name=iperf in=in0:239.4.4.4:5001 out=out0:239.4.4.5:5001'
# Line-buffered, or the report sits in stdio's buffer when we stop the server.
bg_start sink0 "$(scratch server.log)" stdbuf -oL iperf -s -u -B 239.4.4.5%eth0 -i 1
server=$BG_PID
wait_until 15 "iperf server to join" grep -q "Joining multicast" "$(scratch server.log)"
timeout --kill-after=5 60 ip netns exec "$(ns_name src)" iperf -c 239.4.4.4 -u -T 4 -b 1M -t 3 \
    >"$(scratch client.log)" 2>&1 || die "iperf client failed: $(cat "$(scratch client.log)")"
sent=$(sed -n 's/.*Sent \([0-9]*\) datagrams.*/\1/p' "$(scratch client.log)")
[ -n "$sent" ] || die "no 'Sent N datagrams' in the client output"
# The server prints its whole-run summary when the client's final datagram arrives.
wait_until 15 "iperf server summary" grep -Eq '0\.0000-[2-9][0-9.]* sec.*[0-9]+/ *[0-9]+ ' "$(scratch server.log)"
stop_pid "$server" || true
worker_stop w

summary=$(grep -E '0\.0000-[2-9][0-9.]* sec.*[0-9]+/ *[0-9]+ ' "$(scratch server.log)" | tail -n 1)
log "server summary: $summary"
lost=$(sed -E 's|.* ([0-9]+)/ *([0-9]+) .*|\1|' <<<"$summary")
total=$(sed -E 's|.* ([0-9]+)/ *([0-9]+) .*|\2|' <<<"$summary")
check_eq "datagrams lost (iperf server)" 0 "$lost"
# iperf's "Sent N" counts one more than goes on the wire as data (its
# end-of-test marker); the relay and the server both see N - 1.
check_eq "datagrams received (iperf server)" "$((sent - 1))" "$total"
check_eq "datagrams forwarded (worker)" "$total" "$(worker_stat w rules.name=iperf.packets)"
check_path w iperf tc
check_fast_share w iperf "$total"
finish "iperf multicast through the relay: $total datagrams, 0 lost"
