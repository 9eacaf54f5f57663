#!/usr/bin/env bash
# libreswan-peer.sh - a real Libreswan 4.x (pluto) IKEv1 peer, Main Mode with a pre-shared key, in one
# namespace of the lab: its own ipsec.conf, secrets, NSS database, run directory and log.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
    cat >&2 <<'TEXT'
usage: libreswan-peer.sh extract [DIR]           apt-get download libreswan, unpack it into DIR
                                                 (default $LIBRESWAN_ROOT, else /opt/libreswan)
       libreswan-peer.sh start NS [options]      write the configuration, start pluto, add the conn
       libreswan-peer.sh stop NS                 SIGTERM, SIGKILL after 5 s
       libreswan-peer.sh wait-established NS [S] [phase1|phase2]   (30 s, phase2); prints the states
       libreswan-peer.sh initiate NS             whack --initiate (does not wait)
       libreswan-peer.sh status NS               whack --status, this conn and its states
       libreswan-peer.sh whack NS ARGS...        any whack command against this pluto
       libreswan-peer.sh paths NS

options of start (as strongswan-peer.sh): --local IP [10.0.0.1] --remote IP [10.0.0.2]
  --local-id ID --remote-id ID --local-ts NET [192.168.1.0/24] --remote-ts NET [192.168.2.0/24]
  (NET[icmp] limits a side to ICMP) --psk KEY [cisco] --ike PROPOSAL [3des-sha1-modp2048]
  --esp PROPOSAL [aes128-sha1] --ike-lifetime S [86400] --esp-lifetime S [3600]
  --role initiator|responder [responder] --name NAME [gw] --log-level none|base|all [base]

Debian's libreswan package conflicts with strongSwan (installing it removes strongswan-charon), so
it is never installed: `extract` unpacks the .deb (apt-get download, dpkg-deb -x) and start runs
pluto from LIBRESWAN_ROOT (default / when /usr/libexec/ipsec/pluto exists, else /opt/libreswan).
pluto calls /usr/libexec/ipsec/addconn by that path, so it runs in a mount namespace of its own with
LIBRESWAN_ROOT/usr/libexec mounted over /usr/libexec. It needs libldns3, libevent-pthreads-2.1-7
and libnss3-tools.

Limits of Debian's build: MODP1024 (group 2) is compiled out, hence the MODP2048 default; pluto
installs IPsec SAs through kernel XFRM only, so where the kernel has no XFRM ESP only Main Mode
completes (wait for phase1). LSW_EXTRA_CONN adds raw lines to the conn (e.g. nat-ikev1-method=none).
Files: $IKE_INTEROP_DIR/libreswan-NS/ (default /tmp/ike-interop): ipsec.conf, ipsec.secrets, nss/,
run/ (pluto.ctl, pluto.pid), pluto.log. A failed start stops the pluto it started.
TEXT
    exit 2
}

libreswan_root() {
    if [[ -n ${LIBRESWAN_ROOT:-} ]]; then echo "$LIBRESWAN_ROOT"
    elif [[ -x /usr/libexec/ipsec/pluto ]]; then echo /
    else echo /opt/libreswan; fi
}
root=$(libreswan_root)

open_instance() {
    ns=$1
    dir=$(state_root)/libreswan-$ns
    name=gw
    [[ -f $dir/instance ]] && source "$dir/instance"
    ctl_socket=$dir/run/pluto.ctl
}

whack() { "$root/usr/libexec/ipsec/whack" --ctlsocket "$ctl_socket" "$@"; }

pluto_pid() {
    local pid
    pid=$(cat "$dir/pluto.started" 2>/dev/null) || return 1
    running "$pid" && in_ns "$pid" "$ns" && echo "$pid"
}

