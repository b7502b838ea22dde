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
# flow_done LABEL FLOW RC_UAC RC_UAS: the verdict, and nothing left behind.
flow_done() {
    l=$1; f=$2; shift
    if [ "$2" -eq 0 ] && [ "$3" -eq 0 ]; then
        ok "$l over $TR: caller and platform scenarios succeeded ($N calls)"
    else
        not_ok "$l over $TR: sipp failed (caller $2, platform $3)"
        for s in uac uas; do
            { tail -n 15 "$T/$f-$TR-$s.out"; echo; } | sed "s/^/# $s: /"
            { cat "$T"/*_errors.log 2>/dev/null | tail -n 20; echo; } | sed "s/^/# $s err: /"
        done
    fi
    if wait_until 5 leftovers_ok; then
        ok "$l over $TR: no call in sigd, no session in mediad afterwards"
    else
        not_ok "$l over $TR: left behind: sessions=$(gwctl_field media1 sessions)"
    fi
    rm -f "$T"/*_errors.log
}

# sdp_leak_ok: SDP as each party saw it in the last flow: the EXT party
# only ever sees EXT addresses of the relay, the LAN party never an EXT one.
sdp_leak_ok() { # ext-party-log lan-party-log
    ! grep -Eq "IN IP4 $LAN[[:space:]]*\$" "$1" &&
    ! grep -Eq "IN IP4 $EXT[[:space:]]*\$" "$2"
}

# flow FLOW DIR [options for both sipps]: uac_FLOW.xml calls uas_FLOW.xml.
# DIR fwd: the caller on EXT, the platform on LAN (the usual inbound call);
# rev: the platform on LAN calls a phone on EXT (outbound, Request-URI to
# the phone). UAS_OPTS / UAC_OPTS add options to one of them.
flow() {
    f=$1; dir=$2; shift 2
    if [ "$dir" = fwd ]; then
        sipp_bg "$f-$TR-uas" "$LAN" $UPORT "${UAS_XML:-uas_$f.xml}" -mp 17000 -m "$N" \
            -key ruri x $UAS_OPTS "$@"
        sleep 0.3
        sipp_bg "$f-$TR-uac" "$EXT" $CPORT "uac_$f.xml" "$EXT:15060" -mp 16000 \
            -s "${SVC:-service}" -key ruri "sip:${SVC:-service}@$EXT:15060" -m "$N" -r 10 \
            $UAC_OPTS "$@"
    else
        sipp_bg "$f-$TR-uas" "$EXT" $CPORT "uas_$f.xml" -mp 16000 -m "$N" \
            -key ruri x $UAS_OPTS "$@"
        sleep 0.3
        sipp_bg "$f-$TR-uac" "$LAN" $UPORT "uac_$f.xml" "$INT:15060" -mp 17000 \
            -s phone -key ruri "sip:phone@$EXT:$CPORT;transport=$TR" -m "$N" -r 10 \
            $UAC_OPTS "$@"
    fi
    sipp_wait "$f-$TR-uac"; a=$?
    sipp_wait "$f-$TR-uas"; b=$?
    flow_done "$f ($dir)" "$f" $a $b
    uac_log=$(ls -t "$T"/uac_"$f"_*_messages.log | head -n 1)
    uas_log=$(ls -t "$T"/"$(basename "${UAS_XML:-uas_$f.xml}" .xml)"_*_messages.log | head -n 1)
    if [ "$dir" = fwd ]; then set -- "$uac_log" "$uas_log"; else set -- "$uas_log" "$uac_log"; fi
    check "$f ($dir) over $TR: each party saw only the relay on its own side in SDP" \
        sdp_leak_ok "$1" "$2"
    mkdir -p "$T/done"; mv "$uac_log" "$uas_log" "$T/done/" 2>/dev/null
    UAC_OPTS=; UAS_OPTS=; SVC=; UAS_XML=
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
    flow_done "$f" "$f" $a $b
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
    flow late fwd
    flow late rev
    UAS_OPTS=-rtp_echo flow early fwd
    # The caller plays g711a.pcap (236 packets) from the 183 on: most of it
    # crosses before the 200, all of it through mediad, echoed back.
    pid=$(ls -t "$T"/done/uac_early_*_messages.log | head -n 1 | sed 's/.*uac_early_\([0-9]*\)_.*/\1/')
    full=$(grep -E "\[[0-9]+-$pid@" "$T/mediad.log" | grep -cE \
        "EXT in [2-9][0-9]{2} out [2-9][0-9]{2} dropped [0-9]+, INT in [2-9][0-9]{2} out [2-9][0-9]{2} ")
    check "early media over $TR: RTP both ways through mediad on $full of $N calls (>= 200 packets each way)" \
        [ "$full" -eq "$N" ]
    flow reinvite fwd
    flow reinvite rev
    flow update fwd
    flow prack fwd
    # Over TCP, Sofia 1.12.11 does not match the platform's 487 to the
    # INVITE it CANCELed; sigd takes it from the stray path (proxy.c
    # canceled_final()), ACKs it and relays it.
    flow cancel fwd
    # The callee retransmits its 200 until the ACK (UDP only: over TCP
    # nothing is retransmitted); sigd's INVITE transaction ended with the
    # first one, so the others pass statelessly, SDP rewritten as well.
    if [ $TR = udp ]; then
        UAS_XML=uas_echo.xml flow retx fwd
        got=$(grep -c "^SIP/2.0 200 OK" "$(ls -t "$T"/done/uac_retx_*_messages.log | head -n 1)")
        check "retx over $TR: the callee's 200 retransmissions reached the caller ($got 200s for $N calls)" \
            [ "$got" -ge $((3 * N)) ]
    fi
    for code in 302 404 486 603; do
        SVC=$code flow fail fwd
        got=$(grep -c "^SIP/2.0 $code " "$(ls -t "$T"/done/uac_fail_*_messages.log | head -n 1)")
        check "fail over $TR: the caller got the platform's $code ($got)" [ "$got" -ge "$N" ]
    done
    flow indialog fwd
    flow indialog rev
    sipp_bg "options-$TR-uac" "$EXT" $CPORT uac_options.xml "$EXT:15060" -m "$N"
    if sipp_wait "options-$TR-uac"; then ok "OPTIONS to sigd over $TR answered 200 with Allow"
    else not_ok "OPTIONS to sigd over $TR"; tail -n 5 "$T/options-$TR-uac.out" | sed 's/^/# /'; fi
    flow_terminated
done

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from mediad" clean_log mediad
finish
