#!/bin/sh
# Lab benchmark (issue 6): calls through the DMZ lab (deploy/lab/lab.sh:
# perimeter NAT, sigd, CURVE bus over INT) with one media node and with
# two, on the same machine.
#
#   cps     short calls (INVITE/200/ACK/BYE, no RTP) from the internet to
#           the lan, sipp at a high rate: completed calls per second.
#   media   calls with RTP both ways (sipp plays the G.711 pcap, 236
#           packets each way; the platform echoes), CONC calls at once:
#           how many calls had every packet relayed both ways.
#
# A lost message fails its call after 2 s (-recv_timeout), so that one
# loss does not stretch the CPS run. At a few hundred concurrent calls
# sipp itself (one thread per pcap player, one echo thread) is the first
# thing to saturate on 2 cores: read the media rows with that in mind.
#
# One node = media2 drained; two nodes = both live. Everything (sipp, sigd,
# both mediad) shares this machine's cores, so the figures say how the
# split behaves here, not what two hosts would do. Prints a table and
# writes $OUT/lab.txt. Asserts nothing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=${B:-build/rel}
BIN=$(cd "$B/bin" && pwd)
OUT=${OUT:-build/bench}
CPS_RATE=${CPS_RATE:-1500}
CPS_CALLS=${CPS_CALLS:-6000}
CONC=${CONC:-"200 400"}
. "$ROOT/deploy/lab/lab.sh"
ID=b$$
T=$(mktemp -d /tmp/gw-bench-lab.XXXXXX)
K=$T/keys
DMZ=$ROOT/deploy/dmz
SIPP=$ROOT/test/sipp
mkdir -p "$OUT" "$K/allowed"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    lab_down "$ID"
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ] || ! lab_up "$ID"; then
    echo "bench-lab: network namespaces unavailable (needs root)"; exit 1
fi
NS() { echo "ip netns exec $(lab_ns "$ID" "$1")"; }
for n in sigd media1 media2 ops; do "$BIN/gwctl" keygen $n "$K" >/dev/null; done
cp "$K/media1.pub" "$K/media2.pub" "$K/ops.pub" "$K/allowed/"
nodekeys() { echo "-s mediad.bus_server_key_file=$K/sigd.pub -s mediad.bus_secret_key_file=$K/$1.key -s mediad.log_level=info"; }
CTL="$(NS sig) $BIN/gwctl -c $DMZ/sigd.ini -k $K/ops.key -S $K/sigd.pub"

$(NS sig) "$BIN/sigd" -c "$DMZ/sigd.ini" -s sigd.bus_secret_key_file="$K/sigd.key" \
    -s sigd.bus_allowed_keys_dir="$K/allowed" -s sigd.log_level=warn >"$T/sigd.log" 2>&1 &
pids="$pids $!"
$(NS media1) "$BIN/mediad" -c "$DMZ/media1.ini" $(nodekeys media1) >"$T/media1.log" 2>&1 &
pids="$pids $!"
$(NS media2) "$BIN/mediad" -c "$DMZ/media2.ini" $(nodekeys media2) >"$T/media2.log" 2>&1 &
pids="$pids $!"
i=0
until [ "$($CTL nodes 2>/dev/null | grep -c 'state=live')" -eq 2 ] || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
$CTL firewall >"$T/fw.nft" && lab_perimeter "$ID" "$T/fw.nft" || { echo "bench-lab: perimeter rules failed"; exit 1; }
(cd "$T" && exec $(NS lan) sipp -sf "$SIPP/uas_echo.xml" -i "$LAB_LAN" -p 5080 -mi "$LAB_LAN" \
    -mp 17000 -rtp_echo -nostdin -timeout 900s >"$T/uas.out" 2>&1) &
pids="$pids $!"
sleep 0.5

# Short calls: the pcap scenario without RTP and without the pause.
grep -v 'play_pcap_audio\|<pause' "$SIPP/uac_pcap.xml" | sed '/<nop>/,/<\/nop>/d' >"$T/uac_short.xml"
port=5100

now_ms() { date +%s%3N; }
sipp_counts() { # screen log -> "successful failed"
    awk -F'|' '/Successful call/ { s = $3 } /Failed call/ { f = $3 } END { gsub(/ /, "", s); gsub(/ /, "", f); print s + 0, f + 0 }' "$1"
}

