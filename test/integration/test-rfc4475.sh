#!/bin/sh
# RFC 4475 torture messages against sigd's EXT side, while a real call is
# up, with sigd at its default log level (info).
#
# The 49 messages of RFC 4475 (test/integration/rfc4475/, see its README)
# are sent at once, each from its own loopback address, over UDP (TCP
# when its top Via says TCP, TLS when it says TLS), by sip/rfc4475.py,
# which is also the internal platform: it records what sigd forwards to it and answers it.
# Meanwhile sipp places a call (sipp UAC -> sigd -> the platform, which
# answers 200 and echoes the RTP) that must complete cleanly, with all
# its RTP both ways through mediad. Then:
#
# - each message's outcome is checked against the table below (the RFC's
#   verdict for a proxy): forwarded to the platform ("fwd"), answered
#   with a given status (and not forwarded), or dropped without an answer
#   ("drop"); where the RFC allows two, either passes ("400|fwd");
# - every message not forwarded left a line in sigd's log at the default
#   level naming its source address or Call-ID (or, for a request the SIP
#   stack refused itself, its CSeq; for a response it dropped, its status);
# - `gwctl metrics` counts the refusals by reason (gw_sig_rejected_total);
# - a flood of one bad message from one source logs one line per 10 s;
# - requests over max_message get 413 (UDP and TCP), a line, a count;
# - a 488 from the platform reaches the caller (sipp uas_fail / uac_fail);
# - sigd and mediad stop cleanly with no sanitizer report.
#
#   sh test/integration/test-rfc4475.sh
#   B=build/san sh test/integration/test-rfc4475.sh
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
SIPP_DIR=$(cd "$HERE/../sipp" && pwd)
PY=/usr/bin/python3
PKTS=236
SENDERS=$NET      # sources $NET.10 .. $NET.58, one per message

# name expected-outcome (alternatives separated by |). Two deviate from
# the RFC because of Sofia's parser, each pinned to what sigd does instead
# (logged and counted; rfc4475/README.md): "dev:" marks the deviation,
# which passes the check but is not counted as handled as the RFC says.
cat >"$T/expect" <<'EOT'
wsinv 481
intmeth fwd|dev:drop
esc01 fwd
escnull fwd
esc02 fwd
lwsdisp fwd
longreq fwd
dblreq fwd
semiuri fwd
transports fwd
mpart01 fwd
unreason drop
noreason drop
badinv01 400|drop
clerr 400
ncl 400
scalar02 400
scalarlg drop
quotbal 400
ltgtruri 400
lwsruri 400|drop
lwsstart 400|fwd
trws 400|fwd
escruri 400
baddate 400|fwd
regbadct 400
badaspec 400|fwd
baddn 400|fwd
badvers 505|dev:drop
mismatch01 400
mismatch02 400
bigcode drop
badbranch fwd
insuf 400
unkscm 416
novelsc 416
unksm2 fwd|400|416
bext01 420
invut fwd
regaut01 fwd
multi01 400
mcl01 400
bcast drop
zeromf 483
cparam01 fwd
cparam02 fwd
regescrt fwd
sdp01 fwd
inv2543 fwd
EOT

# TLS on EXT, for the message whose Via says TLS (bext01).
PKI=$T/pki
sh "$HERE/tlscerts.sh" "$PKI" sigd.test >/dev/null 2>&1
write_config
sed -i 's/^log_level = debug/log_level = info/' "$T/gw.ini"
cat >>"$T/gw.ini" <<EOC

[sigd]
tls_port = 15061
tls_cert = $PKI/sigd.test.pem
tls_key = $PKI/sigd.test.key
tls_ca = $PKI/ca.pem
EOC
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini" -s antifraud.ban_file="$T/bans"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

# The platform and the torture messages (10 s), with a call placed 0.5 s in.
(cd "$T" && RFC4475_TLS_PORT=15061 exec $PY "$HERE/sip/rfc4475.py" "$HERE/rfc4475" "$EXT" 15060 "$SENDERS" \
    "$LAN" 15080 10 >"$T/torture.out" 2>"$T/torture.err") &
tpid=$!
PIDS="$PIDS $tpid"
sleep 0.5
(cd "$T" && timeout 30 sipp "$EXT:15060" -sf "$SIPP_DIR/uac_pcap.xml" -i "$EXT" -p 15090 \
    -mi "$EXT" -mp 16000 -s service -m 1 -l 1 -nostdin -trace_err \
    >"$T/uac.out" 2>&1)
