#!/usr/bin/env python3
"""IGMP from a host on a relay's output segment, built byte by byte and sent
through a raw IGMP socket (the kernel adds the IP header with TTL 1 and a
router alert): hostile reports, a report flood, or general queries from a
competing querier. Every mode is bounded in count and time.

  igmp_sender.py --interface eth0 --source 198.51.100.2 MODE
  MODE: bad-checksum N | truncated N | long-sources N | flood N | query N
"""
import argparse
import socket
import struct
import time

from internet_checksum import internet_checksum

ROUTER_ALERT = bytes([0x94, 0x04, 0x00, 0x00])


def with_checksum(message):
    return message[:2] + struct.pack("!H", internet_checksum(message)) + message[4:]


def report(records):
    body = b"".join(struct.pack("!BBH4s", rtype, 0, len(sources), socket.inet_aton(group)) +
                    b"".join(socket.inet_aton(s) for s in sources) for rtype, group, sources in records)
    return with_checksum(struct.pack("!BBHHH", 0x22, 0, 0, 0, len(records)) + body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("mode", choices=["bad-checksum", "truncated", "long-sources", "flood", "query"])
    parser.add_argument("count", type=int)
    parser.add_argument("--interval-ms", type=float, default=1.0)
    args = parser.parse_args()
    if not 0 < args.count <= 20000:
        parser.error("count must be 1..20000")

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.interface.encode())
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, ROUTER_ALERT)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(args.source))
    sock.bind((args.source, 0))

    for i in range(args.count):
        destination = "224.0.0.22"
        if args.mode == "bad-checksum":
            message = bytearray(report([(2, "239.50.0.1", [])]))
            message[2] ^= 0x5A
        elif args.mode == "truncated":
            cut = report([(1, "239.50.0.2", ["192.0.2.7", "192.0.2.8"])])[:14]  # the record header cut short
            message = with_checksum(cut[:2] + b"\0\0" + cut[4:])
        elif args.mode == "long-sources":
            message = bytearray(report([(1, "239.50.0.3", ["192.0.2.7", "192.0.2.8"])]))
            message[10:12] = struct.pack("!H", 1000)  # 1000 sources claimed, 2 present
            message = with_checksum(bytes(message[:2]) + b"\0\0" + bytes(message[4:]))
        elif args.mode == "flood":
            message = report([(2, "239.100.%d.%d" % (i // 256, i % 256), [])])
        else:  # an IGMPv3 general query: max response 1 s, QRV 2, QQIC 2 s
            message = with_checksum(struct.pack("!BBH4sBBH", 0x11, 10, 0, socket.inet_aton("0.0.0.0"), 2, 2, 0))
            destination = "224.0.0.1"
        sock.sendto(bytes(message), (destination, 0))
        time.sleep(args.interval_ms / 1000)


if __name__ == "__main__":
    main()
