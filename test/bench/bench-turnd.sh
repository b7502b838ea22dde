#!/bin/sh
# turnd against coturn's turnserver: same loads, same machine, same run,
# other ports. The load is turnload (test/bench/turnload.c, built here into
# $B/test if missing). Loopback only ($GW_BENCH_NET, away from the test
# networks); kills only the PIDs it started; asserts nothing.
#
# Measures, each for both servers:
#   - allocation rate: CLIENTS UDP clients each doing Allocate -> 401 ->
#     Allocate -> 200 -> Refresh(0) -> 200 from a fresh 5-tuple, for SECS
#     seconds; allocations/s and µs of server CPU per allocation;
#   - relaying: turnload -r makes ALLOCS allocations (each with a channel
#     to turnload's echo peer on $NET.3, allow-listed in both servers),
#     reads the server's RSS after half and all of them (bytes per
#     allocation, one-time buffers excluded), then sends 160-byte
#     ChannelData for RSECS seconds paced at PPS, then RSECS unpaced (512 in
#     flight): relayed packets/s and µs of server CPU per relayed packet
#     (from /proc/PID/stat; each echoed packet is relayed twice).
#   - the floor (test/bench/turnfloor.c, relaying only): the same relay
#     load on a relay that makes turnd's system calls (one UDP socket per
#     allocation, one listener read and one batched listener send per
#     wake-up, a sendto() and a recvfrom() per packet on the relay
#     sockets) and runs no code of its own: the kernel's share of a packet,
#     which every relay of this design pays. Printed as coturn/floor (the
#     most any such relay could show against coturn here) and turnd/floor
#     (what turnd's own code adds); and again with its system calls made
#     through one io_uring per wake-up (`turnfloor ... uring`, "uring
#     floor"), for what batching the system calls could save.
#
# Why rounds: on a shared machine other jobs take a core at random moments,
# and one turnd-then-coturn pass moves the ratios by ±0.2. So the two
# servers are measured back to back ROUNDS times (default 5), turnd first
# in odd rounds and coturn first in even ones (an order effect, such as a
# job that starts mid-round, then falls on each side alike), and the
# summary gives each ratio's median over the rounds with its min-max, next
# to the per-round ratios. Ratios read "higher is better for turnd":
# allocation rate and packets/s turnd/coturn; CPU per allocation, CPU per
# packet and memory per allocation coturn/turnd.
#
# How noisy the run was: the load average at start and end, and for every
# measured window turnload's other_cores (cores kept busy by anything other
# than the server under test and turnload itself, from /proc/stat) and
# steal_cores (the hypervisor's steal). A round whose windows show other
# jobs taking most of a core is worth less than the others; the median is
# there so that one such round does not move the result.
#
# Each round starts both servers afresh and relays before the allocation-
# rate load: the memory figure needs a heap that has not yet seen churn
# (after thousands of allocations made and deleted, coturn's RSS stays at
# its peak, ~200 MB, and new allocations reuse it: 0 B per allocation), and
# no round inherits allocations or state from the one before.
#
# Duration: about ROUNDS * (2 * SECS + 8 * RSECS + 8) seconds, 3 minutes
# with the defaults. Results: a table, and $OUT/turnd.json (per-round
# figures of both servers, per-round ratios, medians and min-max, the noise
# figures).
#
#   B=build/rel sh test/bench/bench-turnd.sh
#   ROUNDS=9 SECS=3 RSECS=2 B=build/rel sh test/bench/bench-turnd.sh
set -u
B=${B:-build/rel}
OUT=${OUT:-build/bench}
NET=${GW_BENCH_NET:-127.0.61}
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-5}
CLIENTS=${CLIENTS:-64}
ALLOCS=${ALLOCS:-200}
RSECS=${RSECS:-3}
PPS=${PPS:-20000}
PORT_T=${PORT_T:-23478}
PORT_C=${PORT_C:-23578}
PORT_F=${PORT_F:-23678}
PORT_U=$((PORT_F + 1))
case $ROUNDS in
    '' | *[!0-9]*) echo "ROUNDS must be a number of rounds (1-50)"; exit 2 ;;
esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || { echo "ROUNDS must be 1-50"; exit 2; }
command -v turnserver >/dev/null || { echo "turnserver (coturn) not found"; exit 1; }
T=$(mktemp -d /tmp/gw-bench-turn.XXXXXX)
pids="" lp=""
cleanup() {
    [ -n "$lp" ] && kill "$lp" 2>/dev/null
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"

LOAD=$B/test/turnload
FLOOR=$B/test/turnfloor
mkdir -p "$B/test"
if [ ! -x "$LOAD" ] || [ test/bench/turnload.c -nt "$LOAD" ]; then
    ${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
        -Wstrict-prototypes test/bench/turnload.c -o "$LOAD" \
        $(pkg-config --cflags --libs gnutls) || exit 1
fi
if [ ! -x "$FLOOR" ] || [ test/bench/turnfloor.c -nt "$FLOOR" ]; then
    ${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
        -Wstrict-prototypes test/bench/turnfloor.c -o "$FLOOR" \
        $(pkg-config --libs liburing) || exit 1
fi

read -r la1 la5 la15 _ </proc/loadavg
load_start="$la1 $la5 $la15"
echo "load average at start: $load_start; $ROUNDS rounds, about \
$(awk -v r="$ROUNDS" -v s="$SECS" -v rs="$RSECS" 'BEGIN { printf "%d", r * (2 * s + 8 * rs + 8) }') s"

start() { # ROUND: the four relays, fresh -> $tp $cp $fp $up
    "$B/bin/turnd" -s turnd.listen_addr="$NET.1" -s turnd.port="$PORT_T" \
        -s turnd.bus="tcp://$NET.1:$((PORT_T + 1))" -s turnd.relay_range=30000-39999 \
        -s turnd.users=alice:wonderland -s turnd.capacity=100000 \
        -s turnd.allowed_peers="$NET.3" \
        -s turnd.log_level=warn >"$T/r$1-turnd.log" 2>&1 &
    tp=$!; pids="$pids $tp"
    turnserver -n --no-cli --no-tls --no-dtls -L "$NET.1" -p "$PORT_C" \
        --min-port 40000 --max-port 49999 --lt-cred-mech --user alice:wonderland \
        --realm gw --allow-loopback-peers --allowed-peer-ip="$NET.3" \
        --no-tcp-relay --no-multicast-peers --log-file "$T/r$1-coturn.log" --simple-log \
        --no-stdout-log --pidfile "$T/coturn.pid" >/dev/null 2>&1 &
    cp=$!; pids="$pids $cp"
    "$FLOOR" "$NET.1" "$PORT_F" 50000 >"$T/r$1-floor.log" 2>&1 &
    fp=$!; pids="$pids $fp"
    "$FLOOR" "$NET.1" "$PORT_U" 55000 uring >"$T/r$1-ufloor.log" 2>&1 &
    up=$!; pids="$pids $up"
    sleep 1
}
alive() { # ROUND
    kill -0 "$tp" 2>/dev/null || { echo "turnd exited:"; tail -n 5 "$T/r$1-turnd.log"; return 1; }
    kill -0 "$cp" 2>/dev/null || { echo "turnserver exited:"; tail -n 5 "$T/r$1-coturn.log"; return 1; }
    kill -0 "$fp" 2>/dev/null || { echo "turnfloor exited:"; tail -n 5 "$T/r$1-floor.log"; return 1; }
    kill -0 "$up" 2>/dev/null || { echo "turnfloor uring exited:"; tail -n 5 "$T/r$1-ufloor.log"; return 1; }
}
stop() { # the four relays: TERM, then KILL after 5 s
    kill "$tp" "$cp" "$fp" "$up" 2>/dev/null
    i=0
    while { kill -0 "$tp" || kill -0 "$cp" || kill -0 "$fp" || kill -0 "$up"; } 2>/dev/null &&
        [ $i -lt 50 ]; do
        sleep 0.1; i=$((i + 1))
    done
    kill -9 "$tp" "$cp" "$fp" "$up" 2>/dev/null
    wait "$tp" "$cp" "$fp" "$up" 2>/dev/null
    pids=""
}

# One turnload run in the background (so that a signal stops it too),
# killed by timeout(1) if it outlives LIMIT seconds; its echo peer dies
# with it.
load() { # LIMIT LOG ARGS...
    lim=$1 log=$2; shift 2
    timeout -k 2 "$lim" "$LOAD" "$@" >"$log" 2>&1 &
    lp=$!
    wait "$lp"
    lp=""
}
alim=$(awk -v s="$SECS" 'BEGIN { printf "%d", s + 30 }')
rlim=$(awk -v s="$RSECS" 'BEGIN { printf "%d", 2 * s + 60 }')
server() { # NAME -> PORT PID
    case $1 in
        turnd) echo "$PORT_T $tp" ;;
        coturn) echo "$PORT_C $cp" ;;
        floor) echo "$PORT_F $fp" ;;
        ufloor) echo "$PORT_U $up" ;;
    esac
}

