#!/bin/bash
# mcrgen's own surface, no namespaces or root needed: bad input is refused
# with a clear message and exit status 2, unsafe destinations need --force,
# unbounded runs are refused, and a loopback send/recv pair counts exactly
# (exit 0 when --expect is met, 1 when it is not).
set -eu -o pipefail
MCRGEN=${MCRGEN:-${MCRT_BUILD_DIR:-$(dirname "$0")/../../build}/src/gen/mcrgen}
[ -x "$MCRGEN" ] || { echo "SKIP: mcrgen not built ($MCRGEN)"; exit 77; }
scratch=$(mktemp -d /tmp/mcrt-$$-cli-XXXXXX)
receiver=""
cleanup() {
    [ -z "$receiver" ] || kill "$receiver" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# refused EXPECTED_TEXT mcrgen-args...: exit status 2 and the text on stderr.
refused() {
    local text=$1 status=0; shift
    "$MCRGEN" "$@" >/dev/null 2>"$scratch/err" || status=$?
    [ "$status" -eq 2 ] || fail "mcrgen $*: exit $status, expected 2"
    grep -qF -- "$text" "$scratch/err" || fail "mcrgen $*: stderr lacks '$text': $(cat "$scratch/err")"
    echo "ok: refused ($text): mcrgen $*"
}

send=(send --port 5000 --rate 10 --size 64 --count 1)
refused "is outside 239.0.0.0/8" "${send[@]}" --group 224.0.0.1
refused "use --force" "${send[@]}" --group 8.8.8.8
refused "is outside 2001:db8::/32" "${send[@]}" --group ff02::1
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
for _ in $(seq 100); do [ -e "$scratch/ready" ] && break; sleep 0.1; done
[ -e "$scratch/ready" ] || fail "receiver not ready after 10s"
"$MCRGEN" send --group 127.0.0.1 --port "$port" --rate 5000 --size 100 --count 500 --force --json >"$scratch/send.json"
status=0; wait "$receiver" || status=$?; receiver=""
[ "$status" -eq 0 ] || fail "recv exit $status with --expect met: $(cat "$scratch/recv.json")"
field() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
[ "$(field "$scratch/send.json" sent)" = 500 ] || fail "sent $(field "$scratch/send.json" sent), expected 500"
for key in unique:500 lost:0 duplicated:0 reordered:0 corrupt:0 bytes:50000; do
    got=$(field "$scratch/recv.json" "${key%%:*}")
    [ "$got" = "${key#*:}" ] || fail "recv ${key%%:*} = $got, expected ${key#*:}"
done
echo "ok: loopback 500 sent, 500 unique received"

# --expect not met: exit 1, and the missing packets are reported lost.
status=0
"$MCRGEN" recv --group 127.0.0.1 --port "$port" --duration 0.3 --expect 7 --json >"$scratch/none.json" || status=$?
[ "$status" -eq 1 ] || fail "recv with unmet --expect exited $status, expected 1"
[ "$(field "$scratch/none.json" lost)" = 7 ] || fail "lost = $(field "$scratch/none.json" lost), expected 7"
echo "PASS: mcrgen refuses bad input and counts a loopback stream exactly"
