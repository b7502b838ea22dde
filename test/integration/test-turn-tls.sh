#!/bin/sh
# Integration test of TURN over TLS (RFC 8656 section 3.5) in turnd, with
# real peers and a throwaway PKI made here by certtool (ECDSA P-384 CA and
# server certificate; the server presents the chain):
#   - coturn's turnutils_uclient over TLS (-t -S), channels and Send
#     indications, to turnutils_peer on the allow-listed $LAN: 0 lost;
#   - gnutls-cli: TLS 1.2 with ECDHE over secp384r1 (group checked in the
#     negotiated description), TLS 1.3 by default, the whole chain
#     presented and trusted; a TLS 1.1-only client is refused and the
#     refusal logged with its address;
#   - peers that misbehave: plain STUN to the TLS port, a ClientHello cut
#     short, an HTTP request, a client that never says hello (handshake
#     deadline): closed, logged, the daemon unharmed;
#   - `turnd --check`: runs the config checks (bad key, tls_port = port,
#     lifetimes), and passes a good TLS config;
#   - no TLS connection left once the clients are gone; clean stop.
#
#   GW_TEST_NET=127.0.20 B=build/rel sh test/integration/test-turn-tls.sh

. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

for tool in turnutils_uclient turnutils_peer gnutls-cli certtool ss "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || { not_ok "setup: $tool not found"; exit 1; }
done
[ -x "$BIN/turnd" ] || { not_ok "setup: no turnd in $BIN"; exit 1; }

# Free ports on $EXT (UDP and TCP): STUN, TLS, bus, peer.
set -- $(free_ports 4)
PORT=$1 TLSPORT=$2 BUSPORT=$3 PEERPORT=$4
[ -n "$PEERPORT" ] || { not_ok "setup: no free ports"; exit 1; }
RELAY=$((40000 + TLSPORT % 1000 * 10))

# Throwaway PKI: CA, server certificate for $EXT, chain file leaf first.
cat >"$T/ca.tmpl" <<EOF
cn = "gw test CA"
ca
cert_signing_key
expiration_days = 2
EOF
cat >"$T/srv.tmpl" <<EOF
cn = "turn.test"
ip_address = "$EXT"
dns_name = "turn.test"
tls_www_server
signing_key
encryption_key
expiration_days = 2
EOF
if certtool --generate-privkey --key-type ecdsa --curve secp384r1 --outfile "$T/ca.key" &&
   certtool --generate-self-signed --load-privkey "$T/ca.key" --template "$T/ca.tmpl" \
       --outfile "$T/ca.pem" &&
   certtool --generate-privkey --key-type ecdsa --curve secp384r1 --outfile "$T/srv.key" &&
   certtool --generate-certificate --load-privkey "$T/srv.key" --load-ca-certificate "$T/ca.pem" \
       --load-ca-privkey "$T/ca.key" --template "$T/srv.tmpl" --outfile "$T/srv.pem"
then
    cat "$T/srv.pem" "$T/ca.pem" >"$T/chain.pem"
else
    not_ok "setup: certtool failed"; exit 1
fi >"$T/certtool.log" 2>&1

# --- turnd --check runs the whole check (before the daemon is started).
CHK="-s turnd.listen_addr=$EXT -s turnd.port=$PORT -s turnd.tls_port=$TLSPORT"
if "$BIN/turnd" $CHK -s turnd.tls_cert="$T/chain.pem" -s turnd.tls_key="$T/srv.key" \
       --check >"$T/check.log" 2>&1 && grep -q "configuration OK" "$T/check.log"; then
    ok "--check: a good TLS config passes"
else
    not_ok "--check: good TLS config refused: $(cat "$T/check.log")"
fi
if ! "$BIN/turnd" $CHK -s turnd.tls_cert="$T/chain.pem" -s turnd.tls_key="$T/ca.tmpl" \
       --check >"$T/check.log" 2>&1 && grep -q "config error: tls: tls_cert" "$T/check.log"; then
    ok "--check: an unusable key is refused"
else
    not_ok "--check: bad key not refused: $(cat "$T/check.log")"
fi
if ! "$BIN/turnd" -s turnd.port="$PORT" -s turnd.tls_port="$PORT" --check >"$T/check.log" 2>&1 &&
   grep -q "tls_port: same as port" "$T/check.log"; then
    ok "--check: tls_port equal to port is refused"
else
    not_ok "--check: tls_port = port not refused: $(cat "$T/check.log")"
fi
if ! "$BIN/turnd" -s turnd.default_lifetime=3600 -s turnd.max_lifetime=60 --check \
       >"$T/check.log" 2>&1 && grep -q "default_lifetime: above max_lifetime" "$T/check.log"; then
    ok "--check: cross-field rules run (default_lifetime > max_lifetime refused)"
