#!/bin/sh
# mediad's rt_priority and worker_cpus: the packet threads (and only they)
# run under SCHED_FIFO at the configured priority, each pinned to its CPU,
# a call's RTP is relayed by them in full, and a host that does not allow
# real-time scheduling, or a CPU list that cannot be honoured, stops the
# start with the file, the line and the reason instead of running without.
# And commands reach a real-time worker without it spinning while the
# control thread that posts them waits for the CPU (mediad on one CPU).
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
PKTS=236    # RTP packets in g711a.pcap

# policy and priority of each thread of PID, as "comm policy prio" lines
# (fields 41 and 40 of /proc/PID/task/TID/stat; comm has no spaces here).
threads() {
    for t in /proc/"$1"/task/*; do
        echo "$(cat "$t/comm") $(awk '{ print $41, $40 }' "$t/stat")"
    done
}

# Real-time scheduling needs root's CAP_SYS_NICE (or an RLIMIT_RTPRIO);
# a container without either gets the pinning checks only.
RT=20
if ! chrt -f 20 true 2>/dev/null; then
    echo "# skip: real-time scheduling is not allowed here (no CAP_SYS_NICE or RLIMIT_RTPRIO):"
    echo "#       the rt_priority checks are skipped, the worker_cpus ones run"
    RT=0
fi

write_config
sed -i "/^\[mediad\]$/a workers = 3\nrt_priority = $RT\nworker_cpus = auto" "$T/gw.ini"
# the CPUs this test (and so mediad) may run on, and one it may not
set -- $(/usr/bin/python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')
NCPU=$#
ALLOWED="$*"
NOTCPU=$(( $(echo "$ALLOWED" | tr ' ' '\n' | tail -n 1) + 1 ))

start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"
mp=$(pid_of mediad)
threads "$mp" >"$T/threads.txt"
n_other_rt=$(grep -v '^md-worker' "$T/threads.txt" | awk '$2 != 0' | wc -l)
if [ "$RT" != 0 ]; then
    n_rt=$(grep -c '^md-worker[0-9]* 1 20$' "$T/threads.txt")
    check "the 3 packet threads run under SCHED_FIFO at priority 20 ($n_rt)" [ "$n_rt" = 3 ]
    check "mediad logs the scheduling" grep -q "3 worker(s) under SCHED_FIFO, pinned" "$T/mediad.log"
fi
check "no other thread of mediad is real-time ($n_other_rt)" [ "$n_other_rt" = 0 ]
# worker_cpus = auto: worker i on the i-th CPU allowed, round robin.
pins=""
for t in /proc/"$mp"/task/*; do
    case $(cat "$t/comm") in md-worker*)
        pins="$pins $(cat "$t/comm")=$(awk '/^Cpus_allowed_list/ { print $2 }' "$t/status")" ;;
    esac
done
want=""
for i in 0 1 2; do
    want="$want md-worker$i=$(echo "$ALLOWED" | cut -d' ' -f$((i % NCPU + 1)))"
done
have=$(echo $pins | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
check "each packet thread is pinned to its CPU ($have)" [ "$have" = "$(echo $want)" ]
if [ "$NCPU" -lt 3 ]; then
    check "three workers on $NCPU CPU(s): mediad warns that two share one" grep -q \
        "gw.ini:$(grep -n '^worker_cpus' "$T/gw.ini" | cut -d: -f1): worker_cpus: workers 0 and $NCPU share CPU $1 (3 workers, $NCPU CPUs listed)" \
        "$T/mediad.log"
fi

(cd "$T" && exec sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p 15080 \
    -mi "$LAN" -mp 17000 -rtp_echo -nostdin -trace_err -timeout 30s -m 1 \
    >"$T/uas.out" 2>&1) &
uas=$!
PIDS="$PIDS $uas"
sleep 0.5
(cd "$T" && timeout 30 sipp "$EXT:15060" -sf "$SIPP_DIR/uac_pcap.xml" \
    -i "$EXT" -p 15090 -mi "$EXT" -mp 16000 -s service -m 1 -nostdin \
    -trace_err >"$T/uac.out" 2>&1)
rc=$?
wait "$uas" 2>/dev/null
check "a call through the pinned (real-time) workers succeeds (sipp exit $rc)" [ "$rc" = 0 ]
wait_until 5 grep -q "stream 0 ended" "$T/mediad.log"
check "its RTP crossed mediad in full both ways" grep -q \
    "EXT in $PKTS out $PKTS dropped 0, INT in $PKTS out $PKTS dropped 0" "$T/mediad.log"
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from mediad" clean_log mediad

# Without CAP_SYS_NICE (dropped from the bounding set, so root loses it
# across exec) and with RLIMIT_RTPRIO at 0, SCHED_FIFO is refused.
line=$(grep -n '^rt_priority' "$T/gw.ini" | cut -d: -f1)
if [ "$RT" != 0 ]; then
    timeout 10 setpriv --bounding-set=-sys_nice prlimit --rtprio=0 \
        "$BIN/mediad" -c "$T/gw.ini" >"$T/noperm.log" 2>&1
    rc=$?
    check "without the privilege mediad does not start (exit $rc)" [ "$rc" = 1 ]
    check "  and names the file, the line and what to grant" grep -q \
        "$T/gw.ini:$line: rt_priority 20: cannot put the packet threads under SCHED_FIFO (pthread_setschedparam): Operation not permitted (needs CAP_SYS_NICE" \
        "$T/noperm.log"
fi

# A CPU list naming a CPU mediad may not run on, and one that is not a list.
cline=$(grep -n '^worker_cpus' "$T/gw.ini" | cut -d: -f1)
refused_cpus() { # VALUE REASON
    sed -i "s/^worker_cpus = .*/worker_cpus = $1/" "$T/gw.ini"
    timeout 10 "$BIN/mediad" -c "$T/gw.ini" --check >"$T/cpus.log" 2>&1
    rc=$?
    check "worker_cpus = $1 is refused by --check (exit $rc)" [ "$rc" = 1 ]
    timeout 10 "$BIN/mediad" -c "$T/gw.ini" >>"$T/cpus.log" 2>&1
    rc=$?
    check "  and stops the start (exit $rc)" [ "$rc" = 1 ]
    n=$(grep -cF "mediad: config error: $T/gw.ini:$cline: worker_cpus: $2" "$T/cpus.log")
    check "  both times with file, line and reason ($n)" [ "$n" = 2 ]
}
refused_cpus "$1,$NOTCPU" "CPU $NOTCPU is not one mediad may run on"
refused_cpus "0-" "'0-' is not 'auto' or a CPU list such as 0,2-3"

