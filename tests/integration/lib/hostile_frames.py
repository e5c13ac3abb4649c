#!/usr/bin/python3
# Floods an interface with malformed and borderline Ethernet frames for
# test_hostile_traffic.sh (IPv4) and test_hostile_ipv6.sh (IPv6). Each kind
# is built once with scapy and sent as raw bytes from an AF_PACKET socket
# (scapy's own sendp manages ~2 000 frames/s; this sends tens of
# thousands), kinds interleaved round-robin, paced to RATE frames/s, bounded
# by COUNT rounds and a 60 s deadline.
#
#   hostile_frames.py IFACE ROUNDS RATE RESULT.json [ipv4|ipv6]  -> {"kind": sent, ...}
#
# IPv4 groups (test_hostile_traffic's rules): 239.1.1.1:5000 valid stream,
# 239.1.1.2:5000 zero-checksum, 239.1.1.3:5000 TTL, 239.1.1.4:5000 oversize,
# 239.1.19.136:5000 bad IHL (see test_malformed.sh for why that group).
# IPv6 groups (test_hostile_ipv6's rules), source 2001:db8:1::2:
# [ff3e::1]:5000 valid stream and the broken kinds, [ff3e::2]:5000
# hop-by-hop options (walked, relayed), [ff3e::3]:5000 hop limit 0 and 1.
import json
import logging
import random
import socket
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # no route warnings in our output
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPOption_Router_Alert, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, RouterAlert, conf)

SOURCE = "192.0.2.2"
PAYLOAD = b"H" * 64


def multicast_mac(group):
    octets = [int(x) for x in group.split(".")]
    return "01:00:5e:%02x:%02x:%02x" % (octets[1] & 0x7F, octets[2], octets[3])


def ip_udp(group, payload=PAYLOAD, ip_fields=None, udp_fields=None):
    eth = Ether(dst=multicast_mac(group), type=0x0800)
    ip = IP(**{"src": SOURCE, "dst": group, "ttl": 16, **(ip_fields or {})})
    return eth / ip / UDP(sport=40000, dport=5000, **(udp_fields or {})) / Raw(payload)


def zero_checksum(group):
    # Valid: a UDP checksum of 0 means "none" and must be relayed as 0.
    frame = bytearray(bytes(ip_udp(group)))
    frame[14 + 20 + 6:14 + 20 + 8] = b"\x00\x00"
    return bytes(frame)


def frames():
    g = "239.1.1.1"
    garbage = random.Random(9)
    kinds = {
        # Broken headers: the parser counts them as malformed.
        "truncated": bytes(ip_udp(g, ip_fields={"len": 20 + 8 + 64}, udp_fields={"len": 8 + 64}))[:14 + 20 + 8 + 16],
        "ihl_short": bytes(ip_udp("239.1.19.136", ip_fields={"ihl": 4})),
        "bad_total_length": bytes(ip_udp(g, ip_fields={"len": 10})),
        "bad_udp_length": bytes(ip_udp(g, udp_fields={"len": 8 + 64 + 100})),
        # Well-formed but not relayable: counted under their own reasons.
        "ip_options": bytes(ip_udp(g, ip_fields={"options": [IPOption_Router_Alert()]})),
        "fragment_first": bytes(ip_udp(g, ip_fields={"flags": "MF", "frag": 0})),
        "fragment_later": bytes(Ether(dst=multicast_mac(g)) / IP(src=SOURCE, dst=g, frag=8, proto=17) / Raw(PAYLOAD)),
        "ttl0": bytes(ip_udp("239.1.1.3", ip_fields={"ttl": 0})),
        "ttl1": bytes(ip_udp("239.1.1.3", ip_fields={"ttl": 1})),
        "oversize": bytes(ip_udp("239.1.1.4", payload=b"O" * 1600)),
        # Borderline but valid: relayed.
        "zero_checksum": zero_checksum("239.1.1.2"),
        # Never reach the worker: the ingress filter drops them in the kernel.
        "vlan_tagged": bytes(Ether(dst=multicast_mac(g)) / Dot1Q(vlan=100) /
                             IP(src=SOURCE, dst=g, ttl=16) / UDP(sport=40000, dport=5000) / Raw(PAYLOAD)),
        "arp": bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=SOURCE, pdst="192.0.2.1")),
        "ipv6": bytes(Ether(dst="33:33:00:00:00:01") / IPv6(src="2001:db8::2", dst="ff15::1") /
                      UDP(sport=40000, dport=5000) / Raw(PAYLOAD)),
        "local_experimental": bytes(Ether(dst=multicast_mac(g), type=0x88B5) / Raw(PAYLOAD)),
        "icmp": bytes(Ether(dst=multicast_mac(g)) / IP(src=SOURCE, dst=g) / ICMP() / Raw(PAYLOAD)),
        "tcp": bytes(Ether(dst=multicast_mac(g)) / IP(src=SOURCE, dst=g) / TCP(sport=40000, dport=5000)),
        "garbage": bytes(Ether(dst=multicast_mac(g), type=0x1234) /
                         Raw(bytes(garbage.randrange(256) for _ in range(200)))),
    }
    return kinds


