#!/usr/bin/python3
# Prints bench/run's CSV as a table, then the ratios of mcrd's two paths
# ("fastpath", "mcrd" = userspace) to no relay ("none", the limit), the
# kernel and socat for each (sinks, payload) pair: >1 means mcrd delivers
# more / costs more.
import csv
import sys

COLUMNS = [
    ("relay", "relay"), ("sinks", "sinks"), ("payload_bytes", "payload"),
    ("max_offered_pps", "offered pps"), ("max_delivered_pps", "delivered pps"),
    ("lossless_pps", "lossless pps"), ("relay_cpu_ns_per_pkt", "proc ns/pkt"),
    ("softirq_ns_per_pkt", "softirq ns/pkt"), ("total_ns_per_pkt", "total ns/pkt"), ("limit", "limit"),
]
# Delivered within 0.1 % of offered: the sender, not the relay, set the pace,
# and the relay's true maximum is higher than the numbers show.
SENDER_BOUND_FRACTION = 0.999
RATIOS = [("lossless_pps", "lossless"), ("max_delivered_pps", "delivered"), ("total_ns_per_pkt", "cpu/pkt")]


def table(rows):
    widths = [max(len(title), *(len(r[key]) for r in rows)) for key, title in COLUMNS]
    print("  ".join(title.rjust(w) for (_, title), w in zip(COLUMNS, widths)))
    for r in rows:
        print("  ".join(r[key].rjust(w) for (key, _), w in zip(COLUMNS, widths)))


def ratio(a, b):
    a, b = float(a), float(b)
    return f"{a / b:.2f}" if b > 0 else "n/a"


def ratios(rows):
    by_key = {(r["relay"], r["sinks"], r["payload_bytes"]): r for r in rows}
    lines = []
    for (relay, sinks, size), mcrd in sorted(by_key.items(), key=lambda kv: (int(kv[0][1]), int(kv[0][2]), kv[0][0])):
        if relay == "mcrd-rtp":
            peer = by_key.get(("mcrd", sinks, size))
            if peer:
                parts = ", ".join(f"{label} {ratio(mcrd[key], peer[key])}" for key, label in RATIOS)
                lines.append(f"mcrd-rtp/mcrd   sinks {sinks} payload {size:>4}: {parts} (inspect rtp / off)")
            continue
        if relay not in ("fastpath", "mcrd"):
            continue
        for other in ("none", "kernel", "socat", "mcrd"):
            peer = by_key.get((other, sinks, size))
            if peer and other != relay:
                parts = ", ".join(f"{label} {ratio(mcrd[key], peer[key])}" for key, label in RATIOS)
                lines.append(f"{relay:>8}/{other:6} sinks {sinks} payload {size:>4}: {parts}")
    if lines:
        print("\nRatios (mcrd's path / other; 'mcrd' is the userspace path):")
        print("\n".join(lines))


def limit(row):
    offered, delivered = float(row["max_offered_pps"]), float(row["max_delivered_pps"])
    return "sender" if delivered >= SENDER_BOUND_FRACTION * offered else "relay"


def main():
    with open(sys.argv[1]) as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["limit"] = limit(row)
    if not rows:
        raise SystemExit("no results in " + sys.argv[1])
    table(rows)
    ratios(rows)


if __name__ == "__main__":
    main()
