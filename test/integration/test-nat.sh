#!/bin/sh
# Remote agents behind NAT, on loopback: the agent's Contact names a
# private address (192.168.1.50) while its packets come from $NET.9, as
# they would through a NAT. The agent (sipp) registers through sigd; the
# registrar (sipp on INT) accepts only a REGISTER carrying sigd's Path with
# the agent's flow, and stores the private Contact with that Path. The
# platform (sipp on INT) then calls the stored Contact with the Path as
# Route: sigd must send the INVITE to the agent's public address and port,
# fix the private Contact of the agent's 200 so that ACK and BYE reach it,
# and the call completes with media anchored. Keep-alives: a second agent
# (python, $NET.11) registers and must get sigd's OPTIONS every second.
# Then the same registration and call through a real NAT: network
# namespaces of our own (suffixed with our PID) with an nftables
# masquerade that randomises ports (root and nft needed; skipped without).
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
PROBE="/usr/bin/python3 $(cd "$(dirname "$0")" && pwd)/sipprobe.py"
AGENT=$NET.9
PRIV=192.168.1.50

write_config
sed -i "s|^internal_target = .*|internal_target = sip:$LAN:15080\nnat_keepalive = 0|" "$T/gw.ini"
printf '\n[antifraud]\nban_file = %s/bans\n' "$T" >>"$T/gw.ini"

start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

# sipp_bg NAME ADDR PORT XML [options]: a sipp in the background (25 s bound).
sipp_bg() {
    name=$1; addr=$2; port=$3; xml=$4; shift 4
    (cd "$T" && exec timeout 25 sipp -sf "$SIPP_DIR/$xml" -i "$addr" -p "$port" \
        -mi "$addr" -t u1 -nostdin -trace_err -trace_msg -timeout 20s \
        "$@" >"$T/$name.out" 2>&1) &
    echo $! >"$T/$name.spid"
    PIDS="$PIDS $!"
}
sipp_wait() {
    p=$(cat "$T/$1.spid")
    wait "$p"
    rc=$?
    PIDS=$(echo "$PIDS" | sed "s/ $p\b//")
    return $rc
}

both_zero() { [ "$1" -eq 0 ] && [ "$2" -eq 0 ]; }
fixed_ok() { [ "$n_fixed" -ge 1 ] && [ "$n_priv" -eq 0 ]; }

sipp_bg registrar "$LAN" 15080 uas_registrar.xml -m 1

# -- the agent behind "NAT" registers, then the platform calls it
sipp_bg agent-reg "$AGENT" 15095 uac_register_nat.xml "$EXT:15060" -m 1 -key contact_host $PRIV
sipp_wait agent-reg; a=$?
check "the agent's REGISTER through sigd got 200 (sipp $a)" [ $a -eq 0 ]
sipp_wait registrar; r=$?
check "the registrar saw sigd's Path with the flow (sipp $r)" [ $r -eq 0 ]
reg_log=$(ls -t "$T"/uas_registrar_*_messages.log | head -n 1)
path=$(grep -i "^Path: .*gwflow=udp~$AGENT~15095" "$reg_log" | tail -n 1 | sed 's/^[Pp]ath: *//; s/\r$//')
check "the Path names sigd's INT address and the agent's public flow ($path)" \
    [ -n "$path" ]
case "$path" in "<sip:$INT:15060;lr;gwflow=udp~$AGENT~15095>") ok "Path is exactly <sip:$INT:15060;lr;gwflow=udp~$AGENT~15095>" ;;
    *) not_ok "Path is '$path'" ;; esac

sipp_bg agent "$AGENT" 15095 uas_agent.xml -m 1 -mp 16000 -key contact_host $PRIV
# The agent's sipp binds the port the registration left; keep-alives sent
# while no one listened got ICMP errors, which must not touch the call.
sleep 1.2
sipp_bg platform "$LAN" 15081 uac_path.xml "$INT:15060" -m 1 -mp 17000 \
    -key ruri "sip:agent7@$PRIV:5060;transport=udp" -key route "$path"
