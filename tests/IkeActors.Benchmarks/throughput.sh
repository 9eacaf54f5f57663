#!/usr/bin/env bash
# throughput.sh - iperf3 through the IPsec tunnel of the tests/lab namespace lab (root).
#
# Builds the two-namespace lab once per lab in one run, with unique namespace names:
#   sw-sw    strongSwan 5.9 on both sides (kernel-libipsec: userspace ESP-in-UDP over TUN; in 5.9.8, Debian 12's, the
#            plugin sends ESP in UDP only, raw ESP came with 5.9.11)
#   ours-sw  `ikeactors run --tun` on the left, strongSwan on the right (ESP-in-UDP/4500, NAT-T)
#   ours-ours `ikeactors run --tun` on both sides (raw ESP, IP protocol 50)
#   ours-ours-udp  the same with `--force-encapsulation` on both (ESP in UDP/4500: UDP GSO on send, UDP_GRO on receive):
#            the same encapsulation as sw-sw, so the like-for-like comparison of the two userspace data planes
#   plain    no IPsec at all, the inside networks routed over the outside link: the ceiling iperf3 and the kernel set
#            on this machine (not in the default set)
# Phase 1 3DES/SHA1/group 2, ESP AES-128/SHA1 (the seed's proposals) in every lab.
# In each: iperf3 TCP with 1 and 4 streams, UDP with 64- and 1400-byte payloads at a high
# offered rate (the delivered packets/s count; 4 MB socket buffers, -w, at both ends: with the default 208 KB the
# server's socket dropped the bursts that arrived while it waited for a core, UdpRcvbufErrors, and the row measured
# iperf3's scheduling rather than the tunnel), and a flood ping (round trips/s), from
# 192.168.1.1 to 192.168.2.1. For UDP also what left the tunnel (udpN-tunnel: datagrams the right
# engine wrote to its TUN device, from the device's counters), which is more than iperf3's server
# reads once that server is the slowest step (its socket then drops the rest). Prints a table with the ratios ours/strongSwan and cleans up
# (processes by PID, the peers by their script, the namespaces), also on failure.
#
# --esp-threads N gives our gateways N inside pumps (TUN queues) and N raw ESP receivers (`ikeactors run
# --esp-threads`); without it they run with the node's default.
#
# Usage: tests/IkeActors.Benchmarks/throughput.sh [--seconds N] [--no-build] [--labs "sw-sw ours-sw ours-ours ours-ours-udp plain"] [--esp-threads N]
set -euo pipefail

SECS=10 BUILD=1 LABS="sw-sw ours-sw ours-ours ours-ours-udp" THREADS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --labs) LABS=$2; shift 2 ;;
        --esp-threads) THREADS=(--esp-threads "$2"); shift 2 ;;
        *) sed -n '2,/^set -euo/{/^set -euo/!p}' "$0" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "throughput.sh: needs root (network namespaces, TUN)" >&2; exit 1; }
REPO=$(cd "$(dirname "$0")/../.." && pwd)
INTEROP=$REPO/tests/lab
# tests/install-deps.sh installs these too; a benchmark is no test, so here they are only checked.
for need in "iperf3 iperf3" "python3 python3" "ping iputils-ping" "ip iproute2"; do
    set -- $need
    command -v "$1" >/dev/null || { echo "throughput.sh: $1 not found: install the Debian package $2 (or run tests/install-deps.sh)" >&2; exit 1; }
done
if [ "$BUILD" = 1 ]; then dotnet build "$REPO/src/IkeActors.Gateway/IkeActors.Gateway.csproj" -c Release -v q -nologo >/dev/null; fi
DLL=$REPO/src/IkeActors.Gateway/bin/Release/net10.0/ikeactors.dll
[ -f "$DLL" ] || { echo "throughput.sh: $DLL missing (build first)" >&2; exit 1; }

