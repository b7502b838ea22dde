#!/bin/sh
# Forking (RFC 3261 16.7) through sigd: the platform behind the one INVITE
# forks (forkpeer.py: two branches, each an early dialog with its own To
# tag, SDP and RTP socket, then a 200 from each), the caller is a sipp UAC
# on EXT playing the G.711 pcap from the first 180 on.
#  - answer: the caller sees both 180s (distinct To tags) and exactly one
#    200 (branch B's, the first); sigd ACKs and BYEs branch A's 200 itself
#    (and the BYE gets its 200); early media goes to the latest early
#    dialog (A, then B), after the 200s only to B; RTP crosses mediad both
#    ways; no call or session is left. Three times: A's 200 right behind
#    B's (B's waits for the node), 0.5 s later and twice (past the
#    transaction: each copy ACKed, one BYE), and B ringing first and
#    answering without SDP (the node gets B's early answer back).
#  - cancel: the caller CANCELs while both branches ring: 200 for the
#    CANCEL and 487 for the INVITE; the platform saw the CANCEL and got
#    the ACK for its 487.
#  - prack: both 180s reliable; each PRACK (to sigd's Contact, the call
#    being hidden) reaches the early dialog its To tag names.
#  - agents: the platform forks itself towards two agents on EXT (two
#    INVITEs of one Call-ID through sigd); one answers, the platform
#    CANCELs the other, the call and its media go on; or both answer (the
#    second is ACKed and BYEd by sigd, its branch gets 480); or the
#    platform CANCELs both (each agent sees its CANCEL, the call ends
#    with the last branch).
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
PEER=$(cd "$(dirname "$0")" && pwd)/forkpeer.py
PKTS=236    # RTP packets in g711a.pcap

write_config
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

# call_platform MODE [PEER-ARGS...] -- SIPP-ARGS... : forkpeer.py in MODE
# on the LAN, the caller (sipp on EXT with SIPP-ARGS) through sigd; waits
# for both. Sets rc (sipp's exit) and res (the platform's findings).
call_platform() {
    mode=$1; shift
    pargs=""
    while [ "$1" != "--" ]; do pargs="$pargs $1"; shift; done
    shift
    /usr/bin/python3 "$PEER" "$mode" "$LAN:15080" 17000 17002 15 $pargs \
        >"$T/peer-$mode.out" 2>&1 &
    peer=$!
    PIDS="$PIDS $peer"
    sleep 0.3
    (cd "$T" && timeout 40 sipp "$EXT:15060" -i "$EXT" -mi "$EXT" -t u1 -s service -m 1 \
        -nostdin -trace_err "$@" >"$T/uac-$mode.out" 2>&1)
    rc=$?
    wait "$peer" 2>/dev/null
    PIDS=$(echo "$PIDS" | sed "s/ $peer\b//")
    res=$(cat "$T/peer-$mode.out")
    echo "# platform: $res"
}

