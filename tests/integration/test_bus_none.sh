#!/bin/bash
# mcrd without any bus (mcrd --bus none, as in a container): started the way
# `podman run --cap-drop ALL --cap-add NET_RAW,KILL,SETUID,SETGID,SETPCAP` starts
# it (uid 0, only those five capabilities), in a private mount namespace
# where no D-Bus socket and no journal socket can be reached. A rule added
# with `mcrctl --socket` relays 1000 packets exactly; the spawned worker runs
# as nobody with every capability set empty; an unauthorized peer is refused
# both by the socket's file mode and, with the mode loosened, by the
# SO_PEERCRED rule, and changes nothing; a member of group mcr may write;
# every write leaves an audit line with its fields on stderr; commands the
# protocol cannot express fail with an error naming them.
#
#   +-------------+          +------------------------+          +---------------+
#   | src         |          | relay                  |          | sink0         |
#   | eth0        |----------| in0             out0   |----------| eth0          |
#   | 192.0.2.2   |          | 192.0.2.1   198.51.100.1          | 198.51.100.2  |
#   +-------------+          +------------------------+          +---------------+
#   mcrgen send               mcrd --bus none -> worker          mcrgen recv
#   239.1.1.1:5000            r1: -> 239.2.2.2:6000 TTL 8         239.2.2.2:6000
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_mcrgen
find_binary MCRD_WORKER src/worker/mcrd-worker
find_binary MCRD src/supervisor/mcrd
find_binary MCRCTL src/mcrctl/mcrctl
require_tools unshare setpriv

readonly PACKETS=1000 RATE=2000 SIZE=200
# A gid for the test's group "mcr", seen only inside the private mount
# namespace (a copy of /etc/group is mounted over the real one there).
readonly MCR_GID=64987
getent group mcr >/dev/null && skip "this machine has a group 'mcr'; the test brings its own"
getent group "$MCR_GID" >/dev/null && skip "gid $MCR_GID is taken on this machine"

relay_topology 1
chmod 0711 "$MCRT_TMPDIR"   # nobody must reach the control socket below
RUN_DIR=$(scratch run); mkdir -m 0755 "$RUN_DIR"
STATE_DIR=$(scratch state); mkdir -p "$STATE_DIR"
SOCKET="$RUN_DIR/control.sock"
GROUP_FILE=$(scratch group)
{ cat /etc/group; echo "mcr:x:$MCR_GID:"; } >"$GROUP_FILE"

# nobus NS cmd...: cmd inside network namespace NS and a private mount
# namespace with no bus and no journal: tmpfs over the system bus's and the
# journal's directories, the bus variables pointing at nothing (abstract
# sockets are per network namespace, and NS is new). /etc/group gains "mcr".
# A script that execs all the way, so that a background start's $! is the
# command's own pid.
NOBUS=$(scratch nobus.sh)
cat >"$NOBUS" <<'SH'
#!/bin/sh
netns=$1 group_file=$2; shift 2
exec unshare --mount --propagation private -- sh -ec '
    for dir in /run/dbus /run/systemd/journal; do
        if [ -d "$dir" ]; then mount -t tmpfs -o mode=0755 nobus "$dir"; fi
    done
    mount --bind "$0" /etc/group
    exec "$@"' "$group_file" \
    ip netns exec "$netns" \
    env -u DBUS_STARTER_ADDRESS -u DBUS_STARTER_BUS_TYPE -u NOTIFY_SOCKET -u JOURNAL_STREAM -u LISTEN_FDS \
    DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/system_bus_socket \
    DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/session_bus_socket "$@"
SH
chmod 0755 "$NOBUS"
nobus() { local ns=$1; shift; "$NOBUS" "$(ns_name "$ns")" "$GROUP_FILE" "$@"; }

log "--- the environment really has no bus and no journal"
nobus relay sh -c '! test -e /run/dbus/system_bus_socket && ! test -e /run/systemd/journal/socket' \
    || die "a bus or journal socket is reachable in the test's mount namespace"
if nobus relay busctl --system status >/dev/null 2>&1; then die "busctl reached a system bus"; fi
if nobus relay busctl --user status >/dev/null 2>&1; then die "busctl reached a session bus"; fi
check_eq "group mcr inside" "mcr:x:$MCR_GID:" "$(nobus relay getent group mcr)"

