#!/bin/sh
# Media nodes that come and go, with calls in flight (sipp UAC on EXT, sipp
# UAS echo as the platform on INT; two mediad on the same host, disjoint
# ranges):
#   late join   a second mediad started during the run takes new calls
#   drain       gwctl drain: no new calls on it, its calls finish, then it
#               has no session left; undrain brings it back
#   kill -9     the node is dead within 3 heartbeats, calls placed right
#               after the kill go to the other node, the calls it carried
#               get a BYE on both sides (sipp scenarios expect it)
#   restart     the same name with a new epoch: its old calls are ended
#   lost reply  a stopped (SIGSTOP) node does not answer: the offer is
#               retried on the other node; when it wakes up after being
#               declared dead it registers again, empty
#   sigd restart  nodes re-register without being restarted (same epoch)
# and at the end: no call left in sigd, no session or port on any node.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
write_config
sed -i "s/^log_level = debug/log_level = debug\nmedia_deadline_ms = 600/" "$T/gw.ini"
CTL="$BIN/gwctl -b $BUS"
M2="-s mediad.name=media2 -s mediad.rtp_range=33000-33999 -s mediad.delay_stats=no"

n_on() { grep -c "media on '$1'" "$T/sigd.log"; }
state() { gwctl_field "$1" state; }
epoch() { gwctl_field "$1" epoch; }
live() { [ "$(state "$1")" = live ]; }
cport=15090
# calls SCENARIO N [RATE] : sipp UAC, foreground, bounded; returns sipp's status
calls() {
    cport=$((cport + 1))
    run_uac "$@"
}
run_uac() {
    (cd "$T" && timeout 60 sipp "$EXT:15060" -sf "$SIPP_DIR/$1" -i "$EXT" -p $cport \
        -mi "$EXT" -mp $((16000 + (cport - 15090) * 100)) -s service -m "$2" -r "${3:-5}" \
        -l "$2" -nostdin -trace_err -timeout 50s >"$T/uac-$cport.out" 2>&1)
}
# calls_bg NAME SCENARIO N [RATE] : the same in the background
calls_bg() {
    name=$1; shift
    cport=$((cport + 1))
    run_uac "$@" &
    echo $! >"$T/$name.pid"
    PIDS="$PIDS $(cat "$T/$name.pid")"
}
wait_bg() { pid=$(cat "$T/$1.pid"); wait "$pid"; rc=$?; PIDS=$(echo "$PIDS" | sed "s/ $pid\b//"); return $rc; }

start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon media1 "$BIN/mediad" -c "$T/gw.ini" -s mediad.delay_sample=1
(cd "$T" && exec sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p 15080 -mi "$LAN" -mp 17000 \
    -rtp_echo -nostdin -timeout 300s >"$T/uas.out" 2>&1) &
PIDS="$PIDS $!"
check "media1 registers" wait_until 10 live media1

# ---- late join
start_daemon media2 "$BIN/mediad" -c "$T/gw.ini" $M2
check "media2, started during the run, registers" wait_until 10 live media2
a1=$(n_on media1); a2=$(n_on media2)
calls uac_pcap.xml 6 6
rc=$?
d1=$(( $(n_on media1) - a1 )); d2=$(( $(n_on media2) - a2 ))
check "6 calls succeed with two nodes (sipp $rc)" [ $rc -eq 0 ]
check "the late node takes new calls: media1 $d1, media2 $d2 (least loaded)" \
    [ "$d2" -ge 2 -a "$d1" -ge 2 ]

# ---- drain with calls in flight
a2=$(n_on media2)
calls_bg early uac_pcap.xml 4 10
check "calls in flight on media2 before the drain" wait_until 5 sh -c "[ \$(grep -c \"media on 'media2'\" '$T/sigd.log') -gt $a2 ]"
out=$($CTL drain media2)
check "gwctl drain media2 answers ($out)" [ $? -eq 0 ]
check "media2 is draining (state and drain flag)" \
    sh -c "[ \"\$(gwctl_field media2 state)\" = draining ] 2>/dev/null || $CTL nodes | grep -q '^node media2 .*state=draining.*drain=yes'"
