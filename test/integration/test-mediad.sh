#!/bin/sh
# mediad on its own, driven over the real bus by mediad/mdprobe.py standing
# in for sigd: latching and strict source, malformed packets, loss and
# jitter, SRTP <-> RTP for all three suites (pylibsrtp), SRTP <-> SRTP,
# tampered and replayed packets, unsupported suites, media timeout events.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

write_config
protoc --python_out="$T" -I"$HERE/../../proto" gw.proto || { not_ok "protoc"; finish; exit 1; }
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini" -s mediad.timeout=2 -s mediad.workers=2 \
    -s mediad.delay_sample=1 \
    -s mediad.rtp_range=30000-30009
/usr/bin/python3 "$HERE/mediad/mdprobe.py" "$NET" "$BUS" "$T" >"$T/probe.out" 2>&1
rc=$?
cat "$T/probe.out" | grep -E "^(ok|not ok) - " | while IFS= read -r line; do echo "$line"; done
PASSED=$((PASSED + $(grep -c '^ok - ' "$T/probe.out")))
FAILED=$((FAILED + $(grep -c '^not ok - ' "$T/probe.out")))
if [ $rc -ne 0 ] && [ "$(grep -c '^not ok - ' "$T/probe.out")" -eq 0 ]; then
    not_ok "probe exited with $rc"
    sed 's/^/# /' "$T/probe.out" | tail -n 30
fi
check "call-end log gives a quality verdict (5 % loss is below the VoIP-ready limits)" \
    grep -q "quality: from EXT loss 5.0% jitter max [0-9.]* ms: below VoIP-ready limits" "$T/mediad.log"
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from mediad" clean_log mediad
finish
