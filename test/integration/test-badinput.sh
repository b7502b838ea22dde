#!/bin/sh
# Bad input everywhere a daemon reads it, and the service must go on:
#
# 1. Bad configuration: each daemon refuses to start, quickly, and names
#    the file, the line and the reason (sigd, mediad, turnd); --check on
#    the good configuration passes.
# 2. Malformed SIP on sigd's EXT port, over UDP and TCP, while a real call
#    (sipp UAC -> sigd -> sipp UAS, G.711 pcap echoed through mediad) is in
#    progress: garbage, NULs, missing mandatory headers, bad or lying
#    Content-Length, a 60-70 KB header line, a Via flood, broken SDP, BYE,
#    CANCEL and responses that match nothing. Each must get a 4xx (or 513)
#    or no answer at all: never a 2xx, never a forward, never a crash. An
#    in-dialog BYE for an unknown dialog must not be relayed to a host on
#    the internal side. The call must complete with all its RTP both ways.
# 3. Malformed and unwelcome frames on the control bus (python3-zmq DEALERs,
#    envelopes hand-encoded from proto/gw.proto): sigd logs and ignores
#    them, refuses a node claiming media1's name, keeps media1 live.
# 4. A fresh call still works; both daemons stop cleanly with no sanitizer
#    report.
#
# Helpers: badinput/sipfuzz.py (the SIP corpus), badinput/busfuzz.py (the
# bus corpus). Loopback only; every wait is bounded; only the processes
# this script started are signalled.
#
#   sh test/integration/test-badinput.sh
#   B=build/san sh test/integration/test-badinput.sh
. "$(dirname "$0")/lib.sh"

# A test network of our own (lib.sh's default is 127.0.10.x), so that this
# test can run next to the others; GW_TEST_NET moves it like the others.
BNET=${GW_TEST_NET:-127.0.61}
EXT=$BNET.1
INT=$BNET.2
LAN=$BNET.3
BUS=tcp://$BNET.1:17700
ATTACKER_UDP=$BNET.5
ATTACKER_TCP=$BNET.6

HERE=$(cd "$(dirname "$0")" && pwd)
SIPP_DIR=$(cd "$HERE/../sipp" && pwd)
PY=/usr/bin/python3   # Debian's, with python3-zmq; not the first on PATH
PKTS=236              # RTP packets in g711a.pcap
SAN_RE="ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:"

for tool in sipp timeout; do
    command -v $tool >/dev/null 2>&1 || { not_ok "setup: $tool not found"; finish; exit 1; }
done
if ! $PY -c 'import zmq' 2>/dev/null; then
    not_ok "setup: $PY cannot import zmq (Debian package python3-zmq)"
    finish; exit 1
fi

write_config

# ---- 1. bad configuration ---------------------------------------------------

# bad_config DAEMON FILE KEYWORD LINE... : DAEMON -c FILE must fail within
# 5 s, without crashing, and say "FILE:LINE:" (one of the LINEs) and KEYWORD.
bad_config() {
    d=$1; f=$2; kw=$3; shift 3
    timeout 5 "$BIN/$d" -c "$f" >"$f.out" 2>"$f.err"
    rc=$?
    where=no
    for n in "$@"; do
        grep -qF "$f:$n:" "$f.err" && where=yes
    done
    desc="$d refuses $(basename "$f") ($kw, line $*)"
    if [ $rc -eq 124 ]; then
        not_ok "$desc: still running after 5 s"
    elif [ $rc -eq 0 ] || [ $rc -ge 128 ]; then
        not_ok "$desc: exit status $rc"
    elif [ $where = no ] || ! grep -qF "$kw" "$f.err"; then
        not_ok "$desc: message lacks '$f:$*:' or '$kw'"
    elif grep -Eq "$SAN_RE" "$f.err"; then
        not_ok "$desc: sanitizer report on the error path"
    else
        ok "$desc: exit $rc, '$(head -n 1 "$f.err")'"
        return 0
    fi
    sed 's/^/# /' "$f.err" | head -n 20
    return 1
}
line_of() { grep -n "$1" "$2" | head -n 1 | cut -d: -f1; }
G=$T/gw.ini

