#!/bin/bash
# An output that requires listeners under the real systemd (issue 19): mcrd
# as user mcrd, with the CAP_NET_RAW its unit grants, runs the IGMP querier
# on out0 (its general query is captured on the segment); with nobody
# listening no frame of the group crosses the segment and every copy is
# counted as no_listener; a Linux host in the sink namespace joins with an
# ordinary socket (its kernel reports) and gets exactly what is sent; it
# leaves and the stream stops, no_listener counting the rest exactly. The
# GroupListenersChanged signals are seen on the system bus and the journal
# has the first-listener and last-leave entries with their MESSAGE_IDs. The
# querier's timers are shortened by a drop-in on mcrd.service's command line
# (query interval 2 s, response 1 s, last member 200 ms: the group goes
# 400 ms after the leave), never by sleeping.
#
#   mcrt-src [src0] --- [in0]  mcrd + worker  [out0 198.51.100.1] --- [dst0 198.51.100.2] mcrt-dst
#   239.1.1.1:5000 -----------------------------> 239.2.2.2:6000 ("listeners": "required")
#                                       IGMP querier ^            ^ mcrgen recv joins, tshark counts
. "$(dirname "$0")/lib/preamble.sh"
command -v tshark >/dev/null || skip "tshark not installed"
system_boot --topology
worker=mcrd-worker@in0.service
ids=$MESON_SOURCE_ROOT/src/core/message_ids.hpp
id_of() { sed -n "s/.*k$1 = \"\([0-9a-f]*\)\".*/\1/p" "$ids"; }
JOINED=$(id_of GroupJoined); LEFT=$(id_of GroupLeft)
check_match "message ids read from message_ids.hpp" '^[0-9a-f]{32} [0-9a-f]{32}$' "$JOINED $LEFT"

# stat PATH: GetStats at a dotted path of rule "gated"'s output 0.
out_stat() { relay_stat "rules.name=gated.outputs.0.$1"; }
# frames_on_dst0 SECONDS FILE: counts, in the background, the frames of
# 239.2.2.2 on dst0 for SECONDS (tshark in the sink's namespace); the count
# lands in FILE. Returns once tshark captures.
frames_on_dst0() {
    sys_exec ip netns exec "$p-dst" tshark -n -i dst0 -f 'udp and dst host 239.2.2.2' -a "duration:$1" \
        -T fields -e frame.number >"$BOOT_DIR/$2.frames" 2>"$BOOT_DIR/$2.err" &
    capture_pid=$!
    poll_until 15 grep -q 'Capturing on' "$BOOT_DIR/$2.err" || die "tshark did not start: $(cat "$BOOT_DIR/$2.err")"
}
# frames_counted NAME: the count of a capture that ended (wait for it in
# this shell first: a $(...) subshell cannot wait for it).
frames_counted() { wc -l <"$BOOT_DIR/$1.frames"; }
send() { sys_exec ip netns exec "$p-src" mcrgen send --group 239.1.1.1 --port 5000 --interface src0 \
    --rate 1000 --size 200 --count "$1" --json >"$BOOT_DIR/send.json" 2>&1 || fail "mcrgen send of $1 failed"; }

