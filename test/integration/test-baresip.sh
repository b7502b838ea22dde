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

mkdir -p "$T/bs"
/usr/bin/python3 - "$T/bs/tone.wav" <<'EOPY'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                       for i in range(8000 * 10)))
w.close()
EOPY
cat >"$T/bs/config" <<EOC
poll_method		epoll
sip_listen		$PHONE:15070
audio_player		alsa,null
audio_source		aufile,$T/bs/tone.wav
audio_alert		alsa,null
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			alsa.so
module			sndfile.so
module			srtp.so
module			menu.so
module_app		account.so
rtp_ports		16100-16199
EOC
echo "<sip:phone@$PHONE>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMA" >"$T/bs/accounts"
sleep 0.5
(cd "$T/bs" && timeout 30 baresip -f "$T/bs" -e "/dial sip:service@$EXT:15060" -t 7 \
    >"$T/baresip.log" 2>&1)
check "baresip negotiated SDES SRTP with the gateway" \
    grep -q "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)" "$T/baresip.log"
check "baresip's call was established and it received RTP from the relay" \
    grep -q "incoming rtp for 'audio' established, receiving from $EXT:" "$T/baresip.log"
wait_until 5 grep -q "stream 0 ended" "$T/mediad.log"
line=$(grep "stream 0 ended" "$T/mediad.log" | tail -n 1)
set -- $(echo "$line" | sed 's/.*EXT in \([0-9]*\) out \([0-9]*\) dropped [0-9]*, INT in \([0-9]*\) out \([0-9]*\).*/\1 \2 \3 \4/')
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
echo "<sip:phone@$PHONE;transport=tls>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMA" >"$T/bt/accounts"
sleep 0.5
(cd "$T/bt" && timeout 30 baresip -f "$T/bt" -e "/dial sip:service@$EXT:$TLSP" -t 7 \
    >"$T/baresip-tls.log" 2>&1)
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
