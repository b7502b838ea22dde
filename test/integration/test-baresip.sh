#!/bin/sh
# SRTP interop with an independent implementation: baresip (its SRTP is
# libre's own code, not libsrtp) calls through sigd with mandatory SDES
# SRTP and plays a 440 Hz tone; the internal platform is a plain-RTP sipp
# echo. mediad decrypts baresip's SRTP (libsrtp2) and encrypts the echo
# with its own key; baresip decrypts it and records what it hears
# (sndfile), and the recording must be the same tone.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PHONE=$NET.5

PKI=$T/pki
sh "$HERE/tlscerts.sh" "$PKI" sigd.test
TLSP=$(free_ports 1)
write_config
cat >>"$T/gw.ini" <<EOC

[sigd]
tls_port = $TLSP
tls_cert = $PKI/sigd.test.pem
tls_key = $PKI/sigd.test.key
tls_ca = $PKI/ca.pem
EOC
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 .*state=live'"
(cd "$T" && exec sipp -sf "$HERE/../sipp/uas_echo.xml" -i "$LAN" -p 15080 -mi "$LAN" \
    -mp 17000 -rtp_echo -nostdin -m 1 -timeout 30s >"$T/uas.out" 2>&1) &
UAS1=$!
PIDS="$PIDS $UAS1"

baresip_config "$T/bs" "$PHONE:15070" 16100-16199
baresip_dial "$T/bs" "<sip:phone@$PHONE>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMA" \
    "sip:service@$EXT:15060" "$T/baresip.log"
check "baresip negotiated SDES SRTP with the gateway" \
    grep -q "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)" "$T/baresip.log"
check "baresip's call was established and it received RTP from the relay" \
    grep -q "incoming rtp for 'audio' established, receiving from $EXT:" "$T/baresip.log"
wait_until 5 grep -q "stream 0 ended" "$T/mediad.log"
set -- $(stream_counts "$T/mediad.log")
check "mediad decrypted baresip's SRTP and relayed it inside ($1 in, $4 out on INT)" \
    [ "${1:-0}" -ge 250 -a "${4:-0}" -ge 250 ]
check "and encrypted the echo towards baresip ($3 in on INT, $2 out on EXT)" \
    [ "${3:-0}" -ge 250 -a "${2:-0}" -ge 250 ]
dec=$(ls "$T"/bs/dump-*-dec.wav 2>/dev/null | head -n 1)
verdict=$(/usr/bin/python3 - "$dec" <<'EOPY'
import struct, sys, wave
try:
    w = wave.open(sys.argv[1]); n = w.getnframes(); r = w.getframerate()
    s = struct.unpack("<%dh" % n, w.readframes(n))
    zc = sum(1 for a, b in zip(s, s[1:]) if (a < 0) != (b < 0)) / (n / r)
    rms = (sum(x * x for x in s) / n) ** 0.5
    print("%d %d" % (zc, rms))
except Exception:
    print("0 0")
EOPY
)
zc=${verdict% *}; rms=${verdict#* }
check "what baresip decrypted and decoded is the 440 Hz tone (${zc} zero crossings/s, rms $rms)" \
    [ "$zc" -ge 860 -a "$zc" -le 900 -a "$rms" -ge 3000 ]
# The same softphone over SIP TLS (libre's TLS on OpenSSL, verifying
# sigd's chain against the test CA): signalling encrypted end to end on
# EXT, media SRTP, the platform inside still plain UDP and RTP.
wait "$UAS1" 2>/dev/null   # the first platform frees its port (bounded by -timeout)
(cd "$T" && exec sipp -sf "$HERE/../sipp/uas_echo.xml" -i "$LAN" -p 15080 -mi "$LAN" \
    -mp 17000 -rtp_echo -nostdin -m 1 -timeout 30s -trace_msg >"$T/uas-tls.out" 2>&1) &
PIDS="$PIDS $!"
mkdir -p "$T/bt"
sed -e "s|^sip_listen.*|sip_listen\t\t$PHONE:15072|" -e "s|$T/bs/|$T/bs/|" "$T/bs/config" >"$T/bt/config"
printf 'sip_cafile\t\t%s\n' "$PKI/ca.pem" >>"$T/bt/config"
baresip_dial "$T/bt" "<sip:phone@$PHONE;transport=tls>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMA" \
    "sip:service@$EXT:$TLSP" "$T/baresip-tls.log"
check "over TLS: baresip's call was established with SDES SRTP" \
    sh -c "grep -q 'SRTP is Enabled' '$T/baresip-tls.log' && grep -q 'incoming rtp for .audio. established' '$T/baresip-tls.log'"
uas_tls=$(ls -t "$T"/uas_echo_*_messages.log 2>/dev/null | head -n 1)
# Topology hiding: the platform sees sigd's INT Via and Record-Route
# only, never the TLS caller's.
check "  the INVITE from baresip's TLS connection reached the platform hidden (sigd's Via and Record-Route only)" \
    sh -c "grep -q '^Via: SIP/2.0/UDP $INT:15060' '$uas_tls' && ! grep -q '^Via: SIP/2.0/TLS' '$uas_tls' && grep -q '^Record-Route: <sip:$INT:15060;lr>' '$uas_tls'"
check "  and the BYE came back through sigd" grep -q '^BYE ' "$uas_tls"
check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from mediad" clean_log mediad
finish
