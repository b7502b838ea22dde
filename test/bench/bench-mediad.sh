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
#   ONLY=latency runs only the latency figure (about 18 minutes), e.g.
#               LAT_PLACES=split LAT_SCHEDS=fifo LAT_ROUNDS=5 (about 5).
#
# The latency figure: LAT_ROUNDS (3) rounds, each measuring barerelay (one
# thread per core, each pinned, as mediad's workers), mediad plain and
# mediad SRTP <-> RTP (one worker per core, the default, each pinned to its
# core: worker_cpus = auto) paced at LAT_CALLS, bare first in odd rounds
# and last in even ones; the latency is from mdload's send (the clock read
# right before each sendmmsg of a tick's batch) to the relayed packet's
# arrival (the kernel's receive timestamp), so it holds the loopback both
# ways and is an upper bound of what the relay adds; the
# added latency is mediad's percentile minus the bare relay's of the same
# round; the summary gives each figure's median over the rounds with its
# min-max. For each tick of LAT_TICKS (us): at 100, mdload sends each
# call's packet in its own 0.1 ms slot of the 20 ms, spread as independent
# calls are; at 1000 (the throughput rows' pacing) the calls come in 20
# groups, each a burst of LAT_CALLS / 20 packets per direction, which the
# relay must queue. Twice: under normal scheduling, and with the relay under
# SCHED_FIFO (mediad by its own rt_priority directive, barerelay by chrt),
# which keeps the other jobs of a shared machine from delaying packets.
# The two rows say how much of a tail is the machine's rather than the
# relay's (LAT_SCHEDS, default both). And in two placements (LAT_PLACES):
# "split", the load generator on the first CPU and the relay (one worker,
# or one bare thread) on the second, as on a relay host whose load comes
# from the network, the load generator under SCHED_FIFO too in the fifo
# rounds (below the relay's priority; on its own CPU, and sleeping between
# ticks, it stays within the kernel's real-time budget); "shared", both on
# every CPU (one worker per core), the load generator under normal
# scheduling (under SCHED_FIFO it would push a shared core past the
# real-time budget, 95 % of each second, and be throttled, stalling the
# relay with it). Then, from the same mediad runs, mediad's own
# figure (delay_stats, in its heartbeats): how long each packet it relayed
# stayed in it, from the kernel's receive stamp on its socket to its
# sendmmsg, which leaves out the load generator and the loopback path;
# mdload takes the difference of the node's histogram at rest before and
# after the timed phase (which adds a few seconds per run). Like the
# throughput rows, these runs keep mediad's default, whole calls of one
# session in 10 (LAT_DSAMPLE): measuring every session costs the worker
# a few per cent more CPU per packet (2-3 % in a profile), and at 1,000
# calls on one core that is headroom the tail depends on.
#   PIN="A B"   pins the load generator to CPU A and the relay to CPU B
#               (taskset), so that the two do not chase each other across
#               the cores, in the throughput rows; the latency rounds
#               place them by LAT_PLACES instead.
set -u
B=${B:-build/rel}
OUT=${OUT:-build/bench}
NET=${GW_BENCH_NET:-127.0.60}
SECS=${SECS:-5}
CALLS=${CALLS:-1500}
LAT_CALLS=${LAT_CALLS:-1000}
LAT_ROUNDS=${LAT_ROUNDS:-3}
LAT_TICKS=${LAT_TICKS:-100 1000}
LAT_PLACES=${LAT_PLACES:-split shared}
LAT_SCHEDS=${LAT_SCHEDS:-normal fifo}
LAT_DSAMPLE=${LAT_DSAMPLE:-10}
RT_PRIO=${RT_PRIO:-50}
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
# SCHED=fifo (set by the latency rounds): the bare relay runs under chrt;
# mediad sets its own workers' priority (rt_priority).
SCHED=normal
WCPUS=
DSAMPLE=10  # mediad's default delay_sample in the throughput rows
TICK=1000
BARE_THREADS=1
PLACE=
rt() { [ "$SCHED" = fifo ] && echo "chrt -f $RT_PRIO"; }
loadrt() { [ "$SCHED" = fifo ] && [ "$PLACE" = split ] && echo "chrt -f $((RT_PRIO - 1))"; }
load() { $LOADPIN $(loadrt) "$B/test/mdload" --phone "$NET.5" --platform "$NET.3" "$@"; }

