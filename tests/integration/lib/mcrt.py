#!/usr/bin/python3
# JSON glue for the integration tests: builds worker config JSON from compact
# rule specs (reading values back is tests/lib/json_get.py, shared by the tiers).
#
#   mcrt.py config [--ingress-mtu N] [--netns NS] IFACE 'name=r1 in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000:ttl=5 mtu=out0:9000 inspect=rtp' ...
#   mcrt.py config IFACE 'name=v6 in=in0:[ff3e::1]:5000 source=2001:db8:1::2 out=out0:[ff3e::2]:6000 out=out1:239.2.2.2:6000'
#
# --ingress-mtu: the ingress interface's MTU, as the supervisor sends it (it
# sizes the worker's receive ring blocks; without it the worker assumes 9000).
# --netns NS: where the interfaces are; a translated multicast output (IPv4
# input, IPv6 output or the reverse) gets its "source_address" from its
# interface there, as the supervisor resolves it (none: the worker counts
# no_source_address).
import json
import re
import subprocess
import sys

DEFAULT_MTU = 1500
RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024


# IF:ADDR:PORT[:ttl=N]; an IPv6 address goes in brackets, as mcrctl takes
# it: out0:[ff3e::2]:6000:ttl=5.
ENDPOINT = re.compile(r"^([^:\[\]]+):(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+):(\d+)((?::[^:]+)*)$")


def endpoint(text, with_ttl):
    match = ENDPOINT.match(text)
    if not match:
        raise SystemExit(f"bad endpoint '{text}': want IF:ADDR:PORT or IF:[IPV6]:PORT")
    address = match.group(2).strip("[]")
    result = {"interface": match.group(1), "address": address, "port": int(match.group(3))}
    for extra in filter(None, match.group(4).split(":")):
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


def is_ipv6(address):
    return ":" in address


def is_multicast(address):
    return address.lower().startswith("ff") if is_ipv6(address) else 224 <= int(address.split(".")[0]) <= 239


def interface_address(netns, ifname, ipv6):
    """The address a translated copy leaves ifname from, as the supervisor
    picks it: IPv6 global scope if any, else link-local; IPv4 the primary
    (first) one. None when the interface has none of that family."""
    shown = subprocess.run(["ip", "-j", "-n", netns, "addr", "show", "dev", ifname],
                           capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        return None
    family = "inet6" if ipv6 else "inet"
    found = [a for link in json.loads(shown.stdout or "[]") for a in link.get("addr_info", [])
             if a.get("family") == family]
    preferred = [a for a in found if not ipv6 or a.get("scope") == "global"] or found
    return preferred[0]["local"] if preferred else None


def add_source_addresses(rules, netns):
    # Only translated multicast copies need one (a copy of the input's own
    # family keeps the sender's source; unicast goes through the kernel).
    for entry in rules:
        input_ipv6 = is_ipv6(entry["input"]["address"])
        for output in entry["outputs"]:
            if is_ipv6(output["address"]) != input_ipv6 and is_multicast(output["address"]):
                address = interface_address(netns, output["interface"], is_ipv6(output["address"]))
                if address:
                    output["source_address"] = address


def config(interface, specs, ingress_mtu=None, netns=None):
    egress = {}
    rules = [rule(spec, egress) for spec in specs]
    if netns:
        add_source_addresses(rules, netns)
    document = {"interface": interface, "rules": rules, "egress": egress,
                "receive_buffer_bytes": RECEIVE_BUFFER_BYTES}
    if ingress_mtu is not None:
        document["ingress"] = {"mtu": ingress_mtu}
    return document


def main(argv):
    args = argv[2:]
    options = {}
    while args[:1] and args[0] in ("--ingress-mtu", "--netns") and len(args) >= 2:
        options[args[0]] = args[1]
        args = args[2:]
    if argv[1:2] != ["config"] or not args:
        raise SystemExit(__doc__ if __doc__ else "usage: mcrt.py config IFACE SPEC...")
    mtu = options.get("--ingress-mtu")
    print(json.dumps(config(args[0], args[1:], int(mtu) if mtu else None, options.get("--netns")), indent=1))


if __name__ == "__main__":
    main(sys.argv)
