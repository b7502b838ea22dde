#!/bin/sh
# Routing from config ([routes]): failover between internal targets (the
# first is dead: a call from EXT goes to the second, later calls go there
# directly), OPTIONS health checks marking a target down and up again,
# outbound routes by longest dialled prefix (two sipp trunks on EXT), and
# a trunk recognised by source CIDR that the per-IP rate limit spares.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
PROBE="/usr/bin/python3 $(cd "$(dirname "$0")" && pwd)/sipprobe.py"
TRUNK=$NET.4
CARRIER=$NET.12
STRANGER=$NET.13

write_config
cat >>"$T/gw.ini" <<EOC

[routes]
internal_targets = sip:$LAN:15080, sip:$LAN:15082
health_interval = 0
health_failures = 2
trunks = carrier=$CARRIER/32
outbound = +41=sip:$TRUNK:15070, +4144=sip:$TRUNK:15071

[antifraud]
ban_file = $T/bans
rate = 2
burst = 2
EOC

start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

# call NAME UAS_ADDR UAS_PORT UAC_ADDR UAC_PORT SIGD_ADDR RURI: 0 when both
# sipps succeeded (uas_echo answers, uac_out calls and hangs up).
call() {
    n=$1
    (cd "$T" && exec timeout 20 sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$2" -p "$3" \
        -mi "$2" -mp 16000 -nostdin -m 1 -trace_err -timeout 15s >"$T/$n-uas.out" 2>&1) &
    up=$!
    PIDS="$PIDS $up"
    sleep 0.3
    (cd "$T" && timeout 20 sipp "$6:15060" -sf "$SIPP_DIR/uac_out.xml" -i "$4" -p "$5" \
        -mi "$4" -mp 17000 -m 1 -nostdin -trace_err -timeout 15s -key ruri "$7" \
        >"$T/$n-uac.out" 2>&1)
    rc=$?
    wait "$up"; urc=$?
    PIDS=$(echo "$PIDS" | sed "s/ $up\b//")
    [ $rc -eq 0 ] && [ $urc -eq 0 ]
}

# -- failover: nothing listens on the first target
check "a call from EXT fails over from the dead first target to the second" \
    call fo1 "$LAN" 15082 "$EXT" 15090 "$EXT" "sip:service@$EXT:15060"
check "sigd logged the failover" grep -q "to sip:$LAN:15080 failed (50[03]): trying sip:$LAN:15082" "$T/sigd.log"
check "the first target is marked down" grep -q "internal target sip:$LAN:15080 down" "$T/sigd.log"
n1=$(grep -c "failed (50[03]): trying" "$T/sigd.log")
check "the next call goes straight to the live target" \
    call fo2 "$LAN" 15082 "$EXT" 15090 "$EXT" "sip:service@$EXT:15060"
n2=$(grep -c "failed (50[03]): trying" "$T/sigd.log")
check "  ... without another failover ($n1 then $n2)" [ "$n1" = "$n2" ]

# -- outbound routes by longest prefix
check "+4144... goes to the +4144 trunk (port 15071)" \
    call ob1 "$TRUNK" 15071 "$LAN" 15091 "$INT" "sip:+41445551234@$INT:15060"
check "+4121... goes to the +41 trunk (port 15070)" \
    call ob2 "$TRUNK" 15070 "$LAN" 15091 "$INT" "sip:+41215551234@$INT:15060"

# -- a trunk by source CIDR is not rate limited (rate 2/s, burst 2)
c=$($PROBE send "$CARRIER" "$EXT:15060" OPTIONS "sip:$EXT:15060" --count 10 --wait 1)
s=$($PROBE send "$STRANGER" "$EXT:15060" OPTIONS "sip:$EXT:15060" --count 10 --wait 1)
check "10 requests at once from the carrier's address all answered ($c)" [ "$c" = "answered 10 of 10" ]
ns=$(echo "$s" | awk '{ print $2 }')
check "from another address only the burst is answered ($s)" [ "${ns:-10}" -le 4 ]

# -- health checks: target 1 down while silent, up once it answers
check "sigd stops cleanly" stop_daemon sigd
sed -i "s|^health_interval = .*|health_interval = 1|" "$T/gw.ini"
start_daemon b-responder $PROBE responder "$LAN:15082"
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
check "a silent target is marked down by the health checks" wait_until 8 \
    grep -q "internal target sip:$LAN:15080 down: 2 OPTIONS in a row unanswered" "$T/sigd.log"
check "the answering target stays up" sh -c "! grep -q 'target sip:$LAN:15082 down' '$T/sigd.log'"
start_daemon a-responder $PROBE responder "$LAN:15080"
check "it is up again once it answers OPTIONS" wait_until 5 \
    grep -q "internal target sip:$LAN:15080 up (OPTIONS answered 200)" "$T/sigd.log"

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
finish
