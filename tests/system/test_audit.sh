#!/bin/bash
# Audit trail under a booted systemd (~80 s): an allowed, a denied (alice via
# setpriv) and an invalid AddRule each leave exactly one journal entry with
# the right MESSAGE_ID, result, uid and pid; `journalctl MCR_RESULT=denied`
# lists the refusal; socket and SIGHUP writes are audited with their MCR_VIA;
# a remove records the rule before; an entry sent while journald is stopped
# (SIGSTOP) appears once it runs again; `journalctl -x` shows the catalog
# text; `mcrctl status` (text and --json) shows the known state.
. "$(dirname "$0")/lib/preamble.sh"
system_boot --topology

# The ids, from the one place they are defined.
ids=$MESON_SOURCE_ROOT/src/core/message_ids.hpp
id_of() { sed -n "s/.*k$1 = \"\([0-9a-f]*\)\".*/\1/p" "$ids"; }
ADDED=$(id_of RuleAdded); REMOVED=$(id_of RuleRemoved); RELOADED=$(id_of ConfigReloaded)
DENIED=$(id_of AuthorizationDenied); REJECTED=$(id_of WriteRejected)
check_match "message ids read from message_ids.hpp" '^([0-9a-f]{32} ){4}[0-9a-f]{32}$' \
    "$ADDED $REMOVED $RELOADED $DENIED $REJECTED"

# entries MATCH...: the matching entries as JSON lines (waits up to 10 s for
# at least one, since journald receives them asynchronously).
entries() {
    local deadline=$((SECONDS + 10)) out=
    while ((SECONDS < deadline)); do
        out=$(sys_exec journalctl --no-pager -o json "$@" 2>/dev/null)
        [[ -n "$out" ]] && break
        sleep 0.3
    done
    printf '%s' "$out"
}
# field JSON_LINES NAME: NAME of every entry, one per line.
field() {
    python3 -c 'import json,sys
for line in sys.argv[1].splitlines():
    print(json.loads(line).get(sys.argv[2], "<absent>"))' "$1" "$2"
}
count() { [[ -z "$1" ]] && echo 0 || printf '%s\n' "$1" | wc -l; }
# call_with_pid USER ARGS...: busctl call as USER; prints "PID RC" (busctl's
# pid in the container, known because the shell execs into it).
call_with_pid() {
    local user=$1 out rc
    shift
    out=$(sys_as "$user" sh -c 'echo $$; exec busctl call --timeout=30 "$@" 2>/dev/null' sh \
        "$relay_dest" "$relay_path" "$relay_iface" "$@")
    rc=$?
    echo "$(head -1 <<<"$out") $rc"
}

sys_exec journalctl --update-catalog
check_eq "journalctl --update-catalog accepts catalog/mcrd.catalog" 0 "$?"
sys_exec systemctl start mcrd.socket mcrd.service
sys_wait_active mcrd.service 30 || die "mcrd.service did not start"
alice_uid=$(sys_exec id -u alice)

ok=aud-ok-$$ denied=aud-denied-$$ bad=aud-bad-$$
read -r root_pid rc < <(call_with_pid 0 AddRule 'sssqsa(ssqy)' "$ok" in0 239.1.1.9 5009 "" 1 out0 239.2.2.9 6009 8)
check_eq "root's AddRule $ok succeeds" 0 "$rc"
read -r alice_pid rc < <(call_with_pid alice AddRule 'sssqsa(ssqy)' "$denied" in0 239.1.1.10 5010 "" 1 out0 239.2.2.10 6010 8)
check_eq "alice's AddRule $denied is refused" 1 "$((rc != 0))"
read -r bad_pid rc < <(call_with_pid 0 AddRule 'sssqsa(ssqy)' "$bad" in0 239.1.1.11 0 "" 1 out0 239.2.2.11 6011 8)
check_eq "AddRule $bad with input port 0 is refused" 1 "$((rc != 0))"

