#!/usr/bin/python3
"""json_get.py FILE PATH...: the value at each dotted PATH of a JSON document
(FILE "-" reads stdin), one per line; objects, lists and null as JSON.

A path segment is a key, a list index, or KEY=VALUE: the one list entry
whose KEY is VALUE (e.g. rules.name=r1.outputs.0.packets). A missing key,
an ambiguous KEY=VALUE or unreadable JSON exits non-zero with the reason,
so a caller never mistakes "not there" for a value."""
import json
import sys


def get(document, path):
    value = document
    for segment in path.split("."):
        if isinstance(value, list):
            if "=" in segment:
                key, _, wanted = segment.partition("=")
                matches = [item for item in value if isinstance(item, dict) and str(item.get(key)) == wanted]
                if len(matches) != 1:
                    raise SystemExit(f"{path}: {len(matches)} entries with {segment}")
                value = matches[0]
            else:
                try:
                    value = value[int(segment)]
                except (ValueError, IndexError):
                    raise SystemExit(f"{path}: no list entry '{segment}'")
        elif isinstance(value, dict):
            if segment not in value:
                raise SystemExit(f"{path}: no key '{segment}'")
            value = value[segment]
        else:
            raise SystemExit(f"{path}: '{segment}' below a scalar")
    return value


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    try:
        if argv[1] == "-":
            document = json.load(sys.stdin)
        else:
            with open(argv[1]) as f:
                document = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"{argv[1]}: {e}")
    for path in argv[2:]:
        value = get(document, path)
        print(json.dumps(value) if isinstance(value, (dict, list)) or value is None else value)


if __name__ == "__main__":
    main(sys.argv)
