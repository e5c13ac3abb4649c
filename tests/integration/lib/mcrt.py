#!/usr/bin/python3
# JSON glue for the integration tests: builds worker config JSON from compact
# rule specs (reading values back is tests/lib/json_get.py, shared by the tiers).
#
#   mcrt.py config [--ingress-mtu N] IFACE 'name=r1 in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000:ttl=5 mtu=out0:9000 inspect=rtp' ...
#
# --ingress-mtu: the ingress interface's MTU, as the supervisor sends it (it
# sizes the worker's receive ring blocks; without it the worker assumes 9000).
import json
import sys

DEFAULT_MTU = 1500
RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024


def endpoint(text, with_ttl):
    parts = text.split(":")
    if len(parts) < 3:
        raise SystemExit(f"bad endpoint '{text}': want IF:ADDR:PORT")
    result = {"interface": parts[0], "address": parts[1], "port": int(parts[2])}
    for extra in parts[3:]:
        key, _, value = extra.partition("=")
        if key == "ttl" and with_ttl:
            result["ttl"] = int(value)
        else:
            raise SystemExit(f"bad endpoint option '{extra}' in '{text}'")
    return result


def rule(spec, egress):
    entry = {"outputs": []}
    for token in spec.split():
        key, _, value = token.partition("=")
        if key == "name":
            entry["name"] = value
        elif key == "in":
            entry["input"] = endpoint(value, with_ttl=False)
        elif key == "source":
            entry["input"]["source"] = value
        elif key == "out":
            output = endpoint(value, with_ttl=True)
            entry["outputs"].append(output)
            egress.setdefault(output["interface"], {"mtu": DEFAULT_MTU})
        elif key == "mtu":
            ifname, _, mtu = value.partition(":")
            egress[ifname] = {"mtu": int(mtu)}
        elif key == "expired":
            entry["forward_expired_ttl"] = value in ("1", "true", "yes")
        elif key == "inspect":
            entry["inspect"] = value
        else:
            raise SystemExit(f"unknown rule key '{key}' in '{spec}'")
    return entry


def config(interface, specs, ingress_mtu=None):
    egress = {}
    rules = [rule(spec, egress) for spec in specs]
    document = {"interface": interface, "rules": rules, "egress": egress,
                "receive_buffer_bytes": RECEIVE_BUFFER_BYTES}
    if ingress_mtu is not None:
        document["ingress"] = {"mtu": ingress_mtu}
    return document


def main(argv):
    if len(argv) >= 5 and argv[1] == "config" and argv[2] == "--ingress-mtu":
        print(json.dumps(config(argv[4], argv[5:], int(argv[3])), indent=1))
    elif len(argv) >= 3 and argv[1] == "config":
        print(json.dumps(config(argv[2], argv[3:]), indent=1))
    else:
        raise SystemExit(__doc__ if __doc__ else "usage: mcrt.py config IFACE SPEC...")


if __name__ == "__main__":
    main(sys.argv)
