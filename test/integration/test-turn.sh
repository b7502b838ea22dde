#!/bin/sh
# Integration test of turnd as a TURN server (RFC 8656) with real peers:
#   - coturn's turnutils_uclient relaying through turnd to turnutils_peer
#     over UDP and TCP, long-term and TURN REST credentials, channels
#     (with padding on TCP) and Send indications: loss must be 0;
#   - turnc.py, a TURN client of its own (Python), for the error codes,
#     MESSAGE-INTEGRITY-SHA256, REST secrets, every denied peer form (403)
#     next to an allow-listed peer that works, and bad input to the
#     running daemon;
#   - a second turnd with short lifetimes, a user quota and a bandwidth
#     cap, on a fake sigd (ZeroMQ ROUTER in turnc.py): stale nonce, expiry,
#     486, heartbeats, secrets push and revocation over the bus.
# Addresses come from lib.sh (GW_TEST_NET); the only allow-listed peer is
# $LAN, where the test peers listen. Every wait is bounded.
#
#   GW_TEST_NET=127.0.20 B=build/rel sh test/integration/test-turn.sh

. "$(dirname "$0")/lib.sh"
DIR=$(dirname "$0")
PY=/usr/bin/python3        # has python3-zmq (Debian)
ADV=203.0.113.7            # advertised (1:1 NAT) address, TEST-NET-3

for tool in turnutils_uclient turnutils_peer "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || { not_ok "setup: $tool not found"; exit 1; }
done
[ -x "$BIN/turnd" ] || { not_ok "setup: no turnd in $BIN"; exit 1; }

# Ports free on $EXT for UDP and TCP (bounded tries): two turnd, a bus.
set -- $(free_ports 3)
PORT=$1 PORT2=$2 BUSPORT=$3
[ -n "$BUSPORT" ] || { not_ok "setup: no free ports"; exit 1; }
RELAY1=$((40000 + PORT % 1000 * 10))   # 10 relay ports each, away from others
RELAY2=$((RELAY1 + 10000))

start_daemon turnd "$BIN/turnd" -s turnd.listen_addr="$EXT" -s turnd.port="$PORT" \
    -s turnd.bus="tcp://$EXT:$((BUSPORT + 1))" -s turnd.name=turn-a \
    -s turnd.relay_range="$RELAY1-$((RELAY1 + 49))" -s turnd.advertised_addr="$ADV" \
    -s turnd.users=alice:wonderland,bob:builder -s turnd.rest_secrets=newsecret,oldsecret \
    -s turnd.allowed_peers="$LAN" -s turnd.log_level=debug
start_daemon turnd2 "$BIN/turnd" -s turnd.listen_addr="$EXT" -s turnd.port="$PORT2" \
    -s turnd.bus="tcp://$EXT:$BUSPORT" -s turnd.name=turn-b \
    -s turnd.relay_range="$RELAY2-$((RELAY2 + 19))" \
    -s turnd.users=carol:pw -s turnd.rest_secrets=configured \
    -s turnd.allowed_peers="$LAN" -s turnd.nonce_lifetime=2 \
    -s turnd.default_lifetime=2 -s turnd.max_lifetime=2 -s turnd.user_quota=2 \
    -s turnd.max_bps=2000 -s turnd.log_level=debug
start_daemon peer turnutils_peer -L "$LAN" -p "$((PORT + 2))"
if wait_until 10 grep -q "STUN on udp $EXT:$PORT" "$T/turnd.log" &&
   wait_until 10 grep -q "STUN on udp $EXT:$PORT2" "$T/turnd2.log"; then
    ok "start (two turnd on $EXT:$PORT and :$PORT2)"
else
    not_ok "start: turnd not ready within 10 s"
    exit 1
fi

# uclient: run and check that every message came back (0 lost).
uclient() { # NAME ARGS...
    name=$1; shift
    timeout 40 turnutils_uclient -c -n 25 -m 2 -z 5 -p "$PORT" -e "$LAN" \
        -r "$((PORT + 2))" "$@" "$EXT" >"$T/uc-$name.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q "Total lost packets 0 (0.000000%)" "$T/uc-$name.log" &&
       grep -q "tot_send_bytes ~ \([1-9][0-9]*\), tot_recv_bytes ~ \1$" "$T/uc-$name.log"; then
        ok "turnutils_uclient $name: relayed, 0 lost"
    else
        not_ok "turnutils_uclient $name: rc=$rc $(grep -E 'lost|ERROR|error' "$T/uc-$name.log" | head -n 2 | tr '\n' ' ')"
    fi
}
uclient "udp long-term channels" -u alice -w wonderland -l 160
uclient "udp REST send-indications" -s -W newsecret -u agent1 -l 160
uclient "tcp long-term channels padded" -t -D -u alice -w wonderland -l 161
uclient "tcp REST (older secret)" -t -W oldsecret -u agent2 -l 99
timeout 20 turnutils_uclient -c -n 3 -m 1 -p "$PORT" -e 127.0.0.1 -r "$((PORT + 2))" \
    -u alice -w wonderland "$EXT" >"$T/uc-denied.log" 2>&1
if grep -q "error 403" "$T/uc-denied.log"; then
    ok "turnutils_uclient to loopback peer 127.0.0.1: 403"
else
    not_ok "turnutils_uclient to loopback peer: no 403 ($(tail -n 1 "$T/uc-denied.log"))"
fi

run_checks() { # WHICH
    EXT=$EXT LAN=$LAN ADV=$ADV PORT=$PORT PORT2=$PORT2 FAKEBUS="tcp://$EXT:$BUSPORT" \
        timeout 60 "$PY" "$DIR/turnc.py" "$1" >"$T/checks-$1.log" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
            "ok "*) ok "${line#ok }" ;;
            "not-ok "*) not_ok "${line#not-ok }" ;;
        esac
    done <"$T/checks-$1.log"
    [ $rc -eq 0 ] || not_ok "turnc.py $1 exited with $rc: $(tail -n 1 "$T/checks-$1.log")"
}
run_checks main
run_checks second

if grep -q "refused peer 169.254.169.254: link-local" "$T/turnd.log"; then
    ok "refusals logged with client, user, peer and reason"
else
    not_ok "refusals logged: no line for 169.254.169.254"
fi
for d in turnd turnd2; do
    if alive "$d" && stop_daemon "$d" && grep -q "turnd: stopped" "$T/$d.log" &&
       clean_log "$d" && ! grep -q "handles left open" "$T/$d.log"; then
        ok "$d: alive to the end, clean stop"
    else
        not_ok "$d: crashed, unclean stop or sanitizer report"
    fi
done
finish
