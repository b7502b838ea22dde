#!/bin/sh
# Media timeout end to end: calls whose RTP never flows are noticed by
# mediad (timeout 2 s here), reported on the bus, and ended by sigd with a
# BYE to each party (sipp scenarios uac/uas_terminated expect the BYE and
# its Reason header), with the media session deleted.
. "$(dirname "$0")/lib.sh"
SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
N=3

write_config
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini" -s mediad.timeout=2
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

(cd "$T" && exec timeout 40 sipp -sf "$SIPP_DIR/uas_terminated.xml" -i "$LAN" -p 15080 \
    -mi "$LAN" -mp 17000 -m $N -nostdin -trace_err -timeout 35s >"$T/uas.out" 2>&1) &
uas=$!; PIDS="$PIDS $uas"
sleep 0.3
(cd "$T" && timeout 40 sipp -sf "$SIPP_DIR/uac_terminated.xml" "$EXT:15060" -i "$EXT" \
    -p 15090 -mi "$EXT" -mp 16000 -s service -m $N -r 10 -nostdin -trace_err \
    -timeout 35s >"$T/uac.out" 2>&1)
a=$?
wait $uas; b=$?
PIDS=$(echo "$PIDS" | sed "s/ $uas\b//")
check "$N silent calls were ended by BYEs from sigd to both parties (sipp: caller $a, platform $b)" \
    [ $a -eq 0 -a $b -eq 0 ]
n=$(grep -c "media timeout, telling sigd" "$T/mediad.log")
check "mediad reported $n media timeouts for $N calls" [ "$n" -eq $N ]
n=$(grep -c "terminat.*media timeout on node 'media1'" "$T/sigd.log")
check "sigd ended $n calls for the media timeout (logged with the node)" [ "$n" -eq $N ]
wait_until 5 sh -c "[ \"\$(gwctl_field media1 sessions)\" = 0 ]"
check "no media session left" [ "$(gwctl_field media1 sessions)" = 0 ]
check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from mediad" clean_log mediad
finish
