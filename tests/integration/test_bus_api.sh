#!/bin/bash
# The public D-Bus API of mcrd on a private dbus-daemon that uses the
# project's own bus policy: rules added/listed/read/removed with busctl,
# every org.mcr.Relay.Error name with its exact message, properties, import
# and export, and an unprivileged caller (nobody) refused by polkit (absent
# here = denied) while the state file stays byte-identical; nobody may read
# but may not own the bus name. No interfaces exist in the relay namespace,
# so rules wait for their interface and no worker runs.
#
#   dbus-daemon (host, unix:path=…/bus/socket)
#        |
#   relay namespace: mcrd --bus unix:path=… --max-rules 3 (no in0/out0)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_tools gdbus sha256sum

bus_setup
ns_create relay
mcrd_start relay --max-rules 3

log "--- add, list, get"
check_eq "empty ListRules" "a(sssqsa(ssqy)s) 0" "$(relay_call ListRules)"
check_eq "AddRule path" 'o "/org/mcr/Relay/rule/video1"' \
    "$(relay_call AddRule 'sssqsa(ssqy)' video1 in0 239.1.1.1 5000 "" 2 out0 239.2.2.2 6000 0 out1 203.0.113.7 6001 9)"
check_eq "ListRules" 'a(sssqsa(ssqy)s) 1 "video1" "in0" "239.1.1.1" 5000 "" 2 "out0" "239.2.2.2" 6000 0 "out1" "203.0.113.7" 6001 9 "waiting for interface"' \
    "$(relay_call ListRules)"
check_eq "GetRule" '{"forward_expired_ttl":false,"input":{"address":"239.1.1.1","interface":"in0","port":5000},"name":"video1","outputs":[{"address":"239.2.2.2","interface":"out0","port":6000},{"address":"203.0.113.7","interface":"out1","port":6001,"ttl":9}]}' \
    "$(relay_string GetRule s video1)"
check_eq "rule InAddress" 's "239.1.1.1"' "$(rule_property video1 InAddress)"
check_eq "rule InPort" 'q 5000' "$(rule_property video1 InPort)"
check_eq "rule Outputs" 'a(ssqy) 2 "out0" "239.2.2.2" 6000 0 "out1" "203.0.113.7" 6001 9' "$(rule_property video1 Outputs)"
check_eq "rule State" 's "waiting for interface"' "$(rule_property video1 State)"
check_eq "rule Packets" 't 0' "$(rule_property video1 Packets)"
check_eq "AddRuleJSON path (SSM source, expired TTL forwarding)" 'o "/org/mcr/Relay/rule/ssm_2da"' \
    "$(relay_call AddRuleJSON s '{"name":"ssm-a","input":{"interface":"in0","address":"232.1.1.1","port":5000,"source":"192.0.2.10"},"outputs":[{"interface":"out0","address":"239.3.3.3","port":7000}],"forward_expired_ttl":true}')"
check_eq "rule InSource" 's "192.0.2.10"' "$(rule_property ssm_2da InSource)"
relay_string GetRule s ssm-a | grep -q '"forward_expired_ttl":true' || die "forward_expired_ttl lost"
check_eq "RuleCount" "u 2" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"
check_eq "WorkerCount (one ingress interface)" "u 1" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager WorkerCount)"
check_eq "ListWorkers" 'a(ssssu) 1 "in0" "spawned" "waiting for interface" "interface in0 does not exist" 0' \
    "$(relay_call ListWorkers)"
check_eq "Namespace" 's ""' "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager Namespace)"
relay_get /org/mcr/Relay org.mcr.Relay.Manager Version | grep -Eq '^s "[0-9]+\.[0-9]+\.[0-9]+"$' || die "Version"

log "--- every error name with its message"
check_eq "InvalidRule" 'org.mcr.Relay.Error.InvalidRule|outputs[0].port: must be an integer 1..65535, got 0' \
    "$(relay_error AddRule bad in0 239.1.1.1 5001 "" "[('out0','239.2.2.2',0,0)]")"
check_eq "InvalidRule (address)" 'org.mcr.Relay.Error.InvalidRule|input.address: must be an IP address, got "239.1.1"' \
    "$(relay_error AddRule bad in0 239.1.1 5001 "" "[('out0','239.2.2.2',6000,0)]")"
check_eq "InvalidRule (JSON)" 'org.mcr.Relay.Error.InvalidRule|line 1, column 2: syntax error' \
    "$(relay_error AddRuleJSON '{x' | sed 's/: syntax error.*/: syntax error/')"
check_eq "RuleExists" 'org.mcr.Relay.Error.RuleExists|name: a rule named "video1" already exists' \
    "$(relay_error AddRule video1 in0 239.1.1.9 5000 "" "[('out0','239.2.2.2',6000,0)]")"
check_eq "InputConflict" 'org.mcr.Relay.Error.InputConflict|input: rule "video1" already has input in0 239.1.1.1:5000' \
    "$(relay_error AddRule other in0 239.1.1.1 5000 "" "[('out0','239.2.2.9',6000,0)]")"
check_eq "NoSuchRule (RemoveRule)" "org.mcr.Relay.Error.NoSuchRule|No rule named 'nope'" "$(relay_error RemoveRule nope)"
check_eq "NoSuchRule (GetRule)" "org.mcr.Relay.Error.NoSuchRule|No rule named 'nope'" "$(relay_error GetRule nope)"
check_eq "InvalidArgument" "org.mcr.Relay.Error.InvalidArgument|level: must be one of err, warning, notice, info, debug, got 'loud'" \
    "$(relay_error SetLogLevel loud)"
