#!/usr/bin/env bash
# strongswan-peer.sh - a real strongSwan 5.9 IKEv1 peer (Main Mode with a pre-shared key, then Quick
# Mode) in one namespace of the lab: its own strongswan.conf, swanctl.conf, /run, vici socket and log,
# so that several peers run side by side.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
    cat >&2 <<'TEXT'
usage: strongswan-peer.sh start NS [options]        write the configuration, start charon, load it
       strongswan-peer.sh stop NS                   SIGTERM (charon sends its DELETEs), SIGKILL after 5 s
       strongswan-peer.sh wait-established NS [S]   until the CHILD_SA is INSTALLED (30 s); prints the SAs
       strongswan-peer.sh initiate NS [S]           swanctl --initiate now (timeout 30 s)
       strongswan-peer.sh terminate NS              swanctl --terminate the IKE SA (sends DELETE)
       strongswan-peer.sh list-sas NS               swanctl --list-sas
       strongswan-peer.sh swanctl NS ARGS...        any swanctl command against this charon
       strongswan-peer.sh paths NS                  state directory, log, vici socket, PID

options of start (defaults: the left ASA of the seed's LAN-to-LAN example):
  --local IP, --remote IP        outside addresses, also the IKE identities   [10.0.0.1, 10.0.0.2]
                                 --remote %any: a responder for every peer address (remote id %any,
                                 one PSK for all; give a --remote-ts that covers every peer's network)
  --local-id ID, --remote-id ID  other IKE identities                          [the addresses]
  --local-ts NET, --remote-ts NET  Quick Mode traffic selectors; NET[icmp] limits one to ICMP
                                 [192.168.1.0/24, 192.168.2.0/24]
  --psk KEY                      the pre-shared key                            [cisco]
  --ike PROPOSAL                 phase 1 proposal                              [3des-sha1-modp1024]
  --esp PROPOSAL                 phase 2 proposal, -modpN adds PFS             [aes128-sha1]
  --ike-lifetime S, --esp-lifetime S  lifetimes charon proposes                [86400, 3600]
  --role initiator|responder     initiate as soon as loaded, or only answer    [responder]
  --aggressive yes|no            phase 1 as Aggressive Mode (RFC 2409 §5.4); charon refuses it with
                                 PSK unless told it does not care about security, which this sets  [no]
  --xauth USER                   a remote-access client: after the group PSK, XAUTH as USER (its password
                                 from --xauth-password), a virtual IP pulled by Mode Config and installed,
                                 the Cisco Unity attributes asked (split networks narrow the CHILD_SA)
  --xauth-password PASSWORD      the XAUTH password                            [cisco]
  --modecfg pull|push            with --xauth: ask for the virtual IP (pull), or wait for the head-end's
                                 Mode Config SET (push, draft-dukes-ike-mode-cfg-02 §3.2)  [pull]
  --port N, --natt-port N, --remote-port N  IKE and NAT-T ports                [500, 4500, --port]
  --name NAME                    connection and child name                     [gw]
  --retransmit TIMEOUT,BASE,TRIES  charon's retransmission schedule            [4,1.8,5]
  --log-level L                  N for every subsystem, a list like ike=4,chd=4 (others 2), or
                                 keys (= ike=4,chd=4,enc=1: logs the DH secret, SKEYIDs and ESP keys)  [2]

ESP is done in userspace (kernel-libipsec, TUN device ipsec0), so the kernel needs no XFRM ESP;
libipsec 5.9.8 only speaks ESP-in-UDP, so charon always uses NAT-T (RFC 3947/3948) with this peer.
Files: $IKE_INTEROP_DIR/strongswan-NS/ (default /tmp/ike-interop): charon.log, strongswan.conf,
swanctl/swanctl.conf, run/ (charon.pid, charon.vici). A failed start stops the charon it started.
Extra raw configuration lines: SS_EXTRA_CHARON (charon { }), SS_EXTRA_CONN, SS_EXTRA_CHILD.
TEXT
    exit 2
}

charon=${CHARON:-/usr/lib/ipsec/charon}

# The instance of namespace $1: its directory and the settings `start` wrote there.
open_instance() {
    ns=$1
    dir=$(state_root)/strongswan-$ns
    name=gw
    [[ -f $dir/instance ]] && source "$dir/instance"
    vici=unix://$dir/run/charon.vici
}

ctl() { STRONGSWAN_CONF=$dir/strongswan.conf swanctl "$@" --uri "$vici"; }

# charon's PID, when it is still running in the namespace.
charon_pid() {
    local pid
    pid=$(cat "$dir/charon.started" 2>/dev/null) || return 1
    running "$pid" && in_ns "$pid" "$ns" && echo "$pid"
}

# One subsystem's level out of --log-level.
level_of() {
    local spec=$1 subsystem=$2 item
    [[ $spec == keys ]] && spec=ike=4,chd=4,enc=1
    if [[ $spec != *=* ]]; then echo "$spec"; return; fi
    for item in ${spec//,/ }; do
        [[ ${item%%=*} == "$subsystem" ]] && { echo "${item#*=}"; return; }
    done
    echo 2
}

write_config() {
    local kernel=$1 start_action=$2
    # IKEv1: charon proposes reauth_time + over_time as the phase 1 lifetime and life_time as the
    # phase 2 lifetime; it re-keys on its own at 90 % of each.
    local ike_reauth=$((ike_life * 9 / 10)) ike_over=$((ike_life - ike_life * 9 / 10)) esp_rekey=$((esp_life * 9 / 10))
    local timeout base tries
    IFS=, read -r timeout base tries <<<"$retransmit"
    [[ -n $timeout && -n $base && -n $tries ]] || fail "--retransmit wants TIMEOUT,BASE,TRIES"

    cat >"$dir/strongswan.conf" <<CONF
# strongswan.conf of the lab peer in namespace $ns (strongswan-peer.sh)
charon {
    load_modular = no
    load = random nonce openssl aes sha1 sha2 md5 hmac kdf gmp pem pkcs1 x509 pubkey $kernel socket-default vici${xauth_user:+ xauth-generic unity attr}
    cisco_unity = $([[ -n $xauth_user ]] && echo yes || echo no)
    port = $port
    port_nat_t = $natt_port
    install_routes = yes
    install_virtual_ip = $([[ -n $xauth_user ]] && echo yes || echo no)
    i_dont_care_about_security_and_use_aggressive_mode_psk = $aggressive
    retransmit_timeout = $timeout
    retransmit_base = $base
    retransmit_tries = $tries
    plugins {
        socket-default {
            use_ipv6 = no
        }
        vici {
            # charon sees $dir/run as /run (see launch)
            socket = unix:///run/charon.vici
        }
    }
    syslog {
        daemon {
            default = -1
        }
    }
    filelog {
        lab {
            path = $dir/charon.log
            time_format = %Y-%m-%d %H:%M:%S
            time_add_ms = yes
            ike_name = yes
            append = no
            flush_line = yes
            default = 1
            ike = $(level_of "$log_level" ike)
            cfg = $(level_of "$log_level" cfg)
            enc = $(level_of "$log_level" enc)
            chd = $(level_of "$log_level" chd)
            net = $(level_of "$log_level" net)
            esp = $(level_of "$log_level" esp)
            knl = $(level_of "$log_level" knl)
            mgr = 1
            lib = 1
        }
    }
    ${SS_EXTRA_CHARON:-}
}
swanctl {
    load = pem pkcs1 x509 pubkey openssl random
}
CONF

    # swanctl --load-all also reads the credential folders beside swanctl.conf: empty ones.
    mkdir -p "$dir"/swanctl/{x509,x509ca,x509ocsp,x509aa,x509ac,x509crl,pubkey,private,rsa,ecdsa,bliss,pkcs8,pkcs12}
    cat >"$dir/swanctl/swanctl.conf" <<CONF
# swanctl.conf of the lab peer in namespace $ns (strongswan-peer.sh)
connections {
    $name {
        version = 1
        aggressive = $aggressive
        local_addrs = $local_ip
        remote_addrs = $remote_ip
        local_port = $port
        remote_port = $remote_port
        proposals = $ike
        reauth_time = ${ike_reauth}s
        over_time = ${ike_over}s
        rand_time = 0s
        send_certreq = no
        dpd_delay = 0s
        local {
            auth = psk
            id = $local_id
        }
        $([[ -n $xauth_user ]] && printf 'local-xauth {\n            auth = xauth\n            xauth_id = %s\n        }\n        vips = 0.0.0.0\n        pull = %s' "$xauth_user" "$([[ $modecfg == push ]] && echo no || echo yes)")
        remote {
            auth = psk
            id = $remote_id
        }
        children {
            $name {
                mode = tunnel
                local_ts = $([[ -n $xauth_user ]] && echo dynamic || echo "$local_ts")
                remote_ts = $remote_ts
                esp_proposals = $esp
                rekey_time = ${esp_rekey}s
                life_time = ${esp_life}s
                rand_time = 0s
                start_action = $start_action
                dpd_action = none
                close_action = none
                ${SS_EXTRA_CHILD:-}
            }
        }
        ${SS_EXTRA_CONN:-}
    }
}
secrets {
    ike-$name {
        id-local = $local_id
        $([[ $remote_id == %any ]] || echo "id-remote = $remote_id")
        secret = "$psk"
    }
    $([[ -n $xauth_user ]] && printf 'xauth-user {\n        id = %s\n        secret = "%s"\n    }' "$xauth_user" "$xauth_password")
}
CONF
    chmod 600 "$dir/swanctl/swanctl.conf"
}

# charon hard-codes /run/charon.pid and its default vici socket, so each one runs in a mount
# namespace of its own where $dir/run is mounted over /run. ip netns exec, unshare and sh all exec,
# so the PID we get is charon's.
launch() {
    ip netns exec "$ns" unshare --mount --propagation private \
        env STRONGSWAN_CONF="$dir/strongswan.conf" \
        sh -c 'mount --bind "$1" /run && exec "$2"' launch "$dir/run" "$charon" \
        </dev/null >"$dir/charon.out" 2>&1 &
    echo $! >"$dir/charon.started"
}

answers_vici() {
    [[ -S $dir/run/charon.vici ]] && ctl --stats >/dev/null 2>&1 && return 0
    running "$(cat "$dir/charon.started")" || { cat "$dir/charon.out" >&2; fail "charon in $ns exited while starting (see $dir/charon.log)"; }
    return 1
}

# A start that fails stops its charon. It is still this shell's child, so its PID cannot have been
# given to another process yet.
abandon_start() {
    local pid
    pid=$(cat "$dir/charon.started" 2>/dev/null) || return 0
    end_process "$pid"
    rm -f "$dir/run/charon.pid" "$dir/run/charon.vici"
}

start() {
    open_instance "$1"
    shift
    local local_ip=10.0.0.1 remote_ip=10.0.0.2 local_id= remote_id= local_ts=192.168.1.0/24 remote_ts=192.168.2.0/24
    local psk=cisco ike=3des-sha1-modp1024 esp=aes128-sha1 ike_life=86400 esp_life=3600 role=responder
    local port=500 natt_port=4500 remote_port= retransmit=4,1.8,5 log_level=2 aggressive=no xauth_user= xauth_password=cisco modecfg=pull
    while (($#)); do
        (($# >= 2)) || fail "option $1 needs a value"
        case $1 in
            --port) port=$2 ;;
            --natt-port) natt_port=$2 ;;
            --remote-port) remote_port=$2 ;;
            --retransmit) retransmit=$2 ;;
            --aggressive) [[ $2 == yes || $2 == no ]] || fail "--aggressive is yes or no"; aggressive=$2 ;;
            --xauth) xauth_user=$2 ;;
            --xauth-password) xauth_password=$2 ;;
            --modecfg) [[ $2 == pull || $2 == push ]] || fail "--modecfg is pull or push"; modecfg=$2 ;;
            *) peer_option "$1" "$2" || fail "unknown option $1" ;;
        esac
        shift 2
    done
    local_id=${local_id:-$local_ip}
    remote_id=${remote_id:-$remote_ip}
    remote_port=${remote_port:-$port}
    # %any answers every peer: nothing to initiate towards, and the PSK has no remote identity.
    [[ $remote_ip == %any && $role == initiator ]] && fail "--remote %any is for --role responder"
    local start_action
    case $role in
        initiator) start_action=start ;;
        responder) start_action=none ;;
        *) fail "--role is initiator or responder" ;;
    esac
    need ip iproute2
    need unshare util-linux
    need "$charon" strongswan-charon
    need swanctl strongswan-swanctl
    [[ -f /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ]] \
        || fail "charon's kernel-libipsec plugin not found: install the Debian package libcharon-extra-plugins"
    ns_exists "$ns" || fail "no namespace $ns (netns.sh up first)"
    charon_pid >/dev/null && fail "charon already runs in $ns (stop it first)"

    rm -rf "$dir"
    mkdir -p "$dir/run"
    chmod 700 "$dir"
    printf 'name=%q\n' "$name" >"$dir/instance"
    # kernel-libipsec before kernel-netlink: the first IPsec backend loaded wins, and kernel-netlink
    # is left with addresses and routes (table 220).
    write_config "kernel-libipsec kernel-netlink" "$start_action"

    trap 'abandon_start' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    launch
    wait_for 10 answers_vici || fail "charon in $ns does not answer on $vici after 10 s"
    ctl --load-all --noprompt --file "$dir/swanctl/swanctl.conf" >"$dir/load.out" 2>&1 \
        || { cat "$dir/load.out" >&2; fail "swanctl could not load $dir/swanctl/swanctl.conf"; }
    trap - EXIT INT TERM
    say "charon $(cat "$dir/charon.started") in $ns: $role, $local_ip -> $remote_ip, log $dir/charon.log"
}

