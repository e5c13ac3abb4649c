#!/bin/bash
# The worker's two ingress sockets (one fanout group: a quiet socket read
# frame by frame while traffic is light, the ring once it is heavy) move the
# traffic between them without losing, duplicating or reordering a frame: a
# ramp of 1 kpps, 100 kpps, 1 kpps (three streams, 1 000 + 50 000 + 1 000
# datagrams) reaches the sink exactly once each and in order, and the
# worker's stats say it switched to the ring once and back to quiet once.
# IPv6 has a pair of its own ("ingress6", "ingress6-quiet"; a fanout group
# holds one protocol): the same worker then takes an IPv6 ramp (1 000 +
# 20 000 + 1 000) the same way, switching its IPv6 pair only.
# Then a worker given "ingress" and "ingress6" alone (the FD store of an
# older supervisor) reads their rings alone, without loss, and so does a
# worker started with --receive-mode ring-only, its IPv6 stream sent with
# checksum offload on (the ring flags the partial sum, the worker completes it).
#
#   +------------------+     +----------------------+     +------------+
#   | src eth0         |-----| in0   relay     out0 |-----| sink0 eth0 |
#   | 192.0.2.2        |     | 192.0.2.1            |     |            |
#   | 2001:db8:1::2/64 |     | 2001:db8:1::1/64     |     |            |
#   +------------------+     +----------------------+     +------------+
#   ramp:  239.1.1.1:5000 -> out0 239.2.2.1:6000
#   ramp6: [ff3e::1]:5000 -> out0 [ff3e::11]:6000
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly SLOW=1000 FAST=50000 FAST6=20000 FAST_RATE=100000
readonly TOTAL=$((SLOW + FAST + SLOW)) TOTAL6=$((SLOW + FAST6 + SLOW))
relay_topology_ipv6 1
readonly RULE='name=ramp in=in0:239.1.1.1:5000 out=out0:239.2.2.1:6000'
readonly RULE6='name=ramp6 in=in0:[ff3e::1]:5000 out=out0:[ff3e::11]:6000'

# check_sink NAME EXPECTED: every datagram once, none lost or out of order.
check_sink() {
    local report
    report=$(scratch "$1.json")
    check_eq "$1 unique" "$2" "$(json_get "$report" unique)"
    check_eq "$1 lost" 0 "$(json_get "$report" lost)"
    check_eq "$1 duplicated" 0 "$(json_get "$report" duplicated)"
    check_eq "$1 reordered" 0 "$(json_get "$report" reordered)"
}

worker_start relay w in0 "$RULE" "$RULE6"
check_eq "mode at start" quiet "$(worker_stat w receive.mode)"
check_eq "IPv6 mode at start" quiet "$(worker_stat w receive6.mode)"
gen_recv_start sink0 r --group 239.2.2.1 --port 6000 --interface eth0 --duration 60 --expect "$TOTAL"
gen_send src slow1 --group 239.1.1.1 --port 5000 --interface eth0 --rate "$SLOW" --size 64 --count "$SLOW"
gen_send src fast --group 239.1.1.1 --port 5000 --interface eth0 --rate "$FAST_RATE" --size 64 --count "$FAST"
gen_send src slow2 --group 239.1.1.1 --port 5000 --interface eth0 --rate "$SLOW" --size 64 --count "$SLOW"
gen_recv_wait r 20 || die "sink0: $(cat "$(scratch r.json)")"
# The last stats file is written within 200 ms, after the mode settled.
# The rule's count, not ingress.frames: with IPv6 on the link the IPv6
# sockets also take the odd MLD report (counted not_matched).
wait_stat w rules.name=ramp.packets "$TOTAL" 5
wait_stat w receive.mode quiet 5
check_eq "IPv6 switches while IPv4 ramps" 0 "$(worker_stat w receive6.to_ring)"

