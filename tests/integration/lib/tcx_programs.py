#!/usr/bin/env python3
"""Prints the ids of the programs attached to an interface's tcx ingress,
one a line (BPF_PROG_QUERY with raw bpf() calls; the bpftool of Debian 12
does not list tcx attachments). A test asks about the interfaces of its own
netns this way, where `bpftool prog show` would list every program on the
machine, a concurrently running test's too.

    tcx_programs.py IFNAME   (in the netns of IFNAME)
"""
import ctypes
import os
import socket
import struct
import sys

SYS_BPF = 321  # x86_64
BPF_PROG_QUERY = 16
BPF_TCX_INGRESS = 46  # Linux 6.6+
ATTR_BYTES = 144
MAX_IDS = 64  # a tcx ingress holds at most 64 programs (bpf_mprog)

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tcx_programs.py IFNAME")
    ifindex = socket.if_nametoindex(sys.argv[1])
    ids = (ctypes.c_uint32 * MAX_IDS)()
    # target_ifindex, attach_type, query_flags, attach_flags, prog_ids, prog_cnt
    attr = struct.pack("<IIIIQI", ifindex, BPF_TCX_INGRESS, 0, 0, ctypes.addressof(ids), MAX_IDS)
    buf = ctypes.create_string_buffer(attr.ljust(ATTR_BYTES, b"\0"), ATTR_BYTES)
    if libc.syscall(SYS_BPF, BPF_PROG_QUERY, buf, ATTR_BYTES) < 0:
        err = ctypes.get_errno()
        sys.exit(f"cannot list the tcx programs of {sys.argv[1]}: {os.strerror(err)}")
    count = struct.unpack_from("<I", buf.raw, 24)[0]
    for i in range(min(count, MAX_IDS)):
        print(ids[i])


if __name__ == "__main__":
    main()
