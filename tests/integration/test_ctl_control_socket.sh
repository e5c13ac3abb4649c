#!/bin/bash
# mcrd's MCR-compatible JSON control socket, driven the way MCR's mcrctl
# drives it (one JSON request, shutdown(SHUT_WR), one JSON response): every
# supported command, errors for malformed/unknown/unsupported requests, a
# 1 MiB request refused while the daemon keeps answering, a silent client
# timed out without delaying others, 200 rapid connections all answered,
# rules added here visible to mcrctl over D-Bus (same operations), and IPv6:
# an IPv6 rule added over D-Bus is listed in MCR's fields, an IPv6 add here
# is refused with an error naming mcrctl and D-Bus.
#
#   src:eth0 192.0.2.2/24 --- relay:in0 192.0.2.1/24      (mcrd runs in relay; relay_topology 1)
#                             relay:out0 198.51.100.1/28 --- sink0:eth0 198.51.100.2/28
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"

find_binary MCRCTL src/mcrctl/mcrctl
bus_relay_setup 1

SOCKET=$(scratch control.sock)
mcrd_start relay --control-socket "$SOCKET"
wait_until 5 "mcrd to create --control-socket $SOCKET" test -S "$SOCKET"

# A small MCR-style client; every socket operation is bounded by a timeout.
CLIENT=$(scratch control_client.py)
cat >"$CLIENT" <<'PY'
import socket, sys, time

def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s

def read_all(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data.decode()

def request(path, payload):
    s = connect(path)
    try:
        s.sendall(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass   # the server stops reading an oversize request
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    return read_all(s)

mode, path = sys.argv[1], sys.argv[2]
if mode == "send":            # send PATH JSON
    sys.stdout.write(request(path, sys.argv[3].encode()))
elif mode == "big":           # big PATH BYTES: one JSON string of BYTES
    sys.stdout.write(request(path, b'"' + b"x" * int(sys.argv[3]) + b'"'))
elif mode == "silent":        # silent PATH: connect, send nothing; meanwhile another client pings
    quiet = connect(path)
    start = time.monotonic()
    other = request(path, b'"Ping"')
    other_elapsed = time.monotonic() - start
    answer = read_all(quiet)
    print("%s|%.1f|%s|%.1f" % (other.strip(), other_elapsed, answer.strip(), time.monotonic() - start))
elif mode == "rapid":         # rapid PATH N: N connections one after another
    ok = sum(request(path, b'"Ping"') == '{"Success":"pong"}\n' for _ in range(int(sys.argv[3])))
    print(ok)
PY
send() { "$MCRT_PYTHON" "$CLIENT" send "$SOCKET" "$1"; }
# expect_reply WHAT REQUEST EXPECTED-PREFIX
expect_reply() {
    local reply
    reply=$(send "$2")
    case "$reply" in
        "$3"*) ok "$1 -> ${reply:0:100}" ;;
        *) die "$1: expected a reply starting with $3, got: $reply" ;;
    esac
}

# --- every supported command ------------------------------------------------------
expect_reply "Ping" '"Ping"' '{"Success":"pong"}'
expect_reply "GetVersion" '"GetVersion"' '{"Version":{"protocol_version":1}}'
expect_reply "AddRule" '{"AddRule":{"rule_id":"","name":"ctl1","input_interface":"in0","input_group":"239.1.1.1",
  "input_port":5000,"outputs":[{"group":"239.2.2.2","port":6000,"interface":"out0"}]}}' '{"Success":"Rule ctl1 added"}'
expect_reply "AddRule without a name" '{"AddRule":{"input_interface":"in0","input_group":"239.1.1.3",
  "input_port":5003,"outputs":[{"group":"239.2.2.3","port":6003,"interface":"out0","ttl":4}]}}' \
    '{"Success":"Rule in0-239.1.1.3-5003 added"}'
expect_reply "ListRules" '"ListRules"' '{"Rules":[{'
check_eq "ListRules names" "ctl1,in0-239.1.1.3-5003" "$(send '"ListRules"' | "$MCRT_PYTHON" -c \
    'import json,sys; print(",".join(sorted(r["name"] for r in json.load(sys.stdin)["Rules"])))')"