e=$(entries MESSAGE_ID="$ADDED" MCR_RULE="$ok")
check_eq "allowed add: one rule-added entry" 1 "$(count "$e")"
check_eq "allowed add: result, via, uid, pid" "allowed dbus 0 $root_pid" \
    "$(field "$e" MCR_RESULT) $(field "$e" MCR_VIA) $(field "$e" MCR_CALLER_UID) $(field "$e" MCR_CALLER_PID)"
check_match "allowed add: MCR_AFTER is the stored rule" \
    '"input":\{"address":"239\.1\.1\.9","interface":"in0","port":5009\},"name":"'"$ok"'"' "$(field "$e" MCR_AFTER)"
check_eq "allowed add: nothing else mentions $ok" 1 "$(count "$(entries MCR_RULE="$ok")")"

e=$(entries MESSAGE_ID="$DENIED" MCR_RULE="$denied")
check_eq "denied add: one authorization-denied entry" 1 "$(count "$e")"
check_eq "denied add: result, action, uid, pid" "denied add-rule $alice_uid $alice_pid" \
    "$(field "$e" MCR_RESULT) $(field "$e" MCR_ACTION) $(field "$e" MCR_CALLER_UID) $(field "$e" MCR_CALLER_PID)"
check_eq "denied add: no other entry names $denied" 1 "$(count "$(entries MCR_RULE="$denied")")"

e=$(entries MESSAGE_ID="$REJECTED" MCR_RULE="$bad")
check_eq "invalid add: one write-rejected entry" 1 "$(count "$e")"
check_eq "invalid add: result and pid" "invalid $bad_pid" "$(field "$e" MCR_RESULT) $(field "$e" MCR_CALLER_PID)"
check_match "invalid add: MCR_DETAIL names the field" 'port.*0' "$(field "$e" MCR_DETAIL)"

denied_list=$(sys_exec journalctl --no-pager MCR_RESULT=denied \
    -o 'verbose' --output-fields=MCR_RULE,MCR_CALLER_UID,MCR_CALLER_PID 2>/dev/null | tr '\n' ' ')
check_match "journalctl MCR_RESULT=denied lists alice's refused write with uid and pid" \
    "MCR_RULE=$denied.*MCR_CALLER_UID=$alice_uid.*MCR_CALLER_PID=$alice_pid|MCR_CALLER_UID=$alice_uid.*MCR_CALLER_PID=$alice_pid.*MCR_RULE=$denied|MCR_CALLER_PID=$alice_pid.*MCR_CALLER_UID=$alice_uid.*MCR_RULE=$denied" \
    "$denied_list"
echo "# journalctl MCR_RESULT=denied -o cat: $(sys_exec journalctl --no-pager MCR_RESULT=denied -o cat 2>/dev/null | tail -1)"

explained=$(sys_exec journalctl --no-pager -x MESSAGE_ID="$DENIED" MCR_RULE="$denied" 2>/dev/null)
check_match "journalctl -x shows the catalog text for the refusal" \
    "Subject: add-rule refused for uid $alice_uid.*polkit did not" "$(tr '\n' ' ' <<<"$explained")"