export IKE_INTEROP_DIR; IKE_INTEROP_DIR=$(mktemp -d /tmp/ikeactors-throughput-XXXXXX)
L=tpl$$ R=tpr$$
PIDS=()
teardown() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -KILL "$p" 2>/dev/null || true; done
    PIDS=()
    "$INTEROP/strongswan-peer.sh" stop "$L" >/dev/null 2>&1 || true
    "$INTEROP/strongswan-peer.sh" stop "$R" >/dev/null 2>&1 || true
    "$INTEROP/netns.sh" down "$L" "$R" >/dev/null 2>&1 || true
}
trap 'teardown; rm -rf "$IKE_INTEROP_DIR"' EXIT

config() {  # the seed's ASA config with one `permit ip` line (all traffic between the inside networks)
    sed -e 's/^\(access-list VPN extended permit \)tcp /\1ip /' -e '/^access-list VPN extended permit icmp /d' \
        "$REPO/samples/SiteToSite/$1" >"$IKE_INTEROP_DIR/$2.cfg"
    # Against strongSwan (ESP in UDP: 1422 bytes of inner packet in 1500) the inside MTU is 1400, as strongSwan's
    # kernel-libipsec TUN device: iperf3's 1428-byte UDP datagrams are then fragmented by the sending host, as in
    # sw-sw. At 1500 our ICMP "fragmentation needed" tells the host the tunnel's 1422, and Linux reports that once
    # to a connected UDP socket as EMSGSIZE, which ends an iperf3 run.
    [ "${3:-}" != natt ] || echo "mtu inside 1400" >>"$IKE_INTEROP_DIR/$2.cfg"
    echo "$IKE_INTEROP_DIR/$2.cfg"
}

gateway() {  # NS CONFIG BIND [OPTION...]: ikeactors run --tun in a namespace, waits for its ISAKMP socket
    local out=$IKE_INTEROP_DIR/gateway-$1.log
    ip netns exec "$1" dotnet "$DLL" run --config "$2" --bind "$3" --tun 'ike%d' "${THREADS[@]}" "${@:4}" >"$out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 300); do grep -q "ISAKMP on udp" "$out" && return 0; sleep 0.2; done
    echo "gateway in $1 did not start:"; cat "$out"; return 1
}

strongswan() {  # NS ROLE LOCAL REMOTE LOCAL_TS REMOTE_TS
    "$INTEROP/strongswan-peer.sh" start "$1" --role "$2" --local "$3" --remote "$4" --local-ts "$5" --remote-ts "$6" \
        --psk cisco --ike 3des-sha1-modp1024 --esp aes128-sha1 --log-level 1 >/dev/null
}

tunnel_up() {  # pings until one answers (the first starts the negotiation where the left side is ours)
    for _ in $(seq 1 60); do
        ip netns exec "$L" ping -n -c 1 -W 1 -I 192.168.1.1 192.168.2.1 >/dev/null 2>&1 && return 0
    done
    echo "tunnel did not come up"
    for f in "$IKE_INTEROP_DIR"/gateway-*.log; do [ -e "$f" ] && { echo "--- $f"; tail -30 "$f"; }; done
    return 1
}

engine_cpu() {  # NS: CPU seconds used so far by the IPsec engine in NS (every process there but iperf3)
    local total=0 pid
    for pid in $(ip netns pids "$1" 2>/dev/null); do
        [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = iperf3 ] && continue
        total=$(awk -v t="$total" '{ print t + $14 + $15 }' /proc/"$pid"/stat 2>/dev/null || echo "$total")
    done
    echo "$total"
}

