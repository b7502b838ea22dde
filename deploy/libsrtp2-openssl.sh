#!/bin/sh
# Builds libsrtp2 from Debian's own source package with its OpenSSL crypto
# back end, as a static library for mediad:
#
#   sh deploy/libsrtp2-openssl.sh OUTDIR
#
# installs OUTDIR/include/srtp2/*.h and OUTDIR/lib/libsrtp2.a. Why: Debian's
# libsrtp2 binary package is built on NSS, whose softoken makes SRTP
# transcryption cost much more per packet, per context and per dealloc
# (README, "SRTP crypto back end"); the same source on OpenSSL does not.
#
# The source comes through apt, so it is what Debian ships (with Debian's
# patches) and is verified as apt verifies everything: the Sources index is
# checked against the archive's signed Release file, the .dsc and tarballs
# against the index. Nothing of the system's apt state is touched: the
# deb-src list is derived from the system's deb entries into OUTDIR/apt, and
# the indexes and caches live there too; the rest of the system's apt
# configuration (mirrors, proxies, keyrings) applies as usual.
#
# Idempotent: when OUTDIR/stamp names the same build, nothing runs and no
# network is used. Remove OUTDIR to pick up a newer Debian source version.
# Quiet unless it fails: then the end of OUTDIR/build.log is shown and the
# exit status is 1.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
A=$OUT/apt
LOG=$OUT/build.log
# What is built, besides the source version: a change here rebuilds.
CONFIGURE="--enable-openssl --disable-pcap"
BUILD_CFLAGS="-O2 -g -fPIC"
SIG="configure=$CONFIGURE cflags=$BUILD_CFLAGS"

fail() {
    echo "libsrtp2-openssl: $*" >&2
    if [ -s "$LOG" ]; then
        echo "libsrtp2-openssl: last lines of $LOG:" >&2
        tail -n 25 "$LOG" >&2
    fi
    exit 1
}

built() {
    [ -f "$OUT/stamp" ] && [ -f "$OUT/lib/libsrtp2.a" ] &&
        [ -f "$OUT/include/srtp2/srtp.h" ] &&
        [ "$(sed -n 2p "$OUT/stamp")" = "$SIG" ]
}

built && exit 0

# Two builds (rel and san) may share OUTDIR: one builds, the other waits.
exec 9>"$OUT/.lock"
flock 9
built && exit 0
: >"$LOG"

# ---- a private deb-src list, from the system's deb entries of this
# release (its codename and its -updates/-security suites; third-party
# repositories rarely publish sources, and a missing index fails update).
. /etc/os-release
CODENAME=${VERSION_CODENAME:-bookworm}
rm -rf "$A/sources.list.d"
mkdir -p "$A/sources.list.d" "$A/lists/partial" "$A/cache/archives/partial"
: >"$A/sources.list"

for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v cn="$CODENAME" '
        function ours(s) { return s == cn || index(s, cn "-") == 1 || index(s, cn "/") == 1 }
        function flush(   i, n, w, keep) {
            if (nl > 0 && isdeb && enabled) {
                n = split(suites, w, /[ \t]+/); keep = ""
                for (i = 1; i <= n; i++) if (w[i] != "" && ours(w[i])) keep = keep " " w[i]
                if (keep != "") {
                    for (i = 1; i <= nl; i++) {
                        if (line[i] ~ /^Types:/) print "Types: deb-src"
                        else if (line[i] ~ /^Suites:/) print "Suites:" keep
                        else print line[i]
                    }
                    print ""
                }
            }
            nl = 0; isdeb = 0; enabled = 1; suites = ""
        }
        BEGIN { nl = 0; isdeb = 0; enabled = 1 }
        /^[ \t]*$/ { flush(); next }
        /^#/ { next }
        {
            line[++nl] = $0
            if ($0 ~ /^Types:/) { t = " " substr($0, 7) " "; gsub(/\t/, " ", t); isdeb = index(t, " deb ") > 0 }
            if ($0 ~ /^Suites:/) suites = substr($0, 8)
            if ($0 ~ /^Enabled:[ \t]*[Nn][Oo]/) enabled = 0
        }
        END { flush() }
    ' "$f" >"$A/sources.list.d/$(basename "$f")"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    awk -v cn="$CODENAME" '
        $1 != "deb" { next }
        {
            i = 2
            if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            s = $(i + 1)
            if (s == cn || index(s, cn "-") == 1 || index(s, cn "/") == 1) {
                sub(/^deb/, "deb-src"); print
            }
        }
    ' "$f" >>"$A/sources.list"
