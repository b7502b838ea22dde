#!/bin/sh
# SIP over TLS on EXT (sigd/siptls.c): the trunk spec's policy and the
# outbound trunk checks, with independent peers.
#  - inbound, gnutls-cli as the client: TLS 1.2 with ECDHE secp384r1 and
#    the whole chain presented; TLS 1.3; TLS 1.1 and a cipher outside
#    tls_ciphers refused; OPTIONS answered over the TLS connection;
#  - outbound, trunks dialled by DNS name (dnspeer.py answers for them)
#    and served by tlspeer.py (Python's ssl, i.e. OpenSSL) or a silent TCP
#    listener: a trunk whose certificate names another host, one signed by
#    an unknown CA, one dialled by IP address with an IP-only certificate,
#    and one that never completes a handshake are each refused and the
#    call goes to the next trunk of the route, well before nta's 32 s;
#    mutual TLS towards a trunk that requires sigd's certificate;
#  - calls have their media anchored in mediad and leave no session;
#  - the outbound routes are given on three lines (a list directive
#    repeated adds up).
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
TRUNK=$NET.4
DNS=$NET.53
PKI=$T/pki

sh "$HERE/tlscerts.sh" "$PKI" sigd.test c.tk f.tk g.tk other.invalid
set -- $(free_ports 8)
PA=$1; PB=$2; PC=$3; PD=$4; PE=$5; PF=$6; TLSP=$7; PG=$8

echo "nameserver $DNS" >"$T/resolv.conf"
start_daemon dns /usr/bin/python3 "$HERE/dnspeer.py" "$DNS" \
    a.tk="$TRUNK" b.tk="$TRUNK" c.tk="$TRUNK" \
    e.tk="$TRUNK" f.tk="$TRUNK" g.tk="$TRUNK"
peer() { # peer NAME PORT CERTBASE [args]
    n=$1; p=$2; c=$3; shift 3
    start_daemon "$n" /usr/bin/python3 "$HERE/tlspeer.py" "$TRUNK" "$p" \
        "$PKI/$c.pem" "$PKI/$c.key" "$@"
}
peer trunk-a "$PA" other.invalid            # names another host
peer trunk-b "$PB" untrusted                # signed by a CA nobody trusts
peer trunk-c "$PC" c.tk             # the good one
peer trunk-d "$PD" ip                       # IP SAN only, dialled by IP
peer trunk-f "$PF" f.tk --ca "$PKI/ca.pem" --require-client-cert
peer trunk-g "$PG" g.tk --tls11                # TLS 1.1 at most
# trunk-e accepts TCP and never answers the handshake
start_daemon trunk-e /usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$TRUNK', $PE)); s.listen(8); print('listening', flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
"

write_config
cat >>"$T/gw.ini" <<EOC

[sigd]
resolv_conf = $T/resolv.conf
tls_port = $TLSP
tls_cert = $PKI/sigd.test.pem
tls_key = $PKI/sigd.test.key
tls_ca = $PKI/ca.pem
tls_groups = X25519:P-256:P-384
tls_verify_clients = yes

[antifraud]
allowed_prefixes = +41,+33,+49,+43,+44

[routes]
outbound = +41=sips:a.tk:$PA|sips:b.tk:$PB|sips:c.tk:$PC, +33=sips:$TRUNK:$PD|sips:c.tk:$PC
outbound = +49=sips:e.tk:$PE|sips:c.tk:$PC, +43=sips:f.tk:$PF, tgrp:viaF=sips:f.tk:$PF
outbound = +44=sips:g.tk:$PG|sips:c.tk:$PC
trunks = carrierC=tls:c.tk
trunk_context = gw.test
EOC

for n in trunk-a trunk-b trunk-c trunk-d trunk-e trunk-f trunk-g; do
    wait_until 10 grep -q listening "$T/$n.log" || not_ok "test peer $n did not start"
done
start_daemon platform /usr/bin/python3 "$HERE/sipprobe.py" responder "$LAN:15080"
# Under ASan: Sofia's own leak of each peer certificate's decoded
# subjectAltName is suppressed by name (see the file), with full stacks.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0" \
LSAN_OPTIONS="suppressions=$HERE/lsan-sofia-tls.supp:print_suppressions=0" \
    start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "sigd listens for TLS on EXT" wait_until 10 grep -q "listening on sips:$EXT:$TLSP (tls" "$T/sigd.log"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

# ---- inbound: gnutls-cli against sigd's TLS port
options() { # options CALLID: an OPTIONS request for sigd itself
    printf 'OPTIONS sip:%s:%s SIP/2.0\r\nVia: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK-%s\r\nMax-Forwards: 70\r\nFrom: <sip:probe@sigd.test>;tag=%s\r\nTo: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
        "$EXT" "$TLSP" "$1" "$1" "$EXT" "$1"
}
tlscli() { # tlscli NAME PRIORITY: OPTIONS over a TLS session, output in $T/NAME.cli
    n=$1; shift
    (options "$n"; sleep 1) | timeout 10 gnutls-cli --x509cafile="$PKI/ca.pem" \
        --verify-hostname=sigd.test --priority "$1" -p "$TLSP" "$EXT" >"$T/$n.cli" 2>&1
}
tlscli cli12 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-GROUP-ALL:+GROUP-SECP384R1'
check "TLS 1.2 with ECDHE secp384r1 is negotiated" \
    grep -q 'Description: (TLS1.2-X.509)-(ECDHE-SECP384R1)' "$T/cli12.cli"
