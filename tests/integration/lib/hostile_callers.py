#!/usr/bin/python3
# Abusive clients for test_hostile_callers.sh; every socket operation and
# every loop is bounded.
#
#   hostile_callers.py writes-bus ADDRESS            each Manager write, valid and invalid arguments
#   hostile_callers.py writes-control SOCKET         each control-socket write command, idem
#   hostile_callers.py rapid SOCKET N                N connect/close without a request, then a Ping
#   hostile_callers.py loris SOCKET N SECONDS        N clients dribbling one byte a second; meanwhile Pings
#   hostile_callers.py flood ADDRESS N               N AddRule calls in flight at once (one connection)
# Each prints one JSON object.
import json
import socket
import sys
import time

OUT = ("out0", "239.2.2.9", 6009, 0)
# The flood's bound: 16 s on a plain build, 80-120 s under ASan+UBSan on 2
# busy vCPUs (every call is a polkit round trip to the Python stand-in).
FLOOD_BOUND_S = 240


def bus_calls():
    """(method, signature, args, valid) for every writing Manager method, valid and invalid."""
    good_json = json.dumps({"name": "h-json", "input": {"interface": "in0", "address": "239.1.1.9", "port": 5009},
                            "outputs": [{"interface": "out0", "address": "239.2.2.9", "port": 6009}]})
    return [
        ("AddRule", "sssqsa(ssqy)", ["h-good", "in0", "239.1.1.8", 5008, "", [OUT]], True),
        ("AddRule", "sssqsa(ssqy)", ["h-bad-if", "in0/../x", "239.1.1.8", 5008, "", [OUT]], False),
        ("AddRule", "sssqsa(ssqy)", ["h-bad-group", "in0", "10.0.0.1", 0, "", []], False),
        ("AddRule", "sssqsa(ssqy)", ["x" * 70000, "in0", "239.1.1.8", 5008, "", [OUT]], False),
        ("AddRuleJSON", "s", [good_json], True),
        ("AddRuleJSON", "s", ["{not json"], False),
        ("RemoveRule", "s", ["keep1"], True),
        ("RemoveRule", "s", ["no-such-rule"], False),
        ("ImportRules", "sb", ['{"rules": []}', True], True),
        ("ImportRules", "sb", ["[[[", False], False),
        ("ResetStats", "", [], True),
        ("Reload", "", [], True),
        ("SetLogLevel", "s", ["err"], True),
        ("SetLogLevel", "s", ["shout"], False),
    ]


def writes_bus(address):
    import dbus
    bus = dbus.bus.BusConnection(address)
    manager = dbus.Interface(bus.get_object("org.mcr.Relay", "/org/mcr/Relay"), "org.mcr.Relay.Manager")
    results = []
    for method, signature, args, valid in bus_calls():
        try:
            getattr(manager, method)(*args, signature=signature, timeout=30)
            results.append({"method": method, "valid": valid, "error": None})
        except dbus.exceptions.DBusException as e:
            results.append({"method": method, "valid": valid, "error": e.get_dbus_name(),
                            "message": e.get_dbus_message()[:120]})
    print(json.dumps(results))


