#!/bin/sh
# Call-scoped TURN, end to end with real peers: the integrator mints
# credentials for agents through sigd (gwctl turn-cred, scope "call"), a
# real TURN client (coturn's turnutils_uclient) relays with them through
# turnd, the agent places a real call through sigd and mediad (sipp UAC on
# EXT -> sipp UAS on the platform) and hangs up with BYE. sigd then revokes
# the agent's names on turnd after revoke_grace: the allocation held during
# the call is deleted, a new Allocate with the same credentials is refused,
# another agent's credentials still work, and credentials minted again for
# the agent work. Also: a new call within the grace keeps the names until
# that call ends; a call from the platform to an agent (Request-URI/To
# user) counts for that agent; grace 0 revokes at the BYE; names minted
# with scope "ttl" are never revoked by calls.
. "$(dirname "$0")/lib.sh"

SIPP_DIR=$(cd "$(dirname "$0")/../sipp" && pwd)
PORT=13478
# Media and relay ranges away from the usual 30000-39999, which benchmarks
# of other suites on the same test network take whole.
AGENT_UA=$NET.4       # an agent's phone called by the platform (EXT side)

write_config
sed -i -e "s|^internal_target = .*|internal_target = sip:$LAN:15080\next_default_route = sip:$AGENT_UA:15070|" \
    -e "s|^rtp_range = .*|rtp_range = 42000-42999|" "$T/gw.ini"
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon mediad "$BIN/mediad" -c "$T/gw.ini"
start_daemon turnd "$BIN/turnd" -c "$T/gw.ini" -s turnd.allowed_peers="$LAN" \
    -s turnd.relay_range=43000-43099 -s turnd.log_level=debug
start_daemon peer turnutils_peer -L "$LAN" -p 13490
check "media and TURN nodes register with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node turn1 role=turn state=live' &&
     '$BIN/gwctl' -b '$BUS' nodes | grep -q '^node media1 role=media state=live'"

gw() { "$BIN/gwctl" -b "$BUS" "$@" 2>&1; }
out=$(gw turn-secret "scope-$$")
check "turn-secret reaches the TURN node ($out)" sh -c "echo '$out' | grep -q 'nodes=1'"
out=$(gw turn-grace)
check "revoke_grace defaults to 5 s ($out)" [ "$out" = "grace=5" ]
out=$(gw turn-grace 6)
check "turn-grace sets it at run time ($out)" [ "$out" = "grace=6" ]
out=$(gw turn-grace 9999)
check "turn-grace refuses a value out of bounds ($out)" sh -c "echo '$out' | grep -q 'revoke_grace: 9999 is outside 0..3600'"

# mint AGENT [ARGS]: sets U_AGENT / P_AGENT from the answer.
mint() {
    a=$1; shift
    out=$(gw turn-cred "$a" 600 "$@")
    u=$(echo "$out" | sed -n 's/.*username=\([^ ]*\).*/\1/p')
    p=$(echo "$out" | sed -n 's/.*password=\([^ ]*\).*/\1/p')
    eval "U_$a='$u'; P_$a='$p'"
    echo "$out" | grep -Eq "^username=[0-9]+:$a password=[^ ]+ ttl=600 scope=${1:-call}$"
}
check "turn-cred mints call-scoped credentials for agent alice" mint alice
check "turn-cred mints call-scoped credentials for agent bob" mint bob
check "turn-cred ... ttl mints credentials calls never revoke (erin)" mint erin ttl

# uclient NAME USER PASS [N]: N relayed messages (default 10); 0 when none lost.
uclient() {
    timeout 40 turnutils_uclient -c -n "${4:-10}" -m 1 -p "$PORT" -e "$LAN" -r 13490 \
        -u "$2" -w "$3" -l 160 "$EXT" >"$T/uc-$1.log" 2>&1
    grep -q "Total lost packets 0 (0.000000%)" "$T/uc-$1.log"
}
refused() { # NAME USER PASS: the Allocate fails (no relayed packet at all)
    ! uclient "$@" && ! grep -q "Total lost packets 0 (0.000000%)" "$T/uc-$1.log"
}
check "alice relays through turnd with her credentials, 0 lost" uclient alice0 "$U_alice" "$P_alice"
check "bob relays through turnd with his credentials, 0 lost" uclient bob0 "$U_bob" "$P_bob"
out=$(gw turn-agents)
check "turn-agents lists alice and bob waiting for a call" sh -c \
    "echo '$out' | grep -q '^agent=alice calls=0 names=1 state=waiting usernames=$U_alice\$' &&
     echo '$out' | grep -q '^agent=bob calls=0 names=1 state=waiting' &&
     ! echo '$out' | grep -q '^agent=erin' && echo '$out' | grep -q '^agents=2 grace=6\$'"

