#!/usr/bin/env python3
"""A host on a relay's output segment that joins and leaves a group with an
ordinary socket (its kernel sends the IGMP or, for an IPv6 group, MLD reports), and watches the wire
with an AF_PACKET socket to time the relayed stream against its own join
and leave: first frame after the join, last frame after the leave, frames
seen while not joined. Bounded by --until; one JSON line on stdout.

  listener_probe.py --interface eth0 --group 239.2.2.1 --port 6000 \
      [--join-at 0] [--leave-at 3] --until 5
Without --join-at it never joins (a host that does not listen).
--include SOURCE joins (SOURCE, group) only (an SSM listener: INCLUDE {SOURCE});
--exclude SOURCE joins the group and blocks SOURCE (EXCLUDE {SOURCE}), both
through the protocol-independent MCAST_* socket options (RFC 3678).
"""
import argparse
import json
import socket
import struct
import time

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
# <linux/in.h>; Python's socket module does not name them.
MCAST_JOIN_GROUP, MCAST_BLOCK_SOURCE, MCAST_LEAVE_GROUP = 42, 43, 45
MCAST_JOIN_SOURCE_GROUP, MCAST_LEAVE_SOURCE_GROUP = 46, 47


def sockaddr_storage(text):
    """A struct sockaddr_in or sockaddr_in6 (port 0) padded to 128 bytes."""
    if ":" in text:
        body = struct.pack("=HHI", socket.AF_INET6, 0, 0) + socket.inet_pton(socket.AF_INET6, text) + bytes(4)
    else:
        body = struct.pack("=HH", socket.AF_INET, 0) + socket.inet_aton(text)
    return body.ljust(128, b"\0")


def group_request(ifindex, group, source=None):
    """struct group_req or group_source_req (the interface index, padded to 8)."""
    request = struct.pack("=I4x", ifindex) + sockaddr_storage(group)
    return request if source is None else request + sockaddr_storage(source)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--join-at", type=float)
    parser.add_argument("--leave-at", type=float)
    parser.add_argument("--until", type=float, required=True)
    parser.add_argument("--ready-file")
    filters = parser.add_mutually_exclusive_group()
    filters.add_argument("--include", metavar="SOURCE")
    filters.add_argument("--exclude", metavar="SOURCE")
    args = parser.parse_args()
    if args.until > 120:
        parser.error("--until is at most 120 s")

    ipv6 = ":" in args.group
    ethertype = ETH_P_IPV6 if ipv6 else ETH_P_IP
    wire = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ethertype))
    wire.bind((args.interface, ethertype))
    wire.settimeout(0.01)
    ifindex = socket.if_nametoindex(args.interface)
    if ipv6:
        group = socket.inet_pton(socket.AF_INET6, args.group)
        member = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        member.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        member.bind(("::", args.port))
        mreqn = group + struct.pack("@I", ifindex)
        join, leave, level = socket.IPV6_JOIN_GROUP, socket.IPV6_LEAVE_GROUP, socket.IPPROTO_IPV6
    else:
        group = socket.inet_aton(args.group)
        member = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        member.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        member.bind(("0.0.0.0", args.port))
        mreqn = group + socket.inet_aton("0.0.0.0") + struct.pack("@i", ifindex)
        join, leave, level = socket.IP_ADD_MEMBERSHIP, socket.IP_DROP_MEMBERSHIP, socket.IPPROTO_IP

    if args.include:
        join_calls = [(MCAST_JOIN_SOURCE_GROUP, group_request(ifindex, args.group, args.include))]
        leave_calls = [(MCAST_LEAVE_SOURCE_GROUP, group_request(ifindex, args.group, args.include))]
    elif args.exclude:
        join_calls = [(MCAST_JOIN_GROUP, group_request(ifindex, args.group)),
                      (MCAST_BLOCK_SOURCE, group_request(ifindex, args.group, args.exclude))]
        leave_calls = [(MCAST_LEAVE_GROUP, group_request(ifindex, args.group))]
    else:
        join_calls, leave_calls = [(join, mreqn)], [(leave, mreqn)]

    start = time.monotonic()
    if args.ready_file:
        open(args.ready_file, "w").write("ready\n")
    joined_at = left_at = None
    first_after_join = last_after_leave = None
    before_join = while_joined = after_leave = 0
    while True:
        now = time.monotonic() - start
        if now >= args.until:
            break
        if args.join_at is not None and joined_at is None and now >= args.join_at:
            for option, value in join_calls:
                member.setsockopt(level, option, value)
            joined_at = time.monotonic()
        if args.leave_at is not None and joined_at is not None and left_at is None and now >= args.leave_at:
            for option, value in leave_calls:
                member.setsockopt(level, option, value)
            left_at = time.monotonic()
        try:
            frame, address = wire.recvfrom(65536)
        except socket.timeout:
            continue
        if address[2] == socket.PACKET_OUTGOING:
            continue
        if ipv6:
            # UDP right after the fixed header: relayed copies carry no extension headers.
            if len(frame) < 48 or frame[6] != 17:
                continue
            header, destination = 40, frame[24:40]
        else:
            if len(frame) < 28 or frame[9] != 17:
                continue
            header, destination = (frame[0] & 0x0F) * 4, frame[16:20]
        if destination != group or struct.unpack("!H", frame[header + 2:header + 4])[0] != args.port:
            continue
        at = time.monotonic()
        if joined_at is None:
            before_join += 1
        elif left_at is None:
            while_joined += 1
            if first_after_join is None:
                first_after_join = at - joined_at
        else:
            after_leave += 1
            last_after_leave = at - left_at

    def ms(seconds):
        return None if seconds is None else round(seconds * 1000, 1)

    print(json.dumps({"before_join": before_join, "while_joined": while_joined, "after_leave": after_leave,
                      "first_after_join_ms": ms(first_after_join), "last_after_leave_ms": ms(last_after_leave)}))


if __name__ == "__main__":
    main()
