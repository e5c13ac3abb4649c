#!/bin/bash
# Rules survive a supervisor restart (STATE_DIR/rules.json, written
# atomically on every change); a corrupt state file is moved aside and mcrd
# refuses to start with a clear message, unless --reset-state; rules from the
# admin config directory are merged, read-only over D-Bus (AdminRule), and
# re-read on SIGHUP and on Reload(); the sd_notify messages (READY, STATUS,
# RELOADING with MONOTONIC_USEC, STOPPING) and idle exit.
#
#   dbus-daemon (host) <- mcrd (relay namespace, no interfaces), restarted 5 times
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_tools sha256sum

bus_setup
ns_create relay
rule_count() { relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount; }

log "--- restart keeps the rules"
mcrd_start relay
relay_call AddRule 'sssqsa(ssqy)' keep-1 in0 239.1.1.1 5000 "" 1 out0 239.2.2.2 6000 0 >/dev/null
relay_call AddRule 'sssqsa(ssqy)' keep-2 in1 239.1.1.2 5000 192.0.2.9 1 out0 203.0.113.7 6000 32 >/dev/null
BEFORE_LIST=$(relay_call ListRules)
BEFORE_FILE=$(state_digest)
mcrd_stop || die "mcrd did not exit cleanly"
mcrd_start relay
check_eq "rules after restart" "$BEFORE_LIST" "$(relay_call ListRules)"
check_eq "state file untouched by the restart" "$BEFORE_FILE" "$(state_digest)"
mcrd_stop || die "mcrd did not exit cleanly"

log "--- corrupt state: refused, moved aside, then --reset-state"
printf '{"rules": [ {"name": "half' >"$MCRD_STATE_DIR/rules.json"
MCRD_STARTS=$((MCRD_STARTS + 1))
status=0
ip netns exec "$(ns_name relay)" "$MCRD" --bus "$BUS_ADDRESS" --allow-root --state-dir "$MCRD_STATE_DIR" \
    --config-dir "$MCRD_CONFIG_DIR" --worker-mode spawn >"$(scratch "mcrd.$MCRD_STARTS.log")" 2>&1 || status=$?
check_eq "exit status with a corrupt state file" 1 "$status"
grep -q "Failed to start: $MCRD_STATE_DIR/rules.json: unusable state (.*); moved to $MCRD_STATE_DIR/rules.json.corrupt-[0-9]*; fix it or start once with --reset-state" \
    "$(scratch "mcrd.$MCRD_STARTS.log")" || die "no clear message: $(mcrd_log)"
check_eq "corrupt copies kept" 1 "$(ls "$MCRD_STATE_DIR" | grep -c '^rules.json.corrupt-')"
[ ! -e "$MCRD_STATE_DIR/rules.json" ] || die "the corrupt file is still in place"
printf 'garbage' >"$MCRD_STATE_DIR/rules.json"
mcrd_start relay --reset-state
check_eq "rules after --reset-state" "u 0" "$(rule_count)"
mcrd_stop || die "mcrd did not exit cleanly"

log "--- admin configuration: merged, read-only, reloaded on SIGHUP and Reload()"
cat >"$MCRD_CONFIG_DIR/10-admin.json" <<'JSON'
// comments are allowed in admin files
{ "rules": [ { "name": "admin-1",
               "input": { "interface": "in0", "address": "239.7.7.1", "port": 5000 },
               "outputs": [ { "interface": "out0", "address": "239.8.8.1", "port": 6000 } ] } ] }
JSON
echo '{"rules": []}' >"$MCRD_CONFIG_DIR/ignored.txt"
mcrd_start relay
relay_call AddRule 'sssqsa(ssqy)' runtime-1 in0 239.1.1.1 5000 "" 1 out0 239.2.2.2 6000 0 >/dev/null
check_eq "admin + run-time rules" "u 2" "$(rule_count)"
check_eq "AdminRule" "org.mcr.Relay.Error.AdminRule|Rule 'admin-1' comes from the admin configuration and cannot be removed at run time; edit the configuration instead" \
    "$(relay_error RemoveRule admin-1)"
grep -q '"admin-1"' "$MCRD_STATE_DIR/rules.json" && die "admin rule written to the state file"
cat >"$MCRD_CONFIG_DIR/20-more.json" <<'JSON'
{ "rules": [ { "name": "admin-2",
               "input": { "interface": "in0", "address": "239.7.7.2", "port": 5000 },
               "outputs": [ { "interface": "out0", "address": "239.8.8.2", "port": 6000 } ] } ] }
JSON
kill -HUP "$MCRD_PID"
wait_until 10 "SIGHUP to add admin-2" relay_call GetRule s admin-2
check_eq "rules after SIGHUP" "u 3" "$(rule_count)"
rm "$MCRD_CONFIG_DIR/10-admin.json"
relay_call Reload
check_eq "rules after Reload() without 10-admin.json" "u 2" "$(rule_count)"
check_eq "admin-1 gone" "org.mcr.Relay.Error.NoSuchRule|No rule named 'admin-1'" "$(relay_error GetRule admin-1)"
echo '{"rules": [ {"name": "broken"} ] }' >"$MCRD_CONFIG_DIR/30-broken.json"
got=$(relay_error Reload)
case "$got" in "org.mcr.Relay.Error.InvalidRule|$MCRD_CONFIG_DIR/30-broken.json: rules[0]"*) ok "broken admin file refused: $got" ;;
               *) die "broken admin file: $got" ;; esac
check_eq "rules kept after a failed reload" "u 2" "$(rule_count)"
kill -0 "$MCRD_PID" || die "mcrd died on a failed reload"
mcrd_stop || die "mcrd did not exit cleanly"

log "--- sd_notify protocol: READY, STATUS, RELOADING on SIGHUP, STOPPING"
rm "$MCRD_CONFIG_DIR/30-broken.json"
NOTIFY_LOG=$(scratch notify.log)
bg_start_host "$(scratch notify-listener.log)" "$MCRT_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
' "$(scratch notify.sock)" "$NOTIFY_LOG"
wait_until 10 "the notify listener" test -S "$(scratch notify.sock)"
NOTIFY_SOCKET=$(scratch notify.sock) mcrd_start relay
wait_until 10 "READY=1" grep -q '^READY=1' "$NOTIFY_LOG"
grep -q '^STATUS=2 rules, 0/1 workers active, 0 pkt/s' "$NOTIFY_LOG" || die "no STATUS line: $(cat "$NOTIFY_LOG")"
kill -HUP "$MCRD_PID"
wait_until 10 "RELOADING=1" grep -q '^RELOADING=1 MONOTONIC_USEC=[0-9]* ' "$NOTIFY_LOG"
wait_until 10 "READY=1 after the reload" sh -c "[ \$(grep -c '^READY=1' '$NOTIFY_LOG') -eq 2 ]"
mcrd_stop || die "mcrd did not exit cleanly"
wait_until 10 "STOPPING=1" grep -q '^STOPPING=1' "$NOTIFY_LOG"

log "--- idle exit: no rules, --idle-exit-sec 1"
rm -f "$MCRD_CONFIG_DIR"/*.json
mcrd_start relay --reset-state
relay_call ImportRules sb '{"rules":[]}' true >/dev/null
mcrd_stop || true
mcrd_start relay --idle-exit-sec 1
check_eq "rules when idle" "u 0" "$(rule_count)"
wait_pid "$MCRD_PID" 10 || die "idle exit with status $?"
ok "mcrd exited by itself when idle"
finish "state persisted across restarts, corrupt state refused, admin config merged and reloaded, sd_notify, idle exit"
