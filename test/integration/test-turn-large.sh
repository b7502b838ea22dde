#!/bin/sh
# Integration test of turnd's UDP receive paths with large datagrams and
# bursts. turnd reads the client listener and the relay sockets into
# 1600-byte slots, each with a 64 KiB overflow area as a second iovec, and
# joins a larger datagram in a separate buffer; a quiet socket is read with
# recvfrom(), a busy one with recvmmsg(). turnc.py (our Python TURN client,
# subcommand "large") with two raw UDP peers on the allow-listed $LAN:
#   - client->peer ChannelData and Send indications, peer->client
#     ChannelData (bound channel) and Data indications (no channel), with
#     payloads of 1 byte to the most one UDP datagram can carry (65503
#     ChannelData, 65468 indications), around each slot boundary, one at a
#     time: every byte compared; each size twice, read in turnd's busy mode
#     (recvmmsg(): a datagram right after a read) and in its quiet mode
#     (recvfrom(): after a poke that makes turnd read another socket first);
#   - bursts of 64 (and of jumbo datagrams) back to back, both framings
#     interleaved, large ones among small ones, sent while turnd is stopped
#     (SIGSTOP to the PID this script started) so that it wakes to a full
#     socket and reads it in batches: every datagram compared, in order,
#     nothing more; one burst with turnd running;
#   - turnd alive to the end, clean stop, no sanitizer report.
# Every wait is bounded.
#
#   GW_TEST_NET=127.0.71 B=build/rel sh test/integration/test-turn-large.sh

. "$(dirname "$0")/lib.sh"
DIR=$(dirname "$0")
PY=/usr/bin/python3

[ -x "$PY" ] || { not_ok "setup: $PY not found"; exit 1; }
[ -x "$BIN/turnd" ] || { not_ok "setup: no turnd in $BIN"; exit 1; }

set -- $(free_ports 2)
PORT=$1 BUSPORT=$2
[ -n "$BUSPORT" ] || { not_ok "setup: no free ports"; exit 1; }
RELAY=$((20000 + PORT % 1000 * 10))    # 10 relay ports, away from others

# No sigd: the bus endpoint is a free port nobody answers on.
start_daemon turnd "$BIN/turnd" -s turnd.listen_addr="$EXT" -s turnd.port="$PORT" \
    -s turnd.bus="tcp://$EXT:$BUSPORT" -s turnd.name=turn-large \
    -s turnd.relay_range="$RELAY-$((RELAY + 9))" \
    -s turnd.users=alice:wonderland -s turnd.allowed_peers="$LAN" \
    -s turnd.log_level=info
if wait_until 10 grep -q "STUN on udp $EXT:$PORT" "$T/turnd.log"; then
    ok "start (turnd on $EXT:$PORT)"
else
    not_ok "start: turnd not ready within 10 s"
    exit 1
fi

EXT=$EXT LAN=$LAN PORT=$PORT TURND_PID=$(pid_of turnd) \
    timeout 60 "$PY" "$DIR/turnc.py" large >"$T/checks-large.log" 2>&1
rc=$?
kill -CONT "$(pid_of turnd)" 2>/dev/null   # never left stopped
while IFS= read -r line; do
    case $line in
        "ok "*) ok "${line#ok }" ;;
        "not-ok "*) not_ok "${line#not-ok }" ;;
    esac
done <"$T/checks-large.log"
[ $rc -eq 0 ] || not_ok "turnc.py large exited with $rc: $(tail -n 1 "$T/checks-large.log")"

if alive turnd && stop_daemon turnd && grep -q "turnd: stopped" "$T/turnd.log" &&
   clean_log turnd && ! grep -q "handles left open" "$T/turnd.log"; then
    ok "turnd: alive to the end, clean stop"
else
    not_ok "turnd: crashed, unclean stop or sanitizer report"
fi
finish