bare() { # mode sessions
    $RELAYPIN $(rt) "$B/test/barerelay" "$NET.1" "$NET.2" 50000 "$2" "$NET.3" 39000 $((SECS + 30)) \
        "$BARE_THREADS" >"$T/bare.log" &
    bp=$!; pids="$pids $bp"; sleep 0.3
    shift 0
    load --bare-ext "$NET.1" --bare-int "$NET.2" --bare-base 50000 --sessions "$2" \
        --seconds "$SECS" --mode "$1" --count "$BURST_COUNT" --pid "$bp" --tick-us "$TICK" |
        sed "s/^{/{\"sched\":\"$SCHED\",\"place\":\"$PLACE\",\"round\":${ROUND:-0},\"bare_threads\":$BARE_THREADS,/"
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
rt_priority = $([ "$SCHED" = fifo ] && echo "$RT_PRIO" || echo 0)
worker_cpus = $WCPUS
delay_sample = $DSAMPLE
log_level = warn
EOC
    $RELAYPIN "$B/bin/mediad" -c "$T/md.ini" >"$T/md.log" 2>&1 &
    mp=$!; pids="$pids $mp"
    load --bus "tcp://$NET.1:17800" --pid "$mp" --sessions "$3" --seconds "$SECS" \
        --mode "$2" --count "$BURST_COUNT" --srtp "${4:-0}" --tick-us "$TICK" |
        sed "s/^{/{\"workers\":\"$([ "$1" = 0 ] && echo cores || echo "$1")\",\"sched\":\"$SCHED\",\"place\":\"$PLACE\",\"round\":${ROUND:-0},/"
    kill "$mp"; wait "$mp" 2>/dev/null
}

