#!/bin/bash
# Stream health ("inspect": rtp | mpegts) with real producers nobody here
# wrote, and losses injected between them and the relay so that every count
# is known exactly:
#   live_rtp    GStreamer (audiotestsrc ! rtpL16pay ! udpsink) live, three
#               RTP sequence numbers (one at the 65535 -> 0 wrap) left out by
#               a forwarding step on src (lib/impair_forward.py)
#   live_ts     ffmpeg (-f mpegts udp://...) live, unimpaired: no CC error;
#               a second output on out1, configured with MTU 1000, drops
#               every 1316-byte datagram as too big: its health "gaps"
#   replay_rtp  a GStreamer RTP stream written to a file (rtpstreampay), sent
#               by scapy (lib/replay_stream.py) with 3 packets left out, 2
#               swapped, 1 duplicated and 3 malformed RTP datagrams
#   replay_ts   an ffmpeg .ts file sent by scapy with 3 datagrams left out
#               (each costing exactly one continuity error) and 2 malformed
# Inspected rules stay on the worker (path userspace, reason inspect), the
# malformed datagrams are counted and relayed like any other, and the worker
# logs "losing" once per stream and "recovered" 5 s after the last loss.
#
#   +-------------+          +-----------------------+          +---------------+
#   | src         |          | relay                 |          | sink0         |
#   | eth0        |----------| in0            out0   |----------| eth0          |
#   | 192.0.2.2   |          | 192.0.2.1   .100.1    |          | 198.51.100.2  |
#   +-------------+          |                out1   |----------| sink1 (.18)   |
#                            +-----------------------+          +---------------+
#   gst-launch, ffmpeg,       mcrd-worker (in0), 4 rules,
#   scapy, impair_forward     239.1.1.N -> 239.2.2.N
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/traffic.sh"
require_worker
require_tools gst-launch-1.0 ffmpeg
gst-inspect-1.0 rtpstreampay >/dev/null 2>&1 || skip "GStreamer's rtpstreampay (gstreamer1.0-plugins-good) is missing"

readonly LIVE_BUFFERS=100          # 10 ms of 44.1 kHz mono each: one RTP packet per buffer
readonly LIVE_FIRST_SEQ=65500      # so that the stream wraps at 65535 -> 0
readonly LIVE_DROPS="65530 0 40"

relay_topology 2
worker_start relay w in0 \
    'name=live_rtp in=in0:239.1.1.1:5000 out=out0:239.2.2.1:6000 inspect=rtp' \
    'name=live_ts in=in0:239.1.1.2:5002 out=out0:239.2.2.2:6002 out=out1:239.2.2.12:6012 mtu=out1:1000 inspect=mpegts' \
    'name=replay_rtp in=in0:239.1.1.3:5004 out=out0:239.2.2.3:6004 inspect=rtp' \
    'name=replay_ts in=in0:239.1.1.4:5006 out=out0:239.2.2.4:6006 inspect=mpegts'
for rule in live_rtp live_ts replay_rtp replay_ts; do
    check_eq "$rule path" userspace "$(worker_stat w "rules.name=$rule.path")"
    worker_fast_path w && check_eq "$rule path_reason" inspect "$(worker_stat w "rules.name=$rule.path_reason")"
done

log "--- live GStreamer RTP, sequence numbers $LIVE_DROPS left out by lib/impair_forward.py on src"
bg_start src "$(scratch impair.log)" sh -c 'exec "$@" >"$0"' "$(scratch impair.json)" \
    "$MCRT_PYTHON" "$MCRT_LIB_DIR/impair_forward.py" 5555 239.1.1.1 5000 192.0.2.2 \
    --drop "${LIVE_DROPS// /,}" --ready-file "$(scratch impair.ready)"
MCRT_JOBS[impair]=$BG_PID
wait_started impair "$(scratch impair.ready)"
ns_exec src timeout 30 gst-launch-1.0 -q audiotestsrc is-live=true num-buffers="$LIVE_BUFFERS" samplesperbuffer=441 \
    ! audio/x-raw,format=S16BE,rate=44100,channels=1 \
    ! rtpL16pay pt=11 seqnum-offset="$LIVE_FIRST_SEQ" ssrc=4660 timestamp-offset=0 \
    ! udpsink host=127.0.0.1 port=5555 \
    >"$(scratch gst-live.log)" 2>&1 || die "gst-launch failed: $(cat "$(scratch gst-live.log)")"
