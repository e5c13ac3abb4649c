#!/usr/bin/python3
# Doc-drift check: every option and subcommand the binaries' --help lists,
# and every method, signal and property the running mcrd shows in its
# introspection XML, must be documented in the man sources (man/*.scd).
#
#   check_docs.py --man-dir DIR --mcrctl B --mcrd B --mcrd-worker B --mcrgen B [--mcrd-metrics B]
#
# The D-Bus part runs mcrd on a private dbus-daemon inside a new network
# namespace (unshare -n, plus -r when not root). Exit 0 ok, 1 drift found,
# 77 skip (no way to run mcrd here). Takes about 3 s.
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

SKIP = 77
# The nonexistent interface the probe rule waits for: a rule object must
# exist to introspect org.mcr.Relay.Rule; mcrd starts no worker for it.
PROBE_RULE = ["AddRule", "sssqsa(ssqy)", "docprobe", "mcrdoc0", "239.1.1.1", "5000", "", "1",
              "mcrdoc1", "239.2.2.2", "6000", "0"]
DEADLINE_S = 20


def normalized(text):
    """Man source with scdoc markup and line breaks folded, for searching."""
    text = text.replace("\\\\", "\\").replace("\\_", "_").replace("\\*", "*")
    return re.sub(r"\s+", " ", text)


def read_page(man_dir, page):
    with open(os.path.join(man_dir, page + ".scd"), encoding="utf-8") as f:
        return f.read()


def help_sections(binary, *args):
    """{'Options': [lines], 'Subcommands': [lines], ...} of CLI11's --help."""
    out = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise SystemExit(f"FAIL: {binary} {' '.join(args)} --help exited {out.returncode}: {out.stderr}")
    sections, current = {}, None
    for line in out.stdout.splitlines():
        header = re.match(r"^([A-Z][A-Za-z ]*):\s*$", line)
        if header:
            current = header.group(1).strip()
            sections[current] = []
        elif current and line.startswith("  ") and line.strip():
            sections[current].append(line.strip())
    return sections


def long_options(sections):
    names = []
    for line in sections.get("Options", []):
        # The name column ends where two spaces start the description.
        column = re.split(r"\s{2,}", line)[0]
        names += re.findall(r"--[a-z][a-z0-9-]*", column)
    return [n for n in names if n != "--help"]


def subcommands(sections):
    return [re.split(r"\s+", line)[0] for line in sections.get("Subcommands", [])]


def check_cli(args, problems):
    """Options of every binary, mcrctl's commands (nested ones included)."""
    pages = {"mcrd": "mcrd.8", "mcrd-worker": "mcrd.8", "mcrgen": "mcrgen.1", "mcrctl": "mcrctl.1",
             "mcrd-metrics": "mcrd-metrics.8"}
    binaries = {"mcrd": args.mcrd, "mcrd-worker": args.mcrd_worker, "mcrgen": args.mcrgen, "mcrctl": args.mcrctl}
    # Built only with -Dmetrics (libmicrohttpd).
    if args.mcrd_metrics:
        binaries["mcrd-metrics"] = args.mcrd_metrics
    checked = 0
    for name, binary in binaries.items():
        page = pages[name]
        text = normalized(read_page(args.man_dir, page))
        queue = [[]]
        while queue:
            path = queue.pop(0)
            sections = help_sections(binary, *path)
            for option in long_options(sections):
                checked += 1
                if f"*{option}*" not in text:
                    problems.append(f"{page}: option {option} of '{' '.join([name, *path])}' is not documented")
            children = subcommands(sections)
            queue += [path + [sub] for sub in children]
            if name == "mcrctl" and path and not children:
                checked += 1
                # A command entry starts a line: *config import* ...
                command = " ".join(path)
                if not re.search(r"^\*" + re.escape(command) + r"\*", read_page(args.man_dir, page), re.M):
                    problems.append(f"{page}: command 'mcrctl {command}' has no entry")
    return checked


def wait_for(what, predicate):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"FAIL: timed out after {DEADLINE_S}s waiting for {what}")