# The summary: per-round lines (`round R`) and the medians (`final`).
cat >"$T/sum.py" <<'EOPY'
import json, statistics, sys

T, mode = sys.argv[1], sys.argv[2]
SERVERS = ("turnd", "coturn", "floor", "ufloor")

def fields(line):
    w = line.split()
    d = {}
    for i in range(len(w) - 1):
        v = w[i + 1].rstrip("%").replace("/s", "")
        try:
            d[w[i]] = float(v)
        except ValueError:
            pass
    return d

def lines(path):
    try:
        with open(path) as f:
            return f.readlines()
    except OSError:
        return []   # a load that did not run (the floor has no allocation rate)

def parse(r, s):
    res = {}
    for line in lines(f"{T}/r{r}-alloc-{s}.log"):
        if line.startswith("allocations"):
            a = fields(line)
            if a.get("allocations"):
                a["us_per_alloc"] = round(a.get("cpu_s", 0) * 1e6 / a["allocations"], 2)
            res["alloc"] = a
    for line in lines(f"{T}/r{r}-relay-{s}.log"):
        w = line.split()
        if len(w) > 1 and w[0] == "relay" and w[1] in ("allocs", "paced", "unpaced"):
            res[w[1]] = fields(line)
    return res

def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None

# name, phase, field, numerator server (the other is the denominator)
RATIOS = [
    ("alloc_rate_turnd_over_coturn", "alloc", "rate", "turnd"),
    ("alloc_cpu_coturn_over_turnd", "alloc", "us_per_alloc", "coturn"),
    ("relay_paced_cpu_per_pkt_coturn_over_turnd", "paced", "us_per_pkt", "coturn"),
    ("relay_unpaced_cpu_per_pkt_coturn_over_turnd", "unpaced", "us_per_pkt", "coturn"),
    ("relay_unpaced_pps_turnd_over_coturn", "unpaced", "pps", "turnd"),
    ("memory_per_alloc_coturn_over_turnd", "allocs", "bytes_per_alloc", "coturn"),
    ("floor_paced_cpu_per_pkt_coturn_over_floor", "paced", "us_per_pkt", "coturn", "floor"),
    ("floor_unpaced_cpu_per_pkt_coturn_over_floor", "unpaced", "us_per_pkt", "coturn", "floor"),
    ("floor_paced_cpu_per_pkt_turnd_over_floor", "paced", "us_per_pkt", "turnd", "floor"),
    ("floor_unpaced_cpu_per_pkt_turnd_over_floor", "unpaced", "us_per_pkt", "turnd", "floor"),
    ("ufloor_paced_cpu_per_pkt_coturn_over_ufloor", "paced", "us_per_pkt", "coturn", "ufloor"),
    ("ufloor_unpaced_cpu_per_pkt_coturn_over_ufloor", "unpaced", "us_per_pkt", "coturn", "ufloor"),
]
LABEL = {
    "alloc_rate_turnd_over_coturn": "allocation rate, turnd/coturn",
    "alloc_cpu_coturn_over_turnd": "CPU per allocation, coturn/turnd",
    "relay_paced_cpu_per_pkt_coturn_over_turnd": "CPU per packet paced, coturn/turnd",
    "relay_unpaced_cpu_per_pkt_coturn_over_turnd": "CPU per packet unpaced, coturn/turnd",
    "relay_unpaced_pps_turnd_over_coturn": "packets/s unpaced, turnd/coturn",
    "memory_per_alloc_coturn_over_turnd": "memory per allocation, coturn/turnd",
    "floor_paced_cpu_per_pkt_coturn_over_floor": "floor: CPU/pkt paced, coturn/floor",
    "floor_unpaced_cpu_per_pkt_coturn_over_floor": "floor: CPU/pkt unpaced, coturn/floor",
    "floor_paced_cpu_per_pkt_turnd_over_floor": "floor: CPU/pkt paced, turnd/floor",
    "floor_unpaced_cpu_per_pkt_turnd_over_floor": "floor: CPU/pkt unpaced, turnd/floor",
    "ufloor_paced_cpu_per_pkt_coturn_over_ufloor": "uring floor: CPU/pkt paced, coturn/it",
    "ufloor_unpaced_cpu_per_pkt_coturn_over_ufloor": "uring floor: CPU/pkt unpaced, coturn/it",
}