latency() { # the rounds described at the top: placements, ticks, schedulings
    WCPUS=auto
    DSAMPLE=$LAT_DSAMPLE
    scheds=$LAT_SCHEDS
    if ! chrt -f "$RT_PRIO" true 2>/dev/null; then
        echo "bench-mediad: SCHED_FIFO is not allowed here: latency under normal scheduling only" >&2
        scheds=$(echo "$scheds" | sed 's/fifo//')
    fi
    set -- $(/usr/bin/python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')
    for PLACE in $LAT_PLACES; do
        case $PLACE in
        split)
            if [ $# -lt 2 ]; then
                echo "bench-mediad: one CPU: no split placement" >&2
                continue
            fi
            LOADPIN="taskset -c $1"; RELAYPIN="taskset -c $2" ;;
        *)
            LOADPIN=; RELAYPIN= ;;
        esac
        # one relay thread per CPU the relay may run on
        BARE_THREADS=$($RELAYPIN /usr/bin/python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
        for TICK in $LAT_TICKS; do
            for SCHED in $scheds; do
                ROUND=1
                while [ "$ROUND" -le "$LAT_ROUNDS" ]; do
                    [ $((ROUND % 2)) = 1 ] && bare paced "$LAT_CALLS"
                    mediad "$BARE_THREADS" paced "$LAT_CALLS"
                    mediad "$BARE_THREADS" paced "$LAT_CALLS" 1
                    [ $((ROUND % 2)) = 0 ] && bare paced "$LAT_CALLS"
                    ROUND=$((ROUND + 1))
                done
            done
        done
    done
    SCHED=normal; ROUND=0; WCPUS=; TICK=1000; BARE_THREADS=1; DSAMPLE=10; PLACE=
    LOADPIN=; RELAYPIN=
    if [ -n "$PIN" ]; then
        set -- $PIN
        LOADPIN="taskset -c $1"; RELAYPIN="taskset -c $2"
    fi
}

if [ "$ONLY" = latency ]; then
    latency >"$T/results.jsonl"
else {
    bare paced "$CALLS"
    bare burst "$BURST_CALLS"
    mediad 1 paced "$CALLS"
    mediad 1 burst "$BURST_CALLS"
    mediad 1 paced "$CALLS" 1
    mediad 1 burst "$BURST_CALLS" 1
    if [ "$ONLY" != srtp ]; then
        mediad 0 paced "$CALLS"
        mediad 0 burst "$BURST_CALLS"
        latency
    fi
} >"$T/results.jsonl"
fi

/usr/bin/python3 - "$T/results.jsonl" "$OUT/mediad.json" <<'EOPY'
import json, sys
from statistics import median
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for r in rows:
    r.setdefault("workers", "-")
json.dump(rows, open(sys.argv[2], "w"), indent=1)
lat = [r for r in rows if r.get("round")]
rows = [r for r in rows if not r.get("round")]
base = {r["mode"]: r for r in rows if r["target"] == "bare"}
plain = {(r["mode"], r["workers"], r["sessions"]): r for r in rows
         if r["target"] != "bare" and not r.get("srtp")}
def ratio(r, b):
    return r.get("pps_per_core", 0) / b["pps_per_core"] if b and b.get("pps_per_core") else 0
if rows:
    print("%-7s %-5s %-6s %-7s %6s %9s %8s %8s %8s %6s %9s %8s %9s" % ("target", "srtp", "mode",
          "workers", "calls", "pkt/s", "loss%", "p50 us", "p99 us", "cpu%", "pkt/s/core",
          "vs bare", "vs plain"))
for r in rows:
    p = plain.get((r["mode"], r["workers"], r["sessions"])) if r.get("srtp") else None
    print("%-7s %-5s %-6s %-7s %6d %9.0f %8.4f %8.0f %8.0f %6s %9.0f %7.2fx %9s" % (
        r["target"], "yes" if r.get("srtp") else "no", r["mode"], r["workers"], r["sessions"],
        r["relayed_pps"], r["loss_pct"], r["latency_p50_us"], r["latency_p99_us"],
        str(r.get("cpu_pct", "-")), r.get("pps_per_core", 0), ratio(r, base.get(r["mode"])),
        "%.2fx" % ratio(r, p) if p else "-"))
def span(v):
    if not v:
        return "-"
    return "%.0f (%.0f..%.0f)" % (median(v), min(v), max(v)) if len(v) > 1 else "%.0f" % v[0]
if lat:
    if rows:
        print()
    print("latency at %d paced calls, %d round(s) per placement, tick and scheduling; relay:"
          % (lat[0]["sessions"], max(r["round"] for r in lat)))
    print("one worker (bare: one thread) per CPU it may use, each pinned; split: load generator on")
    print("the first CPU (under SCHED_FIFO too in the fifo rows), relay on the second; shared: both")
    print("on every CPU, the load generator under normal scheduling;")
    print("median (min..max) over the rounds, us; added = mediad minus the bare relay of the same round;")
    print("pkt/s: the lowest of the rounds, of what arrived back per second (2 * calls * 50 when")
    print("the load generator keeps pace); late%: the most, of its ticks that started a tick late")
    print("(it fell behind and sent a burst after)")
    print("%-6s %-5s %-7s %-11s %-20s %-22s %-22s %-18s %-22s %5s %7s %5s" % ("place", "tick",
          "sched", "target", "p50", "p99", "p99.9", "added p50", "added p99", "loss%", "pkt/s",
          "late%"))
    for place, tick, sched in sorted({(r.get("place", ""), r.get("tick_us", 1000), r["sched"])
                                      for r in lat},
                                     key=lambda k: (k[0] != "split", k[1], k[2] != "normal")):
        bare_by_round = {r["round"]: r for r in lat if r["sched"] == sched and
                         r.get("place", "") == place and
                         r.get("tick_us", 1000) == tick and r["target"] == "bare"}
        for name, pick in (("bare", lambda r: r["target"] == "bare"),
                           ("mediad", lambda r: r["target"] != "bare" and not r.get("srtp")),
                           ("mediad SRTP", lambda r: r["target"] != "bare" and r.get("srtp"))):
            sel = [r for r in lat if r["sched"] == sched and r.get("tick_us", 1000) == tick
                   and r.get("place", "") == place and pick(r)]
            if not sel:
                continue
            add50 = [r["latency_p50_us"] - bare_by_round[r["round"]]["latency_p50_us"]
                     for r in sel if r["round"] in bare_by_round]
            add99 = [r["latency_p99_us"] - bare_by_round[r["round"]]["latency_p99_us"]
                     for r in sel if r["round"] in bare_by_round]
            print("%-6s %-5d %-7s %-11s %-20s %-22s %-22s %-18s %-22s %5.2f %7.0f %5.1f" % (
                  place, tick, sched, name,
                  span([r["latency_p50_us"] for r in sel]), span([r["latency_p99_us"] for r in sel]),
                  span([r.get("latency_p999_us", 0) for r in sel]),
                  span(add50) if name != "bare" else "-", span(add99) if name != "bare" else "-",
                  max(r["loss_pct"] for r in sel), min(r["relayed_pps"] for r in sel),
                  max(100.0 * r.get("late_ticks", 0) / max(r.get("ticks", 1), 1) for r in sel)))
dl = [r for r in lat if "mediad_delay_p99_us" in r]
if dl:
    print()
    print("time in mediad (its delay_stats: kernel receive stamp on its socket to its sendmmsg,")
    print("upper bucket edges, within 12.5 %), same runs, median (min..max) over the rounds, us;")
    print("samples: of the packets it relayed in the timed phase, the lowest share with a delay")
    print("%-6s %-5s %-7s %-11s %-18s %-20s %-22s %8s" % ("place", "tick", "sched", "target", "p50",
          "p99", "p99.9", "samples%"))
    for place, tick, sched in sorted({(r.get("place", ""), r.get("tick_us", 1000), r["sched"])
                                      for r in dl},
                                     key=lambda k: (k[0] != "split", k[1], k[2] != "normal")):
        for name, srtp in (("mediad", 0), ("mediad SRTP", 1)):
            sel = [r for r in dl if r["sched"] == sched and r.get("tick_us", 1000) == tick
                   and r.get("place", "") == place and bool(r.get("srtp")) == bool(srtp)]
            if not sel:
                continue
            print("%-6s %-5d %-7s %-11s %-18s %-20s %-22s %8.1f" % (place, tick, sched, name,
                  span([r["mediad_delay_p50_us"] for r in sel]),
                  span([r["mediad_delay_p99_us"] for r in sel]),
                  span([r["mediad_delay_p999_us"] for r in sel]),
                  min(100.0 * r["mediad_delay_samples"] / max(r["mediad_relayed"], 1) for r in sel)))
for r in rows:
    if r.get("srtp") and "srtp_checked" in r:
        print("SRTP check (%s, %s worker(s), %d calls): %d of the packets mediad protected "
              "towards the phone unprotected after the run: %d auth failures, %d wrong payloads" % (
              r["mode"], r["workers"], r["sessions"], r["srtp_checked"], r["srtp_auth_fail"],
              r.get("srtp_bad_payload", 0)))
chk = [r for r in lat if r.get("srtp") and "srtp_checked" in r]
if chk:
    print("SRTP check of the latency runs: %d packets mediad protected towards the phone "
          "unprotected after the runs: %d auth failures, %d wrong payloads" % (
          sum(r["srtp_checked"] for r in chk), sum(r["srtp_auth_fail"] for r in chk),
          sum(r.get("srtp_bad_payload", 0) for r in chk)))
for srtp in (0, 1):
    mem = [r["bytes_per_session"] for r in rows + lat
           if "bytes_per_session" in r and r.get("srtp") == srtp]
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
