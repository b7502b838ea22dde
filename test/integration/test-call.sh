#!/bin/sh
# A real SIP call with real RTP through the gateway: sipp UAC on EXT ->
# sigd -> sipp UAS (the internal platform, echoing RTP) on INT, with the
# G.711 pcap played for each call. Checks that every call succeeds, that the
# answer the caller sees names the relay (the UAC scenario fails the call
# otherwise), that RTP crossed mediad in both directions, and that no
# session or port is left afterwards. Over UDP, then TCP.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
CALLS=${CALLS:-6}
PKTS=236    # RTP packets in g711a.pcap

write_config
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini" -s mediad.delay_sample=3
check "media node registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

run_calls() { # transport sipp-transport-flag uas-port uac-port
    tr=$1; flag=$2; uport=$3; cport=$4
    (cd "$T" && exec sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p "$uport" \
        -mi "$LAN" -mp 17000 -rtp_echo -t "$flag" -nostdin \
        -trace_err -trace_msg -timeout 60s >"$T/uas-$tr.out" 2>&1) &
    uas=$!
    PIDS="$PIDS $uas"
    sleep 0.5
    (cd "$T" && timeout 60 sipp "$EXT:15060" -sf "$SIPP_DIR/uac_pcap.xml" \
        -i "$EXT" -p "$cport" -mi "$EXT" -mp 16000 -t "$flag" -s service \
        -m "$CALLS" -r 3 -l "$CALLS" -nostdin -trace_err -trace_msg \
        >"$T/uac-$tr.out" 2>&1)
    rc=$?
    kill "$uas" 2>/dev/null
    wait "$uas" 2>/dev/null
    PIDS=$(echo "$PIDS" | sed "s/ $uas\b//")
    return $rc
}

for tr in udp tcp; do
    if [ $tr = udp ]; then flag=u1; else flag=t1; fi
    # the internal target follows the transport under test
    before=$(grep -c "stream 0 ended" "$T/mediad.log")
    if [ $tr = tcp ]; then
        stop_daemon sigd
        sed -i "s|^internal_target = .*|internal_target = sip:$LAN:15080;transport=tcp|" "$T/gw.ini"
        start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
        wait_until 10 sh -c "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 .*state=live'"
    fi
    if run_calls $tr $flag 15080 15090; then
        ok "$CALLS calls over $tr all succeeded (sipp exit 0)"
    else
        not_ok "$CALLS calls over $tr: sipp failed (see uac-$tr.out)"
        tail -n 30 "$T/uac-$tr.out" | sed 's/^/# /'
    fi
    # SDP as each side saw it: the caller gets the relay's EXT address in
    # the answer, the platform the relay's INT address in the offer.
    uac_log=$(ls -t "$T"/uac_pcap_*_messages.log | head -n 1)
    uas_log=$(ls -t "$T"/uas_echo_*_messages.log | head -n 1)
    n_ext=$(grep -c "^c=IN IP4 $EXT[[:space:]]*\$" "$uac_log")
    n_lan=$(grep -c "^c=IN IP4 $LAN[[:space:]]*\$" "$uac_log")
    check "caller saw the relay's EXT address in all $CALLS $tr answers ($n_ext), never the platform's ($n_lan)" \
        [ "$n_ext" -ge "$CALLS" -a "$n_lan" -eq 0 ]
    n_int=$(grep -c "^c=IN IP4 $INT[[:space:]]*\$" "$uas_log")
    n_ext2=$(grep -c "^c=IN IP4 $EXT[[:space:]]*\$" "$uas_log")
    check "platform saw the relay's INT address in all $CALLS $tr offers ($n_int), never EXT ($n_ext2)" \
        [ "$n_int" -ge "$CALLS" -a "$n_ext2" -eq 0 ]
    rm -f "$uac_log" "$uas_log"
    wait_until 5 sh -c "[ \$(grep -c 'stream 0 ended' '$T/mediad.log') -ge $((before + CALLS)) ]"
    # Every ended session relayed the whole pcap both ways: EXT in (from
    # the caller) -> INT out, and INT in (the echo) -> EXT out.
    full=$(grep "stream 0 ended" "$T/mediad.log" | tail -n "$CALLS" |
        grep -c "EXT in $PKTS out $PKTS dropped 0, INT in $PKTS out $PKTS dropped 0")
    if [ "$full" -eq "$CALLS" ]; then
        ok "RTP crossed mediad both ways on all $CALLS $tr calls ($PKTS packets each way)"
    else
        not_ok "RTP both ways on $full of $CALLS $tr calls"
        grep "stream 0 ended" "$T/mediad.log" | tail -n "$CALLS" | sed 's/^/# /'
    fi
