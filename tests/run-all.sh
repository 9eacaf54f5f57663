#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine (the README's test command).
# Installs what the tests need (as root, Debian packages when missing), runs
# `dotnet test` on the solution with TRX results, and prints `N passed, N failed`
# last. Exits non-zero on any failure or when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v tshark >/dev/null 2>&1 || need_pkgs+=(tshark)        # independent ISAKMP decoder (Protocol tests)
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server) # Orleans clustering through Redis (Gateway tests)
command -v swanctl >/dev/null 2>&1 || need_pkgs+=(strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins) # real peer (Interop tests)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
ldconfig -p | grep -q libldns.so.3 && command -v certutil >/dev/null 2>&1 || need_pkgs+=(libldns3 libevent-pthreads-2.1-7 libnss3-tools) # pluto from the unpacked libreswan .deb (Interop tests)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)      # the seed's golden checker (Negotiation, Samples tests)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)    # headless rendering of the explain HTML report (Explain tests)
if ((${#need_pkgs[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "installing: ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${need_pkgs[@]}" >/dev/null \
      || echo "warning: apt-get install ${need_pkgs[*]} failed" >&2
  else
    echo "warning: missing ${need_pkgs[*]} and not root; tests that need them will fail" >&2
  fi
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
dotnet test IkeActors.sln -c Release --logger "trx" --results-directory "$results" "$@"
rc=$?

passed=0; failed=0
for trx in "$results"/*.trx; do
  [[ -e $trx ]] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
done
if ((rc != 0 && failed == 0)); then failed=1; echo "dotnet test exited $rc (build or runner failure)"; fi
if ((passed + failed == 0)); then echo "no test ran"; failed=1; fi
echo "$passed passed, $failed failed"
((failed == 0))