sipp_wait platform; rc_p=$?
sipp_wait agent; rc_a=$?
check "the platform's call to the agent's private Contact along the Path completed (platform $rc_p, agent $rc_a)" \
    both_zero $rc_p $rc_a
both_zero $rc_p $rc_a || tail -n 20 "$T/platform.out" "$T/agent.out" | sed 's/^/# /'
plat_log=$(ls -t "$T"/uac_path_*_messages.log | head -n 1)
# Topology hiding: the platform sees sigd's INT Contact; the agent's,
# fixed, stays in the call (the ACK and BYE that reached it used it).
n_fixed=$(grep -ic "^Contact: <sip:$INT:15060>" "$plat_log")
n_priv=$(grep -ic "^Contact: <sip:agent7@$PRIV" "$plat_log")
check "the platform saw sigd's INT Contact ($n_fixed), never $PRIV ($n_priv)" \
    fixed_ok
check "sigd logged the NATed Contact fix" grep -q "NATed Contact $PRIV:5060 replaced by $AGENT:15095" "$T/sigd.log"
leftovers_ok() {
    [ "$(gwctl_field media1 sessions)" = 0 ] &&
    [ "$("$BIN/gwctl" -b "$BUS" nodes | awk '$1 == "calls" { print $2 }')" = 0 ]
}
check "no call in sigd, no session in mediad afterwards" wait_until 5 leftovers_ok

# -- keep-alives to a registered flow (a sipp agent would take sigd's
# OPTIONS for an unexpected call, hence a python agent and a restart)
stop_daemon sigd
sed -i "s|^nat_keepalive = .*|nat_keepalive = 1|" "$T/gw.ini"
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
wait_until 5 grep -q "SIP INT listening" "$T/sigd.log"
sipp_bg registrar2 "$LAN" 15080 uas_registrar.xml -m 1
sleep 0.3
ka=$($PROBE keepalive "$NET.11" "$EXT:15060" 3.6 2>>"$T/probe.err")
nopt=$(echo "$ka" | awk '{ print $4 }')
check "an agent registered through sigd gets 200 ($ka)" [ "$(echo "$ka" | awk '{ print $2 }')" = 200 ]
check "it then gets sigd's keep-alive OPTIONS every second (got ${nopt:-0} in 3.6 s)" \
    [ "${nopt:-0}" -ge 2 ]

sipp_wait registrar2

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd

# -- the same through a real NAT: three network namespaces of our own
#    agent ns (192.168.77.2) --veth-- nat ns (nftables masquerade, random
#    ports) --veth-- dmz ns (sigd EXT 10.77.1.1, everything else on the
#    dmz namespace's own loopback). The addresses exist only inside these
#    namespaces; they are deleted on exit, also on failure.
DMZ=gwdmz$$; NATNS=gwnat$$; AGT=gwagt$$
ns_cleanup() {
    for n in $AGT $NATNS $DMZ; do ip netns del "$n" 2>/dev/null; done
}
trap 'cleanup; ns_cleanup' EXIT
ns_setup() {
    ip netns add $DMZ && ip netns add $NATNS && ip netns add $AGT &&
    ip -n $DMZ link set lo up && ip -n $NATNS link set lo up && ip -n $AGT link set lo up &&
    ip link add d0 netns $DMZ type veth peer name n0 netns $NATNS &&
    ip link add n1 netns $NATNS type veth peer name a0 netns $AGT &&
    ip -n $DMZ addr add 10.77.1.1/24 dev d0 && ip -n $DMZ link set d0 up &&
    ip -n $NATNS addr add 10.77.1.2/24 dev n0 && ip -n $NATNS link set n0 up &&
    ip -n $NATNS addr add 192.168.77.1/24 dev n1 && ip -n $NATNS link set n1 up &&
    ip -n $AGT addr add 192.168.77.2/24 dev a0 && ip -n $AGT link set a0 up &&
    ip -n $AGT route add default via 192.168.77.1 &&
    ip netns exec $NATNS sysctl -qw net.ipv4.ip_forward=1 &&
    ip netns exec $NATNS nft -f - <<EON
table ip nat {
    chain post {
        type nat hook postrouting priority 100;
        oifname "n0" masquerade random
    }
}
EON
}
if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null 2>&1; then
    echo "# skip: the namespace NAT test needs root and nft"