else
    not_ok "--check: turn_conf_check() did not run: $(cat "$T/check.log")"
fi
if ! "$BIN/turnd" -s turnd.tls_port="$TLSPORT" -s turnd.tls_cert="$T/chain.pem" \
       -s turnd.tls_key="$T/srv.key" -s turnd.tls_priority="NOSUCHTHING" --check \
       >"$T/check.log" 2>&1 && grep -q "tls_priority" "$T/check.log"; then
    ok "--check: a bad priority string is refused"
else
    not_ok "--check: bad priority not refused: $(cat "$T/check.log")"
fi

start_daemon turnd "$BIN/turnd" -s turnd.listen_addr="$EXT" -s turnd.port="$PORT" \
    -s turnd.bus="tcp://$EXT:$BUSPORT" -s turnd.relay_range="$RELAY-$((RELAY + 49))" \
    -s turnd.users=alice:wonderland -s turnd.rest_secrets=sekrit \
    -s turnd.allowed_peers="$LAN" -s turnd.tls_port="$TLSPORT" \
    -s turnd.tls_cert="$T/chain.pem" -s turnd.tls_key="$T/srv.key" -s turnd.log_level=debug
start_daemon peer turnutils_peer -L "$LAN" -p "$PEERPORT"
if wait_until 10 grep -q "TURN over TLS on tcp $EXT:$TLSPORT" "$T/turnd.log"; then
    ok "start: TLS listener on $EXT:$TLSPORT"
else
    not_ok "start: no TLS listener within 10 s"
    exit 1
fi

# --- gnutls-cli handshakes.
cli() { # NAME PRIORITY
    timeout 10 gnutls-cli --x509cafile "$T/ca.pem" --print-cert --priority "$2" \
        -p "$TLSPORT" "$EXT" </dev/null >"$T/cli-$1.log" 2>&1
}
cli p384 "NORMAL:-VERS-ALL:+VERS-TLS1.2:-GROUP-ALL:+GROUP-SECP384R1"
if grep -q "Handshake was completed" "$T/cli-p384.log" &&
   grep -q "Description: (TLS1.2-X.509)-(ECDHE-SECP384R1)" "$T/cli-p384.log" &&
   grep -q "The certificate is trusted" "$T/cli-p384.log"; then
    ok "gnutls-cli TLS 1.2 ECDHE secp384r1: $(sed -n 's/^- Description: //p' "$T/cli-p384.log")"
else
    not_ok "gnutls-cli TLS 1.2 P-384: $(grep -E '^\*\*\*|Description' "$T/cli-p384.log" | tr '\n' ' ')"
fi
if [ "$(grep -c 'BEGIN CERTIFICATE' "$T/cli-p384.log")" -eq 2 ]; then
    ok "the whole chain is presented (leaf and CA)"
else
    not_ok "chain: $(grep -c 'BEGIN CERTIFICATE' "$T/cli-p384.log") certificate(s) presented, want 2"
fi
cli default "NORMAL"
if grep -q "Description: (TLS1.3-X.509)" "$T/cli-default.log"; then
    ok "gnutls-cli default priority: TLS 1.3"
else
    not_ok "gnutls-cli TLS 1.3: $(grep -E '^\*\*\*|Description' "$T/cli-default.log" | tr '\n' ' ')"
fi
cli tls11 "NORMAL:-VERS-ALL:+VERS-TLS1.1"
if ! grep -q "Handshake was completed" "$T/cli-tls11.log" &&
   grep -q "Fatal error" "$T/cli-tls11.log" &&
   wait_until 5 grep -q "tls handshake with .* failed" "$T/turnd.log"; then
    ok "TLS 1.1 client refused ($(grep -m1 'alert' "$T/cli-tls11.log")), logged with its address"
else
    not_ok "TLS 1.1 client not refused: $(grep -E '^\*\*\*|Description' "$T/cli-tls11.log" | tr '\n' ' ')"
fi
cli tls10 "NORMAL:-VERS-ALL:+VERS-TLS1.0"
if ! grep -q "Handshake was completed" "$T/cli-tls10.log"; then
    ok "TLS 1.0 client refused"
else
    not_ok "TLS 1.0 client got a session"
fi

# A client that connects and never says hello: closed by the handshake
# deadline (5 s), measured in the background while the clients run.
EXT=$EXT TLSPORT=$TLSPORT timeout 20 "$PY" - >"$T/stalled.log" 2>&1 <<'EOF2' &
import os, socket, time
s = socket.create_connection((os.environ["EXT"], int(os.environ["TLSPORT"])), timeout=15)
t0 = time.monotonic()
try:
    data = s.recv(100)
    print("closed after %.1f s%s" % (time.monotonic() - t0, " (data)" if data else ""))