def get(res, phase, f):
    return res.get(phase, {}).get(f)

def round_row(r):
    res = {s: parse(r, s) for s in SERVERS}
    row = {"round": r, "first": "turnd" if r % 2 else "coturn"}
    row.update(res)
    row["ratios"] = {}
    for name, phase, f, num, *den in RATIOS:
        den = den[0] if den else "coturn" if num == "turnd" else "turnd"
        row["ratios"][name] = ratio(get(res[num], phase, f), get(res[den], phase, f))
    noise = [get(res[s], p, "other_cores") for s in SERVERS for p in ("alloc", "paced", "unpaced")]
    steal = [get(res[s], p, "steal_cores") for s in SERVERS for p in ("alloc", "paced", "unpaced")]
    row["other_cores_max"] = max([x for x in noise if x is not None], default=None)
    row["steal_cores_max"] = max([x for x in steal if x is not None], default=None)
    return row

def fmt(x, p=2):
    return "n/a" if x is None else f"{x:.{p}f}"

def print_round(row):
    t, c = row["turnd"], row["coturn"]
    q = row["ratios"]
    print(f"round {row['round']} ({row['first']} first): "
          f"alloc/s {fmt(get(t, 'alloc', 'rate'), 0)}/{fmt(get(c, 'alloc', 'rate'), 0)} "
          f"= {fmt(q['alloc_rate_turnd_over_coturn'])}; "
          f"us/pkt paced {fmt(get(t, 'paced', 'us_per_pkt'))}/{fmt(get(c, 'paced', 'us_per_pkt'))} "
          f"-> {fmt(q['relay_paced_cpu_per_pkt_coturn_over_turnd'])}, "
          f"unpaced {fmt(get(t, 'unpaced', 'us_per_pkt'))}/{fmt(get(c, 'unpaced', 'us_per_pkt'))} "
          f"-> {fmt(q['relay_unpaced_cpu_per_pkt_coturn_over_turnd'])}; "
          f"B/alloc {fmt(get(t, 'allocs', 'bytes_per_alloc'), 0)}/"
          f"{fmt(get(c, 'allocs', 'bytes_per_alloc'), 0)} "
          f"-> {fmt(q['memory_per_alloc_coturn_over_turnd'])}; "
          f"floor us/pkt paced {fmt(get(row['floor'], 'paced', 'us_per_pkt'))} "
          f"unpaced {fmt(get(row['floor'], 'unpaced', 'us_per_pkt'))}, uring floor "
          f"{fmt(get(row['ufloor'], 'paced', 'us_per_pkt'))}/{fmt(get(row['ufloor'], 'unpaced', 'us_per_pkt'))}; "
          f"other cores max {fmt(row['other_cores_max'])}, steal max {fmt(row['steal_cores_max'])}",
          flush=True)

if mode == "round":
    print_round(round_row(int(sys.argv[3])))
    sys.exit(0)

rounds, out = int(sys.argv[3]), sys.argv[4]
conf = dict(a.split("=", 1) for a in sys.argv[5:])
for k, v in conf.items():
    try:
        conf[k] = float(v) if "." in v else int(v)
    except ValueError:
        pass
rows = [round_row(r) for r in range(1, rounds + 1)]
summary = {}
for name, *_ in RATIOS:
    v = [row["ratios"][name] for row in rows if row["ratios"][name] is not None]
    summary[name] = {"median": round(statistics.median(v), 3) if v else None,
                     "min": min(v, default=None), "max": max(v, default=None), "n": len(v)}
# The servers' own figures too, for the notes.
for s in SERVERS:
    for phase, f in (("alloc", "rate"), ("alloc", "us_per_alloc"), ("paced", "us_per_pkt"),
                     ("unpaced", "us_per_pkt"), ("unpaced", "pps"), ("allocs", "bytes_per_alloc")):
        v = [get(row[s], phase, f) for row in rows]
        v = [x for x in v if x is not None]
        summary[f"{s}_{phase}_{f}"] = {"median": round(statistics.median(v), 3) if v else None,
                                       "min": min(v, default=None), "max": max(v, default=None)}
other = [get(row[s], p, "other_cores") for row in rows for s in SERVERS
         for p in ("alloc", "paced", "unpaced")]