elif ! ns_setup 2>"$T/ns.err"; then
    not_ok "namespace set-up failed: $(tr '\n' ' ' <"$T/ns.err")"
else
    PUB=10.77.1.1
    sed -e "s|^ext_addr = .*|ext_addr = $PUB|" -e "s|^nat_keepalive = .*|nat_keepalive = 0|" \
        "$T/gw.ini" >"$T/ns.ini"
    start_daemon ns-sigd ip netns exec $DMZ "$BIN/sigd" -c "$T/ns.ini"
    start_daemon ns-mediad ip netns exec $DMZ "$BIN/mediad" -c "$T/ns.ini"
    check "ns: media node registers with sigd" wait_until 10 sh -c \
        "ip netns exec $DMZ '$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"
    NSX="ip netns exec $DMZ"
    sipp_ns() { # NS NAME ADDR PORT XML [options]
        ns=$1; shift
        name=$1; addr=$2; port=$3; xml=$4; shift 4
        (cd "$T" && exec ip netns exec "$ns" timeout 25 sipp -sf "$SIPP_DIR/$xml" \
            -i "$addr" -p "$port" -mi "$addr" -t u1 -nostdin -trace_err -trace_msg \
            -timeout 20s "$@" >"$T/$name.out" 2>&1) &
        echo $! >"$T/$name.spid"
        PIDS="$PIDS $!"
    }
    rm -f "$T"/uas_registrar_*_messages.log "$T"/uac_path_*_messages.log
    sipp_ns $DMZ ns-registrar "$LAN" 15080 uas_registrar.xml -m 1
    sleep 0.3
    sipp_ns $AGT ns-agent-reg 192.168.77.2 15095 uac_register_nat.xml "$PUB:15060" -m 1 \
        -key contact_host 192.168.77.2
    sipp_wait ns-agent-reg; a=$?
    sipp_wait ns-registrar; r=$?
    check "ns: the agent behind the NAT registered through sigd (agent $a, registrar $r)" \
        both_zero $a $r
    reg_log=$(ls -t "$T"/uas_registrar_*_messages.log | head -n 1)
    path=$(grep -i "^Path: .*gwflow=udp~10.77.1.2~" "$reg_log" | tail -n 1 | sed 's/^[Pp]ath: *//; s/\r$//')
    mapped=$(echo "$path" | sed -n 's/.*gwflow=udp~10.77.1.2~\([0-9]*\)>.*/\1/p')
    check "ns: the Path names the NAT's public address and mapped port ($path)" [ -n "$mapped" ]
    sipp_ns $AGT ns-agent 192.168.77.2 15095 uas_agent.xml -m 1 -mp 16000 -key contact_host 192.168.77.2
    sleep 1
    sipp_ns $DMZ ns-platform "$LAN" 15081 uac_path.xml "$INT:15060" -m 1 -mp 17000 \
        -key ruri "sip:agent7@192.168.77.2:15095;transport=udp" -key route "$path"
    sipp_wait ns-platform; rc_p=$?
    sipp_wait ns-agent; rc_a=$?
    check "ns: the platform's call reached the agent through the NAT and completed (platform $rc_p, agent $rc_a)" \
        both_zero $rc_p $rc_a
    both_zero $rc_p $rc_a || tail -n 20 "$T/ns-platform.out" "$T/ns-agent.out" | sed 's/^/# /'
    check "ns: sigd fixed the agent's private Contact to the NAT mapping 10.77.1.2:$mapped" \
        grep -q "NATed Contact 192.168.77.2:5060 replaced by 10.77.1.2:$mapped" "$T/ns-sigd.log"
    check "ns: sigd stops cleanly" stop_daemon ns-sigd
    check "ns: mediad stops cleanly" stop_daemon ns-mediad
fi
finish
