#!/bin/sh
# Anti-fraud on EXT against real traffic: a REGISTER brute force from one
# address ($NET.5) against a registrar that never accepts is banned after
# max_failures, gets no answer at all afterwards, while another address
# ($NET.6) still gets its challenges; the ban is in the ban file and
# survives a sigd restart. A scanner User-Agent gets nothing; an unknown
# user gets the same challenge as a known one; a source over the rate
# limit loses requests and recovers. Each drop is counted by reason in
# `gwctl metrics` and logged. From INT, a sipp call to an allowed
# national number and to emergency numbers goes out through the default
# trunk route (a sipp UAS on EXT), international numbers get 403.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
PROBE="/usr/bin/python3 $(cd "$(dirname "$0")" && pwd)/sipprobe.py"
TRUNK=$NET.4
ATTACKER=$NET.5
OTHER=$NET.6
SCANNER=$NET.7
FLOOD=$NET.8
REG="sip:$EXT:15060"

write_config
sed -i "s|^internal_target = .*|internal_target = sip:$LAN:15080\next_default_route = sip:$TRUNK:15070|" "$T/gw.ini"
cat >>"$T/gw.ini" <<EOC

[antifraud]
max_failures = 3
window = 600
ban_file = $T/bans
rate = 20
burst = 20
EOC

start_daemon registrar $PROBE registrar "$LAN:15080"
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

probe() { $PROBE send "$@" 2>>"$T/probe.err"; }

# -- brute force: three wrong passwords, then silence
r1=$(probe "$ATTACKER" "$EXT:15060" REGISTER "$REG" --auth)
r2=$(probe "$ATTACKER" "$EXT:15060" REGISTER "$REG" --auth)
r3=$(probe "$ATTACKER" "$EXT:15060" REGISTER "$REG" --auth)
check "the first 3 wrong passwords from $ATTACKER are answered 401 ($r1 $r2 $r3)" \
    [ "$r1 $r2 $r3" = "401 401 401" ]
r4=$(probe "$ATTACKER" "$EXT:15060" REGISTER "$REG" --auth --wait 2)
check "after 3 failures $ATTACKER gets no answer at all (got $r4)" [ "$r4" = none ]
r5=$(probe "$ATTACKER" "$EXT:15060" OPTIONS "sip:$EXT:15060" --wait 1)
check "$ATTACKER gets nothing even for OPTIONS to sigd (got $r5)" [ "$r5" = none ]
r6=$(probe "$OTHER" "$EXT:15060" REGISTER "$REG" --auth)
check "another address ($OTHER) is still answered (got $r6)" [ "$r6" = 401 ]
check "the ban is in the ban file" grep -q "^$ATTACKER [0-9]" "$T/bans"
check "the ban is logged with the address" grep -q "$ATTACKER banned for 8640000 s" "$T/sigd.log"
r7=$(probe "$OTHER" "$EXT:15060" REGISTER "$REG")
check "a bare REGISTER (no credentials) is challenged, not counted (got $r7)" [ "$r7" = 401 ]

# -- the ban survives a restart
check "sigd stops cleanly" stop_daemon sigd
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
wait_until 5 grep -q "SIP INT listening" "$T/sigd.log"
check "sigd reloaded the ban" grep -q "1 ban(s) reloaded" "$T/sigd.log"
r8=$(probe "$ATTACKER" "$EXT:15060" REGISTER "$REG" --wait 2)
check "after the restart $ATTACKER is still ignored (got $r8)" [ "$r8" = none ]
r9=$(probe "$OTHER" "$EXT:15060" REGISTER "$REG")
check "after the restart $OTHER is still answered (got $r9)" [ "$r9" = 401 ]

