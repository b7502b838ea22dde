#!/bin/sh
# Topology hiding (sigd/topo.c): a caller on EXT behind a proxy of its own
# calls the platform, which answers through an internal Record-Route with
# internal Contacts and the headers a PBX adds; the call then carries INFO
# and a re-INVITE with a codec change from EXT, a NOTIFY and the BYE from
# INT. Everything each side received is read from sipp's -trace_msg logs:
# the caller never sees an INT-side or internal address nor the listed
# headers, the platform never sees the caller's Via, Contact or proxy, and
# gets the caller's source address in source_header (a forged copy from
# the caller is removed). Then the same call from a trunk listed in
# topology_hiding_off passes unhidden (which also shows the checks can
# fail). Over UDP and TCP.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
write_config
sed -i "s|^log_level = debug|log_level = debug\nsource_header = X-Source-Address|" "$T/gw.ini"
cat >>"$T/gw.ini" <<EOC

[routes]
trunks = carrier=$EXT/32
EOC

start_gw() { # extra sipd -s options...
    start_daemon sigd "$BIN/sigd" -c "$T/gw.ini" "$@"
    wait_until 10 sh -c "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 .*state=live'"
}
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
start_gw

# one_call TAG SIPP-TRANSPORT: runs the call; logs in $T/uac-TAG.msg, $T/uas-TAG.msg
one_call() {
    tag=$1; flag=$2; uac=${3:-$SIPP_DIR/uac_topo.xml}
    rm -f "$T"/uac_topo_*_messages.log "$T"/uas_topo_*_messages.log
    (cd "$T" && exec timeout 30 sipp -sf "$SIPP_DIR/uas_topo.xml" -i "$LAN" -p 15080 \
        -mi "$LAN" -mp 17000 -t "$flag" -m 1 -nostdin -trace_msg -trace_err \
        >"$T/uas-$tag.out" 2>&1) &
    uas=$!
    PIDS="$PIDS $uas"
    sleep 0.5
    (cd "$T" && timeout 30 sipp "$EXT:15060" -sf "$uac" -i "$EXT" \
        -p 15090 -mi "$EXT" -mp 16000 -t "$flag" -s 4711 -m 1 -nostdin \
        -trace_msg -trace_err >"$T/uac-$tag.out" 2>&1)
    uac_rc=$?
    wait "$uas"; uas_rc=$?
    PIDS=$(echo "$PIDS" | sed "s/ $uas\b//")
    cp "$(ls -t "$T"/uac_topo_*_messages.log | head -n 1)" "$T/uac-$tag.msg"
    cp "$(ls -t "$T"/uas_topo_*_messages.log | head -n 1)" "$T/uas-$tag.msg"
}

# received FILE: the messages sipp received (sipp's log heads each with
# "UDP message received [N] bytes :" or "... message sent ...").
received() {
    awk '/ message received / { on = 1; next } / message sent / { on = 0 } on' "$1"
}
esc() { echo "$1" | sed 's/\./\\./g'; }
EXT_RE="$(esc "$EXT")([^0-9]|\$)"
INT_RE="$(esc "$INT")([^0-9]|\$)"
LAN_RE="$(esc "$LAN")([^0-9]|\$)"

for tr in udp tcp; do
    if [ $tr = udp ]; then flag=u1; else flag=t1; fi
    if [ $tr = tcp ]; then
        stop_daemon sigd
        sed -i "s|^internal_target = .*|internal_target = sip:$LAN:15080;transport=tcp|" "$T/gw.ini"
        start_gw
    fi
    one_call $tr $flag
    check "$tr: the call with INFO, re-INVITE (PCMA -> PCMU), NOTIFY and BYE from INT completes (caller sipp $uac_rc, platform sipp $uas_rc)" \
        [ "$uac_rc" -eq 0 -a "$uas_rc" -eq 0 ]
    received "$T/uac-$tr.msg" >"$T/uac-$tr.rcv"
    received "$T/uas-$tr.msg" >"$T/uas-$tr.rcv"
    n=$(grep -cE "$INT_RE|$LAN_RE" "$T/uac-$tr.rcv")
    check "$tr: the caller received no INT-side or internal address ($n lines)" [ "$n" -eq 0 ]
    n=$(grep -ciE '^(Server|Warning|X-Internal-Agent|P-Charging-Vector):' "$T/uac-$tr.rcv")
    check "$tr: the caller received none of the platform's Server, Warning, X-*, P-Charging-Vector headers ($n)" \
        [ "$n" -eq 0 ]
    n=$(grep -ciE "^(Contact|m):.*<sip:$(esc "$EXT"):15060(;transport=tcp)?>" "$T/uac-$tr.rcv")
    t=$(grep -ciE '^(Contact|m):' "$T/uac-$tr.rcv")
    check "$tr: every Contact the caller received is sigd's EXT address ($n of $t)" \
        [ "$n" -ge 3 -a "$n" -eq "$t" ]
    rr=$(awk '/^SIP\/2.0 180/ { on = 1 } on && /^\r?$/ { exit } on' "$T/uac-$tr.rcv" |
        grep -iE '^Record-Route:' | tr -d '\r' | tr '\n' ' ')
    check "$tr: Record-Route of the 180 to the caller: sigd's EXT entry, then its own proxy ($rr)" \
        sh -c "echo '$rr' | grep -qE '^Record-Route: *<sip:$(esc "$EXT"):15060(;transport=tcp)?;lr> Record-Route: *<sip:[^>]*caller-proxy> \$'"
    n=$(grep -iE '^(Via|v|Contact|m|Record-Route|Route):' "$T/uas-$tr.rcv" | grep -cE "$EXT_RE|caller-proxy")
    check "$tr: the platform received no Via, Contact or route naming the caller's side ($n)" [ "$n" -eq 0 ]
    n=$(grep -ciE "^Via:.*$(esc "$INT"):15060" "$T/uas-$tr.rcv")
    check "$tr: the platform saw sigd's INT Via ($n)" [ "$n" -ge 1 ]
    src=$(grep -iE '^X-Source-Address:' "$T/uas-$tr.rcv" | tr -d '\r' | sort -u)
    check "$tr: the platform got the caller's source address, not the forged one ($src)" \
        [ "$src" = "X-Source-Address: $EXT:15090" ]
    check "$tr: sigd holds no call afterwards" wait_until 5 sh -c \
        "[ \"\$('$BIN/gwctl' -b '$BUS' nodes | awk '\$1 == \"calls\" { print \$2 }')\" = 0 ]"
done

# The same call from a trunk whose hiding is off: it sees the platform.
# Without a proxy of its own on the caller's side: sipp sends everything
# to sigd, and an unhidden route set would name that proxy first.
stop_daemon sigd
start_gw -s sigd.topology_hiding_off=carrier
grep -v caller-proxy "$SIPP_DIR/uac_topo.xml" >"$T/uac_topo.xml"
one_call off t1 "$T/uac_topo.xml"
check "off: the call from a trunk in topology_hiding_off completes (caller sipp $uac_rc, platform sipp $uas_rc)" \
    [ "$uac_rc" -eq 0 -a "$uas_rc" -eq 0 ]
received "$T/uac-off.msg" >"$T/uac-off.rcv"
n=$(grep -ciE "^(Contact|m):.*$(esc "$LAN")" "$T/uac-off.rcv")
check "off: that caller does see the platform's Contact ($n)" [ "$n" -ge 1 ]

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
finish
