#!/bin/sh
# TLS on the default plan (issue 14): `deploy/run.sh deploy/local.ini`, the
# repository's files unedited, serves SIP over TLS on 127.0.0.1:5061 and
# TURN over TLS on 127.0.0.1:5349 with the self-signed certificate it
# makes itself (deploy/localcert.sh), with independent peers:
#   - before the certificate exists, `sigd --check` and `turnd --check`
#     name the line of local.ini that wants it;
#   - the first start makes it (key 0600, SAN IP 127.0.0.1 and DNS
#     localhost), a second start keeps it (same fingerprint);
#   - openssl s_client and gnutls-cli against both ports: TLS 1.2 and 1.3,
#     ECDHE over P-384, TLS 1.1 refused by the server, the chain trusted
#     with the certificate itself as the CA file, for 127.0.0.1 and
#     localhost;
#   - SIP OPTIONS over TLS to 5061 answered 200 by sigd; a TURN Allocate
#     over TLS to 5349 challenged with 401 (Python's ssl);
#   - baresip calls over TLS with mandatory SDES SRTP through the plan to
#     a sipp echo at the plan's internal target 127.0.0.3:5080;
#   - everything stops with the plan, by PID.
# The daemons run in a scratch directory, so the plan's relative
# certificate paths resolve to $T/plan/build/tls and the repository's own
# build/tls (a user's `make run` certificate) is never touched. When any
# port of the default plan is taken (a `make run` running), it skips.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/test/integration
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
CONF=$ROOT/deploy/local.ini
PLAN=$T/plan
CERT=$PLAN/build/tls/local.pem
KEY=$PLAN/build/tls/local.key
PY=/usr/bin/python3
PHONE=$NET.5

for tool in openssl gnutls-cli certtool baresip sipp ss "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || { not_ok "setup: $tool not found"; exit 1; }
done

# The default plan's sockets, bound for a moment: a busy one means the
# plan (or something else) runs here already, and the test stays away.
busy=$("$PY" - <<'EOPY'
import socket
plan = [("tcp", "127.0.0.1", p) for p in (5060, 5061, 3478, 5349, 7700)] + \
       [("udp", "127.0.0.1", 5060), ("udp", "127.0.0.1", 3478),
        ("tcp", "127.0.0.2", 5060), ("udp", "127.0.0.2", 5060),
        ("udp", "127.0.0.3", 5080)]
for proto, ip, port in plan:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    # SO_REUSEADDR: a TIME_WAIT left by an earlier run is no user, a
    # listener still is (Linux refuses the bind then).
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((ip, port))
    except OSError as e:
        print("%s %s:%d (%s)" % (proto, ip, port, e.strerror))
    finally:
        s.close()
EOPY
)
if [ -n "$busy" ]; then
    echo "# skip: the default plan's ports are in use (a 'make run'?):" $busy
    exit 0
fi
mkdir -p "$PLAN"

# ---- before the certificate exists: --check names the line wanting it
line() { # line SECTION KEY: the line of local.ini that sets KEY in [SECTION]
    awk -v sec="[$1]" -v key="$2" '/^\[/ { s = ($0 == sec) } s && $1 == key { print NR; exit }' "$CONF"
}
for d in sigd turnd; do
    (cd "$PLAN" && timeout 10 "$BIN/$d" -c "$CONF" --check) >"$T/$d.check" 2>&1
    rc=$?
    want="$CONF:$(line "$d" tls_cert): [$d] tls_cert: build/tls/local.pem: No such file or directory"
    check "$d --check before the certificate exists: exit 1, '$want'" \
        sh -c "[ $rc = 1 ] && grep -qF '$want' '$T/$d.check'"
done