wait_pid "${MCRT_JOBS[impair]}" 15 || die "impair_forward.py did not end: $(cat "$(scratch impair.log)")"
log "impair_forward: $(cat "$(scratch impair.json)")"
check_eq "live_rtp: GStreamer's packets" "$LIVE_BUFFERS" "$(json_get "$(scratch impair.json)" received)"
check_eq "live_rtp: left out" "[0, 40, 65530]" "$(json_get "$(scratch impair.json)" dropped)"
wait_stat w rules.name=live_rtp.packets $((LIVE_BUFFERS - 3))
check_eq "live_rtp lost" 3 "$(worker_stat w rules.name=live_rtp.health.lost)"
check_eq "live_rtp reordered" 0 "$(worker_stat w rules.name=live_rtp.health.reordered)"
check_eq "live_rtp duplicates" 0 "$(worker_stat w rules.name=live_rtp.health.duplicates)"
check_eq "live_rtp malformed" 0 "$(worker_stat w rules.name=live_rtp.health.malformed)"
check_eq "live_rtp sequence restarts" 0 "$(worker_stat w rules.name=live_rtp.health.sequence_restarts)"
check_eq "live_rtp packets inspected" $((LIVE_BUFFERS - 3)) "$(worker_stat w rules.name=live_rtp.health.packets)"
check_eq "live_rtp ssrc" 4660 "$(worker_stat w rules.name=live_rtp.health.ssrc)"
check_eq "live_rtp payload type (L16 mono)" 11 "$(worker_stat w rules.name=live_rtp.health.payload_type)"
check_eq "live_rtp clock rate (static type 11)" 44100 "$(worker_stat w rules.name=live_rtp.health.clock_rate)"
check_eq "live_rtp state" losing "$(worker_stat w rules.name=live_rtp.health.state)"
check_eq "live_rtp out0 gaps" 0 "$(worker_stat w rules.name=live_rtp.outputs.0.health.gaps)"
check_eq "live_rtp out0 packets" $((LIVE_BUFFERS - 3)) "$(worker_stat w rules.name=live_rtp.outputs.0.packets)"
# A live source paced by GStreamer's clock: 10 ms apart in time and in
# timestamps; the estimate stays far below one packet time (10 000 us) on
# this shared machine (bound: 2 500 us); a wrong clock rate (90 kHz instead
# of 44.1) alone would read about 5 100 us.
jitter=$(worker_stat w rules.name=live_rtp.health.jitter_us)
log "live_rtp jitter: $jitter us"
check_eq "live_rtp jitter below 2500 us" yes "$(awk -v j="$jitter" 'BEGIN { print (j >= 0 && j < 2500) ? "yes" : "no" }')"

log "--- live ffmpeg MPEG-TS, unimpaired"
ns_exec src timeout 60 ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi -i testsrc=size=320x240:rate=25 \
    -frames:v 50 -c:v mpeg2video -b:v 1M -f mpegts "udp://239.1.1.2:5002?pkt_size=1316&localaddr=192.0.2.2&ttl=16" \
    >"$(scratch ffmpeg-live.log)" 2>&1 || die "ffmpeg failed: $(cat "$(scratch ffmpeg-live.log)")"
sleep 0.5 # the last datagrams through the relay, then two stats ticks
ts_packets=$(worker_stat w rules.name=live_ts.packets)
[ "$ts_packets" -gt 50 ] || fail "live_ts: only $ts_packets datagrams arrived"
check_eq "live_ts datagrams inspected" "$ts_packets" "$(worker_stat w rules.name=live_ts.health.datagrams)"
check_eq "live_ts CC errors" 0 "$(worker_stat w rules.name=live_ts.health.cc_errors)"
check_eq "live_ts malformed" 0 "$(worker_stat w rules.name=live_ts.health.malformed)"
check_eq "live_ts PCR PID (ffmpeg's video PID 0x100)" 256 "$(worker_stat w rules.name=live_ts.health.pcr_pid)"
check_eq "live_ts state" ok "$(worker_stat w rules.name=live_ts.health.state)"
check_eq "live_ts out0 gaps" 0 "$(worker_stat w rules.name=live_ts.outputs.0.health.gaps)"
out1_too_big=$(worker_stat w rules.name=live_ts.outputs.1.drops.too_big)
out1_packets=$(worker_stat w rules.name=live_ts.outputs.1.packets)
log "live_ts out1 (MTU 1000): $out1_packets sent, $out1_too_big too big"
[ "$out1_too_big" -gt 0 ] || fail "live_ts out1: no datagram was too big for MTU 1000"
check_eq "live_ts out1 gaps = its too-big drops" "$out1_too_big" "$(worker_stat w rules.name=live_ts.outputs.1.health.gaps)"
check_eq "live_ts out1 sent + gaps = datagrams in" "$ts_packets" $((out1_packets + out1_too_big))

log "--- GStreamer RTP replayed by scapy: 3 left out, 2 swapped, 1 duplicated, 3 malformed"
timeout 30 gst-launch-1.0 -q audiotestsrc num-buffers=60 samplesperbuffer=160 \
    ! audio/x-raw,format=S16BE,rate=8000,channels=1 \
    ! rtpL16pay pt=96 seqnum-offset=65500 ssrc=4660 timestamp-offset=0 \
    ! rtpstreampay ! filesink location="$(scratch rtp.stream)" >"$(scratch gst-file.log)" 2>&1 \
    || die "gst-launch (file) failed: $(cat "$(scratch gst-file.log)")"