pump_cpu() {  # NS: "name=ticks" for each of our data plane's threads in NS (esp-inside-N pumps, esp-raw-N receivers)
    local pid task
    for pid in $(ip netns pids "$1" 2>/dev/null); do
        for task in /proc/"$pid"/task/*; do
            case "$(cat "$task"/comm 2>/dev/null)" in
                esp-*) awk -v n="$(cat "$task"/comm)" '{ sub(/^.*\) /, ""); print n "=" $12 + $13 }' "$task"/stat 2>/dev/null ;;
            esac
        done
    done | sort
}

pump_delta() {  # BEFORE AFTER: "name seconds" of each thread over the run
    join -t= <(echo "$1") <(echo "$2") | awk -F= -v hz="$(getconf CLK_TCK)" '{ printf "%s %.1fs ", $1, ($3 - $2) / hz }'
}

tun_rx() {  # NS: "packets bytes" the TUN devices in NS (link type none) took from their engine so far: what left the tunnel
    ip -n "$1" -s -j link show | python3 -c 'import json, sys
t = [x["stats64"]["rx"] for x in json.load(sys.stdin) if x.get("link_type") == "none"]
print(sum(x["packets"] for x in t), sum(x["bytes"] for x in t))'
}

iperf() {  # KEY ARGS...: one iperf3 client run, prints "KEY value unit" from the JSON, then the engines' CPU per packet
    local key=$1; shift
    sleep 1  # the server is ready for the next test
    local l0 r0 l1 r1 lp0 rp0 t0 t1
    l0=$(engine_cpu "$L"); r0=$(engine_cpu "$R")
    lp0=$(pump_cpu "$L"); rp0=$(pump_cpu "$R")
    t0=$(tun_rx "$R")
    ip netns exec "$L" iperf3 -c 192.168.2.1 -B 192.168.1.1 -t "$SECS" -J "$@" >"$IKE_INTEROP_DIR/$key.json" 2>"$IKE_INTEROP_DIR/$key.err" || true
    l1=$(engine_cpu "$L"); r1=$(engine_cpu "$R")
    t1=$(tun_rx "$R")
    # Our gateways' threads: which pumps and receivers carried the run (nothing printed for strongSwan).
    [ -z "$lp0" ] || echo "$key-threads-sender $(pump_delta "$lp0" "$(pump_cpu "$L")")"
    [ -z "$rp0" ] || echo "$key-threads-receiver $(pump_delta "$rp0" "$(pump_cpu "$R")")"
    python3 - "$key" "$IKE_INTEROP_DIR/$key.json" "$((l1 - l0))" "$((r1 - r0))" "$(getconf CLK_TCK)" $t0 $t1 <<'EOF'
import json, sys
key, path, lcpu, rcpu, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
tun_packets, tun_bytes = int(sys.argv[8]) - int(sys.argv[6]), int(sys.argv[9]) - int(sys.argv[7])
try:
    j = json.load(open(path))
    s = j["end"]
    if "error" in j:
        raise ValueError(j["error"])
    if "packets" in s.get("sum", {}):   # UDP: datagrams delivered per second (sent minus lost, as the server counted)
        u = s["sum"]
        print(key, round((u["packets"] - u["lost_packets"]) / u["seconds"]), "pkt/s")
        print(key + "-offered", round(u["packets"] / u["seconds"]), "pkt/s-sent-by-iperf3")
        # What the receiving engine handed its TUN device, in iperf3 datagrams: a write (or a fragment) carries 28 bytes of
        # IPv4 and UDP header, a super-packet one set for all its datagrams; the rest is payload of -l bytes each. Where
        # the tunnel delivers more than iperf3's server reads, the difference is dropped at the server's socket.
        size = int(j["start"]["test_start"]["blksize"])
        if tun_packets > 0:  # (no TUN device in the plain lab)
            print(key + "-tunnel", round((tun_bytes - 28 * tun_packets) / size / u["seconds"]), "pkt/s")
        packets = u["packets"] - u["lost_packets"]
    else:                                # TCP: what the receiver got
        print(key, round(s["sum_received"]["bits_per_second"] / 1e6, 1), "Mbit/s")
        packets = s["sum_received"]["bytes"] / 1400   # per 1400 bytes of TCP data
    if packets > 0 and lcpu + rcpu > 0:  # (no engine in the plain lab)
        print(key + "-cpu", round(lcpu / hz / packets * 1e6, 2), "us/pkt-sender", round(rcpu / hz / packets * 1e6, 2), "us/pkt-receiver")
except Exception as e:
    print(key, "n/a", "(" + str(e)[:60] + ")")
EOF
}

measure() {  # LAB: all the measurements of one lab into $IKE_INTEROP_DIR/LAB.txt
    local lab=$1 out=$IKE_INTEROP_DIR/$1.txt
    ip netns exec "$R" iperf3 -s -B 192.168.2.1 >/dev/null 2>&1 &
    PIDS+=($!)
    sleep 0.5
    {
        iperf tcp1
        iperf tcp4 -P 4
        iperf udp64 -u -l 64 -b 2G -w 4M
        iperf udp1400 -u -l 1400 -b 5G -w 4M
        local flood
        flood=$(ip netns exec "$L" ping -n -q -f -c 20000 -w "$SECS" -I 192.168.1.1 192.168.2.1 2>&1 || true)
        # "N packets transmitted, M received, ..., time Tms" -> round trips per second
        python3 -c 'import re,sys; t=sys.stdin.read(); m=re.search(r"(\d+) received.*time (\d+)ms", t); print("icmp", round(int(m.group(1))*1000/max(1,int(m.group(2)))) if m else "n/a", "rtt/s")' <<<"$flood"
    } | tee "$out" | sed "s/^/  $lab: /"
}

for lab in $LABS; do
    echo "== $lab"
    "$INTEROP/netns.sh" up "$L" "$R" >/dev/null
    case "$lab" in
        sw-sw)
            strongswan "$R" responder 10.0.0.2 10.0.0.1 192.168.2.0/24 192.168.1.0/24
            strongswan "$L" initiator 10.0.0.1 10.0.0.2 192.168.1.0/24 192.168.2.0/24
            "$INTEROP/strongswan-peer.sh" wait-established "$L" 30 >/dev/null ;;
        ours-sw)
            strongswan "$R" responder 10.0.0.2 10.0.0.1 192.168.2.0/24 192.168.1.0/24
            gateway "$L" "$(config asa1-initiator.cfg left natt)" 10.0.0.1:500 ;;
        ours-ours)
            gateway "$R" "$(config asa2-responder.cfg right)" 10.0.0.2:500
            gateway "$L" "$(config asa1-initiator.cfg left)" 10.0.0.1:500 ;;
        ours-ours-udp)
            # Inside MTU 1400 as against strongSwan: iperf3's 1428-byte datagrams fit the UDP-encapsulated tunnel unfragmented.
            gateway "$R" "$(config asa2-responder.cfg right natt)" 10.0.0.2:500 --force-encapsulation
            gateway "$L" "$(config asa1-initiator.cfg left natt)" 10.0.0.1:500 --force-encapsulation ;;
        plain)
            # No IPsec: the inside networks routed over the outside link. What iperf3 and the kernel do here without a
            # tunnel: the ceiling of every row on this machine.
            ip -n "$L" route add 192.168.2.0/24 via 10.0.0.2
            ip -n "$R" route add 192.168.1.0/24 via 10.0.0.1 ;;
        *) echo "unknown lab $lab"; exit 2 ;;
    esac
    tunnel_up
    measure "$lab"
    teardown
done

# The table: one row per measurement, one column per lab, ratios against strongSwan-to-strongSwan.
python3 - "$IKE_INTEROP_DIR" $LABS <<'EOF'
import sys, os
d, labs = sys.argv[1], sys.argv[2:]
vals, units = {}, {}
for lab in labs:
    for line in open(os.path.join(d, lab + ".txt")):
        f = line.split()
        if len(f) < 3: continue
        k, v, u = f[:3]
        vals[(lab, k)] = v; units[k] = u
def ratio(a, b):
    try: return f"{float(a) / float(b):.2f}"
    except (TypeError, ValueError, ZeroDivisionError): return "-"
head = ["test", "unit"] + labs + [f"{l}/sw-sw" for l in labs if l != "sw-sw" and "sw-sw" in labs]
rows = []
for k in ["tcp1", "tcp4", "udp64", "udp64-tunnel", "udp1400", "udp1400-tunnel", "icmp"]:
    r = [k, units.get(k, "")] + [vals.get((l, k), "-") for l in labs]
    r += [ratio(vals.get((l, k)), vals.get(("sw-sw", k))) for l in labs if l != "sw-sw" and "sw-sw" in labs]
    rows.append(r)
w = [max(len(str(x[i])) for x in [head] + rows) for i in range(len(head))]
print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |")
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows: print("| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |")
EOF