b2=$(n_on media2)
calls uac_pcap.xml 4 10
rc=$?
check "4 calls during the drain succeed (sipp $rc) and none went to media2 ($(( $(n_on media2) - b2 )))" \
    [ $rc -eq 0 -a "$(n_on media2)" -eq "$b2" ]
wait_bg early
check "the calls already on media2 finished normally (sipp $?)" [ $? -eq 0 ]
check "the drained node is left with no session" wait_until 5 sh -c \
    "$CTL nodes | grep -q '^node media2 .*sessions=0 ports=0'"
check "gwctl undrain media2" $CTL undrain media2
check "media2 is live again" wait_until 3 live media2

# ---- kill -9 with calls in flight
$CTL drain media2 >/dev/null
a1=$(n_on media1)
calls_bg doomed uac_terminated.xml 4 20
check "4 calls up on media1" wait_until 10 sh -c "[ \$(grep -c \"media on 'media1'\" '$T/sigd.log') -ge $((a1 + 4)) ]"
# gwctl with calls in flight: the call table, one call, the plan, the rules.
$CTL sessions >"$T/sessions.out"
n=$(grep -c "^session .* node=media1 media=yes stream=0 ext=$EXT:30[0-9]* int=$INT:30[0-9]*" "$T/sessions.out")
check "gwctl sessions lists the 4 calls on media1 with their relay ports ($n)" [ "$n" -eq 4 ]
cid=$(awk '$1 == "session" { print $2; exit }' "$T/sessions.out")
$CTL session "$cid" >"$T/session.out"
check "gwctl session CALLID shows the call's two legs from the node" \
    sh -c "grep -q '^  leg ext remote=$EXT:' '$T/session.out' && grep -q '^  leg int ' '$T/session.out'"
$CTL plan >"$T/plan.out"
check "gwctl plan lists sigd's listeners and both nodes' ranges" sh -c \
    "grep -q '^sigd sip ext $EXT:15060 udp+tcp' '$T/plan.out' &&
     grep -q '^media1 rtp ext $EXT 30000-30999 udp' '$T/plan.out' &&
     grep -q '^media2 rtp int $INT 33000-33999 udp' '$T/plan.out'"
$CTL firewall -p 198.51.100.10 >"$T/fw.nft"
check "gwctl firewall: DNAT of each media range to its node" sh -c \
    "grep -q 'ip daddr 198.51.100.10 udp dport 30000-30999 dnat to $EXT' '$T/fw.nft' &&
     grep -q 'ip daddr 198.51.100.10 udp dport 33000-33999 dnat to $EXT' '$T/fw.nft'"
check "gwctl firewall output is a valid nftables ruleset (nft -c)" nft -c -f "$T/fw.nft"

$CTL undrain media2 >/dev/null
sleep 0.5
kill -KILL "$(pid_of media1)"
t0=$(date +%s%N)
a2=$(n_on media2)
calls uac_pcap.xml 2 10
rc=$?
check "2 calls placed right after the kill succeed on media2 (sipp $rc, $(( $(n_on media2) - a2 )) on media2)" \
    [ $rc -eq 0 -a $(( $(n_on media2) - a2 )) -eq 2 ]
wait_until 10 sh -c "$CTL nodes | grep -q '^node media1 .*state=dead'"
check "media1 declared dead" grep -q "node 'media1' missed 3 heartbeats: dead" "$T/sigd.log"
wait_bg doomed
check "the 4 calls on the dead node got a BYE on both sides (caller sipp $?)" [ $? -eq 0 ]
check "sigd logged the 4 terminated calls" grep -q "node 'media1' lost (media node dead): 4 call(s) terminated" "$T/sigd.log"
dead_ms=$(awk '/missed 3 heartbeats/ {print; exit}' "$T/sigd.log" | cut -c1-12)
echo "# media1 killed; declared dead at $dead_ms"

