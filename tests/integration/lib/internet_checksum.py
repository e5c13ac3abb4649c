"""The Internet checksum (RFC 1071) of bytes, for the test senders that
build IGMP and MLD messages by hand (igmp_sender.py, mld_sender.py)."""
import struct


def internet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
