#!/bin/bash
# Reload under systemd: `systemctl reload mcrd` (SIGHUP via ExecReload=)
# re-reads /etc/mcrd/*.json without restarting the daemon; rules added over
# D-Bus stay; a reload with a changed config during a 10 kpps stream loses
# nothing on the unchanged rule, and systemd logs the unit reloading; a
# broken admin file is refused and the last good set kept.
. "$(dirname "$0")/lib/preamble.sh"
system_boot --topology

# admin_rule NAME PORT: an /etc/mcrd rule-set file with one rule.
admin_rule() {
    printf '{ "rules": [ { "name": "%s", "input": { "interface": "in0", "address": "239.1.1.5", "port": %s },
  "outputs": [ { "interface": "out0", "address": "239.2.2.5", "port": 6005 } ] } ] }\n' "$1" "$2" |
        sys_exec tee /etc/mcrd/10-test.json >/dev/null
}
rule_names() { relay_call_as root ListRules | grep -o '"[a-z0-9]*"' | tr -d '"' | grep -xE 'admin[0-9]|dbus1' | sort | tr '\n' ' '; }

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
check_eventually "reload replaced admin1 by admin2, kept dbus1" "admin2 dbus1 " 10 rule_names
check_eq "reload did not restart mcrd" "$pid" "$(sys_main_pid mcrd.service)"
check_eq "mcrd active after reload" active "$(sys_prop mcrd.service ActiveState)"

sys_wait_active mcrd-worker@in0.service 30
admin_rule admin3 5008
# Counts of mcrd.service's journal lines before and after, not --since (the
# reload above may have logged within the same second) and not a cursor
# (once in CI the "Reloading" line of this reload was before a cursor taken
# ahead of it): "exactly once" is one more of each.
unit_lines() { sys_exec journalctl -u mcrd.service --no-pager -o cat 2>/dev/null | grep -c -- "$1"; }
reloading_before=$(unit_lines '^Reloading mcrd\.service')
reloaded_before=$(unit_lines '^Reloaded mcrd\.service')
config_before=$(unit_lines 'Configuration reloaded')
change_before=$(unit_lines 'Configuration reloaded: 1 rules added, 1 removed')
result=$(relay_stream_with_event 0.3 sys_exec systemctl reload mcrd.service \
    -- "$p-src" "$p-dst" 239.1.1.6 5006 239.2.2.6 6006 10000 10000)
received=$(json_of "$result" received)
echo "# systemctl reload with a changed config during a 10 kpps stream: lost $((10000 - ${received:-0})) of 10000 on the unchanged rule"
check_eq "packets of the unchanged rule dbus1 across the reload" 10000 "$received"
check_eventually "the reload under traffic replaced admin2 by admin3" "admin3 dbus1 " 10 rule_names
check_eventually "systemd logged Reloading mcrd.service once more" $((reloading_before + 1)) 10 \
    unit_lines '^Reloading mcrd\.service'
check_eventually "systemd logged Reloaded mcrd.service once more" $((reloaded_before + 1)) 10 \
    unit_lines '^Reloaded mcrd\.service'
check_eq "mcrd reloaded once, with the change" "$((config_before + 1)) $((change_before + 1))" \
    "$(unit_lines 'Configuration reloaded') $(unit_lines 'Configuration reloaded: 1 rules added, 1 removed')"
check_eq "the reload under traffic did not restart mcrd" "$pid" "$(sys_main_pid mcrd.service)"

echo '{ "rules": [ { "name": "admin4", "input": { "interface": "in0" ' | sys_exec tee /etc/mcrd/10-test.json >/dev/null
cursor=$(sys_exec journalctl -n 1 -q -o cat --show-cursor --no-pager 2>/dev/null | sed -n 's/^-- cursor: //p')
[[ -n "$cursor" ]] || die "no journal cursor"
sys_exec systemctl reload mcrd.service
# The reload is over once mcrd has logged its refusal of the file.
broken_file_reported() {
    sys_exec journalctl -u mcrd.service --after-cursor "$cursor" --no-pager -o cat 2>/dev/null | grep -q '10-test\.json'
}
poll_until 10 broken_file_reported || true   # the check_match below says what is missing
check_eq "a broken admin file keeps the last good rules" "admin3 dbus1 " "$(rule_names)"
check_eq "a broken admin file does not kill mcrd" "active $pid" "$(sys_prop mcrd.service ActiveState) $(sys_main_pid mcrd.service)"
check_match "the journal names the broken file" '10-test\.json' \
    "$(sys_exec journalctl -u mcrd.service -b --no-pager -o cat 2>/dev/null | tail -20 | tr '\n' ' ')"

admin_rule admin1 5005
out=$(relay_call_as root Reload); rc=$?
check_eq "D-Bus Reload as root ($out)" 0 "$rc"
check_eventually "D-Bus Reload re-read the admin file" "admin1 dbus1 " 10 rule_names
out=$(relay_call_as alice Reload); rc=$?
check_eq "alice may not Reload" 1 "$((rc != 0))"

finish
