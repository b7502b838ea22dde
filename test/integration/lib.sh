# Shared helpers for the integration tests (POSIX sh, sourced).
#
# Each test script sources this file, starts the daemons it needs with
# start_daemon (which records their PIDs), reports checks with ok/not_ok
# and ends with finish. Cleanup stops only the processes the test started,
# by PID, also when the script fails or is interrupted. Addresses are in
# 127.0.0.0/8 but away from the default plan, so that `make run` can keep
# running while the tests do.

B=${B:-build/rel}
BIN=$B/bin
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
T=$(mktemp -d "/tmp/gw-$TEST_NAME.XXXXXX")
PIDS=""
PASSED=0
FAILED=0

# Test network: EXT, INT, the internal platform, and the bus.
# GW_TEST_NET moves the whole test network (to run two suites at once).
NET=${GW_TEST_NET:-127.0.10}
EXT=$NET.1
INT=$NET.2
LAN=$NET.3
BUS=tcp://$NET.1:17700

ok() { PASSED=$((PASSED + 1)); echo "ok - $TEST_NAME: $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $TEST_NAME: $*"; }
check() { # check "description" command...
    d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# start_daemon NAME CMD... : runs CMD in the background, output to $T/NAME.log
start_daemon() {
    name=$1; shift
    "$@" >"$T/$name.log" 2>&1 &
    pid=$!
    echo "$pid" >"$T/$name.pid"
    PIDS="$PIDS $pid"
}

pid_of() { cat "$T/$1.pid"; }
alive() { kill -0 "$(pid_of "$1")" 2>/dev/null; }

# wait_until SECONDS CMD... : polls CMD every 0.1 s, bounded.
wait_until() {
    limit=$(( $1 * 10 )); shift
    i=0
    while [ $i -lt $limit ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# stop_daemon NAME : SIGTERM, wait up to 5 s, then SIGKILL. Returns the
# exit status (non-zero if the daemon failed, crashed or a sanitizer
# reported at exit).
stop_daemon() {
    pid=$(pid_of "$1")
    kill -TERM "$pid" 2>/dev/null || return 0
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        echo "$1 did not stop within 5 s" >>"$T/$1.log"
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    PIDS=$(echo "$PIDS" | sed "s/ $pid\b//")
    return $rc
}

# A daemon's log must be free of sanitizer reports.
clean_log() {
    ! grep -Eq "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/$1.log"
}

cleanup() {
    for pid in $PIDS; do kill -TERM "$pid" 2>/dev/null; done
    sleep 0.3
    for pid in $PIDS; do kill -KILL "$pid" 2>/dev/null; done
    if [ "$FAILED" -ne 0 ] || [ -n "$KEEP" ]; then
        echo "# logs kept in $T"
        for f in "$T"/*.log; do
            [ -f "$f" ] || continue
            echo "# ---- $f (last 40 lines)"
            tail -n 40 "$f" | sed 's/^/# /'
        done
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

finish() {
    echo "$TEST_NAME: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# The config every test starts from: the test network, a small port plan.
write_config() {
    cat >"$T/gw.ini" <<EOC
[sigd]
ext_addr = $EXT
ext_port = 15060
int_addr = $INT
int_port = 15060
internal_target = sip:$LAN:15080
bus_bind = $BUS
log_level = debug

[mediad]
name = media1
bus = $BUS
ext_addr = $EXT
int_addr = $INT
rtp_range = 30000-30999

[turnd]
name = turn1
bus = $BUS
listen_addr = $EXT
port = 13478
relay_range = 31000-31999
EOC
}

# gwctl_field NODE FIELD : prints FIELD's value from `gwctl nodes`.
gwctl_field() {
    "$BIN/gwctl" -b "$BUS" nodes 2>/dev/null |
        awk -v n="$1" -v f="$2" '$1 == "node" && $2 == n {
            for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}

# free_ports N: N port numbers free for both UDP and TCP on $EXT (bounded).
free_ports() {
    /usr/bin/python3 - "$EXT" "$1" <<'EOPY'
import socket, sys
ip, want, out = sys.argv[1], int(sys.argv[2]), []
for _ in range(200):
    t = socket.socket(); t.bind((ip, 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind((ip, p))
    except OSError:
        continue
    out.append(p); t.close(); u.close()
    if len(out) == want:
        break
print(*out)
EOPY
}

# baresip_config DIR LISTEN RTP_PORTS [LINE...]: a baresip config in DIR
# for a softphone on LISTEN (ADDR:PORT) that plays DIR/tone.wav (10 s of
# 440 Hz, 8 kHz mono) as its microphone and hears nothing, with G.711 and
# SDES SRTP; each LINE is added to the config as it is.
baresip_config() {
    d=$1; listen=$2; rtp=$3; shift 3
    mkdir -p "$d"
    /usr/bin/python3 - "$d/tone.wav" <<'EOPY'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                       for i in range(8000 * 10)))
w.close()
EOPY
    cat >"$d/config" <<EOC
poll_method		epoll
sip_listen		$listen
audio_player		alsa,null
audio_source		aufile,$d/tone.wav
audio_alert		alsa,null
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			alsa.so
module			sndfile.so
module			srtp.so
module			menu.so
module_app		account.so
rtp_ports		$rtp
EOC
    for l in "$@"; do printf '%s\n' "$l" >>"$d/config"; done
}

# baresip_dial DIR ACCOUNT URI LOG: baresip with DIR's config and the one
# account ACCOUNT dials URI, talks for about 7 s (bounded at 30 s); its
# output goes to LOG.
baresip_dial() {
    echo "$2" >"$1/accounts"
    sleep 0.5
    (cd "$1" && timeout 30 baresip -f "$1" -e "/dial $3" -t 7 >"$4" 2>&1)
}

# stream_counts LOG: "EXT-in EXT-out INT-in INT-out", the packet counters
# of the last media stream mediad logged as ended in LOG.
stream_counts() {
    grep "stream 0 ended" "$1" | tail -n 1 |
        sed 's/.*EXT in \([0-9]*\) out \([0-9]*\) dropped [0-9]*, INT in \([0-9]*\) out \([0-9]*\).*/\1 \2 \3 \4/'
}
