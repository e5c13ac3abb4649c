#!/bin/bash
# IPv6 through the worker, exact counts everywhere:
#   one: 1 -> 1, group and port rewritten, 100 000 paced packets
#   fan: 1 -> 3, each output its own group and port, 100 000 paced packets,
#        the three output counters equal to the rule's
#   uni: multicast in, unicast IPv6 out (the relay's UDP socket, kernel routing)
#   ssm: source-specific input: the stream from 2001:db8:1::2 is relayed,
#        the same group and port from 2001:db8:1::3 is not
#   ext: tools none of us wrote on both sides: socat UDP6-SENDTO sends a
#        file as datagrams, socat UDP6-RECV (MLD join) writes what arrives;
#        the two files are identical
# The relay's MLD joins of every input group (the SSM one with its source)
# show in its namespace while the worker runs. ~25 s.
#
#   +------------------+     +----------------------------+     +--------------------+
#   | src eth0         |-----| in0 2001:db8:1::1     out0 |-----| sink0 2001:db8:100::2
#   | 2001:db8:1::2/64 |     |      relay            out1 |-----| sink1 2001:db8:101::2
#   | 2001:db8:1::3/64 |     |                       out2 |-----| sink2 2001:db8:102::2
#   +------------------+     |  uc0 2001:db8:200::1/64    |-----| ucast 2001:db8:200::2
#                            +----------------------------+     +--------------------+
#   one: [ff3e::1]:5000 -> out0 [ff3e::11]:6000
#   fan: [ff3e::2]:5000 -> out0 [ff3e::21]:6001, out1 [ff3e::22]:6002, out2 [ff3e::23]:6003
#   uni: [ff3e::3]:5000 -> uc0 [2001:db8:200::2]:7000
#   ext: [ff15::5]:5000 -> out1 [ff15::51]:6005
#   ssm: [ff3e::4]:5000 from 2001:db8:1::2 -> out0 [ff3e::41]:6004
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker
require_tools socat cmp

readonly PACKETS=100000 RATE=20000 SMALL=2000 EXTERNAL=1000 EXTERNAL_SIZE=100
relay_topology_ipv6 3
addr_add src eth0 2001:db8:1::3/64
ns_create ucast
veth_add relay uc0 ucast eth0
addr_add relay uc0 2001:db8:200::1/64
addr_add ucast eth0 2001:db8:200::2/64
# Neighbour pinned: packets queued behind neighbour discovery could be dropped.
neigh_pin relay uc0 2001:db8:200::2 ucast eth0

worker_start relay w in0 \
    'name=one in=in0:[ff3e::1]:5000 out=out0:[ff3e::11]:6000' \
    'name=fan in=in0:[ff3e::2]:5000 out=out0:[ff3e::21]:6001 out=out1:[ff3e::22]:6002 out=out2:[ff3e::23]:6003' \
    'name=uni in=in0:[ff3e::3]:5000 out=uc0:[2001:db8:200::2]:7000' \
    'name=ext in=in0:[ff15::5]:5000 out=out1:[ff15::51]:6005' \
    'name=ssm in=in0:[ff3e::4]:5000 source=2001:db8:1::2 out=out0:[ff3e::41]:6004'

# MLD joins on in0 (the kernel's view, as a snooping switch would learn it).
joined=$(ip -n "$(ns_name relay)" -6 maddr show dev in0)
for group in ff3e::1 ff3e::2 ff3e::3 ff3e::4 ff15::5; do
    if grep -qw "inet6 $group" <<<"$joined"; then ok "relay joined $group on in0"
    else fail "relay has not joined $group on in0: $joined"; fi
done
# The SSM join includes exactly its source (INCLUDE count 1 in mcfilter6).
# The ssm rule comes last, so its group is joined last: /proc/net/mcfilter6
# starts its walk only at an interface whose newest group has sources
# (igmp6_mcf_get_first looks at the head of each mc_list alone).
ssm_filter=$(ns_exec relay awk '$3 == "ff3e0000000000000000000000000004" {print $4, $5}' /proc/net/mcfilter6)
check_eq "relay's source filter for ff3e::4" "20010db8000100000000000000000002 1" "$ssm_filter"

# one and fan, one after the other (each at the IPv4 rate test's rate).
gen_recv_start sink0 one --group ff3e::11 --port 6000 --interface eth0 --duration 90 --expect "$PACKETS"
gen_send src one-s --group ff3e::1 --port 5000 --interface eth0 --rate "$RATE" --size 256 --count "$PACKETS"
gen_recv_wait one 30 || die "sink0: $(cat "$(scratch one.json)")"
for i in 0 1 2; do
    gen_recv_start "sink$i" "fan$i" --group "ff3e::2$((i + 1))" --port "$((6001 + i))" --interface eth0 \
        --duration 90 --expect "$PACKETS"
