#!/bin/sh
# The DMZ lab as an integration suite (deploy/lab/lab.sh): namespaces for
# the internet, the perimeter, sigd, two media nodes, a TURN node and the
# internal LAN; EXT and INT subnets that do not route to each other; one
# public address in front, with the perimeter DNAT/SNAT rules taken from
# `gwctl firewall`. The bus runs CURVE over INT (it is not loopback).
#
# Checks: calls internet -> lan and lan -> internet with RTP both ways
# through the relays; a second media node joining during the run (rules
# regenerated) takes calls; drain; kill -9 of a media node with calls in
# flight (BYE both sides, new calls on the other node at once); a node
# with an unknown CURVE key refused; nothing left behind. Fails loudly if
# namespaces cannot be created.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../deploy/lab/lab.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
ID=$$
PKTS=236
K=$T/keys
trap 'cleanup; lab_down $ID' EXIT

if [ "$(id -u)" -ne 0 ] || ! lab_up $ID 2>"$T/lab-up.err"; then
    not_ok "the lab needs network namespaces (root): $(cat "$T/lab-up.err" 2>/dev/null)"
    finish
    exit 1
fi
ok "lab namespaces up (gw$ID-*)"

# ---- the network itself
check "lan has no route to EXT" sh -c "! ip -n $(lab_ns $ID lan) route get $LAB_M1_EXT >/dev/null 2>&1"
check "lan has no route to the internet" sh -c "! ip -n $(lab_ns $ID lan) route get $LAB_INET >/dev/null 2>&1"
check "the internet has no route to INT" sh -c "! ip -n $(lab_ns $ID inet) route get $LAB_SIG_INT >/dev/null 2>&1"
check "DMZ hosts do not forward between EXT and INT" sh -c \
    "for h in sig media1 media2 turn; do [ \$(ip netns exec $(lab_ns $ID sig) sysctl -n net.ipv4.ip_forward) = 0 ] || exit 1; done"

# ---- keys and config
mkdir -p "$K/allowed"
for n in sigd media1 media2 turn1 ops rogue; do "$BIN/gwctl" keygen $n "$K" >/dev/null; done
for n in media1 media2 turn1 ops; do cp "$K/$n.pub" "$K/allowed/"; done
# The daemons run on the example configs of the DMZ split (deploy/dmz,
# which match this lab); only the key paths are the test's own.
DMZ=$(cd "$(dirname "$0")/../../deploy/dmz" && pwd)
SIGD="-c $DMZ/sigd.ini -s sigd.bus_secret_key_file=$K/sigd.key -s sigd.bus_allowed_keys_dir=$K/allowed -s sigd.log_level=debug"
nodekeys() { echo "-s $1.bus_server_key_file=$K/sigd.pub -s $1.bus_secret_key_file=$K/$2.key"; }
M1="-c $DMZ/media1.ini $(nodekeys mediad media1)"
M2="-c $DMZ/media2.ini $(nodekeys mediad media2)"
NS() { echo "ip netns exec $(lab_ns $ID "$1")"; }
CTL="$(NS sig) $BIN/gwctl -c $DMZ/sigd.ini -k $K/ops.key -S $K/sigd.pub"
field() { $CTL nodes 2>/dev/null | awk -v n="$1" -v f="$2" '$1 == "node" && $2 == n {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'; }
live() { [ "$(field "$1" state)" = live ]; }
n_on() { grep -c "media on '$1'" "$T/sigd.log"; }
full() { grep "stream 0 ended" "$T/$1.log" | grep -c "EXT in $PKTS out $PKTS dropped 0, INT in $PKTS out $PKTS dropped 0"; }

start_daemon sigd $(NS sig) "$BIN/sigd" $SIGD
start_daemon media1 $(NS media1) "$BIN/mediad" $M1
start_daemon turn1 $(NS turn) "$BIN/turnd" -c "$DMZ/turn1.ini" $(nodekeys turnd turn1)
check "media1 registers over CURVE across the INT network" wait_until 10 live media1
check "turn1 registers" wait_until 10 live turn1

perimeter() {
    $CTL firewall >"$T/fw.nft" && lab_perimeter $ID "$T/fw.nft" && lab_host_rules $ID "$T/fw.nft"
}
check "gwctl firewall rules load: perimeter DNAT/SNAT and each DMZ host's input filter" perimeter
check "... the hosts drop what the plan does not open (policy drop on sig, media1, turn)" sh -c \
    "for h in sig media1 turn; do ip netns exec gw$ID-\$h nft list chain inet gw_host input | grep -q 'policy drop' || exit 1; done"
