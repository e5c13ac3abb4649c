#!/usr/bin/python3
# JSON glue for the integration tests: builds worker config JSON from compact
# rule specs, and reads one value out of stats / mcrgen JSON by a dotted path.
#
#   mcrt.py config IFACE 'name=r1 in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000:ttl=5 mtu=out0:9000' ...
#   mcrt.py get FILE rules.name=r1.outputs.0.packets [PATH...]   (one value per line)
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
        else:
            raise SystemExit(f"unknown rule key '{key}' in '{spec}'")
    return entry


def config(interface, specs):
    egress = {}
    rules = [rule(spec, egress) for spec in specs]
    return {"interface": interface, "rules": rules, "egress": egress,
            "receive_buffer_bytes": RECEIVE_BUFFER_BYTES}


def get(document, path):
    value = document
    for segment in path.split("."):
        if isinstance(value, list):
            if "=" in segment:
                key, _, wanted = segment.partition("=")
                matches = [item for item in value if str(item.get(key)) == wanted]
                if len(matches) != 1:
                    raise SystemExit(f"{path}: {len(matches)} entries with {segment}")
                value = matches[0]
            else:
                value = value[int(segment)]
        elif isinstance(value, dict):
            if segment not in value:
                raise SystemExit(f"{path}: no key '{segment}'")
            value = value[segment]
        else:
            raise SystemExit(f"{path}: '{segment}' below a scalar")
    return value


def main(argv):
    if len(argv) >= 3 and argv[1] == "config":
        print(json.dumps(config(argv[2], argv[3:]), indent=1))
    elif len(argv) >= 4 and argv[1] == "get":
        with open(argv[2]) as f:
            document = json.load(f)
        for path in argv[3:]:
            value = get(document, path)
            print(json.dumps(value) if isinstance(value, (dict, list)) or value is None else value)
    else:
        raise SystemExit(__doc__ if __doc__ else "usage: mcrt.py config|get ...")


if __name__ == "__main__":
    main(sys.argv)
