#!/bin/sh
# Remote agents on stream flows (TCP and TLS): an agent that opened one
# connection to sigd and listens on nothing (as behind a NAT) registers
# through sigd; the registrar sees the flow in sigd's Path; the platform
# then calls the agent along that Path, and the INVITE, ACK and BYE all
# reach the agent over the connection it opened (flowagent.py has no other
# socket), its private Contact fixed to the connection's address; media
# anchored, nothing left afterwards.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
AGENT=$NET.9
PRIV=192.168.1.50
PKI=$T/pki
sh "$HERE/tlscerts.sh" "$PKI" sigd.test
TLSP=$(free_ports 1)

write_config
sed -i "s|^internal_target = .*|internal_target = sip:$LAN:15080\nnat_keepalive = 0|" "$T/gw.ini"
cat >>"$T/gw.ini" <<EOC

[sigd]
tls_port = $TLSP
tls_cert = $PKI/sigd.test.pem
tls_key = $PKI/sigd.test.key
tls_ca = $PKI/ca.pem

[antifraud]
ban_file = $T/bans
EOC

start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

# one TR PORT: register over TR, then a call from the platform along the Path
one() {
    tr=$1; port=$2
    rm -f "$T"/uas_registrar_*_messages.log "$T"/uac_path_*_messages.log
    (cd "$T" && exec timeout 25 sipp -sf "$SIPP_DIR/uas_registrar.xml" -i "$LAN" -p 15080 \
        -mi "$LAN" -nostdin -trace_err -trace_msg -timeout 20s -m 1 >"$T/reg-$tr.out" 2>&1) &
    rp=$!; PIDS="$PIDS $rp"
    sleep 0.3
    start_daemon "agent-$tr" /usr/bin/python3 "$HERE/flowagent.py" "$tr" "$AGENT" "$EXT:$port" \
        agent7 "$PRIV" 15 --ca "$PKI/ca.pem" --name sigd.test
    check "$tr: the agent registered through sigd" wait_until 10 grep -q '^registered 200' "$T/agent-$tr.log"
    wait "$rp"; r=$?
    check "$tr: the registrar accepted sigd's Path (sipp $r)" [ $r -eq 0 ]
    reg_log=$(ls -t "$T"/uas_registrar_*_messages.log | head -n 1)
    path=$(grep -i "^Path: .*gwflow=$tr~$AGENT~" "$reg_log" | tail -n 1 | sed 's/^[Pp]ath: *//; s/\r$//')
    check "$tr: the Path names the agent's $tr flow ($path)" [ -n "$path" ]
    (cd "$T" && timeout 25 sipp -sf "$SIPP_DIR/uac_path.xml" "$INT:15060" -i "$LAN" -p 15081 \
        -mi "$LAN" -mp 17000 -nostdin -trace_err -trace_msg -timeout 20s -m 1 \
        -key ruri "sip:agent7@$PRIV:5060;transport=$tr" -key route "$path" >"$T/plat-$tr.out" 2>&1)
    rc=$?
    check "$tr: the platform's call to the agent completed (sipp $rc)" [ $rc -eq 0 ]
    check "$tr: INVITE, ACK and BYE reached the agent on its one connection" \
        sh -c "grep -q '^invite' '$T/agent-$tr.log' && grep -q '^ack' '$T/agent-$tr.log' && grep -q '^bye' '$T/agent-$tr.log'"
    plat_log=$(ls -t "$T"/uac_path_*_messages.log | head -n 1)
    # The 200 for the INVITE (a target refresh) carries sigd's own INT
    # Contact (topology hiding): the agent's, fixed to its connection, is
    # kept in the call, where the ACK and BYE above found it.
    c200=$(awk '/^SIP\/2.0 200/ { r = 1 } r && tolower($0) ~ /^contact:/ { print; exit }' "$plat_log")
    check "$tr: the platform saw sigd's INT Contact, not the agent's ($c200)" \
        sh -c "echo '$c200' | grep -qiE '^Contact: <sip:$INT:15060(;transport=tcp)?>'"
    wait_until 10 grep -q '^connections 1 calls 1' "$T/agent-$tr.log"
    check "$tr: the agent ends with one call on one connection" grep -q '^connections 1 calls 1' "$T/agent-$tr.log"
}
one tcp 15060
one tls "$TLSP"

leftovers_ok() {
    [ "$(gwctl_field media1 sessions)" = 0 ] &&
    [ "$("$BIN/gwctl" -b "$BUS" nodes | awk '$1 == "calls" { print $2 }')" = 0 ]
}
check "no call in sigd, no session in mediad afterwards" wait_until 10 leftovers_ok
check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
finish