relay_call AddRule 'sssqsa(ssqy)' third in0 239.1.1.3 5000 "" 1 out0 239.2.2.3 6000 0 >/dev/null
check_eq "TooManyRules (--max-rules 3)" 'org.mcr.Relay.Error.TooManyRules|too many rules: 4, at most 3 allowed' \
    "$(relay_error AddRule fourth in0 239.1.1.4 5000 "" "[('out0','239.2.2.4',6000,0)]")"
chmod 0500 "$MCRD_STATE_DIR"   # mcrd keeps only CAP_NET_RAW: root without DAC_OVERRIDE cannot write here
check_eq "PersistFailed" "org.mcr.Relay.Error.PersistFailed|Failed to save the rules to $MCRD_STATE_DIR/rules.json: Permission denied" \
    "$(relay_error RemoveRule third)"
chmod 0750 "$MCRD_STATE_DIR"
check_eq "rule set unchanged after PersistFailed" "u 3" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"
relay_call RemoveRule s third
check_eq "RuleCount after RemoveRule" "u 2" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"

log "--- unprivileged caller: reads allowed, writes denied by polkit, state untouched"
BEFORE=$(state_digest)
check_eq "nobody may read" 'a(sssqsa(ssqy)s) 2' "$(relay_call_as_nobody ListRules | cut -d' ' -f1-2)"
relay_call_as_nobody GetStats >/dev/null || die "nobody cannot call GetStats"
check_eq "nobody may read the membership (no output requires listeners: none kept)" "s \"[]\"" \
    "$(relay_call_as_nobody GetMembership s "")"
# expect_denied METHOD ARGS...: nobody's call fails with AccessDenied from the polkit check.
expect_denied() {
    local got
    got=$(relay_error --as-nobody "$@")
    case "$got" in
        "org.freedesktop.DBus.Error.AccessDenied|polkit is not available to authorize 'org.mcr.relay."*)
            ok "nobody: $1 -> ${got%%|*}" ;;
        *) die "nobody: $1 -> $got" ;;
    esac
}
expect_denied AddRule n2 in0 239.1.1.5 5000 "" "[('out0','239.2.2.5',6000,0)]"
expect_denied AddRuleJSON '{"name":"n3","input":{"interface":"in0","address":"239.1.1.6","port":1},"outputs":[{"interface":"out0","address":"239.2.2.6","port":2}]}'
expect_denied RemoveRule video1
expect_denied ImportRules '{"rules":[]}' true
expect_denied ResetStats
expect_denied Reload
expect_denied SetLogLevel err
check_eq "state file byte-identical after denied writes" "$BEFORE" "$(state_digest)"
check_eq "rules after denied writes" "u 2" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"
if setpriv --reuid=nobody --regid=nogroup --clear-groups busctl --address="$BUS_ADDRESS" call \
        org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus RequestName su org.mcr.Relay.ns.evil 0 2>/dev/null; then
    die "nobody could own org.mcr.Relay.ns.evil"
fi
ok "the bus policy keeps nobody from owning org.mcr.Relay.ns.*"

log "--- log level, export, import"
relay_call SetLogLevel s info
check_eq "LogLevel" 's "info"' "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager LogLevel)"
EXPORTED=$(relay_string ExportRules)
check_eq "ImportRules replace (round trip)" "u 2" "$(relay_call ImportRules sb "$EXPORTED" true)"
check_eq "rules after round trip" "$EXPORTED" "$(relay_string ExportRules)"
check_eq "ImportRules all-or-nothing" 'org.mcr.Relay.Error.InvalidRule|rules[1].outputs[0].port: must be an integer 1..65535, got 70000' \
    "$(relay_error ImportRules '{"rules":[{"name":"ok1","input":{"interface":"in1","address":"239.9.9.1","port":1},"outputs":[{"interface":"out0","address":"239.8.8.8","port":2}]},{"name":"bad","input":{"interface":"in1","address":"239.9.9.2","port":1},"outputs":[{"interface":"out0","address":"239.8.8.8","port":70000}]}]}' false)"
check_eq "no rule added by the failed import" "u 2" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"
MCR_JSON5="{ rules: [ { name: 'mcr1', input: { interface: 'in2', group: '239.5.5.5', port: 5000, }, outputs: [ { interface: 'out0', group: '239.6.6.6', port: 6000 } ] } ] }"
check_eq "ImportRules MCR json5 merge" "u 1" "$(relay_call ImportRules sb "$MCR_JSON5" false)"
check_eq "imported rule" 's "239.5.5.5"' "$(rule_property mcr1 InAddress)"
check_eq "RuleCount after import" "u 3" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"

busctl --address="$BUS_ADDRESS" introspect org.mcr.Relay /org/mcr/Relay >"$(scratch introspect.txt)"
grep -q '^\.AddRule  *method  *sssqsa(ssqy)  *o ' "$(scratch introspect.txt)" || die "introspection lacks AddRule"
mcrd_stop || die "mcrd did not exit cleanly on SIGTERM"
finish "D-Bus API: rules, errors, properties, polkit denial, import/export"