other = [x for x in other if x is not None]
steal = [get(row[s], p, "steal_cores") for row in rows for s in SERVERS
         for p in ("alloc", "paced", "unpaced")]
steal = [x for x in steal if x is not None]
noise = {"load_avg_start": [float(x) for x in conf.pop("load_start").split()],
         "load_avg_end": [float(x) for x in conf.pop("load_end").split()],
         "other_cores_median": statistics.median(other) if other else None,
         "other_cores_max": max(other, default=None),
         "steal_cores_median": statistics.median(steal) if steal else None,
         "steal_cores_max": max(steal, default=None)}
json.dump({"config": conf, "noise": noise, "summary": summary, "rounds": rows},
          open(out, "w"), indent=1)

print(f"\nratios over {rounds} rounds (higher is better for turnd):")
print(f"  {'':38} {'median':>7} {'min-max':>11}   per round")
for name, *_ in RATIOS:
    m = summary[name]
    per = " ".join(fmt(row["ratios"][name]) for row in rows)
    print(f"  {LABEL[name]:38} {fmt(m['median']):>7} {fmt(m['min']) + '-' + fmt(m['max']):>11}   {per}")
print("medians, turnd / coturn: "
      f"{fmt(summary['turnd_alloc_rate']['median'], 0)} / {fmt(summary['coturn_alloc_rate']['median'], 0)} "
      f"allocations/s, {fmt(summary['turnd_alloc_us_per_alloc']['median'], 1)} / "
      f"{fmt(summary['coturn_alloc_us_per_alloc']['median'], 1)} us per allocation, "
      f"{fmt(summary['turnd_paced_us_per_pkt']['median'])} / {fmt(summary['coturn_paced_us_per_pkt']['median'])} "
      f"us per packet paced, {fmt(summary['turnd_unpaced_us_per_pkt']['median'])} / "
      f"{fmt(summary['coturn_unpaced_us_per_pkt']['median'])} unpaced, "
      f"{fmt(summary['turnd_allocs_bytes_per_alloc']['median'], 0)} / "
      f"{fmt(summary['coturn_allocs_bytes_per_alloc']['median'], 0)} B per allocation; "
      f"floor {fmt(summary['floor_paced_us_per_pkt']['median'])} us per packet paced, "
      f"{fmt(summary['floor_unpaced_us_per_pkt']['median'])} unpaced; uring floor "
      f"{fmt(summary['ufloor_paced_us_per_pkt']['median'])} paced, "
      f"{fmt(summary['ufloor_unpaced_us_per_pkt']['median'])} unpaced")
print(f"noise: load average {' '.join(map(str, noise['load_avg_start']))} at start, "
      f"{' '.join(map(str, noise['load_avg_end']))} at end; cores taken by others during "
      f"the measured windows median {fmt(noise['other_cores_median'])} max {fmt(noise['other_cores_max'])}, "
      f"steal median {fmt(noise['steal_cores_median'])} max {fmt(noise['steal_cores_max'])}")
print(f"results: {out}")
EOPY

r=1
while [ "$r" -le "$ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then order="turnd coturn"; else order="coturn turnd"; fi
    start "$r"
    alive "$r" || exit 1
    # The floors relay only; they go last in odd rounds and first in even
    # ones.
    if [ $((r % 2)) = 1 ]; then rorder="$order floor ufloor"; else rorder="ufloor floor $order"; fi
    for s in $rorder; do
        set -- $(server "$s")
        load "$rlim" "$T/r$r-relay-$s.log" -r "$NET.1" "$1" alice wonderland \
            "$ALLOCS" "$RSECS" "$NET.3" "$PPS" "$2"
    done
    for s in $order; do
        set -- $(server "$s")
        load "$alim" "$T/r$r-alloc-$s.log" "$NET.1" "$1" alice wonderland \
            "$CLIENTS" "$SECS" "$NET" "$2"
    done
    alive "$r" || exit 1
    stop
    /usr/bin/python3 "$T/sum.py" "$T" round "$r"
    r=$((r + 1))
done

read -r la1 la5 la15 _ </proc/loadavg
load_end="$la1 $la5 $la15"
/usr/bin/python3 "$T/sum.py" "$T" final "$ROUNDS" "$OUT/turnd.json" rounds="$ROUNDS" \
    secs="$SECS" clients="$CLIENTS" allocs="$ALLOCS" rsecs="$RSECS" pps="$PPS" net="$NET" \
    load_start="$load_start" load_end="$load_end"
