#!/bin/sh
# Calls from ONE address that is not a declared trunk (an office behind one
# NAT address, an undeclared carrier) through sigd + mediad to a sipp UAS,
# with anti-fraud's default rate limit (50 new requests/s, burst 100): how
# many calls complete on both sides, and how many SIP retransmissions it
# took. sipp test/sipp/uac_bench.xml (INVITE with SDP, 200, ACK, BYE) and
# uas_echo.xml, sipp's default timers (an INVITE that gets no answer is
# retransmitted 7 times, then the call fails), on loopback ($GW_BENCH_NET;
# the daemons are started as the integration tests start them).
#
#   B=build/rel sh test/bench/bench-ratelimit.sh 40 400
#   B=build/rel sh test/bench/bench-ratelimit.sh 400 4000
#   B=build/rel sh test/bench/bench-ratelimit.sh       (both, ~1 min)
#
# Prints one line: caller successful/failed, INVITE and BYE retransmissions
# and timeouts at the caller, calls the UAS completed, ACKs and BYEs it
# received, its 2xx retransmissions and timeouts (an ACK that never came),
# and sigd's rate-limit drops (gwctl metrics, when sigd exports them).
if [ $# -eq 0 ]; then
    sh "$0" 40 400 && sh "$0" 400 4000
    exit
fi
RATE=$1
CALLS=$2
GW_TEST_NET=${GW_BENCH_NET:-127.0.64}
TEST_NAME=bench-ratelimit
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../sipp/stats.sh"
SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
command -v sipp >/dev/null || { echo "sipp (sip-tester) not found"; exit 1; }

write_config
# Default log level; room for the media sessions of calls that lose their
# BYE (they stay until the media timeout).
sed -i -e '/^log_level = /d' -e 's/^rtp_range = .*/rtp_range = 30000-39999/' "$T/gw.ini"
printf '\n[antifraud]\nban_file = %s/bans\n' "$T" >>"$T/gw.ini"
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
wait_until 10 sh -c "'$BIN/gwctl' -b '$BUS' nodes | grep -q 'state=live'" ||
    { echo "mediad did not register"; exit 1; }
(cd "$T" && exec timeout 200 sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p 15080 \
    -mi "$LAN" -nostdin -default_behaviors all,-abortunexp -timeout 180s \
    >"$T/uas.out" 2>&1) &
up=$!
PIDS="$PIDS $up"
sleep 0.3
(cd "$T" && timeout 200 sipp "$EXT:15060" -sf "$SIPP_DIR/uac_bench.xml" -i "$NET.9" \
    -p 15090 -mi "$NET.9" -mp 16000 -s bench -r "$RATE" -m "$CALLS" -l 30000 -nostdin \
    -default_behaviors all,-abortunexp -timeout 180s >"$T/uac.out" 2>&1)
sleep 3     # the UAS's last 2xx retransmissions and timers
kill -INT "$up" 2>/dev/null
wait "$up"
drops=$("$BIN/gwctl" -b "$BUS" metrics 2>/dev/null |
    awk 'index($0, "gw_sig_requests_dropped_total{reason=\"rate\"}") == 1 { print $2 }')

echo "$RATE calls/s x $CALLS:" \
    "caller ok $(sipp_stat "$T/uac.out" "Successful call") failed $(sipp_stat "$T/uac.out" "Failed call")," \
    "INVITE retrans $(sipp_msg "$T/uac.out" "INVITE -" 2) timeouts $(sipp_msg "$T/uac.out" "INVITE -" 3)," \
    "BYE retrans $(sipp_msg "$T/uac.out" "BYE -" 2) timeouts $(sipp_msg "$T/uac.out" "BYE -" 3);" \
    "UAS ok $(sipp_stat "$T/uas.out" "Successful call") failed $(sipp_stat "$T/uas.out" "Failed call")," \
    "ACK $(sipp_msg "$T/uas.out" "-> ACK" 1) BYE $(sipp_msg "$T/uas.out" "-> BYE" 1)," \
    "2xx retrans $(sipp_msg "$T/uas.out" "<-* 200" 2) timeouts $(sipp_msg "$T/uas.out" "<-* 200" 3);" \
    "sigd rate drops ${drops:-n/a}"