done
if ! grep -qs -e '^Types: deb-src' -e '^deb-src' "$A/sources.list" "$A"/sources.list.d/*; then
    fail "no deb entries for $CODENAME in /etc/apt/sources.list or sources.list.d"
fi

set -- -q -o Dir::Etc::SourceList="$A/sources.list" \
    -o Dir::Etc::SourceParts="$A/sources.list.d" \
    -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache" \
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
apt-get "$@" update >>"$LOG" 2>&1 || fail "apt-get update (private deb-src list in $A) failed"
# A warning about an index that was not fetched (W: ... ignored) would
# leave an older or no candidate; treat it as a failure.
if grep -q '^[WE]: .*\(Failed to fetch\|failed to download\|ignored\)' "$LOG"; then
    fail "apt-get update could not fetch every source index"
fi

# ---- fetch, verify and unpack (apt-get source runs dpkg-source -x, which
# applies Debian's patches). No --allow-unauthenticated: an index that does
# not verify against the keyring stops here.
rm -rf "$OUT/src"
mkdir -p "$OUT/src"
# As root, apt downloads as its unprivileged _apt user; let it write here.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
    chown _apt "$OUT/src"
fi
(cd "$OUT/src" && apt-get "$@" source libsrtp2) >>"$LOG" 2>&1 ||
    fail "apt-get source libsrtp2 failed"
DSC=$(ls "$OUT"/src/libsrtp2_*.dsc 2>/dev/null | head -n 1)
[ -n "$DSC" ] || fail "no libsrtp2 .dsc in $OUT/src"
VERSION=$(sed -n 's/^Version: //p' "$DSC")
SRC=$(ls -d "$OUT"/src/libsrtp2-*/ 2>/dev/null | head -n 1)
[ -n "$SRC" ] && [ -x "$SRC/configure" ] || fail "libsrtp2 $VERSION did not unpack"

# ---- configure, build, self-test, install. Our own flags only: the
# caller's CFLAGS (make exports them with -Werror and sanitizers) are not
# meant for this code. libsrtp2's Makefile builds libsrtp2.a by default;
# its shared library is a separate target we do not ask for.
(
    cd "$SRC"
    unset CPPFLAGS LDFLAGS LIBS
    CC=cc CFLAGS="$BUILD_CFLAGS" ./configure --prefix="$OUT" $CONFIGURE
    make -j"$(nproc 2>/dev/null || echo 2)" libsrtp2.a
    # libsrtp2's own drivers: the ciphers' known-answer tests and SRTP
    # round trips, on this crypto back end, before mediad links it.
    make -j"$(nproc 2>/dev/null || echo 2)" test
    ./test/srtp_driver -v
    ./crypto/test/cipher_driver -v
    rm -rf "$OUT/include/srtp2" "$OUT/lib"
    make install
) >>"$LOG" 2>&1 || fail "building libsrtp2 $VERSION with OpenSSL failed"
grep -q '^#define OPENSSL 1' "$SRC/crypto/include/config.h" ||
    fail "libsrtp2 $VERSION was configured without OpenSSL"
[ -f "$OUT/lib/libsrtp2.a" ] || fail "libsrtp2.a was not installed"
# A shared library next to it would be preferred by -L/-l style links.
rm -f "$OUT"/lib/libsrtp2.so*

printf '%s\n%s\n' "$VERSION" "$SIG" >"$OUT/stamp"
echo "libsrtp2-openssl: libsrtp2 $VERSION (Debian source, OpenSSL back end) in $OUT" >&2
