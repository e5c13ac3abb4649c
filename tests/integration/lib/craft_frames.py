#!/usr/bin/python3
# Sends deliberately broken IPv4/UDP frames with scapy for the malformed-frame
# test: each kind breaks exactly one thing the worker's parser checks.
#
#   craft_frames.py IFACE KIND COUNT GROUP PORT
#   KIND: valid ttl0 truncated ihl_short bad_total_length bad_udp_length
#         ip_options fragment_first fragment_later
import sys

from scapy.all import IP, UDP, Ether, IPOption_Router_Alert, Raw, conf, sendp

PAYLOAD = b"M" * 64


def multicast_mac(group):
    octets = [int(x) for x in group.split(".")]
    return "01:00:5e:%02x:%02x:%02x" % (octets[1] & 0x7F, octets[2], octets[3])


def frame(kind, group, port, ident):
    eth = Ether(dst=multicast_mac(group))
    ip = dict(src="192.0.2.2", dst=group, ttl=16, id=ident)
    udp = UDP(sport=40000, dport=port)
    if kind == "valid":
        return eth / IP(**ip) / udp / Raw(PAYLOAD)
    if kind == "ttl0":
        # Well-formed, but no socket can send TTL 0 onto a wire.
        return eth / IP(**dict(ip, ttl=0)) / udp / Raw(PAYLOAD)
    if kind == "truncated":
        # Headers claim 64 payload bytes, the frame carries 16.
        return eth / IP(len=20 + 8 + len(PAYLOAD), **ip) / UDP(sport=40000, dport=port, len=8 + len(PAYLOAD)) / Raw(PAYLOAD[:16])
    if kind == "ihl_short":
        return eth / IP(ihl=4, **ip) / udp / Raw(PAYLOAD)
    if kind == "bad_total_length":
        # Shorter than its own 20-byte header.
        return eth / IP(len=10, **ip) / udp / Raw(PAYLOAD)
    if kind == "bad_udp_length":
        return eth / IP(**ip) / UDP(sport=40000, dport=port, len=8 + len(PAYLOAD) + 100) / Raw(PAYLOAD)
    if kind == "ip_options":
        return eth / IP(options=[IPOption_Router_Alert()], **ip) / udp / Raw(PAYLOAD)
    if kind == "fragment_first":
        return eth / IP(flags="MF", frag=0, **ip) / udp / Raw(PAYLOAD)
    if kind == "fragment_later":
        return eth / IP(frag=8, proto=17, **ip) / Raw(PAYLOAD)
    raise SystemExit(f"unknown kind '{kind}'")


def main():
    if len(sys.argv) != 6:
        raise SystemExit("usage: craft_frames.py IFACE KIND COUNT GROUP PORT")
    iface, kind, count, group, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    if not group.startswith("239."):
        raise SystemExit("craft_frames.py sends to 239.0.0.0/8 only")
    if not 1 <= count <= 10000:
        raise SystemExit("COUNT must be 1..10000")
    conf.verb = 0
    # Distinct IP ids: the relay's own kernel must not reassemble fragments of different frames.
    frames = [frame(kind, group, port, 1000 + i) for i in range(count)]
    sendp(frames, iface=iface, verbose=False)


if __name__ == "__main__":
    main()
