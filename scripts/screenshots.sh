#!/usr/bin/env bash
# Takes the README's two screenshots of a live negotiation ("Watch a negotiation"):
#   docs/images/aspire-trace-waterfall.png  the Aspire Dashboard's trace detail (MM1..MM6, QM1..QM3 of both gateways)
#   docs/images/orleans-grains.png          the Orleans Dashboard's grains view of the initiator's node
# From a built tree: `ikeactors dashboard --anonymous` on :0 ports, the site-to-site sample's two gateway
# processes exporting OTLP to it with --orleans-dashboard, then headless Chromium driven over the DevTools
# protocol (tools/IkeActors.Screenshots) waits until each page shows the span / grain names and captures it.
#
# usage: scripts/screenshots.sh [OUT_DIR]            (default: docs/images)
# env:   IKEACTORS_BIN      directory with ikeactors.dll and SiteToSite.dll (default: the sample's Release output,
#                           built when missing)
#        SCREENSHOTS_TOOL   ikeactors-screenshots.dll (default: tools/IkeActors.Screenshots Release output, built when missing)
#        SCREENSHOTS_TEXT   directory for the page text each capture waited for (default: a temporary directory)
#        CHROMIUM           the browser (default /usr/bin/chromium)
# Everything listens on 127.0.0.1; every process it starts is stopped by PID on exit, also on failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/docs/images}
bin=${IKEACTORS_BIN:-$root/samples/SiteToSite/bin/Release/net10.0}
tool=${SCREENSHOTS_TOOL:-$root/tools/IkeActors.Screenshots/bin/Release/net10.0/ikeactors-screenshots.dll}
chromium=${CHROMIUM:-/usr/bin/chromium}

if [[ ! -f $bin/SiteToSite.dll || ! -f $bin/ikeactors.dll ]]; then
  [[ -n ${IKEACTORS_BIN:-} ]] && { echo "no SiteToSite.dll / ikeactors.dll in $bin" >&2; exit 1; }
  dotnet build "$root/samples/SiteToSite" -c Release -nologo -v quiet
fi
if [[ ! -f $tool ]]; then
  [[ -n ${SCREENSHOTS_TOOL:-} ]] && { echo "no $tool" >&2; exit 1; }
  dotnet build "$root/tools/IkeActors.Screenshots" -c Release -nologo -v quiet
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ikeactors-screenshots.XXXXXX")
texts=${SCREENSHOTS_TEXT:-$work}
mkdir -p "$out" "$texts"
pids=()

# Every descendant of a PID (from /proc), deepest last, so they can be stopped even if the parent dies first.
descendants() {
  local child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

stop() { # stop PID and the processes it started: TERM (each program stops its own children), then KILL what is left
  local pid=$1 all p
  all="$pid $(descendants "$pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$pid" 2>/dev/null || true
  echo "stopped: $(echo $all)"
}

cleanup() {
  local rc=$?
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  if ((rc != 0)); then
    for f in "$work"/*.log; do [[ -f $f ]] && { echo "--- $(basename "$f") (last lines)" >&2; tail -n 30 "$f" >&2; }; done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # FILE TEXT SECONDS PID
  local deadline=$((SECONDS + $3))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    kill -0 "$4" 2>/dev/null || { echo "the process writing $(basename "$1") exited before '$2'" >&2; return 1; }
    ((SECONDS < deadline)) || { echo "no '$2' in $(basename "$1") after $3 s" >&2; return 1; }
    sleep 0.2
  done
}

echo "starting the Aspire Dashboard (anonymous, 127.0.0.1, :0 ports)"
dotnet "$bin/ikeactors.dll" dashboard --port 0 --otlp-port 0 --otlp-http-port 0 --anonymous --seconds 600 >"$work/dashboard.log" 2>&1 &
pids+=($!)
wait_for "$work/dashboard.log" "OTLP/HTTP:" 60 "${pids[0]}"
ui=$(sed -n 's/^ *UI: *\(http[^ ]*\).*/\1/p' "$work/dashboard.log" | head -1)
grpc=$(sed -n 's/^ *OTLP\/gRPC: *\(http[^ ]*\).*/\1/p' "$work/dashboard.log" | head -1)
echo "  UI $ui, OTLP/gRPC $grpc"

echo "starting the site-to-site sample's two gateway processes"
dotnet "$bin/SiteToSite.dll" --processes --orleans-dashboard --otlp "$grpc" >"$work/sitetosite.log" 2>&1 &
pids+=($!)
wait_for "$work/sitetosite.log" "the tunnel stays up" 120 "${pids[1]}"
orleans=$(sed -n 's/^left *| *Orleans Dashboard on \(http:[^ ]*\).*/\1/p' "$work/sitetosite.log" | head -1)
orleans=${orleans%/}
[[ -n $orleans ]] || { echo "the left gateway printed no Orleans Dashboard URL" >&2; exit 1; }
echo "  tunnel up; left node's Orleans Dashboard $orleans"

trace=$(dotnet "$tool" trace --ui "$ui" --timeout 60)
echo "  negotiation trace $trace"

dotnet "$tool" shot --chromium "$chromium" --url "$ui/traces/detail/$trace" --width 1400 --height 1200 \
  --wait "ikev1.main_mode,ikev1.quick_mode,MM1,MM2,MM3,MM4,MM5,MM6,QM1,QM2,QM3" \
  --png "$out/aspire-trace-waterfall.png" --text "$texts/aspire-trace-waterfall.txt"
dotnet "$tool" shot --chromium "$chromium" --url "$orleans/#/grains" --width 1400 --height 900 \
  --wait "IkeSaGrain,IpsecSaGrain" \
  --png "$out/orleans-grains.png" --text "$texts/orleans-grains.txt"
echo "done: $out/aspire-trace-waterfall.png $out/orleans-grains.png"