# Out of range: 99 is the watchdog's and migration's level.
sed -i 's/^worker_cpus = .*/worker_cpus = auto/; s/^rt_priority = .*/rt_priority = 99/' "$T/gw.ini"
"$BIN/mediad" -c "$T/gw.ini" --check >"$T/range.log" 2>&1
rc=$?
check "rt_priority = 99 is refused by --check (exit $rc)" [ "$rc" -ne 0 ]
check "  with file and line" grep -q "$T/gw.ini:$line: " "$T/range.log"

check "sigd stops cleanly" stop_daemon sigd

# Commands reach a worker from the main thread. With the whole process on
# one CPU, a SCHED_FIFO worker woken by a command preempts the main thread
# that posts it; the wake-up must not leave the worker spinning until the
# poster gets the CPU back (libuv's uv_async_send did: the worker spun in
# sched_yield, which lets no normal thread in, until the kernel's real-time
# throttling stopped it).
if [ "$RT" != 0 ]; then
    HERE=$(cd "$(dirname "$0")" && pwd)
    protoc --python_out="$T" -I"$HERE/../../proto" gw.proto || { not_ok "protoc"; finish; exit 1; }
    sed -i 's/^workers = .*/workers = 1/; s/^rt_priority = .*/rt_priority = 20/' "$T/gw.ini"
    start_daemon mediad taskset -c "$1" "$BIN/mediad" -c "$T/gw.ini"
    mp=$(pid_of mediad)
    timeout 120 /usr/bin/python3 "$HERE/mediad/mdprobe.py" "$NET" "$BUS" "$T" commands 200 "$mp" \
        >"$T/cmds.out" 2>&1
    rc=$?
    grep -E "^(ok|not ok) - " "$T/cmds.out"
    PASSED=$((PASSED + $(grep -c '^ok - ' "$T/cmds.out")))
    FAILED=$((FAILED + $(grep -c '^not ok - ' "$T/cmds.out")))
    if [ "$rc" -ne 0 ]; then
        [ "$(grep -c '^not ok - ' "$T/cmds.out")" -eq 0 ] && not_ok "mdprobe exited with $rc"
        sed 's/^/# /' "$T/cmds.out" | tail -n 30
    fi
    check "mediad on one CPU stops cleanly" stop_daemon mediad
    check "no sanitizer report from mediad" clean_log mediad
fi
finish
