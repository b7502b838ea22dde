#!/bin/sh
# Installs the Debian 12 packages that building, running and testing the
# gateway need. Idempotent: quiet and quick when everything is present, and
# runs `apt-get update` only when something is missing.
set -eu

# dpkg-dev (dpkg-source) and debian-archive-keyring: deploy/libsrtp2-openssl.sh
# fetches and verifies Debian's libsrtp2 source with apt-get source.
# liburing-dev: turnd's relay I/O (turnd/relayq.c) and the benchmark's
# floor relay (test/bench/turnfloor.c).
PKGS="build-essential pkg-config dpkg-dev debian-archive-keyring
libsofia-sip-ua-dev libsrtp2-dev libgnutls28-dev libzmq3-dev
libprotobuf-c-dev protobuf-c-compiler libuv1-dev libinih-dev
libssl-dev libnss3-dev liburing-dev
sip-tester stun-client tshark coturn python3-pylibsrtp python3-zmq
protobuf-compiler python3-protobuf baresip-core python3-prometheus-client
iproute2 nftables clang libclang-rt-14-dev
gnutls-bin"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# tshark asks whether non-root users may capture; answer no, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# coturn's package enables a system turnserver on 3478; it would collide with
# turnd. We only use its client tools.
if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now coturn >/dev/null 2>&1 || true
fi
$SUDO pkill -x turnserver 2>/dev/null || true
echo "deps: done" >&2
