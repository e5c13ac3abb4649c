#!/usr/bin/python3
# The loss-injection step between a live producer and the relay: receives
# the producer's RTP on a local UDP port and forwards each datagram, as it
# arrives, to a multicast group, leaving out the packets with the given RTP
# sequence numbers. (tc's drop actions need kernel modules a container may
# not have; this needs none.) Ends after an idle gap or a total time, and
# prints what it did as JSON.
#
#   impair_forward.py LISTEN_PORT GROUP PORT SOURCE_ADDRESS --drop SEQ,.. --ready-file F
import argparse
import json
import socket
import struct
import time

IDLE_END_S = 2.0
MAX_RUN_S = 30.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("listen_port", type=int)
    parser.add_argument("group")
    parser.add_argument("port", type=int)
    parser.add_argument("source_address")
    parser.add_argument("--drop", default="")
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    if not args.group.startswith("239."):
        raise SystemExit("impair_forward.py sends to 239.0.0.0/8 only")
    drops = {int(x) for x in args.drop.split(",") if x}
    inbound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    inbound.bind(("127.0.0.1", args.listen_port))
    outbound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outbound.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(args.source_address))
    outbound.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 16)
    open(args.ready_file, "w").write("ready\n")
    received = forwarded = 0
    dropped = []
    started = time.monotonic()
    inbound.settimeout(10.0)  # the producer's first packet
    while time.monotonic() - started < MAX_RUN_S:
        try:
            datagram = inbound.recv(65535)
        except socket.timeout:
            break
        inbound.settimeout(IDLE_END_S)
        received += 1
        if len(datagram) >= 4 and struct.unpack(">H", datagram[2:4])[0] in drops:
            dropped.append(struct.unpack(">H", datagram[2:4])[0])
            continue
        outbound.sendto(datagram, (args.group, args.port))
        forwarded += 1
    print(json.dumps({"received": received, "forwarded": forwarded, "dropped": sorted(dropped)}))


if __name__ == "__main__":
    main()