def introspect_live(args, scratch):
    """Starts dbus-daemon and mcrd, adds the probe rule, returns {interface: XML element}."""
    bus_socket = os.path.join(scratch, "bus")
    conf = os.path.join(scratch, "bus.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={bus_socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>
""")
    address = "unix:path=" + bus_socket
    busctl = ["busctl", "--address=" + address]
    processes = []
    try:
        processes.append(subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork", "--nopidfile"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for("dbus-daemon", lambda: subprocess.run(busctl + ["list"], capture_output=True).returncode == 0)
        for d in ("state", "etc", "run"):
            os.mkdir(os.path.join(scratch, d))
        log = open(os.path.join(scratch, "mcrd.log"), "w", encoding="utf-8")
        processes.append(subprocess.Popen(
            [args.mcrd, "--bus", address, "--allow-root", "--worker-mode", "spawn",
             "--worker-binary", args.mcrd_worker, "--control-socket", "-",
             "--state-dir", os.path.join(scratch, "state"), "--config-dir", os.path.join(scratch, "etc"),
             "--runtime-dir", os.path.join(scratch, "run")], stdout=log, stderr=subprocess.STDOUT))
        wait_for("mcrd to own org.mcr.Relay",
                 lambda: subprocess.run(busctl + ["status", "org.mcr.Relay"], capture_output=True).returncode == 0)
        added = subprocess.run(busctl + ["call", "org.mcr.Relay", "/org/mcr/Relay", "org.mcr.Relay.Manager",
                                         *PROBE_RULE], capture_output=True, text=True, timeout=10)
        if added.returncode != 0:
            raise SystemExit(f"FAIL: AddRule of the probe rule: {added.stderr}")
        rule_path = added.stdout.split('"')[1]
        interfaces = {}
        for path in ("/org/mcr/Relay", rule_path):
            xml = subprocess.run(busctl + ["introspect", "--xml-interface", "org.mcr.Relay", path],
                                 capture_output=True, text=True, timeout=10, check=True).stdout
            for node in ET.fromstring(xml).findall("interface"):
                if node.get("name").startswith("org.mcr.Relay."):
                    interfaces[node.get("name")] = node
        return interfaces
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def idl_line(member, kind):
    """The systemd-style declaration of a member, as the man page shows it."""
    name = member.get("name")
    if kind == "property":
        return f"readonly {member.get('type')} {name}"
    parts = []
    for arg in member.findall("arg"):
        if kind == "method":
            parts.append(f"{arg.get('direction', 'in')} {arg.get('type')} {arg.get('name')}")
        else:
            parts.append(f"{arg.get('type')} {arg.get('name')}")
    return f"{name}({', '.join(parts)});"


def check_bus(interfaces, args, problems):
    page = "org.mcr.Relay.5"
    source = read_page(args.man_dir, page)
    text = normalized(source)
    # "in  s name," and "in s name," are the same declaration.
    text = re.sub(r"\( ", "(", text)
    checked = 0
    for wanted in ("org.mcr.Relay.Manager", "org.mcr.Relay.Rule"):
        if wanted not in interfaces:
            problems.append(f"the running mcrd shows no interface {wanted}")
            continue
        for kind in ("method", "signal", "property"):
            for member in interfaces[wanted].findall(kind):
                checked += 1
                declaration = idl_line(member, kind)
                if declaration not in text:
                    problems.append(f"{page}: {wanted} {kind} '{declaration}' is not documented")
                # Methods also need their own entry with a busctl example.
                name = member.get("name")
                if kind == "method" and not re.search(r"Manager(\s|\\)*" + name + r"\b", source):
                    problems.append(f"{page}: method {name} has no 'busctl call ... {name}' example")
                if kind == "method" and not re.search(r"^\*" + name + r"\*", source, re.M):
                    problems.append(f"{page}: method {name} has no entry")
    return checked


def run_bus_part(args):
    """Re-runs this script in a new network namespace (and user namespace when not root)."""
    prefix = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--net"]
    if shutil.which("unshare") is None or shutil.which("dbus-daemon") is None or shutil.which("busctl") is None:
        print("SKIP: unshare, dbus-daemon and busctl are needed to introspect mcrd")
        return SKIP
    probe = subprocess.run(prefix + ["true"], capture_output=True)
    if probe.returncode != 0:
        print(f"SKIP: cannot make a network namespace here ({probe.stderr.decode().strip()})")
        return SKIP
    return subprocess.run(prefix + [sys.executable, *sys.argv, "--inner"], timeout=60).returncode


def main():
    parser = argparse.ArgumentParser()
    for option in ("--man-dir", "--mcrctl", "--mcrd", "--mcrd-worker", "--mcrgen"):
        parser.add_argument(option, required=True)
    parser.add_argument("--mcrd-metrics")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    problems = []
    if args.inner:
        with tempfile.TemporaryDirectory(prefix="mcrd-docs.") as scratch:
            checked = check_bus(introspect_live(args, scratch), args, problems)
        for problem in problems:
            print("FAIL: " + problem)
        print(f"D-Bus members checked against the man page: {checked}, problems: {len(problems)}")
        return 1 if problems else 0
    checked = check_cli(args, problems)
    for problem in problems:
        print("FAIL: " + problem)
    print(f"options and commands checked against the man pages: {checked}, problems: {len(problems)}")
    bus_status = run_bus_part(args)
    if problems or bus_status == 1:
        return 1
    return bus_status


if __name__ == "__main__":
    sys.exit(main())
