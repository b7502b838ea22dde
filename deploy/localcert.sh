#!/bin/sh
# The certificate of the default plan (deploy/local.ini, `make run`): SIP
# over TLS on 127.0.0.1:5061 (sigd) and TURN over TLS on 127.0.0.1:5349
# (turnd) present it, and sigd trusts it as its tls_ca. Self-signed, for
# loopback only: ECDSA P-384, CN "gw loopback", SAN IP 127.0.0.1 and DNS
# localhost, server and client use, valid 10 years.
#
#   sh deploy/localcert.sh [DIR]      (DIR: build/tls)
#     DIR/local.pem   the certificate (also the CA file clients trust)
#     DIR/local.key   its private key, mode 0600
#
# Made once: when both files exist nothing is touched, so a client that
# trusts or pinned the certificate keeps working across `make run`s.
# Remove DIR to get a new one; to use a real certificate, point tls_cert,
# tls_key (and sigd's tls_ca) elsewhere. Made with GnuTLS's certtool
# (gnutls-bin, from deploy/deps.sh), or openssl where certtool is missing.
set -eu
d=${1:-build/tls}
pem=$d/local.pem
key=$d/local.key
[ -s "$pem" ] && [ -s "$key" ] && exit 0

mkdir -p "$d"
umask 077
tmp=$(mktemp -d "$d/.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if command -v certtool >/dev/null 2>&1; then
    cat >"$tmp/t.tmpl" <<EOF
cn = "gw loopback"
organization = "split-plane gateway, make run (self-signed, loopback only)"
ip_address = "127.0.0.1"
dns_name = "localhost"
tls_www_server
tls_www_client
signing_key
expiration_days = 3650
EOF
    certtool --generate-privkey --key-type=ecdsa --curve=secp384r1 \
        --outfile "$tmp/local.key" >"$tmp/log" 2>&1 &&
    certtool --generate-self-signed --load-privkey "$tmp/local.key" \
        --template "$tmp/t.tmpl" --outfile "$tmp/local.pem" >>"$tmp/log" 2>&1 ||
        { cat "$tmp/log" >&2; echo "localcert: certtool failed" >&2; exit 1; }
elif command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes \
        -keyout "$tmp/local.key" -out "$tmp/local.pem" -days 3650 -sha384 \
        -subj "/O=split-plane gateway, make run (self-signed, loopback only)/CN=gw loopback" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,digitalSignature" \
        -addext "extendedKeyUsage=serverAuth,clientAuth" >"$tmp/log" 2>&1 ||
        { cat "$tmp/log" >&2; echo "localcert: openssl failed" >&2; exit 1; }
else
    echo "localcert: neither certtool (gnutls-bin) nor openssl is installed" >&2
    exit 1
fi
chmod 600 "$tmp/local.key"
chmod 644 "$tmp/local.pem"
# The key first: a certificate without its key is never left behind.
mv -f "$tmp/local.key" "$key"
mv -f "$tmp/local.pem" "$pem"
echo "localcert: made $pem (self-signed, loopback only) and $key (0600)"
