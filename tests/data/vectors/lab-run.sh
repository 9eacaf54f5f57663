#!/usr/bin/env bash
# usage: lab-run.sh NAME IKE ESP   -- one strongSwan<->strongSwan negotiation in private namespaces (root).
# Uses the namespace lab scripts netns.sh, strongswan-peer.sh and capture.sh: the repository's own
# in tests/lab, or another copy named by LAB. See README.md for the runs that made the vectors.
set -uo pipefail
H=${LAB:-$(cd "$(dirname "$0")/../../lab" && pwd)}
NAME=$1 IKE=$2 ESP=$3
export IKE_INTEROP_DIR=/tmp/crypto-lab/state-$NAME
OUT=/tmp/crypto-lab/out-$NAME
L=crl-$NAME R=crr-$NAME
mkdir -p "$OUT"
cleanup() {
  $H/capture.sh stop "$OUT/run.pcap" || true
  $H/strongswan-peer.sh stop $L || true
  $H/strongswan-peer.sh stop $R || true
  $H/netns.sh down $L $R || true
}
trap cleanup EXIT
$H/netns.sh up $L $R
$H/capture.sh start $L "$OUT/run.pcap" outside
$H/strongswan-peer.sh start $R --role responder --local 10.0.0.2 --remote 10.0.0.1 \
  --local-ts 192.168.2.0/24 --remote-ts 192.168.1.0/24 --psk cisco --ike "$IKE" --esp "$ESP" --log-level keys
$H/strongswan-peer.sh start $L --role initiator --local 10.0.0.1 --remote 10.0.0.2 \
  --local-ts 192.168.1.0/24 --remote-ts 192.168.2.0/24 --psk cisco --ike "$IKE" --esp "$ESP" --log-level keys
$H/strongswan-peer.sh wait-established $L 30 > "$OUT/list-sas.txt"; echo "wait rc=$?"
$H/strongswan-peer.sh stop $L
$H/strongswan-peer.sh stop $R
sleep 0.5
$H/capture.sh stop "$OUT/run.pcap"
cp $IKE_INTEROP_DIR/strongswan-$L/charon.log "$OUT/charon-initiator.log"
cp $IKE_INTEROP_DIR/strongswan-$R/charon.log "$OUT/charon-responder.log"
