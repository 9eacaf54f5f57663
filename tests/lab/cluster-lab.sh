#!/usr/bin/env bash
# cluster-lab.sh - the namespace lab of one concentrator across nodes (docs/cluster.md): an upstream
# router, N gateway nodes holding the same public address (the VIP), and an inside router, each with
# BIRD 2. Nothing is added to the root namespace.
#
#   peers ... PREFIX-up (BGP AS 65000, ECMP)            PREFIX-in (BGP AS 65010, inside)
#               | 10.91.I.1/24                             | 10.92.I.1/24
#               | 10.91.I.2/24                             | 10.92.I.2/24
#             PREFIX-nI (AS 65001): VIP/32 on lo; BIRD announces the VIP to the upstream router via
#             the node's TUN device `ike0` (gone with the gateway process: the route is withdrawn), and
#             learns the gateway's reverse routes (kernel protocol 197) and announces them inside.
#             BGP with BFD (100 ms x 3) on both sides.
#
# The gateways themselves are the caller's: `ip netns exec PREFIX-nI ikeactors run --tun ike0 --bind VIP:500 ...`.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
    cat >&2 <<'TEXT'
usage: cluster-lab.sh up     PREFIX NODES   build the lab (a lab of the same prefix is torn down first)
       cluster-lab.sh down   PREFIX         stop its BIRDs (by the PIDs recorded) and every process in its namespaces, delete them
       cluster-lab.sh route  PREFIX         the upstream router's route to the VIP
       cluster-lab.sh via    PREFIX SOURCE  the node (outside address) the upstream router sends SOURCE's packets for the VIP to
       cluster-lab.sh peer   PREFIX NAME I [INSIDE]  a peer namespace PREFIX-NAME behind the upstream router,
                                       198.51.100.(4I-2)/30, with its protected network's address INSIDE (A.B.C.D/N)

VIP: LAB_VIP (203.0.113.10). LAB_PROTECTED (192.168.100.1/24): the protected network behind the inside
router, its first address on the router. LAB_INSIDE_ADDRESS (none): the concentrator's inside interface address, on every
node's lo like the VIP (the configuration all nodes share names it). State (configurations, control sockets, PID files): IKE_INTEROP_DIR/PREFIX.
Needs root, iproute2 and bird2.
TEXT
    exit 2
}

vip=${LAB_VIP:-203.0.113.10}
inside_address=${LAB_INSIDE_ADDRESS:-}
protected=${LAB_PROTECTED:-192.168.100.1/24}

# network_of A.B.C.D/N: the network's own address with its length (python-free: /24 and /16 only are used here).
network_of() {
    local address=${1%/*} length=${1#*/}
    IFS=. read -r a b c d <<<"$address"
    case $length in
        24) echo "$a.$b.$c.0/24" ;;
        16) echo "$a.$b.0.0/16" ;;
        *) echo "$1" ;;
    esac
}

