#!/bin/bash
# mcrgen's own surface, no namespaces or root needed: bad input is refused
# with a clear message and exit status 2, unsafe destinations need --force,
# unbounded runs are refused, and a loopback send/recv pair counts exactly
# (exit 0 when --expect is met, 1 when it is not), over IPv4 and IPv6.
set -eu -o pipefail
MCRGEN=${MCRGEN:-${MCRT_BUILD_DIR:-$(dirname "$0")/../../build}/src/mcrgen/mcrgen}
. "$(dirname "$0")/../lib/check.sh"
[ -x "$MCRGEN" ] || skip "mcrgen not built ($MCRGEN)"
scratch=$(mktemp -d /tmp/mcrt-$$-cli-XXXXXX)
receiver=""
cleanup() {
    local status=$?
    status=$(check_exit_status "$status")
    [ -z "$receiver" ] || kill "$receiver" 2>/dev/null || true
    rm -rf "$scratch"
    exit "$status"
}
trap cleanup EXIT

# refused EXPECTED_TEXT mcrgen-args...: exit status 2 and the text on stderr.
refused() {
    local text=$1 status=0; shift
    "$MCRGEN" "$@" >/dev/null 2>"$scratch/err" || status=$?
    check_eq "exit status of mcrgen $*" 2 "$status"
    if grep -qF -- "$text" "$scratch/err"; then ok "refused ($text): mcrgen $*"
    else fail "mcrgen $*: stderr lacks '$text': $(cat "$scratch/err")"; fi
}

send=(send --port 5000 --rate 10 --size 64 --count 1)
refused "is outside 239.0.0.0/8" "${send[@]}" --group 224.0.0.1
refused "use --force" "${send[@]}" --group 8.8.8.8
refused "is outside 2001:db8::/32" "${send[@]}" --group ff02::1
refused "transient IPv6 multicast ff1x::/ff3x::" "${send[@]}" --group ff05::1
refused "use --force" "${send[@]}" --group ff0e::1
refused "use --force" "${send[@]}" --group 2001:db9::1
refused "are of different address families" "${send[@]}" --group ff3e::1 --source 192.0.2.1
refused "are of different address families" "${send[@]}" --group 239.1.1.1 --source 2001:db8::1
refused "is not an IP address" "${send[@]}" --group ff3e::1%lo
refused "is not an IP address" "${send[@]}" --group eth0
refused "one of --count or --duration is required" send --group 239.1.1.1 --port 5000 --rate 10 --size 64
refused "--size" send --group 239.1.1.1 --port 5000 --rate 10 --size 23 --count 1
refused "--size" send --group 239.1.1.1 --port 5000 --rate 10 --size 65508 --count 1
refused "--port" send --group 239.1.1.1 --port 0 --rate 10 --size 64 --count 1
refused "--count" send --group 239.1.1.1 --port 5000 --rate 10 --size 64 --count 100000001
refused "--duration" send --group 239.1.1.1 --port 5000 --rate 10 --size 64 --duration 3601
refused "--ttl" "${send[@]}" --group 239.1.1.1 --ttl 0
refused "excludes" "${send[@]}" --group 239.1.1.1 --interface lo --source 127.0.0.1
refused "--duration" recv --group 239.1.1.1 --port 5000
refused "is not an IP address" recv --group 239.1.1 --port 5000 --duration 1

# Loopback round trip: 127.0.0.1 is outside the safe ranges, so --force.
port=$((20000 + $$ % 20000))
"$MCRGEN" recv --group 127.0.0.1 --port "$port" --duration 20 --expect 500 --json \
    --ready-file "$scratch/ready" >"$scratch/recv.json" &
receiver=$!
wait_until 10 "the receiver to join" test -e "$scratch/ready"
"$MCRGEN" send --group 127.0.0.1 --port "$port" --rate 5000 --size 100 --count 500 --force --json >"$scratch/send.json"
status=0; wait "$receiver" || status=$?; receiver=""
check_eq "recv exit status with --expect met ($(cat "$scratch/recv.json"))" 0 "$status"
check_eq "sent" 500 "$(json_get "$scratch/send.json" sent)"
for key in unique:500 lost:0 duplicated:0 reordered:0 corrupt:0 bytes:50000; do
    check_eq "recv ${key%%:*}" "${key#*:}" "$(json_get "$scratch/recv.json" "${key%%:*}")"
done

# The same over IPv6 loopback (::1, also outside the safe ranges).
"$MCRGEN" recv --group ::1 --port "$port" --duration 20 --expect 300 --json \
    --ready-file "$scratch/ready6" >"$scratch/recv6.json" &
receiver=$!
wait_until 10 "the IPv6 receiver to bind" test -e "$scratch/ready6"
"$MCRGEN" send --group ::1 --port "$port" --rate 5000 --size 80 --count 300 --ttl 9 --force --json >"$scratch/send6.json"
status=0; wait "$receiver" || status=$?; receiver=""
check_eq "IPv6 recv exit status ($(cat "$scratch/recv6.json"))" 0 "$status"
for key in unique:300 lost:0 duplicated:0 corrupt:0 bytes:24000; do
    check_eq "IPv6 recv ${key%%:*}" "${key#*:}" "$(json_get "$scratch/recv6.json" "${key%%:*}")"
done

# --expect not met: exit 1, and the missing packets are reported lost.
status=0
"$MCRGEN" recv --group 127.0.0.1 --port "$port" --duration 0.3 --expect 7 --json >"$scratch/none.json" || status=$?
check_eq "recv exit status with unmet --expect" 1 "$status"
check_eq "lost with unmet --expect" 7 "$(json_get "$scratch/none.json" lost)"
finish "mcrgen refuses bad input and counts a loopback stream exactly"
