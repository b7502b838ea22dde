#!/bin/sh
# Anti-fraud's per-IP rate limit never cuts a call (issue 14, item 3). One
# address not declared as a trunk (an office behind one NAT address) calls
# through sigd with the default limit (50/s, burst 100) to a sipp UAS:
# - at 40 calls/s (120 requests/s) every call completes with no
#   retransmission at all: ACKs and BYEs of admitted calls are not counted;
# - at 400 calls/s the limit refuses new INVITEs (they fail at INVITE,
#   after sipp's retransmissions), and every call that was admitted
#   completes: the UAS answered as many calls as the caller completed,
#   none of them lost its ACK or BYE.
# A forged in-dialog flood (random Call-IDs with a To tag) is limited like
# new requests, its drops are logged once, then summed up in one line after
# 10 s, and counted in `gwctl metrics`. Requests on a registered flow
# (the address and port a REGISTER came from) are not limited; another
# port of the same address is. sigd runs at its default log level.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../sipp/stats.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
PROBE="/usr/bin/python3 $(cd "$(dirname "$0")" && pwd)/sipprobe.py"
OFFICE=$NET.9      # 40 calls/s
BUSY=$NET.10       # 400 calls/s
FORGER=$NET.11
AGENT=$NET.12
# Bounded: the fast run refuses most INVITEs; sipp gives up on a call after
# HI_RETRANS INVITE retransmissions (0.5 + 1 + 2 s) instead of timer B.
HI_RATE=${HI_RATE:-400}
HI_CALLS=${HI_CALLS:-1200}
HI_RETRANS=${HI_RETRANS:-2}

write_config
sed -i '/^log_level = /d' "$T/gw.ini"
cat >>"$T/gw.ini" <<EOC

[antifraud]
ban_file = $T/bans
EOC

start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"
check "sigd limits 50 new requests/s per address (burst 100)" \
    grep -q "rate 50/s (burst 100)" "$T/sigd.log"

# dropped REASON: gw_sig_requests_dropped_total{reason=REASON}
dropped() {
    "$BIN/gwctl" -b "$BUS" metrics 2>/dev/null |
        awk -v r="$1" 'index($0, "gw_sig_requests_dropped_total{reason=\"" r "\"}") == 1 { print $2 }'
}

# calls LABEL SRC RATE CALLS [sipp options...]: UAS and UAC, both bounded
calls() {
    label=$1 src=$2 rate=$3 n=$4
    shift 4
    (cd "$T" && exec timeout 60 sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p 15080 \
        -mi "$LAN" -mp 18000 -nostdin -default_behaviors all,-abortunexp \
        -timeout 50s -m "$n" >"$T/$label-uas.out" 2>&1) &
    up=$!
    PIDS="$PIDS $up"
    sleep 0.3
    (cd "$T" && timeout 60 sipp "$EXT:15060" -sf "$SIPP_DIR/uac_bench.xml" -i "$src" \
        -p 15090 -mi "$src" -mp 16000 -s bench -r "$rate" -m "$n" -l 3000 -nostdin \
        -default_behaviors all,-abortunexp -timeout 45s "$@" >"$T/$label-uac.out" 2>&1)
    # The UAS ends after -m calls, or here once the caller is done: the
    # refused calls never reached it.
    sleep 2.5
    kill -INT "$up" 2>/dev/null
    wait "$up"
    PIDS=$(echo "$PIDS" | sed "s/ $up\b//")
}

# -- 40 calls/s, 400 calls, from one address: no drop, no retransmission
calls lo "$OFFICE" 40 400
ok_lo=$(sipp_stat "$T/lo-uac.out" "Successful call"); f_lo=$(sipp_stat "$T/lo-uac.out" "Failed call")
check "40 calls/s from $OFFICE: 400 of 400 calls completed, $f_lo failed (got $ok_lo)" \
    [ "$ok_lo" -eq 400 -a "$f_lo" -eq 0 ]
r_inv=$(sipp_msg "$T/lo-uac.out" "INVITE -" 2); r_bye=$(sipp_msg "$T/lo-uac.out" "BYE -" 2)
check "no INVITE or BYE was retransmitted (INVITE $r_inv, BYE $r_bye)" \
    [ "$r_inv" -eq 0 -a "$r_bye" -eq 0 ]
u_ok=$(sipp_stat "$T/lo-uas.out" "Successful call"); r_200=$(sipp_msg "$T/lo-uas.out" "<-* 200" 2)
u_ack=$(sipp_msg "$T/lo-uas.out" "-> ACK" 1)
check "the UAS completed 400 calls ($u_ok), got 400 ACKs ($u_ack), retransmitted no 2xx ($r_200)" \
    [ "$u_ok" -eq 400 -a "$u_ack" -eq 400 -a "$r_200" -eq 0 ]
d0=$(dropped rate)
check "nothing was dropped for the rate (metric $d0)" [ "${d0:-x}" = 0 ]

