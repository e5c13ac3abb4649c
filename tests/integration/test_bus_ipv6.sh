#!/bin/bash
# IPv6 on the control surfaces, without traffic: IPv6 and translation rules
# (4->6, 6->4, both families in one rule) added through D-Bus AddRule and
# AddRuleJSON and through mcrctl, listed by ListRules/GetRule/ExportRules, the
# Rule object properties and `mcrctl list/show`, kept across a restart; every
# IPv6 refusal through the bus with its error name and exact message, and
# mcrctl's bracket-syntax errors. The relay namespace has no in0/in1, so the
# rules wait for their interface and no worker runs: what is checked here
# does not depend on the data plane forwarding IPv6.
#
#   dbus-daemon (host, unix:path=.../bus/socket)
#        |
#   relay namespace: mcrd --bus unix:path=... (no in0, in1, out0, out1)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_tools gdbus
find_binary MCRCTL src/mcrctl/mcrctl

bus_setup
ns_create relay
mcrd_start relay

readonly WAITING='"waiting for interface"'

log "--- AddRule: IPv6 in, IPv6 multicast and unicast out, SSM source"
check_eq "AddRule path" 'o "/org/mcr/Relay/rule/v6"' \
    "$(relay_call AddRule 'sssqsa(ssqy)' v6 in0 ff3e::1 5000 2001:db8::1 2 out0 ff3e::2 6000 8 out1 2001:db8:1::7 6001 0)"
check_eq "ListRules" "a(sssqsa(ssqy)s) 1 \"v6\" \"in0\" \"ff3e::1\" 5000 \"2001:db8::1\" 2 \"out0\" \"ff3e::2\" 6000 8 \"out1\" \"2001:db8:1::7\" 6001 0 $WAITING" \
    "$(relay_call ListRules)"
check_eq "GetRule" '{"forward_expired_ttl":false,"input":{"address":"ff3e::1","interface":"in0","port":5000,"source":"2001:db8::1"},"name":"v6","outputs":[{"address":"ff3e::2","interface":"out0","port":6000,"ttl":8},{"address":"2001:db8:1::7","interface":"out1","port":6001}]}' \
    "$(relay_string GetRule s v6)"
check_eq "rule InAddress" 's "ff3e::1"' "$(rule_property v6 InAddress)"
check_eq "rule InSource" 's "2001:db8::1"' "$(rule_property v6 InSource)"
check_eq "rule Outputs" 'a(ssqy) 2 "out0" "ff3e::2" 6000 8 "out1" "2001:db8:1::7" 6001 0' "$(rule_property v6 Outputs)"
check_eq "rule State" "s $WAITING" "$(rule_property v6 State)"

log "--- AddRule spells addresses the daemon's way (RFC 5952)"
relay_call AddRule 'sssqsa(ssqy)' spelled in0 FF3E:0:0::0:9 5000 "" 1 out0 239.2.2.9 6000 0 >/dev/null
check_eq "rule InAddress (lower case, compressed)" 's "ff3e::9"' "$(rule_property spelled InAddress)"
relay_call RemoveRule s spelled

log "--- AddRuleJSON: translation both ways, allow_link_local"
check_eq "AddRuleJSON 4->6 and 4->4" 'o "/org/mcr/Relay/rule/to_2dv6"' \
    "$(relay_call AddRuleJSON s '{"name":"to-v6","input":{"interface":"in0","address":"239.1.1.1","port":5000,"source":"192.0.2.10"},"outputs":[{"interface":"out0","address":"ff3e::1:1","port":5000},{"interface":"out1","address":"239.2.2.2","port":5000,"ttl":4}]}')"
check_eq "AddRuleJSON 6->4 with a link-local output" 'o "/org/mcr/Relay/rule/to_2dv4"' \
    "$(relay_call AddRuleJSON s '{"name":"to-v4","input":{"interface":"in1","address":"ff15::7","port":6000},"outputs":[{"interface":"out0","address":"239.7.7.7","port":6000},{"interface":"out1","address":"ff02::fb","port":5353}],"allow_link_local":true}')"
check_eq "GetRule to-v4 shows allow_link_local" '{"allow_link_local":true,"forward_expired_ttl":false,"input":{"address":"ff15::7","interface":"in1","port":6000},"name":"to-v4","outputs":[{"address":"239.7.7.7","interface":"out0","port":6000},{"address":"ff02::fb","interface":"out1","port":5353}]}' \
    "$(relay_string GetRule s to-v4)"
check_eq "GetRule to-v6 (no allow_link_local key when false)" '{"forward_expired_ttl":false,"input":{"address":"239.1.1.1","interface":"in0","port":5000,"source":"192.0.2.10"},"name":"to-v6","outputs":[{"address":"ff3e::1:1","interface":"out0","port":5000},{"address":"239.2.2.2","interface":"out1","port":5000,"ttl":4}]}' \
    "$(relay_string GetRule s to-v6)"