nodes_of() { ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^$1-n[0-9]+$" || true; }

down() {
    local prefix=$1 dir pid ns
    dir=$(state_root)/$prefix
    for f in "$dir"/*.pid; do
        [[ -f $f ]] || continue
        pid=$(cat "$f")
        # only a BIRD we started and that still lives in one of this lab's namespaces
        for ns in "$prefix-up" "$prefix-in" $(nodes_of "$prefix"); do in_ns "$pid" "$ns" && end_process "$pid" && break; done
        rm -f "$f"
    done
    # every namespace of the lab: routers, nodes, and whatever the caller added under its prefix (peers, a load generator)
    for ns in "$prefix-up" "$prefix-in" $(nodes_of "$prefix") $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^$prefix-" | grep -vE "^$prefix-(up|in|n[0-9]+)$" || true); do
        ns_exists "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do end_process "$pid"; done
        ip netns del "$ns"
    done
    rm -rf "$dir"
}

bird_in() {
    local ns=$1 name=$2 dir=$3
    ip netns exec "$ns" bird -c "$dir/$name.conf" -s "$dir/$name.ctl" -P "$dir/$name.pid"
}

up() {
    local prefix=$1 count=$2 dir i
    [[ $count =~ ^[1-9]$ ]] || fail "NODES: 1 to 9"
    need ip iproute2
    need bird bird2
    down "$prefix"
    dir=$(state_root)/$prefix
    mkdir -p "$dir"
    trap 'down "$prefix"' ERR
    for ns in "$prefix-up" "$prefix-in"; do ip netns add "$ns"; ip -n "$ns" link set lo up; ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1; done
    # The protected network behind the inside router (a veth pair with both ends inside: no dummy links in this kernel).
    ip -n "$prefix-in" link add lan type veth peer name lan-end
    ip -n "$prefix-in" link set lan-end up
    ip -n "$prefix-in" addr add "$protected" dev lan
    ip -n "$prefix-in" link set lan up
    # ECMP by source and destination address only: a peer's IKE, NAT-T and ESP reach the same node.
    ip netns exec "$prefix-up" sysctl -qw net.ipv4.fib_multipath_hash_policy=0
    {
        echo "router id 10.91.0.1;"
        echo "protocol device {}"
        echo "protocol kernel { ipv4 { import none; export all; }; merge paths on; }"
        echo "protocol bfd { interface \"u*\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }"
        echo "template bgp node { local as 65000; bfd on; hold time 3; ipv4 { import all; export none; }; }"
    } > "$dir/up.conf"
    {
        echo "router id 10.92.0.1;"
        echo "protocol device {}"
        echo "protocol kernel { ipv4 { import none; export all; }; merge paths on; }"
        echo "protocol bfd { interface \"i*\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }"
        echo "template bgp node { local as 65010; bfd on; hold time 3; ipv4 { import all; export none; }; }"
    } > "$dir/in.conf"
    for ((i = 1; i <= count; i++)); do
        local node="$prefix-n$i"
        ip netns add "$node"; ip -n "$node" link set lo up
        ip -n "$node" addr add "$vip/32" dev lo
        [[ -z $inside_address ]] || ip -n "$node" addr add "$inside_address/32" dev lo
        ip link add "u$i" netns "$prefix-up" type veth peer name outside netns "$node"
        ip -n "$prefix-up" addr add "10.91.$i.1/24" dev "u$i"; ip -n "$prefix-up" link set "u$i" up
        ip -n "$node" addr add "10.91.$i.2/24" dev outside; ip -n "$node" link set outside up
        ip -n "$node" route add default via "10.91.$i.1"
        ip link add "i$i" netns "$prefix-in" type veth peer name inside netns "$node"
        ip -n "$prefix-in" addr add "10.92.$i.1/24" dev "i$i"; ip -n "$prefix-in" link set "i$i" up
        ip -n "$node" addr add "10.92.$i.2/24" dev inside; ip -n "$node" link set inside up
        ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
        # The other nodes (the cluster's own traffic: Orleans, Redis) and the protected network, through the inside router.
        ip -n "$node" route add 10.92.0.0/16 via "10.92.$i.1"
        ip -n "$node" route add "$(network_of "$protected")" via "10.92.$i.1"
        echo "protocol bgp n$i from node { neighbor 10.91.$i.2 as 65001; }" >> "$dir/up.conf"
        echo "protocol bgp n$i from node { neighbor 10.92.$i.2 as 65001; }" >> "$dir/in.conf"
        cat > "$dir/n$i.conf" <<CONF
router id 10.91.$i.2;
protocol device {}
# The VIP while the gateway's TUN device exists (it goes with the process).
protocol static vip { ipv4; route $vip/32 via "ike0"; }
# The gateway's reverse routes (docs/cluster.md: kernel protocol 197).
protocol kernel rri { learn; scan time 10; ipv4 { import where krt_source = 197; export none; }; }
protocol bfd {
    interface "outside" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
    interface "inside" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
}
protocol bgp upstream { local 10.91.$i.2 as 65001; neighbor 10.91.$i.1 as 65000; bfd on; hold time 3; ipv4 { import none; export where proto = "vip"; }; }
protocol bgp insiderouter { local 10.92.$i.2 as 65001; neighbor 10.92.$i.1 as 65010; bfd on; hold time 3; ipv4 { import none; export where proto = "rri"; }; }
CONF
    done
    bird_in "$prefix-up" up "$dir"
    bird_in "$prefix-in" in "$dir"
    for ((i = 1; i <= count; i++)); do bird_in "$prefix-n$i" "n$i" "$dir"; done
    trap - ERR
    say "up: $prefix-up, $prefix-in, $count nodes (VIP $vip)"
}

peer() {
    local prefix=$1 name=$2 i=$3 ns="$1-$2" inside=${4:-}
    ns_exists "$prefix-up" || fail "no lab $prefix"
    ip netns add "$ns"; ip -n "$ns" link set lo up
    ip link add "p$i" netns "$prefix-up" type veth peer name outside netns "$ns"
    ip -n "$prefix-up" addr add "198.51.100.$((i * 4 - 3))/30" dev "p$i"; ip -n "$prefix-up" link set "p$i" up
    ip -n "$ns" addr add "198.51.100.$((i * 4 - 2))/30" dev outside; ip -n "$ns" link set outside up
    ip -n "$ns" route add default via "198.51.100.$((i * 4 - 3))"
    if [[ -n $inside ]]; then
        ip -n "$ns" link add lan type veth peer name lan-end
        ip -n "$ns" link set lan-end up
        ip -n "$ns" addr add "$inside" dev lan
        ip -n "$ns" link set lan up
    fi
}

case ${1:-} in
    up) [[ $# -eq 3 ]] || usage; up "$2" "$3" ;;
    down) [[ $# -eq 2 ]] || usage; down "$2" ;;
    route) [[ $# -eq 2 ]] || usage; ip -n "$2-up" route show "$vip" ;;
    # The router's own forwarding decision (its multipath hash of source and destination), as for a packet from a peer.
    via) [[ $# -eq 3 ]] || usage; ip -n "$2-up" route get "$vip" from "$3" iif u1 | grep -o 'via [0-9.]*' | cut -d' ' -f2 ;;
    peer) [[ $# -eq 4 || $# -eq 5 ]] || usage; peer "$2" "$3" "$4" "${5:-}" ;;
    *) usage ;;
esac
