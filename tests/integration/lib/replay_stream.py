#!/usr/bin/python3
# Replays a stream a real producer wrote to a file (GStreamer's rtpstreampay
# framing for RTP, ffmpeg's .ts for MPEG-TS) as UDP to a group with scapy,
# with exact impairments, and prints what it did as JSON for the test to
# assert against.
#
#   replay_stream.py IFACE rtp FILE GROUP PORT [--drop SEQ,..] [--swap SEQ,..]
#                    [--duplicate SEQ,..] [--malformed KIND,..]
#       --swap S: the packet with sequence S goes out after S+1 (S arrives late)
#       KIND: short (8 bytes), version1 (RTP version 1), csrc (15 CSRCs announced, 2 present)
#   replay_stream.py IFACE ts FILE GROUP PORT [--drop-datagrams K] [--malformed KIND,..]
#       datagrams of 7 TS packets (1316 bytes, the last one shorter); K of them are
#       left out, each chosen so that it costs exactly one continuity error: all
#       7 packets of one PID with payload and no adaptation field, the next
#       datagram starting with that PID likewise, and none next to another
#       dropped one (7 missing packets move the counter by 8: never 0 mod 16)
#       KIND: badsync (second packet's sync byte 0x48), length (1000 bytes)
# Malformed datagrams go out in the middle of the stream, so that the valid
# packets after them show the relay kept going.
import argparse
import json
import struct

from scapy.all import IP, UDP, Ether, Raw, conf, sendp

TS_PACKET = 188
TS_DATAGRAM = 7 * TS_PACKET
PACKET_GAP_S = 0.002


def multicast_mac(group):
    octets = [int(x) for x in group.split(".")]
    return "01:00:5e:%02x:%02x:%02x" % (octets[1] & 0x7F, octets[2], octets[3])


def int_list(text):
    return [int(x) for x in text.split(",") if x] if text else []


def read_rtpstream(path):
    data = open(path, "rb").read()
    packets, offset = [], 0
    while offset + 2 <= len(data):
        (length,) = struct.unpack(">H", data[offset:offset + 2])
        packets.append(data[offset + 2:offset + 2 + length])
        offset += 2 + length
    return packets


def sequence(packet):
    return struct.unpack(">H", packet[2:4])[0]


def malformed_rtp(kind):
    if kind == "short":
        return bytes([0x80, 96]) + bytes(6)
    if kind == "version1":
        return bytes([0x40, 96]) + bytes(30)
    if kind == "csrc":
        return bytes([0x8F, 96]) + bytes(10) + bytes(8)
    raise SystemExit(f"unknown RTP malformation '{kind}'")


def impaired_rtp(args):
    packets = read_rtpstream(args.file)
    drops, swaps, duplicates = set(int_list(args.drop)), set(int_list(args.swap)), set(int_list(args.duplicate))
    sequences = [sequence(p) for p in packets]
    for s in drops | swaps | duplicates:
        if s not in sequences:
            raise SystemExit(f"sequence {s} is not in the stream ({sequences[0]}..{sequences[-1]})")
    out, held = [], None
    for index, packet in enumerate(packets):
        s = sequence(packet)
        if index == len(packets) // 2:
            out += [malformed_rtp(k) for k in args.malformed.split(",") if k]
        if s in drops:
            continue
        if s in swaps:
            held = packet
            continue
        out.append(packet)
        if s in duplicates:
            out.append(packet)
        if held is not None:
            out.append(held)
            held = None
    return out, {"packets_in_file": len(packets), "first_sequence": sequences[0],
                 "dropped": len(drops), "swapped": len(swaps), "duplicated": len(duplicates)}


def ts_packet_fields(packet):
    pid = ((packet[1] & 0x1F) << 8) | packet[2]
    control = (packet[3] >> 4) & 0x3
    return pid, control


def cc_costing_one(datagrams, index):
    """Whether leaving out datagrams[index] costs exactly one CC error."""
    this, following = datagrams[index], datagrams[index + 1]
    if len(this) != TS_DATAGRAM or not following:
        return False
    fields = [ts_packet_fields(this[i:i + TS_PACKET]) for i in range(0, TS_DATAGRAM, TS_PACKET)]
    pid = fields[0][0]
    return all(f == (pid, 1) for f in fields) and ts_packet_fields(following[:TS_PACKET]) == (pid, 1)


def malformed_ts(kind):
    if kind == "badsync":
        datagram = bytearray(([0x47, 0x01, 0x00, 0x10] + [0xFF] * 184) * 7)
        datagram[TS_PACKET] = 0x48
        return bytes(datagram)
    if kind == "length":
        return bytes([0x47]) + bytes(999)
    raise SystemExit(f"unknown TS malformation '{kind}'")


def impaired_ts(args):
    data = open(args.file, "rb").read()
    datagrams = [data[i:i + TS_DATAGRAM] for i in range(0, len(data), TS_DATAGRAM)]
    dropped, last = set(), -10
    for index in range(5, len(datagrams) - 5):
        if len(dropped) == args.drop_datagrams:
            break
        if index - last >= 3 and cc_costing_one(datagrams, index):
            dropped.add(index)
            last = index
    if len(dropped) != args.drop_datagrams:
        raise SystemExit(f"only {len(dropped)} datagrams qualify for a one-error drop")
    out = []
    for index, datagram in enumerate(datagrams):
        if index == len(datagrams) // 2:
            out += [malformed_ts(k) for k in args.malformed.split(",") if k]
        if index not in dropped:
            out.append(datagram)
    return out, {"datagrams_in_file": len(datagrams), "dropped": len(dropped),
                 "ts_packets_in_file": len(data) // TS_PACKET}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("iface")
    parser.add_argument("kind", choices=["rtp", "ts"])
    parser.add_argument("file")
    parser.add_argument("group")
    parser.add_argument("port", type=int)
    parser.add_argument("--drop", default="")
    parser.add_argument("--swap", default="")
    parser.add_argument("--duplicate", default="")
    parser.add_argument("--drop-datagrams", type=int, default=0)
    parser.add_argument("--malformed", default="")
    args = parser.parse_args()
    if not args.group.startswith("239."):
        raise SystemExit("replay_stream.py sends to 239.0.0.0/8 only")
    payloads, summary = impaired_rtp(args) if args.kind == "rtp" else impaired_ts(args)
    conf.verb = 0
    frames = [Ether(dst=multicast_mac(args.group)) / IP(src="192.0.2.2", dst=args.group, ttl=16, id=i)
              / UDP(sport=40000, dport=args.port) / Raw(p) for i, p in enumerate(payloads)]
    sendp(frames, iface=args.iface, inter=PACKET_GAP_S, verbose=False)
    summary["sent"] = len(frames)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