rc=$?
wait $tpid
PIDS=$(echo "$PIDS" | sed "s/ $tpid\b//")
check "the call placed during the torture completed cleanly (sipp exit $rc)" [ "$rc" -eq 0 ]
wait_until 5 grep -q "stream 0 ended" "$T/mediad.log"
check "its RTP crossed mediad both ways ($PKTS packets each way)" \
    grep -q "EXT in $PKTS out $PKTS dropped 0, INT in $PKTS out $PKTS dropped 0" "$T/mediad.log"

# Per message: the outcome against the table, and the log line.
good=0; total=0; devs=
while read -r name want; do
    total=$((total + 1))
    line=$(grep "^case $name " "$T/torture.out")
    src=$(echo "$line" | awk '{print $4}')
    st=$(echo "$line" | sed -n 's/.*statuses=\([^ ]*\).*/\1/p')
    fwd=$(echo "$line" | sed -n 's/.*fwd=\([01]\).*/\1/p')
    final=$(echo "$st" | tr ',' '\n' | grep -v '^1' | tail -n 1)
    [ "$st" = none ] && final=none
    f=$T/rfc4475-$name.dat
    cp "$HERE/rfc4475/$name.dat" "$f"
    cid=$(tr -d '\000' <"$f" | sed -n 's/^\(Call-ID\|i\|I\)[ \t]*:[ \t]*\([^ \r]*\).*/\2/p' | head -n 1)
    cseq=$(tr -d '\000' <"$f" | sed -n 's/^\(CSeq\|cseq\)[ \t]*:[ \t]*\([0-9]*\).*/\2/p' | head -n 1)
    verdict=no
    for w in $(echo "$want" | tr '|' ' '); do
        v=yes
        case $w in dev:*) w=${w#dev:}; v=dev ;; esac
        case $w in
        fwd) [ "$fwd" = 1 ] && verdict=$v ;;
        drop) [ "$fwd" = 0 ] && [ "$final" = none ] && verdict=$v ;;
        *) [ "$fwd" = 0 ] && [ "$final" = "$w" ] && verdict=$v ;;
        esac
        [ $verdict = yes ] && break
    done
    logged=yes
    if [ "$fwd" = 0 ]; then
        logged=no
        ours=$(grep -E "^[0-9:.]+ sigd (INFO|WARN|ERR) " "$T/sigd.log")
        echo "$ours" | grep -qF " $src:" && logged=yes
        [ -n "$cid" ] && echo "$ours" | grep -qF "[$cid]" && logged=yes
        [ -n "$cseq" ] && echo "$ours" | grep -q "SIP stack.*(CSeq $cseq)" && logged=yes
        # a response the SIP stack drops: known by its status code only
        code=$(head -n 1 "$f" | sed -n 's/^SIP\/2\.0 \([0-9]*\) .*/\1/p')
        [ -n "$code" ] && echo "$ours" | grep -q "SIP stack dropped $code response" &&
            logged=yes
    fi
    if [ $verdict = yes ] && [ $logged = yes ]; then
        good=$((good + 1))
        ok "$name: $want (got ${final:-none}, fwd=$fwd)"
    elif [ $verdict = dev ] && [ $logged = yes ]; then
        devs="$devs $name"
        ok "$name: known deviation (Sofia), got ${final:-none}, fwd=$fwd, logged"
    else
        not_ok "$name: want $want, got ${final:-none} fwd=$fwd logged=$logged"
    fi
done <"$T/expect"
echo "# RFC 4475: $good of $total handled as the RFC says; known deviations:${devs:- none}"
check "dblreq's trailing INVITE was not taken for a request" \
    sh -c "! grep -q '^platform dblreq.0ha0isnda977644900765@192.0.2.15 ' '$T/torture.out'"

# Refusals by reason in gwctl metrics.
"$BIN/gwctl" -b "$BUS" metrics >"$T/metrics.out" 2>&1
check "gwctl metrics counts refusals by reason" \
    grep -q '^gw_sig_rejected_total{reason="[a-z_]*"} [1-9]' "$T/metrics.out"
# Each reason the torture exercises (table above) was counted, read with
# a Prometheus parser (python3-prometheus-client).
check "gw_sig_rejected_total parses as Prometheus text and counts each reason of the torture" \
    $PY - "$T/metrics.out" <<'EOPY'
import sys
from prometheus_client.parser import text_string_to_metric_families
want = ("stray_response unsupported_scheme bad_extension uri_headers too_many_hops "
        "unknown_dialog bad_header bad_mandatory bad_framing bad_start_line bad_version "
        "no_via bad_response").split()
got = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    if fam.name == "gw_sig_rejected" and fam.type == "counter":
        for s in fam.samples:
            got[s.labels["reason"]] = s.value
