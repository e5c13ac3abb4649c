# The private-bus fixture for the D-Bus API tests (source after netns.sh and
# traffic.sh): a dbus-daemon with a system-bus-like default policy (deny own,
# deny method calls) plus the project's own src/bus/org.mcr.Relay.conf, and
# mcrd started on it as a plain process in spawn mode.
#
#   bus_setup                        -> $BUS_ADDRESS (unix:path=...)
#   mcrd_start NS [mcrd args...]     -> $MCRD_PID; waits until org.mcr.Relay is owned
#   mcrd_stop
#   relay_call METHOD SIGNATURE ARGS...         busctl call on the Manager (as root)
#   relay_call_as_nobody METHOD SIGNATURE ARGS... the same as user nobody
#   relay_error [--as-nobody] METHOD ARGS...     prints "ERRORNAME|message" of a failing call
#   monitor_start NAME / monitor_stop NAME      busctl monitor output in $(scratch NAME.monitor)

MCRT_REPO_DIR=$(cd "$MCRT_LIB_DIR/../../.." && pwd)
BUS_ADDRESS=""
MCRD_PID=""
MCRD_STATE_DIR=""
MCRD_CONFIG_DIR=""
MCRD_STARTS=0
MANAGER_ARGS=(org.mcr.Relay /org/mcr/Relay org.mcr.Relay.Manager)

require_mcrd() { find_binary MCRD src/supervisor/mcrd; }

bus_setup() {
    require_tools dbus-daemon busctl setpriv
    require_mcrd
    local dir conf policy
    # nobody must reach the bus socket: the scratch directory is traversable,
    # the bus directory readable.
    chmod 0711 "$MCRT_TMPDIR"
    dir=$(scratch bus); mkdir -m 0755 "$dir"
    policy="$dir/org.mcr.Relay.conf"
    # Test copy of the project's policy. The tests run mcrd as root because
    # the 'mcrd' user does not exist on the test machine: user="mcrd" is
    # replaced by user="root" (the shipped file also lists root; this keeps the
    # test independent of that). Everything else is the shipped file verbatim.
    sed 's/user="mcrd"/user="root"/' "$MCRT_REPO_DIR/src/bus/org.mcr.Relay.conf" >"$policy"
    conf="$dir/bus.conf"
    cat >"$conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/socket</listen>
  <auth>EXTERNAL</auth>
  <!-- The default policy of Debian's system.conf: holes for owning names and
       for method calls must come from the service's own policy file. -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <!-- Test only: lets a test run a stand-in for polkitd (lib/fake_polkit.py)
       as root; nothing owns this name unless a test starts one. -->
  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
  <include>$policy</include>
</busconfig>
XML
    dbus-daemon --config-file="$conf" --nofork --nopidfile >"$(scratch dbus-daemon.log)" 2>&1 &
    MCRT_PIDS+=("$!")
    BUS_ADDRESS="unix:path=$dir/socket"
    wait_until 10 "the private dbus-daemon" busctl --address="$BUS_ADDRESS" list
    MCRD_STATE_DIR=$(scratch state); mkdir -p "$MCRD_STATE_DIR"
    MCRD_CONFIG_DIR=$(scratch etc); mkdir -p "$MCRD_CONFIG_DIR"
}

# bus_relay_setup SINKS: the private bus, and relay_topology SINKS for an
# mcrd that spawns the built worker (the tests that drive mcrd with traffic).
bus_relay_setup() {
    MCRD_WORKER=${MCRD_WORKER:-$MCRT_BUILD_DIR/src/worker/mcrd-worker}
    bus_setup
    relay_topology "$1"
}

name_owned() { busctl --address="$BUS_ADDRESS" status "${1:-org.mcr.Relay}" >/dev/null 2>&1; }

# mcrd_start NS [args]: as root with --allow-root (no 'mcrd' user here); the
# worker is spawned (no systemd in this tier). MCRD_TEST_FAST_PATH=off runs
# the whole tier on the userspace path (mcrd --fast-path off).
mcrd_start() {
    local ns=$1; shift
    MCRD_STARTS=$((MCRD_STARTS + 1))
    bg_start "$ns" "$(scratch "mcrd.$MCRD_STARTS.log")" "$MCRD" --bus "$BUS_ADDRESS" --allow-root \
        --state-dir "$MCRD_STATE_DIR" --config-dir "$MCRD_CONFIG_DIR" --runtime-dir "$(scratch run)" \
        --worker-mode spawn --worker-binary "${MCRD_WORKER:-/nonexistent/mcrd-worker}" --log-level debug \
        ${MCRD_TEST_FAST_PATH:+--fast-path "$MCRD_TEST_FAST_PATH"} "$@"
    MCRD_PID=$BG_PID
    wait_until 15 "mcrd to own its bus name" name_owned "${MCRD_BUS_NAME:-org.mcr.Relay}"
}

# A clean exit is checked, so mcrd gets time for it: under ASan, LeakSanitizer
# scans the whole heap at exit (hostile_callers leaves ~500 MB of it after its
# AddRule flood), beside another test in the sanitizer pass, and 3 s were not
# always enough (2026-12-05: SIGKILLed mid-exit, "did not exit cleanly").
MCRD_STOP_GRACE_S=${MCRD_STOP_GRACE_S:-30}
mcrd_stop() {
    local status=0
    stop_pid "$MCRD_PID" "$MCRD_STOP_GRACE_S" || status=$?
    MCRD_PID=""
    return "$status"
}