# ---- answer: two 180s, two 200s -------------------------------------------
# run_answer GAP WHAT: GAP 0 = A's 200 right behind B's, while B's waits
# for the node in sigd's transaction; GAP 0.5 = after the transaction
# ended (the stray path), and twice: each copy ACKed, one BYE.
run_answer() {
    gap=$1; what=$2; port=$3; nth=$4   # nth: the run (sessions ended so far)
    nosdp=$5                           # "nosdp": B rings first, answers without SDP
    rm -f "$T"/uac_fork_*_messages.log
    call_platform answer "$gap" $nosdp -- -sf "$SIPP_DIR/uac_fork.xml" -p "$port" \
        -mp 16000 -trace_msg
    check "$what: the caller's scenario completed (sipp exit $rc)" [ "$rc" -eq 0 ]
    # What the caller received: the To tags of its 180s and its 200s to the
    # INVITE (sipp's message log, one block per message).
    uac_log=$(ls -t "$T"/uac_fork_*_messages.log | head -n 1)
    /usr/bin/python3 - "$uac_log" >"$T/uac-fork.seen" <<'EOPY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
t180, n200 = [], 0
for blk in re.split(r"\n-{20,}[^\n]*\n", text):
    if "message received" not in blk:
        continue
    m = re.search(r"^SIP/2\.0 (\d+)", blk, re.M)
    cseq = re.search(r"^CSeq:\s*\d+\s+(\w+)", blk, re.M | re.I)
    to = re.search(r"^To:.*;tag=([^;\s>]+)", blk, re.M | re.I)
    if not m or not cseq or cseq.group(1) != "INVITE":
        continue
    if m.group(1) == "180" and to:
        t180.append(to.group(1))
    if m.group(1) == "200":
        n200 += 1
print("n180 %d distinct %d n200 %d" % (len(t180), len(set(t180)), n200))
EOPY
    seen=$(cat "$T/uac-fork.seen")
    check "$what: caller got two 180s with distinct To tags and exactly one 200 ($seen)" \
        [ "$seen" = "n180 2 distinct 2 n200 1" ]
    acks=$(echo "$res" | sed -n 's/.* acks A=\([0-9]*\) B=\([0-9]*\).*/\1 \2/p')
    byes=$(echo "$res" | sed -n 's/.*byes A=\([0-9]*\) B=\([0-9]*\).*/\1 \2/p')
    set -- $acks
    copies=1; [ "$gap" = 0 ] || copies=2
    check "$what: the answered branch B got the caller's ACK, each copy of the extra branch A's 200 sigd's ACK (A=${1:-?} of $copies, B=${2:-?})" \
        [ "${1:-0}" -eq "$copies" -a "${2:-0}" -ge 1 ]
    set -- $byes
    check "$what: the extra branch A got one BYE from sigd, B the caller's BYE at the end (A=${1:-?} B=${2:-?})" \
        [ "${1:-0}" -eq 1 -a "${2:-0}" -eq 1 ]
    check "$what: sigd logged the extra branch's BYE answered 200" \
        [ "$(grep -c "BYE to the extra branch on INT answered 200" "$T/sigd.log")" -eq "$nth" ]
    rtp=$(echo "$res" | sed -n 's/.*rtp early A=\([0-9]*\) B=\([0-9]*\) answered A=\([0-9]*\) B=\([0-9]*\).*/\1 \2 \3 \4/p')
    set -- $rtp
    check "$what: early media reached both branches, the latest early dialog each time (A=${1:-?} B=${2:-?})" \
        [ "${1:-0}" -gt 0 -a "${2:-0}" -gt 0 ]
    check "$what: after the 200s media went to the answered branch B only (A=${3:-?} B=${4:-?})" \
        [ "${3:-1}" -eq 0 -a "${4:-0}" -gt 0 ]
    wait_until 5 sh -c "[ \$(grep -c 'stream 0 ended' '$T/mediad.log') -ge $nth ]"
    ended=$(grep "stream 0 ended" "$T/mediad.log" | tail -n 1)
    ext_in=$(echo "$ended" | sed -n 's/.*EXT in \([0-9]*\) out \([0-9]*\).*/\1 \2/p')
    int_in=$(echo "$ended" | sed -n 's/.*INT in \([0-9]*\) out \([0-9]*\).*/\1 \2/p')
    set -- $ext_in $int_in
    # EXT in: the caller's packets; INT out: all of them to a branch (the
    # first may beat the early answer to the node: a 180 is not held for it);
    # INT in and EXT out: the branches' echoes back to the caller (a few of
    # A's may be dropped in flight when B takes over).
    check "$what: RTP crossed mediad both ways (EXT in ${1:-?} out ${2:-?}, INT in ${3:-?} out ${4:-?})" \
        [ "${1:-0}" -eq $PKTS -a "${4:-0}" -ge $((PKTS - 2)) -a "${2:-0}" -ge $((PKTS - 10)) -a \
          "${3:-0}" -ge $((PKTS - 10)) ]
}

run_answer 0 "forked call, both 200s at once" 15090 1
run_answer 0.5 "forked call, extra 200 after the transaction" 15092 2
# B rings first, then A (whose early answer the node then has); B answers
# without SDP (its answer was in its 180): the media goes back to B.
run_answer 0 "forked call, 200 without SDP from the earlier early dialog" 15094 3 nosdp

# ---- cancel: both branches ring, the caller gives up ----------------------
call_platform cancel -- -sf "$SIPP_DIR/uac_fork_cancel.xml" -p 15091 -mp 16010 \
    -key ruri "sip:service@$EXT:15060"
check "CANCEL of a forked call: caller got 200 for the CANCEL and 487 (sipp exit $rc)" \
    [ "$rc" -eq 0 ]
check "the forking platform got the CANCEL and the ACK of its 487 ($res)" \
    sh -c "echo '$res' | grep -q 'cancels 1 ack487 [1-9]'"

# ---- PRACK in each early dialog ---------------------------------------------
# Both 180s reliable; the caller PRACKs the first one after the second came:
# with the topology hidden its PRACK goes to sigd's Contact, and must
# reach the branch its To tag names, not the latest early dialog.
call_platform prack -- -sf "$SIPP_DIR/uac_fork_prack.xml" -p 15093 -mp 16020 \
    -key ruri "sip:service@$EXT:15060"
check "PRACK to both early dialogs of a forked call, then CANCEL (sipp exit $rc)" [ "$rc" -eq 0 ]
check "each PRACK reached the early dialog its To tag names ($(echo "$res" | grep -o 'pracks.*misrouted [0-9]*'))" \
    sh -c "echo '$res' | grep -q 'pracks A=1 B=1 misrouted 0'"

# ---- the platform forks towards two of our agents ----------------------------
# Two INVITEs, one Call-ID, one to each agent on EXT: both ring, agent 1
# answers, the platform CANCELs agent 2 (which answers 487); the call
# goes on (the failed branch does not end it), media flows both ways.
/usr/bin/python3 "$PEER" agents "$LAN:15080" "$INT:15060" "$NET.5" "$NET.6" 15 \
    >"$T/peer-agents.out" 2>&1
