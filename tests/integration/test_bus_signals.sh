#!/bin/bash
# What D-Bus clients (Cockpit, busctl monitor) see when rules change: for an
# AddRule, exactly one ObjectManager InterfacesAdded for the rule object
# carrying org.mcr.Relay.Rule, one RuleAdded signal and a PropertiesChanged of
# RuleCount; for a RemoveRule the matching InterfacesRemoved, RuleRemoved and
# RuleCount change; SetLogLevel emits LogLevel. GetManagedObjects lists the
# rule objects. Recorded with dbus-monitor on the private bus.
#
#   dbus-daemon (host) <- mcrd (relay namespace, no interfaces)
#                      <- dbus-monitor "sender=org.mcr.Relay" (host)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
. "$(dirname "$0")/lib/bus.sh"
require_tools dbus-monitor

bus_setup
ns_create relay
mcrd_start relay

MONITOR=$(scratch signals.monitor)
OWNER=$(busctl --address="$BUS_ADDRESS" status org.mcr.Relay | sed -n 's/^UniqueName=//p')
bg_start_host "$MONITOR" dbus-monitor --address "$BUS_ADDRESS" "type='signal',sender='$OWNER'"
MONITOR_PID=$BG_PID
wait_until 10 "dbus-monitor to start" grep -q "NameAcquired\|member=" "$MONITOR"

relay_call AddRule 'sssqsa(ssqy)' cam-1 in0 239.1.1.1 5000 "" 1 out0 239.2.2.2 6000 0 >/dev/null
relay_call AddRule 'sssqsa(ssqy)' cam-2 in0 239.1.1.2 5000 "" 1 out0 239.2.2.3 6000 0 >/dev/null
relay_call RemoveRule s cam-1
relay_call SetLogLevel s warning
busctl --address="$BUS_ADDRESS" call org.mcr.Relay /org/mcr/Relay org.freedesktop.DBus.ObjectManager \
    GetManagedObjects >"$(scratch managed.txt)"
# Signals are sent before the replies, so all of them are in the bus already;
# give dbus-monitor a moment to write them out.
wait_until 10 "the LogLevel change to be recorded" grep -q '"LogLevel"' "$MONITOR"
stop_pid "$MONITOR_PID" || true

count() { grep -c -- "$1" "$MONITOR" || true; }
check_eq "InterfacesAdded signals" 2 "$(count 'member=InterfacesAdded')"
check_eq "InterfacesRemoved signals" 1 "$(count 'member=InterfacesRemoved')"
check_eq "RuleAdded signals" 2 "$(count 'member=RuleAdded')"
check_eq "RuleRemoved signals" 1 "$(count 'member=RuleRemoved')"
check_eq "InterfacesAdded for cam-1's object" 1 "$(grep -A1 'member=InterfacesAdded' "$MONITOR" | grep -c 'object path "/org/mcr/Relay/rule/cam_2d1"')"
check_eq "InterfacesRemoved for cam-1's object" 1 "$(grep -A1 'member=InterfacesRemoved' "$MONITOR" | grep -c 'object path "/org/mcr/Relay/rule/cam_2d1"')"
grep -A60 'member=InterfacesAdded' "$MONITOR" | grep -c 'string "org.mcr.Relay.Rule"' >/dev/null || die "InterfacesAdded lacks org.mcr.Relay.Rule"
check_eq "RuleCount PropertiesChanged" 3 "$(grep -A4 'member=PropertiesChanged' "$MONITOR" | grep -c '"RuleCount"')"
check_eq "LogLevel PropertiesChanged" 1 "$(grep -A4 'member=PropertiesChanged' "$MONITOR" | grep -c '"LogLevel"')"
check_eq "GetManagedObjects lists only cam-2" 1 "$(grep -o '"/org/mcr/Relay/rule/[^"]*"' "$(scratch managed.txt)" | sort -u | wc -l)"
grep -q '"/org/mcr/Relay/rule/cam_2d2"' "$(scratch managed.txt)" || die "GetManagedObjects lacks cam-2"
mcrd_stop || die "mcrd did not exit cleanly"
finish "InterfacesAdded/Removed, RuleAdded/Removed and PropertiesChanged as specified"
