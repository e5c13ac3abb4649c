#!/bin/bash
# Socket and bus activation of mcrd, and polkit deciding who may change rules:
# alice (nobody special) is refused, bob (group mcr + the operators example
# rule) and root are allowed, reads are open to all.
. "$(dirname "$0")/lib/preamble.sh"
system_boot

entered() { sys_prop mcrd.service ActiveEnterTimestampMonotonic; }

# --- (c) bus activation: nothing runs until the first call ---
sys_exec systemctl enable --now mcrd.socket >/dev/null 2>&1
check_eq "mcrd.socket active after enable --now" active "$(sys_prop mcrd.socket ActiveState)"
check_eq "mcrd.service not started by the socket alone" inactive "$(sys_prop mcrd.service ActiveState)"
check_eq "mcrd.service never entered active" 0 "$(entered)"
reply=$(relay_call_as alice ListRules)
check_eq "ListRules by an unprivileged user activates mcrd (reply)" "a(sssqsa(ssqy)s) 0" "$reply"
check_match "mcrd.service entered active" '^[1-9][0-9]*$' "$(entered)"
check_eq "mcrd runs as user mcrd" mcrd "$(sys_exec ps -o user= -p "$(sys_prop mcrd.service MainPID)" 2>/dev/null | tr -d ' ')"

# --- (c) socket activation: a client on control.sock starts mcrd ---
sys_exec systemctl stop mcrd.service
sys_wait_state mcrd.service inactive 20 || die "mcrd.service did not stop"
check_eq "mcrd.socket still listening after mcrd stops" active "$(sys_prop mcrd.socket ActiveState)"
before=$(entered)
sys_as bob python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("/run/mcr/control.sock")'
check_eq "bob (group mcr) may connect to control.sock" 0 "$?"
deadline=$((SECONDS + 20))
while [[ "$(entered)" == "$before" ]] && ((SECONDS < deadline)); do sleep 0.2; done
after=$(entered)
check_eq "a connection on control.sock started mcrd again" started \
    "$([[ -n "$after" && "$after" != 0 && "$after" != "$before" ]] && echo started || echo "not started ($before -> $after)")"
out=$(sys_as alice python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("/run/mcr/control.sock")' 2>&1)
check_match "alice may not connect to control.sock" 'Permission denied' "$out"

# --- (d) polkit on AddRule ---
out=$(relay_add_rule_as alice alice1 in0 239.1.1.1 5000 out0 239.2.2.2 6000 8); rc=$?
check_eq "alice AddRule fails" 1 "$((rc != 0))"
check_match "alice AddRule refused by polkit" 'InteractiveAuthorizationRequired|Access denied|AccessDenied|not authorized|Interactive authentication' "$out"
check_eq "rule set unchanged after alice" 0 "$(relay_rule_count)"

out=$(relay_add_rule_as bob bob1 in0 239.1.1.1 5000 out0 239.2.2.2 6000 8); rc=$?
check_eq "bob (group mcr, operators rule) AddRule allowed ($out)" 0 "$rc"
check_eq "rule set has bob's rule" 1 "$(relay_rule_count)"

out=$(relay_add_rule_as root root1 in0 239.1.1.3 5002 out0 239.2.2.3 6002 8); rc=$?
check_eq "root AddRule allowed ($out)" 0 "$rc"
check_eq "rule set has root's rule" 2 "$(relay_rule_count)"

out=$(relay_call_as alice RemoveRule s bob1); rc=$?
check_eq "alice RemoveRule fails" 1 "$((rc != 0))"
check_eq "rule set unchanged after alice's RemoveRule" 2 "$(relay_rule_count)"
check_match "alice may still read the rules" '^a\(sssqsa\(ssqy\)s\) 2 ' "$(relay_call_as alice ListRules)"

out=$(sys_as bob mcrctl list 2>&1); rc=$?
check_eq "mcrctl list as bob ($out)" 0 "$rc"
check_match "mcrctl list shows both rules" 'bob1.*root1|root1.*bob1' "$(echo "$out" | tr '\n' ' ')"
out=$(sys_as alice mcrctl add alice2 --in in0:239.1.1.4:5004 --out out0:239.2.2.4:6004 2>&1); rc=$?
check_eq "mcrctl add as alice fails" 1 "$((rc != 0))"
check_eq "rule set unchanged after alice's mcrctl add" 2 "$(relay_rule_count)"

finish
