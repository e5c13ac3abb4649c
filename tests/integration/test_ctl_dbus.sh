#!/bin/bash
# mcrctl against mcrd on a private dbus-daemon, driven only through mcrctl:
# add/list/show/remove, `list --json` -> `config import` round trip, MCR
# json5 import with --replace, stats (--watch --count), workers, log-level,
# reload, version, an output that requires listeners on every view (status,
# show, stats, groups over GetMembership, before and after sink0 joins, with
# exact held counts), and every documented exit code.
#
#   src:eth0 192.0.2.2/24 --- relay:in0 192.0.2.1/24      (mcrd runs in relay; relay_topology 1)
#                             relay:out0 198.51.100.1/28 --- sink0:eth0 198.51.100.2/28
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"

find_binary MCRCTL src/mcrctl/mcrctl
require_mcrgen
bus_relay_setup 1
mcrd_start relay

export MCRCTL_BUS_ADDRESS=$BUS_ADDRESS
ctl() { "$MCRCTL" --no-ask-password "$@"; }

# expect_status CODE WHAT cmd...: runs cmd, checks its exit status; its
# stdout+stderr are left in $OUT.
expect_status() {
    local expected=$1 what=$2 status=0; shift 2
    OUT=$("$@" 2>&1) || status=$?
    [ "$status" -eq "$expected" ] || die "$what: exit status $status, expected $expected; output: $OUT"
    ok "$what exits $status"
}
# A here-string, not printf | grep -q: bash writes $OUT line by line, and
# grep -q leaving at the first match makes printf's next write fail
# (SIGPIPE), which pipefail turned into "lacks" now and then.
expect_output_has() {
    grep -qF -- "$2" <<<"$OUT" || die "$1: output lacks '$2'; output: $OUT"
}
json_field() { "$MCRT_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# --- version, add, list, show ------------------------------------------------
expect_status 0 "version" ctl version
check_eq "version lines" "2" "$(printf '%s\n' "$OUT" | grep -cE '^(mcrctl|mcrd) [0-9]')"

expect_status 0 "add video1" ctl add video1 --in in0:239.1.1.1:5000 \
    --out out0:239.2.2.2:6000 --out out0:198.51.100.2:6001:16
expect_status 0 "list" ctl list
expect_output_has "list" "in0:239.1.1.1:5000"
expect_output_has "list" "out0:239.2.2.2:6000,out0:198.51.100.2:6001:16"
expect_output_has "list" "1 rule listed."
check_eq "list header" "NAME INPUT OUTPUTS STATE" "$(printf '%s\n' "$OUT" | head -n 1 | tr -s ' ')"

expect_status 0 "show video1" ctl show video1
expect_output_has "show" "   Name: video1"
expect_output_has "show" "  Input: in0:239.1.1.1:5000"
expect_output_has "show" "Outputs: out0:239.2.2.2:6000"
expect_output_has "show" "         out0:198.51.100.2:6001:16"
expect_status 0 "show --json" ctl --json show video1
check_eq "show --json output port" "16" "$(printf '%s' "$OUT" | json_field 'd["outputs"][1]["ttl"]')"

# --- inspect: add --inspect, show; bad values refused, nothing changed ----------
expect_status 0 "add cam --inspect rtp" ctl add cam --in in0:239.1.1.9:5009 --out out0:239.2.2.9:6009 --inspect rtp
expect_status 0 "show cam" ctl show cam
expect_output_has "show cam" "Inspect: rtp (relayed by the worker)"
# The worker on in0 reports the inspected rule's health through GetStats
# (no traffic: an RTP stream with nothing seen yet).
cam_health() { ctl --json stats | json_field '[r.get("health", {}).get("kind", "-") for r in d["rules"] if r["name"] == "cam"][0]'; }
check_eventually "cam's health kind in GetStats" rtp 15 cam_health
expect_status 0 "show cam (health reported)" ctl show cam
expect_output_has "show cam" " Health: rtp ok: lost 0, reordered 0, duplicates 0, malformed 0"
expect_status 0 "stats with an inspected rule" ctl stats
expect_output_has "stats" "JITTER-US"
expect_output_has "stats" "GAPS"
check_eq "cam's inspect in GetRule's JSON" rtp "$(ctl --json show cam | json_field 'd["inspect"]')"
expect_status 2 "add --inspect RTP (wrong case)" ctl add cam2 --in in0:239.1.1.10:5010 --out out0:239.2.2.10:6010 \
    --inspect RTP
expect_output_has "add --inspect RTP" "--inspect"
printf '%s' '{"rules": [{"name": "cam3", "input": {"interface": "in0", "address": "239.1.1.11", "port": 5011},
  "outputs": [{"interface": "out0", "address": "239.2.2.11", "port": 6011}], "inspect": "ts"}]}' \
    >"$(scratch bad-inspect.json)"