# The JSON socket: an unparsable write and an allowed one, each once, via=socket.
sock() { sys_exec python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect("/run/mcr/control.sock")
s.sendall(sys.argv[1].encode() + b"\n"); print(s.recv(65536).decode())' "$1"; }
reply=$(sock '{"RemoveRuleByName":{"name":"aud-none-'$$'"}}')
check_match "socket remove of an unknown rule is refused" "^\\{\"Error\":\"No rule named 'aud-none-$$'\"\\}" "$reply"
e=$(entries MCR_RULE="aud-none-$$")
check_eq "socket refusal: one entry, invalid, via socket" "1 invalid socket" \
    "$(count "$e") $(field "$e" MCR_RESULT) $(field "$e" MCR_VIA)"

# SIGHUP through systemctl reload (the first reload of this boot): one
# entry, via signal; the sender is ExecReload's kill, run as the unit's user
# inside mcrd.service.
sys_exec systemctl reload mcrd.service
e=$(entries MESSAGE_ID="$RELOADED")
check_eq "systemctl reload: one reload entry via signal, allowed, from mcrd.service as user mcrd" \
    "1 signal allowed mcrd.service $(sys_exec id -u mcrd)" \
    "$(count "$e") $(field "$e" MCR_VIA) $(field "$e" MCR_RESULT) $(field "$e" MCR_CALLER_UNIT) $(field "$e" MCR_CALLER_UID)"

# Remove: the rule before is in the entry.
out=$(relay_call_as root RemoveRule s "$ok"); check_eq "RemoveRule $ok ($out)" "" "$out"
e=$(entries MESSAGE_ID="$REMOVED" MCR_RULE="$ok")
check_eq "remove: one rule-removed entry" 1 "$(count "$e")"
check_match "remove: MCR_BEFORE holds the rule" '"name":"'"$ok"'"' "$(field "$e" MCR_BEFORE)"

# journald stopped: the datagram waits in the socket PID 1 holds, the write
# is not refused, and the entry appears once journald runs again.
slow=aud-slow-$$
jpid=$(sys_main_pid systemd-journald.service)
sys_exec kill -STOP "$jpid"
out=$(relay_add_rule_as root "$slow" in0 239.1.1.12 5012 out0 239.2.2.12 6012 8); rc=$?
sys_exec kill -CONT "$jpid"
check_eq "AddRule while journald is stopped succeeds ($out)" 0 "$rc"
e=$(entries MESSAGE_ID="$ADDED" MCR_RULE="$slow")
check_eq "the entry sent while journald was stopped appears, once" 1 "$(count "$e")"

# mcrctl status: units, the rule, the last audit events.
# The worker picks the new rule up asynchronously: wait (20 s) until active.
deadline=$((SECONDS + 20))
until [[ "$(json_of "$(sys_exec mcrctl status --json --sample 0 2>/dev/null)" rules.0.state)" == active ]] ||
    ((SECONDS >= deadline)); do sleep 0.5; done
status=$(sys_exec mcrctl status --sample 0.5 --events 10 2>&1); rc=$?
check_eq "mcrctl status exits 0" 0 "$rc"
echo "$status" | sed 's/^/# status: /'
check_match "status: supervisor unit active" '● mcrd\.service - multicast relay.*Active: active \(running\), up ' \
    "$(tr '\n' ' ' <<<"$status")"
check_match "status: restarts from systemd" 'Restarts: 0' "$status"
check_match "status: worker unit with restarts" 'in0 +mcrd-worker@in0\.service +active \(running\) +0 ' "$status"
check_match "status: one rule, active, with rate and counters" "Rules: 1 .* $slow +in0 239\.1\.1\.12:5012 +active +0 +0 +0" \
    "$(tr '\n' ' ' <<<"$status")"
check_match "status: last audit event is the slow add" "allowed +add-rule +$slow +dbus +0 " "$(tail -1 <<<"$status")"
check_match "status: the denied add is among the events" "denied +add-rule +$denied +dbus +$alice_uid +$alice_pid" "$status"
json=$(sys_exec mcrctl status --json --sample 0 2>&1)
check_eq "status --json: unit, restarts, rules, last audit rule" "mcrd.service 0 $slow $slow" \
    "$(json_of "$json" supervisor.unit) $(json_of "$json" supervisor.restarts) $(json_of "$json" rules.0.name) $(json_of "$json" audit.-1.rule)"
alice_status=$(sys_as alice mcrctl status --sample 0 2>&1); rc=$?
check_eq "mcrctl status as alice exits 0" 0 "$rc"
check_match "status as alice says the audit events are not readable" 'audit events not shown: the system journal' \
    "$alice_status"

sample=$(sys_exec journalctl --no-pager -o json-pretty MESSAGE_ID="$DENIED" MCR_RULE="$denied" 2>/dev/null |
    grep -E '"(MESSAGE|MESSAGE_ID|PRIORITY|MCR_[A-Z_]+|_SYSTEMD_UNIT|SYSLOG_IDENTIFIER)"')
echo "$sample" | sed 's/^/# denied entry: /'
finish
