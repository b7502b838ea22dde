#!/bin/sh
# The DMZ lab: network namespaces standing for the hosts and networks of a
# contact-centre DMZ, as in DESIGN.md:
#
#   internet (phones)           192.168.100.10
#      |  192.168.100.0/24
#   fw  perimeter: public 192.168.100.1, DNAT/SNAT to the EXT addresses
#      |  EXT 10.1.0.0/24 (switch ns, bridge)
#   sig 10.1.0.10   media1 10.1.0.11   media2 10.1.0.12   turn 10.1.0.13
#      |  INT 172.16.0.0/24 (switch ns, bridge)
#   sig 172.16.0.10 media1 172.16.0.11 media2 172.16.0.12 turn 172.16.0.13
#   lan (CTI/PBX, media server) 172.16.0.100
#
# Only the perimeter forwards; the DMZ hosts do not (ip_forward=0), so EXT
# and INT reach each other only through the relays. The lan has no route
# out of INT; the DMZ hosts' default route is the perimeter. Every address
# exists only inside these namespaces.
#
# Used by test/integration/test-lab.sh and test/bench/bench-lab.sh, or by
# hand:  sh deploy/lab/lab.sh up ID   /   sh deploy/lab/lab.sh down ID
# (ID makes the names unique: gw<ID>-<host>). Sourced, it defines lab_up,
# lab_down, lab_ns and the address variables.

LAB_PUB=192.168.100.1
LAB_INET=192.168.100.10
LAB_FW_EXT=10.1.0.1
LAB_SIG_EXT=10.1.0.10
LAB_M1_EXT=10.1.0.11
LAB_M2_EXT=10.1.0.12
LAB_TURN_EXT=10.1.0.13
LAB_SIG_INT=172.16.0.10
LAB_M1_INT=172.16.0.11
LAB_M2_INT=172.16.0.12
LAB_TURN_INT=172.16.0.13
LAB_LAN=172.16.0.100
LAB_HOSTS="inet fw sig media1 media2 turn lan swext swint"

# lab_ns ID HOST : the namespace name
lab_ns() { echo "gw$1-$2"; }

# lab_exec ID HOST CMD... : runs CMD in HOST's namespace
lab_exec() { _id=$1; _h=$2; shift 2; ip netns exec "$(lab_ns "$_id" "$_h")" "$@"; }

# _lab_host ID HOST EXT_ADDR INT_ADDR : a DMZ host on both switches
_lab_dmz_host() {
    _ns=$(lab_ns "$1" "$2")
    ip -n "$_ns" link add ext0 type veth peer name "$2" netns "$(lab_ns "$1" swext)" || return 1
    ip -n "$_ns" link add int0 type veth peer name "$2" netns "$(lab_ns "$1" swint)" || return 1
    ip -n "$(lab_ns "$1" swext)" link set "$2" master br0 up
    ip -n "$(lab_ns "$1" swint)" link set "$2" master br0 up
    ip -n "$_ns" addr add "$3/24" dev ext0
    ip -n "$_ns" addr add "$4/24" dev int0
    ip -n "$_ns" link set ext0 up
    ip -n "$_ns" link set int0 up
    ip -n "$_ns" route add default via "$LAB_FW_EXT"
}

