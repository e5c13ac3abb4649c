#!/usr/bin/python3
"""MLD from a host on a relay's output segment, for test_listeners_ipv6.sh and
test_mld_querier.sh:
hostile reports and queries, a report flood, or general queries from a
competing querier. Frames are built with scapy (each kind once; the flood
patches the group and checksum of one template, as scapy builds only a few
thousand frames a second) and sent as raw bytes from an AF_PACKET socket,
so that the IPv6 header says exactly what the test wants (hop limit, source,
Hop-by-Hop options). Every mode is bounded in count and time.

  mld_sender.py --interface eth0 [--query] [--source ADDR] MODE COUNT
  MODE: one hostile KIND | hostile (every KIND, as report and as query,
        COUNT of each, round-robin) | flood (valid reports for COUNT
        distinct groups ff3e::100:0, ...) | query (valid general queries)
  KIND: bad-checksum | truncated | long-sources | no-alert | no-hop-by-hop |
        hop-limit | global-source
  --query: a hostile KIND as MLDv2 general queries instead of reports.
  --source: the IPv6 source (default: the interface's link-local address).
"""
import argparse
import logging
import socket
import struct
import time

from internet_checksum import internet_checksum

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (Ether, ICMPv6MLDMultAddrRec, ICMPv6MLQuery2, ICMPv6MLReport2, IPv6, IPv6ExtHdrHopByHop,
                       PadN, RouterAlert)

ETHER_BYTES = 14
IPV6_BYTES = 40
GLOBAL_SOURCE = "2001:db8:100::99"  # on the segment's prefix, but not link-local (RFC 3810 5.1.14)
REPORT_GROUP = "ff3e::50:1"
KINDS = ["bad-checksum", "truncated", "long-sources", "no-alert", "no-hop-by-hop", "hop-limit", "global-source"]


def link_local_of(interface):
    with open("/proc/net/if_inet6") as table:
        for line in table:
            address, _, _, scope, _, name = line.split()
            if name == interface and scope == "20":  # IFA_LINK
                return socket.inet_ntop(socket.AF_INET6, bytes.fromhex(address))
    raise SystemExit("no link-local address on " + interface)


def reseal(frame, icmp_at):
    """Sets the IPv6 payload length and the ICMPv6 checksum of `frame` (bytes)
    after an edit of its ICMPv6 message, which starts at `icmp_at`."""
    frame = bytearray(frame)
    frame[ETHER_BYTES + 4:ETHER_BYTES + 6] = struct.pack("!H", len(frame) - ETHER_BYTES - IPV6_BYTES)
    frame[icmp_at + 2:icmp_at + 4] = b"\0\0"
    message = bytes(frame[icmp_at:])
    source = bytes(frame[ETHER_BYTES + 8:ETHER_BYTES + 24])
    destination = bytes(frame[ETHER_BYTES + 24:ETHER_BYTES + 40])
    pseudo = source + destination + struct.pack("!I3xB", len(message), 58)
    frame[icmp_at + 2:icmp_at + 4] = struct.pack("!H", internet_checksum(pseudo + message))
    return bytes(frame)


def build(args, mac, group=REPORT_GROUP, sources=()):
    """One frame of args.mode (flood and query: valid ones) -> (bytes, ICMPv6 offset)."""
    query = args.query or args.mode == "query"
    destination = "ff02::1" if query else "ff02::16"
    source = GLOBAL_SOURCE if args.mode == "global-source" else args.source
    ip = IPv6(src=source, dst=destination, hlim=2 if args.mode == "hop-limit" else 1)
    if args.mode == "no-alert":
        ip = ip / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 4)])
    elif args.mode != "no-hop-by-hop":
        ip = ip / IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)])
    if query:  # general query: max response 1 s, QRV 2, QQIC 2 s
        icmp = ICMPv6MLQuery2(mrd=1000, mladdr="::", QRV=2, QQIC=2, sources=list(sources))
    else:
        icmp = ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=1 if sources else 2, dst=group,
                                                             sources=list(sources))])
    ether = Ether(src=mac, dst="33:33:" + ":".join("%02x" % b for b in socket.inet_pton(
        socket.AF_INET6, destination)[12:]))
    frame = bytes(ether / ip / icmp)
    icmp_at = len(frame) - len(bytes(icmp))
    return frame, icmp_at


def hostile(args, mac):
    if args.mode == "truncated":
        # A report cut inside its record header (8 + 6 of 8 + 20 bytes);
        # a query cut inside its fixed part (20 of 24 bytes).
        frame, icmp_at = build(args, mac)
        return reseal(frame[:icmp_at + 20 if args.query else icmp_at + 14], icmp_at)
    if args.mode == "long-sources":
        # Two sources present, 1000 claimed (the record's or the query's count).
        frame, icmp_at = build(args, mac, sources=["2001:db8:1::7", "2001:db8:1::8"])
        count_at = icmp_at + (26 if args.query else 8 + 2)
        frame = frame[:count_at] + struct.pack("!H", 1000) + frame[count_at + 2:]
        return reseal(frame, icmp_at)
    frame, icmp_at = build(args, mac)
    if args.mode == "bad-checksum":
        frame = bytearray(frame)
        frame[icmp_at + 2] ^= 0x5A
        return bytes(frame)
    return frame  # no-alert, no-hop-by-hop, hop-limit, global-source: checksums right


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", required=True)
    parser.add_argument("--source")
    parser.add_argument("--query", action="store_true")
    parser.add_argument("--interval-ms", type=float, default=1.0)
    parser.add_argument("mode", choices=KINDS + ["hostile", "flood", "query"])
    parser.add_argument("count", type=int)
    args = parser.parse_args()
    if not 0 < args.count <= 20000:
        parser.error("count must be 1..20000")
    if not 0 <= args.interval_ms <= 5000:
        parser.error("--interval-ms must be 0..5000")
    args.source = args.source or link_local_of(args.interface)
    with open("/sys/class/net/%s/address" % args.interface) as f:
        mac = f.read().strip()

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((args.interface, 0))
    deadline = time.monotonic() + 60
    if args.mode == "flood":
        template, icmp_at = build(args, mac)
        group_at = icmp_at + 8 + 4  # the first record's multicast address
        prefix = socket.inet_pton(socket.AF_INET6, "ff3e::100:0")[:14]
        frames = (reseal(template[:group_at] + prefix + struct.pack("!H", i) + template[group_at + 16:], icmp_at)
                  for i in range(args.count))
    elif args.mode == "hostile":
        kinds = [hostile(argparse.Namespace(**{**vars(args), "mode": kind, "query": query}), mac)
                 for query in (False, True) for kind in KINDS]
        frames = (frame for _ in range(args.count) for frame in kinds)
    else:
        frame = hostile(args, mac) if args.mode != "query" else build(args, mac)[0]
        frames = (frame for _ in range(args.count))
    for frame in frames:
        sock.send(frame)
        if args.interval_ms:
            time.sleep(args.interval_ms / 1000)
        if time.monotonic() > deadline:
            raise SystemExit("mld_sender: 60 s deadline reached")


if __name__ == "__main__":
    main()