stun_out=$(timeout 10 ip netns exec "$(lab_ns $ID inet)" turnutils_stunclient -p 3478 "$LAB_PUB" 2>&1)
check "STUN through the perimeter: turn1 sees the phone's own address" \
    sh -c "printf '%s' '$stun_out' | grep -q 'UDP reflexive addr: $LAB_INET:'"

# sipp helpers: inbound calls from the internet, outbound from the lan.
uport=5089
inbound() { # SCENARIO N RATE
    uport=$((uport + 1))
    (cd "$T" && timeout 60 ip netns exec "$(lab_ns $ID inet)" sipp "$LAB_PUB:5060" \
        -sf "$SIPP_DIR/$1" -i "$LAB_INET" -p $uport -mi "$LAB_INET" \
        -mp $((16000 + (uport - 5090) * 100)) -s service -m "$2" -r "$3" -l "$2" \
        -nostdin -trace_err -timeout 50s >"$T/in-$uport.out" 2>&1)
}
# inbound_bg: the same in the background (BG = its pid); inbound's port
# step happens in the subshell, so the parent takes it too.
inbound_bg() { inbound "$@" & BG=$!; PIDS="$PIDS $BG"; uport=$((uport + 1)); }
(cd "$T" && exec ip netns exec "$(lab_ns $ID lan)" sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAB_LAN" \
    -p 5080 -mi "$LAB_LAN" -mp 17000 -rtp_echo -nostdin -timeout 300s >"$T/lan-uas.out" 2>&1) &
PIDS="$PIDS $!"
(cd "$T" && exec ip netns exec "$(lab_ns $ID inet)" sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAB_INET" \
    -p 5070 -mi "$LAB_INET" -mp 18000 -rtp_echo -nostdin -timeout 300s >"$T/inet-uas.out" 2>&1) &
PIDS="$PIDS $!"
sleep 0.5

# ---- internet -> lan through the perimeter NAT
inbound uac_pcap.xml 4 4
check "4 calls internet -> lan through the perimeter NAT (sipp $?)" [ $? -eq 0 ]
check "RTP both ways through media1 on all 4 calls ($(full media1))" \
    wait_until 5 sh -c "[ \$(grep 'stream 0 ended' '$T/media1.log' | grep -c 'EXT in $PKTS out $PKTS dropped 0, INT in $PKTS out $PKTS dropped 0') -ge 4 ]"

# ---- a second media node joins during the run
start_daemon media2 $(NS media2) "$BIN/mediad" $M2
check "media2 joins during the run" wait_until 10 live media2
check "regenerated perimeter rules map media2's range, and load" sh -c \
    "$CTL firewall >'$T/fw.nft' && grep -q 'udp dport 15000-19999 dnat to $LAB_M2_EXT' '$T/fw.nft'" && perimeter
a2=$(n_on media2)
inbound uac_pcap.xml 4 4
check "4 more calls succeed (sipp $?)" [ $? -eq 0 ]
d2=$(( $(n_on media2) - a2 ))
check "the new node took $d2 of them" [ "$d2" -ge 1 ]
check "RTP both ways through media2 on its calls" wait_until 5 sh -c \
    "[ \$(grep 'stream 0 ended' '$T/media2.log' | grep -c 'EXT in $PKTS out $PKTS dropped 0, INT in $PKTS out $PKTS dropped 0') -ge $d2 ]"

# ---- lan -> internet: the INVITE names the phone; sigd routes it out EXT
sed "s|INVITE sip:\[service\]@\[remote_ip\]:\[remote_port\]|INVITE sip:[service]@$LAB_INET:5070|" \
    "$SIPP_DIR/uac_pcap.xml" >"$T/uac_out.xml"
# The phone talks too (EXT legs only send to an address latched from the
# peer): the internet UAS plays the pcap after the ACK.
awk '{ print } /<recv request="ACK"/ { print "  <nop><action><exec play_pcap_audio=\"/usr/share/sip-tester/g711a.pcap\"/></action></nop>" }' \
    "$SIPP_DIR/uas_echo.xml" >"$T/uas_talk.xml"
(cd "$T" && exec ip netns exec "$(lab_ns $ID inet)" sipp -sf "$T/uas_talk.xml" -i "$LAB_INET" \
    -p 5071 -mi "$LAB_INET" -mp 18200 -nostdin -timeout 60s -m 2 >"$T/inet-uas2.out" 2>&1) &
PIDS="$PIDS $!"
sed -i "s|@$LAB_INET:5070|@$LAB_INET:5071|" "$T/uac_out.xml"
sleep 0.3
(cd "$T" && timeout 60 ip netns exec "$(lab_ns $ID lan)" sipp "$LAB_SIG_INT:5060" -sf "$T/uac_out.xml" \
    -i "$LAB_LAN" -p 5095 -mi "$LAB_LAN" -mp 19000 -s service -m 2 -r 2 -l 2 -nostdin \
    -trace_err -timeout 50s >"$T/out.out" 2>&1)
check "2 calls lan -> internet (sipp $?)" [ $? -eq 0 ]
# Each side sent the pcap; a few packets from INT may come before the
# phone's first packet latches the EXT leg: ask for 200 of 236 each way.
both_ways() {
    grep -h "\[[0-9]*-[0-9]*@$LAB_LAN\].*stream 0 ended" "$T/media1.log" "$T/media2.log" |
        sed 's/.*EXT in \([0-9]*\) out \([0-9]*\) dropped [0-9]*, INT in \([0-9]*\) out \([0-9]*\).*/\1 \2 \3 \4/' |
        awk '$1 >= 200 && $2 >= 200 && $3 >= 200 && $4 >= 200 { n++ } END { exit n < 2 }'
}
check "RTP both ways on the 2 outbound calls (phone <-> relay <-> lan)" wait_until 5 both_ways

# ---- drain
$CTL drain media1 >/dev/null
a1=$(n_on media1)
inbound uac_pcap.xml 3 6
check "3 calls while media1 drains succeed (sipp $?), none on media1" [ $? -eq 0 -a "$(n_on media1)" -eq "$a1" ]
check "gwctl undrain media1" $CTL undrain media1

# ---- kill -9 of a media node with calls in flight
$CTL drain media2 >/dev/null
a1=$(n_on media1)
inbound_bg uac_terminated.xml 2 10
doomed=$BG
check "2 calls up on media1" wait_until 10 sh -c "[ \$(grep -c \"media on 'media1'\" '$T/sigd.log') -ge $((a1 + 2)) ]"
$CTL undrain media2 >/dev/null
kill -KILL "$(pid_of media1)"
a2=$(n_on media2)
inbound uac_pcap.xml 2 10
rc=$?
check "calls placed right after the kill succeed on media2 (sipp $rc, $(( $(n_on media2) - a2 )) on media2)" \
    [ $rc -eq 0 -a $(( $(n_on media2) - a2 )) -eq 2 ]
wait "$doomed"; rc=$?
PIDS=$(echo "$PIDS" | sed "s/ $doomed\b//")
check "the calls on the killed node got a BYE, phone and platform (sipp $rc)" [ $rc -eq 0 ]
check "media1 is dead" wait_until 5 sh -c "$CTL nodes | grep -q '^node media1 .*state=dead'"

# ---- a node with a key sigd does not know
start_daemon rogue $(NS media1) "$BIN/mediad" $M1 -s mediad.name=rogue \
    -s mediad.bus_secret_key_file=$K/rogue.key -s mediad.rtp_range=25000-25999
fp=$(sed -n 's/.*fingerprint \([0-9a-f]*\).*/\1/p' "$K/rogue.pub")
check "sigd refuses the unknown key, logged by fingerprint" wait_until 10 \
    grep -q "refused: CURVE key $fp is not in the allowed keys" "$T/sigd.log"
check "the rogue node is not in the registry" sh -c "! $CTL nodes | grep -q '^node rogue'"
stop_daemon rogue

# ---- nothing left behind
check "sigd holds no call" wait_until 10 sh -c "$CTL nodes | grep -qx 'calls 0'"
check "media2: no session, no port left" wait_until 5 sh -c \
    "$CTL nodes | grep -q '^node media2 .*sessions=0 ports=0'"
check "sigd stops cleanly" stop_daemon sigd
check "media2 stops cleanly" stop_daemon media2
check "turn1 stops cleanly" stop_daemon turn1
for d in sigd media1 media2 turn1; do check "no sanitizer report from $d" clean_log $d; done
cleanup_lab() { lab_down $ID; ! ip netns list | grep -q "^gw$ID-"; }
check "lab namespaces removed" cleanup_lab
finish
