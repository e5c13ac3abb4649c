#!/bin/bash
# mcrgen send --raw: whole Ethernet frames through an AF_PACKET socket.
# Every refusal has its message and exit status (2 usage, 3 runtime: no
# CAP_NET_RAW, no such interface, not Ethernet, no address, above the MTU),
# and N frames sent over a veth pair arrive N times at an mcrgen receiver
# (no loss, no corruption) with IPv4 header and UDP checksums that tshark
# verifies, for IPv4, IPv6 with --rtp, unicast with --dst-mac, and --source;
# with --no-retry, frames the device refuses count as sent and refused.
#
#   +-----------------------+        +-----------------------+
#   | src eth0              |--------| sink eth0             |
#   | 192.0.2.2/24          |        | 192.0.2.3/24          |
#   | 2001:db8:1::2/64      |        | 2001:db8:1::3/64      |
#   | mcrgen send --raw     |        | mcrgen recv, tshark   |
#   +-----------------------+        +-----------------------+
#   src v6off: a veth end with IPv6 disabled (no address to send from) and
#   a 0-length FIFO qdisc (every frame refused)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_mcrgen
require_tools setpriv

ns_create src; ns_create sink
veth_add src eth0 sink eth0
addr_add src eth0 192.0.2.2/24
addr_add sink eth0 192.0.2.3/24
addr_add src eth0 2001:db8:1::2/64
addr_add sink eth0 2001:db8:1::3/64
ip -n "$(ns_name src)" link add v6off type veth peer name v6off-peer
ns_exec src sysctl -qw net.ipv6.conf.v6off.disable_ipv6=1
ip -n "$(ns_name src)" link set v6off up
ip -n "$(ns_name src)" link set v6off-peer up
# A FIFO of length 0: the device refuses every frame (NET_XMIT_DROP, ENOBUFS).
ns_exec src tc qdisc replace dev v6off root pfifo limit 0 || die "cannot add a 0-length pfifo to v6off"

# refused STATUS TEXT mcrgen-send-args...: run in src, exit STATUS, TEXT on stderr.
refused() {
    local want=$1 text=$2 status=0; shift 2
    local size=(--size 64)
    [[ " $* " != *" --size "* ]] || size=()
    ns_exec src "${prefix[@]}" "$MCRGEN" send --port 5000 --rate 10 --count 1 "${size[@]}" "$@" \
        >/dev/null 2>"$(scratch err)" || status=$?
    check_eq "exit status of mcrgen send $*" "$want" "$status"
    if grep -qF -- "$text" "$(scratch err)"; then ok "refused ($text): ${prefix[*]} mcrgen send $*"
    else fail "mcrgen send $*: stderr lacks '$text': $(cat "$(scratch err)")"; fi
}
prefix=()
refused 2 "--raw needs --interface" --raw --group 239.1.1.1
refused 2 "--dst-mac needs --raw" --group 239.1.1.1 --interface eth0 --dst-mac 02:00:00:00:00:01
refused 2 "is not a MAC address" --raw --interface eth0 --group 239.1.1.1 --dst-mac 02:00:00:00:00
refused 2 "needs --dst-mac" --raw --interface eth0 --group 192.0.2.3
refused 2 "use --force" --raw --interface eth0 --group 8.8.8.8 --dst-mac 02:00:00:00:00:01
refused 2 "is outside 239.0.0.0/8" --raw --interface eth0 --group 224.0.0.1
refused 3 "no interface 'nope0'" --raw --interface nope0 --group 239.1.1.1
refused 3 "'lo' is not an Ethernet interface" --raw --interface lo --group 239.1.1.1
refused 3 "'v6off' has no IPv6 address to send from: give --source" --raw --interface v6off --group ff3e::1
refused 3 "above the MTU of eth0 (1500)" --raw --interface eth0 --group 239.1.1.1 --size 1473
refused 3 "above the MTU of eth0 (1500)" --raw --interface eth0 --group ff3e::1 --size 1453
# Root without CAP_NET_RAW (dropped from the bounding set before exec).
prefix=(setpriv --bounding-set=-net_raw --)
refused 3 "needs the CAP_NET_RAW capability" --raw --interface eth0 --group 239.1.1.1
prefix=()