except socket.timeout:
    print("still open after 15 s")
except ConnectionResetError:
    print("closed after %.1f s (reset)" % (time.monotonic() - t0))
EOF2
stalled=$!

# --- turnutils_uclient over TLS: every message back.
uclient() { # NAME ARGS...
    name=$1; shift
    timeout 40 turnutils_uclient -t -S -c -n 25 -m 2 -z 5 -p "$TLSPORT" -e "$LAN" \
        -r "$PEERPORT" "$@" "$EXT" >"$T/uc-$name.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q "Total lost packets 0 (0.000000%)" "$T/uc-$name.log" &&
       grep -q "tot_send_bytes ~ \([1-9][0-9]*\), tot_recv_bytes ~ \1$" "$T/uc-$name.log"; then
        ok "turnutils_uclient TLS $name: relayed, 0 lost"
    else
        not_ok "turnutils_uclient TLS $name: rc=$rc $(grep -E 'lost|ERROR|error' "$T/uc-$name.log" | head -n 2 | tr '\n' ' ')"
    fi
}
# (uclient tries older TLS versions first: those refusals are logged too.)
uclient "long-term channels padded" -D -u alice -w wonderland -l 161
uclient "REST send-indications" -s -W sekrit -u agent1 -l 160
wait $stalled
secs=$(sed -n 's/^closed after \([0-9]*\)\..*/\1/p' "$T/stalled.log")
if [ -n "$secs" ] && [ "$secs" -ge 4 ] && [ "$secs" -le 7 ] &&
   grep -q "tls handshake with .* not done after 5000 ms: closed" "$T/turnd.log"; then
    ok "a client that never sends a ClientHello is closed by the 5 s handshake deadline ($(cat "$T/stalled.log"))"
else
    not_ok "stalled handshake: $(cat "$T/stalled.log")"
fi
if grep -q "stun: tls TLS1.[23] with" "$T/turnd.log"; then
    ok "TLS sessions logged with version and client"
else
    not_ok "no TLS session in turnd's log"
fi

# --- misbehaving peers on the TLS port.
EXT=$EXT TLSPORT=$TLSPORT timeout 20 "$PY" - >"$T/bad.log" 2>&1 <<'EOF2'
import os, socket, struct

ext, port = os.environ["EXT"], int(os.environ["TLSPORT"])

def closed_by_server(payload, what):
    s = socket.create_connection((ext, port), timeout=5)
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR) if what == "cut" else None
    try:
        while s.recv(4096):
            pass
        print("ok", what)
    except socket.timeout:
        print("not-ok", what, "still open after 5 s")
    except ConnectionResetError:
        print("ok", what)
    s.close()

binding = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, os.urandom(12))
closed_by_server(binding, "plain STUN Binding")
closed_by_server(b"GET / HTTP/1.0\r\n\r\n" + os.urandom(64), "HTTP request")
# A ClientHello record header announcing 512 bytes, then 20 and EOF.
closed_by_server(bytes([0x16, 3, 1, 2, 0]) + os.urandom(20), "cut")
EOF2
if grep -q "^ok plain STUN" "$T/bad.log" && grep -q "^ok HTTP" "$T/bad.log" &&
   grep -q "^ok cut" "$T/bad.log"; then
    ok "plain STUN, an HTTP request, a cut ClientHello: connection closed"
else
    not_ok "bad peers: $(tr '\n' ' ' <"$T/bad.log")"
fi
cli after "NORMAL:-VERS-ALL:+VERS-TLS1.2:-GROUP-ALL:+GROUP-SECP384R1"
if grep -q "Handshake was completed" "$T/cli-after.log"; then
    ok "still serving TLS after the bad peers"
else
    not_ok "no TLS handshake after the bad peers"
fi

# Nothing left behind: no established TLS connection, no allocation.
left() { ss -Htn state established "( sport = :$TLSPORT )" | wc -l; }
if wait_until 5 test "$(left)" -eq 0; then
    ok "no TLS connection left open"
else
    not_ok "$(left) TLS connection(s) left open"
fi
if alive turnd && stop_daemon turnd && clean_log turnd &&
   grep -q "turnd: stopped" "$T/turnd.log" && ! grep -q "handles left open" "$T/turnd.log"; then
    ok "turnd: alive to the end, clean stop ($(sed -n 's/.*relayed, \(.*\))$/\1/p' "$T/turnd.log"))"
else
    not_ok "turnd: crashed, unclean stop or sanitizer report"
fi
if grep -Eqi "BEGIN .*PRIVATE KEY" "$T/turnd.log"; then
    not_ok "key material in turnd's log"
else
    ok "no key material in turnd's log"
fi
finish