done

# The node's own figures, through the bus: nothing left behind.
wait_until 5 sh -c "[ \"\$(gwctl_field media1 sessions)\" = 0 ]" 2>/dev/null
sessions=$(gwctl_field media1 sessions)
ports=$(gwctl_field media1 ports)
relayed=$(gwctl_field media1 relayed)
check "mediad reports 0 sessions after the calls (got '$sessions')" [ "$sessions" = 0 ]
check "mediad reports 0 ports in use after the calls (got '$ports')" [ "$ports" = 0 ]
check "mediad relayed at least $((4 * CALLS * PKTS)) packets (got '$relayed')" \
    [ "${relayed:-0}" -ge $((4 * CALLS * PKTS)) ]
# Relay delay (delay_stats, on by default, here for one session in 3):
# the delays of the sampled calls' packets are in the node's histogram,
# carried by the heartbeat through sigd: whole calls (each relays 2 * PKTS
# packets), some but not all of them; the percentiles are ordered. The
# counter and the histogram are published apart: give the node a moment
# at rest.
sleep 2.5
"$BIN/gwctl" -b "$BUS" nodes >"$T/nodes-delay.out" 2>&1
delay=$(awk '$1 == "node" && $2 == "media1"' "$T/nodes-delay.out" | tr ' ' '\n' |
    awk -F= '$1 ~ /^(relayed|delay_n|delay_p50_us|delay_p99_us|delay_p999_us|delay_max_us)$/ { printf "%s ", $2 }')
delay_ok() { # RELAYED N P50 P99 P999 MAX
    [ $# -eq 6 ] && [ "$1" -ge $((4 * CALLS * PKTS)) ] && [ "$2" -gt 0 ] &&
        [ "$2" -lt "$1" ] && [ $(($2 % (2 * PKTS))) -eq 0 ] &&
        [ "$3" -le "$4" ] && [ "$4" -le "$5" ] && [ "$5" -le "$6" ]
}
set -- $delay
check "gwctl nodes: relay delays of whole sampled calls (${2:-?} of ${1:-?} packets, 1 session in 3), p50 <= p99 <= p99.9 <= max (${3:-?} ${4:-?} ${5:-?} ${6:-?} us)" \
    delay_ok "$@"
# gwctl metrics, read by the Prometheus project's own parser
# (python3-prometheus-client): the same figures as gwctl nodes, the delay
# histogram's buckets cumulative and ending at delay_n.
"$BIN/gwctl" -b "$BUS" metrics >"$T/metrics.prom" 2>&1
"$BIN/gwctl" -b "$BUS" nodes >"$T/nodes-metrics.out" 2>&1
out=$(/usr/bin/python3 - "$T/metrics.prom" "$T/nodes-metrics.out" <<'EOPY' 2>&1
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
node = {}
for line in open(sys.argv[2]):
    w = line.split()
    if w[:2] == ["node", "media1"]:
        node = dict(x.split("=", 1) for x in w[2:] if "=" in x)
def value(fam, **labels):
    for s in fams[fam].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise SystemExit("no sample %s %r" % (fam, labels))
bad = []
for fam, field in (("gw_node_packets_relayed", "relayed"), ("gw_node_packets_dropped", "dropped"),
                   ("gw_node_sessions", "sessions"), ("gw_node_capacity", "capacity")):
    if value(fam, node="media1", role="media") != float(node[field]):
        bad.append(fam)
if value("gw_node_up", node="media1", role="media") != 1:
    bad.append("gw_node_up")
h = fams["gw_relay_delay_seconds"]
buckets = [(s.labels["le"], s.value) for s in h.samples
           if s.name.endswith("_bucket") and s.labels.get("node") == "media1"]
counts = [v for _, v in buckets]
if h.type != "histogram" or buckets[-1][0] != "+Inf" or counts != sorted(counts) \
        or counts[-1] != float(node["delay_n"]) or len(buckets) != 22:
    bad.append("gw_relay_delay_seconds %r" % buckets)
print("bad: %s" % bad if bad else "ok %d families, %d delay buckets, +Inf %d = delay_n" %
      (len(fams), len(buckets), counts[-1]))
EOPY
)
check "gwctl metrics parses as Prometheus text and matches gwctl nodes ($out)" \
    [ "${out#ok }" != "$out" ]
calls=$("$BIN/gwctl" -b "$BUS" nodes | awk '$1 == "calls" { print $2 }')
check "sigd holds 0 calls after the calls (got '$calls')" [ "$calls" = 0 ]

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from mediad" clean_log mediad
finish
