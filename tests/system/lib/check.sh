# Assertions and exit codes shared by the system tests (sourced).
# Exit codes follow meson/automake: 0 pass, 77 skip, 99 hard failure.
# A test records failures and goes on, so one run shows every broken case.

check_failures=0
check_passes=0

skip() { echo "SKIP: $*"; exit 77; }
pass() { check_passes=$((check_passes + 1)); echo "ok   - $*"; }
fail() { check_failures=$((check_failures + 1)); echo "FAIL - $*"; }
# die WHAT: a precondition failed (topology, a unit that must run): record
# it and stop here, since every check after it would test nothing.
die() { fail "$*"; echo "# stopped: a precondition failed; $check_passes passed, $check_failures failed"; exit 1; }

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
    if [[ "$2" == "$3" ]]; then pass "$1 ($3)"; else fail "$1: expected '$2', got '$3'"; fi
}

# check_match WHAT REGEX ACTUAL
check_match() {
    if [[ "$3" =~ $2 ]]; then pass "$1"; else fail "$1: '$3' does not match /$2/"; fi
}

# check_le WHAT LIMIT VALUE (decimal numbers)
check_le() {
    if [[ -n "$3" ]] && awk -v v="$3" -v l="$2" 'BEGIN { exit !(v <= l) }'; then
        pass "$1 ($3 <= $2)"
    else
        fail "$1: '$3' is not <= $2"
    fi
}

# Ends the test: the exit status meson reads.
check_done() {
    echo "# $check_passes passed, $check_failures failed"
    ((check_failures == 0 && check_passes > 0)) || exit 1
    exit 0
}
