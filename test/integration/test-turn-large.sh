#!/bin/sh
# Integration test of turnd's UDP receive paths with large datagrams and
# bursts. turnd reads the client listener and the relay sockets into
# 1600-byte slots, each with a 64 KiB overflow area as a second iovec, and
# joins a larger datagram in the overflow area; a quiet socket is read with
# recvfrom(), a busy one with recvmmsg(). turnc.py (our Python TURN client,
# subcommand "large") with two raw UDP peers on the allow-listed $LAN:
#   - client->peer ChannelData and Send indications, peer->client
#     ChannelData (bound channel) and Data indications (no channel), with
#     payloads of 1 byte to the most one UDP datagram can carry (65503
#     ChannelData, 65468 indications), around each slot boundary, one at a
#     time: every byte compared; each size twice, read in turnd's busy mode
#     (recvmmsg(): a datagram right after a read) and in its quiet mode
#     (recvfrom(): after a poke that makes turnd read another socket first);
#   - bursts of 64 (and of jumbo datagrams) back to back, both framings
#     interleaved, large ones among small ones, sent while turnd is stopped
#     (SIGSTOP to the PID this script started) so that it wakes to a full
#     socket and reads it in batches: every datagram compared, in order,
#     nothing more; one burst with turnd running;
#   - turnd alive to the end, clean stop, no sanitizer report.
# All of it twice: with the relay's per-packet system calls batched through
# io_uring (`io_uring = yes`, the default: sends to peers and reads of
# quiet relay sockets queued until the loop's check phase, relayq.h), and
# with a system call per packet (`io_uring = no`); the start log must say
# which one turnd uses. A third time with io_uring refused by the kernel
# (sysctl kernel.io_uring_disabled = 2 while turnd starts, then put back):
# turnd warns and relays with a system call per packet.
# Every wait is bounded.
#
#   GW_TEST_NET=127.0.71 B=build/rel sh test/integration/test-turn-large.sh

. "$(dirname "$0")/lib.sh"
DIR=$(dirname "$0")
PY=/usr/bin/python3

[ -x "$PY" ] || { not_ok "setup: $PY not found"; exit 1; }
[ -x "$BIN/turnd" ] || { not_ok "setup: no turnd in $BIN"; exit 1; }

set -- $(free_ports 2)
PORT=$1 BUSPORT=$2
[ -n "$BUSPORT" ] || { not_ok "setup: no free ports"; exit 1; }
RELAY=$((20000 + PORT % 1000 * 10))    # 10 relay ports, away from others

SYSCTL=/proc/sys/kernel/io_uring_disabled
URING_OLD=""
# The sysctl is the host's: put back whatever way the script ends.
restore_uring() {
    [ -n "$URING_OLD" ] && echo "$URING_OLD" >$SYSCTL
    URING_OLD=""
}
trap 'restore_uring; cleanup' EXIT
uring_here=yes
for mode in yes no refused; do
    case $mode in
        yes) name=turnd-uring want="relay I/O through io_uring" ;;
        no) name=turnd-plain want="relay I/O with a system call per packet (io_uring = no)" ;;
        refused)
            name=turnd-refused
            want="io_uring unavailable (io_uring_queue_init: Operation not permitted)"
            if [ $uring_here = no ]; then
                echo "# skip: $name: io_uring is refused here already"
                continue
            fi
            if ! URING_OLD=$(cat $SYSCTL 2>/dev/null) || ! echo 2 2>/dev/null >$SYSCTL; then
                URING_OLD=""
                echo "# skip: $name: cannot set $SYSCTL"
                continue
            fi
            ;;
    esac
    opt=$mode
    [ $mode = refused ] && opt=yes
    # No sigd: the bus endpoint is a free port nobody answers on.
    start_daemon $name "$BIN/turnd" -s turnd.listen_addr="$EXT" -s turnd.port="$PORT" \
        -s turnd.bus="tcp://$EXT:$BUSPORT" -s turnd.name=turn-large \
        -s turnd.relay_range="$RELAY-$((RELAY + 9))" \
        -s turnd.users=alice:wonderland -s turnd.allowed_peers="$LAN" \
        -s turnd.io_uring=$opt -s turnd.log_level=info
    # turnd sets its ring up before its listeners: the sysctl goes back as
    # soon as the log says how that went.
    wait_until 10 grep -q "relay I/O" "$T/$name.log"
    restore_uring
    if wait_until 10 grep -q "STUN on udp $EXT:$PORT" "$T/$name.log"; then
        ok "$name: start (turnd on $EXT:$PORT)"
    else
        not_ok "$name: start: turnd not ready within 10 s"
        exit 1
    fi
    if [ $mode = yes ] && grep -q "io_uring unavailable" "$T/$name.log"; then
        # A container's seccomp filter or the host's sysctl: the relay runs
        # as with io_uring = no, and this run checks that path.
        echo "# skip: $name: io_uring refused here: $(grep -o 'io_uring unavailable.*' "$T/$name.log")"
        uring_here=no want="io_uring unavailable"
    fi
    if grep -q "$want" "$T/$name.log"; then
        ok "$name: the start log says '$want'"
    else
        not_ok "$name: the start log does not say '$want': $(grep 'relay I/O' "$T/$name.log")"
    fi

    EXT=$EXT LAN=$LAN PORT=$PORT TURND_PID=$(pid_of $name) \
        timeout 60 "$PY" "$DIR/turnc.py" large >"$T/checks-$name.log" 2>&1
    rc=$?
    kill -CONT "$(pid_of $name)" 2>/dev/null   # never left stopped
    while IFS= read -r line; do
        case $line in
            "ok "*) ok "$name: ${line#ok }" ;;
            "not-ok "*) not_ok "$name: ${line#not-ok }" ;;
        esac
    done <"$T/checks-$name.log"
    [ $rc -eq 0 ] || not_ok "$name: turnc.py large exited with $rc: $(tail -n 1 "$T/checks-$name.log")"

    if alive $name && stop_daemon $name && grep -q "turnd: stopped" "$T/$name.log" &&
       clean_log $name && ! grep -q "handles left open" "$T/$name.log"; then
        ok "$name: alive to the end, clean stop"
    else
        not_ok "$name: crashed, unclean stop or sanitizer report"
    fi
    # The bursts read 16 ChannelData at a time: their sends to the peer
    # went through the ring, in submissions turnd counts at its stop.
    subs=$(sed -n 's/.*turnd: stopped (.* \([0-9]*\) io_uring submissions.*/\1/p' "$T/$name.log")
    case $mode$uring_here in
        yesyes) [ "${subs:-0}" -gt 0 ] ;;
        *) [ "$subs" = 0 ] ;;
    esac && ok "$name: io_uring submissions at the stop: $subs" ||
        not_ok "$name: io_uring submissions at the stop: '$subs' (mode $mode)"
done
finish
