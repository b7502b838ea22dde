#!/bin/sh
# Call-scoped TURN credentials, as an integrator uses them: the operator
# sets the REST secret through sigd (gwctl turn-secret, pushed to every
# TURN node over the bus), mints short-lived credentials for an agent
# (gwctl turn-cred), a real TURN client (coturn's turnutils_uclient)
# relays with them through turnd with no loss, and after gwctl turn-revoke
# the same credentials no longer get an allocation.
. "$(dirname "$0")/lib.sh"
PORT=13478

write_config
start_daemon sigd "$BIN/sigd" -c "$T/gw.ini"
start_daemon turnd "$BIN/turnd" -c "$T/gw.ini" -s turnd.allowed_peers="$LAN" \
    -s turnd.relay_range=31000-31099
start_daemon peer turnutils_peer -L "$LAN" -p 13490
check "turnd registers with sigd" wait_until 10 sh -c \
    "'$BIN/gwctl' -b '$BUS' nodes | grep -q '^node turn1 role=turn state=live'"

out=$("$BIN/gwctl" -b "$BUS" turn-secret "s3cr3t-$$" 2>&1)
check "gwctl turn-secret pushes the secret to the TURN node ($out)" \
    sh -c "echo '$out' | grep -q 'nodes=1'"
out=$("$BIN/gwctl" -b "$BUS" turn-cred agent7 600 2>&1)
user=$(echo "$out" | sed -n 's/.*username=\([^ ]*\).*/\1/p')
pass=$(echo "$out" | sed -n 's/.*password=\([^ ]*\).*/\1/p')
check "gwctl turn-cred mints expiry:user credentials ($user)" \
    sh -c "echo '$user' | grep -Eq '^[0-9]+:agent7$' && [ -n '$pass' ]"
check "the secret never reaches sigd's or turnd's log" \
    sh -c "! grep -q 's3cr3t-$$' '$T/sigd.log' '$T/turnd.log'"

uclient() {
    timeout 30 turnutils_uclient -c -n 10 -m 1 -p "$PORT" -e "$LAN" -r 13490 \
        -u "$user" -w "$pass" -l 160 "$EXT" >"$T/uc-$1.log" 2>&1
}
uclient minted
check "turnutils_uclient relays with the minted credentials, 0 lost" \
    grep -q "Total lost packets 0 (0.000000%)" "$T/uc-minted.log"
out=$("$BIN/gwctl" -b "$BUS" turn-revoke "$user" 2>&1)
check "gwctl turn-revoke reaches the TURN node ($out)" sh -c "echo '$out' | grep -q 'nodes=1'"
uclient revoked
check "after revocation the same credentials get no allocation" \
    sh -c "! grep -q 'Total lost packets 0 (0.000000%)' '$T/uc-revoked.log'"
check "sigd stops cleanly" stop_daemon sigd
check "turnd stops cleanly" stop_daemon turnd
check "no sanitizer report from sigd" clean_log sigd
check "no sanitizer report from turnd" clean_log turnd
finish