gen_recv_start sink0 r6 --group ff3e::11 --port 6000 --interface eth0 --duration 60 --expect "$TOTAL6"
gen_send src slow6 --group ff3e::1 --port 5000 --interface eth0 --rate "$SLOW" --size 64 --count "$SLOW"
gen_send src fast6 --group ff3e::1 --port 5000 --interface eth0 --rate "$FAST_RATE" --size 64 --count "$FAST6"
gen_send src slow7 --group ff3e::1 --port 5000 --interface eth0 --rate "$SLOW" --size 64 --count "$SLOW"
gen_recv_wait r6 20 || die "sink0: $(cat "$(scratch r6.json)")"
wait_stat w rules.name=ramp6.packets "$TOTAL6" 5
wait_stat w receive6.mode quiet 5
worker_stop w
check_sink r6 "$TOTAL6"
check_eq "IPv6 rule packets" "$TOTAL6" "$(worker_stat w rules.name=ramp6.packets)"
check_eq "IPv6 quiet backlog discarded" 0 "$(worker_stat w receive6.discarded)"
check_eq "IPv6 switches to the ring" 1 "$(worker_stat w receive6.to_ring)"
check_eq "IPv6 switches back to quiet" 1 "$(worker_stat w receive6.to_quiet)"
check_eq "IPv6 mode at the end" quiet "$(worker_stat w receive6.mode)"
check_sink r "$TOTAL"
check_eq "rule packets" "$TOTAL" "$(worker_stat w rules.name=ramp.packets)"
check_eq "kernel drops" 0 "$(worker_stat w kernel.drops)"
# Only a full ring makes the worker drop the quiet socket's backlog.
check_eq "quiet backlog discarded" 0 "$(worker_stat w receive.discarded)"
check_eq "switches to the ring" 1 "$(worker_stat w receive.to_ring)"
check_eq "switches back to quiet" 1 "$(worker_stat w receive.to_quiet)"
check_eq "mode at the end" quiet "$(worker_stat w receive.mode)"

MCRT_INGRESS_RING_ONLY=1 worker_start relay old in0 "$RULE" "$RULE6"
check_eq "mode with \"ingress\" alone" ring "$(worker_stat old receive.mode)"
check_eq "IPv6 mode with \"ingress6\" alone" ring "$(worker_stat old receive6.mode)"
gen_recv_start sink0 r2 --group 239.2.2.1 --port 6000 --interface eth0 --duration 60 --expect "$SLOW"
gen_recv_start sink0 r2v6 --group ff3e::11 --port 6000 --interface eth0 --duration 60 --expect "$SLOW"
gen_send src slow3 --group 239.1.1.1 --port 5000 --interface eth0 --rate "$SLOW" --size 64 --count "$SLOW"
gen_send src slow3v6 --group ff3e::1 --port 5000 --interface eth0 --rate "$SLOW" --size 64 --count "$SLOW"
gen_recv_wait r2 20 || die "sink0: $(cat "$(scratch r2.json)")"
gen_recv_wait r2v6 20 || die "sink0: $(cat "$(scratch r2v6.json)")"
worker_stop old
check_sink r2 "$SLOW"
check_sink r2v6 "$SLOW"
check_eq "switches with \"ingress\" alone" 0 "$(worker_stat old receive.to_ring)"
check_eq "IPv6 switches with \"ingress6\" alone" 0 "$(worker_stat old receive6.to_ring)"

# --receive-mode ring-only: both sockets, the ring at every rate, no switch.
# The IPv6 stream is sent with checksum offload on (CHECKSUM_PARTIAL, as
# from a container on the relay's host): a ring has no virtio_net_hdr, the
# worker completes the sum from the flag and the IPv6 header, and the sink's
# kernel drops every copy it got wrong.
MCRD_WORKER_ARGS="${MCRD_WORKER_ARGS:-} --receive-mode ring-only" worker_start relay only in0 "$RULE" "$RULE6"
check_eq "mode with ring-only" ring "$(worker_stat only receive.mode)"
check_eq "IPv6 mode with ring-only" ring "$(worker_stat only receive6.mode)"
gen_recv_start sink0 r3 --group 239.2.2.1 --port 6000 --interface eth0 --duration 60 --expect "$SLOW"
gen_recv_start sink0 r3v6 --group ff3e::11 --port 6000 --interface eth0 --duration 60 --expect "$SLOW"
gen_send src slow4 --group 239.1.1.1 --port 5000 --interface eth0 --rate "$SLOW" --size 64 --count "$SLOW"
ns_exec src ethtool -K eth0 tx on >/dev/null
gen_send src slow4v6 --group ff3e::1 --port 5000 --interface eth0 --rate "$SLOW" --size 64 --count "$SLOW"
gen_recv_wait r3 20 || die "sink0: $(cat "$(scratch r3.json)")"
gen_recv_wait r3v6 20 || die "sink0: $(cat "$(scratch r3v6.json)")"
worker_stop only
check_sink r3 "$SLOW"
check_sink r3v6 "$SLOW"
check_eq "switches with ring-only" 0 "$(worker_stat only receive.to_quiet)"
check_eq "mode at the end with ring-only" ring "$(worker_stat only receive.mode)"
finish "$TOTAL IPv4 and $TOTAL6 IPv6 datagrams over 1/100/1 kpps ramps arrived once and in order across two switches per family; \"ingress\" and \"ingress6\" alone still relay"