log "--- start-up refusals are clear"
# mcrd_refused EXIT_CODE MESSAGE_PART [setpriv args --] mcrd-args...
mcrd_refused() {
    local code=$1 part=$2 out status=0 caps=(--inh-caps=-all); shift 2
    if [ "$1" = "--caps" ]; then caps=(--inh-caps=-all --ambient-caps=-all "--bounding-set=-all,$2"); shift 2; fi
    out=$(timeout 20 "$NOBUS" "$(ns_name relay)" "$GROUP_FILE" setpriv "${caps[@]}" "$MCRD" --bus none \
        --state-dir "$(scratch refused-state)" --config-dir "$(scratch etc)" --runtime-dir "$(scratch refused-run)" \
        --worker-binary "$MCRD_WORKER" "$@" 2>&1) || status=$?
    check_eq "exit status of mcrd $*" "$code" "$status"
    [[ "$out" == *"$part"* ]] || die "expected '$part' from mcrd $*, got: $out"
    ok "mcrd $* refused: $out"
}
mkdir -p "$(scratch etc)"
mcrd_refused 2 "workers cannot be systemd units without a bus" --worker-mode systemd
mcrd_refused 2 "workers never run as root" --worker-user root
mcrd_refused 1 "no such user 'mcrt-no-such-user'" --caps +net_raw,+kill,+setuid,+setgid,+setpcap --worker-user mcrt-no-such-user
mcrd_refused 2 "needs the control socket" --control-socket -
mcrd_refused 1 "CAP_SETUID and CAP_SETGID are needed to start workers as --worker-user" --caps +net_raw
mcrd_refused 1 "CAP_KILL is needed to stop workers running as --worker-user" --caps +net_raw,+setuid,+setgid,+setpcap
mcrd_refused 1 "CAP_SETPCAP is needed at start" --caps +net_raw,+kill,+setuid,+setgid

log "--- mcrd --bus none with only NET_RAW, KILL, SETUID, SETGID, SETPCAP (a container's --cap-add set)"
MCRD_LOG=$(scratch mcrd.log)
mkdir -p "$(scratch etc)"
"$NOBUS" "$(ns_name relay)" "$GROUP_FILE" setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all,+net_raw,+kill,+setuid,+setgid,+setpcap \
    "$MCRD" --bus none --state-dir "$STATE_DIR" --config-dir "$(scratch etc)" --runtime-dir "$RUN_DIR" \
    --worker-binary "$MCRD_WORKER" --log-level debug >"$MCRD_LOG" 2>&1 &
MCRD_PID=$!
MCRT_PIDS+=("$MCRD_PID")
wait_until 15 "mcrd to create $SOCKET" test -S "$SOCKET"
check_eq "the started pid is mcrd" "$(readlink -f "$MCRD")" "$(readlink "/proc/$MCRD_PID/exe")"
grep -q "No bus (--bus none)" "$MCRD_LOG" || die "mcrd did not say it runs without a bus: $(cat "$MCRD_LOG")"
# The supervisor: NET_RAW (bit 13) and KILL (5) effective; SETGID (6) and
# SETUID (7) permitted only, for the workers' switch; an empty bounding set.
MCRD_CAPS=$(awk '/^Cap(Eff|Prm|Bnd|Amb)/ {printf "%s=%s ", $1, $2}' "/proc/$MCRD_PID/status")
check_eq "mcrd capabilities" \
    "CapPrm:=00000000000020e0 CapEff:=0000000000002020 CapBnd:=0000000000000000 CapAmb:=0000000000000000 " \
    "$MCRD_CAPS"
# Root-only (as MCR's): mcrd has no CAP_CHOWN to hand the file to group mcr.
check_eq "socket mode and group" "660 0" "$(stat -c '%a %g' "$SOCKET")"

ctl() { nobus relay "$MCRCTL" --socket "$SOCKET" "$@"; }
# ctl_as UID GROUPS ARGS...: mcrctl as another user (GROUPS: "" = none).
ctl_as() {
    local uid=$1 groups=$2; shift 2
    local group_args=(--clear-groups)
    [ -n "$groups" ] && group_args=(--groups "$groups")
    nobus relay setpriv --reuid="$uid" --regid="$uid" "${group_args[@]}" "$MCRCTL" --socket "$SOCKET" "$@"
}
# ctl_fails EXIT_CODE MESSAGE_PART ARGS...: mcrctl must fail so.
ctl_fails() {
    local code=$1 part=$2 out status=0; shift 2
    out=$("$@" 2>&1) || status=$?
    check_eq "exit status of '${*: -3}'" "$code" "$status"
    [[ "$out" == *"$part"* ]] || die "expected '$part' in: $out"
    ok "refused with: $out"
}

