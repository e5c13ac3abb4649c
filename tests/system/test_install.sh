#!/bin/bash
# What `meson install` + the first boot set up, in a booted systemd: sysusers
# accounts, tmpfiles directories, the units load, and polkit lets user mcrd
# manage exactly mcrd-worker@ units (ARCHITECTURE.md 3.1).
. "$(dirname "$0")/lib/preamble.sh"
system_boot

# --- sysusers.d: mcrd user and group, mcr operators group ---
check_eq "user mcrd exists with group mcrd" "mcrd mcrd" "$(sys_exec id -un mcrd) $(sys_exec id -gn mcrd)"
check_match "group mcr exists" '^mcr:' "$(sys_exec getent group mcr)"
check_eq "user mcrd has no login shell" /usr/sbin/nologin "$(sys_exec getent passwd mcrd | cut -d: -f7)"

# --- tmpfiles.d: applied by systemd-tmpfiles-setup at boot, before any mcrd unit ran ---
check_eq "/run/mcr owner and mode" "mcrd:mcrd 755" "$(sys_exec stat -c '%U:%G %a' /run/mcr)"
check_eq "/var/lib/mcrd owner and mode" "mcrd:mcrd 750" "$(sys_exec stat -c '%U:%G %a' /var/lib/mcrd)"
check_eq "/etc/mcrd owner and mode" "root:root 755" "$(sys_exec stat -c '%U:%G %a' /etc/mcrd)"

# --- units load without errors ---
for unit in mcrd.socket mcrd.service mcrd@red.socket mcrd@red.service mcrd-worker@in0.service; do
    check_eq "$unit loads" loaded "$(sys_prop "$unit" LoadState)"
done
check_eq "mcrd-worker@ is not bound to mcrd.service" "" "$(sys_prop mcrd-worker@in0.service BindsTo)$(sys_prop mcrd-worker@in0.service PartOf)"
check_eq "worker restart delay" 100ms "$(sys_prop mcrd-worker@in0.service RestartUSec)"

# --- mcrd.socket: 0660 root:mcr ---
sys_exec systemctl start mcrd.socket
check_eq "mcrd.socket active" active "$(sys_prop mcrd.socket ActiveState)"
check_eq "control.sock owner and mode" "root:mcr 660 socket" \
    "$(sys_exec stat -c '%U:%G %a %F' /run/mcr/control.sock)"
sys_exec systemctl stop mcrd.socket
check_eq "control.sock removed when the socket stops" absent \
    "$(sys_exec test -e /run/mcr/control.sock && echo present || echo absent)"

# --- polkit: user mcrd may manage worker units, nothing else ---
as_mcrd() { sys_as mcrd systemctl --no-ask-password "$@" 2>&1; }
denied='Access denied|Interactive authentication required|not authorized'

out=$(as_mcrd restart systemd-journald.service); rc=$?
check_eq "mcrd cannot restart systemd-journald (exit)" 1 "$((rc != 0))"
check_match "mcrd cannot restart systemd-journald (reason)" "$denied" "$out"
out=$(as_mcrd start mcrd@red.service); rc=$?
check_match "mcrd cannot start a non-worker mcrd unit" "$denied" "$out"
out=$(as_mcrd start 'mcrd-worker@in0.socket'); rc=$?
check_match "mcrd cannot start a worker-named non-service" "$denied" "$out"

# --no-block: the job is queued once authorized; whether the worker binary
# then runs is another test's business. Names as mcrd makes them, escaped.
for instance in in0 'red:in\x2d1'; do
    unit="mcrd-worker@$instance.service"
    out=$(as_mcrd start --no-block "$unit"); rc=$?
    check_eq "mcrd may start $unit ($out)" 0 "$rc"
    out=$(as_mcrd stop "$unit"); rc=$?
    check_eq "mcrd may stop $unit ($out)" 0 "$rc"
    out=$(as_mcrd restart --no-block "$unit"); rc=$?
    check_eq "mcrd may restart $unit ($out)" 0 "$rc"
    out=$(as_mcrd reset-failed "$unit"); rc=$?
    check_eq "mcrd may reset-failed $unit ($out)" 0 "$rc"
    sys_exec systemctl stop "$unit"
done
out=$(as_mcrd reload-or-restart --no-block mcrd-worker@in0.service); rc=$?
check_match "mcrd may not reload-or-restart workers (verb not granted)" "$denied" "$out"
out=$(sys_as alice systemctl --no-ask-password start --no-block mcrd-worker@in0.service 2>&1)
check_match "alice may not start worker units" "$denied" "$out"

finish
