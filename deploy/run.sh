#!/bin/sh
# `make run`: the three daemons in the foreground on one host, with the
# given config (default deploy/local.ini). Prints the port plan, then the
# daemons' own log lines (each carries the daemon's name), and stops all
# three on Ctrl-C / SIGTERM, or as soon as one of them exits.
#
# The default plan's TLS listeners present build/tls/local.pem: made here
# by deploy/localcert.sh on the first run of a config that names it
# (self-signed, loopback only), kept afterwards.
CONF=${1:-deploy/local.ini}
B=${B:-build/rel}
BIN=$B/bin

# get SECTION KEY: a value from the INI file, for the banner.
get() {
    awk -F' *= *' -v sec="[$1]" -v key="$2" '
        /^\[/ { s = ($0 == sec) } s && $1 == key { print $2; exit }' "$CONF"
}

if grep -q '^[a-z_]* *= *build/tls/local\.\(pem\|key\) *$' "$CONF"; then
    sh "$(dirname "$0")/localcert.sh" build/tls || exit 1
fi
for d in sigd mediad turnd; do
    "$BIN/$d" -c "$CONF" --check >/dev/null || exit 1
done

sig_tls=$(get sigd tls_cert)
turn_tls=$(get turnd tls_port)
echo "== split-plane SIP/RTP gateway (config $CONF) =="
echo "  sigd    SIP EXT $(get sigd ext_addr):$(get sigd ext_port) udp+tcp, SIP INT $(get sigd int_addr):$(get sigd int_port) udp+tcp"
[ -n "$sig_tls" ] &&
    echo "          SIP over TLS EXT $(get sigd ext_addr):$(p=$(get sigd tls_port); echo "${p:-5061}"), certificate $sig_tls"
echo "          internal target $(get sigd internal_target), bus $(get sigd bus_bind)"
echo "  mediad  RTP/RTCP $(get mediad rtp_range) on EXT $(get mediad ext_addr) and INT $(get mediad int_addr)"
echo "  turnd   STUN/TURN $(get turnd listen_addr):$(get turnd port) udp+tcp, relay range $(get turnd relay_range)"
[ -n "$turn_tls" ] && [ "$turn_tls" != 0 ] &&
    echo "          TURN over TLS $(get turnd listen_addr):$turn_tls, certificate $(get turnd tls_cert)"
echo "  Ctrl-C stops all three; '$BIN/gwctl nodes' lists the registered nodes."

pids=""
stop() {
    trap '' INT TERM
    for p in $pids; do kill -TERM "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    echo "== stopped =="
    exit 0
}
trap stop INT TERM

"$BIN/sigd" -c "$CONF" & pids="$pids $!"
"$BIN/mediad" -c "$CONF" & pids="$pids $!"
"$BIN/turnd" -c "$CONF" & pids="$pids $!"

while :; do
    for p in $pids; do
        if ! kill -0 "$p" 2>/dev/null; then
            echo "== a daemon exited; stopping the others =="
            stop
        fi
    done
    sleep 1
done