extract() {
    target=${1:-${LIBRESWAN_ROOT:-/opt/libreswan}}
    need apt-get apt
    need dpkg-deb dpkg
    [[ $target == /* && $target != / ]] || fail "extract wants an absolute directory other than /, not $target"
    if [[ -x $target/usr/libexec/ipsec/pluto ]]; then say "libreswan already unpacked in $target"; return 0; fi
    [[ ! -e $target || -z $(ls -A "$target") ]] || fail "$target exists and holds something else than libreswan"
    download=$(mktemp -d)
    trap 'rm -rf "$download" "$target.partial"' EXIT  # globals: the trap runs after extract returns
    (cd "$download" && apt-get download libreswan) || fail "apt-get download libreswan failed (apt-get update first?)"
    mkdir -p "$(dirname "$target")"
    rm -rf "$target.partial"
    dpkg-deb -x "$download"/libreswan_*.deb "$target.partial"
    # Only a complete tree takes the final name.
    rmdir "$target" 2>/dev/null || true
    mv "$target.partial" "$target"
    say "libreswan unpacked into $target (use LIBRESWAN_ROOT=$target)"
    if ldd "$target/usr/libexec/ipsec/pluto" | grep 'not found' >&2; then
        say "pluto lacks the libraries above: install libldns3 libevent-pthreads-2.1-7 libnss3-tools" >&2
    fi
}

# "192.168.1.0/24[icmp]" -> subnet and protocol ("-" when there is none).
subnet_of() { echo "${1%%[*}"; }
protocol_of() { if [[ $1 == *\[*\] ]]; then local p=${1#*[}; echo "${p%]}"; else echo -; fi; }

write_config() {
    printf '%s %s : PSK "%s"\n' "$local_id" "$remote_id" "$psk" >"$dir/ipsec.secrets"
    chmod 600 "$dir/ipsec.secrets"
    local lproto rproto
    lproto=$(protocol_of "$local_ts")
    rproto=$(protocol_of "$remote_ts")
    {
        echo "# ipsec.conf of the lab peer in namespace $ns (libreswan-peer.sh)"
        echo "config setup"
        echo "    ikev1-policy=accept"
        echo "    plutodebug=$log_level"
        echo "    logfile=$dir/pluto.log"
        echo "    logappend=no"
        echo "    logtime=yes"
        echo "    dumpdir=$dir/run"
        echo "    uniqueids=no"
        echo
        echo "conn $name"
        echo "    ikev2=no"
        echo "    authby=secret"
        echo "    aggrmode=no"
        echo "    type=tunnel"
        echo "    left=$local_ip"
        echo "    leftid=$local_id"
        echo "    leftsubnet=$(subnet_of "$local_ts")"
        [[ $lproto == - ]] || echo "    leftprotoport=$lproto"
        echo "    right=$remote_ip"
        echo "    rightid=$remote_id"
        echo "    rightsubnet=$(subnet_of "$remote_ts")"
        [[ $rproto == - ]] || echo "    rightprotoport=$rproto"
        echo "    ike=$ike"
        echo "    esp=$esp"
        echo "    pfs=no"
        echo "    ikelifetime=${ike_life}s"
        echo "    salifetime=${esp_life}s"
        echo "    encapsulation=auto"
        echo "    auto=add"
        [[ -z ${LSW_EXTRA_CONN:-} ]] || echo "    $LSW_EXTRA_CONN"
    } >"$dir/ipsec.conf"
}

# pluto in a mount namespace of its own (see usage); ip netns exec, unshare and sh all exec, so the
# PID we get is pluto's.
launch() {
    local mount_libexec=
    [[ $root == / ]] || mount_libexec='mount --bind "$1/usr/libexec" /usr/libexec &&'
    ip netns exec "$ns" unshare --mount --propagation private \
        sh -c "$mount_libexec"' exec /usr/libexec/ipsec/pluto --nofork --config "$2/ipsec.conf" --rundir "$2/run" \
            --nssdir "$2/nss" --ipsecdir "$2" --secretsfile "$2/ipsec.secrets" --logfile "$2/pluto.log" --dumpdir "$2/run"' \
        launch "$root" "$dir" </dev/null >"$dir/pluto.out" 2>&1 &
    echo $! >"$dir/pluto.started"
}

answers_whack() {
    [[ -S $ctl_socket ]] && whack --status >/dev/null 2>&1 && return 0
    if ! running "$(cat "$dir/pluto.started")"; then
        cat "$dir/pluto.out" >&2
        grep -v ': | ' "$dir/pluto.log" 2>/dev/null | tail -n 5 >&2
        fail "pluto in $ns exited while starting"
    fi
    return 1
}

# A start that fails stops its pluto (still this shell's child: its PID is not anyone else's yet).
abandon_start() {
    local pid
    pid=$(cat "$dir/pluto.started" 2>/dev/null) || return 0
    end_process "$pid"
}

start() {
    open_instance "$1"
    shift
    local local_ip=10.0.0.1 remote_ip=10.0.0.2 local_id= remote_id= local_ts=192.168.1.0/24 remote_ts=192.168.2.0/24
    local psk=cisco ike=3des-sha1-modp2048 esp=aes128-sha1 ike_life=86400 esp_life=3600 role=responder log_level=base
    while (($#)); do
        (($# >= 2)) || fail "option $1 needs a value"
        peer_option "$1" "$2" || fail "unknown option $1"
        shift 2
    done
    local_id=${local_id:-$local_ip}
    remote_id=${remote_id:-$remote_ip}
    [[ $role == initiator || $role == responder ]] || fail "--role is initiator or responder"
    need ip iproute2
    need unshare util-linux
    need certutil libnss3-tools
    [[ -x $root/usr/libexec/ipsec/pluto ]] || fail "no pluto under $root (libreswan-peer.sh extract $root)"
    ns_exists "$ns" || fail "no namespace $ns (netns.sh up first)"
    pluto_pid >/dev/null && fail "pluto already runs in $ns (stop it first)"

    rm -rf "$dir"
    mkdir -p "$dir/run" "$dir/nss"
    chmod 700 "$dir"
    printf 'name=%q\n' "$name" >"$dir/instance"
    certutil -N -d "sql:$dir/nss" --empty-password
    write_config

    trap 'abandon_start' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    launch
    wait_for 10 answers_whack || fail "pluto in $ns does not answer on $ctl_socket after 10 s"
    if ! ip netns exec "$ns" "$root/usr/libexec/ipsec/addconn" --ctlsocket "$ctl_socket" --config "$dir/ipsec.conf" "$name" \
        >"$dir/addconn.out" 2>&1; then
        cat "$dir/addconn.out" >&2
        grep -v ': | ' "$dir/pluto.log" | tail -n 3 >&2
        fail "addconn could not add $name"
    fi
    if [[ $role == initiator ]]; then whack --name "$name" --initiate --asynchronous >/dev/null; fi
    trap - EXIT INT TERM
    say "pluto $(cat "$dir/pluto.started") in $ns: $role, $local_ip -> $remote_ip, log $dir/pluto.log"
}

stop() {
    open_instance "$1"
    local pid
    if pid=$(pluto_pid); then
        end_process "$pid"
        say "stopped pluto $pid in $ns"
    fi
    return 0
}

reached() {
    states=$(whack --status 2>/dev/null | grep -E '^(000 )?#[0-9]+:' || true)
    grep -Eq "\"$name\".*$wanted" <<<"$states"
}

wait_established() {
    open_instance "$1"
    local seconds=${2:-30} phase=${3:-phase2} wanted states=
    case $phase in
        phase1) wanted='STATE_MAIN_(I4|R3)' ;;   # ISAKMP SA established
        phase2) wanted='STATE_QUICK_(I2|R2)' ;;  # IPsec SA established
        *) fail "phase1 or phase2, not $phase" ;;
    esac
    if wait_for "$seconds" reached; then echo "$states"; return 0; fi
    echo "$states"
    fail "$phase of $name not established in $ns after $seconds s"
}

(($# >= 1)) || usage
command=$1
shift
if [[ $command == extract ]]; then extract "$@"; exit 0; fi
(($# >= 1)) || usage
ns_arg=$1
shift
case $command in
    start) start "$ns_arg" "$@" ;;
    stop) stop "$ns_arg" ;;
    wait-established) wait_established "$ns_arg" "${1:-30}" "${2:-phase2}" ;;
    initiate) open_instance "$ns_arg"; whack --name "$name" --initiate --asynchronous ;;
    status) open_instance "$ns_arg"; whack --status | grep -E "\"$name\"|^(000 )?#" ;;
    whack) open_instance "$ns_arg"; whack "$@" ;;
    paths)
        open_instance "$ns_arg"
        echo "state_dir=$dir"
        echo "log=$dir/pluto.log"
        echo "ctl=$ctl_socket"
        echo "pid=$(pluto_pid || true)"
        echo "root=$root" ;;
    *) usage ;;
esac
