#!/bin/bash
# 1 -> 1 relay with group and port rewrite: every packet sent to
# 239.1.1.1:5000 arrives once as 239.2.2.2:6000, and the original group never
# leaks to the sink side.
#
#   +-------------+          +--------------------+          +---------------+
#   | src         |          | relay              |          | sink0         |
#   | eth0        |----------| in0         out0   |----------| eth0          |
#   | 192.0.2.2   |          | 192.0.2.1   .100.1 |          | 198.51.100.2  |
#   +-------------+          +--------------------+          +---------------+
#   mcrgen send               mcrd-worker (in0)              mcrgen recv x2
#   239.1.1.1:5000            r1: -> 239.2.2.2:6000          239.2.2.2:6000 (all)
#                                                            239.1.1.1:5000 (none)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly PACKETS=2000
relay_topology 1
worker_start relay w in0 'name=r1 in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000'
gen_recv_start sink0 rewritten --group 239.2.2.2 --port 6000 --interface eth0 --duration 30 --expect "$PACKETS"
gen_recv_start sink0 original --group 239.1.1.1 --port 5000 --interface eth0 --duration 60
gen_send src s --group 239.1.1.1 --port 5000 --interface eth0 --rate 10000 --size 200 --count "$PACKETS"
gen_recv_wait rewritten || die "sink0 did not get $PACKETS packets"
if worker_fast_path w; then
    # A second launcher asked for the fast path on in0 finds this worker's
    # program there and starts nothing (the supervisor's foreign-program);
    # asked for auto, it starts its command without the fast path.
    if refused=$(ns_exec relay "$MCRD_TEST_LAUNCH" --config "$(scratch w.config.json)" --fast-path on -- /bin/true 2>&1)
    then
        fail "a second fast path launch on in0 succeeded: $refused"
    else
        check_match "second fast path launch on in0 refused" "not attached to in0 \\(foreign-program\\)" "$refused"
    fi
    fallback=$(ns_exec relay "$MCRD_TEST_LAUNCH" --config "$(scratch w.config.json)" --fast-path auto -- /bin/true 2>&1) \
        || fail "a second launch on in0 with --fast-path auto did not run its command: $fallback"
    check_match "--fast-path auto falls back, saying why" "foreign-program.*userspace path" "$fallback"
fi
worker_stop w
gen_recv_stop original

check_eq "unique packets at 239.2.2.2:6000" "$PACKETS" "$(json_get "$(scratch rewritten.json)" unique)"
check_eq "duplicates at 239.2.2.2:6000" 0 "$(json_get "$(scratch rewritten.json)" duplicated)"
check_eq "payload bytes at 239.2.2.2:6000" "$((PACKETS * 200))" "$(json_get "$(scratch rewritten.json)" bytes)"
check_eq "corrupt payloads" 0 "$(json_get "$(scratch rewritten.json)" corrupt)"
check_eq "packets at the original 239.1.1.1:5000" 0 "$(json_get "$(scratch original.json)" received)"
check_eq "rule r1 packets" "$PACKETS" "$(worker_stat w rules.name=r1.packets)"
check_eq "rule r1 bytes" "$((PACKETS * 200))" "$(worker_stat w rules.name=r1.bytes)"
check_eq "out0 packets" "$PACKETS" "$(worker_stat w rules.name=r1.outputs.0.packets)"
check_eq "out0 send errors" 0 "$(worker_stat w rules.name=r1.outputs.0.drops.send_error)"
check_eq "kernel drops" 0 "$(worker_stat w kernel.drops)"
# With the fast path every packet is relayed by the program: the totals
# above are its counts, and none of the frames reached the worker's socket.
check_path w r1 tc
check_fast_share w r1 "$PACKETS"
if worker_fast_path w; then
    check_eq "frames at the worker's socket" 0 "$(worker_stat w ingress.frames)"
else
    check_eq "frames at the worker's socket" "$PACKETS" "$(worker_stat w ingress.frames)"
fi
finish "1 -> 1 relay rewrote $PACKETS packets to 239.2.2.2:6000"
