#!/bin/bash
# Traffic no rule asks for (another port, another group, the right group from
# a source an SSM rule excludes, unicast to the relay) is never forwarded and
# never counted as forwarded; the matching stream sent afterwards still is.
#
#   +-------------+      +------------------------+      +------------------+
#   | src eth0    |------| in0     relay     out0 |------| sink0 eth0       |
#   | 192.0.2.2   |      | 192.0.2.1              |      | recv 239.2.2.2   |
#   | 192.0.2.3   |      +------------------------+      | recv 239.2.2.5   |
#   +-------------+                                      +------------------+
#   r1:  239.1.1.1:5000            -> out0 239.2.2.2:6000
#   ssm: 239.1.1.5:5000 from .2 only -> out0 239.2.2.5:6000
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker

readonly NOISE=500 PACKETS=1000
relay_topology 1
addr_add src eth0 192.0.2.3/24
worker_start relay w in0 'name=r1 in=in0:239.1.1.1:5000 out=out0:239.2.2.2:6000' \
    'name=ssm in=in0:239.1.1.5:5000 source=192.0.2.2 out=out0:239.2.2.5:6000'
gen_recv_start sink0 r1 --group 239.2.2.2 --port 6000 --interface eth0 --duration 40 --expect "$PACKETS"
gen_recv_start sink0 ssm --group 239.2.2.5 --port 6000 --interface eth0 --duration 40 --expect "$PACKETS"
send_noise() { gen_send src "$1" --rate 5000 --size 100 --count "$NOISE" "${@:2}"; }
send_noise other_port --group 239.1.1.1 --port 5001 --interface eth0
send_noise other_group --group 239.1.1.2 --port 5000 --interface eth0
send_noise wrong_source --group 239.1.1.5 --port 5000 --source 192.0.2.3
send_noise unicast --group 192.0.2.1 --port 5000 --interface eth0

# Let the noise drain through the worker before the real streams start. Not
# a wait for an event: nothing must happen, and this is the grace period in
# which a wrongly matched frame would be counted.
sleep 1
check_eq "rule r1 packets after noise" 0 "$(worker_stat w rules.name=r1.packets)"
check_eq "rule ssm packets after noise" 0 "$(worker_stat w rules.name=ssm.packets)"

gen_send src real --group 239.1.1.1 --port 5000 --interface eth0 --rate 5000 --size 100 --count "$PACKETS"
gen_send src real_ssm --group 239.1.1.5 --port 5000 --source 192.0.2.2 --rate 5000 --size 100 --count "$PACKETS"
gen_recv_wait r1 || die "sink0 did not get the $PACKETS matching packets"
gen_recv_wait ssm || die "sink0 did not get the $PACKETS SSM packets"
worker_stop w

check_eq "r1 unique at sink (noise excluded)" "$PACKETS" "$(json_get "$(scratch r1.json)" unique)"
check_eq "r1 streams at sink" 1 "$(json_get "$(scratch r1.json)" streams)"
check_eq "ssm unique at sink (wrong source excluded)" "$PACKETS" "$(json_get "$(scratch ssm.json)" unique)"
check_eq "ssm streams at sink" 1 "$(json_get "$(scratch ssm.json)" streams)"
check_eq "rule r1 packets" "$PACKETS" "$(worker_stat w rules.name=r1.packets)"
check_eq "rule ssm packets" "$PACKETS" "$(worker_stat w rules.name=ssm.packets)"
check_eq "r1 out0 packets" "$PACKETS" "$(worker_stat w rules.name=r1.outputs.0.packets)"
check_eq "ssm out0 packets" "$PACKETS" "$(worker_stat w rules.name=ssm.outputs.0.packets)"
check_eq "wrong-source frames counted not_matched" "$NOISE" "$(worker_stat w ingress.not_matched)"
check_path w r1 tc
check_path w ssm tc
check_fast_share w r1 "$PACKETS"
check_fast_share w ssm "$PACKETS"
# The program finds no rule for any of the four kinds of noise and leaves
# them to the stack (the worker's filter then drops all but the wrong source).
worker_fast_path w && check_eq "noise left to the stack as no-rule" "$((4 * NOISE))" "$(fast_pass w no-rule)"
finish "non-matching traffic never forwarded; $PACKETS matching packets per rule forwarded"
