#!/usr/bin/env bash
# vpnc-peer.sh - vpnc 0.5.3 (Debian `vpnc`) as a remote-access client in a lab namespace: Aggressive Mode with the
# group name and group key, XAUTH, Mode Config, its own TUN device and userspace ESP. Its routes and address come from
# a script of ours (lab-vpnc-script, beside the state), never Debian's vpnc-script, which would rewrite the host's
# /etc/resolv.conf: ours only sets the TUN device of the namespace and records what Mode Config gave.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
    cat >&2 <<'TEXT'
usage: vpnc-peer.sh start NS --gateway IP --group NAME --secret KEY --user NAME --password PW [--dh dh2] [--port N]
                           [--local-addr IP]        (the source address, when the namespace has several)
                           [--expect-failure yes]   (a refused connection is the outcome: success when vpnc fails)
       vpnc-peer.sh wait-connected NS [SECONDS]   until Mode Config's address is on the TUN device
       vpnc-peer.sh status NS                     what Mode Config gave (INTERNAL_*, CISCO_* as vpnc passed them)
       vpnc-peer.sh stop NS                       SIGTERM to the vpnc this script started (it sends its DELETEs)
       vpnc-peer.sh kill NS                       SIGKILL to it: gone without a word, as a client whose laptop closed
       vpnc-peer.sh paths NS                      state directory, pid
TEXT
    exit 2
}

(($# >= 2)) || usage
command=$1 ns=$2
shift 2
dir="$(state_root)/vpnc-$ns"

vpnc_pid() { [[ -f $dir/vpnc.pid ]] && pid=$(cat "$dir/vpnc.pid") && running "$pid" && in_ns "$pid" "$ns" && echo "$pid"; }

start() {
    local gateway= group= secret= user= password= dh=dh2 port=500 expect_failure=no local_addr=
    while (($#)); do
        (($# >= 2)) || fail "option $1 needs a value"
        case $1 in
            --gateway) gateway=$2 ;; --group) group=$2 ;; --secret) secret=$2 ;;
            --user) user=$2 ;; --password) password=$2 ;; --dh) dh=$2 ;; --port) port=$2 ;;
            --expect-failure) expect_failure=$2 ;;
            --local-addr) local_addr=$2 ;;
            *) fail "unknown option $1" ;;
        esac
        shift 2
    done
    [[ -n $gateway && -n $group && -n $secret && -n $user && -n $password ]] || usage
    need vpnc vpnc
    need ip iproute2
    ns_exists "$ns" || fail "no namespace $ns (netns.sh up first)"
    vpnc_pid >/dev/null && fail "vpnc already runs in $ns"
    rm -rf "$dir"
    mkdir -p "$dir"
    chmod 700 "$dir"
    cat >"$dir/lab-vpnc-script" <<'SCRIPT'
#!/bin/sh
# Called by vpnc with reason=pre-init|connect|disconnect|reconnect; only the lab namespace's TUN device is touched.
set -e
case "$reason" in
    connect)
        ip link set dev "$TUNDEV" up mtu 1400
        ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
        i=0
        while [ "$i" -lt "${CISCO_SPLIT_INC:-0}" ]; do
            eval addr=\$CISCO_SPLIT_INC_${i}_ADDR masklen=\$CISCO_SPLIT_INC_${i}_MASKLEN
            ip route replace "$addr/$masklen" dev "$TUNDEV" src "$INTERNAL_IP4_ADDRESS"
            i=$((i + 1))
        done
        env | grep -E '^(INTERNAL_IP4_|CISCO_|TUNDEV=|VPNGATEWAY=)' | sort >"$LAB_VPNC_DIR/connect.env"
        ;;
    disconnect)
        echo disconnected >"$LAB_VPNC_DIR/disconnect.env"
        ;;
esac
SCRIPT
    chmod 700 "$dir/lab-vpnc-script"
    # The configuration holds the group key and the password: readable by root only, removed with the state.
    umask 077
    cat >"$dir/vpnc.conf" <<CONF
IPSec gateway $gateway
IPSec ID $group
IPSec secret $secret
Xauth username $user
Xauth password $password
IKE DH Group $dh
Perfect Forward Secrecy nopfs
Interface name vpnc0
Interface mode tun
Local Port $port
$([[ -n $local_addr ]] && echo "Local Addr $local_addr")
NAT Traversal Mode natt
DPD idle timeout (our side) 300
Script $dir/lab-vpnc-script
Pidfile $dir/vpnc.pid
CONF
    if ! ip netns exec "$ns" env LAB_VPNC_DIR="$dir" timeout 60 vpnc --debug 1 "$dir/vpnc.conf" >"$dir/vpnc.log" 2>&1; then
        # A refused connection is an outcome a test may expect: its log says why.
        [[ $expect_failure == yes ]] && { say "vpnc in $ns failed, as expected: $(tail -1 "$dir/vpnc.log")"; return 0; }
        cat "$dir/vpnc.log" >&2
        fail "vpnc did not start in $ns"
    fi
    [[ $expect_failure == yes ]] && fail "vpnc in $ns connected where it should have failed"
    wait_for 10 vpnc_pid >/dev/null || { cat "$dir/vpnc.log" >&2; fail "vpnc in $ns wrote no pid file"; }
    say "vpnc $(vpnc_pid) in $ns: group $group to $gateway, log $dir/vpnc.log"
}

connected() { [[ -f $dir/connect.env ]]; }

case $command in
    start) start "$@" ;;
    wait-connected)
        wait_for "${1:-30}" connected || { cat "$dir/vpnc.log" >&2 2>/dev/null; fail "vpnc in $ns got no Mode Config address in ${1:-30} s"; }
        ;;
    status) cat "$dir/connect.env" ;;
    stop)
        if pid=$(vpnc_pid); then end_process "$pid" TERM; fi
        ;;
    kill)
        if pid=$(vpnc_pid); then end_process "$pid" KILL; fi
        rm -f "$dir/vpnc.pid"
        ;;
    paths) echo "dir=$dir"; echo "pid=$(vpnc_pid || true)" ;;
    *) usage ;;
esac
