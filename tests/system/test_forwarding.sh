#!/bin/bash
# The data path under systemd: a rule added over D-Bus starts
# mcrd-worker@in0.service (dynamic user, no capabilities) and traffic crosses
# veths with exact counts; the worker survives kill -9 (FD store, also while
# mcrd is stopped) and a supervisor restart. Packet loss is printed. IPv6:
# a rule added with mcrctl's bracket form relays, its MLD joins follow the
# rules, the worker's IPv6 ingress socket sits in the FD store, and a kill -9
# at 10 kpps loses nothing on the fast path.
#
#   mcrt-src [src0] --- [in0]  mcrd + worker  [out0] --- [dst0] mcrt-dst
#   239.1.1.1:5000 ------------------------------> 239.2.2.2:6000
. "$(dirname "$0")/lib/preamble.sh"
system_boot --topology
worker=mcrd-worker@in0.service

# stream COUNT RATE: receiver JSON of one stream through the relay.
stream() { relay_stream "$p-src" "$p-dst" 239.1.1.1 5000 239.2.2.2 6000 "$1" "$2"; }
received_of() { local n; n=$(json_of "$1" received); echo "${n:-0}"; }
# lost_of COUNT JSON: packets sent but not received (all of them if no JSON).
lost_of() { echo $(( $1 - $(received_of "$2") )); }

# stream_with_event COUNT RATE DELAY CMD...: run CMD DELAY s into the stream.
stream_with_event() {
    local count=$1 rate=$2 delay=$3
    shift 3
    relay_stream_with_event "$delay" "$@" -- "$p-src" "$p-dst" 239.1.1.1 5000 239.2.2.2 6000 "$count" "$rate"
}

kill_worker() { sys_exec kill -9 "$(sys_main_pid "$worker")"; }