# --no-retry: v6off refuses every frame (ENOBUFS); each counts as sent and
# refused, none is sent again.
ns_exec src "$MCRGEN" send --raw --no-retry --interface v6off --source 192.0.2.9 --group 239.1.1.1 --port 5000 \
    --rate 0 --size 64 --count 300 --json >"$(scratch refused.json)" || fail "send --no-retry to a refusing device failed"
check_eq "sent with --no-retry to a refusing device" 300 "$(json_get "$(scratch refused.json)" sent)"
check_eq "refused with --no-retry to a refusing device" 300 "$(json_get "$(scratch refused.json)" refused)"

# The largest frames the MTU allows are sent (1472 + 28, 1452 + 48 = 1500).
# Paced, so that tshark keeps up and the capture holds every frame.
capture_start sink eth0 c "udp port 5000 or udp port 5001 or udp port 5002 or udp port 5003"
n=2000
# raw_round_trip TAG GROUP PORT RECV-ARGS -- SEND-ARGS: N frames, all received.
raw_round_trip() {
    local tag=$1 group=$2 port=$3 recv_args=() key; shift 3
    while [ "$1" != -- ]; do recv_args+=("$1"); shift; done; shift
    gen_recv_start sink "$tag" --group "$group" --port "$port" --interface eth0 --duration 20 --expect "$n" \
        "${recv_args[@]}"
    gen_send src "${tag}_send" --raw --interface eth0 --group "$group" --port "$port" --rate 20000 --count "$n" "$@"
    gen_recv_wait "$tag" 5 || true
    check_eq "$tag sent" "$n" "$(json_get "$(scratch "${tag}_send.json")" sent)"
    for key in unique:$n lost:0 duplicated:0 corrupt:0 invalid:0; do
        check_eq "$tag received ${key%%:*}" "${key#*:}" "$(json_get "$(scratch "$tag.json")" "${key%%:*}")"
    done
}
raw_round_trip v4 239.1.2.3 5000 -- --size 1472 --ttl 7
raw_round_trip v6 ff3e::1:2 5001 --rtp -- --size 1452 --ttl 9 --rtp
raw_round_trip unicast 192.0.2.3 5002 -- --size 100 --dst-mac "$(mac_of sink eth0)"
raw_round_trip spoofed 239.1.2.4 5003 -- --size 64 --source 198.51.100.7
capture_stop c

src_mac=$(mac_of src eth0)
check_eq "IPv4 frames: group MAC, TTL 7, both checksums good" "$n" \
    "$(capture_count c eth.src="$src_mac" eth.dst=01:00:5e:01:02:03 ip.src=192.0.2.2 ip.dst=239.1.2.3 ip.ttl=7 \
        ip.checksum.status=1 udp.srcport=5000 udp.dstport=5000 udp.length=1480 udp.checksum.status=1)"
check_eq "IPv6 frames: group MAC, hop limit 9, UDP checksum good" "$n" \
    "$(capture_count c eth.src="$src_mac" eth.dst=33:33:00:01:00:02 ipv6.src=2001:db8:1::2 ipv6.dst=ff3e::1:2 \
        ipv6.hlim=9 udp.dstport=5001 udp.length=1460 udp.checksum.status=1)"
check_eq "unicast frames to --dst-mac, checksums good" "$n" \
    "$(capture_count c eth.dst="$(mac_of sink eth0)" ip.dst=192.0.2.3 ip.ttl=16 ip.checksum.status=1 \
        udp.dstport=5002 udp.checksum.status=1)"
check_eq "frames from --source 198.51.100.7, checksums good" "$n" \
    "$(capture_count c ip.src=198.51.100.7 ip.dst=239.1.2.4 ip.checksum.status=1 udp.dstport=5003 udp.checksum.status=1)"
# With the four counts above, every captured frame had good checksums.
check_eq "frames captured" "$((4 * n))" "$(wc -l <"$(scratch c.fields)")"
finish "mcrgen send --raw refuses bad input and sends exact, valid frames over IPv4 and IPv6"