replay=$(ns_exec src "$MCRT_PYTHON" "$MCRT_LIB_DIR/replay_stream.py" eth0 rtp "$(scratch rtp.stream)" 239.1.1.3 5004 \
    --drop 65502,65535,10 --swap 65520,5 --duplicate 15 --malformed short,version1,csrc) || die "replay (rtp) failed"
log "replayed: $replay"
check_eq "replay_rtp: packets in GStreamer's file" 60 "$(json_of "$replay" packets_in_file)"
sent=$(json_of "$replay" sent)
check_eq "replay_rtp datagrams sent (60 - 3 + 1 + 3)" 61 "$sent"
wait_stat w rules.name=replay_rtp.packets "$sent"
check_eq "replay_rtp lost" 3 "$(worker_stat w rules.name=replay_rtp.health.lost)"
check_eq "replay_rtp reordered" 2 "$(worker_stat w rules.name=replay_rtp.health.reordered)"
check_eq "replay_rtp duplicates" 1 "$(worker_stat w rules.name=replay_rtp.health.duplicates)"
check_eq "replay_rtp malformed" 3 "$(worker_stat w rules.name=replay_rtp.health.malformed)"
check_eq "replay_rtp valid RTP packets" 58 "$(worker_stat w rules.name=replay_rtp.health.packets)"
check_eq "replay_rtp ssrc changes" 0 "$(worker_stat w rules.name=replay_rtp.health.ssrc_changes)"
check_eq "replay_rtp clock rate (dynamic type: the default)" 90000 "$(worker_stat w rules.name=replay_rtp.health.clock_rate)"
check_eq "replay_rtp out0 packets: malformed ones relayed too" "$sent" "$(worker_stat w rules.name=replay_rtp.outputs.0.packets)"

log "--- ffmpeg MPEG-TS replayed by scapy: 3 datagrams left out, 2 malformed"
timeout 60 ffmpeg -hide_banner -loglevel error -nostdin -f lavfi -i testsrc=size=320x240:rate=25 -frames:v 50 \
    -c:v mpeg2video -b:v 1M -f mpegts "$(scratch stream.ts)" >"$(scratch ffmpeg-file.log)" 2>&1 \
    || die "ffmpeg (file) failed: $(cat "$(scratch ffmpeg-file.log)")"
replay=$(ns_exec src "$MCRT_PYTHON" "$MCRT_LIB_DIR/replay_stream.py" eth0 ts "$(scratch stream.ts)" 239.1.1.4 5006 \
    --drop-datagrams 3 --malformed badsync,length) || die "replay (ts) failed"
log "replayed: $replay"
sent=$(json_of "$replay" sent)
check_eq "replay_ts datagrams sent" $(($(json_of "$replay" datagrams_in_file) - 3 + 2)) "$sent"
wait_stat w rules.name=replay_ts.packets "$sent"
check_eq "replay_ts CC errors" 3 "$(worker_stat w rules.name=replay_ts.health.cc_errors)"
check_eq "replay_ts malformed" 2 "$(worker_stat w rules.name=replay_ts.health.malformed)"
check_eq "replay_ts duplicates" 0 "$(worker_stat w rules.name=replay_ts.health.duplicates)"
check_eq "replay_ts datagrams" "$sent" "$(worker_stat w rules.name=replay_ts.health.datagrams)"
check_eq "replay_ts TS packets checked" $(($(json_of "$replay" ts_packets_in_file) - 21)) \
    "$(worker_stat w rules.name=replay_ts.health.packets)"
check_eq "replay_ts PCR PID" 256 "$(worker_stat w rules.name=replay_ts.health.pcr_pid)"
check_eq "replay_ts out0 packets" "$sent" "$(worker_stat w rules.name=replay_ts.outputs.0.packets)"

log "--- journal entries: losing once per impaired stream, recovered after 5 quiet seconds"
check_eventually "live_rtp state after 5 quiet seconds" ok 10 worker_stat w rules.name=live_rtp.health.state
worker_stop w
worker_log=$(cat "$(scratch w.log)")
for rule in live_rtp replay_rtp replay_ts; do
    check_eq "$rule: one 'losing' entry" 1 "$(grep -c "Stream of rule $rule is losing packets" <<<"$worker_log" || true)"
done
check_eq "live_rtp: one 'recovered' entry" 1 "$(grep -c "Stream of rule live_rtp recovered" <<<"$worker_log" || true)"
check_eq "live_ts: no entry" 0 "$(grep -c "Stream of rule live_ts " <<<"$worker_log" || true)"
finish "stream health: exact RTP and MPEG-TS impairments from GStreamer and ffmpeg"