# ---- first start: the certificate is made
plan_up() { # plan_up NAME: deploy/run.sh on the unedited plan, from $PLAN
    (cd "$PLAN" && B=${BIN%/bin} exec sh "$ROOT/deploy/run.sh" "$CONF") >"$T/$1.log" 2>&1 &
    echo $! >"$T/$1.pid"
    PIDS="$PIDS $!"
    wait_until 15 sh -c "grep -q 'listening on sips:127.0.0.1:5061' '$T/$1.log' &&
        grep -q 'TURN over TLS on tcp 127.0.0.1:5349' '$T/$1.log' &&
        grep -q 'media node .media1. registered' '$T/$1.log'"
}
# The daemons run.sh started (its children but the `sleep` of its loop),
# recorded so that the cleanup stops them by PID even if run.sh dies.
plan_pids() {
    ps -o pid=,comm= --ppid "$(pid_of "$1")" | awk '$2 != "sleep" { print $1 }'
}
plan_down() { # plan_down NAME: SIGTERM to run.sh, which stops the daemons
    kids=$(plan_pids "$1")
    stop_daemon "$1"
    for p in $kids; do ! kill -0 "$p" 2>/dev/null || return 1; done
    grep -q '^== stopped ==' "$T/$1.log"
}
fpr() { openssl x509 -in "$CERT" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }

check "deploy/run.sh deploy/local.ini starts the plan with its TLS listeners" plan_up run1
kids=$(plan_pids run1); PIDS="$PIDS $kids"
check "  three daemons under run.sh ($(echo $kids | wc -w))" [ "$(echo $kids | wc -w)" = 3 ]
check "  the certificate was made on this first start" \
    grep -q "^localcert: made build/tls/local.pem" "$T/run1.log"
check "  the banner shows SIP over TLS on EXT 127.0.0.1:5061" \
    grep -q "^          SIP over TLS EXT 127.0.0.1:5061, certificate build/tls/local.pem" "$T/run1.log"
check "  the banner shows TURN over TLS on 127.0.0.1:5349" \
    grep -q "^          TURN over TLS 127.0.0.1:5349, certificate build/tls/local.pem" "$T/run1.log"