check_eq "rule Outputs of to-v4" 'a(ssqy) 2 "out0" "239.7.7.7" 6000 0 "out1" "ff02::fb" 5353 0' "$(relay_get /org/mcr/Relay/rule/to_2dv4 org.mcr.Relay.Rule Outputs)"
check_eq "RuleCount" "u 3" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"
check_eq "WorkerCount (in0, in1)" "u 2" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager WorkerCount)"

log "--- every IPv6 refusal: D-Bus error name and message, nothing added"
BEFORE=$(state_digest)
invalid() { check_eq "InvalidRule ($1)" "org.mcr.Relay.Error.InvalidRule|$2" "$3"; }
invalid "zone suffix" 'input.address: must not carry a zone suffix ("%in0"): the "interface" field beside it names the interface, got "fe80::1%in0"' \
    "$(relay_error AddRule bad in0 'fe80::1%in0' 5001 "" "[('out0','ff3e::2',6000,0)]")"
invalid "zone suffix on an output" 'outputs[0].address: must not carry a zone suffix ("%2"): the "interface" field beside it names the interface, got "ff02::1%2"' \
    "$(relay_error AddRule bad in0 ff3e::5 5001 "" "[('out0','ff02::1%2',6000,0)]")"
invalid "interface-local" 'input.address: must not be an interface-local multicast group (scope 1, ffX1::), got "ff01::1"' \
    "$(relay_error AddRule bad in0 ff01::1 5001 "" "[('out0','ff3e::2',6000,0)]")"
invalid "reserved scope 0" 'outputs[0].address: must not be a multicast group of reserved scope 0 (ffX0::), got "ff30::2"' \
    "$(relay_error AddRule bad in0 ff3e::5 5001 "" "[('out0','ff30::2',6000,0)]")"
invalid "reserved scope f" 'outputs[1].address: must not be a multicast group of reserved scope f (ffXf::), got "ff0f::2"' \
    "$(relay_error AddRule bad in0 ff3e::5 5001 "" "[('out0','ff3e::2',6000,0),('out1','ff0f::2',6000,0)]")"
invalid "link-local group without the flag" 'input.address: is a link-local multicast group (scope 2, ffX2::): set allow_link_local (mcrctl --allow-link-local) to relay it, got "ff02::fb"' \
    "$(relay_error AddRule bad in0 ff02::fb 5353 "" "[('out0','239.2.2.2',5353,0)]")"
invalid "fe80::/10 without the flag" 'outputs[0].address: is a link-local unicast address (fe80::/10): set allow_link_local (mcrctl --allow-link-local) to relay it, got "fe80::7"' \
    "$(relay_error AddRuleJSON '{"name":"bad","input":{"interface":"in0","address":"ff3e::5","port":5001},"outputs":[{"interface":"out0","address":"fe80::7","port":6000}]}')"
invalid "allow_link_local not a boolean" 'allow_link_local: must be true or false, got "yes"' \
    "$(relay_error AddRuleJSON '{"name":"bad","input":{"interface":"in0","address":"ff02::fb","port":5001},"outputs":[{"interface":"out0","address":"ff3e::2","port":6000}],"allow_link_local":"yes"}')"
invalid "IPv4-mapped" 'input.address: must not be an IPv4-mapped IPv6 address (write the IPv4 address "239.1.1.1" itself), got "::ffff:239.1.1.1"' \
    "$(relay_error AddRule bad in0 ::ffff:239.1.1.1 5001 "" "[('out0','ff3e::2',6000,0)]")"
invalid "source of the other family" 'input.source: must be the same address family as input.address "ff3e::5", got "192.0.2.1"' \
    "$(relay_error AddRule bad in0 ff3e::5 5001 192.0.2.1 "[('out0','ff3e::2',6000,0)]")"
invalid "loopback input" 'input.address: must not be a loopback address, got "::1"' \
    "$(relay_error AddRule bad in0 ::1 5001 "" "[('out0','ff3e::2',6000,0)]")"
invalid "duplicate IPv6 output" 'outputs[1]: duplicate of outputs[0] (out0 [ff3e::2]:6000)' \
    "$(relay_error AddRule bad in0 ff3e::5 5001 "" "[('out0','ff3e::2',6000,0),('out0','ff3e::2',6000,3)]")"
invalid "bracketed address (mcrctl syntax, not the API's)" 'input.address: must be an IP address, got "[ff3e::5]"' \
    "$(relay_error AddRule bad in0 '[ff3e::5]' 5001 "" "[('out0','ff3e::2',6000,0)]")"
check_eq "InputConflict (IPv6 input in brackets)" 'org.mcr.Relay.Error.InputConflict|input: rule "v6" already has input in0 [ff3e::1]:5000 source 2001:db8::1' \
    "$(relay_error AddRule other in0 ff3e::1 5000 2001:db8::1 "[('out0','ff3e::9',6000,0)]")"
check_eq "RuleCount after the refusals" "u 3" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"
check_eq "state file unchanged by the refusals" "$BEFORE" "$(state_digest)"