done
gen_send src fan-s --group ff3e::2 --port 5000 --interface eth0 --rate "$RATE" --size 256 --count "$PACKETS"
for i in 0 1 2; do gen_recv_wait "fan$i" 30 || die "sink$i: $(cat "$(scratch "fan$i.json")")"; done

# uni and ssm (the intruder's stream first: nothing of it may arrive).
gen_recv_start ucast uni --group 2001:db8:200::2 --port 7000 --interface eth0 --duration 60 --expect "$SMALL"
gen_recv_start sink0 ssm --group ff3e::41 --port 6004 --interface eth0 --duration 60 --expect "$SMALL"
gen_send src intruder --group ff3e::4 --port 5000 --source 2001:db8:1::3 --rate 10000 --size 100 --count "$SMALL"
gen_send src ssm-s --group ff3e::4 --port 5000 --source 2001:db8:1::2 --rate 10000 --size 100 --count "$SMALL"
gen_send src uni-s --group ff3e::3 --port 5000 --interface eth0 --rate 10000 --size 100 --count "$SMALL"
gen_recv_wait uni 30 || die "ucast: $(cat "$(scratch uni.json)")"
gen_recv_wait ssm 30 || die "sink0 ssm: $(cat "$(scratch ssm.json)")"

# ext: socat on both sides. The sender reads EXTERNAL_SIZE bytes per
# datagram from a regular file (whole reads); hop limit 8 (IPV6_MULTICAST_HOPS,
# option 18 of level 41: the default 1 would expire at the relay).
head -c "$((EXTERNAL * EXTERNAL_SIZE))" /dev/urandom >"$(scratch ext.in)"
bg_start sink1 "$(scratch socat-recv.log)" timeout 60 socat -u \
    "UDP6-RECV:6005,so-bindtodevice=eth0,ipv6-join-group=[ff15::51]:eth0,rcvbuf=8388608" \
    "OPEN:$(scratch ext.out),creat,trunc"
socat_recv=$BG_PID
wait_until 15 "socat to join ff15::51" sh -c "ip -n $(ns_name sink1) -6 maddr show dev eth0 | grep -qw ff15::51"
timeout 60 ip netns exec "$(ns_name src)" socat -u -b "$EXTERNAL_SIZE" "OPEN:$(scratch ext.in)" \
    "UDP6-SENDTO:[ff15::5]:5000,so-bindtodevice=eth0,setsockopt-int=41:18:8" \
    2>"$(scratch socat-send.log)" || die "socat sender failed: $(cat "$(scratch socat-send.log)")"
wait_stat w rules.name=ext.outputs.0.packets "$EXTERNAL"
wait_until 15 "socat to write every datagram" \
    test "$(stat -c %s "$(scratch ext.out)")" -ge "$((EXTERNAL * EXTERNAL_SIZE))"
stop_pid "$socat_recv" || true
worker_stop w

for r in one fan0 fan1 fan2; do check_received "$r" "$PACKETS"; done
check_relayed w one "$PACKETS"
check_relayed w fan "$PACKETS"
for i in 0 1 2; do
    check_eq "rule fan out$i bytes" "$((PACKETS * 256))" "$(worker_stat w "rules.name=fan.outputs.interface=out$i.bytes")"
done
for r in uni ssm; do
    check_received "$r" "$SMALL"
    check_relayed w "$r" "$SMALL"
done
check_eq "ssm: one stream at the sink (the intruder's never)" 1 "$(json_get "$(scratch ssm.json)" streams)"
check_eq "ext datagrams relayed" "$EXTERNAL" "$(worker_stat w rules.name=ext.packets)"
if cmp -s "$(scratch ext.in)" "$(scratch ext.out)"; then ok "socat received the file socat sent, byte for byte"
else fail "socat received $(stat -c %s "$(scratch ext.out)") bytes that differ from the $((EXTERNAL * EXTERNAL_SIZE)) sent"; fi
check_eq "kernel drops" 0 "$(worker_stat w kernel.drops)"
for r in one fan ssm ext; do check_path w "$r" tc; done
check_path w uni userspace unicast-output
check_fast_share w one "$PACKETS"
check_fast_share w fan "$PACKETS"
check_fast_share w ssm "$SMALL"
check_fast_share w ext "$EXTERNAL"
check_fast_share w uni 0
finish "IPv6: 1->1 and 1->3 with $PACKETS packets each, unicast, SSM and socat<->socat relayed exactly"