expect_status 5 "config import with \"inspect\": \"ts\"" ctl config import "$(scratch bad-inspect.json)"
expect_output_has "bad inspect import" 'rules[0].inspect: must be "none", "rtp" or "mpegts", got "ts"'
check_eq "rules after the refused writes" "cam,video1" \
    "$(ctl --json list | json_field '",".join(sorted(r["name"] for r in d["rules"]))')"
expect_status 0 "remove cam" ctl remove cam

# --- the round trip: list --json -> remove -> config import --------------------
ctl --json list >"$(scratch exported.json)" || die "list --json failed"
check_eq "exported rule count" "1" "$(json_field 'len(d["rules"])' <"$(scratch exported.json)")"
expect_status 0 "remove video1" ctl remove video1
expect_status 0 "list after remove" ctl list
expect_output_has "list after remove" "0 rules listed."
expect_status 0 "config import" ctl config import "$(scratch exported.json)"
check_eq "import message" "Imported 1 rule." "$OUT"
ctl --json list >"$(scratch reimported.json)" || die "list --json failed"
cmp -s "$(scratch exported.json)" "$(scratch reimported.json)" \
    || die "round trip changed the rule set: $(diff "$(scratch exported.json)" "$(scratch reimported.json)")"
ok "list --json -> config import round trip is identical"
expect_status 0 "config export" ctl config export
check_eq "config export equals list --json" "$(cat "$(scratch exported.json)")" "$OUT"

# --- MCR json5 import, replacing the set ----------------------------------------
cat >"$(scratch mcr.json5)" <<'JSON5'
// MCR's config format: unquoted keys, comments, trailing commas.
{
  rules: [
    { name: "from-mcr", input: { interface: "in0", group: "239.1.1.2", port: 5002 },
      outputs: [ { interface: "out0", group: "239.2.2.3", port: 6002 }, ], },
  ],
}
JSON5
expect_status 0 "config import --replace (json5)" ctl config import --replace "$(scratch mcr.json5)"
check_eq "json5 import message" "Imported 1 rule (replaced the rule set)." "$OUT"
check_eq "rules after replace" "from-mcr" "$(ctl --json list | json_field '",".join(r["name"] for r in d["rules"])')"
expect_status 0 "re-import for later steps" ctl config import "$(scratch exported.json)"

# --- stats, workers, log-level, reload ---------------------------------------------
expect_status 0 "stats" ctl stats
expect_output_has "stats" "RULE"
expect_status 0 "stats --json" ctl --json stats
printf '%s' "$OUT" | json_field 'type(d).__name__' | grep -qx dict || die "stats --json is not an object: $OUT"
expect_status 0 "stats --watch --count 3" ctl stats --watch --count 3 --interval 0.2
check_eq "stats --watch samples" "3" "$(printf '%s\n' "$OUT" | grep -c '^RULE .*PKT/S')"
expect_status 0 "stats --json --watch --count 2" ctl --json stats --watch --count 2 --interval 0.2
check_eq "stats --json --watch lines" "2" "$(printf '%s\n' "$OUT" | grep -c '"rates"')"
expect_status 2 "stats --count without --watch" ctl stats --count 2

expect_status 0 "workers" ctl workers
expect_output_has "workers" "INTERFACE"
expect_status 0 "workers --json" ctl --json workers
printf '%s' "$OUT" | json_field 'type(d).__name__' | grep -qx list || die "workers --json is not a list: $OUT"

expect_status 0 "log-level debug" ctl log-level debug
expect_status 0 "log-level" ctl log-level
check_eq "log level" "debug" "$OUT"
expect_status 0 "log-level --json" ctl --json log-level
check_eq "log level json" '{"log_level":"debug"}' "$OUT"
expect_status 0 "reload" ctl reload

