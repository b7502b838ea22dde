#!/bin/sh
# The control bus under CURVE: keys made with `gwctl keygen`, sigd admitting
# node keys through its ZAP handler, a node with an unknown key refused and
# logged by fingerprint, plain peers kept out, plain TCP refused off
# loopback, a call placed over the encrypted bus, and no secret key in any
# log.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
K=$T/keys
mkdir -p "$K/allowed"
for n in sigd media1 ops rogue; do
    "$BIN/gwctl" keygen "$n" "$K" >"$T/keygen-$n.out" 2>&1 || not_ok "keygen $n"
done
check "gwctl keygen writes a 0600 secret key and a public key" \
    [ "$(stat -c %a "$K/media1.key")" = 600 -a -s "$K/media1.pub" ]
check "gwctl keygen refuses to overwrite a key" \
    sh -c "! '$BIN/gwctl' keygen media1 '$K' 2>/dev/null"
cp "$K/media1.pub" "$K/ops.pub" "$K/allowed/"
fp() { sed -n 's/.*fingerprint=\([0-9a-f]*\).*/\1/p' "$T/keygen-$1.out"; }

write_config
cat >>"$T/gw.ini" <<EOC
EOC
# CURVE on: sigd's key and allow-list, the node's keys.
sed -i "/^bus_bind = /a bus_secret_key_file = $K/sigd.key\nbus_allowed_keys_dir = $K/allowed" "$T/gw.ini"
sed -i "/^\[mediad\]/,/^\[/ s|^bus = .*|&\nbus_server_key_file = $K/sigd.pub\nbus_secret_key_file = $K/media1.key|" "$T/gw.ini"
CTL="$BIN/gwctl -b $BUS -k $K/ops.key -S $K/sigd.pub"

start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers over CURVE" wait_until 10 sh -c \
    "$CTL nodes | grep -q '^node media1 role=media state=live'"
check "sigd logs CURVE on with its key's fingerprint only" \
    grep -q "CURVE on, server key $(fp sigd)" "$T/sigd.log"

# gwctl without keys is a plain peer on a CURVE bus: no answer.
"$BIN/gwctl" -b "$BUS" nodes >/dev/null 2>&1
check "plain gwctl gets no answer from a CURVE sigd (exit 2)" [ $? -eq 2 ]

# A node whose key is not in the allowed directory.
sed "s/^name = media1/name = rogue/; s|media1.key|rogue.key|; s/rtp_range = 30000-30999/rtp_range = 32000-32999/" \
    "$T/gw.ini" >"$T/rogue.ini"
start_daemon rogue "$BIN/mediad" -c "$T/rogue.ini"
check "sigd refuses the unknown key and logs its fingerprint" wait_until 10 \
    grep -q "refused: CURVE key $(fp rogue) is not in the allowed keys" "$T/sigd.log"
check "the refused node logs that sigd refused it" wait_until 5 \
    grep -q "refused the handshake" "$T/rogue.log"
sleep 1
check "the refused node never appears in the registry" \
    sh -c "! $CTL nodes | grep -q '^node rogue'"
n_ref=$(grep -c "refused: CURVE key $(fp rogue)" "$T/sigd.log")
check "refusals of one key are throttled in the log ($n_ref lines)" [ "$n_ref" -le 2 ]

# An admitted key cannot register under another node's name.
start_daemon thief "$BIN/mediad" -c "$T/gw.ini" -s mediad.name=thief \
    -s mediad.rtp_range=34000-34999
check "a node whose name is not its key's is refused" wait_until 10 \
    grep -q "register as 'thief' refused: the sender's key is 'media1'" "$T/sigd.log"
check "... and stays out of the registry" sh -c "! $CTL nodes | grep -q '^node thief'"
stop_daemon thief

# Admitting it is a file copy: the directory is read again, no restart.
cp "$K/rogue.pub" "$K/allowed/"
check "a key added to the allowed directory is admitted without restart" \
    wait_until 10 sh -c "$CTL nodes | grep -q '^node rogue role=media state=live'"
stop_daemon rogue

# A call over the encrypted bus.
(cd "$T" && exec sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p 15080 -mi "$LAN" \
    -mp 17000 -rtp_echo -nostdin -timeout 60s >"$T/uas.out" 2>&1) &
uas=$!; PIDS="$PIDS $uas"
sleep 0.5
(cd "$T" && timeout 60 sipp "$EXT:15060" -sf "$SIPP_DIR/uac_pcap.xml" -i "$EXT" -p 15090 \
    -mi "$EXT" -mp 16000 -s service -m 2 -r 2 -l 2 -nostdin >"$T/uac.out" 2>&1)
check "2 calls through sigd with the media node on a CURVE bus (sipp exit $?)" [ $? -eq 0 ]
kill "$uas" 2>/dev/null; wait "$uas" 2>/dev/null
check "the calls' media went through media1" \
    wait_until 5 sh -c "[ \$(grep -c 'stream 0 ended' '$T/mediad.log') -ge 2 ]"

# Plain TCP off loopback: a clear config error at start, for both ends.
"$BIN/sigd" -c "$T/gw.ini" -s sigd.bus_bind=tcp://192.0.2.7:7700 \
    -s sigd.bus_secret_key_file= >"$T/sigd-plain.log" 2>&1
rc=$?
check "sigd refuses plain TCP on a non-loopback bus (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -q 'not a loopback endpoint' '$T/sigd-plain.log'"
timeout 5 "$BIN/mediad" -c "$T/gw.ini" -s mediad.name=plain -s mediad.bus=tcp://192.0.2.7:7700 \
    -s mediad.bus_secret_key_file= >"$T/mediad-plain.log" 2>&1
rc=$?
check "mediad refuses plain TCP to a non-loopback sigd (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'not a loopback endpoint' '$T/mediad-plain.log'"
chmod 644 "$K/sigd.key"
"$BIN/sigd" -c "$T/gw.ini" -s sigd.bus_bind=tcp://$NET.1:17701 >"$T/sigd-mode.log" 2>&1
rc=$?
chmod 600 "$K/sigd.key"
check "sigd refuses a secret key file readable by others (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -q 'chmod 600' '$T/sigd-mode.log'"

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
leaks=0
for n in sigd media1 ops rogue; do
    secret=$(grep -v '^#' "$K/$n.key")
    if grep -rqF -- "$secret" "$T"/*.log "$T"/*.out 2>/dev/null; then leaks=$((leaks + 1)); fi
done
check "no secret key appears in any log ($leaks found)" [ "$leaks" -eq 0 ]
for d in sigd mediad; do check "no sanitizer report from $d" clean_log $d; done
finish
