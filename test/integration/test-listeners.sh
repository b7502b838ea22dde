#!/bin/sh
# Listener sets from config ([sigd] ext_listeners, int_listeners): a
# second SIP port pair per side (the seeds' vendor-monitoring 5070/5071,
# here on test ports), TLS on the extra EXT set too. Each set answers
# OPTIONS for sigd itself, a call through the extra EXT port reaches the
# platform with its media anchored, and a bad entry stops the start with
# the directive and the reason.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
PROBE="/usr/bin/python3 $HERE/sipprobe.py"
PKI=$T/pki
sh "$HERE/tlscerts.sh" "$PKI" sigd.test
set -- $(free_ports 3)
XP=$1; XT=$2; IP2=$3

write_config
cat >>"$T/gw.ini" <<EOC

[sigd]
ext_listeners = sip:$EXT:$XP, sips:$EXT:$XT
int_listeners = sip:$INT:$IP2
tls_cert = $PKI/sigd.test.pem
tls_key = $PKI/sigd.test.key
tls_ca = $PKI/ca.pem
EOC

start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"
check "sigd logs the extra EXT set" grep -q "SIP EXT listening on sip:$EXT:$XP (udp, tcp)" "$T/sigd.log"
check "  and its TLS listener" grep -q "SIP EXT listening on sips:$EXT:$XT (tls)" "$T/sigd.log"
check "  and the extra INT set" grep -q "SIP INT listening on sip:$INT:$IP2 (udp, tcp)" "$T/sigd.log"

r=$($PROBE send "$NET.20" "$EXT:$XP" OPTIONS "sip:$EXT:$XP")
check "OPTIONS to the extra EXT port is answered by sigd ($r)" [ "$r" = 200 ]
r=$($PROBE send "$NET.20" "$INT:$IP2" OPTIONS "sip:$INT:$IP2")
check "OPTIONS to the extra INT port is answered by sigd ($r)" [ "$r" = 200 ]
(printf 'OPTIONS sip:%s:%s SIP/2.0\r\nVia: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK-x1\r\nMax-Forwards: 70\r\nFrom: <sip:probe@sigd.test>;tag=x1\r\nTo: <sip:%s>\r\nCall-ID: x1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
    "$EXT" "$XT" "$EXT"; sleep 1) | timeout 10 gnutls-cli --x509cafile="$PKI/ca.pem" \
    --verify-hostname=sigd.test -p "$XT" "$EXT" >"$T/x1.cli" 2>&1
check "OPTIONS over TLS to the extra TLS port is answered 200" grep -q '^SIP/2.0 200 OK' "$T/x1.cli"

# A call from EXT through the extra port: sipp UAS as the platform.
(cd "$T" && exec timeout 20 sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p 15080 \
    -mi "$LAN" -mp 16000 -nostdin -m 1 -trace_err -timeout 15s >"$T/uas.out" 2>&1) &
up=$!
PIDS="$PIDS $up"
sleep 0.3
(cd "$T" && timeout 20 sipp "$EXT:$XP" -sf "$SIPP_DIR/uac_out.xml" -i "$NET.20" -p 15090 \
    -mi "$NET.20" -mp 17000 -m 1 -nostdin -trace_err -timeout 15s \
    -key ruri "sip:service@$EXT:$XP" >"$T/uac.out" 2>&1)
rc=$?
wait "$up"; urc=$?
check "a call through the extra EXT port completes (uac $rc, uas $urc)" [ "$rc$urc" = 00 ]
check "  with its media on the node" grep -q "media on 'media1'" "$T/sigd.log"
check "sigd stops cleanly" stop_daemon sigd

# A bad listener entry stops the start and names the directive.
"$BIN/sigd" -c "$T/gw.ini" -s "sigd.int_listeners=sips:$INT:$IP2" >"$T/bad.log" 2>&1
check "sips: on INT is refused at start" grep -q "int_listeners: 'sips:$INT:$IP2': TLS listens on EXT only" "$T/bad.log"
"$BIN/sigd" -c "$T/gw.ini" -s "sigd.ext_listeners=sip:example.com:5070" >"$T/bad2.log" 2>&1
check "a name instead of an address is refused at start" \
    grep -q "ext_listeners: 'sip:example.com:5070': want sip:ADDR:PORT" "$T/bad2.log"
check "mediad stops cleanly" stop_daemon mediad
finish
