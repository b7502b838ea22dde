#!/bin/sh
# SRTP phone on EXT <-> plain RTP platform on INT, through sigd and mediad:
# the SDP each side sees (RTP/SAVP + the relay's key outside, RTP/AVP with
# no key inside), real SRTP both ways for each suite, and 488 for an offer
# whose suites we do not support.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SIPP_DIR=$HERE/../sipp
PHONE=$NET.5

write_config
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 .*state=live'"
(cd "$T" && exec sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p 15080 -mi "$LAN" \
    -mp 17000 -rtp_echo -nostdin -trace_msg -timeout 120s >"$T/uas.out" 2>&1) &
PIDS="$PIDS $!"
sleep 0.5
for suite in AES_CM_128_HMAC_SHA1_80 AES_CM_128_HMAC_SHA1_32 AEAD_AES_128_GCM BOGUS; do
    /usr/bin/python3 "$HERE/sip/srtp_uac.py" "$PHONE" "$EXT" 15060 "$suite" 30 >"$T/uac.out" 2>&1
    grep -E "^(ok|not ok) - " "$T/uac.out"
    p=$(grep -c '^ok - ' "$T/uac.out" 2>/dev/null); f=$(grep -c '^not ok - ' "$T/uac.out" 2>/dev/null)
    PASSED=$((PASSED + ${p:-0}))
    FAILED=$((FAILED + ${f:-0}))
    [ "${p:-0}" -eq 0 ] && [ "${f:-0}" -eq 0 ] && not_ok "$suite: the UAC reported nothing"
    grep -q "^Traceback" "$T/uac.out" && { not_ok "$suite: UAC crashed"; sed 's/^/# /' "$T/uac.out"; }
done
uas_log=$(ls "$T"/uas_echo_*_messages.log | head -n 1)
n_savp=$(grep -c "RTP/SAVP" "$uas_log")
n_crypto=$(grep -c "a=crypto" "$uas_log")
n_avp=$(grep -c "^m=audio [0-9]* RTP/AVP " "$uas_log")
check "the platform saw plain RTP/AVP offers ($n_avp) and never SAVP ($n_savp) or a key ($n_crypto)" \
    [ "$n_avp" -ge 3 -a "$n_savp" -eq 0 -a "$n_crypto" -eq 0 ]
check "keys never reach sigd's or mediad's log" sh -c "! grep -q 'inline:' '$T/sigd.log' '$T/mediad.log'"
wait_until 5 sh -c "[ \"\$(gwctl_field media1 sessions)\" = 0 ]"
check "no session left on mediad" [ "$(gwctl_field media1 sessions)" = 0 ]
check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from mediad" clean_log mediad
finish