# ---- restart under a new epoch while sigd still holds its calls
start_daemon media1 "$BIN/mediad" -c "$T/gw.ini" -s mediad.delay_sample=1
check "media1 restarted and registered" wait_until 10 live media1
$CTL drain media2 >/dev/null
a1=$(n_on media1)
calls_bg doomed2 uac_terminated.xml 2 20
check "2 calls up on the new media1" wait_until 10 sh -c "[ \$(grep -c \"media on 'media1'\" '$T/sigd.log') -ge $((a1 + 2)) ]"
kill -KILL "$(pid_of media1)"
start_daemon media1 "$BIN/mediad" -c "$T/gw.ini" -s mediad.delay_sample=1
wait_bg doomed2
check "a node back under a new epoch has its old calls ended (caller sipp $?)" [ $? -eq 0 ]
check "sigd logged the restart and the 2 ended calls" \
    grep -q "node 'media1' lost (media node restarted): 2 call(s) terminated" "$T/sigd.log"
check "the restarted media1 is live" wait_until 10 live media1
$CTL undrain media2 >/dev/null

# ---- a node that does not answer: the offer moves to the other node
stop_daemon media2
start_daemon media2 "$BIN/mediad" -c "$T/gw.ini" $M2 -s mediad.weight=1
wait_until 10 live media2
kill -STOP "$(pid_of media1)"
a2=$(n_on media2)
calls uac_pcap.xml 1 1
rc=$?
check "a call whose offer got no reply from media1 succeeds on media2 (sipp $rc)" \
    [ $rc -eq 0 -a "$(n_on media2)" -gt "$a2" ]
check "sigd logged the lost reply and the retry" \
    grep -q "media node 'media1' failed; trying another" "$T/sigd.log"
wait_until 10 sh -c "$CTL nodes | grep -q '^node media1 .*state=dead'"
e1=$(epoch media1)
kill -CONT "$(pid_of media1)"
check "media1, declared dead while stopped, registers again when it wakes" \
    wait_until 10 live media1
check "... under the same epoch (no restart)" [ "$(epoch media1)" = "$e1" ]
check "... and the session its late answer made was deleted (offer timed out)" \
    wait_until 5 grep -q "ended (offer timed out)" "$T/media1.log"

# ---- sigd restart: the nodes come back by themselves
e1=$(epoch media1); e2=$(epoch media2)
check "sigd stops cleanly" stop_daemon sigd
mv "$T/sigd.log" "$T/sigd-1.log"
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
both_live() { live media1 && live media2; }
check "after a sigd restart both nodes re-register" wait_until 10 both_live
check "... without restarting (epochs unchanged)" [ "$(epoch media1)" = "$e1" -a "$(epoch media2)" = "$e2" ]
calls uac_pcap.xml 2 10
check "calls work after the sigd restart (sipp $?)" [ $? -eq 0 ]

# ---- nothing left behind
check "sigd holds no call" wait_until 5 sh -c "$CTL nodes | grep -qx 'calls 0'"
for n in media1 media2; do
    check "$n: no session, no port left" wait_until 5 sh -c \
        "$CTL nodes | grep -q '^node $n .*sessions=0 ports=0'"
done
# Relay delay figures: media1 (delay_stats on, the default, for every
# session: delay_sample = 1) has one per packet it relayed (once at rest); media2 (delay_stats = no) has none, and
# its heartbeats without a histogram do sigd no harm.
delay_all() { [ "$(gwctl_field media1 delay_n)" = "$(gwctl_field media1 relayed)" ]; }
check "media1: a relay delay for each of its $(gwctl_field media1 relayed) relayed packets" \
    wait_until 5 delay_all
r2=$(gwctl_field media2 relayed); d2=$(gwctl_field media2 delay_n)
check "media2 (delay_stats = no) relayed ${r2:-?} packets and reports no delay ('$d2')" \
    [ "${r2:-0}" -gt 0 -a -z "$d2" ]
check "sigd stops cleanly" stop_daemon sigd
check "media1 stops cleanly" stop_daemon media1
check "media2 stops cleanly" stop_daemon media2
for d in sigd sigd-1 media1 media2; do check "no sanitizer report from $d" clean_log $d; done
finish