# -- 400 calls/s: new INVITEs refused, admitted calls all complete
calls hi "$BUSY" "$HI_RATE" "$HI_CALLS" -max_invite_retrans "$HI_RETRANS"
ok_hi=$(sipp_stat "$T/hi-uac.out" "Successful call"); f_hi=$(sipp_stat "$T/hi-uac.out" "Failed call")
t_inv=$(sipp_msg "$T/hi-uac.out" "INVITE -" 3)
echo "# $HI_RATE calls/s x $HI_CALLS from $BUSY: $ok_hi completed, $f_hi refused"
check "$HI_RATE calls/s: every call completed or failed ($ok_hi + $f_hi = $HI_CALLS)" \
    [ $((ok_hi + f_hi)) -eq "$HI_CALLS" ]
check "the limit refused calls, and admitted some ($ok_hi completed, $f_hi refused)" \
    [ "$ok_hi" -ge 100 -a "$f_hi" -ge 100 ]
check "every failed call failed at its INVITE ($t_inv INVITE timeouts, $f_hi failed)" \
    [ "$t_inv" -eq "$f_hi" ]
b_hi=$(sipp_msg "$T/hi-uac.out" "BYE -" 2); bt_hi=$(sipp_msg "$T/hi-uac.out" "BYE -" 3)
check "no BYE of an admitted call was retransmitted or lost ($b_hi, $bt_hi)" \
    [ "$b_hi" -eq 0 -a "$bt_hi" -eq 0 ]
u_hi=$(sipp_stat "$T/hi-uas.out" "Successful call"); uf_hi=$(sipp_stat "$T/hi-uas.out" "Failed call")
ua_hi=$(sipp_msg "$T/hi-uas.out" "-> ACK" 1); ub_hi=$(sipp_msg "$T/hi-uas.out" "-> BYE" 1)
r2_hi=$(sipp_msg "$T/hi-uas.out" "<-* 200" 2)
check "the UAS completed every call the caller completed ($u_hi = $ok_hi), none failed ($uf_hi)" \
    [ "$u_hi" -eq "$ok_hi" -a "$uf_hi" -eq 0 ]
check "the UAS got an ACK and a BYE for each ($ua_hi, $ub_hi) and retransmitted no 2xx ($r2_hi)" \
    [ "$ua_hi" -eq "$ok_hi" -a "$ub_hi" -eq "$ok_hi" -a "$r2_hi" -eq 0 ]
d1=$(dropped rate)
check "the refused INVITEs are counted (metric $d1)" [ "${d1:-0}" -ge "$f_hi" ]
check "and logged with the source" grep -q "dropped request from $BUSY (rate): INVITE over 50/s" "$T/sigd.log"

# -- forged in-dialog requests are new requests
f1=$($PROBE send "$FORGER" "$EXT:15060" BYE "sip:x@$EXT:15060" --to-tag --count 300 \
    --pace 1000 --wait 1.5)
n=$(echo "$f1" | awk '{ print $2 }')
check "300 BYEs with made-up dialogs from $FORGER in 0.3 s: only the burst and refill are answered ($f1)" \
    [ "${n:-0}" -ge 90 -a "${n:-0}" -le 140 ]
d2=$(dropped rate)
check "the metric counts the forged requests dropped ($((d2 - d1)) = 300 - $n)" \
    [ $((d2 - d1)) -eq $((300 - n)) ]
check "one line logs the first forged drop" sh -c \
    "[ \$(grep -c 'from $FORGER (rate)' '$T/sigd.log') -eq 1 ] &&
     grep -q 'dropped request from $FORGER (rate): BYE over 50/s (burst 100), To tag of no known dialog' '$T/sigd.log'"

# -- a registered flow is not limited (meanwhile the 10 s run)
(cd "$T" && exec timeout 20 sipp -sf "$SIPP_DIR/uas_registrar.xml" -i "$LAN" -p 15080 \
    -nostdin -m 1 >"$T/registrar.out" 2>&1) &
rp=$!
PIDS="$PIDS $rp"
sleep 0.3
APORT=$(free_ports 1)
reg=$($PROBE keepalive "$AGENT:$APORT" "$EXT:15060" 1)
wait "$rp"
PIDS=$(echo "$PIDS" | sed "s/ $rp\b//")
check "the agent at $AGENT:$APORT registered ($reg)" [ "${reg#registered 200}" != "$reg" ]
a1=$($PROBE send "$AGENT" "$EXT:15060" OPTIONS "sip:$EXT:15060" --sport "$APORT" --count 300 \
    --pace 1000 --wait 2)
check "300 requests in 0.3 s on the registered flow: all answered ($a1)" \
    [ "$a1" = "answered 300 of 300" ]
a2=$($PROBE send "$AGENT" "$EXT:15060" OPTIONS "sip:$EXT:15060" --count 300 --pace 1000 \
    --wait 1.5)
n2=$(echo "$a2" | awk '{ print $2 }')
check "the same address from another port is limited ($a2)" \
    [ "${n2:-0}" -ge 90 -a "${n2:-0}" -le 140 ]

# -- the summary: one line per source per 10 s, with the count
check "after 10 s one line sums up the other forged drops" wait_until 13 grep -q \
    "dropped $((300 - n - 1)) more request(s) from $FORGER (rate) in the last" "$T/sigd.log"
check "two lines in all for $FORGER" [ "$(grep -c "from $FORGER (rate)" "$T/sigd.log")" -eq 2 ]

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
finish
