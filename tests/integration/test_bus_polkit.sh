#!/bin/bash
# The polkit flow of mcrd's writes, against a stand-in polkitd on the private
# bus (lib/fake_polkit.py): an unprivileged caller's AddRule is held until
# polkit answers, then re-dispatched and applied (allow); a "challenge"
# answer becomes InteractiveAuthorizationRequired, a "no" AccessDenied, and
# neither changes the state file; the subject is the caller's unique bus
# name (system-bus-name), the interactive flag follows the message's
# allow-interactive-authorization header; root is never asked about.
#
#   dbus-daemon (host) <- mcrd (relay namespace, no interfaces)
#                      <- fake_polkit.py: manage-rules=allow, set-log-level=challenge, reload=deny
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
"$MCRT_PYTHON" -c 'import dbus, dbus.service, gi' 2>/dev/null || skip "python3-dbus / python3-gi not installed"
require_tools gdbus sha256sum

bus_setup
ns_create relay
POLKIT_LOG=$(scratch polkit.log)
bg_start_host "$(scratch fake_polkit.out)" "$MCRT_PYTHON" "$MCRT_LIB_DIR/fake_polkit.py" "$BUS_ADDRESS" \
    "$POLKIT_LOG" "$(scratch polkit.ready)" org.mcr.relay.manage-rules=allow \
    org.mcr.relay.set-log-level=challenge org.mcr.relay.reload=deny
wait_until 15 "the fake polkitd" test -e "$(scratch polkit.ready)"
mcrd_start relay
queries() { [ -f "$POLKIT_LOG" ] && wc -l <"$POLKIT_LOG" || echo 0; }

log "--- root: allowed without asking polkit"
relay_call AddRule 'sssqsa(ssqy)' by-root in0 239.1.1.1 5000 "" 1 out0 239.2.2.2 6000 0 >/dev/null
check_eq "polkit queries for root" 0 "$(queries)"

log "--- nobody, allowed: the call waits for polkit, then runs"
check_eq "nobody's AddRule (allowed by polkit)" 'o "/org/mcr/Relay/rule/by_2dnobody"' \
    "$(setpriv --reuid=nobody --regid=nogroup --clear-groups busctl --address="$BUS_ADDRESS" \
        --allow-interactive-authorization=no call "${MANAGER_ARGS[@]}" AddRule 'sssqsa(ssqy)' \
        by-nobody in0 239.1.1.2 5000 "" 1 out0 239.2.2.3 6000 0)"
check_eq "polkit queries" 1 "$(queries)"
check_eq "subject kind" "system-bus-name" "$(json_get "$POLKIT_LOG" subject)"
check_eq "action" "org.mcr.relay.manage-rules" "$(json_get "$POLKIT_LOG" action)"
check_eq "flags without allow-interactive-authorization" 0 "$(json_get "$POLKIT_LOG" flags)"
json_get "$POLKIT_LOG" fields.name | grep -Eq '^:1\.[0-9]+$' || die "subject is not a unique bus name"
check_eq "rules" "u 2" "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager RuleCount)"

log "--- nobody, challenge and deny: errors, nothing changes"
BEFORE=$(state_digest)
: >"$POLKIT_LOG"
setpriv --reuid=nobody --regid=nogroup --clear-groups busctl --address="$BUS_ADDRESS" \
    --allow-interactive-authorization=yes call "${MANAGER_ARGS[@]}" SetLogLevel s err 2>"$(scratch challenge.err)" \
    && die "SetLogLevel was allowed on a challenge"
check_eq "interactive flag passed to polkit" 1 "$(json_get "$POLKIT_LOG" flags)"
check_eq "InteractiveAuthorizationRequired" \
    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired|Interactive authentication is required for 'org.mcr.relay.set-log-level'" \
    "$(relay_error --as-nobody SetLogLevel err)"
check_eq "AccessDenied" "org.freedesktop.DBus.Error.AccessDenied|Not authorized for 'org.mcr.relay.reload'" \
    "$(relay_error --as-nobody Reload)"
check_eq "LogLevel unchanged" 's "debug"' "$(relay_get /org/mcr/Relay org.mcr.Relay.Manager LogLevel)"
check_eq "state file unchanged" "$BEFORE" "$(state_digest)"
mcrd_stop || die "mcrd did not exit cleanly"
finish "polkit: allow re-dispatches the held call, challenge/deny map to their errors, root bypasses"
