#!/bin/bash
# Reload under systemd: `systemctl reload mcrd` (SIGHUP via ExecReload=)
# re-reads /etc/mcrd/*.json without restarting the daemon; rules added over
# D-Bus stay; a broken admin file is refused and the last good set kept.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/check.sh"
. "$here/lib/boot.sh"
. "$here/lib/relay_helpers.sh"
boot_start "${MESON_BUILD_ROOT:?run through meson test}"
sys_make_veth_topology mcrt$$ || fail "veth topology"

# admin_rule NAME PORT: an /etc/mcrd rule-set file with one rule.
admin_rule() {
    printf '{ "rules": [ { "name": "%s", "input": { "interface": "in0", "address": "239.1.1.5", "port": %s },
  "outputs": [ { "interface": "out0", "address": "239.2.2.5", "port": 6005 } ] } ] }\n' "$1" "$2" |
        sys_exec tee /etc/mcrd/10-test.json >/dev/null
}
rule_names() { relay_call_as root ListRules | grep -o '"[a-z0-9]*"' | tr -d '"' | grep -xE 'admin[0-9]|dbus1' | sort | tr '\n' ' '; }
# wait_rules EXPECTED: until the rule names match (10 s).
wait_rules() {
    local deadline=$((SECONDS + 10))
    while [[ "$(rule_names)" != "$1" ]] && ((SECONDS < deadline)); do sleep 0.3; done
}

admin_rule admin1 5005
sys_exec systemctl start mcrd.socket mcrd.service
sys_wait_active mcrd.service 30
check_eq "admin rule read at start" "admin1 " "$(rule_names)"
out=$(relay_add_rule_as root dbus1 in0 239.1.1.6 5006 out0 239.2.2.6 6006 8); rc=$?
check_eq "AddRule dbus1 ($out)" 0 "$rc"
pid=$(sys_main_pid mcrd.service)

admin_rule admin2 5007
sys_exec systemctl reload mcrd.service
check_eq "systemctl reload mcrd succeeds" 0 "$?"
wait_rules "admin2 dbus1 "
check_eq "reload replaced admin1 by admin2, kept dbus1" "admin2 dbus1 " "$(rule_names)"
check_eq "reload did not restart mcrd" "$pid" "$(sys_main_pid mcrd.service)"
check_eq "mcrd active after reload" active "$(sys_prop mcrd.service ActiveState)"

echo '{ "rules": [ { "name": "admin3", "input": { "interface": "in0" ' | sys_exec tee /etc/mcrd/10-test.json >/dev/null
sys_exec systemctl reload mcrd.service
sleep 2
check_eq "a broken admin file keeps the last good rules" "admin2 dbus1 " "$(rule_names)"
check_eq "a broken admin file does not kill mcrd" "active $pid" "$(sys_prop mcrd.service ActiveState) $(sys_main_pid mcrd.service)"
check_match "the journal names the broken file" '10-test\.json' \
    "$(sys_exec journalctl -u mcrd.service -b --no-pager -o cat 2>/dev/null | tail -20 | tr '\n' ' ')"

admin_rule admin1 5005
out=$(relay_call_as root Reload); rc=$?
check_eq "D-Bus Reload as root ($out)" 0 "$rc"
wait_rules "admin1 dbus1 "
check_eq "D-Bus Reload re-read the admin file" "admin1 dbus1 " "$(rule_names)"
out=$(relay_call_as alice Reload); rc=$?
check_eq "alice may not Reload" 1 "$((rc != 0))"

check_done