f=$T/sigd-port.ini
sed 's/^ext_port = 15060$/ext_port = 99999/' "$G" >"$f"
bad_config sigd "$f" ext_port "$(line_of '^ext_port = 99999' "$f")"

f=$T/sigd-directive.ini
sed '/^\[sigd\]$/a frobnicate = yes' "$G" >"$f"
bad_config sigd "$f" frobnicate "$(line_of '^frobnicate' "$f")"

f=$T/sigd-section.ini
{ cat "$G"; printf '\n[sigdd]\next_port = 5060\n'; } >"$f"
# The section's line or its first directive's: both point the operator there.
bad_config sigd "$f" sigdd "$(line_of '^\[sigdd\]' "$f")" "$(line_of '^\[sigdd\]' "$f" | awk '{ print $1 + 1 }')"

f=$T/sigd-syntax.ini
sed '/^\[sigd\]$/a this line is not a directive' "$G" >"$f"
bad_config sigd "$f" syntax "$(line_of '^this line' "$f")"

f=$T/sigd-longline.ini
long=$(printf '%0250d' 0)
sed "/^\[sigd\]\$/a internal_target = sip:$long@127.0.10.3" "$G" >"$f"
bad_config sigd "$f" "longer than" "$(line_of "^internal_target = sip:0" "$f")"

f=$T/mediad-range.ini
sed 's/^rtp_range = .*/rtp_range = 20000-10000/' "$G" >"$f"
bad_config mediad "$f" rtp_range "$(line_of '^rtp_range = 20000' "$f")"

f=$T/mediad-directive.ini
sed '/^\[mediad\]$/a rtp_rnage = 20000-30000' "$G" >"$f"
bad_config mediad "$f" rtp_rnage "$(line_of '^rtp_rnage' "$f")"

f=$T/turnd-addr.ini
sed 's/^listen_addr = .*/listen_addr = 127.0.10.300/' "$G" >"$f"
bad_config turnd "$f" listen_addr "$(line_of '^listen_addr = 127.0.10.300' "$f")"

f=$T/turnd-hostname.ini
sed 's/^listen_addr = .*/listen_addr = turn.example.com/' "$G" >"$f"
bad_config turnd "$f" listen_addr "$(line_of '^listen_addr = turn' "$f")"

for d in sigd mediad turnd; do
    timeout 5 "$BIN/$d" -c "$G" --check >"$T/check-$d.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q "configuration OK" "$T/check-$d.out"; then
        ok "$d --check accepts the good configuration"
    else
        not_ok "$d --check on the good configuration: exit $rc"
        sed 's/^/# /' "$T/check-$d.out" | head -n 20
    fi
done

# ---- 2. malformed SIP during a call ----------------------------------------

start_daemon sigd "$BIN/sigd" -c "$G"
start_daemon mediad "$BIN/mediad" -c "$G"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

# sipp's own files go to $T/sipp, away from the daemon logs that lib.sh
# shows on failure (they hold the 60 KB messages).
mkdir -p "$T/sipp"
start_uas() {
    (cd "$T/sipp" && exec sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p 15080 \
        -mi "$LAN" -mp 17000 -rtp_echo -t u1 -nostdin -trace_err -trace_msg \
        -timeout 60s >"$T/uas-$1.out" 2>&1) &
    uas=$!
    PIDS="$PIDS $uas"
    sleep 0.5
}
start_uas 1