run_cps() { # label
    port=$((port + 1))
    t0=$(now_ms)
    (cd "$T" && timeout 120 $(NS inet) sipp "$LAB_PUB:5060" -sf "$T/uac_short.xml" -i "$LAB_INET" \
        -p $port -mi "$LAB_INET" -mp 16000 -s service -r "$CPS_RATE" -m "$CPS_CALLS" -l 2000 \
        -recv_timeout 2000 -nostdin -trace_screen -screen_file "$T/cps-$port.screen" -timeout 100s >/dev/null 2>&1)
    t1=$(now_ms)
    set -- $(sipp_counts "$T/cps-$port.screen")
    cps=$(awk -v n="$1" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / ms }')
    printf '%-10s cps      offered %4s/s  completed %5s  failed %4s  in %5.1f s  -> %s calls/s\n' \
        "$LABEL" "$CPS_RATE" "$1" "$2" "$(echo "$t1 $t0" | awk '{ print ($1 - $2) / 1000 }')" "$cps"
    echo "$LABEL cps $cps failed $2" >>"$T/results"
}

# Calls of one media run carry their own Call-ID prefix (sipp -cid_str).
full_calls() { # prefix
    cat "$T/media1.log" "$T/media2.log" | grep "\[$1-.*stream 0 ended" |
        grep -c "EXT in 236 out 236 dropped 0, INT in 236 out 236 dropped 0"
}
all_calls() { cat "$T/media1.log" "$T/media2.log" | grep -c "\[$1-.*stream 0 ended"; }

run_media() { # label conc
    port=$((port + 1))
    rate=$(( $2 / 6 + 1 ))   # a call lasts about 7.5 s: ~CONC at once
    (cd "$T" && timeout 200 $(NS inet) sipp "$LAB_PUB:5060" -sf "$SIPP/uac_pcap.xml" -i "$LAB_INET" \
        -p $port -mi "$LAB_INET" -mp $((20000 + port)) -s service -r $rate -m "$2" -l "$2" \
        -cid_str "med$port-%u-%p@%s" -nostdin -trace_screen -screen_file "$T/media-$port.screen" -timeout 150s >/dev/null 2>&1)
    sleep 2
    set -- "$1" "$2" $(sipp_counts "$T/media-$port.screen")
    full=$(full_calls med$port); all=$(all_calls med$port)
    printf '%-10s media    %4s calls (~%s at once): sip ok %4s failed %3s, RTP complete both ways %4s of %4s\n' \
        "$1" "$2" "$2" "$3" "$4" "$full" "$all"
    echo "$1 media $2 full $full of $all" >>"$T/results"
}

echo "== lab benchmark: $(nproc) cores; sipp, sigd and the media nodes share them"
# Alternating runs, so that warm-up and drift do not favour one side.
one() { $CTL drain media2 >/dev/null; LABEL="1 node"; }
two() { $CTL undrain media2 >/dev/null; LABEL="2 nodes"; }
one; run_cps; two; run_cps; one; run_cps; two; run_cps
for c in $CONC; do
    one; run_media "$LABEL" "$c"; two; run_media "$LABEL" "$c"
done
$CTL nodes | grep '^node' | cut -d' ' -f1-8
awk '
    $3 == "cps" { cps[$1] += $4; ncps[$1]++ }
    $3 == "media" { full[$1 " " $4] = $6; all[$1 " " $4] = $8 }
    END {
        if (cps["1"] > 0) printf "cps (mean of %d runs each): 1 node %.0f, 2 nodes %.0f, ratio %.2f\n",
            ncps["1"], cps["1"] / ncps["1"], cps["2"] / ncps["2"], (cps["2"] / ncps["2"]) / (cps["1"] / ncps["1"])
        for (k in full) if (k ~ /^1 /) {
            split(k, p, " "); c = p[2]
            printf "ratio media-complete calls at %s: 2 nodes %d/%d vs 1 node %d/%d\n",
                c, full["2 " c], all["2 " c], full[k], all[k]
        }
    }' "$T/results" | tee -a "$T/summary"
cp "$T/results" "$OUT/lab.txt"
cat "$T/summary" >>"$OUT/lab.txt"
