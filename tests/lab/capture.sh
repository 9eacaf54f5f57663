#!/usr/bin/env bash
# capture.sh - records IKE and ESP traffic on an interface of a lab namespace into a pcapng file
# (dumpcap, the capture engine of Wireshark), for tshark or the tests to decode afterwards.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
    cat >&2 <<'TEXT'
usage: capture.sh start NS PCAP [IFACE [FILTER]]   dumpcap on IFACE (default outside) of namespace NS into PCAP
                                          (capture filter FILTER, default $CAPTURE_FILTER or IKE and ESP);
                                          returns once the file is open and dumpcap runs
       capture.sh stop PCAP               SIGINT (dumpcap writes what it holds and exits), SIGKILL after 5 s
       capture.sh list PCAP               one line per packet (tshark)

Filter: udp port 500 or udp port 4500 or esp (CAPTURE_FILTER changes it). The PID and namespace of a
running capture are kept in PCAP.capture. A failed start stops the dumpcap it started.
Needs root, dumpcap (wireshark-common) and, for list, tshark.
TEXT
    exit 2
}

filter=${CAPTURE_FILTER:-udp port 500 or udp port 4500 or esp}

# dumpcap prints "File: PCAP" once the file is open; it may print "Capturing on" and still fail.
capturing() {
    grep -q '^File: ' "$pcap.out" 2>/dev/null && running "$pid" && return 0
    running "$pid" || { cat "$pcap.out" >&2; fail "dumpcap in $ns stopped before capturing"; }
    return 1
}

# A start that fails stops its dumpcap (still this shell's child: its PID is not anyone else's yet).
abandon_start() { [[ -z ${pid:-} ]] || end_process "$pid" INT; rm -f "$pcap.capture"; }

start() {
    ns=$1 pcap=$2
    local iface=${3:-outside}
    [[ -z ${4:-} ]] || filter=$4
    need ip iproute2
    need dumpcap wireshark-common
    ns_exists "$ns" || fail "no namespace $ns (netns.sh up first)"
    [[ -d $(dirname "$pcap") ]] || fail "no directory $(dirname "$pcap") for $pcap"
    [[ ! -f $pcap.capture ]] || fail "a capture into $pcap is running (stop it first)"
    rm -f "$pcap" "$pcap.out"
    trap 'abandon_start' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # ip netns exec execs dumpcap: the PID is dumpcap's.
    ip netns exec "$ns" dumpcap -q -i "$iface" -f "$filter" -w "$pcap" </dev/null >"$pcap.out" 2>&1 &
    pid=$!
    printf 'pid=%s\nns=%q\n' "$pid" "$ns" >"$pcap.capture"
    wait_for 10 capturing || fail "dumpcap in $ns did not open $pcap within 10 s"
    trap - EXIT INT TERM
}

stop() {
    pcap=$1
    local pid= ns=
    [[ -f $pcap.capture ]] || return 0
    source "$pcap.capture"
    in_ns "$pid" "$ns" && end_process "$pid" INT
    rm -f "$pcap.capture"
}

list() {
    need tshark tshark
    tshark -n -r "$1"
}

(($# >= 2)) || usage
case $1 in
    start) (($# >= 3)) || usage; start "$2" "$3" "${4:-outside}" "${5:-}" ;;
    stop) stop "$2" ;;
    list) list "$2" ;;
    *) usage ;;
esac