mcrd_log() { cat "$(scratch "mcrd.$MCRD_STARTS.log")"; }

relay_call() { busctl --address="$BUS_ADDRESS" call "${MANAGER_ARGS[@]}" "$@"; }

relay_call_as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        busctl --address="$BUS_ADDRESS" call "${MANAGER_ARGS[@]}" "$@"
}

relay_get() { busctl --address="$BUS_ADDRESS" get-property org.mcr.Relay "$1" "$2" "$3"; }

# relay_error [--as-nobody] METHOD GVARIANT-ARGS...: the call (made with
# gdbus, which prints the D-Bus error name, unlike busctl) must fail; prints
# "ERROR.NAME|message".
relay_error() {
    local prefix=()
    if [ "$1" = "--as-nobody" ]; then
        prefix=(setpriv --reuid=nobody --regid=nogroup --clear-groups); shift
    fi
    local method=$1 out status=0; shift
    out=$("${prefix[@]}" gdbus call --address "$BUS_ADDRESS" --dest org.mcr.Relay --object-path /org/mcr/Relay \
        --method "org.mcr.Relay.Manager.$method" "$@" 2>&1) || status=$?
    [ "$status" -ne 0 ] || die "call $method was expected to fail, got: $out"
    printf '%s\n' "$out" | sed -n 's/^Error: GDBus\.Error:\([^:]*\): \(.*\)$/\1|\2/p' | head -n 1
}

monitor_start() {
    bg_start_host "$(scratch "$1.monitor")" busctl --address="$BUS_ADDRESS" monitor --json=short org.mcr.Relay
    MCRT_JOBS[$1]=$BG_PID
    sleep 0.5   # busctl monitor has become a monitor once it printed nothing yet; give it a moment
}

monitor_stop() { stop_pid "${MCRT_JOBS[$1]}" || true; }

# bg_start_host LOG cmd...: like bg_start, outside any test namespace.
bg_start_host() {
    local logfile=$1; shift
    "$@" >"$logfile" 2>&1 &
    BG_PID=$!
    MCRT_PIDS+=("$BG_PID")
}

# sha256 of the state file, or "none".
state_digest() {
    if [ -f "$MCRD_STATE_DIR/rules.json" ]; then sha256sum <"$MCRD_STATE_DIR/rules.json" | cut -d' ' -f1; else echo none; fi
}

# relay_string METHOD [SIGNATURE ARGS...]: the one string a Manager method
# returns, unquoted (busctl's JSON output, decoded).
relay_string() {
    busctl --address="$BUS_ADDRESS" --json=short call "${MANAGER_ARGS[@]}" "$@" |
        "$MCRT_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["data"][0])'
}

# relay_stat PATH: one value from GetStats (mcrt.py dotted path, e.g. rules.name=r1.packets).
relay_stat() {
    relay_string GetStats >"$(scratch getstats.json)"
    json_get "$(scratch getstats.json)" "$1"
}

# expect_fast_path RULE: waits until RULE runs on the fast path (GetStats
# rules[].path "tc" or "tc-legacy": the worker installs it once it holds the
# program's maps), or checks it is on the userspace path when the run forces
# it (MCRD_TEST_FAST_PATH=off; with =auto, also when the worker reports the
# fast path could not attach). Sets RULE_ON_FAST_PATH to 1 or 0.
rule_on_fast_path() { case $(relay_stat "rules.name=$1.path" 2>/dev/null) in tc|tc-legacy) return 0 ;; esac; return 1; }
expect_fast_path() {
    local i
    RULE_ON_FAST_PATH=0
    if [ "${MCRD_TEST_FAST_PATH:-}" = off ]; then
        check_eq "rule $1 path" userspace "$(relay_stat "rules.name=$1.path")"
        return
    fi
    for i in $(seq 150); do
        rule_on_fast_path "$1" && { RULE_ON_FAST_PATH=1; return; }
        if [ "${MCRD_TEST_FAST_PATH:-}" = auto ] && [ "$(relay_stat workers.0.fast_path.mode 2>/dev/null)" = userspace ] &&
            [ "$(relay_stat workers.0.fast_path.reason 2>/dev/null)" != not-handed-over ]; then
            log "rule $1 on the userspace path: the fast path did not attach ($(relay_stat workers.0.fast_path.reason))"
            return
        fi
        sleep 0.1
    done
    die "rule $1 is not on the fast path after 15 s: $(relay_stat "rules.name=$1.path")" \
        "$(relay_stat "rules.name=$1.path_reason" 2>/dev/null)"
}

# check_fast_path_count LABEL COUNT PATH: the fast path's share at PATH
# (a GetStats "fast_path" counter) is COUNT when expect_fast_path found the
# rule there, and absent or 0 otherwise.
check_fast_path_count() {
    local expected=$2 got
    [ "${RULE_ON_FAST_PATH:-0}" = 1 ] || expected=0
    got=$(relay_stat "$3" 2>/dev/null) || got=0
    check_eq "$1" "$expected" "$got"
}

# rule_property NAME PROPERTY: busctl get-property on a rule object.
rule_property() {
    busctl --address="$BUS_ADDRESS" get-property org.mcr.Relay "/org/mcr/Relay/rule/$1" org.mcr.Relay.Rule "$2"
}

# wait_rule_property NAME PROPERTY VALUE [TIMEOUT_S]
wait_rule_property() { check_eventually "rule $1 $2" "$3" "${4:-15}" rule_property "$1" "$2"; }
