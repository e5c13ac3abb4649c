# The one vocabulary of the shell test tiers (sourced by
# tests/integration/lib/netns.sh, tests/system/lib/preamble.sh and the few
# scripts that use neither): assertions, bounded waits and JSON reads, each
# with one meaning in every tier.
#
# Exit codes follow meson/automake: 0 pass, 77 skip, 1 fail.
#
#   log MSG                  a timestamped line on stderr
#   skip MSG                 the test cannot run here: exit 77
#   die MSG                  a precondition failed (topology, a process that
#                            must run, a tool that must succeed): stop now,
#                            failed, since every check after it would test nothing
#   fail MSG                 a check failed: recorded, the test goes on (one run
#                            shows every broken case) and fails at its end
#   ok MSG                   a check passed: recorded
#   check_eq WHAT EXPECTED ACTUAL
#   check_match WHAT REGEX ACTUAL
#   check_le WHAT LIMIT VALUE          (decimal numbers)
#   check_eventually WHAT EXPECTED TIMEOUT_S CMD...
#                            check_eq on CMD's output, polled (0.2 s) until it
#                            is EXPECTED or TIMEOUT_S passed (values that are
#                            published periodically: stats files, properties)
#   finish [MSG]             ends the test: 1 if a check failed or none was
#                            made (a test that checked nothing proves nothing)
#   wait_until TIMEOUT_S WHAT CMD...   polls CMD every 0.1 s until it succeeds;
#                            dies after TIMEOUT_S (a wait is a precondition)
#   poll_until TIMEOUT_S CMD...        the same, but returns 1 on timeout, for
#                            a caller that checks (or prints) what it got
#   json_get FILE PATH...    values at dotted PATHs of a JSON file ("-":
#                            stdin), one per line; a list entry by index or
#                            KEY=VALUE, e.g. rules.name=r1.outputs.0.packets
#   json_of TEXT PATH...     the same for a JSON document in a string
#
# A script's EXIT trap passes its status through check_exit_status, so a
# recorded failure fails the test however it ends.

check_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check_failures=0
check_passes=0
CHECK_PYTHON=${MCRT_PYTHON:-/usr/bin/python3}

log()  { printf '%s [%s] %s\n' "$(date +%T.%3N)" "${MCRT_TEST:-$(basename "$0")}" "$*" >&2; }
skip() { log "SKIP: $*"; exit 77; }
die()  {
    check_failures=$((check_failures + 1))
    log "FAIL: $*"
    log "stopped: a precondition failed; $check_passes checks passed, $check_failures failed"
    exit 1
}
fail() { check_failures=$((check_failures + 1)); log "FAIL: $*"; }
ok()   { check_passes=$((check_passes + 1)); log "ok: $*"; }

check_eq() {
    if [[ "$2" == "$3" ]]; then ok "$1 = $3"; else fail "$1: expected '$2', got '$3'"; fi
}

check_match() {
    if [[ "$3" =~ $2 ]]; then ok "$1"; else fail "$1: '$3' does not match /$2/"; fi
}

check_le() {
    if [[ -n "$3" ]] && awk -v v="$3" -v l="$2" 'BEGIN { exit !(v <= l) }'; then
        ok "$1 ($3 <= $2)"
    else
        fail "$1: '$3' is not <= $2"
    fi
}

check_eventually() {
    local what=$1 want=$2 deadline=$((SECONDS + $3)) got; shift 3
    while :; do
        got=$("$@" 2>/dev/null) || got="(unreadable)"
        [[ "$got" != "$want" && "$SECONDS" -lt "$deadline" ]] || break
        sleep 0.2
    done
    check_eq "$what" "$want" "$got"
}

finish() {
    ((check_failures == 0)) || { log "FAIL: ${*:-test} ($check_passes checks passed, $check_failures failed)"; exit 1; }
    ((check_passes > 0)) || { log "FAIL: ${*:-test}: no check was made"; exit 1; }
    log "PASS: ${*:-test} ($check_passes checks)"
    exit 0
}

# check_exit_status STATUS: the status a test's EXIT trap exits with.
check_exit_status() {
    if [[ "$1" -eq 0 && "$check_failures" -gt 0 ]]; then echo 1; else echo "$1"; fi
}

poll_until() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [[ "$SECONDS" -lt "$deadline" ]] || return 1
        sleep 0.1
    done
}

wait_until() {
    local timeout=$1 what=$2; shift 2
    poll_until "$timeout" "$@" || die "timed out after ${timeout}s waiting for $what"
}

json_get() { "$CHECK_PYTHON" "$check_lib_dir/json_get.py" "$@"; }
json_of()  { local text=$1; shift; printf '%s' "$text" | json_get - "$@"; }
