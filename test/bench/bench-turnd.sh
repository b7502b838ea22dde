#!/bin/sh
# TURN allocation rate: turnd against coturn's turnserver, same load, same
# machine, other ports. The load is turnload (test/bench/turnload.c, built
# here into $B/test if missing): CLIENTS UDP clients each doing Allocate ->
# 401 -> Allocate -> 200 -> Refresh(0) -> 200 from a fresh 5-tuple, for
# SECS seconds. Prints each server's rate, its CPU seconds and turnd's
# memory, then the ratio turnd/coturn. Loopback only ($GW_BENCH_NET, away
# from the test networks); kills only the PIDs it started.
#
# Then relaying, same run, same two servers: turnload -r makes ALLOCS
# allocations on each (each with a channel to turnload's echo peer on
# $NET.3, allow-listed in both), reads the server's RSS after half and all
# of them (bytes per allocation, one-time buffers excluded), and sends
# 160-byte ChannelData for RSECS seconds paced at PPS, then RSECS unpaced
# (512 in flight). Prints relayed packets/s and µs of server CPU per
# relayed packet (from /proc/PID/stat; each echoed packet is relayed
# twice), and the ratios turnd/coturn.
#
#   B=build/rel sh test/bench/bench-turnd.sh
set -u
B=${B:-build/rel}
NET=${GW_BENCH_NET:-127.0.61}
SECS=${SECS:-5}
CLIENTS=${CLIENTS:-64}
ALLOCS=${ALLOCS:-200}
RSECS=${RSECS:-3}
PPS=${PPS:-20000}
PORT_T=${PORT_T:-23478}
PORT_C=${PORT_C:-23578}
T=$(mktemp -d /tmp/gw-bench-turn.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT INT TERM

LOAD=$B/test/turnload
if [ ! -x "$LOAD" ] || [ test/bench/turnload.c -nt "$LOAD" ]; then
    mkdir -p "$B/test"
    ${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
        -Wstrict-prototypes test/bench/turnload.c -o "$LOAD" \
        $(pkg-config --cflags --libs gnutls) || exit 1
fi
command -v turnserver >/dev/null || { echo "turnserver (coturn) not found"; exit 1; }

"$B/bin/turnd" -s turnd.listen_addr="$NET.1" -s turnd.port="$PORT_T" \
    -s turnd.bus="tcp://$NET.1:$((PORT_T + 1))" -s turnd.relay_range=30000-39999 \
    -s turnd.users=alice:wonderland -s turnd.capacity=100000 \
    -s turnd.allowed_peers="$NET.3" \
    -s turnd.log_level=warn >"$T/turnd.log" 2>&1 &
tp=$!; pids="$pids $tp"
turnserver -n --no-cli --no-tls --no-dtls -L "$NET.1" -p "$PORT_C" \
    --min-port 40000 --max-port 49999 --lt-cred-mech --user alice:wonderland \
    --realm gw --allow-loopback-peers --allowed-peer-ip="$NET.3" \
    --no-tcp-relay --no-multicast-peers --log-file "$T/coturn.log" --simple-log --no-stdout-log \
    --pidfile "$T/coturn.pid" >/dev/null 2>&1 &
cp=$!; pids="$pids $cp"
sleep 1

cpu() { # PID -> CPU seconds (utime + stime) from /proc
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
run() { # NAME PORT PID
    c0=$(cpu "$3")
    out=$("$LOAD" "$NET.1" "$2" alice wonderland "$CLIENTS" "$SECS" "$NET")
    c1=$(cpu "$3")
    echo "$1: $out cpu_s $(echo "$c1 - $c0" | bc)"
    echo "$out" | sed -n 's/.* rate \([0-9]*\)\/s.*/\1/p'
}
rt=$(run turnd "$PORT_T" "$tp"); echo "$rt" | head -n 1
rc=$(run coturn "$PORT_C" "$cp"); echo "$rc" | head -n 1
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$tp/status")
echo "turnd: rss_kb $rss after the run (allocations deleted)"
a=$(echo "$rt" | tail -n 1); b=$(echo "$rc" | tail -n 1)
[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt 0 ] &&
    echo "allocation rate ratio turnd/coturn: $(echo "scale=2; $a / $b" | bc)"

# --- relaying: packets/s, CPU per relayed packet, memory per allocation.
relay() { # NAME PORT PID
    "$LOAD" -r "$NET.1" "$2" alice wonderland "$ALLOCS" "$RSECS" "$NET.3" "$PPS" "$3" \
        >"$T/relay-$1.log" 2>&1
    sed "s/^/$1: /" "$T/relay-$1.log"
}
field() { # NAME LINE FIELD
    awk -v l="$2" -v f="$3" '$2 == l { for (i = 3; i < NF; i++) if ($i == f) print $(i + 1) }' \
        "$T/relay-$1.log"
}
relay turnd "$PORT_T" "$tp"
relay coturn "$PORT_C" "$cp"
ratio() { # A B : A / B, or "n/a"
    if [ -n "$1" ] && [ -n "$2" ] && [ "$(echo "$2 > 0" | bc)" = 1 ]; then
        echo "scale=2; $1 / $2" | bc
    else
        echo n/a
    fi
}
for l in paced unpaced; do
    echo "relay $l: turnd/coturn pps $(ratio "$(field turnd $l pps)" "$(field coturn $l pps)"), \
coturn/turnd cpu per packet $(ratio "$(field coturn $l us_per_pkt)" "$(field turnd $l us_per_pkt)") \
(turnd $(field turnd $l us_per_pkt) us, coturn $(field coturn $l us_per_pkt) us)"
done
echo "memory per allocation: turnd $(field turnd allocs bytes_per_alloc) B, coturn $(field coturn allocs bytes_per_alloc) B"