check "  the server presents its whole chain (leaf and intermediate)" \
    grep -q "subject .CN=gw test intermediate', issuer .CN=gw test root'" "$T/cli12.cli"
check "  the chain verifies for the name sigd.test" \
    grep -q 'The certificate is trusted' "$T/cli12.cli"
check "  OPTIONS over it is answered 200 by sigd" grep -q '^SIP/2.0 200 OK' "$T/cli12.cli"
tlscli cli13 'NORMAL:-VERS-ALL:+VERS-TLS1.3'
check "TLS 1.3 is negotiated" grep -q 'Description: (TLS1.3' "$T/cli13.cli"
tlscli cli11 'NORMAL:-VERS-ALL:+VERS-TLS1.1'
check "TLS 1.1 is refused" sh -c "! grep -q 'Handshake was completed' '$T/cli11.cli' && grep -q 'protocol version' '$T/cli11.cli'"
tlscli clicbc 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC'
check "a TLS 1.2 cipher outside tls_ciphers (AES-CBC) is refused" \
    sh -c "! grep -q 'Handshake was completed' '$T/clicbc.cli'"

# ---- trunks by TLS name, RFC 4904 trunk groups towards the platform
tlscli_cert() { # tlscli_cert NAME USER CERTBASE: OPTIONS for USER, with a client certificate
    n=$1
    (printf 'OPTIONS sip:%s@%s:%s SIP/2.0\r\nVia: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK-%s\r\nMax-Forwards: 70\r\nFrom: <sip:carrier@c.tk>;tag=%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
        "$2" "$EXT" "$TLSP" "$n" "$n" "$2" "$EXT" "$n"; sleep 1) |
        timeout 10 gnutls-cli --x509cafile="$PKI/ca.pem" --verify-hostname=sigd.test \
        ${3:+--x509certfile="$PKI/$3.pem" --x509keyfile="$PKI/$3.key"} \
        -p "$TLSP" "$EXT" >"$T/$n.cli" 2>&1
}
tlscli_cert tgin +41445551234 c.tk
check "a request from the trunk's TLS connection (certificate c.tk) is answered" \
    grep -q '^SIP/2.0 200 OK' "$T/tgin.cli"
check "  it reached the platform tagged tgrp=carrierC;trunk-context=gw.test" \
    grep -q "^OPTIONS sip:+41445551234;tgrp=carrierC;trunk-context=gw.test@$LAN:15080 SIP/2.0" "$T/platform.log"
tlscli_cert tgnone +41445551235
check "the same request without a client certificate is not tagged" \
    sh -c "grep -q '^OPTIONS sip:+41445551235@$LAN:15080 SIP/2.0' '$T/platform.log'"
tlscli_cert tgother +41445551236 f.tk
check "  nor with a certificate for another name" \
    sh -c "grep -q '^OPTIONS sip:+41445551236@$LAN:15080 SIP/2.0' '$T/platform.log'"

# ---- outbound: calls from the platform to TLS trunks
call() { # call NAME RURI: sipp UAC on the platform's address through INT
    (cd "$T" && timeout 30 sipp "$INT:15060" -sf "$SIPP_DIR/uac_out.xml" -i "$LAN" \
        -p 15091 -mi "$LAN" -mp 17000 -m 1 -nostdin -trace_err -timeout 25s \
        -key ruri "$2" >"$T/$1-uac.out" 2>&1)
}
elapsed() { # elapsed CMD...: runs CMD, prints whole seconds taken; CMD's status
    s=$(date +%s); "$@"; rc=$?; echo $(( $(date +%s) - s )) >"$T/elapsed"; return $rc
}

check "a call to +41 succeeds through the third trunk" elapsed call c41 "sip:+41445551234@$INT:15060"
sec=$(cat "$T/elapsed")
check "  trunk a (certificate for another name) refused, named in the log" \
    grep -q "to sips:a.tk:$PA over TLS failed: certificate names (DNS:other.invalid) do not match" "$T/sigd.log"
check "  trunk b (unknown CA) refused" \
    grep -q "to sips:b.tk:$PB over TLS failed: certificate: unable to get local issuer" "$T/sigd.log"
check "  the INVITE reached trunk c over TLS, and the BYE too" \
    sh -c "grep -q '^INVITE .* tls=TLSv1.[23]' '$T/trunk-c.log' && grep -q '^BYE ' '$T/trunk-c.log'"
check "  trunks a and b saw no SIP message" \
    sh -c "! grep -q '^INVITE' '$T/trunk-a.log' && ! grep -q '^INVITE' '$T/trunk-b.log'"