SOURCE6 = "2001:db8:1::2"


def ipv6_mac(group):
    # RFC 2464: 33:33 and the group's low 32 bits.
    low = socket.inet_pton(socket.AF_INET6, group)[12:]
    return "33:33:" + ":".join("%02x" % b for b in low)


def ip6_udp(group, extensions=(), payload=PAYLOAD, hlim=16):
    packet = IPv6(src=SOURCE6, dst=group, hlim=hlim)
    for header in extensions:
        packet = packet / header
    return Ether(dst=ipv6_mac(group), type=0x86DD) / packet / UDP(sport=40000, dport=5000) / Raw(payload)


def udp6_with_checksum(group, checksum):
    frame = bytearray(bytes(ip6_udp(group)))
    frame[14 + 40 + 6:14 + 40 + 8] = checksum
    return bytes(frame)


def frames6():
    g = "ff3e::1"
    valid = bytes(ip6_udp(g))
    payload_length_at = 14 + 4
    kinds = {
        # malformed: the base header cut short (the destination address
        # too: no rule can be matched, the ingress filter drops it in the
        # kernel); the UDP header cut after its ports; a payload length
        # past the frame.
        "truncated_base": valid[:14 + 30],
        "truncated_udp": valid[:14 + 40 + 4],
        "payload_length": valid[:payload_length_at] + (40 + 8 + 64 + 100).to_bytes(2, "big") + valid[payload_length_at + 2:],
        # ipv6_extension_chain: a destination options header claiming
        # (200 + 1) * 8 bytes in an 88-byte packet; nine of them in a row (the
        # relay walks at most eight); hop-by-hop after another header (it
        # may only come first).
        "extension_overlong": bytes(ip6_udp(g, [IPv6ExtHdrDestOpt(len=200)])),
        "extension_repeated": bytes(ip6_udp(g, [IPv6ExtHdrDestOpt() for _ in range(9)])),
        "hop_by_hop_late": bytes(ip6_udp(g, [IPv6ExtHdrDestOpt(), IPv6ExtHdrHopByHop(options=[RouterAlert()])])),
        # ipv6_fragment, ipv6_routing_header.
        "fragment": bytes(ip6_udp(g, [IPv6ExtHdrFragment(id=7, m=1, offset=0)])),
        "routing": bytes(ip6_udp(g, [IPv6ExtHdrRouting(addresses=[], segleft=0)])),
        # zero_udp_checksum: 0 is no checksum in IPv4, invalid in IPv6 (RFC 8200).
        "zero_checksum": udp6_with_checksum(g, b"\x00\x00"),
        # ttl_expired of rule hl.
        "hop_limit0": bytes(ip6_udp("ff3e::3", hlim=0)),
        "hop_limit1": bytes(ip6_udp("ff3e::3", hlim=1)),
        # Valid: hop-by-hop (router alert) and destination options are
        # walked; the copy carries neither.
        "hop_by_hop": bytes(ip6_udp("ff3e::2", [IPv6ExtHdrHopByHop(options=[RouterAlert()]), IPv6ExtHdrDestOpt()])),
    }
    return kinds


def main():
    if len(sys.argv) not in (5, 6) or sys.argv[5:] not in ([], ["ipv4"], ["ipv6"]):
        raise SystemExit("usage: hostile_frames.py IFACE ROUNDS RATE RESULT.json [ipv4|ipv6]")
    iface, rounds, rate, result = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if not 1 <= rounds <= 100000 or not 1 <= rate <= 200000:
        raise SystemExit("ROUNDS must be 1..100000, RATE 1..200000")
    conf.verb = 0
    kinds = frames6() if sys.argv[5:] == ["ipv6"] else frames()
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    sent = dict.fromkeys(kinds, 0)
    items = list(kinds.items())
    start = time.monotonic()
    deadline = start + 60
    for r in range(rounds):
        for name, data in items:
            sock.send(data)
            sent[name] += 1
        # Pace: after each round, sleep until the schedule catches up.
        due = start + (r + 1) * len(items) / rate
        now = time.monotonic()
        if now > deadline:
            break
        if due > now:
            time.sleep(due - now)
    sent["_seconds"] = round(time.monotonic() - start, 2)
    with open(result, "w") as f:
        json.dump(sent, f)


if __name__ == "__main__":
    main()