log "--- mcrctl: bracket syntax, --allow-link-local, list/show"
export MCRCTL_BUS_ADDRESS=$BUS_ADDRESS
ctl() { "$MCRCTL" --no-ask-password "$@"; }
# ctl_fails CODE MESSAGE args...: mcrctl exits CODE and prints exactly MESSAGE on stderr.
ctl_fails() {
    local code=$1 message=$2 status=0 out; shift 2
    out=$(ctl "$@" 2>&1 >/dev/null) || status=$?
    check_eq "mcrctl $* exit status" "$code" "$status"
    check_eq "mcrctl $* message" "$message" "$out"
}
ctl add mdns --in 'in1:[ff02::fb]:5353' --out 'out0:[ff02::fb]:5353:1' --out out1:239.255.255.250:5353 --allow-link-local
check_eq "GetRule mdns (added by mcrctl)" '{"allow_link_local":true,"forward_expired_ttl":false,"input":{"address":"ff02::fb","interface":"in1","port":5353},"name":"mdns","outputs":[{"address":"ff02::fb","interface":"out0","port":5353,"ttl":1},{"address":"239.255.255.250","interface":"out1","port":5353}]}' \
    "$(relay_string GetRule s mdns)"
LIST=$(ctl list)
grep -qF 'in0:[ff3e::1]:5000@[2001:db8::1]' <<<"$LIST" || die "mcrctl list lacks the bracketed v6 input: $LIST"
grep -qF 'out0:[ff3e::2]:6000:8,out1:[2001:db8:1::7]:6001' <<<"$LIST" || die "mcrctl list lacks the bracketed v6 outputs: $LIST"
ok "mcrctl list writes IPv6 in brackets"
STATUS=$(ctl status --sample 0 --events 0 2>&1) || true
grep -qF 'in0 [ff3e::1]:5000@[2001:db8::1]' <<<"$STATUS" || die "mcrctl status lacks the bracketed v6 input: $STATUS"
ok "mcrctl status writes IPv6 in brackets"
SHOW=$(ctl show mdns)
check_eq "mcrctl show mdns" "   Name: mdns
  Input: in1:[ff02::fb]:5353
Outputs: out0:[ff02::fb]:5353:1
         out1:239.255.255.250:5353
   Link: link-local IPv6 addresses allowed (allow_link_local)
  State: waiting for interface" "$SHOW"
# What `mcrctl list` prints can be pasted into `mcrctl add`.
ctl remove v6
ctl add v6 --in 'in0:[ff3e::1]:5000@[2001:db8::1]' --out 'out0:[ff3e::2]:6000:8' --out 'out1:[2001:db8:1::7]:6001'
check_eq "v6 re-added from list's spelling" 'a(ssqy) 2 "out0" "ff3e::2" 6000 8 "out1" "2001:db8:1::7" 6001 0' "$(rule_property v6 Outputs)"
ctl_fails 2 "mcrctl: --in 'in0:ff3e::8:5000': an IPv6 address must be written in brackets: IF:[GROUP]:PORT[@[SOURCE]]" \
    add x --in in0:ff3e::8:5000 --out 'out0:[ff3e::2]:6000'
ctl_fails 2 "mcrctl: --out 'out0:[fe80::1%out0]:6000': address '[fe80::1%out0]' carries the zone suffix '%out0': the interface is named by the IF part, so leave it out" \
    add x --in 'in0:[ff3e::8]:5000' --out 'out0:[fe80::1%out0]:6000'
ctl_fails 2 "mcrctl: --in 'in0:[ff3e::8:5000': '[' without a closing ']'" add x --in 'in0:[ff3e::8:5000' --out 'out0:[ff3e::2]:6000'
ctl_fails 2 "mcrctl: --out 'out0:[ff3e::2]:6000:0': hop limit '0' must be 1..255" add x --in 'in0:[ff3e::8]:5000' --out 'out0:[ff3e::2]:6000:0'
# A refusal by the daemon's validation reaches mcrctl unchanged (exit 5: invalid rule).
ctl_fails 5 'mcrctl: input.address: is a link-local multicast group (scope 2, ffX2::): set allow_link_local (mcrctl --allow-link-local) to relay it, got "ff12::1"' \
    add x --in 'in0:[ff12::1]:5000' --out 'out0:[ff3e::2]:6000'
check_eq "RuleCount after mcrctl's refusals" "u 4" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"

add_options=$(bash -c '
    . "$1"
    COMP_WORDS=(mcrctl add x --)
    COMP_CWORD=3
    _mcrctl
    printf "%s\n" "${COMPREPLY[@]}" | grep -x -- --allow-link-local' _ "$MCRT_REPO_DIR/shell-completion/mcrctl.bash")
check_eq "bash completion of 'mcrctl add x --' offers --allow-link-local" "--allow-link-local" "$add_options"

log "--- the rules survive a restart unchanged (state file)"
EXPORTED=$(relay_string ExportRules)
mcrd_stop
mcrd_start relay
check_eq "ExportRules after restart" "$EXPORTED" "$(relay_string ExportRules)"
relay_string GetRule s to-v4 | grep -qF '"allow_link_local":true' || die "allow_link_local lost across the restart"
ok "allow_link_local kept across the restart"

finish