# One call of ~7.5 s (uac_pcap.xml: 4.7 s of RTP, BYE at 7.5 s).
uac_call() { # NAME
    cd "$T/sipp" && exec timeout 40 sipp "$EXT:15060" -sf "$SIPP_DIR/uac_pcap.xml" \
        -i "$EXT" -p 15090 -mi "$EXT" -mp 16000 -t u1 -s service -m 1 -l 1 \
        -nostdin -trace_err >"$T/uac-$1.out" 2>&1
}
# The mediad summary of the Nth call that is not one of ours.
call_stats() { # N
    grep "stream 0 ended" "$T/mediad.log" | grep -v "badinput-" | sed -n "${1}p"
}
check_rtp() { # N description
    wait_until 5 sh -c "grep 'stream 0 ended' '$T/mediad.log' | grep -v badinput- | sed -n '$1p' | grep -q ."
    s=$(call_stats "$1")
    if echo "$s" | grep -q "EXT in $PKTS out $PKTS dropped 0, INT in $PKTS out $PKTS dropped 0"; then
        ok "$2: RTP crossed mediad both ways ($PKTS packets each way)"
    else
        not_ok "$2: RTP both ways: got '${s:-no stream summary}'"
    fi
}

(uac_call during) &
uac=$!
PIDS="$PIDS $uac"
check "the call is set up before the storm" wait_until 5 sh -c \
    "grep -v badinput- '$T/sigd.log' | grep -q \"media on 'media1'\""
sleep 0.5

timeout 30 $PY "$HERE/badinput/sipfuzz.py" udp "$EXT" 15060 0.5 \
    "$ATTACKER_UDP" "$LAN:15098" >"$T/storm-udp.out" 2>&1 &
su=$!
timeout 30 $PY "$HERE/badinput/sipfuzz.py" tcp "$EXT" 15060 0.5 \
    "$ATTACKER_TCP" "$LAN:15099" >"$T/storm-tcp.out" 2>&1 &
st=$!
PIDS="$PIDS $su $st"
wait $su; rc_su=$?
wait $st; rc_st=$?
PIDS=$(echo "$PIDS" | sed "s/ $su\b//; s/ $st\b//")

# judge STATUSES : 0 if the outcome is acceptable; prints what happened.
judge() {
    case $1 in
    none) echo "no answer (dropped)"; return 0 ;;
    garbage|error:*) echo "$1"; return 1 ;;
    esac
    final=""; bad=""
    for c in $(echo "$1" | tr ',' ' '); do
        [ "$c" -ge 200 ] || continue
        final=$c
        if { [ "$c" -lt 400 ] || [ "$c" -gt 499 ]; } && [ "$c" -ne 513 ]; then
            bad=$c
        fi
    done
    if [ -z "$final" ]; then
        echo "only $1: taken in and forwarded"; return 1
    elif [ -n "$bad" ]; then
        echo "got $1"; return 1
    fi
    echo "answered $final"
}

for tr in udp tcp; do
    out=$T/storm-$tr.out
    [ $tr = udp ] && rc=$rc_su || rc=$rc_st
    n=$(grep -c '^case ' "$out")
    check "$tr storm: the whole corpus was sent (17 cases, got $n; exit $rc)" \
        [ "$n" -eq 17 -a "$rc" -eq 0 ]
    [ "$n" -eq 17 -a "$rc" -eq 0 ] || sed 's/^/# /' "$out" | head -n 20
    while read -r _ name codes relayed; do
        v=$(judge "$codes"); good=$?
        [ $tr = udp ] && probe=15098 || probe=15099
        if [ -n "$relayed" ]; then
            not_ok "$tr $name: $v, and relayed to $LAN:$probe (internal side)"
        elif [ $good -eq 0 ]; then
            ok "$tr $name: $v"
        else
            not_ok "$tr $name: $v (want a 4xx or 513, or no answer)"
        fi
    done <"$out"
done

check "sigd survived the SIP storm" alive sigd
wait $uac; rc=$?
PIDS=$(echo "$PIDS" | sed "s/ $uac\b//")
if [ $rc -eq 0 ]; then
    ok "the call in progress during the storm completed (sipp exit 0)"