res=$(cat "$T/peer-agents.out")
echo "# $res"
num() { echo "$res" | tr ' ' '\n' | grep -A1 -x "$1" | tail -n 1; }
check "two INVITEs of one Call-ID: the platform saw both agents ring ($(num p180) 180s, $(num tags) To tags) and one 200" \
    [ "$(num p180)" -ge 2 -a "$(num tags)" = 2 -a "$(num p200)" -ge 1 ]
check "the agent that answered got the ACK and, at the end, the BYE (ack $(num a1ack), bye $(num a1bye), BYE answered $(num pbye200))" \
    [ "$(num a1ack)" -ge 1 -a "$(num a1bye)" = 1 -a "$(num pbye200)" = 1 ]
check "the platform's CANCEL reached the other agent, which answered 487 and got the ACK (cancel $(num a2cancel), 200 $(num pcancel200), 487 $(num p487), ack $(num a2ack))" \
    [ "$(num a2cancel)" = 1 -a "$(num pcancel200)" = 1 -a "$(num p487)" -ge 1 -a "$(num a2ack)" -ge 1 ]
# (the platform's first packets may come before agent 1's latched the
# EXT leg: symmetric RTP towards the internet)
check "the call went on after the CANCELed branch: RTP both ways ($(num sent) sent each way, $(num a1rtp) at agent 1, $(num prtp) at the platform)" \
    [ "$(num sent)" = 100 -a "$(num a1rtp)" -ge 90 -a "$(num prtp)" -ge 95 ]

# Both agents answer, agent 2 right behind agent 1 (before the platform's
# CANCEL can reach it): the platform gets agent 1's 200 only and a 480 for
# agent 2's branch; sigd ACKs and BYEs agent 2; the call goes on.
/usr/bin/python3 "$PEER" agents "$LAN:15080" "$INT:15060" "$NET.5" "$NET.6" 15 both \
    >"$T/peer-agents2.out" 2>&1
res=$(cat "$T/peer-agents2.out")
echo "# $res"
check "both agents answered: the platform got agent 1's 200 only, 480 for agent 2's branch ($(num p200) / $(num p200other) 200s, $(num p480) 480)" \
    [ "$(num p200)" -ge 1 -a "$(num p200other)" = 0 -a "$(num p480)" = 1 ]
check "both agents answered: sigd ACKed and BYEd agent 2 (ack $(num a2ack), bye $(num a2bye))" \
    [ "$(num a2ack)" -ge 1 -a "$(num a2bye)" = 1 ]
check "both agents answered: agent 1's call went on, RTP both ways ($(num a1rtp) at agent 1, $(num prtp) at the platform, BYE answered $(num pbye200))" \
    [ "$(num a1rtp)" -ge 90 -a "$(num prtp)" -ge 95 -a "$(num pbye200)" = 1 ]

# The platform's caller gives up while both agents ring: the platform
# CANCELs both branches; each CANCEL reaches its own agent, each branch
# gets 200 and 487; the call ends with the last branch (checked below).
/usr/bin/python3 "$PEER" agents "$LAN:15080" "$INT:15060" "$NET.5" "$NET.6" 15 cancelall \
    >"$T/peer-agents3.out" 2>&1
res=$(cat "$T/peer-agents3.out")
echo "# $res"
check "both branches CANCELed by the platform: each agent saw its CANCEL ($(num a1cancel), $(num a2cancel)), the platform got 2 x 200 ($(num pcancel200)) and 2 x 487 ($(num p487)), no 200 for the INVITE ($(num p200))" \
    [ "$(num a1cancel)" = 1 -a "$(num a2cancel)" = 1 -a "$(num pcancel200)" = 2 -a \
      "$(num p487)" = 2 -a "$(num p200)" = 0 ]
ends_ok() {
    grep -q "\[fork2-[^]]*\] a branch of the call ended (call failed); the call goes on (another branch rings)" "$T/sigd.log" &&
    [ "$(grep -c "\[fork2-[^]]*\] call ended: call failed" "$T/sigd.log")" = 1 ]
}
check "both branches CANCELed: the first 487 left the call to the other branch, the second ended it" \
    ends_ok

# ---- nothing left -----------------------------------------------------------
wait_until 5 sh -c "[ \"\$(gwctl_field media1 sessions)\" = 0 ]" 2>/dev/null
sessions=$(gwctl_field media1 sessions)
check "mediad reports 0 sessions afterwards (got '$sessions')" [ "$sessions" = 0 ]
calls=$("$BIN/gwctl" -b "$BUS" nodes | awk '$1 == "calls" { print $2 }')
check "sigd holds 0 calls afterwards (got '$calls')" [ "$calls" = 0 ]

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from mediad" clean_log mediad
finish