# --- an output that requires listeners, on every view -----------------------------
# gated: in0 239.1.1.20:5020 -> out0 239.2.2.20:6020+listeners, out0 239.2.2.21:6021.
# mcrd's IGMP querier on out0 runs with the default timers: sink0's kernel
# reports its join at once, and nobody leaves within this section.
expect_status 0 "add gated" ctl add gated --in in0:239.1.1.20:5020 --out out0:239.2.2.20:6020+listeners \
    --out out0:239.2.2.21:6021
gated_state() { ctl --json status --sample 0 | json_field \
    '[o.get("state", "-") for r in d["rules"] if r["name"] == "gated" for o in r["outputs"]]'; }
check_eventually "gated outputs reported, nobody listening" "['holding', 'sending']" 15 gated_state
gen_send src gated-quiet --group 239.1.1.20 --port 5020 --interface eth0 --rate 1000 --size 100 --count 200
gated_held() { ctl --json stats | json_field \
    '[o["no_listener"] for r in d["rules"] if r["name"] == "gated" for o in r["outputs"] if "no_listener" in o][0]'; }
check_eventually "gated copies held without a listener" 200 10 gated_held
expect_status 0 "status with a held output" ctl status --sample 0
expect_output_has "status" "Outputs:"
grep -Eq "^  gated +out0:239\.2\.2\.20:6020 +required +holding +200 +0 +no report$" <<<"$OUT" \
    || die "status: no held line for gated's first output: $OUT"
grep -Eq "^  gated +out0:239\.2\.2\.21:6021 +always +sending +- +- +-$" <<<"$OUT" \
    || die "status: no always line for gated's second output: $OUT"
expect_status 0 "stats with a held output" ctl stats
grep -Eq "^gated +out0:239\.2\.2\.20:6020 +0 +0 +0 +required, holding +200$" <<<"$OUT" \
    || die "stats: no held line for gated: $OUT"
expect_status 0 "show gated (held)" ctl show gated
expect_output_has "show gated" "Outputs: out0:239.2.2.20:6020+listeners"
expect_output_has "show gated" "           listeners: holding (no report; 0 groups on out0), 200 held without listener"
expect_status 3 "groups of an interface without listeners required" ctl groups in0
expect_output_has "groups in0" "No IGMP or MLD membership is kept on 'in0' (no output there requires listeners)"
expect_status 5 "groups of a malformed interface name" ctl groups 'a/b'
expect_output_has "groups a/b" "interface name \"a/b\" must not contain '/'"
check_eq "GetMembership of no such interface" \
    "org.mcr.Relay.Error.NoSuchInterface|No IGMP or MLD membership is kept on 'in0' (no output there requires listeners)" \
    "$(relay_error GetMembership in0)"

# gated-hold keeps sink0 a member through every check below: gated-rx leaves
# once it has its 300, and on a loaded machine (the sanitizer pass) that
# leave took the group away before `show` ran.
gen_recv_start sink0 gated-hold --group 239.2.2.20 --port 6020 --interface eth0 --duration 60
gen_recv_start sink0 gated-rx --group 239.2.2.20 --port 6020 --interface eth0 --duration 30 --expect 300
check_eventually "gated output sending once sink0 joined" "['sending', 'sending']" 15 gated_state
gen_send src gated-heard --group 239.1.1.20 --port 5020 --interface eth0 --rate 1000 --size 100 --count 300
gen_recv_wait gated-rx || die "sink0 did not get the 300 packets sent while it listened"
check_eq "sink0 unique" 300 "$(json_get "$(scratch gated-rx.json)" unique)"
check_eq "held copies after the join" 200 "$(gated_held)"
expect_status 0 "status with a listener" ctl status --sample 0
grep -Eq "^  gated +out0:239\.2\.2\.20:6020 +required +sending +200 +1 +IGMPv3 exclude, 0 sources$" <<<"$OUT" \
    || die "status: no sending line for gated: $OUT"