check "  two refused trunks cost seconds, not timer B's 32 s ($sec s)" [ "$sec" -lt 10 ]

check "a call to +33 skips the trunk dialled by IP (IP names never match)" \
    call c33 "sip:+33145551234@$INT:15060"
check "  the IP trunk was refused for its names" \
    grep -q "to sips:$TRUNK:$PD over TLS failed: certificate names (IP address) do not match" "$T/sigd.log"

check "a call to +49 gets past a trunk that never completes the handshake" \
    elapsed call c49 "sip:+49305551234@$INT:15060"
sec=$(cat "$T/elapsed")
check "  the silent trunk is given up after tls_timeout_ms" \
    grep -q "to sips:e.tk:$PE over TLS failed: no TLS connection within 2000 ms" "$T/sigd.log"
check "  ... and the call still completes well before 32 s ($sec s)" [ "$sec" -lt 15 ]

check "a call to +44 gets past a trunk that speaks TLS 1.1 at most" call c44 "sip:+44205551234@$INT:15060"
check "  the TLS 1.1 trunk was refused at the handshake, no SIP sent to it" \
    sh -c "grep -q 'to sips:g.tk:$PG over TLS failed: handshake' '$T/sigd.log' && ! grep -q '^INVITE' '$T/trunk-g.log'"

check "a call to +43 succeeds over mutual TLS" call c43 "sip:+43155551234@$INT:15060"
check "  the trunk saw sigd's certificate (CN sigd.test)" \
    grep -q '^INVITE .* peer-cert=sigd.test' "$T/trunk-f.log"

check "a call naming trunk group viaF goes to that route, not to +41's" \
    call tgout "sip:+41445559999;tgrp=viaF;trunk-context=gw.test@$INT:15060"
check "  trunk f got it, without the trunk-group tags" \
    grep -q "^INVITE .* uri=sip:+41445559999@f.tk:$PF" "$T/trunk-f.log"

no_sessions() { [ "$(gwctl_field media1 sessions)" = 0 ]; }
wait_until 10 no_sessions
sessions=$(gwctl_field media1 sessions)
check "no media session is left on the node (got '$sessions')" [ "$sessions" = 0 ]
calls=$(grep -c 'media on .media1.' "$T/sigd.log")
check "  every call had its media on the node ($calls)" [ "$calls" -ge 6 ]
check "no key material in sigd's log" sh -c "! grep -q 'PRIVATE KEY' '$T/sigd.log'"
check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad

# A TLS policy OpenSSL refuses stops the start with file, line and reason.
bad() { # bad NAME LINE...: sigd with the lines appended; prints its exit status
    cp "$T/gw.ini" "$T/$1.ini"; n=$1; shift
    printf '\n[sigd]\n' >>"$T/$n.ini"
    for l in "$@"; do printf '%s\n' "$l" >>"$T/$n.ini"; done
    timeout 10 "$BIN/sigd" -c "$T/$n.ini" >"$T/$n.log" 2>&1
    echo $?
}
rc=$(bad badgroup "tls_groups = P-999")
line=$(grep -n '^tls_groups = P-999' "$T/badgroup.ini" | cut -d: -f1)
check "an unknown ECDHE group stops sigd with file:line (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -q 'badgroup.ini:$line: \[sigd\] tls_groups: not accepted by OpenSSL' '$T/badgroup.log'"
rc=$(bad badcipher "tls_ciphers = NOSUCHCIPHER")
line=$(grep -n '^tls_ciphers = NOSUCHCIPHER' "$T/badcipher.ini" | cut -d: -f1)
check "a cipher list with no usable cipher stops sigd with file:line (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -q \"badcipher.ini:$line: \[sigd\] tls_ciphers: 'NOSUCHCIPHER': no usable cipher\" '$T/badcipher.log'"
rc=$(bad badkey "tls_key = $PKI/c.tk.key")
check "a key that is not the certificate's stops sigd (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -q 'tls_key: .*not the key of tls_cert' '$T/badkey.log'"

# sigd --check tries the same TLS policy: each bad file is refused there
# with the start's reason, the good one passes.
for n in badgroup badcipher badkey; do
    timeout 10 "$BIN/sigd" -c "$T/$n.ini" --check >"$T/$n.check" 2>&1
    rc=$?
    grep -o '\[sigd\] tls_[a-z_]*: [^(]*' "$T/$n.log" | head -n 1 >"$T/$n.want"
    check "sigd --check refuses $n.ini with the start's reason (exit $rc: $(cat "$T/$n.want"))" \
        sh -c "[ $rc = 1 ] && [ -s '$T/$n.want' ] && grep -qF -f '$T/$n.want' '$T/$n.check'"
done
timeout 10 "$BIN/sigd" -c "$T/gw.ini" --check >"$T/good.check" 2>&1
rc=$?
check "sigd --check passes the good TLS configuration (exit $rc)" \
    sh -c "[ $rc = 0 ] && grep -q 'sigd: configuration OK' '$T/good.check'"
finish