log "--- a rule added with mcrctl --socket; 1000 packets relayed exactly"
ctl add r1 --in in0:239.1.1.1:5000 --out out0:239.2.2.2:6000:8 || die "mcrctl --socket add failed"
check_eq "list" "r1 in0:239.1.1.1:5000 out0:239.2.2.2:6000:8" "$(ctl list | awk '$1 == "r1" {print $1, $2, $3}')"
worker_running() { ctl workers --json | grep -q '"Running"'; }
wait_until 20 "the worker to run" worker_running
WORKER_PID=$(ctl workers | awk '$1 == "in0" {print $3}')
[ -n "$WORKER_PID" ] && [ "$WORKER_PID" -gt 0 ] || die "no worker pid: $(ctl workers)"
MCRT_PIDS+=("$WORKER_PID")   # cleaned up by pid should it outlive mcrd

gen_recv_start sink0 rx --group 239.2.2.2 --port 6000 --interface eth0 --duration 60 --expect "$PACKETS"
gen_send src tx --group 239.1.1.1 --port 5000 --interface eth0 --rate "$RATE" --size "$SIZE" --count "$PACKETS"
gen_recv_wait rx || die "sink0 did not get $PACKETS packets"
check_eq "unique packets at sink0" "$PACKETS" "$(json_get "$(scratch rx.json)" unique)"
check_eq "duplicates at sink0" 0 "$(json_get "$(scratch rx.json)" duplicated)"
stats_packets() { ctl stats --json | "$MCRT_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["packets_relayed"])'; }
relayed_all() { [ "$(stats_packets)" = "$PACKETS" ]; }
wait_until 10 "GetStats to count $PACKETS packets" relayed_all

log "--- the worker: user nobody, no capabilities at all, no_new_privs"
NOBODY_UID=$(id -u nobody)
check_eq "worker Uid" "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" \
    "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$WORKER_PID/status")"
check_eq "worker Gid" "$(id -g nobody)" "$(awk '/^Gid:/ {print $2}' "/proc/$WORKER_PID/status")"
check_eq "worker Groups" "" "$(awk '/^Groups:/ {print $2}' "/proc/$WORKER_PID/status")"
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
    check_eq "worker $set" 0000000000000000 "$(awk -v s="$set:" '$1 == s {print $2}' "/proc/$WORKER_PID/status")"
done
check_eq "worker NoNewPrivs" 1 "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$WORKER_PID/status")"

log "--- audit entries on stderr, with their fields, as there is no journal"
grep -E "MESSAGE_ID=[0-9a-f]{32} MCR_ACTION=add-rule MCR_RULE=r1 MCR_RESULT=allowed MCR_VIA=socket MCR_CALLER_UID=0 " \
    "$MCRD_LOG" >/dev/null || die "no audit line for the add: $(cat "$MCRD_LOG")"

log "--- an unauthorized peer (uid 65534, not in group mcr) is refused and changes nothing"
STATE_BEFORE=$(sha256sum <"$STATE_DIR/rules.json")
ctl_fails 4 "Permission denied" ctl_as "$NOBODY_UID" "" remove r1
# With the file mode loosened by hand, the SO_PEERCRED rule still refuses.
chmod 0666 "$SOCKET"
ctl_fails 4 "access denied: without a bus, writes need root or membership in group 'mcr' (peer uid $NOBODY_UID)" \
    ctl_as "$NOBODY_UID" "" remove r1
ctl_fails 4 "access denied: without a bus, writes need root or membership in group 'mcr'" \
    ctl_as "$NOBODY_UID" "" add r2 --in in0:239.1.1.2:5000 --out out0:239.2.2.3:6000:8
ctl_fails 4 "access denied: reading mcrd state needs root or membership in group 'mcr'" ctl_as "$NOBODY_UID" "" list
chmod 0660 "$SOCKET"
check_eq "state file after the refusals" "$STATE_BEFORE" "$(sha256sum <"$STATE_DIR/rules.json")"
check_eq "rules after the refusals" "r1" "$(ctl list --json | "$MCRT_PYTHON" -c \
    'import json, sys; print(" ".join(r["name"] for r in json.load(sys.stdin)["rules"]))')"
