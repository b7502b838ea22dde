#!/bin/sh
# Makes the test PKI in directory $1 with GnuTLS's certtool:
#   ca.pem            root CA (the tls_ca of sigd and of the test peers)
#   sub.pem           intermediate CA, signed by the root
#   NAME.pem/.key     leaf for DNS name NAME signed by the intermediate; the
#                     .pem holds the leaf and then the intermediate (a chain)
#   rogue-ca.pem      another root nobody trusts; untrusted.pem/.key: a
#                     leaf for "localhost" signed by it
#   ip.pem/.key       leaf with only an IP SAN 127.0.0.1 (names never match IPs)
# Usage: tlscerts.sh DIR [NAME...] (default names: localhost other.invalid)
set -eu
d=$1; shift
[ $# -gt 0 ] || set -- localhost other.invalid
mkdir -p "$d"
cd "$d"
key() { certtool --generate-privkey --key-type=ecdsa --curve=secp384r1 --outfile "$1" 2>/dev/null; }
tmpl() { printf '%s\n' "$@" > t.tmpl; }

key ca.key
tmpl 'cn = "gw test root"' 'ca' 'cert_signing_key' 'expiration_days = 30'
certtool --generate-self-signed --load-privkey ca.key --template t.tmpl --outfile ca.pem 2>/dev/null
key sub.key
tmpl 'cn = "gw test intermediate"' 'ca' 'cert_signing_key' 'expiration_days = 30'
certtool --generate-certificate --load-privkey sub.key --load-ca-certificate ca.pem \
    --load-ca-privkey ca.key --template t.tmpl --outfile sub.pem 2>/dev/null
leaf() { # leaf NAME CAPEM CAKEY OUT [template lines...]
    n=$1; cp=$2; ck=$3; out=$4; shift 4
    key "$out.key"
    tmpl "cn = \"$n\"" "$@" 'tls_www_server' 'tls_www_client' 'signing_key' 'expiration_days = 30'
    certtool --generate-certificate --load-privkey "$out.key" --load-ca-certificate "$cp" \
        --load-ca-privkey "$ck" --template t.tmpl --outfile "$out.leaf" 2>/dev/null
}
for n in "$@"; do
    leaf "$n" sub.pem sub.key "$n" "dns_name = \"$n\""
    cat "$n.leaf" sub.pem > "$n.pem"
done
key rogue-ca.key
tmpl 'cn = "rogue root"' 'ca' 'cert_signing_key' 'expiration_days = 30'
certtool --generate-self-signed --load-privkey rogue-ca.key --template t.tmpl --outfile rogue-ca.pem 2>/dev/null
leaf localhost rogue-ca.pem rogue-ca.key untrusted 'dns_name = "localhost"'
mv untrusted.leaf untrusted.pem
leaf 127.0.0.1 sub.pem sub.key ip 'ip_address = "127.0.0.1"'
cat ip.leaf sub.pem > ip.pem
chmod 600 ./*.key
rm -f t.tmpl ./*.leaf