# --- mcrd with test timers, by a drop-in on its command line ---
mcrd_bin=$(sys_prop mcrd.service ExecStart | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
[[ -n "$mcrd_bin" ]] || die "cannot read mcrd.service's ExecStart"
sys_exec mkdir -p /run/systemd/system/mcrd.service.d
printf '[Service]\nExecStart=\nExecStart=%s --robustness 2 --query-interval-ms 2000 --query-response-interval-ms 1000 --last-member-interval-ms 200\n' \
    "$mcrd_bin" | sys_exec tee /run/systemd/system/mcrd.service.d/50-listener-timers.conf >/dev/null
sys_exec systemctl daemon-reload
sys_exec systemctl start mcrd.socket mcrd.service
sys_wait_active mcrd.service 30 || die "mcrd.service did not start"
mcrd_pid=$(sys_main_pid mcrd.service)
check_eq "mcrd runs as user mcrd" "$(sys_exec id -u mcrd)" \
    "$(sys_exec awk '/^Uid:/ { print $2 }' "/proc/$mcrd_pid/status" 2>/dev/null)"
check_match "mcrd.service grants CAP_NET_RAW as an ambient capability" 'cap_net_raw' \
    "$(sys_prop mcrd.service AmbientCapabilities)"

# --- the querier: a general query on out0's segment once a rule requires listeners there ---
sys_exec ip netns exec "$p-dst" tshark -n -i dst0 -f 'igmp and dst host 224.0.0.1' -c 1 -a duration:15 \
    -T fields -e ip.src -e ip.ttl -e igmp.type -e igmp.version -e igmp.maddr \
    >"$BOOT_DIR/query.fields" 2>"$BOOT_DIR/query.err" &
query_pid=$!
poll_until 15 grep -q 'Capturing on' "$BOOT_DIR/query.err" || die "tshark did not start: $(cat "$BOOT_DIR/query.err")"
out=$(relay_call_as root AddRuleJSON s '{"name": "gated", "input": {"interface": "in0", "address": "239.1.1.1", "port": 5000},
  "outputs": [{"interface": "out0", "address": "239.2.2.2", "port": 6000, "listeners": "required"}]}'); rc=$?
check_eq "AddRuleJSON gated ($out)" 0 "$rc"
wait "$query_pid"
# IGMPv3 general query (type 0x11, group 0.0.0.0) from out0's address, TTL 1.
check_eq "general query on the segment (src, ttl, type, version, group)" \
    "$(printf '198.51.100.1\t1\t0x11\t3\t0.0.0.0')" "$(head -n 1 "$BOOT_DIR/query.fields")"
sys_wait_active "$worker" 30 || die "$worker did not start"
check_eventually "out0 reported, nobody listening" False 20 out_stat listening

# --- nobody listens: 0 frames on the segment, every copy held ---
frames_on_dst0 3 quiet
send 500
check_eventually "copies held without a listener" 500 10 out_stat no_listener
wait "$capture_pid"
check_eq "frames of 239.2.2.2 on the segment without a listener" 0 "$(frames_counted quiet)"
check_eq "copies sent without a listener" 0 "$(out_stat packets)"

# --- a host joins: its kernel's report makes the output send; exact counts ---
# The monitor's pid inside the container comes first, so it can be ended there.
sys_exec sh -c 'echo "pid $$"; exec timeout 60 busctl monitor --system --match "$0"' \
    "type='signal',interface='org.mcr.Relay.Manager',member='GroupListenersChanged'" \
    >"$BOOT_DIR/signals.txt" 2>&1 &
monitor_pid=$!
poll_until 10 grep -q 'Monitoring bus message stream' "$BOOT_DIR/signals.txt" ||
    die "busctl monitor did not start: $(cat "$BOOT_DIR/signals.txt")"
ready=/run/mcrt-ready-$$
sys_exec ip netns exec "$p-dst" mcrgen recv --group 239.2.2.2 --port 6000 --interface dst0 --duration 20 \
    --expect 1000 --json --ready-file "$ready" >"$BOOT_DIR/recv.json" 2>"$BOOT_DIR/recv.err" &
recv_pid=$!
sys_wait_for 10 test -e "$ready" || die "the receiver did not join: $(cat "$BOOT_DIR/recv.err")"
check_eventually "out0 listening once dst0 joined" True 5 out_stat listening
# The same capture sees the stream now: its zeros above and below count.
frames_on_dst0 3 joined
send 1000
wait "$capture_pid"
check_eq "frames of 239.2.2.2 on the segment while the host listens" 1000 "$(frames_counted joined)"
wait "$recv_pid"
result=$(cat "$BOOT_DIR/recv.json")
echo "# receiver: $result"
check_eq "packets the joined host received" 1000 "$(json_of "$result" received)"
check_eq "duplicates" 0 "$(json_of "$result" duplicated)"
check_eventually "copies sent while the host listened" 1000 10 out_stat packets
check_eq "copies held while the host listened" 500 "$(out_stat no_listener)"

# --- it leaves (the receiver closed its socket): the stream stops, the rest is held ---
check_eventually "out0 holding once dst0 left (last-member time 400 ms)" False 5 out_stat listening
frames_on_dst0 3 after
send 700
check_eventually "copies held after the leave" 1200 10 out_stat no_listener
wait "$capture_pid"
check_eq "frames of 239.2.2.2 on the segment after the leave" 0 "$(frames_counted after)"
check_eq "copies sent in all" 1000 "$(out_stat packets)"
echo "# mcrctl status:"; sys_exec mcrctl status --sample 0 2>&1 | sed -n '/^Outputs:/,/^$/p' | sed 's/^/#   /'

# --- the surfaces: signals on the system bus, journal entries ---
sys_exec kill "$(sed -n 's/^pid //p' "$BOOT_DIR/signals.txt")"
wait "$monitor_pid"
# signals PRESENT: how many GroupListenersChanged("out0", "239.2.2.2", PRESENT) busctl saw.
signals() {
    python3 -c 'import re,sys
text = " ".join(open(sys.argv[1]).read().split())
print(len(re.findall(r"Member=GroupListenersChanged [^\u2023]*?STRING \"out0\"; STRING \"239\.2\.2\.2\"; BOOLEAN " + sys.argv[2] + ";", text)))' \
        "$BOOT_DIR/signals.txt" "$1"
}
check_eq "GroupListenersChanged(out0, 239.2.2.2, true) on the system bus" 1 "$(signals true)"
check_eq "GroupListenersChanged(out0, 239.2.2.2, false) on the system bus" 1 "$(signals false)"
entry_of() {
    sys_exec journalctl --no-pager -o json MESSAGE_ID="$1" MCR_INTERFACE=out0 MCR_GROUP=239.2.2.2 2>/dev/null |
        python3 -c 'import json,sys
for line in sys.stdin:
    e = json.loads(line)
    print(e["MESSAGE"], e.get("MCR_PROTOCOL"), e.get("_SYSTEMD_UNIT"))'
}
check_eventually "the first-listener entry (MESSAGE_ID $JOINED)" \
    "Group 239.2.2.2 on out0 has its first listener IGMP mcrd.service" 10 entry_of "$JOINED"
check_eventually "the last-leave entry (MESSAGE_ID $LEFT)" \
    "Group 239.2.2.2 on out0 lost its last listener IGMP mcrd.service" 10 entry_of "$LEFT"
finish