grep -E "MESSAGE_ID=[0-9a-f]{32} MCR_ACTION=remove-rule MCR_RULE=r1 MCR_RESULT=denied MCR_VIA=socket MCR_CALLER_UID=$NOBODY_UID " \
    "$MCRD_LOG" >/dev/null || die "no audit line for the refused remove: $(cat "$MCRD_LOG")"

log "--- a member of group mcr may write (once the admin gave the socket to the group)"
chgrp "$MCR_GID" "$SOCKET"
ctl_as "$NOBODY_UID" "$MCR_GID" add r2 --in in0:239.1.1.2:5000 --out out0:239.2.2.3:6000:8 \
    || die "a member of group mcr was refused"
ctl_as "$NOBODY_UID" "$MCR_GID" remove r2 || die "a member of group mcr could not remove r2"
grep -qE "MCR_ACTION=add-rule MCR_RULE=r2 MCR_RESULT=allowed MCR_VIA=socket MCR_CALLER_UID=$NOBODY_UID " "$MCRD_LOG" \
    || die "no audit line for the group member's add: $(cat "$MCRD_LOG")"

log "--- the other commands the protocol expresses"
[[ "$(ctl version)" == *"control socket protocol 1"* ]] || die "version: $(ctl version)"
check_eq "log level" "Debug" "$(ctl log-level)"
ctl log-level info || die "log-level info failed"
check_eq "log level after setting it" "Info" "$(ctl log-level)"
check_eq "show r1" "Outputs: out0:239.2.2.2:6000:8" "$(ctl show r1 | grep Outputs)"
ctl_fails 3 "No rule named 'nope'" ctl show nope
ctl_fails 3 "No rule named 'nope'" ctl remove nope
cat >"$(scratch import.json5)" <<'JSON5'
// MCR's configuration format, as LoadConfig carries it
{ rules: [ { name: "r4", input: { interface: "in0", group: "239.1.1.4", port: 5000 },
             outputs: [ { group: "239.2.2.4", port: 6000, interface: "out0", ttl: 3 } ] } ] }
JSON5
ctl config import "$(scratch import.json5)" || die "config import over the socket failed"
check_eq "export after import" "r1 r4" "$(ctl config export | "$MCRT_PYTHON" -c \
    'import json, sys; print(" ".join(r["name"] for r in json.load(sys.stdin)["rules"]))')"
ctl remove r4 || die "remove r4 failed"

log "--- what the protocol cannot express: an error naming the command"
ctl_fails 2 "'reload' is not available with --socket" ctl reload
ctl_fails 2 "'status' is not available with --socket" ctl status
ctl_fails 2 "'stats --watch' is not available with --socket" ctl stats --watch --count 1
ctl_fails 2 "'add --fast-path' is not available with --socket" \
    ctl add r3 --in in0:239.1.1.3:5000 --out out0:239.2.2.4:6000:8 --fast-path off
check_eq "the refused add left no rule r3" "" "$(ctl list | grep -w r3 || true)"
ctl_fails 2 "output 'out0:239.2.2.4:6000' needs an explicit TTL" ctl add r3 --in in0:239.1.1.3:5000 --out out0:239.2.2.4:6000
ctl_fails 6 "Failed to connect to the control socket $RUN_DIR/nothing.sock: No such file" \
    nobus relay "$MCRCTL" --socket "$RUN_DIR/nothing.sock" list
ctl_fails 2 "--namespace and --socket exclude each other" ctl --namespace red list
ctl_fails 2 "--bus-address and --socket exclude each other" ctl --bus-address unix:path=/nonexistent list
check_eq "rules at the end" "r1" "$(ctl list --json | "$MCRT_PYTHON" -c \
    'import json, sys; print(" ".join(r["name"] for r in json.load(sys.stdin)["rules"]))')"

log "--- the worker ends with mcrd (its parent-death signal survives the switch to nobody)"
WORKER_PID=$(ctl workers | awk '$1 == "in0" {print $3}')
kill -KILL "$MCRD_PID"
worker_gone() { [ ! -e "/proc/$WORKER_PID" ] || grep -q '^State:[[:space:]]*Z' "/proc/$WORKER_PID/status"; }
wait_until 10 "worker $WORKER_PID to end after mcrd was killed" worker_gone
ok "worker $WORKER_PID ended with mcrd"
stop_pid "$MCRD_PID" || true
finish "bus-less mcrd: $PACKETS/$PACKETS relayed, worker unprivileged, refusals audited on stderr"