expect_status 0 "status --json with a listener" ctl --json status --sample 0
check_eq "status --json of the gated output" \
    "{'endpoint': 'out0:239.2.2.20:6020', 'group': {'mode': 'exclude', 'sources': 0, 'version': 3}, 'groups': 1, 'listeners': 'required', 'no_listener': 200, 'state': 'sending'}" \
    "$(printf '%s' "$OUT" | json_field '[r["outputs"][0] for r in d["rules"] if r["name"] == "gated"][0]')"
expect_status 0 "show gated (sending)" ctl show gated
expect_output_has "show gated" "           listeners: sending (IGMPv3 exclude, 0 sources; 1 group on out0), 200 held without listener"
expect_status 0 "groups out0" ctl groups out0
expect_output_has "groups out0" "out0: IGMP querier this relay (198.51.100.1)"
grep -Eq "^out0 +239\.2\.2\.20 +exclude +IGMPv3 " <<<"$OUT" || die "groups out0: $OUT"
check_eq "GetMembership \"\" lists out0's IGMP" "out0 igmp 239.2.2.20" \
    "$(relay_string GetMembership s "" | json_field '" ".join([d[0]["interface"], d[0]["protocol"]] + [g["group"] for g in d[0]["groups"]])')"
kill "${MCRT_JOBS[gated-hold]}" 2>/dev/null || true
expect_status 0 "remove gated" ctl remove gated

# --- exit codes ----------------------------------------------------------------------
expect_status 3 "remove of a missing rule" ctl remove no-such-rule
expect_status 3 "show of a missing rule" ctl show no-such-rule
expect_status 5 "add with an invalid name" ctl add 'bad/name' --in in0:239.1.1.9:5009 --out out0:239.2.2.9:6009
expect_status 5 "add of an existing name" ctl add video1 --in in0:239.1.1.8:5008 --out out0:239.2.2.8:6008
expect_status 5 "log-level bogus" ctl log-level bogus
expect_status 2 "add with a short --out" ctl add x --in in0:239.1.1.7:5007 --out out0:239.2.2.7
expect_output_has "short --out" "--out 'out0:239.2.2.7': expected IF:ADDRESS:PORT[:TTL]"
expect_status 2 "unknown option" ctl list --frobnicate
expect_status 2 "no command" ctl
expect_status 6 "unknown namespace" ctl -n nothere list
expect_status 6 "unreachable bus" "$MCRCTL" --bus-address "unix:path=$(scratch no-such-socket)" list
expect_status 4 "add as nobody" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env MCRCTL_BUS_ADDRESS="$BUS_ADDRESS" "$MCRCTL" --no-ask-password add n1 --in in0:239.1.1.6:5006 --out out0:239.2.2.6:6006

check_eq "rules at the end" "from-mcr,video1" "$(ctl --json list | json_field '",".join(r["name"] for r in d["rules"])')"
kill -0 "$MCRD_PID" || die "mcrd exited during the test: $(mcrd_log | tail -n 5)"

# --- bash completion offers the daemon's rule names ----------------------------------
completion=$(PATH="$(dirname "$MCRCTL"):$PATH" bash -c '
    . "$1"
    COMP_WORDS=(mcrctl --bus-address "$2" remove "")
    COMP_CWORD=4
    _mcrctl
    printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd,' _ \
    "$MCRT_REPO_DIR/shell-completion/mcrctl.bash" "$BUS_ADDRESS")
check_eq "completion of 'mcrctl remove'" "from-mcr,video1" "$completion"
inspect_completion=$(bash -c '
    . "$1"
    COMP_WORDS=(mcrctl add cam --inspect "")
    COMP_CWORD=4
    _mcrctl
    printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd,' _ "$MCRT_REPO_DIR/shell-completion/mcrctl.bash")
check_eq "completion of 'mcrctl add ... --inspect'" "mpegts,none,rtp" "$inspect_completion"

# --- -n NS reaches mcrd --namespace NS under its escaped bus name -------------------
mcrd_stop || true
MCRD_BUS_NAME=org.mcr.Relay.ns.red_2d1 mcrd_start relay --namespace red-1
expect_status 0 "list -n red-1" ctl -n red-1 list
expect_output_has "list -n red-1" "2 rules listed."
expect_status 6 "list without -n while only red-1 runs" ctl list
expect_status 2 "invalid namespace name" ctl -n 'a/b' list
finish "mcrctl drives mcrd over D-Bus with the documented output and exit codes"