# A call scenario from EXT whose From user is [agent]; 3 s of talk.
sed -e 's/sipp <sip:sipp@/[agent] <sip:[agent]@/g' \
    -e 's/<pause milliseconds="7500"\/>/<pause milliseconds="3000"\/>/' \
    "$SIPP_DIR/uac_pcap.xml" >"$T/uac_agent.xml"
grep -q '\[agent\] <sip:\[agent\]@' "$T/uac_agent.xml" || echo "# uac_agent.xml not rewritten"

# agent_call AGENT: one call placed by AGENT from EXT, ended by its BYE;
# 0 when both sipps succeed.
agent_call() {
    (cd "$T" && exec timeout 30 sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$LAN" -p 15080 \
        -mi "$LAN" -mp 17000 -rtp_echo -m 1 -nostdin -trace_err -timeout 25s \
        >"$T/uas-$1.out" 2>&1) &
    uas=$!
    PIDS="$PIDS $uas"
    sleep 0.3
    (cd "$T" && timeout 30 sipp "$EXT:15060" -sf "$T/uac_agent.xml" -key agent "$1" \
        -s service -i "$EXT" -p 15090 -mi "$EXT" -mp 16000 -m 1 -nostdin \
        -trace_err -timeout 25s >"$T/uac-$1.out" 2>&1)
    rc=$?
    wait "$uas"; urc=$?
    PIDS=$(echo "$PIDS" | sed "s/ $uas\b//")
    [ $rc -eq 0 ] && [ $urc -eq 0 ]
}
revoked_in_turnd() { # USERNAME: turnd's log line, with its allocation count
    grep "bus: revoked '$1' for" "$T/turnd.log"
}

# alice holds an allocation through her call (30 s of relaying at most).
timeout 40 turnutils_uclient -c -n 1500 -m 1 -p "$PORT" -e "$LAN" -r 13490 \
    -u "$U_alice" -w "$P_alice" -l 160 "$EXT" >"$T/uc-alice-held.log" 2>&1 &
held=$!
PIDS="$PIDS $held"
check "turnd holds alice's allocation" wait_until 5 sh -c \
    "[ \"\$('$BIN/gwctl' -b '$BUS' nodes | awk '\$2 == \"turn1\" { for (i = 3; i <= NF; i++) if (\$i ~ /^sessions=/) print substr(\$i, 10) }')\" -ge 1 ]"

# Relayed messages alice's held client has received so far (its log
# prints the total once a second).
held_recv() {
    sed -n 's/.*tot_recv_msgs=\([0-9]*\),.*/\1/p' "$T/uc-alice-held.log" | tail -n 1
}
held_relaying() { [ "$(held_recv)" -gt 0 ] 2>/dev/null; }
# uclient may take seconds to send its first message (slower under ASan):
# the call starts once the held allocation relays, so that the grace check
# below compares two counts taken while it does.
check "alice's held allocation relays before her call" wait_until 20 held_relaying
agent_call alice >/dev/null 2>&1 &
callpid=$!
check "while alice's call is up, sigd counts it for her" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' turn-agents | grep -q '^agent=alice calls=1 names=1 state=in-call'"
check "bob has no call" sh -c "'$BIN/gwctl' -b '$BUS' turn-agents | grep -q '^agent=bob calls=0'"
wait "$callpid"
check "alice's call through sigd and mediad completed (sipp UAC and UAS exit 0)" [ $? -eq 0 ]
out=$(gw turn-agents)
check "after her BYE, alice's names wait out the grace ($(echo "$out" | grep alice))" \
    sh -c "echo '$out' | grep -q '^agent=alice calls=0 names=1 state=grace:'"
r1=$(held_recv); sleep 1.2; r2=$(held_recv)
check "within the grace her held allocation keeps relaying ($r1 -> $r2 received)" \
    [ "${r2:-0}" -gt "${r1:-0}" ]
check "no revocation reached turnd within the grace" sh -c "! grep -q \"revoked '$U_alice'\" '$T/turnd.log'"
check "after the grace sigd revokes alice's name on turnd" wait_until 8 sh -c \
    "grep -q \"bus: revoked '$U_alice' for\" '$T/turnd.log'"
n=$(revoked_in_turnd "$U_alice" | sed -n 's/.*: \([0-9]*\) allocation(s) deleted.*/\1/p' | head -n 1)
check "the allocation alice held during the call was deleted ($n)" [ "${n:-0}" -ge 1 ]
check "sigd logs the revocation with the agent and the node count" \
    grep -q "turn: agent 'alice': calls ended; 1 call-scoped name(s) revoked on 1 TURN node(s)" "$T/sigd.log"
sleep 1.2; r3=$(held_recv); sleep 2.2; r4=$(held_recv)
check "once revoked, her held allocation relays nothing more ($r3 -> $r4)" \
    [ -n "$r3" -a "$r3" = "$r4" ]
kill "$held" 2>/dev/null; wait "$held" 2>/dev/null
PIDS=$(echo "$PIDS" | sed "s/ $held\b//")
check "a new Allocate with alice's revoked credentials is refused" \
    refused alice-revoked "$U_alice" "$P_alice"
check "bob's credentials still work" uclient bob1 "$U_bob" "$P_bob"
check "erin's ttl-scoped credentials still work" uclient erin1 "$U_erin" "$P_erin"
out=$(gw turn-agents)
check "alice is no longer tracked, bob is" sh -c \
    "! echo '$out' | grep -q '^agent=alice' && echo '$out' | grep -q '^agent=bob '"
old=$U_alice
check "credentials minted again for alice" mint alice
check "they are a new name ($U_alice, not $old)" [ "$U_alice" != "$old" ]
check "and they work" uclient alice1 "$U_alice" "$P_alice"

# A new call within the grace keeps the names; its end revokes them.
check "call-scoped credentials for carol" mint carol
check "carol's first call completes" agent_call carol
check "carol's second call, within the grace, completes" agent_call carol
check "sigd canceled the revocation when carol called again" \
    grep -q "turn: agent 'carol' calls again: revocation of its TURN names canceled" "$T/sigd.log"
c1=$(grep -c "bus: revoked '$U_carol'" "$T/turnd.log")
check "carol's name was not revoked between her calls (revocations so far: $c1)" \
    [ "$c1" -eq 0 ]
check "...and is revoked after the second call's grace" wait_until 8 sh -c \
    "grep -q \"bus: revoked '$U_carol' for\" '$T/turnd.log'"
check "carol's credentials are refused afterwards" refused carol-revoked "$U_carol" "$P_carol"

# The platform calls agent dave on EXT (Request-URI/To user), grace 0.
out=$(gw turn-grace 0)
check "turn-grace 0 ($out)" [ "$out" = "grace=0" ]
check "call-scoped credentials for dave" mint dave
check "dave relays with them" uclient dave0 "$U_dave" "$P_dave"
(cd "$T" && exec timeout 20 sipp -sf "$SIPP_DIR/uas_echo.xml" -i "$AGENT_UA" -p 15070 \
    -mi "$AGENT_UA" -mp 16000 -nostdin -m 1 -trace_err -timeout 15s \
    >"$T/agent-dave.out" 2>&1) &
ua=$!
PIDS="$PIDS $ua"
sleep 0.3
(cd "$T" && timeout 20 sipp "$INT:15060" -sf "$SIPP_DIR/uac_out.xml" -i "$LAN" \
    -p 15091 -mi "$LAN" -mp 17000 -m 1 -nostdin -trace_err -timeout 15s \
    -key ruri "sip:dave@$INT:15060" >"$T/out-dave.out" 2>&1)
rc=$?
wait "$ua"; urc=$?
PIDS=$(echo "$PIDS" | sed "s/ $ua\b//")
check "the platform's call to dave completed (sipp UAC $rc, agent UAS $urc)" \
    [ $rc -eq 0 -a $urc -eq 0 ]
check "with grace 0, dave's name is revoked at the BYE" wait_until 3 sh -c \
    "grep -q \"bus: revoked '$U_dave' for\" '$T/turnd.log'"
check "dave's credentials are refused afterwards" refused dave-revoked "$U_dave" "$P_dave"
check "bob's credentials still work at the end" uclient bob2 "$U_bob" "$P_bob"
calls=$(gw nodes | awk '$1 == "calls" { print $2 }')
check "sigd holds 0 calls (got '$calls')" [ "$calls" = 0 ]

check "sigd stops cleanly" stop_daemon sigd
check "mediad stops cleanly" stop_daemon mediad
check "turnd stops cleanly" stop_daemon turnd
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from turnd" clean_log turnd
check "no sanitizer report from mediad" clean_log mediad
check "the TURN secret and passwords never reach a log" sh -c \
    "! grep -qF -e 'scope-$$' -e '$P_alice' -e '$P_bob' '$T/sigd.log' '$T/turnd.log'"
finish
