#!/usr/bin/env bash
# netns.sh - the two-namespace lab the interop tests run in: the LAN-to-LAN topology of the seed's two
# ASAs, each side a network namespace, joined by one veth pair. Nothing is added to the root namespace.
#
#     LEFT  (ike-left)                               RIGHT (ike-right)
#     inside  192.168.1.1/24                         inside  192.168.2.1/24
#     outside 10.0.0.1/24  ------- veth -------      outside 10.0.0.2/24
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
    cat >&2 <<'TEXT'
usage: netns.sh up     [LEFT [RIGHT]]   build the lab (a lab of the same names is torn down first)
       netns.sh down   [LEFT [RIGHT]]   stop every process in the two namespaces, delete them
       netns.sh status [LEFT [RIGHT]]   addresses, routes and rules of both sides

LEFT and RIGHT default to ike-left and ike-right. The addresses can be changed with
LAB_LEFT_OUTSIDE (10.0.0.1/24), LAB_RIGHT_OUTSIDE (10.0.0.2/24), LAB_LEFT_INSIDE (192.168.1.1/24)
and LAB_RIGHT_INSIDE (192.168.2.1/24).

When `up` fails half-way it removes the namespaces it made before it exits non-zero.
Needs root, iproute2 and iputils-ping.
TEXT
    exit 2
}

left=${2:-ike-left}
right=${3:-ike-right}
left_outside=${LAB_LEFT_OUTSIDE:-10.0.0.1/24}
right_outside=${LAB_RIGHT_OUTSIDE:-10.0.0.2/24}
left_inside=${LAB_LEFT_INSIDE:-192.168.1.1/24}
right_inside=${LAB_RIGHT_INSIDE:-192.168.2.1/24}

# Stops what runs in a namespace (peers, captures, gateways a test started there), then deletes it;
# deleting it removes its veth end, inside interface and TUN devices.
remove_ns() {
    local ns=$1 pid
    ns_exists "$ns" || return 0
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -s TERM "$pid" 2>/dev/null || true; done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do end_process "$pid"; done
    ip netns del "$ns"
}

# The inside network: a dummy interface, or on a kernel without dummy support a veth pair whose both
# ends stay in the namespace (the address and its connected route are all the tests need).
add_inside() {
    local ns=$1 address=$2
    if ! ip -n "$ns" link add inside type dummy 2>/dev/null; then
        ip -n "$ns" link add inside type veth peer name inside-end
        ip -n "$ns" link set inside-end up
    fi
    ip -n "$ns" addr add "$address" dev inside
    ip -n "$ns" link set inside up
}

# No IPv6 in the lab: no router solicitations or MLD reports in the captures.
ipv4_only() {
    ip netns exec "$1" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
        [ -w "$f" ] && echo 1 >"$f"; done; true'
}

answers() { ip netns exec "$left" ping -n -c 1 -W 1 "${right_outside%/*}" >/dev/null 2>&1; }

made=()
undo_up() {
    local ns
    for ns in "${made[@]}"; do remove_ns "$ns" || true; done
}

up() {
    need ip iproute2
    need ping iputils-ping
    [[ $left != "$right" ]] || fail "LEFT and RIGHT must differ"
    remove_ns "$left"
    remove_ns "$right"

    # From here on, a failure (or SIGINT/SIGTERM) removes what this run made.
    trap 'undo_up' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    ip netns add "$left"
    made+=("$left")
    ip netns add "$right"
    made+=("$right")
    for ns in "$left" "$right"; do
        ip -n "$ns" link set lo up
        ipv4_only "$ns"
    done
    # Both ends are made inside the namespaces: the root namespace never sees the pair.
    ip -n "$left" link add outside type veth peer name outside netns "$right"
    ip -n "$left" addr add "$left_outside" dev outside
    ip -n "$right" addr add "$right_outside" dev outside
    ip -n "$left" link set outside up
    ip -n "$right" link set outside up
    add_inside "$left" "$left_inside"
    add_inside "$right" "$right_inside"
    wait_for 5 answers || fail "$left cannot ping ${right_outside%/*} over the veth pair"

    trap - EXIT INT TERM
    say "up: $left ($left_outside, inside $left_inside) <-> $right ($right_outside, inside $right_inside)"
}

down() {
    need ip iproute2
    remove_ns "$left"
    remove_ns "$right"
    say "down: $left $right"
}

status() {
    local ns
    for ns in "$left" "$right"; do
        echo "== $ns"
        if ! ns_exists "$ns"; then echo "(no such namespace)"; continue; fi
        ip -n "$ns" -brief addr
        ip -n "$ns" route show table all | grep -Ev '^(local|broadcast|multicast|anycast) ' || true
        ip -n "$ns" rule
    done
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) usage ;;
esac