stop() {
    open_instance "$1"
    local pid
    if pid=$(charon_pid); then
        end_process "$pid"
        say "stopped charon $pid in $ns"
    fi
    rm -f "$dir/run/charon.pid" "$dir/run/charon.vici"
}

installed() {
    sas=$(ctl --list-sas --noblock 2>/dev/null) || return 1
    grep -Eq "^$name: #[0-9]+, ESTABLISHED" <<<"$sas" && grep -Eq "^ +$name: #[0-9]+, reqid [0-9]+, INSTALLED" <<<"$sas"
}

wait_established() {
    open_instance "$1"
    local seconds=${2:-30} sas=
    if wait_for "$seconds" installed; then echo "$sas"; return 0; fi
    echo "$sas"
    fail "no INSTALLED CHILD_SA $name in $ns after $seconds s"
}

(($# >= 2)) || usage
command=$1 ns_arg=$2
shift 2
case $command in
    start) start "$ns_arg" "$@" ;;
    stop) stop "$ns_arg" ;;
    wait-established) wait_established "$ns_arg" "${1:-30}" ;;
    initiate) open_instance "$ns_arg"; ctl --initiate --child "$name" --timeout "${1:-30}" ;;
    terminate) open_instance "$ns_arg"; ctl --terminate --ike "$name" --timeout "${1:-10}" ;;
    list-sas) open_instance "$ns_arg"; ctl --list-sas ;;
    swanctl) open_instance "$ns_arg"; ctl "$@" ;;
    paths)
        open_instance "$ns_arg"
        echo "state_dir=$dir"
        echo "log=$dir/charon.log"
        echo "vici=$vici"
        echo "pid=$(charon_pid || true)" ;;
    *) usage ;;
esac