def connect(path, timeout):
    """A connected socket; waits (bounded by timeout) while the listen backlog
    is full: a timed AF_UNIX connect answers EAGAIN then instead of waiting,
    and right after rapid() the server may still be accepting its backlog."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            if time.monotonic() > deadline:
                s.close()
                raise
            time.sleep(0.001)


def request(path, payload, timeout=20):
    s = connect(path, timeout)
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode().strip()


def writes_control(path):
    rule = {"name": "h-ctl", "input_interface": "in0", "input_group": "239.1.1.7", "input_port": 5007,
            "outputs": [{"group": "239.2.2.7", "port": 6007, "interface": "out0"}]}
    config = {"rules": [{"name": "h-load", "input": {"interface": "in0", "group": "239.1.1.6", "port": 5006},
                         "outputs": [{"interface": "out0", "group": "239.2.2.6", "port": 6006}]}]}
    requests = [
        {"AddRule": rule},
        {"AddRule": dict(rule, input_interface="in0/../x")},
        {"AddRule": {"input_group": 7}},
        {"RemoveRule": {"rule_id": "keep1"}},
        {"RemoveRule": {"rule_id": 7}},
        {"RemoveRuleByName": {"name": "keep2"}},
        {"RemoveRuleByName": {"name": ""}},
        {"SetGlobalLogLevel": {"level": "Error"}},
        {"SetGlobalLogLevel": {"level": "Loud"}},
        {"LoadConfig": {"replace": True, "config": {"rules": []}}},
        {"LoadConfig": {"replace": False, "config": config}},
        {"LoadConfig": {"replace": "yes"}},
    ]
    print(json.dumps([{"request": list(r)[0], "reply": request(path, json.dumps(r).encode())} for r in requests]))


def rapid(path, n):
    start = time.monotonic()
    backlog_full = 0
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        while True:
            try:
                s.connect(path)
                break
            except BlockingIOError:
                # The listen backlog is full (the kernel's back-pressure on a
                # timed socket): wait for the server to accept, bounded.
                backlog_full += 1
                if time.monotonic() - start > 60:
                    raise
                time.sleep(0.001)
        s.close()
    connects = time.monotonic() - start
    t = time.monotonic()
    pong = request(path, b'"Ping"', timeout=5)
    print(json.dumps({"connects": n, "seconds": round(connects, 2), "backlog_full_retries": backlog_full, "ping": pong,
                      "ping_seconds": round(time.monotonic() - t, 3)}))


def loris(path, n, seconds):
    hogs, refused_at_connect = [], 0
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(path)
            s.sendall(b"{")
            hogs.append(s)
        except OSError:
            refused_at_connect += 1
            s.close()
    start = time.monotonic()
    pings, closed_at = [], {}
    deadline = start + seconds
    while time.monotonic() < deadline and len(closed_at) < len(hogs):
        for i, s in enumerate(hogs):
            if i in closed_at:
                continue
            try:
                s.sendall(b" ")      # one byte a second: never a whole request
            except OSError:
                closed_at[i] = time.monotonic() - start
        try:
            t = time.monotonic()
            pings.append((request(path, b'"Ping"', timeout=5), round(time.monotonic() - t, 2)))
        except OSError as e:
            pings.append((str(e), -1))
        time.sleep(1)
    # A hog the server closed may still accept sends for a while (buffered);
    # read to learn how it ended.
    endings = {}
    for i, s in enumerate(hogs):
        s.settimeout(0.5)
        try:
            data = s.recv(4096).decode().strip()
        except OSError:
            data = "(open)"
        endings[data or "(closed)"] = endings.get(data or "(closed)", 0) + 1
        s.close()
    after = request(path, b'"Ping"', timeout=5)
    print(json.dumps({"clients": n, "refused_at_connect": refused_at_connect,
                      "last_hog_closed_after_s": round(max(closed_at.values()), 1) if closed_at else None,
                      "hogs_closed": len(closed_at), "endings": endings,
                      "pings": pings, "ping_after": after}))


def flood(address, n):
    import dbus
    import dbus.mainloop.glib
    from gi.repository import GLib
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(address)
    manager = dbus.Interface(bus.get_object("org.mcr.Relay", "/org/mcr/Relay"), "org.mcr.Relay.Manager")
    loop = GLib.MainLoop()
    state = {"ok": 0, "errors": {}, "pending": 0, "sent": 0}
    start = time.monotonic()

    def done():
        state["pending"] -= 1
        if state["sent"] == n and state["pending"] == 0:
            loop.quit()

    def ok(_path):
        state["ok"] += 1
        done()

    def error(e):
        key = e.get_dbus_name() + "|" + e.get_dbus_message()
        state["errors"][key] = state["errors"].get(key, 0) + 1
        done()

    def send_some():
        # At most 64 calls in flight (dbus-daemon allows a connection 128
        # pending replies); refilled as replies come in.
        while state["sent"] < n and state["pending"] < 64:
            i = state["sent"]
            group = "239.%d.%d.%d" % (20 + i // 62500, (i // 250) % 250, i % 250 + 1)
            manager.AddRule("flood%d" % i, "in0", group, 5000, "", [("out0", "239.2.2.2", 6000, 0)],
                            signature="sssqsa(ssqy)", reply_handler=ok, error_handler=error, timeout=FLOOD_BOUND_S)
            state["sent"] += 1
            state["pending"] += 1
        return state["sent"] < n

    GLib.timeout_add(5, send_some)
    GLib.timeout_add_seconds(FLOOD_BOUND_S, loop.quit)  # bound
    loop.run()
    print(json.dumps({"calls": state["sent"], "ok": state["ok"], "errors": state["errors"],
                      "unanswered": state["pending"], "seconds": round(time.monotonic() - start, 1)}))


def main():
    mode = sys.argv[1]
    if mode == "writes-bus":
        writes_bus(sys.argv[2])
    elif mode == "writes-control":
        writes_control(sys.argv[2])
    elif mode == "rapid":
        rapid(sys.argv[2], min(int(sys.argv[3]), 10000))
    elif mode == "loris":
        loris(sys.argv[2], min(int(sys.argv[3]), 1000), min(int(sys.argv[4]), 60))
    elif mode == "flood":
        flood(sys.argv[2], min(int(sys.argv[3]), 100000))
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