# lab_up ID : creates everything; returns non-zero (with a reason on stderr)
# when namespaces cannot be made. Call lab_down ID in any case.
lab_up() {
    _id=$1
    for h in $LAB_HOSTS; do
        ip netns add "$(lab_ns "$_id" "$h")" || { echo "lab: cannot create network namespace $(lab_ns "$_id" "$h") (root and CAP_SYS_ADMIN needed)" >&2; return 1; }
        ip -n "$(lab_ns "$_id" "$h")" link set lo up
        ip netns exec "$(lab_ns "$_id" "$h")" sysctl -qw net.ipv4.ip_forward=0
    done
    for sw in swext swint; do
        ip -n "$(lab_ns "$_id" $sw)" link add br0 type bridge || return 1
        ip -n "$(lab_ns "$_id" $sw)" link set br0 up
    done
    # internet <-> perimeter
    ip -n "$(lab_ns "$_id" inet)" link add eth0 type veth peer name pub0 netns "$(lab_ns "$_id" fw)" || return 1
    ip -n "$(lab_ns "$_id" inet)" addr add "$LAB_INET/24" dev eth0
    ip -n "$(lab_ns "$_id" inet)" link set eth0 up
    ip -n "$(lab_ns "$_id" fw)" addr add "$LAB_PUB/24" dev pub0
    ip -n "$(lab_ns "$_id" fw)" link set pub0 up
    # perimeter <-> EXT
    ip -n "$(lab_ns "$_id" fw)" link add ext0 type veth peer name fw netns "$(lab_ns "$_id" swext)" || return 1
    ip -n "$(lab_ns "$_id" swext)" link set fw master br0 up
    ip -n "$(lab_ns "$_id" fw)" addr add "$LAB_FW_EXT/24" dev ext0
    ip -n "$(lab_ns "$_id" fw)" link set ext0 up
    ip netns exec "$(lab_ns "$_id" fw)" sysctl -qw net.ipv4.ip_forward=1
    # DMZ hosts
    _lab_dmz_host "$_id" sig "$LAB_SIG_EXT" "$LAB_SIG_INT" || return 1
    _lab_dmz_host "$_id" media1 "$LAB_M1_EXT" "$LAB_M1_INT" || return 1
    _lab_dmz_host "$_id" media2 "$LAB_M2_EXT" "$LAB_M2_INT" || return 1
    _lab_dmz_host "$_id" turn "$LAB_TURN_EXT" "$LAB_TURN_INT" || return 1
    # the internal platform: INT only, no way out
    ip -n "$(lab_ns "$_id" lan)" link add int0 type veth peer name lan netns "$(lab_ns "$_id" swint)" || return 1
    ip -n "$(lab_ns "$_id" swint)" link set lan master br0 up
    ip -n "$(lab_ns "$_id" lan)" addr add "$LAB_LAN/24" dev int0
    ip -n "$(lab_ns "$_id" lan)" link set int0 up
    # Media bursts: room in the receive buffers.
    for h in media1 media2; do
        ip netns exec "$(lab_ns "$_id" $h)" sysctl -qw net.core.rmem_max=8388608 2>/dev/null || true
    done
    return 0
}

# lab_perimeter ID FILE : loads the perimeter part of an nftables ruleset
# (gwctl firewall output: the gw_perimeter table) on the perimeter.
lab_perimeter() {
    awk '/^table ip gw_perimeter/ { p = 1 } p { print } p && /^}/ { exit }' "$2" >"$2.perimeter"
    ip netns exec "$(lab_ns "$1" fw)" nft delete table ip gw_perimeter 2>/dev/null
    ip netns exec "$(lab_ns "$1" fw)" nft -f "$2.perimeter"
}

# lab_host_rules ID FILE : loads each "# ---- host NAME" part of a gwctl
# firewall ruleset (table inet gw_host) on that host: sigd on sig, media
# and TURN nodes on the namespace of the same name (turn1 on turn).
lab_host_rules() {
    _rc=0
    for _h in $(sed -n 's/^# ---- host \([^ ]*\).*/\1/p' "$2"); do
        case $_h in sigd) _n=sig ;; turn*) _n=turn ;; *) _n=$_h ;; esac
        awk -v h="$_h" '/^# ---- host / { p = ($4 == h) } p' "$2" >"$2.$_h"
        ip netns exec "$(lab_ns "$1" "$_n")" nft delete table inet gw_host 2>/dev/null
        ip netns exec "$(lab_ns "$1" "$_n")" nft -f "$2.$_h" || _rc=1
    done
    return $_rc
}

# lab_down ID : removes every namespace of the lab (their links go with them).
lab_down() {
    for h in $LAB_HOSTS; do
        ip netns del "$(lab_ns "$1" "$h")" 2>/dev/null
    done
    return 0
}

case "${0##*/}" in
lab.sh)
    set -u
    case "${1:-}" in
    up) lab_up "$2" || { lab_down "$2"; exit 1; } ;;
    down) lab_down "$2" ;;
    *) echo "usage: $0 up|down ID" >&2; exit 2 ;;
    esac
    ;;
esac
