#!/usr/bin/env python3
"""Holds someone else's tc program on an interface's tcx ingress: the
smallest program there is (return TC_ACT_UNSPEC, i.e. "next"), loaded and
attached with raw bpf() calls, so that a test can check how mcrd reacts to a
program it did not attach. Runs until SIGTERM or --seconds; the link goes
when the process exits (nothing is pinned).

    foreign_tc.py IFNAME [--seconds N] [--ready-file FILE]   (in the netns of IFNAME)
"""
import argparse
import ctypes
import os
import signal
import socket
import struct
import sys
import time

SYS_BPF = 321  # x86_64
BPF_PROG_LOAD = 5
BPF_LINK_CREATE = 28
BPF_PROG_TYPE_SCHED_CLS = 3
BPF_TCX_INGRESS = 46  # Linux 6.6+ (checked in this kernel's BTF)
ATTR_BYTES = 144

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr.ljust(ATTR_BYTES, b"\0"), ATTR_BYTES)
    fd = libc.syscall(SYS_BPF, cmd, buf, ATTR_BYTES)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return fd


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ifname")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    # r0 = -1 (TC_ACT_UNSPEC); exit
    insns = struct.pack("<BBhi", 0xB7, 0x00, 0, -1) + struct.pack("<BBhi", 0x95, 0, 0, 0)
    insns_buf = ctypes.create_string_buffer(insns, len(insns))
    license_buf = ctypes.create_string_buffer(b"GPL")
    name = b"foreign_tc".ljust(16, b"\0")
    prog_attr = struct.pack("<IIQQIIQII16s", BPF_PROG_TYPE_SCHED_CLS, len(insns) // 8,
                            ctypes.addressof(insns_buf), ctypes.addressof(license_buf), 0, 0, 0, 0, 0, name)
    prog = bpf(BPF_PROG_LOAD, prog_attr)
    ifindex = socket.if_nametoindex(args.ifname)
    link = bpf(BPF_LINK_CREATE, struct.pack("<IIII", prog, ifindex, BPF_TCX_INGRESS, 0))
    os.close(prog)  # the link holds the program
    if args.ready_file:
        with open(args.ready_file, "w") as ready:
            ready.write(f"{link}\n")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(args.seconds)


if __name__ == "__main__":
    main()