# -- scanners and uniform answers
s1=$(probe "$SCANNER" "$EXT:15060" OPTIONS "sip:100@$EXT:15060" --ua "friendly-scanner" --wait 2)
check "a friendly-scanner request is dropped (got $s1)" [ "$s1" = none ]
s2=$(probe "$SCANNER" "$EXT:15060" REGISTER "$REG" --ua "sipvicious 0.3.0" --wait 1)
check "a sipvicious REGISTER is dropped (got $s2)" [ "$s2" = none ]
u1=$(probe "$SCANNER" "$EXT:15060" REGISTER "$REG" --from-user ghost)
u2=$(probe "$SCANNER" "$EXT:15060" REGISTER "$REG" --from-user 100)
check "an unknown user (registrar says 404) gets the same 401 as a known one ($u1 / $u2)" \
    [ "$u1 $u2" = "401 401" ]

# -- every drop is counted by reason and logged (one line per source per 10 s)
dropped() {
    "$BIN/gwctl" -b "$BUS" metrics 2>/dev/null |
        awk -v r="$1" 'index($0, "gw_sig_requests_dropped_total{reason=\"" r "\"}") == 1 { print $2 }'
}
nb=$(dropped banned); ns=$(dropped scanner)
check "gwctl metrics counts the banned source's drops since the restart ($nb)" [ "${nb:-0}" -eq 1 ]
check "and the scanner's ($ns)" [ "${ns:-0}" -eq 2 ]
check "the banned source's drop is logged" \
    grep -q "dropped request from $ATTACKER (banned): REGISTER, banned for" "$T/sigd.log"
check "the scanner's first drop is logged, the second only counted" sh -c \
    "[ \$(grep -c 'from $SCANNER (scanner)' '$T/sigd.log') -eq 1 ]"

# -- rate limit: 60 requests at once, burst 20, 20/s
f1=$(probe "$FLOOD" "$EXT:15060" OPTIONS "sip:$EXT:15060" --count 60 --wait 1.5)
n=$(echo "$f1" | awk '{ print $2 }')
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
check "60 requests at once from $FLOOD: only the burst and refill pass ($f1)" \
    in_range "${n:-0}" 18 45
sleep 1.2
f2=$(probe "$FLOOD" "$EXT:15060" OPTIONS "sip:$EXT:15060")
check "$FLOOD is answered again once its bucket refilled (got $f2)" [ "$f2" = 200 ]

# -- outbound destinations from INT through the default trunk route
outbound() { # NUMBER: 0 when the sipp call completed
    (cd "$T" && exec timeout 20 sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$TRUNK" -p 15070 \
        -mi "$TRUNK" -mp 16000 -nostdin -m 1 -trace_err -timeout 15s \
        >"$T/trunk-$1.out" 2>&1) &
    tp=$!
    PIDS="$PIDS $tp"
    sleep 0.3
    (cd "$T" && timeout 20 sipp "$INT:15060" -sf "$SIPP_DIR/uac_out.xml" -i "$LAN" \
        -p 15090 -mi "$LAN" -mp 17000 -m 1 -nostdin -trace_err -timeout 15s \
        -key ruri "sip:$1@$INT:15060" >"$T/out-$1.out" 2>&1)
    rc=$?
    wait "$tp"; trc=$?
    PIDS=$(echo "$PIDS" | sed "s/ $tp\b//")
    [ $rc -eq 0 ] && [ $trc -eq 0 ]
}
check "a national call (+41445551234) goes out to the trunk and completes" outbound +41445551234
check "a national call (0445551234) completes" outbound 0445551234
check "emergency 112 completes" outbound 112
check "emergency 144 completes" outbound 144
d1=$(probe "$LAN" "$INT:15060" INVITE "sip:0049301234567@$INT:15060")
check "international 0049... from INT gets 403 (got $d1)" [ "$d1" = 403 ]
d2=$(probe "$LAN" "$INT:15060" INVITE "sip:+12125550100@$INT:15060")
check "international +1... from INT gets 403 (got $d2)" [ "$d2" = 403 ]
check "the refusal is logged with the number" grep -q "outbound call to '+12125550100' refused" "$T/sigd.log"

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
finish
