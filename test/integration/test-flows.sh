#!/bin/sh
# Call flows through sigd with media anchored in mediad, one sipp pair per
# flow (test/sipp/uac_<flow>.xml on EXT, uas_<flow>.xml as the internal
# platform on INT, or the reverse for calls from INT), over UDP and then
# TCP. Each flow checks that both sipp scenarios succeeded (the scenarios
# check headers and SDP themselves) and that sigd and mediad hold no call,
# session or port afterwards.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
CTL="/usr/bin/python3 $(cd "$(dirname "$0")" && pwd)/sigctl.py"
UPORT=15080     # the platform (LAN)
CPORT=15090     # the external phone (EXT side)
N=${CALLS:-2}   # calls per flow

write_config
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

# sipp_bg NAME ADDR PORT XML [options]: a sipp in the background (30 s bound).
sipp_bg() {
    name=$1; addr=$2; port=$3; xml=$4; shift 4
    (cd "$T" && exec timeout 30 sipp -sf "$SIPP_DIR/$xml" -i "$addr" -p "$port" \
        -mi "$addr" -t "$FLAG" -nostdin -trace_err -trace_msg \
        -timeout 25s "$@" >"$T/$name.out" 2>&1) &
    echo $! >"$T/$name.spid"
    PIDS="$PIDS $!"
}
# sipp_wait NAME: its exit status.
sipp_wait() {
    p=$(cat "$T/$1.spid")
    wait "$p"
    rc=$?
    PIDS=$(echo "$PIDS" | sed "s/ $p\b//")
    return $rc
}
leftovers_ok() {
    [ "$(gwctl_field media1 sessions)" = 0 ] &&
    [ "$("$BIN/gwctl" -b "$BUS" nodes | awk '$1 == "calls" { print $2 }')" = 0 ]
}
# flow_done FLOW RC_UAC RC_UAS: the verdict, and nothing left behind.
flow_done() {
    f=$1
    if [ "$2" -eq 0 ] && [ "$3" -eq 0 ]; then
        ok "$f over $TR: caller and platform scenarios succeeded ($N calls)"
    else
        not_ok "$f over $TR: sipp failed (caller $2, platform $3)"
        for s in uac uas; do
            tail -n 15 "$T/$f-$TR-$s.out" | sed "s/^/# $s: /"
            cat "$T"/*_errors.log 2>/dev/null | tail -n 20 | sed "s/^/# $s err: /"
        done
    fi
    if wait_until 5 leftovers_ok; then
        ok "$f over $TR: no call in sigd, no session in mediad afterwards"
    else
        not_ok "$f over $TR: left behind: sessions=$(gwctl_field media1 sessions)"
    fi
    rm -f "$T"/*_errors.log
}

# flow FLOW [uac options]: uac_FLOW.xml from EXT to uas_FLOW.xml on LAN.
flow() {
    f=$1; shift
    sipp_bg "$f-$TR-uas" "$LAN" $UPORT "uas_$f.xml" -mp 17000 -m "$N"
    sleep 0.3
    sipp_bg "$f-$TR-uac" "$EXT" $CPORT "uac_$f.xml" "$EXT:15060" -mp 16000 \
        -s service -m "$N" -r 10 "$@"
    sipp_wait "$f-$TR-uac"; a=$?
    sipp_wait "$f-$TR-uas"; b=$?
    flow_done "$f" $a $b
}

# sigd ends confirmed calls from the middle (the path media timeouts and
# dead media nodes take), asked over the bus: BYE to both parties.
flow_terminated() {
    f=terminated
    before=$(grep -c "dialog confirmed" "$T/sigd.log")
    byes0=$(grep -c "BYE to the c[a-z]* on [EI][XN]T answered 200" "$T/sigd.log")
    sipp_bg "$f-$TR-uas" "$LAN" $UPORT "uas_$f.xml" -mp 17000 -m "$N"
    sleep 0.3
    sipp_bg "$f-$TR-uac" "$EXT" $CPORT "uac_$f.xml" "$EXT:15060" -mp 16000 \
        -s service -m "$N" -r 10
    wait_until 10 sh -c "[ \$(grep -c 'dialog confirmed' '$T/sigd.log') -ge $((before + N)) ]"
    sleep 0.2   # the ACKs
    n=0
    for id in $(grep "dialog confirmed" "$T/sigd.log" | tail -n "$N" |
                sed 's/.*\[\([^]]*\)\] dialog confirmed.*/\1/'); do
        $CTL "$BUS" terminate "$id" >>"$T/ctl.out" 2>&1 && n=$((n + 1))
    done
    check "terminate over $TR: sigd accepted $n of $N terminate commands" [ "$n" -eq "$N" ]
    sipp_wait "$f-$TR-uac"; a=$?
    sipp_wait "$f-$TR-uas"; b=$?
    flow_done "$f" $a $b
    byes=$(($(grep -c "BYE to the c[a-z]* on [EI][XN]T answered 200" "$T/sigd.log") - byes0))
    check "terminate over $TR: both BYEs of every call answered 200 ($byes)" \
        [ "$byes" -eq $((2 * N)) ]
}

for TR in udp tcp; do
    if [ $TR = udp ]; then FLAG=u1; else FLAG=t1; fi
    if [ $TR = tcp ]; then
        stop_daemon sigd
        sed -i "s|^internal_target = .*|internal_target = sip:$LAN:$UPORT;transport=tcp|" "$T/gw.ini"
        start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
        wait_until 10 sh -c "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 .*state=live'"
    fi
    flow_terminated
done

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from mediad" clean_log mediad
finish