else
    not_ok "the call in progress during the storm: sipp exit $rc (see uac-during.out)"
    tail -n 20 "$T/uac-during.out" | sed 's/^/# /'
fi
check_rtp 1 "the call during the storm"
# The platform is a peer, not under test; but if sigd let the storm through
# to it and it fell over, say so, and give the fresh call a new one.
if kill -0 "$uas" 2>/dev/null; then
    ok "the platform (sipp UAS) is still up after the storm"
else
    wait "$uas"; rc=$?
    PIDS=$(echo "$PIDS" | sed "s/ $uas\b//")
    not_ok "the platform (sipp UAS) died during the storm (exit $rc): it gets only what sigd forwards"
    start_uas 2
fi
check "sigd alive after the SIP storm and the call" alive sigd
check "mediad alive after the SIP storm and the call" alive mediad
check "gwctl nodes still answers, media1 live" sh -c \
    "timeout 5 '$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

# ---- 3. malformed bus frames --------------------------------------------------

bad0=$(grep -c "bus: malformed frame .* from 'fuzzer' ignored" "$T/sigd.log")
timeout 20 $PY "$HERE/badinput/busfuzz.py" "$BUS" >"$T/busfuzz.out" 2>&1
rc=$?
check "bus fuzzer ran to the end (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$T/busfuzz.out" | tail -n 20
sleep 0.3
bad=$(($(grep -c "bus: malformed frame .* from 'fuzzer' ignored" "$T/sigd.log") - bad0))
check "sigd logged the 7 undecodable frames as malformed (got $bad)" [ "$bad" -eq 7 ]
check "sigd logged the multi-frame message as badly framed" \
    grep -q "bus: badly framed message from 'fuzzer' ignored" "$T/sigd.log"
check "sigd logged the frame from a binary routing id, printably" \
    grep -q "bus: malformed frame (64 bytes) from 'fz???' ignored" "$T/sigd.log"
check "sigd answered an envelope without a body with ENOTSUP" \
    grep -q "^reply fuzzer body=31 status=7" "$T/busfuzz.out"
check "sigd answered a heartbeat from an unknown node with ENOENT" \
    grep -q "^reply fuzzer body=31 status=2" "$T/busfuzz.out"
check "sigd refused the impostor registering as media1 (EINVAL)" sh -c \
    "grep -q \"register from 'media1-impostor' names node 'media1': refused\" '$T/sigd.log' &&
     grep -q '^reply media1-impostor body=31 status=1' '$T/busfuzz.out'"
check "sigd survived the bus fuzzer" alive sigd
timeout 5 "$BIN/gwctl" -b "$BUS" nodes >"$T/nodes.out" 2>&1
n=$(grep -c '^node ' "$T/nodes.out")
if [ "$n" -eq 1 ] && grep -q '^node media1 role=media state=live' "$T/nodes.out"; then
    ok "gwctl nodes lists media1 live and no other node"
else
    not_ok "gwctl nodes after the bus fuzzer: want media1 live, alone"
    sed 's/^/# /' "$T/nodes.out"
fi
n=$(grep -c "registered with sigd" "$T/mediad.log")
check "media1 kept its registration (registered once, got $n)" [ "$n" -eq 1 ]

# ---- 4. a fresh call, then a clean stop -----------------------------------------

if (uac_call after); then
    ok "a fresh call after the storm succeeded (sipp exit 0)"
else
    not_ok "a fresh call after the storm failed (see uac-after.out)"
    tail -n 20 "$T/uac-after.out" | sed 's/^/# /'
fi
check_rtp 2 "the fresh call"
check "gwctl nodes: media1 still live at the end" sh -c \
    "timeout 5 '$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

kill "$uas" 2>/dev/null
wait "$uas" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $uas\b//")
check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from mediad" clean_log mediad
finish
