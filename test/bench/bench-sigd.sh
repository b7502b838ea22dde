#!/bin/sh
# sigd call set-up rate with media: sipp UAC -> sigd (+ one mediad, a media
# session allocated, answered and deleted for every call) -> sipp UAS, on
# loopback ($GW_BENCH_NET, away from the test networks). Calls are
# INVITE/180/200/ACK/BYE with SDP both ways (test/sipp/uac_bench.xml,
# uas_echo.xml), no hold time. The rate steps up (RATES, SECS seconds
# each) until a step has a failed call, a step's calls take more than
# 1.5 x SECS to complete (sipp could not keep the rate), or the list ends.
#
# Reports per step: calls, failures, achieved rate, INVITE->200 latency
# p50/p99 from sipp's -trace_rtt (whole milliseconds: sipp's resolution;
# and the same for sipp calling the UAS
# directly, so that the part added by sigd + mediad shows), sigd and mediad
# CPU seconds per 1000 calls; before the steps, sigd's RSS per held dialog
# (HOLD calls held open at once). JSON into $OUT/sigd.json, and a table.
#
# The load generator's address is a [routes] trunk, as a carrier would be,
# so anti-fraud's per-IP rate limit does not apply to it. Both sipp
# instances get SIPP_BUF bytes of socket buffer (-buff_size; sipp's own
# 128 KiB overflowed at 1,800 cps on a 2-core host while sipp waited for a
# core, and the lost datagrams showed up as failed calls of sigd's).
#
#   B=build/rel sh test/bench/bench-sigd.sh
#   RATES="300 600" SECS=10 B=build-sig/rel sh test/bench/bench-sigd.sh
set -u
B=${B:-build/rel}
NET=${GW_BENCH_NET:-127.0.63}
SECS=${SECS:-20}
RATES=${RATES:-300 600 1000 1500 1750 2000 2500 3000}
HOLD=${HOLD:-4000}
SIPP_BUF=${SIPP_BUF:-4194304}
OUT=${OUT:-build/bench}
SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
T=$(mktemp -d /tmp/gw-bench-sigd.XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
mkdir -p "$OUT"
command -v sipp >/dev/null || { echo "sipp (sip-tester) not found"; exit 1; }

cat >"$T/gw.ini" <<EOC
[sigd]
ext_addr = $NET.1
ext_port = 25060
int_addr = $NET.2
int_port = 25060
internal_target = sip:$NET.3:25080
bus_bind = tcp://$NET.1:27700
log_level = warn

[routes]
trunks = loadgen=$NET.4/32

[antifraud]
ban_file = $T/bans

[mediad]
name = media1
bus = tcp://$NET.1:27700
ext_addr = $NET.1
int_addr = $NET.2
rtp_range = 20000-59999
log_level = warn
EOC

"$B/bin/sigd" -c "$T/gw.ini" >"$T/sigd.log" 2>&1 &
sp=$!; pids="$pids $sp"
"$B/bin/mediad" -c "$T/gw.ini" >"$T/mediad.log" 2>&1 &
mp=$!; pids="$pids $mp"
i=0
until "$B/bin/gwctl" -b "tcp://$NET.1:27700" nodes 2>/dev/null | grep -q "^node media1 .*state=live"; do
    i=$((i + 1)); [ $i -gt 50 ] && { echo "mediad did not register"; cat "$T"/*.log; exit 1; }
    sleep 0.1
done
(cd "$T" && exec sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$NET.3" -p 25080 -mi "$NET.3" \
    -buff_size "$SIPP_BUF" -nostdin -default_behaviors all,-abortunexp >"$T/uas.out" 2>&1) &
up=$!; pids="$pids $up"
sleep 0.5

cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
now() { date +%s.%N; }
# The host's UDP receive-buffer drops so far (every socket: sigd's, sipp's,
# and other processes'): a step's failures that coincide with drops were
# lost datagrams, not refusals.
rcvbuf_errors() { awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $6 }' /proc/net/snmp; }

# step LABEL TARGET RATE CALLS HOLD_MS: runs sipp, leaves $T/LABEL.{out,rtt}
step() {
    label=$1; target=$2; rate=$3; calls=$4; hold=$5
    rm -f "$T"/uac_bench_*_rtt.csv
    (cd "$T" && exec timeout $((SECS * 3 + 60)) sipp "$target" -sf "$SIPP_DIR/uac_bench.xml" \
        -i "$NET.4" -p 25090 -mi "$NET.4" -mp 16000 -s bench -r "$rate" -m "$calls" \
        -l 30000 -d "$hold" -buff_size "$SIPP_BUF" -nostdin -recv_timeout 10000 \
        -default_behaviors all,-abortunexp -trace_rtt -rtt_freq 1000 \
        >"$T/$label.out" 2>&1)
    cat "$T"/uac_bench_*_rtt.csv >"$T/$label.rtt" 2>/dev/null
}
# stat LABEL NAME: the cumulative value of a sipp counter
stat() { awk -F'|' -v n="$2" 'index($1, n) == 3 { v = $3 } END { gsub(/ /, "", v); print v + 0 }' "$T/$1.out"; }
# pct FILE P: the P-th percentile of response time 1 (sipp writes whole
# milliseconds: Date_ms;response_time_ms;rtd_no)
pct() {
    awk -F';' 'NF >= 3 && $2 ~ /^[0-9.]+$/ { print $2 }' "$1" | sort -n |
        awk -v p="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "null"; exit }
            i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.2f", v[i] }'
}

# Memory first, on a fresh sigd: HOLD calls held open together (20 s
# each), RSS read while all are up. (After the rate steps RSS is high
# whatever is held: nta keeps every finished transaction for its timers,
# 32 s for a non-INVITE over UDP, so it grows with rate x 32 s and the
# allocator keeps the pages.)
rss0=$(rss_kb $sp)
step hold "$NET.1:25060" 1000 "$HOLD" 20000 &
hp=$!
sleep $((HOLD / 1000 + 4))
held=$("$B/bin/gwctl" -b "tcp://$NET.1:27700" nodes 2>/dev/null | awk '$1 == "calls" { print $2 }')
rss1=$(rss_kb $sp)
wait $hp
held_ok=$(stat hold "Successful call")
per=$(echo "$rss0 $rss1 ${held:-0}" | awk '{ if ($3 > 0) printf "%.0f", ($2 - $1) * 1024 / $3; else print "null" }')
sleep 2

# The same calls straight to the UAS: the latency sipp and loopback add.
step direct "$NET.3:25080" 300 $((300 * 5)) 0
base50=$(pct "$T/direct.rtt" 50); base99=$(pct "$T/direct.rtt" 99)

: >"$T/steps.jsonl"
best=0
for r in $RATES; do
    n=$((r * SECS))
    c0=$(cpu $sp); m0=$(cpu $mp); e0=$(rcvbuf_errors); t0=$(now)
    step "r$r" "$NET.1:25060" "$r" "$n" 0
    t1=$(now); c1=$(cpu $sp); m1=$(cpu $mp); e1=$(rcvbuf_errors)
    ok=$(stat "r$r" "Successful call"); failed=$(stat "r$r" "Failed call")
    el=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
    p50=$(pct "$T/r$r.rtt" 50); p99=$(pct "$T/r$r.rtt" 99)
    printf '{"rate": %d, "calls": %d, "successful": %d, "failed": %d, "elapsed_s": %s, "achieved_cps": %s, "p50_ms": %s, "p99_ms": %s, "sigd_cpu_s_per_1000": %s, "mediad_cpu_s_per_1000": %s, "udp_rcvbuf_errors": %d}\n' \
        "$r" "$n" "$ok" "$failed" "$el" "$(echo "$ok $el" | awk '{ printf "%.0f", $1 / $2 }')" \
        "$p50" "$p99" "$(echo "$c0 $c1 $n" | awk '{ printf "%.3f", ($2 - $1) * 1000 / $3 }')" \
        "$(echo "$m0 $m1 $n" | awk '{ printf "%.3f", ($2 - $1) * 1000 / $3 }')" \
        $((e1 - e0)) >>"$T/steps.jsonl"
    tail -n 1 "$T/steps.jsonl"
    slow=$(echo "$el $SECS" | awk '{ print ($1 > 1.5 * $2 + 5) }')
    if [ "$failed" -ne 0 ] || [ "$ok" -ne "$n" ] || [ "$slow" -eq 1 ]; then break; fi
    best=$r
    sleep 2
done

rss_after=$(rss_kb $sp)

/usr/bin/python3 - "$T/steps.jsonl" "$OUT/sigd.json" "$best" "$base50" "$base99" \
    "${held:-0}" "$rss0" "$rss1" "$per" "$held_ok" "$SECS" "$rss_after" <<'EOPY'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
best, b50, b99 = int(sys.argv[3]), sys.argv[4], sys.argv[5]
num = lambda s: None if s == "null" else float(s)
res = {
    "bench": "sigd call set-up with media (sipp UAC -> sigd + mediad -> sipp UAS, loopback)",
    "seconds_per_step": int(sys.argv[11]),
    "max_cps_zero_failures": best,
    "direct_p50_ms": num(b50), "direct_p99_ms": num(b99),
    "latency_note": "INVITE to 200 at the caller, from sipp's -trace_rtt (1 ms resolution)",
    "steps": steps,
    "held_dialogs": int(sys.argv[6]), "held_calls_completed": int(sys.argv[10]),
    "sigd_rss_idle_kb": int(sys.argv[7]), "sigd_rss_held_kb": int(sys.argv[8]),
    "sigd_rss_bytes_per_dialog": num(sys.argv[9]),
    "sigd_rss_after_steps_kb": int(sys.argv[12]),
}
json.dump(res, open(sys.argv[2], "w"), indent=1)
print("%6s %7s %6s %8s %7s %7s %10s %11s %9s" % ("rate", "calls", "fail", "cps", "p50 ms",
      "p99 ms", "sigd s/1k", "mediad s/1k", "udp drop"))
for s in steps:
    print("%6d %7d %6d %8s %7s %7s %10s %11s %9d" % (s["rate"], s["calls"], s["failed"],
          s["achieved_cps"], s["p50_ms"], s["p99_ms"],
          s["sigd_cpu_s_per_1000"], s["mediad_cpu_s_per_1000"], s["udp_rcvbuf_errors"]))
print("udp drop: the host's UDP receive-buffer errors during the step (all sockets)")
print("direct sipp->sipp latency (300 cps): p50 %s ms, p99 %s ms" % (b50, b99))
print("highest rate with zero failed calls: %d cps" % best)
print("sigd RSS per held dialog: %s bytes (%s dialogs held, RSS %s -> %s kB)" %
      (sys.argv[9], sys.argv[6], sys.argv[7], sys.argv[8]))
print("sigd RSS after the rate steps: %s kB (finished transactions kept for nta's timers)" %
      sys.argv[12])
print("results: %s" % sys.argv[2])
EOPY
