#!/bin/bash
# An independent suite per network namespace: `systemctl start mcrd@red`
# serves /run/netns/red with its own bus name, rules, state and workers
# (mcrd-worker@red:in0.service), and traffic crosses red with exact counts.
. "$(dirname "$0")/lib/preamble.sh"
system_boot
ns=red
sys_exec ip netns add "$ns"
RELAY_NS=$ns sys_make_veth_topology "$p"

sys_exec systemctl start "mcrd@$ns"
sys_wait_active "mcrd@$ns.service" 30
check_eq "mcrd@$ns.service active" active "$(sys_prop "mcrd@$ns.service" ActiveState)"
check_eq "mcrd@$ns.socket active" active "$(sys_prop "mcrd@$ns.socket" ActiveState)"
check_eq "BusName= of mcrd@$ns" "org.mcr.Relay.ns.$ns" "$(sys_prop "mcrd@$ns.service" BusName)"
check_eq "the suite's main process owns that name" "$(sys_main_pid "mcrd@$ns.service")" \
    "$(sys_exec busctl status "org.mcr.Relay.ns.$ns" 2>/dev/null | sed -n 's/^PID=//p')"
check_eq "control socket of the suite" "root:mcr 660" "$(sys_exec stat -c '%U:%G %a' "/run/mcr/$ns/control.sock")"
check_eq "the suite runs in /run/netns/$ns" same \
    "$([[ "$(sys_exec readlink "/proc/$(sys_main_pid "mcrd@$ns.service")/ns/net")" == "$(sys_exec ip netns exec "$ns" readlink /proc/self/ns/net)" ]] && echo same || echo different)"

out=$(sys_exec mcrctl -n "$ns" list 2>&1); rc=$?
check_eq "mcrctl -n $ns list ($out)" 0 "$rc"
out=$(sys_exec mcrctl -n "$ns" add video1 --in in0:239.1.1.1:5000 --out out0:239.2.2.2:6000:8 2>&1); rc=$?
check_eq "mcrctl -n $ns add ($out)" 0 "$rc"
check_match "mcrctl -n $ns list shows the rule" 'video1' "$(sys_exec mcrctl -n "$ns" list 2>&1)"
check_eq "rule persisted under /var/lib/mcrd/$ns" yes \
    "$(sys_exec sh -c "grep -qs video1 /var/lib/mcrd/$ns/*.json" && echo yes || echo no)"

worker="mcrd-worker@$ns:in0.service"
sys_wait_active "$worker" 30
check_eq "$worker active" active "$(sys_prop "$worker" ActiveState)"
result=$(relay_stream "$p-src" "$p-dst" 239.1.1.1 5000 239.2.2.2 6000 2000 1000)
echo "# stream through $ns: $result"
check_eq "2000 packets cross the $ns suite" 2000 "$(json_of "$result" received)"

# The host suite is independent: it has no rules of its own.
sys_exec systemctl start mcrd.socket
check_eq "host suite (org.mcr.Relay) has no rules" 0 "$(relay_rule_count)"
check_eq "no host worker for in0" inactive "$(sys_prop mcrd-worker@in0.service ActiveState)"

sys_exec systemctl stop "mcrd@$ns.service" "mcrd@$ns.socket"
check_eq "stopping the suite leaves its worker forwarding" active "$(sys_prop "$worker" ActiveState)"

finish
