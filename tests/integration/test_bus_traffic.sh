#!/bin/bash
# End to end through the public API: a rule added with busctl makes mcrd
# spawn a worker with supervisor-made sockets, and paced traffic arrives with
# exact counts; the rule's Packets property (PropertiesChanged) and GetStats
# agree; ResetStats zeroes them; a worker killed while traffic flows is
# restarted on the same sockets and no packet is lost; an ingress interface
# that vanishes puts the rule in "waiting for interface" and its return
# brings forwarding back; a second rule reaches the running worker through
# SetConfig, and removing the last rule stops the worker.
#
#   +-------------+          +------------------------+          +---------------+
#   | src         |          | relay                  |          | sink0         |
#   | eth0        |----------| in0             out0   |----------| eth0          |
#   | 192.0.2.2   |          | 192.0.2.1   198.51.100.1          | 198.51.100.2  |
#   +-------------+          +------------------------+          +---------------+
#   mcrgen send               mcrd (spawn) -> mcrd-worker         mcrgen recv
#   239.1.1.1:5000            r1: -> 239.2.2.2:6000               239.2.2.2:6000
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_worker
require_tools dbus-monitor

readonly PACKETS=1000 RATE=2000 SIZE=200
bus_setup
relay_topology 1
mcrd_start relay

worker_pid() { relay_call ListWorkers | awk '{print $NF}'; }
worker_active() { relay_call ListWorkers | grep -q '"in0" "spawned" "active"'; }

# send_and_count NAME COUNT: COUNT packets src -> relay -> sink0; checks the exact count.
send_and_count() {
    gen_recv_start sink0 "$1" --group 239.2.2.2 --port 6000 --interface eth0 --duration 60 --expect "$2"
    gen_send src "$1-tx" --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$2"
    gen_recv_wait "$1" || die "sink0 did not get $2 packets ($1)"
    check_eq "unique packets at sink0 ($1)" "$2" "$(json_get "$(scratch "$1.json")" unique)"
    check_eq "duplicates at sink0 ($1)" 0 "$(json_get "$(scratch "$1.json")" duplicated)"
}

OWNER=$(busctl --address="$BUS_ADDRESS" status org.mcr.Relay | sed -n 's/^UniqueName=//p')
bg_start_host "$(scratch props.monitor)" dbus-monitor --address "$BUS_ADDRESS" \
    "type='signal',sender='$OWNER',interface='org.freedesktop.DBus.Properties',path='/org/mcr/Relay/rule/r1'"
MONITOR_PID=$BG_PID

check_eq "AddRule" 'o "/org/mcr/Relay/rule/r1"' \
    "$(relay_call AddRule 'sssqsa(ssqy)' r1 in0 239.1.1.1 5000 "" 1 out0 239.2.2.2 6000 0)"
wait_rule_property r1 State 's "active"' 20
FIRST_PID=$(worker_pid)

log "--- $PACKETS packets through a rule added over D-Bus"
send_and_count first "$PACKETS"
wait_rule_property r1 Packets "t $PACKETS"
check_eq "rule Bytes" "t $((PACKETS * SIZE))" "$(rule_property r1 Bytes)"
check_eq "rule Drops" "t 0" "$(rule_property r1 Drops)"
check_eq "GetStats r1 packets" "$PACKETS" "$(relay_stat rules.name=r1.packets)"
check_eq "GetStats out0 packets" "$PACKETS" "$(relay_stat rules.name=r1.outputs.0.packets)"
check_eq "GetStats kernel drops" 0 "$(relay_stat workers.0.kernel.drops)"
stop_pid "$MONITOR_PID" || true
# grep -c, not -q: it reads to the end, so the first grep never writes into a
# closed pipe (pipefail would read that SIGPIPE as "not found").
grep -A8 'member=PropertiesChanged' "$(scratch props.monitor)" | grep -c '"Packets"' >/dev/null \
    || die "no PropertiesChanged for Packets: $(cat "$(scratch props.monitor)")"
ok "PropertiesChanged carried Packets"

relay_call ResetStats
wait_rule_property r1 Packets "t 0"
check_eq "GetStats after ResetStats" 0 "$(relay_stat rules.name=r1.packets)"

log "--- worker killed while traffic flows: restarted on the same sockets, nothing lost"
# The supervisor keeps the ingress socket (16 MiB buffer): what arrives while
# no worker runs waits there for the restarted one.
kill -KILL "$FIRST_PID"
send_and_count during-crash 500
wait_until 20 "the new worker to be active" worker_active
[ "$(worker_pid)" != "$FIRST_PID" ] || die "worker pid unchanged"
wait_rule_property r1 Packets "t 500"
grep -q "Worker for in0 failed: killed by signal KILL; restart 1 in 500 ms" "$(scratch mcrd.1.log)" \
    || die "no journal line for the crash: $(mcrd_log)"

log "--- ingress interface removed and re-created"
ip -n "$(ns_name relay)" link del in0
wait_rule_property r1 State 's "waiting for interface"'
check_eq "no worker pid while waiting" 0 "$(worker_pid)"
veth_add src eth0 relay in0
addr_add src eth0 192.0.2.2/24
addr_add relay in0 192.0.2.1/24
ip -n "$(ns_name src)" route add 239.0.0.0/8 dev eth0
full_checksums src eth0
wait_rule_property r1 State 's "active"' 20
send_and_count after-hotplug 500
wait_rule_property r1 Packets "t 500"

log "--- a second rule reaches the running worker (SetConfig); the last removal stops it"
RUNNING_PID=$(worker_pid)
relay_call AddRule 'sssqsa(ssqy)' r2 in0 239.1.1.5 5000 "" 1 out0 239.2.2.5 6000 0 >/dev/null
wait_rule_property r2 State 's "active"'
gen_recv_start sink0 second --group 239.2.2.5 --port 6000 --interface eth0 --duration 60 --expect 300
gen_send src second-tx --group 239.1.1.5 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count 300
gen_recv_wait second || die "sink0 did not get 300 packets for r2"
check_eq "unique packets for r2" 300 "$(json_get "$(scratch second.json)" unique)"
check_eq "same worker after the config change" "$RUNNING_PID" "$(worker_pid)"
relay_call RemoveRule s r1
relay_call RemoveRule s r2
check_eq "WorkerCount after the last rule went" "u 0" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager WorkerCount)"
wait_until 10 "the worker to exit" sh -c "! kill -0 $RUNNING_PID 2>/dev/null"

mcrd_stop || die "mcrd did not exit cleanly"
finish "AddRule over D-Bus forwarded $PACKETS + 500 + 500 packets exactly; counters, lossless crash restart, hot-plug"