# --- (f) rule -> worker unit under a dynamic user, no capabilities, exact counts ---
sys_exec systemctl start mcrd.socket
out=$(relay_add_rule_as root video1 in0 239.1.1.1 5000 out0 239.2.2.2 6000 8); rc=$?
check_eq "AddRule video1 ($out)" 0 "$rc"
sys_wait_active "$worker" 30
check_eq "$worker active" active "$(sys_prop "$worker" ActiveState)"
pid=$(sys_main_pid "$worker")
check_eq "$worker runs with DynamicUser" yes "$(sys_prop "$worker" DynamicUser)"
uid=$(sys_exec awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
check_match "worker uid $uid is in the dynamic range 61184-65519" '^6[1-5][0-9]{3}$' "$uid"
check_eq "worker CapEff" 0000000000000000 "$(sys_exec awk '/^CapEff:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)"
check_eq "worker CapBnd" 0000000000000000 "$(sys_exec awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)"
check_eq "worker has its own network namespace" different \
    "$([[ "$(sys_exec readlink "/proc/$pid/ns/net")" != "$(sys_exec readlink /proc/1/ns/net)" ]] && echo different || echo same)"

result=$(stream 2000 1000)
echo "# steady stream: $result"
check_eq "2000 packets at 1 kpps cross the relay" 2000 "$(received_of "$result")"
check_eq "no duplicates" 0 "$(json_of "$result" duplicated)"
echo "# mcrctl stats:"; sys_exec mcrctl stats 2>&1 | sed 's/^/#   /'

# --- (g) kill -9 during a 10 kpps stream: Restart= brings it back with the FD store ---
restart_limit=300
relay_restart_buffer_ok || restart_limit=30000
restarts=$(sys_prop "$worker" NRestarts)
result=$(stream_with_event 30000 10000 1 kill_worker)
after=$(sys_prop "$worker" NRestarts)
echo "# kill -9 during stream: $result"
echo "# kill -9 with mcrd running: lost $(lost_of 30000 "$result") of 30000 packets"
check_eq "worker restarted once after kill -9" $((restarts + 1)) "$after"
sys_wait_active "$worker" 10
check_le "loss across a worker crash (packets, at most $restart_limit)" "$restart_limit" $(lost_of 30000 "$result")

# 20 kill -9 in a row must not hit the start limit (that would empty the FD store).
for i in $(seq 20); do
    old_pid=$(sys_main_pid "$worker")
    kill_worker
    deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
        new_pid=$(sys_main_pid "$worker")
        [[ "$(sys_prop "$worker" ActiveState)" == active && "$new_pid" != "$old_pid" && "$new_pid" != 0 ]] && break
        sleep 0.1
    done
done
check_eq "worker active after 20 kill -9 in a row" active "$(sys_prop "$worker" ActiveState)"
check_eq "NRestarts after 20 more kills" $((restarts + 21)) "$(sys_prop "$worker" NRestarts)"
restarts=$(sys_prop "$worker" NRestarts)

sys_exec systemctl stop mcrd.service
sys_wait_state mcrd.service inactive 20
check_eq "$worker keeps running while mcrd is stopped" active "$(sys_prop "$worker" ActiveState)"
check_match "worker holds its sockets in the FD store" '^[1-9][0-9]*$' "$(sys_prop "$worker" NFileDescriptorStore)"
result=$(stream_with_event 30000 10000 1 kill_worker)
lost_stopped=$(lost_of 30000 "$result")
echo "# kill -9 with mcrd stopped: lost $lost_stopped of 30000 packets"
check_eq "worker restarted again with mcrd stopped" $((restarts + 1)) "$(sys_prop "$worker" NRestarts)"
check_le "loss across a worker crash with mcrd down (packets, at most $restart_limit)" "$restart_limit" $(lost_of 30000 "$result")

# --- (h) restart mcrd during a stream: the worker keeps forwarding ---
sys_exec systemctl start mcrd.service
sys_wait_active mcrd.service 30
# Where the loss went: the restarted worker's first PACKET_STATISTICS read
# covers the time no worker ran (receive buffer overflow); the rest were
# frames the killed worker had already taken off the socket.
deadline=$((SECONDS + 15))
until [[ -n "$(relay_stat workers.0.kernel.drops)" ]] || ((SECONDS >= deadline)); do sleep 0.3; done
kernel_drops=$(relay_stat workers.0.kernel.drops)
echo "# kill -9 with mcrd stopped: kernel drops (socket buffer) ${kernel_drops:-?}," \
     "in flight in the killed worker $((lost_stopped - ${kernel_drops:-0}))"
((restart_limit == 300)) && check_eq "no frame dropped by the ingress socket while no worker ran" 0 "$kernel_drops"
pid=$(sys_main_pid "$worker")
result=$(stream_with_event 30000 10000 1 sys_exec systemctl restart mcrd.service)
echo "# systemctl restart mcrd during stream: lost $(lost_of 30000 "$result") of 30000 packets"
check_eq "worker pid unchanged across the supervisor restart" "$pid" "$(sys_main_pid "$worker")"
check_eq "mcrd active after restart" active "$(sys_prop mcrd.service ActiveState)"
check_le "loss across a supervisor restart (packets)" 0 $(lost_of 30000 "$result")
check_eq "rule survived the restart" 1 "$(relay_rule_count)"

# --- (i) IPv6: mcrctl's bracket form, MLD joins that follow the rules, the
# worker's IPv6 sockets in the FD store, kill -9 at 10 kpps ---
#   mcrt-src [a1 2001:db8:a::2] --- [a0 2001:db8:a::1]  relay  [b0 2001:db8:b::1] --- [b1 2001:db8:b::2] mcrt-dst
#   v6:  [ff3e::1]:5000 -> b0 [ff3e::2]:6000
#   v6b: [ff3e::3]:5000 -> b0 [ff3e::4]:6000 (removed first: its group is left, ff3e::1 stays)
worker6=mcrd-worker@a0.service
v6_topology() {
    $E ip link add a0 type veth peer name a1 netns "$p-src" && $E ip link add b0 type veth peer name b1 netns "$p-dst" &&
        $E ip addr add 2001:db8:a::1/64 dev a0 nodad && $E ip addr add 2001:db8:b::1/64 dev b0 nodad &&
        $E ip link set a0 up && $E ip link set b0 up &&
        $E ip -n "$p-src" addr add 2001:db8:a::2/64 dev a1 nodad && $E ip -n "$p-dst" addr add 2001:db8:b::2/64 dev b1 nodad &&
        $E ip -n "$p-src" link set a1 up && $E ip -n "$p-dst" link set b1 up
}
v6_topology || die "cannot make the IPv6 veth pairs a0/a1, b0/b1"
# joined GROUP: whether the relay's a0 is a member of GROUP (MLD).
joined() { $E ip -6 maddr show dev a0 | grep -qw "inet6 $1"; }
out=$(sys_exec mcrctl add v6 --in 'a0:[ff3e::1]:5000' --out 'b0:[ff3e::2]:6000' 2>&1); rc=$?
check_eq "mcrctl add v6 --in a0:[ff3e::1]:5000 --out b0:[ff3e::2]:6000 ($out)" 0 "$rc"
out=$(sys_exec mcrctl add v6b --in 'a0:[ff3e::3]:5000' --out 'b0:[ff3e::4]:6000' 2>&1); rc=$?
check_eq "mcrctl add v6b ($out)" 0 "$rc"
sys_wait_active "$worker6" 30
check_eq "$worker6 active" active "$(sys_prop "$worker6" ActiveState)"
poll_until 10 joined ff3e::1 && ok "a0 joined ff3e::1 (MLD)" || fail "a0 has not joined ff3e::1: $($E ip -6 maddr show dev a0)"
poll_until 10 joined ff3e::3 && ok "a0 joined ff3e::3 (MLD)" || fail "a0 has not joined ff3e::3"

result=$(RELAY_SRC_IF=a1 RELAY_DST_IF=b1 relay_stream "$p-src" "$p-dst" ff3e::1 5000 ff3e::2 6000 2000 1000)
echo "# IPv6 steady stream: $result"
check_eq "2000 IPv6 packets at 1 kpps cross the relay" 2000 "$(received_of "$result")"
check_eq "no duplicates (IPv6)" 0 "$(json_of "$result" duplicated)"

# The FD store (systemd, PID 1) holds the worker's IPv6 ingress socket: an
# AF_PACKET socket of protocol 0x86dd bound to a0 (/proc/net/packet: Proto
# in hex, Iface as the index, Inode last).
# (The container's /sys is the host's: ask ip for the index.)
a0_index=$($E ip -o link show dev a0 | cut -d: -f1)
packet6_inodes=$($E awk -v i="$a0_index" '$4 == "86dd" && $5 == i {print $9}' /proc/net/packet)
stored=0
for inode in $packet6_inodes; do
    $E find /proc/1/fd -lname "socket:\[$inode\]" | grep -q . && stored=$((stored + 1))
done
echo "# IPv6 packet sockets on a0 (ifindex $a0_index), inodes: $packet6_inodes; in PID 1's fds: $stored"
check_le "IPv6 ingress sockets on a0 held in the FD store (1 <= held)" "$stored" 1
check_match "the IPv6 worker's FD store is not empty" '^[1-9][0-9]*$' "$(sys_prop "$worker6" NFileDescriptorStore)"

# kill -9 at 10 kpps: on the fast path the kernel relays on through the
# link the FD store holds (0 lost); on the userspace path the restarted
# worker reads the stored IPv6 socket, and only frames the killed one had
# taken may be lost (at most its ring, as for IPv4 in test_faults).
v6_path=$(relay_stat rules.name=v6.path)
v6_limit=512
[[ "$v6_path" == tc* ]] && v6_limit=0
relay_restart_buffer_ok || v6_limit=30000
restarts6=$(sys_prop "$worker6" NRestarts)
kill_worker6() { sys_exec kill -9 "$(sys_main_pid "$worker6")"; }
result=$(RELAY_SRC_IF=a1 RELAY_DST_IF=b1 relay_stream_with_event 1 kill_worker6 -- \
    "$p-src" "$p-dst" ff3e::1 5000 ff3e::2 6000 30000 10000)
echo "# IPv6 kill -9 at 10 kpps (rule on the $v6_path path): lost $(lost_of 30000 "$result") of 30000"
check_eq "IPv6 worker restarted once after kill -9" $((restarts6 + 1)) "$(sys_prop "$worker6" NRestarts)"
check_le "IPv6 loss across a worker kill -9 on the $v6_path path (at most $v6_limit)" "$v6_limit" \
    "$(lost_of 30000 "$result")"
check_eq "no duplicates across the kill (IPv6)" 0 "$(json_of "$result" duplicated)"

# The joins follow the rules: removing v6b leaves ff3e::3 and keeps ff3e::1;
# removing v6 stops the worker and leaves ff3e::1.
sys_exec mcrctl remove v6b >/dev/null 2>&1 || fail "mcrctl remove v6b"
poll_until 10 sh -c "! $E ip -6 maddr show dev a0 | grep -qw 'inet6 ff3e::3'" && ok "ff3e::3 left with rule v6b" ||
    fail "a0 still a member of ff3e::3 after mcrctl remove v6b"
joined ff3e::1 && ok "ff3e::1 kept while rule v6 remains" || fail "ff3e::1 left with the other rule"
sys_exec mcrctl remove v6 >/dev/null 2>&1 || fail "mcrctl remove v6"
sys_wait_state "$worker6" inactive 20 || fail "$worker6 still running after its last rule went"
poll_until 10 sh -c "! $E ip -6 maddr show dev a0 | grep -qw 'inet6 ff3e::1'" && ok "ff3e::1 left with rule v6" ||
    fail "a0 still a member of ff3e::1 after mcrctl remove v6"

finish