missing = [r for r in want if got.get(r, 0) < 1]
print("# rejected:", got)
sys.exit(1 if missing else 0)
EOPY

# A flood of one bad message from one source: one log line per 10 s.
$PY - "$EXT" 15060 "$NET.200" "$HERE/rfc4475/zeromf.dat" <<'EOPY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[3], 0))
data = open(sys.argv[4], "rb").read()
for i in range(50):
    s.sendto(data.replace(b"zeromf.", b"zeromf%d." % i).replace(b"bKkdjuw2349i", b"bKflood%d" % i),
             (sys.argv[1], int(sys.argv[2])))
EOPY
sleep 1
n=$(grep -E "^[0-9:.]+ sigd (INFO|WARN|ERR) " "$T/sigd.log" | grep -c " $NET.200:")
check "a flood of 50 refused requests from one source logged $n line(s), at most 1 per 10 s" [ "$n" -eq 1 ]
"$BIN/gwctl" -b "$BUS" metrics >"$T/metrics2.out" 2>&1
b=$(sed -n 's/^gw_sig_rejected_total{reason="too_many_hops"} //p' "$T/metrics.out")
a=$(sed -n 's/^gw_sig_rejected_total{reason="too_many_hops"} //p' "$T/metrics2.out")
check "the flood is counted (too_many_hops ${b:-0} -> ${a:-0})" [ "${a:-0}" -ge $(( ${b:-0} + 50 )) ]

# Requests over max_message (16 KiB), over UDP and TCP: 413, logged by
# CSeq (the SIP stack refuses them before it reads the Via), counted.
big=$($PY - "$EXT" 15060 "$NET.201" <<'EOPY'
import socket, sys
host, port, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def req(tr, cseq):
    body = "x" * 20000
    return ("OPTIONS sip:big@example.com SIP/2.0\r\n"
            "Via: SIP/2.0/%s %s:5070;rport;branch=z9hG4bKbig%d\r\n"
            "Max-Forwards: 70\r\nTo: <sip:big@example.com>\r\n"
            "From: <sip:a@example.com>;tag=b\r\nCall-ID: big%d\r\nCSeq: %d OPTIONS\r\n"
            "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
            % (tr, src, cseq, cseq, cseq, len(body), body)).encode()
out = []
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((src, 5070))
u.settimeout(2)
u.sendto(req("UDP", 777001), (host, port))
try:
    out.append(u.recv(65535).split(b" ")[1].decode())
except OSError:
    out.append("none")
t = socket.socket()
t.bind((src, 0))
t.settimeout(2)
t.connect((host, port))
t.sendall(req("TCP", 777002))
try:
    out.append(t.recv(65535).split(b" ")[1].decode())
except OSError:
    out.append("none")
print(" ".join(out))
EOPY
)
check "requests over max_message are answered 413 over UDP and TCP (got $big)" [ "$big" = "413 413" ]
for c in 777001 777002; do
    check "the 413 of CSeq $c was logged" \
        grep -q "sigd INFO SIP stack refused OPTIONS (CSeq $c).*: 413 " "$T/sigd.log"
done
"$BIN/gwctl" -b "$BUS" metrics >"$T/metrics3.out" 2>&1
n=$(sed -n 's/^gw_sig_rejected_total{reason="too_large"} //p' "$T/metrics3.out")
check "and counted (too_large ${n:-0})" [ "${n:-0}" -eq 2 ]

# A 488 from the platform reaches the caller.
(cd "$T" && exec sipp -sf "$SIPP_DIR/uas_fail.xml" -i "$LAN" -p 15080 -nostdin \
    -timeout 20s -m 1 >"$T/uas-488.out" 2>&1) &
uas=$!
PIDS="$PIDS $uas"
sleep 0.5
(cd "$T" && timeout 20 sipp "$EXT:15060" -sf "$SIPP_DIR/uac_fail.xml" -i "$EXT" -p 15091 \
    -s 488 -key ruri "sip:488@$EXT:15060" -m 1 -nostdin -trace_msg >"$T/uac-488.out" 2>&1)
rc=$?
wait $uas 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $uas\b//")
m=$(ls "$T"/uac_fail_*_messages.log 2>/dev/null | head -n 1)
check "a 488 from the platform reached the caller (sipp exit $rc)" \
    sh -c "[ $rc -eq 0 ] && grep -q '^SIP/2.0 488' '$m'"

check "sigd still alive after the torture" alive sigd
check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "sigd log free of sanitizer reports" clean_log sigd
check "mediad log free of sanitizer reports" clean_log mediad
finish
