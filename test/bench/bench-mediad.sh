#!/bin/sh
# Media-plane benchmark (issue: mediad speed). In one run, on loopback:
#   1. barerelay (a bare single-threaded recvmmsg/sendmmsg relay) as the
#      machine's baseline, paced and unpaced;
#   2. mediad with one worker, the same loads, plain RTP;
#   3. mediad with one worker, SRTP <-> RTP (AES_CM_128_HMAC_SHA1_80: the
#      phone side sends SRTP that mediad unprotects, and gets SRTP back;
#      mdload protects before the timed phase and unprotects only a sample,
#      after it, so its own crypto does not weigh on the figures);
#   4. mediad with one worker per core, the same loads as 2;
#   plus a paced run at LAT_CALLS (1,000) calls for the latency figure.
# Per-core figures divide the packets relayed by the CPU seconds the relay
# used (from /proc), so that the load generator's share of the two cores
# does not count against either relay.
# mdload creates the sessions over the real bus, as sigd does. Results go
# to $OUT/mediad.json and a table; ratios are against the baseline of the
# same run ("vs bare"; for SRTP rows also "vs plain": the plain mediad row
# of the same mode, workers and calls). Nothing here asserts timings: the
# figures are for the notes.
#   ONLY=srtp   runs only what the SRTP ratios need: 1 and 2 above, with
#               one worker, plus 3 (and srtpscale), about 40 s.
#   ONLY=latency runs only the latency figure: barerelay, mediad plain and
#               mediad SRTP (one worker, then one per core), paced at
#               LAT_CALLS, and prints the latency
#               mediad adds over the bare relay measured in the same run.
#   PIN="A B"   pins the load generator to CPU A and the relay to CPU B
#               (taskset), so that the two do not chase each other across
#               the cores; the figures say whether it was used.
set -u
B=${B:-build/rel}
OUT=${OUT:-build/bench}
NET=${GW_BENCH_NET:-127.0.60}
SECS=${SECS:-5}
CALLS=${CALLS:-1500}
LAT_CALLS=${LAT_CALLS:-1000}
BURST_CALLS=${BURST_CALLS:-500}
BURST_COUNT=${BURST_COUNT:-1000000}
ONLY=${ONLY:-}
mkdir -p "$OUT"
T=$(mktemp -d /tmp/gw-bench.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT INT TERM

PIN=${PIN:-}
LOADPIN=; RELAYPIN=
if [ -n "$PIN" ]; then
    set -- $PIN
    LOADPIN="taskset -c $1"; RELAYPIN="taskset -c $2"
fi
load() { $LOADPIN "$B/test/mdload" --phone "$NET.5" --platform "$NET.3" "$@"; }

bare() { # mode sessions [extra]
    $RELAYPIN "$B/test/barerelay" "$NET.1" "$NET.2" 50000 "$2" "$NET.3" 39000 $((SECS + 30)) >"$T/bare.log" &
    bp=$!; pids="$pids $bp"; sleep 0.3
    shift 0
    load --bare-ext "$NET.1" --bare-int "$NET.2" --bare-base 50000 --sessions "$2" \
        --seconds "$SECS" --mode "$1" --count "$BURST_COUNT" --pid "$bp"
    kill "$bp"; wait "$bp" 2>/dev/null
}

mediad() { # workers mode sessions [srtp]
    cat >"$T/md.ini" <<EOC
[mediad]
name = bench1
bus = tcp://$NET.1:17800
ext_addr = $NET.1
int_addr = $NET.2
rtp_range = 40000-49999
workers = $1
log_level = warn
EOC
    $RELAYPIN "$B/bin/mediad" -c "$T/md.ini" >"$T/md.log" 2>&1 &
    mp=$!; pids="$pids $mp"
    load --bus "tcp://$NET.1:17800" --pid "$mp" --sessions "$3" --seconds "$SECS" \
        --mode "$2" --count "$BURST_COUNT" --srtp "${4:-0}" |
        sed "s/^{/{\"workers\":\"$([ "$1" = 0 ] && echo cores || echo "$1")\",/"
    kill "$mp"; wait "$mp" 2>/dev/null
}

if [ "$ONLY" = latency ]; then
    {
        bare paced "$LAT_CALLS"
        mediad 1 paced "$LAT_CALLS"
        mediad 1 paced "$LAT_CALLS" 1
        mediad 0 paced "$LAT_CALLS"
        mediad 0 paced "$LAT_CALLS" 1
    } >"$T/results.jsonl"
else {
    bare paced "$CALLS"
    bare burst "$BURST_CALLS"
    mediad 1 paced "$CALLS"
    mediad 1 burst "$BURST_CALLS"
    [ "$ONLY" = srtp ] || mediad 1 paced "$LAT_CALLS"
    mediad 1 paced "$CALLS" 1
    mediad 1 burst "$BURST_CALLS" 1
    if [ "$ONLY" != srtp ]; then
        mediad 0 paced "$CALLS"
        mediad 0 burst "$BURST_CALLS"
        bare paced "$LAT_CALLS"
    fi
} >"$T/results.jsonl"
fi

/usr/bin/python3 - "$T/results.jsonl" "$OUT/mediad.json" "${PIN:-}" <<'EOPY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for r in rows:
    r.setdefault("workers", "-")
json.dump(rows, open(sys.argv[2], "w"), indent=1)
base = {r["mode"]: r for r in rows if r["target"] == "bare"}
plain = {(r["mode"], r["workers"], r["sessions"]): r for r in rows
         if r["target"] != "bare" and not r.get("srtp")}
def ratio(r, b):
    return r.get("pps_per_core", 0) / b["pps_per_core"] if b and b.get("pps_per_core") else 0
print("%-7s %-5s %-6s %-7s %6s %9s %8s %8s %8s %6s %9s %8s %9s" % ("target", "srtp", "mode",
      "workers", "calls", "pkt/s", "loss%", "p50 us", "p99 us", "cpu%", "pkt/s/core", "vs bare",
      "vs plain"))
for r in rows:
    p = plain.get((r["mode"], r["workers"], r["sessions"])) if r.get("srtp") else None
    print("%-7s %-5s %-6s %-7s %6d %9.0f %8.4f %8.0f %8.0f %6s %9.0f %7.2fx %9s" % (
        r["target"], "yes" if r.get("srtp") else "no", r["mode"], r["workers"], r["sessions"],
        r["relayed_pps"], r["loss_pct"], r["latency_p50_us"], r["latency_p99_us"],
        str(r.get("cpu_pct", "-")), r.get("pps_per_core", 0), ratio(r, base.get(r["mode"])),
        "%.2fx" % ratio(r, p) if p else "-"))
lat_bare = {r["sessions"]: r for r in rows if r["target"] == "bare" and r["mode"] == "paced"}
for r in rows:
    b = lat_bare.get(r["sessions"])
    if r["target"] != "bare" and r["mode"] == "paced" and b and r["sessions"] == min(lat_bare):
        print("latency added by mediad (%s, %s worker(s)) at %d paced calls: p50 %+.0f us, "
              "p99 %+.0f us over the bare relay of this run (bare p50 %.0f, p99 %.0f us)%s" % (
              "SRTP<->RTP" if r.get("srtp") else "plain", r["workers"], r["sessions"],
              r["latency_p50_us"] - b["latency_p50_us"], r["latency_p99_us"] - b["latency_p99_us"],
              b["latency_p50_us"], b["latency_p99_us"],
              "; pinned load/relay to CPUs " + sys.argv[3] if sys.argv[3] else ""))
for r in rows:
    if r.get("srtp") and "srtp_checked" in r:
        print("SRTP check (%s, %s worker(s), %d calls): %d of the packets mediad protected "
              "towards the phone unprotected after the run: %d auth failures, %d wrong payloads" % (
              r["mode"], r["workers"], r["sessions"], r["srtp_checked"], r["srtp_auth_fail"],
              r.get("srtp_bad_payload", 0)))
for srtp in (0, 1):
    mem = [r["bytes_per_session"] for r in rows if "bytes_per_session" in r and r.get("srtp") == srtp]
    if mem:
        print("user memory per %s session (RSS growth over the second half of the set-up): %.0f bytes"
              % ("SRTP" if srtp else "plain RTP", max(mem)))
EOPY
[ "$ONLY" = latency ] && exit 0
echo "libsrtp2 alone, cost per packet as live contexts grow (2 per SRTP leg):"
if [ "$("$B/test/srtpscale" backend)" = nss ]; then
    # SRTP=system: Debian's libsrtp2 on NSS, initialised by libsrtp2
    # itself, then as mediad does it (mediad/srtp.c).
    { "$B/test/srtpscale" 100000 libsrtp; "$B/test/srtpscale" 100000 mediad; }
else
    "$B/test/srtpscale" 100000
fi | tee "$OUT/srtpscale.jsonl"
echo "results: $OUT/mediad.json $OUT/srtpscale.jsonl"