mode=$(stat -c %a "$KEY" 2>/dev/null)
check "  the key is mode 0600 (got $mode)" [ "$mode" = 600 ]
openssl x509 -in "$CERT" -noout -text >"$T/cert.txt" 2>&1
check "  self-signed, SAN IP 127.0.0.1 and DNS localhost, ECDSA P-384" sh -c "
    [ \"\$(openssl x509 -in '$CERT' -noout -subject | cut -d= -f2-)\" = \
      \"\$(openssl x509 -in '$CERT' -noout -issuer | cut -d= -f2-)\" ] &&
    grep -q 'IP Address:127.0.0.1' '$T/cert.txt' && grep -q 'DNS:localhost' '$T/cert.txt' &&
    grep -q 'NIST CURVE: P-384' '$T/cert.txt'"
F1=$(fpr)

# ---- the policy, openssl s_client against both ports
sclient() { # sclient PORT NAME ARGS...: output in $T/NAME.sc
    p=$1; n=$2; shift 2
    echo | timeout 10 openssl s_client -connect "127.0.0.1:$p" -CAfile "$CERT" \
        -verify_return_error "$@" >"$T/$n.sc" 2>&1
}
for p in 5061 5349; do
    sclient "$p" "s12-$p" -tls1_2 -verify_ip 127.0.0.1
    check "$p: openssl TLS 1.2 handshake, chain and IP SAN 127.0.0.1 verified" \
        sh -c "grep -q '^ *Protocol *: TLSv1.2' '$T/s12-$p.sc' &&
               grep -q 'Verify return code: 0 (ok)' '$T/s12-$p.sc'"
    sclient "$p" "s384-$p" -tls1_2 -groups P-384 -verify_hostname localhost
    check "$p: openssl TLS 1.2 with ECDHE over P-384 only, name localhost verified" \
        sh -c "grep -q 'Server Temp Key: ECDH, secp384r1' '$T/s384-$p.sc' &&
               grep -q 'Verify return code: 0 (ok)' '$T/s384-$p.sc'"
    sclient "$p" "s13-$p" -tls1_3
    check "$p: openssl TLS 1.3 handshake" grep -q '^New, TLSv1.3' "$T/s13-$p.sc"
    # SECLEVEL=0: OpenSSL 3 would not offer TLS 1.1 itself; the refusal
    # must be the server's (a protocol_version alert).
    sclient "$p" "s11-$p" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0'
    check "$p: TLS 1.1 refused by the server (alert protocol version)" \
        sh -c "grep -q 'alert protocol version' '$T/s11-$p.sc' && grep -q '^New, (NONE)' '$T/s11-$p.sc'"
done

# ---- gnutls-cli: SIP OPTIONS over TLS to 5061, handshakes on 5349
options() {
    printf 'OPTIONS sip:127.0.0.1:5061 SIP/2.0\r\nVia: SIP/2.0/TLS %s:5061;branch=z9hG4bK-%s\r\nMax-Forwards: 70\r\nFrom: <sip:probe@localhost>;tag=%s\r\nTo: <sip:127.0.0.1:5061>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
        "$PHONE" "$1" "$1" "$1"
}
gcli() { # gcli PORT NAME PRIORITY [INPUT]: output in $T/NAME.gc
    (if [ -n "$4" ]; then options "$4"; fi; sleep 1) | timeout 10 gnutls-cli \
        --x509cafile="$CERT" --priority "$3" -p "$1" 127.0.0.1 >"$T/$2.gc" 2>&1
}
gcli 5061 opt 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-GROUP-ALL:+GROUP-SECP384R1' dp-opt-1
check "5061: gnutls-cli TLS 1.2 ECDHE-SECP384R1, certificate trusted" \
    sh -c "grep -q 'Description: (TLS1.2-X.509)-(ECDHE-SECP384R1)' '$T/opt.gc' &&
           grep -q 'The certificate is trusted' '$T/opt.gc'"
check "  SIP OPTIONS over it answered 200 by sigd" grep -q '^SIP/2.0 200 OK' "$T/opt.gc"
gcli 5349 g12 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-GROUP-ALL:+GROUP-SECP384R1'
check "5349: gnutls-cli TLS 1.2 ECDHE-SECP384R1, certificate trusted" \
    sh -c "grep -q 'Description: (TLS1.2-X.509)-(ECDHE-SECP384R1)' '$T/g12.gc' &&
           grep -q 'The certificate is trusted' '$T/g12.gc'"
gcli 5349 g11 'NORMAL:-VERS-ALL:+VERS-TLS1.1'
check "5349: gnutls-cli TLS 1.1 refused (protocol version)" \
    sh -c "! grep -q 'Handshake was completed' '$T/g11.gc' && grep -q 'protocol version' '$T/g11.gc'"

# ---- a TURN Allocate over TLS (Python's ssl verifying the name localhost)
CERT=$CERT timeout 15 "$PY" - >"$T/alloc.out" 2>&1 <<'EOPY'
import os, socket, ssl, struct
ctx = ssl.create_default_context(cafile=os.environ["CERT"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", 5349), timeout=5),
                    server_hostname="localhost")
print("tls", s.version())
tid = os.urandom(12)
attr = struct.pack("!HHI", 0x0019, 4, 17 << 24)   # REQUESTED-TRANSPORT UDP
s.sendall(struct.pack("!HHI", 0x0003, len(attr), 0x2112A442) + tid + attr)
hdr = b""
while len(hdr) < 20:
    hdr += s.recv(20 - len(hdr))
mtype, mlen = struct.unpack("!HH", hdr[:4])
body = b""
while len(body) < mlen:
    body += s.recv(mlen - len(body))
i = 0
while i + 4 <= len(body):
    t, l = struct.unpack("!HH", body[i:i + 4])
    v = body[i + 4:i + 4 + l]
    if t == 0x0009:
        print("error", v[2] * 100 + v[3], v[4:].decode(errors="replace"))
    elif t == 0x0014:
        print("realm", v.decode())
    elif t == 0x0015:
        print("nonce", len(v))
    i += 4 + ((l + 3) & ~3)
print("type 0x%04x same-tid %s" % (mtype, hdr[8:20] == tid))
EOPY
check "5349: a TURN Allocate over TLS is challenged: 401 with realm and nonce" \
    sh -c "grep -q '^type 0x0113 same-tid True' '$T/alloc.out' && grep -q '^error 401' '$T/alloc.out' &&
           grep -q '^realm gw' '$T/alloc.out' && grep -q '^nonce [1-9]' '$T/alloc.out'"

# ---- baresip over TLS with mandatory SRTP, to the plan's internal target
(cd "$T" && exec sipp -sf "$ROOT/test/sipp/uas_echo.xml" -i 127.0.0.3 -p 5080 -mi 127.0.0.3 \
    -rtp_echo -nostdin -m 1 -timeout 30s -trace_msg >"$T/uas.out" 2>&1) &
UAS=$!
PIDS="$PIDS $UAS"
baresip_config "$T/bt" "$PHONE:15072" 16300-16399 "sip_cafile		$CERT"
baresip_dial "$T/bt" "<sip:phone@$PHONE;transport=tls>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMA" \
    "sip:service@127.0.0.1:5061" "$T/baresip.log"
check "baresip's call over TLS to 127.0.0.1:5061 was established with SDES SRTP" \
    sh -c "grep -q 'SRTP is Enabled' '$T/baresip.log' && grep -q 'incoming rtp for .audio. established' '$T/baresip.log'"
uas_log=$(ls -t "$T"/uas_echo_*_messages.log 2>/dev/null | head -n 1)
# Topology hiding: the platform sees only sigd's INT Via and Record-Route.
check "  the INVITE from baresip's TLS connection reached 127.0.0.3:5080 hidden (sigd's INT Via and Record-Route only)" \
    sh -c "grep -Eq '^Via: SIP/2.0/UDP 127.0.0.2(:5060)?;' '$uas_log' && ! grep -q '^Via: SIP/2.0/TLS' '$uas_log' && grep -q '^Record-Route: <sip:127.0.0.2:5060;lr>' '$uas_log'"
check "  the platform's leg is plain RTP (no a=crypto inside)" \
    sh -c "grep -q '^m=audio [0-9]* RTP/AVP ' '$uas_log' && ! grep -q '^a=crypto' '$uas_log'"
check "  and baresip's BYE came through sigd" grep -q '^BYE ' "$uas_log"
wait_until 5 grep -q "stream 0 ended" "$T/run1.log"
set -- $(stream_counts "$T/run1.log")
check "  mediad relayed the SRTP both ways (EXT in ${1:-?} out ${2:-?}, INT in ${3:-?} out ${4:-?})" \
    [ "${1:-0}" -ge 250 -a "${2:-0}" -ge 250 -a "${3:-0}" -ge 250 -a "${4:-0}" -ge 250 ]
wait "$UAS" 2>/dev/null

check "the plan stops on SIGTERM to run.sh, its daemons with it" plan_down run1

# ---- second start: the same certificate
check "a second start of the plan" plan_up run2
PIDS="$PIDS $(plan_pids run2)"
check "  does not make the certificate again" sh -c "! grep -q '^localcert: made' '$T/run2.log'"
F2=$(fpr)
check "  and presents the same one (SHA-256 ${F1%%:*}...)" [ -n "$F1" -a "$F1" = "$F2" ]
sclient 5061 again -tls1_2 -verify_ip 127.0.0.1
check "  which verifies on 5061 as before" grep -q 'Verify return code: 0 (ok)' "$T/again.sc"
check "the second plan stops too" plan_down run2
check "no key material in the daemons' logs" sh -c "! grep -q 'PRIVATE KEY' '$T/run1.log' '$T/run2.log'"
both_clean() { clean_log run1 && clean_log run2; }
check "no sanitizer report from the daemons of either start" both_clean
finish
