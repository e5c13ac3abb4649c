#!/usr/bin/env python3
"""Hostile HTTP clients for the exporter's test (test_metrics.sh); each
prints one JSON line with what it saw.

  hold HOST PORT COUNT SECONDS   open COUNT connections that send nothing,
                                 keep them SECONDS; report how many the server
                                 closed and when the first and last closed
  idle HOST PORT MAX_SECONDS     send half a request line, then nothing;
                                 report after how many seconds the server
                                 closed the connection (null: still open)
  trickle HOST PORT SECONDS      send an endless header one byte every 0.2 s
                                 for SECONDS; report whether the server closed
"""
import json
import select
import socket
import sys
import time


def connect(host, port):
    s = socket.create_connection((host, port), timeout=5)
    s.setblocking(False)
    return s


def closed_by_peer(s):
    """True once the peer closed (EOF or reset); reads and drops any bytes."""
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def hold(host, port, count, seconds):
    start = time.monotonic()
    sockets, refused = [], 0
    for _ in range(count):
        try:
            sockets.append(connect(host, port))
        except OSError:
            refused += 1
    open_set = set(sockets)
    closed_at = []
    deadline = start + seconds
    while open_set and time.monotonic() < deadline:
        readable, _, _ = select.select(list(open_set), [], [], 0.2)
        for s in readable:
            if closed_by_peer(s):
                open_set.discard(s)
                closed_at.append(round(time.monotonic() - start, 2))
    print(json.dumps({"opened": len(sockets), "refused": refused, "closed_by_server": len(closed_at),
                      "still_open": len(open_set),
                      "first_close_s": closed_at[0] if closed_at else None,
                      "last_close_s": closed_at[-1] if closed_at else None}), flush=True)
    for s in sockets:
        s.close()


def idle(host, port, max_seconds):
    start = time.monotonic()
    s = connect(host, port)
    s.sendall(b"GET /metr")
    deadline = start + max_seconds
    while time.monotonic() < deadline:
        readable, _, _ = select.select([s], [], [], 0.2)
        if readable and closed_by_peer(s):
            print(json.dumps({"closed_after_s": round(time.monotonic() - start, 2)}), flush=True)
            return
    print(json.dumps({"closed_after_s": None}), flush=True)


def trickle(host, port, seconds):
    start = time.monotonic()
    s = connect(host, port)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    closed = False
    while time.monotonic() < start + seconds:
        try:
            s.send(b"a")
        except OSError:
            closed = True
            break
        readable, _, _ = select.select([s], [], [], 0.2)
        if readable and closed_by_peer(s):
            closed = True
            break
    print(json.dumps({"closed_by_server": closed, "seconds": round(time.monotonic() - start, 2)}), flush=True)


def main(argv):
    mode, host, port = argv[1], argv[2], int(argv[3])
    if mode == "hold":
        hold(host, port, int(argv[4]), float(argv[5]))
    elif mode == "idle":
        idle(host, port, float(argv[4]))
    elif mode == "trickle":
        trickle(host, port, float(argv[4]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