expect_reply "GetConfig" '"GetConfig"' '{"Config":{'
expect_reply "GetStats" '"GetStats"' '{"Stats":['
expect_reply "ListWorkers" '"ListWorkers"' '{"Workers":['
expect_reply "SetGlobalLogLevel" '{"SetGlobalLogLevel":{"level":"Debug"}}' '{"Success":"Global log level set to Debug"}'
expect_reply "GetLogLevels" '"GetLogLevels"' '{"LogLevels":{"facility_overrides":{},"global":"Debug"}}'
expect_reply "CheckConfig" '{"CheckConfig":{"config":{"rules":[{"name":"c","input":{"interface":"in0","group":"239.1.1.5",
  "port":5005},"outputs":[{"interface":"out0","group":"239.2.2.5","port":6005}]}]}}}' \
    '{"ConfigValidation":{"errors":[],"valid":true}}'
expect_reply "LoadConfig (merge)" '{"LoadConfig":{"replace":false,"config":{"rules":[{"name":"ctl2","input":{
  "interface":"in0","group":"239.1.1.4","port":5004},"outputs":[{"interface":"out0","group":"239.2.2.4","port":6004}]}]}}}' \
    '{"Success":"Configuration merged ('
expect_reply "RemoveRule" '{"RemoveRule":{"rule_id":"in0-239.1.1.3-5003"}}' '{"Success":"Rule in0-239.1.1.3-5003 removed"}'
expect_reply "RemoveRuleByName of a missing rule" '{"RemoveRuleByName":{"name":"nope"}}' '{"Error":"'

# The control socket and D-Bus are one rule set.
check_eq "rules seen by mcrctl" "ctl1,ctl2" "$(MCRCTL_BUS_ADDRESS=$BUS_ADDRESS "$MCRCTL" --json list | "$MCRT_PYTHON" -c \
    'import json,sys; print(",".join(sorted(r["name"] for r in json.load(sys.stdin)["rules"])))')"

# --- IPv6: listed in MCR's own fields, never added through the socket -------------------
# in9 does not exist: the IPv6 rule waits for it and no worker is started for it.
error_of() { send "$1" | "$MCRT_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["Error"])'; }
V6_REFUSAL="cannot be added through the MCR control socket (MCR's protocol is IPv4-only): add IPv6 rules with mcrctl without --socket, the D-Bus API (org.mcr.Relay) or a rule file (mcrd.json(5))"
check_eq "AddRule with an IPv6 group" "AddRule.input_group: IPv6 address \"ff3e::1\" $V6_REFUSAL" \
    "$(error_of '{"AddRule":{"name":"v6","input_interface":"in9","input_group":"ff3e::1","input_port":5000,"outputs":[{"group":"239.2.2.9","port":6000,"interface":"out0"}]}}')"
check_eq "AddRule with an IPv6 output" "AddRule.outputs[0].group: IPv6 address \"2001:db8::9\" $V6_REFUSAL" \
    "$(error_of '{"AddRule":{"name":"v6","input_interface":"in9","input_group":"239.1.1.9","input_port":5000,"outputs":[{"group":"2001:db8::9","port":6000,"interface":"out0"}]}}')"
check_eq "LoadConfig with an IPv6 group" "LoadConfig.config.rules[0].input.group: IPv6 address \"ff15::9\" $V6_REFUSAL" \
    "$(error_of '{"LoadConfig":{"replace":false,"config":{"rules":[{"name":"v6","input":{"interface":"in9","group":"ff15::9","port":5000},"outputs":[{"interface":"out0","group":"239.2.2.9","port":6000}]}]}}}')"
expect_status_text() {   # CODE MESSAGE cmd...: exit status and exact stderr
    local code=$1 message=$2 status=0 out; shift 2
    out=$("$@" 2>&1 >/dev/null) || status=$?
    check_eq "$* exit status" "$code" "$status"
    check_eq "$* message" "$message" "$out"
}
expect_status_text 2 "mcrctl: 'add with an IPv6 address' is not available with --socket: MCR's protocol is IPv4-only; use it over D-Bus (without --socket)" \
    "$MCRCTL" --socket "$SOCKET" add v6 --in 'in9:[ff3e::1]:5000' --out out0:239.2.2.9:6000:4
expect_status_text 2 "mcrctl: 'add --allow-link-local' is not available with --socket: MCR's protocol is IPv4-only; use it over D-Bus (without --socket)" \
    "$MCRCTL" --socket "$SOCKET" add v6 --in in9:239.1.1.9:5000 --out out0:239.2.2.9:6000:4 --allow-link-local
MCRCTL_BUS_ADDRESS=$BUS_ADDRESS "$MCRCTL" add v6 --in 'in9:[ff3e::1]:5000@[2001:db8::1]' --out 'out0:[ff3e::2]:6000:8' --out out0:239.2.2.9:6000
check_eq "an IPv6 rule in ListRules" '{"input_group": "ff3e::1", "input_interface": "in9", "input_port": 5000, "input_protocol": 17, "input_source": "2001:db8::1", "name": "v6", "outputs": [{"group": "ff3e::2", "interface": "out0", "port": 6000, "ttl": 8}, {"group": "239.2.2.9", "interface": "out0", "port": 6000}], "rule_id": "v6", "source": "Static"}' \
    "$(send '"ListRules"' | "$MCRT_PYTHON" -c 'import json,sys; print(json.dumps([r for r in json.load(sys.stdin)["Rules"] if r["name"] == "v6"][0], sort_keys=True))')"
"$MCRCTL" --socket "$SOCKET" list | grep -qF 'in9:[ff3e::1]:5000@[2001:db8::1]  out0:[ff3e::2]:6000:8,out0:239.2.2.9:6000' \
    || die "mcrctl --socket list lacks the bracketed IPv6 rule: $("$MCRCTL" --socket "$SOCKET" list)"
ok "mcrctl --socket list writes IPv6 in brackets"
"$MCRCTL" --socket "$SOCKET" remove v6

# --- bad requests -----------------------------------------------------------------------
expect_reply "malformed JSON" '{"ListRules"' '{"Error":"request is not valid JSON: '
expect_reply "unknown command" '"Explode"' "{\"Error\":\"unknown command 'Explode'\"}"
expect_reply "unsupported command" '"GetPimNeighbors"' "{\"Error\":\"'GetPimNeighbors' is not supported by mcrd"
expect_reply "bad field type" '{"RemoveRule":{"rule_id":7}}' '{"Error":"RemoveRule.rule_id: must be a string, got 7"}'
check_eq "1 MiB request" '{"Error":"request exceeds the limit of 65536 bytes"}' \
    "$("$MCRT_PYTHON" "$CLIENT" big "$SOCKET" 1048576)"
expect_reply "Ping after the 1 MiB request" '"Ping"' '{"Success":"pong"}'

# --- a silent client is timed out (5 s) and delays nobody ---------------------------
IFS='|' read -r other other_s silent silent_s <<<"$("$MCRT_PYTHON" "$CLIENT" silent "$SOCKET")"
check_eq "ping beside a silent client" '{"Success":"pong"}' "$other"
"$MCRT_PYTHON" -c "import sys; sys.exit(0 if float('$other_s') < 2.0 else 1)" \
    || die "a silent client delayed another by ${other_s}s"
check_eq "silent client's answer" '{"Error":"request not received in time"}' "$silent"
"$MCRT_PYTHON" -c "import sys; sys.exit(0 if 4.0 <= float('$silent_s') <= 15.0 else 1)" \
    || die "silent client was closed after ${silent_s}s, expected about 5s"
ok "silent client closed after ${silent_s}s; the other was answered in ${other_s}s"

# --- a burst of connections ------------------------------------------------------------
check_eq "answers to 200 rapid connections" "200" "$("$MCRT_PYTHON" "$CLIENT" rapid "$SOCKET" 200)"

# --- the socket is 0660: a user outside root/mcr cannot even connect -------------------
check_eq "socket mode" "660" "$(stat -c %a "$SOCKET")"
if setpriv --reuid=nobody --regid=nogroup --clear-groups "$MCRT_PYTHON" "$CLIENT" send "$SOCKET" '"Ping"' 2>/dev/null; then
    die "user nobody could use the control socket"
fi
ok "user nobody cannot connect"

kill -0 "$MCRD_PID" || die "mcrd exited during the test: $(mcrd_log | tail -n 5)"
finish "the control socket speaks MCR's protocol and survives abusive clients"
